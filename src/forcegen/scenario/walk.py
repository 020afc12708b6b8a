"""Enumerate every parameter of a scenario with its location, name and unit.

Each parameter has two addresses:

* ``path`` — positional, as in the YAML document: ``("channels", 2, "pay", "paid_share")``;
  used to find line numbers;
* ``name`` — stable and readable, with ids instead of list positions:
  ``channels.prisoners.pay.paid_share``; used on the command line (sensitivity,
  calibration), in reports and as the key of each parameter's random stream.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from forcegen.scenario.params import Param

__all__ = ["ParamRef", "format_path", "is_model", "iter_params", "unwrap_annotation"]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ParamRef:
    """A parameter found in a scenario."""

    path: Path
    name: str
    param: Param
    unit: str
    series_allowed: bool


def format_path(path: Path) -> str:
    """``("channels", 2, "pay")`` → ``channels[2].pay``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _field_meta(model: BaseModel, field: str) -> tuple[str, bool]:
    info = type(model).model_fields[field]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    unit = str(extra.get("x-unit", ""))
    series = bool(extra.get("x-series", True))
    return unit, series


def _walk(obj: Any, path: Path, name: str, unit: str, series: bool) -> Iterator[ParamRef]:
    if isinstance(obj, Param):
        yield ParamRef(path, name, obj, unit, series)
    elif isinstance(obj, BaseModel):
        for field in type(obj).model_fields:
            value = getattr(obj, field)
            if value is None:
                continue
            f_unit, f_series = _field_meta(obj, field)
            key = type(obj).model_fields[field].alias or field
            yield from _walk(
                value, (*path, key), f"{name}.{key}" if name else key, f_unit, f_series
            )
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            label = getattr(item, "id", None)
            if label is None and getattr(item, "type", None) is not None:
                label = f"{i}"
            item_name = f"{name}.{label if label is not None else i}"
            yield from _walk(item, (*path, i), item_name, unit, series)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _walk(item, (*path, key), f"{name}.{key}", unit, series)


def iter_params(model: BaseModel) -> Iterator[ParamRef]:
    """Every :class:`Param` inside ``model`` (a scenario or any part of one), depth first."""
    yield from _walk(model, (), "", "", True)


def unwrap_annotation(annotation: Any, discriminator: str | None = None) -> tuple[Any, str | None]:
    """A field annotation without ``Annotated[...]`` and ``| None``, and the union
    discriminator named in its ``Annotated`` metadata (else ``discriminator``)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            args = get_args(annotation)
            for meta in args[1:]:
                found = getattr(meta, "discriminator", None)
                if isinstance(found, str):
                    discriminator = found
            annotation = args[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, discriminator


def is_model(annotation: Any) -> bool:
    """Whether an (unwrapped) annotation is a pydantic model class."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
