"""GObject properties generated from the parameter tables (`gstreamed.params`)."""

from __future__ import annotations

from typing import Any

from gi.repository import GObject

from gstreamed.params import Param, ParamSet

INT32 = (-(2**31), 2**31 - 1)
UNBOUNDED = 1e12


def property_spec(param: Param, name: str) -> tuple[Any, ...]:
    """The ``__gproperties__`` entry of one parameter, with its bounds and default."""
    flags = GObject.ParamFlags.READWRITE
    if param.type in (bool, str):
        return (param.type, name, param.help, param.default, flags)
    low = param.minimum if param.minimum is not None else -UNBOUNDED
    high = param.maximum if param.maximum is not None else UNBOUNDED
    if param.type is int:
        low, high = max(low, INT32[0]), min(high, INT32[1])
        return (int, name, param.help, int(low), int(high), param.default, flags)
    return (float, name, param.help, float(low), float(high), float(param.default), flags)


def properties_of(*tables: type[ParamSet]) -> dict[str, tuple[Any, ...]]:
    """Properties named ``<prefix><option>`` (``max-det``, ``sort-max-age``) for ``tables``."""
    return {
        table.PREFIX + p.option: property_spec(p, table.PREFIX + p.option)
        for table in tables
        for p in table.params()
    }


def values_of(
    table: type[ParamSet], properties: dict[str, Any], only: set[str] | None = None
) -> dict[str, Any]:
    """The parameter values of ``table`` held in ``properties`` (those in ``only``, if given)."""
    return {
        p.name: properties[table.PREFIX + p.option]
        for p in table.params()
        if only is None or table.PREFIX + p.option in only
    }
