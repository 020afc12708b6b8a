"""The scenario language: frozen pydantic models for everything a scenario can say.

Vocabulary follows the brief: a scenario has **pools** (eligible populations),
**channels** (routes into the force, each with an enlistment model, pay package,
contract and training), scenario-wide **losses** (daily exit hazards while deployed,
a calendar intensity, time-in-service multipliers, recovery from wounds), dated
**events** (policy changes) and an evidence **ledger** of claims.

Units live in field names and in each field's ``x-unit`` schema entry: ``people``,
``days``, ``people per day``, ``probability per day``, ``probability``, ``share``,
``currency per month`` (the scenario's currency unless a pay block names another),
``currency`` (one-off amounts), ``multiplier``, ``elasticity``.

Cross-field rules (references between ids, dates inside the horizon, sources) live in
:mod:`forcegen.scenario.checks` because they need the whole document and its locations.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from forcegen.scenario.params import Param

__all__ = [
    "ABSENCE_CAUSES",
    "EXIT_CAUSES",
    "HAZARD_CAUSES",
    "STATES",
    "TRANSITION_KINDS",
    "BehaviouralEnlistment",
    "CallUp",
    "ChangePay",
    "Channel",
    "ChannelKind",
    "Claim",
    "ClaimStatus",
    "Conscription",
    "ConscriptionEnlistment",
    "Contract",
    "ContractRules",
    "Enlistment",
    "Event",
    "Exposure",
    "HazardCause",
    "InitialForce",
    "LogNormalWages",
    "Losses",
    "MobilisationEnlistment",
    "MobilisationWave",
    "PayPackage",
    "PayRetention",
    "Pool",
    "PoolRegion",
    "PricedEnlistment",
    "Questions",
    "Recovery",
    "ReservationWages",
    "ReturnToDuty",
    "Scenario",
    "SeriesEnlistment",
    "ServiceMultiplier",
    "StartChannel",
    "StopChannel",
    "StopLoss",
    "UniformWages",
    "WidenEligibility",
]

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=64),
]
"""Lower-case slug used for ids of channels, pools and claims."""

ClaimStatus = Literal[
    "official-claim", "independent-count", "estimate", "unverified-report", "denied"
]
HazardCause = Literal["killed", "wounded", "missing", "deserted", "refused"]
HAZARD_CAUSES: tuple[HazardCause, ...] = ("killed", "wounded", "missing", "deserted", "refused")
_COMBAT_CAUSES: tuple[HazardCause, ...] = ("killed", "wounded", "missing")
EXIT_CAUSES: tuple[str, ...] = (
    "killed",
    "wounded_discharged",
    "missing",
    "deserted",
    "refused",
    "terminated",
    "expired",
    "released",
    "withdrawn",
    "transferred",
)
"""Every way out of a channel. ``withdrawn``: left during training; ``transferred``:
renewed into another channel; ``missing`` covers missing and captured."""
STATES: tuple[str, ...] = ("training", "deployed", "recovering", "absent")
"""``absent``: left the unit (deserted) or refused orders, caught and prosecuted, not yet
back on duty (see ``Losses.returns_to_duty``); still in the channel."""
TRANSITION_KINDS: tuple[str, ...] = (
    "deployed",
    "wounded",
    "returned",
    "renewed",
    "evaded",
    "prosecuted",
    "rejoined",
    "called",
    "mobilised",
    "converted",
)
"""``prosecuted``: deserters and refusers caught (one criminal case each), who become
absent; ``rejoined``: back on duty from absence; ``called``: called up by mobilisation
waves (evaders included) or by conscription call-ups; ``mobilised``: arrivals from the
waves; ``converted``: conscripts who signed a contract."""
AbsenceCause = Literal["deserted", "refused"]
ABSENCE_CAUSES: tuple[AbsenceCause, ...] = ("deserted", "refused")
ChannelKind = Literal[
    "contract", "volunteer_battalion", "prisoner", "reservist", "mobilised", "other", "conscription"
]


def param(unit: str, description: str, *, series: bool = True, **kwargs: Any) -> Any:
    """A :class:`Param` field carrying its unit and whether a dated series is allowed."""
    extra: dict[str, JsonValue] = {"x-unit": unit, "x-series": series}
    return Field(description=f"{description} [{unit}]", json_schema_extra=extra, **kwargs)


def _zero() -> Param:
    return Param.point(0.0, assumption="zero by default")


def _one() -> Param:
    return Param.point(1.0, assumption="one by default")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------------------- evidence
class Claim(_Model):
    """One sourced statement in the evidence ledger."""

    id: Identifier = Field(description="Unique id that parameters cite in `evidence:`.")
    statement: str = Field(min_length=1, description="Quote or close paraphrase.")
    value: float | None = Field(default=None, description="The number claimed, if any.")
    range: tuple[float, float] | None = Field(
        default=None, description="The range claimed, if any: [low, high]."
    )
    unit: str | None = Field(default=None, description="Unit of value or range.")
    claimant: str = Field(min_length=1, description="Who made the claim.")
    publication: str = Field(min_length=1, description="Where it was reported.")
    published: dt.date = Field(description="Date of the report.")
    url: str | None = Field(default=None, description="Address of the report, if any.")
    status: ClaimStatus = Field(description="Verification status as the source gives it.")
    note: str | None = Field(default=None, description="Context, caveats.")


# ----------------------------------------------------------------------------- pools
class LogNormalWages(_Model):
    """Reservation wages log-normal across the pool: ``ln w ~ Normal(ln median, log_sd²)``."""

    distribution: Literal["lognormal"]
    median_per_month: Param = param(
        "currency per month", "Median reservation wage in the pool", series=False
    )
    log_sd: Param = param(
        "log points", "Standard deviation of the log reservation wage (> 0)", series=False
    )


class UniformWages(_Model):
    """Reservation wages uniform across the pool between ``low`` and ``high``."""

    distribution: Literal["uniform"]
    low_per_month: Param = param("currency per month", "Lowest reservation wage", series=False)
    high_per_month: Param = param(
        "currency per month", "Highest reservation wage (> low)", series=False
    )


ReservationWages = Annotated[LogNormalWages | UniformWages, Field(discriminator="distribution")]
"""The monthly pay (the offer, see :class:`PricedEnlistment`) each person in a pool
would accept at the least, distributed across the pool's people."""


