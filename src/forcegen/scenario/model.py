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
    "EXIT_CAUSES",
    "HAZARD_CAUSES",
    "STATES",
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
    "Enlistment",
    "Event",
    "HazardCause",
    "InitialForce",
    "Losses",
    "MobilisationEnlistment",
    "MobilisationWave",
    "PayPackage",
    "Pool",
    "Questions",
    "Recovery",
    "Scenario",
    "SeriesEnlistment",
    "ServiceMultiplier",
    "StartChannel",
    "StopChannel",
    "StopLoss",
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
STATES: tuple[str, ...] = ("training", "deployed", "recovering")
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


class ConscriptionEnlistment(_Model):
    """No voluntary inflow: conscripts arrive only through the channel's
    `conscription.call_ups`."""

    model: Literal["conscription"]


Enlistment = Annotated[
    SeriesEnlistment | BehaviouralEnlistment | MobilisationEnlistment | ConscriptionEnlistment,
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
    """Call-up of `size_people` spread evenly over `duration_days`; a share evades."""

    type: Literal["mobilisation_wave"]
    channel: Identifier
    size_people: Param = param("people", "People called up", series=False)
    duration_days: Param = param("days", "Days over which the call-up is spread", series=False)
    evasion_share: Param = param(
        "share", "Share of those called who flee or evade", default_factory=_zero, series=False
    )


class StopLoss(_EventBase):
    """Stop-loss on or off: while on, contracts do not expire (people are held)."""

    type: Literal["stop_loss"]
    active: bool
    channels: list[Identifier] | None = Field(
        default=None, description="Channels affected; all when omitted."
    )


Event = Annotated[
    StartChannel | StopChannel | ChangePay | WidenEligibility | MobilisationWave | StopLoss,
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
