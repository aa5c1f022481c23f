"""Parameter tables: each parameter is declared once, as a field of a `ParamSet` dataclass.

The declaration (name, type, default, help, bounds, choices) drives the validation of every
value (Python API, command line, element property), the CLI options (`gstreamed.commands.options`)
and the GStreamer element properties (`gstreamed.gst.properties`)::

    @dataclass(eq=False)
    class SortParams(ParamSet):
        OWNER: ClassVar[str] = "sort"
        PREFIX: ClassVar[str] = "sort-"
        max_age: int = param(1, "frames a track survives without a match", minimum=0)

    SortParams(max_age="3").max_age  # -> 3; SortParams(max_age=-1) raises ParamError
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from gstreamed.errors import GstreamedError

SCALAR_TYPES = (bool, int, float, str)


@dataclass(frozen=True)
class Param:
    """One parameter: its name, scalar type, default, help text and allowed values.

    ``minimum``/``maximum`` bound numbers (inclusive, ``None`` = unbounded); ``choices``
    restricts strings; a ``sequence`` string parameter also takes a list, joined with commas
    (``classes=["person", "car"]`` == ``"person,car"``).
    """

    name: str
    type: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    sequence: bool = False
    aliases: tuple[str, ...] = ()  # more command-line names (``batch`` for ``batch-size``)

    @property
    def option(self) -> str:
        """The name in options and properties: ``max_det`` → ``max-det``."""
        return self.name.replace("_", "-")

    def convert(self, value: Any, owner: str, prefix: str = "") -> Any:
        """``value`` as this parameter's type, checked; `ParamError` when it is not allowed."""

        def refuse(reason: str) -> ParamError:
            return ParamError(owner, prefix + self.option, self.name, reason)

        if value is None and self.default is None:
            return None
        if self.sequence and isinstance(value, Sequence) and not isinstance(value, str):
            value = ",".join(str(v) for v in value)
        try:
            if self.type is bool:
                converted: Any = _to_bool(value)
            elif self.type is not str and isinstance(value, bool):
                raise ValueError(value)  # True is not the number 1 here
            elif self.type is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            else:
                converted = self.type(value)
        except (TypeError, ValueError):
            raise refuse(f"must be a {self.type.__name__}, got {value!r}") from None
        if self.type in (int, float):
            if not math.isfinite(converted):
                raise refuse(f"must be a finite number, got {value!r}")
            low, high = self.minimum, self.maximum
            if (low is not None and converted < low) or (high is not None and converted > high):
                if low is not None and high is not None:
                    raise refuse(f"must lie between {low:g} and {high:g}, got {value!r}")
                bound = f">= {low:g}" if low is not None else f"<= {high:g}"
                raise refuse(f"must be {bound}, got {value!r}")
        if self.choices and converted not in self.choices:
            raise refuse(f"must be one of {', '.join(self.choices)}, got {value!r}")
        return converted


class ParamError(GstreamedError):
    """A parameter value that is not allowed; worded for the Python API.

    ``option`` is the qualified option/property name (``max-det``, ``sort-max-age``), which
    the command line uses to word the same error with its flag.
    """

    def __init__(self, owner: str, option: str, name: str, reason: str) -> None:
        super().__init__(f"{owner} parameter {name!r} {reason}")
        self.owner, self.option, self.name, self.reason = owner, option, name, reason


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise ValueError(value)


def param(
    default: Any,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: Sequence[str] = (),
    sequence: bool = False,
    aliases: Sequence[str] = (),
) -> Any:
    """Declare a `ParamSet` field (its type comes from the field's annotation)."""
    spec = {
        "help": help,
        "minimum": minimum,
        "maximum": maximum,
        "choices": tuple(choices),
        "sequence": sequence,
        "aliases": tuple(aliases),
    }
    return dataclasses.field(default=default, metadata={"param": spec})


def redefault(base: type, name: str, default: Any) -> Any:
    """Redeclare ``base``'s parameter ``name`` in a subclass with another default (same help,
    bounds and choices)."""
    field = next(f for f in dataclasses.fields(base) if f.name == name)
    return dataclasses.field(default=default, metadata=field.metadata)


def _scalar(annotation: Any) -> type:
    """``int`` for ``int``, ``str`` for ``str | None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if annotation not in SCALAR_TYPES:
        raise TypeError(f"parameter type {annotation!r} is not one of {SCALAR_TYPES}")
    return typing.cast(type, annotation)


class ParamSet:
    """Base of parameter dataclasses: fields declared with `param`, checked on construction.

    ``OWNER`` names the set in error messages; ``PREFIX`` qualifies its option and property
    names (``sort-`` for ``--sort-max-age`` / ``sort-max-age``).
    """

    OWNER: ClassVar[str] = "parameters"
    PREFIX: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for p in self.params():
            object.__setattr__(
                self, p.name, p.convert(getattr(self, p.name), self.OWNER, self.PREFIX)
            )

    @classmethod
    def params(cls) -> tuple[Param, ...]:
        """The parameter table of this set, in declaration order."""
        if cls not in _TABLES:
            hints = typing.get_type_hints(cls)
            _TABLES[cls] = tuple(
                Param(f.name, _scalar(hints[f.name]), f.default, **f.metadata["param"])
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if "param" in f.metadata
            )
        return _TABLES[cls]

    @classmethod
    def check(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Every parameter, converted and checked (defaults filled in); unknown names raise."""
        known = {p.name for p in cls.params()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise GstreamedError(
                f"{cls.OWNER} has no parameter {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        return {
            p.name: p.convert(values.get(p.name, p.default), cls.OWNER, cls.PREFIX)
            for p in cls.params()
        }

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Self:
        """An instance from ``values`` (defaults for the rest); unknown names raise."""
        return cls(**cls.check(values))

    def values(self) -> dict[str, Any]:
        """The parameter values by name."""
        return {p.name: getattr(self, p.name) for p in self.params()}


_TABLES: dict[type[ParamSet], tuple[Param, ...]] = {}