class PoolRegion(_Model):
    """A region of a pool: a share of its people, whose reservation wages are the pool's
    distribution times ``wage_multiplier`` and whose regional sign-up bonus is the
    channel's times ``regional_bonus_multiplier``."""

    id: Identifier
    share: Param = param(
        "share",
        "Share of the pool's people (initial, replenished, widened) in this region",
        series=False,
    )
    wage_multiplier: Param = param(
        "multiplier",
        "Reservation wages here relative to the pool's",
        series=False,
        default_factory=_one,
    )
    regional_bonus_multiplier: Param = param(
        "multiplier",
        "Regional sign-up bonus here relative to the channel's",
        series=False,
        default_factory=_one,
    )


class Pool(_Model):
    """An eligible population that one or more channels draw recruits from."""

    id: Identifier
    label: str = ""
    initial_people: Param = param("people", "Eligible people on the start date", series=False)
    replenish_per_day: Param = param(
        "people per day", "People becoming eligible each day", default_factory=_zero
    )
    reference_wage_per_month: Param | None = param(
        "currency per month",
        "Civilian wage the pay package is compared with (behavioural enlistment)",
        default=None,
    )
    currency: str | None = Field(
        default=None, description="Currency of the wage; the scenario's when omitted."
    )
    reservation_wage: ReservationWages | None = Field(
        default=None,
        description="Distribution of reservation wages across the pool (priced enlistment).",
    )
    regions: list[PoolRegion] = Field(
        default_factory=list,
        description="Regions of the pool (priced enlistment): each a share of the people, "
        "with its own wage level and regional bonus; one region when omitted.",
    )


