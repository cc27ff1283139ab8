"""f and its derivative over a range of one input, for ``adcli plot``: the batch of points, and
where along the range the derivative changes its rule (a branch of the file, a kink) or takes a
convention (abs at 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from adcli.batch import Batch, gradient_at_points
from adcli.errors import InputError
from adcli.points import PointRange, Value

if TYPE_CHECKING:
    from adcli.source import Source


@dataclass
class Curve:
    """f and ∂f/∂x at every point of the range of ``name``, and the marks along it."""

    source: str
    name: str  # the input that ranges
    held: dict[str, float]  # the other inputs, held at these values
    x: np.ndarray
    value: np.ndarray
    derivative: np.ndarray
    branch_changes: list[tuple[float, float]]  # neighbouring points on different paths of the file
    kinks: list[tuple[float, float]]  # neighbouring points between which a kink node crosses its kink
    conventions: list[float]  # points where a derivative convention was used
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def curve(source: Source | str, assigned: Mapping[str, Value], func: str | None = None) -> Curve:
    """f and its derivative along the one input given a range (``--at x=-2:2:401``), the others held."""
    ranges = [name for name, value in assigned.items() if isinstance(value, PointRange)]
    if len(ranges) != 1:
        given = "none" if not ranges else ", ".join(ranges)
        raise InputError(f"a plot draws f along one input (given a range: {given}): give exactly one range, "
                         "such as x=-2:2:401", option="at")
    name = ranges[0]
    batch = gradient_at_points(source, assigned, None, func)
    if len(batch.values) != 1:
        raise InputError(f"plot draws one output; the function has {len(batch.values)}")
    return curve_of(batch, name)


def curve_of(batch: Batch, name: str) -> Curve:
    """The curve of a one-output batch along the input ``name``."""
    x = np.broadcast_to(batch.points[name], (batch.count,))
    path = np.zeros(batch.count, dtype=int)
    for k, taken in enumerate(batch.paths):
        path[taken.indices] = k

    def gaps(mask) -> list[tuple[float, float]]:
        return [(float(x[k]), float(x[k + 1])) for k in np.flatnonzero(mask)]

    kinks = batch.kink_changes if batch.kink_changes is not None else np.zeros(max(batch.count - 1, 0), dtype=bool)
    conventions = batch.conventions if batch.conventions is not None else np.zeros(batch.count, dtype=bool)
    held = {other: float(v) for other, v in batch.points.items() if other != name}
    return Curve(batch.trace.source, name, held, x, batch.values[0], batch.gradients[0][name],
                 gaps(path[1:] != path[:-1]), gaps(kinks), x[conventions].tolist(), batch.warnings, batch.notes)
