"""The `Tracker` interface and `TrackerParam`, the table entry that describes one parameter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError


@dataclass(frozen=True)
class TrackerParam:
    """One tracker parameter: drives CLI options and GStreamer element properties.

    ``minimum``/``maximum`` bound numeric values (inclusive); ``None`` = unbounded.
    """

    name: str
    type: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def convert(self, value: Any, owner: str) -> Any:
        """``value`` as this parameter's type, range-checked; GstreamedError when invalid."""
        where = f"{owner} parameter {self.name!r}"
        try:
            if self.type is bool:
                converted: Any = _to_bool(value)
            elif self.type is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            else:
                converted = self.type(value)
        except (TypeError, ValueError):
            raise GstreamedError(f"{where} must be a {self.type.__name__}, got {value!r}") from None
        if self.type in (int, float):
            if not math.isfinite(converted):
                raise GstreamedError(f"{where} must be a finite number, got {value!r}")
            if self.minimum is not None and converted < self.minimum:
                raise GstreamedError(f"{where} must be >= {self.minimum}, got {value!r}")
            if self.maximum is not None and converted > self.maximum:
                raise GstreamedError(f"{where} must be <= {self.maximum}, got {value!r}")
        return converted


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


def check_params(
    owner: str, spec: tuple[TrackerParam, ...], values: dict[str, Any]
) -> dict[str, Any]:
    """Validate and convert ``values`` against ``spec``; unknown names raise GstreamedError."""
    known = {p.name: p for p in spec}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise GstreamedError(
            f"{owner} has no parameter {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    return {name: p.convert(values.get(name, p.default), owner) for name, p in known.items()}


@runtime_checkable
class Tracker(Protocol):
    """A multi-object tracker for one stream.

    ``update`` takes one frame's detections and returns the rows that belong to a confirmed
    track, carrying ``track_id`` >= 1; ``reset`` forgets all tracks and restarts ids at 1.
    """

    PARAMS: ClassVar[tuple[TrackerParam, ...]]

    def update(self, detections: Detections) -> Detections:
        """Track one frame; returns the tracked rows of ``detections`` with their track ids."""
        ...

    def reset(self) -> None:
        """Drop every track and restart ids at 1."""
        ...