# ------------------------------------------------------------------------ enlistment
class SeriesEnlistment(_Model):
    """Recruits arrive at a given expected daily rate (Poisson), capped by the pool."""

    model: Literal["series"]
    recruits_per_day: Param = param("people per day", "Expected recruits per day")


class BehaviouralEnlistment(_Model):
    """Each eligible person enlists on a given day with probability

    ``base_rate_per_day * (pay / wage) ** pay_elasticity
    * (pool / ever in pool) ** depletion_exponent * paid_share ** reputation_elasticity``,

    where ``pay`` is the monthly salary plus the sign-up bonuses spread over the
    contract term (12 months for indefinite contracts) and "ever in pool" counts
    everyone who has been in the pool (initial, replenished, widened).
    """

    model: Literal["behavioural"]
    base_rate_per_day: Param = param(
        "probability per day", "Daily enlistment probability per eligible person at pay = wage"
    )
    pay_elasticity: Param = param("elasticity", "Response of propensity to the pay/wage ratio")
    depletion_exponent: Param = param(
        "elasticity",
        "Extra fall in propensity as the pool depletes (the most willing go first)",
        default_factory=_zero,
    )
    reputation_elasticity: Param = param(
        "elasticity",
        "Response of propensity to the share of promised pay actually paid",
        default_factory=_zero,
    )


class MobilisationEnlistment(_Model):
    """No voluntary inflow: people arrive only through `mobilisation_wave` events."""

    model: Literal["mobilisation"]


class PricedEnlistment(_Model):
    """People enlist when the offer meets their reservation wage.

    The pool needs a ``reservation_wage`` distribution. On each day, each person still
    in the pool whose reservation wage is at most the offer enlists with probability
    ``uptake_per_day``; the offer (currency per month) is
    ``paid_share * (salary + (federal bonus + regional bonus) / expected service months)``,
    the regional bonus scaled by the person's region. Those who enlist are the cheapest,
    so what is left of the pool is dearer.
    """

    model: Literal["priced"]
    uptake_per_day: Param = param(
        "probability per day",
        "Daily chance that a person whose reservation wage the offer meets enlists",
    )
    expected_service_days: Param | None = param(
        "days",
        "Service the bonuses are spread over in the offer; the contract term "
        "(365.25 days when indefinite) when omitted",
        series=False,
        default=None,
    )


class ConscriptionEnlistment(_Model):
    """No voluntary inflow: conscripts arrive only through the channel's
    `conscription.call_ups`."""

    model: Literal["conscription"]


Enlistment = Annotated[
    SeriesEnlistment
    | BehaviouralEnlistment
    | MobilisationEnlistment
    | PricedEnlistment
    | ConscriptionEnlistment,
    Field(discriminator="model"),
]


# ------------------------------------------------------------------------- pay etc.
class PayPackage(_Model):
    """Promised pay, and the share of it actually paid."""

    currency: str | None = Field(
        default=None, description="Currency of the amounts; the scenario's when omitted."
    )
    salary_per_month: Param = param("currency per month", "Monthly salary", default_factory=_zero)
    sign_up_bonus_federal: Param = param(
        "currency", "Federal one-off bonus per recruit", default_factory=_zero
    )
    sign_up_bonus_regional: Param = param(
        "currency", "Regional one-off bonus per recruit", default_factory=_zero
    )
    deployment_bonus: Param = param(
        "currency", "One-off bonus when a recruit deploys", default_factory=_zero
    )
    death_compensation: Param = param("currency", "Paid per death", default_factory=_zero)
    wound_compensation: Param = param("currency", "Paid per wounding", default_factory=_zero)
    paid_share: Param = param(
        "share", "Share of promised payments actually paid", default_factory=_one
    )


class PayRetention(_Model):
    """Renewal and early termination as functions of pay (a light form of the
    annualised-cost-of-leaving idea; a modelling assumption, see docs/model.md).

    With the value of staying ``v = pay_coefficient * ln(salary / civilian wage)
    - arrears_coefficient * (1 - paid_share) + service_coefficient * years served``,
    the renewal odds are the contract's ``renewal_probability`` odds times ``exp(v)``
    and the early-termination probability is ``early_termination_per_day * exp(-v)``.
    All coefficients zero gives the constants back.
    """

    civilian_wage_per_month: Param = param(
        "currency per month", "Civilian wage the soldier compares the salary with"
    )
    currency: str | None = Field(
        default=None, description="Currency of the wage; the channel's pay currency when omitted."
    )
    pay_coefficient: Param = param(
        "coefficient",
        "Change in the log-odds of staying per unit of ln(salary / civilian wage)",
        default_factory=_zero,
    )
    arrears_coefficient: Param = param(
        "coefficient",
        "Fall in the log-odds of staying per unit share of pay not paid",
        default_factory=_zero,
    )
    service_coefficient: Param = param(
        "coefficient per year",
        "Change in the log-odds of staying per year of service in the contract",
        series=False,
        default_factory=_zero,
    )


class Contract(_Model):
    """Contract terms. The term counts from signing, so it includes training."""

    term_days: Param | None = param(
        "days", "Contract length from signing; omit for indefinite", series=False, default=None
    )
    renewal_probability: Param = param(
        "probability", "Chance a contract is renewed at term end", default_factory=_zero
    )
    renewal_term_days: Param | None = param(
        "days",
        "Length of a renewed contract; the original term when omitted",
        series=False,
        default=None,
    )
    renew_into: Identifier | None = Field(
        default=None, description="Channel a renewal moves the person to; this one when omitted."
    )
    early_termination_per_day: Param = param(
        "probability per day",
        "Daily chance of leaving through legal early termination",
        default_factory=_zero,
    )
    min_service_days: Param = param(
        "days",
        "Service before early termination is possible",
        series=False,
        default_factory=_zero,
    )
    on_term_end: Literal["expired", "released"] = Field(
        default="expired",
        description="Exit cause at term end: `released` for prisoners pardoned on completion.",
    )
    retention: PayRetention | None = Field(
        default=None,
        description="Renewal and early termination responding to pay, arrears and "
        "time served; the constants above when omitted.",
    )


class InitialForce(_Model):
    """People already in the channel on the start date."""

    training: Param = param("people", "In training", series=False, default_factory=_zero)
    deployed: Param = param("people", "Deployed", series=False, default_factory=_zero)
    recovering: Param = param(
        "people", "Recovering from wounds", series=False, default_factory=_zero
    )


class CallUp(_Model):
    """One conscription call-up: `people` conscripts inducted evenly over
    `duration_days` from `date` (e.g. a spring or an autumn call-up)."""

    date: dt.date = Field(description="First day of the call-up.")
    people: Param = param("people", "Conscripts inducted (arrivals)", series=False)
    duration_days: Param = param(
        "days", "Days over which the arrivals are spread evenly", series=False
    )
    evidence: list[str] = Field(default_factory=list, description="Claims it rests on.")
    assumption: str | None = Field(default=None, description="Rationale when assumed.")
    note: str | None = None


class Conscription(_Model):
    """Conscript service: dated call-ups, a fixed service term, whether conscripts may
    be deployed, and conversion to a contract channel (during service or at its end)."""

    call_ups: list[CallUp] = Field(description="Dated call-ups, each spread over its days.")
    service_days: Param = param(
        "days", "Fixed service term from induction (training included)", series=False
    )
    deployable: bool = Field(
        default=False,
        description="Whether conscripts deploy after training; when false they serve "
        "their whole term undeployed (counted under `training`), with no exit hazards.",
    )
    conversion_per_day: Param = param(
        "probability per day",
        "Daily chance that a conscript in service signs a contract",
        default_factory=_zero,
    )
    conversion_from_day: Param = param(
        "days",
        "Service before conversion during service is possible",
        series=False,
        default_factory=_zero,
    )
    conversion_at_term_end: Param = param(
        "probability",
        "Chance that a conscript reaching the end of service signs a contract",
        default_factory=_zero,
    )
    convert_into: Identifier | None = Field(
        default=None,
        description="Contract channel conscripts convert into; needed when any conversion "
        "probability can be above 0.",
    )


class Channel(_Model):
    """A route into the force with its own pool, terms and behaviour."""

    id: Identifier
    label: str = ""
    kind: ChannelKind = "other"
    tags: dict[str, str] = Field(
        default_factory=dict, description="Free labels (region, branch) for grouping outputs."
    )
    pool: Identifier | None = Field(
        default=None, description="Pool the channel draws from; unlimited when omitted."
    )
    active: bool = Field(default=True, description="Recruiting on the start date.")
    enlistment: Enlistment
    training_days: Param = param(
        "days", "Training before deployment", series=False, default_factory=_zero
    )
    training_withdrawal_probability: Param = param(
        "probability",
        "Chance a recruit withdraws before deploying (counted at the end of training)",
        default_factory=_zero,
    )
    pay: PayPackage = Field(default_factory=PayPackage)
    contract: Contract = Field(default_factory=Contract)
    hazard_multipliers: dict[HazardCause, Param] = Field(
        default_factory=dict,
        description="Per-cause multipliers of the scenario's hazards for this channel.",
        json_schema_extra={"x-unit": "multiplier"},
    )
    initial: InitialForce = Field(default_factory=InitialForce)
    front_share: Param | None = param(
        "share",
        "Share of the channel's deployed people at the front on a day (with "
        "`losses.exposure`; its `front_share` when omitted)",
        default=None,
    )
    conscription: Conscription | None = Field(
        default=None,
        description="Call-ups, service term, deployment rule and conversion of a "
        "`kind: conscription` channel (required for that kind, refused for others).",
    )


# ---------------------------------------------------------------------------- losses
class ServiceMultiplier(_Model):
    """Combat hazards (killed, wounded, missing) multiplied while service is short."""

    until_day: int = Field(gt=0, le=3650, description="Applies while days of service < this.")
    multiplier: Param = param("multiplier", "Hazard multiplier")


class Recovery(_Model):
    """What happens to the wounded."""

    mean_days: Param = param("days", "Mean recovery time (geometrically distributed)", series=False)
    return_probability: Param = param(
        "probability", "Chance a wounded person returns to duty; the rest are discharged"
    )


class ReturnToDuty(_Model):
    """Leaving a unit or refusing orders as a temporary exit: those caught are
    prosecuted (one criminal case each) and sent back to duty after a delay."""

    return_probability: Param = param(
        "probability",
        "Chance that a person leaving for this cause is caught, prosecuted and returned "
        "to duty; the rest leave for good",
    )
    mean_days: Param = param(
        "days",
        "Mean days from leaving to being back on duty (geometrically distributed)",
        series=False,
    )


class Exposure(_Model):
    """Combat hazards per exposure: the `*_per_day` hazards of killed, wounded and
    missing apply to a day at the front at tempo 1; a day in the rear carries
    `rear_hazard_ratio` of them; `tempo` scales both."""

    tempo: Param = param(
        "multiplier",
        "Combat tempo (dated) scaling the hazards at the front and in the rear",
        default_factory=_one,
    )
    front_share: Param = param(
        "share",
        "Share of the deployed at the front, for channels that give no `front_share`",
        default_factory=_one,
    )
    rear_hazard_ratio: Param = param(
        "multiplier",
        "Combat hazards of a day in the rear relative to a day at the front",
        default_factory=_zero,
    )
    front_exponent: Param | None = param(
        "elasticity",
        "Losses per day grow as (people at the front)^front_exponent: 1 (per-person "
        "hazards, the default), 0 (daily losses set by the tempo alone)",
        series=False,
        default=None,
    )
    reference_front_people: Param | None = param(
        "people",
        "People at the front (all channels) at which the hazards are as given; needed "
        "with `front_exponent`",
        series=False,
        default=None,
    )


class Losses(_Model):
    """Daily exit hazards while deployed (competing probabilities per person per day)."""

    killed_per_day: Param = param("probability per day", "Killed")
    wounded_per_day: Param = param("probability per day", "Wounded (to recovery or discharge)")
    missing_per_day: Param = param("probability per day", "Missing or captured")
    deserted_per_day: Param = param("probability per day", "Deserted", default_factory=_zero)
    refused_per_day: Param = param("probability per day", "Refused to fight", default_factory=_zero)
    intensity: Param = param(
        "multiplier",
        "Calendar intensity (offensives) scaling the hazards below",
        default_factory=_one,
    )
    intensity_applies_to: list[HazardCause] = Field(
        default_factory=lambda: list(_COMBAT_CAUSES),
        description="Causes scaled by the intensity.",
    )
    service_multipliers: list[ServiceMultiplier] = Field(
        default_factory=list,
        description="Higher combat hazards early in service, by increasing `until_day`.",
    )
    recovery: Recovery
    returns_to_duty: dict[AbsenceCause, ReturnToDuty] = Field(
        default_factory=dict,
        description="Deserted and refused as temporary exits with return to duty; "
        "permanent exits when omitted.",
    )
    exposure: Exposure | None = Field(
        default=None,
        description="Combat hazards per day at the front, with a front share per "
        "channel and a dated tempo; per deployed person when omitted.",
    )


# ---------------------------------------------------------------------------- events
class _EventBase(_Model):
    date: dt.date = Field(description="Day the change takes effect (at the start of the day).")
    evidence: list[str] = Field(default_factory=list, description="Claims the event rests on.")
    assumption: str | None = Field(default=None, description="Rationale when assumed.")
    note: str | None = None


class StartChannel(_EventBase):
    """A channel starts recruiting."""

    type: Literal["start_channel"]
    channel: Identifier


class StopChannel(_EventBase):
    """A channel stops recruiting (people already in it stay)."""

    type: Literal["stop_channel"]
    channel: Identifier


class ChangePay(_EventBase):
    """Pay terms of a channel change from the event date on."""

    type: Literal["change_pay"]
    channel: Identifier
    salary_per_month: Param | None = param("currency per month", "New salary", default=None)
    sign_up_bonus_federal: Param | None = param("currency", "New federal bonus", default=None)
    sign_up_bonus_regional: Param | None = param("currency", "New regional bonus", default=None)
    deployment_bonus: Param | None = param("currency", "New deployment bonus", default=None)
    paid_share: Param | None = param("share", "New share actually paid", default=None)


class WidenEligibility(_Model):
    """More people become eligible for a pool (e.g. prisoners without military past)."""

    type: Literal["widen_eligibility"]
    date: dt.date
    pool: Identifier
    add_people: Param = param("people", "People added to the pool", series=False)
    evidence: list[str] = Field(default_factory=list)
    assumption: str | None = None
    note: str | None = None


class MobilisationWave(_EventBase):
    """Call-up of `size_people` spread evenly over `duration_days`; a share evades.

    `size_counts: calls` (the default): `size_people` are called and evaders lower the
    arrivals; `arrivals`: `size_people` are to arrive, so `size_people / (1 − evasion)`
    are called."""

    type: Literal["mobilisation_wave"]
    channel: Identifier
    size_people: Param = param("people", "People called up", series=False)
    duration_days: Param = param("days", "Days over which the call-up is spread", series=False)
    evasion_share: Param = param(
        "share", "Share of those called who flee or evade", default_factory=_zero, series=False
    )
    size_counts: Literal["calls", "arrivals"] = Field(
        default="calls",
        description="Whether `size_people` counts people called (evasion lowers arrivals) "
        "or people arriving (evasion raises calls).",
    )


class StopLoss(_EventBase):
    """Stop-loss on or off: while on, contracts do not expire (people are held)."""

    type: Literal["stop_loss"]
    active: bool
    channels: list[Identifier] | None = Field(
        default=None, description="Channels affected; all when omitted."
    )


class ContractRules(_EventBase):
    """A dated change of the legal rules of contracts (e.g. a decree), distinct from
    stop-loss: from the event date, `voluntary_termination: false` suspends early
    termination, and `open_ended: true` makes contracts open-ended (people reaching
    their term stay, without renewal or expiry). Fields left out keep their state."""

    type: Literal["contract_rules"]
    voluntary_termination: bool | None = Field(
        default=None, description="Whether early termination is possible from the date."
    )
    open_ended: bool | None = Field(
        default=None, description="Whether contracts are open-ended from the date."
    )
    channels: list[Identifier] | None = Field(
        default=None, description="Channels affected; all when omitted."
    )


Event = Annotated[
    StartChannel
    | StopChannel
    | ChangePay
    | WidenEligibility
    | MobilisationWave
    | StopLoss
    | ContractRules,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------------- questions
PositivePeople = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Questions(_Model):
    """The questions a scenario is written to answer, about deployed strength (all
    channels, people). ``forcegen report`` leads with their answers, as ``forcegen ask
    --below … --hold … --by …`` gives them."""

    below: list[PositivePeople] = Field(
        default_factory=list,
        description="When does deployed strength first fall below each of these? [people]",
        json_schema_extra={"x-unit": "people"},
    )
    hold: PositivePeople | None = Field(
        default=None,
        description="How likely is deployed strength to be at least this many people on "
        "`by` (and on every day until then)? [people]",
        json_schema_extra={"x-unit": "people"},
    )
    by: dt.date | None = Field(
        default=None,
        description="The date `hold` is asked for; the last simulated day when omitted.",
    )


# -------------------------------------------------------------------------- scenario
class Scenario(_Model):
    """A complete, self-describing force-generation scenario."""

    schema_version: Literal[1] = Field(default=1, description="Version of this language.")
    name: Identifier
    title: str = ""
    description: str = ""
    start_date: dt.date = Field(description="First simulated day.")
    horizon_days: int = Field(gt=0, le=36_500, description="Number of simulated days.")
    currency: str = Field(default="RUB", description="Currency of every money amount.")
    exchange_rates: dict[str, Param] = Field(
        default_factory=dict,
        description="Units of the scenario currency per one unit of each named currency.",
        json_schema_extra={"x-unit": "currency per unit"},
    )
    ledger_files: list[str] = Field(
        default_factory=list,
        description="Ledger files (relative to this file) whose claims are added to `claims`.",
    )
    claims: list[Claim] = Field(default_factory=list, description="The evidence ledger.")
    pools: list[Pool] = Field(default_factory=list)
    channels: list[Channel] = Field(min_length=1)
    losses: Losses
    events: list[Event] = Field(default_factory=list)
    questions: Questions | None = Field(
        default=None,
        description="The questions reports answer first (thresholds in people); "
        "without them, 75 % and 50 % of the initial deployed strength.",
    )

    # -- convenience --------------------------------------------------------------------
    @property
    def end_date(self) -> dt.date:
        """Last simulated day."""
        return self.start_date + dt.timedelta(days=self.horizon_days - 1)

    def channel(self, channel_id: str) -> Channel:
        """The channel with this id (``KeyError`` if none)."""
        for c in self.channels:
            if c.id == channel_id:
                return c
        raise KeyError(channel_id)

    def pool(self, pool_id: str) -> Pool:
        """The pool with this id (``KeyError`` if none)."""
        for p in self.pools:
            if p.id == pool_id:
                return p
        raise KeyError(pool_id)

    def claim(self, claim_id: str) -> Claim:
        """The claim with this id (``KeyError`` if none)."""
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(claim_id)
