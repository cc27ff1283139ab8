"""The values given to a trace's inputs: a point (a number or a list per input), a range of points
(:class:`PointRange`), a direction for forward mode, and the inputs to differentiate by; each
checked against the trace, with errors that name the argument they concern (``option``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from adcli.errors import InputError
from adcli.suggest import did_you_mean
from adcli.trace import Trace


class PointRange(NamedTuple):
    """``--at x=start:stop:count``: ``count`` evenly spaced values, both ends included."""

    start: float
    stop: float
    count: int  # type: ignore[assignment]  # the field shadows the method tuple.count


Value = float | list[float] | PointRange


def range_points(points: PointRange):
    """The values of a range as a NumPy array, both ends exact and every value finite: where the
    spacing (stop − start)/(count − 1) would overflow (``-1e308:1e308:3``), each value is the
    weighted mean start·(1 − t) + stop·t instead, which stays between the ends."""
    import numpy as np

    if points.count == 1:
        return np.array([points.start])
    if math.isfinite(points.stop - points.start):
        return np.linspace(points.start, points.stop, points.count)
    t = np.arange(points.count) / (points.count - 1)
    values = points.start * (1.0 - t) + points.stop * t
    values[-1] = points.stop
    return values


def bind_point(trace: Trace, assigned: Mapping[str, Value]) -> list[float]:
    """The value of each input of ``trace``, in input order; every input needs exactly one value."""
    inputs = trace.input_names
    known = set(inputs)
    for name in assigned:
        if name not in known:
            listing = ", ".join(inputs) if inputs else "none"
            raise InputError(f"the function has no input '{name}'{did_you_mean(name, inputs)} (its inputs: {listing})",
                             option="at", value=name)
    missing = [name for name in inputs if name not in assigned]
    if missing:
        example = ",".join(f"{name}=…" for name in missing)
        raise InputError(f"no value for {_listing(missing)}", option="at", value=example)
    values = []
    for name in inputs:
        value = assigned[name]
        if isinstance(value, list):
            raise InputError(f"{name} is a single number, not a list", option="at", value=name)
        if isinstance(value, PointRange):
            raise InputError("a range of points is for the gradient (a batch)", option="at", value=name)
        values.append(value)
    return values


def check_inputs(trace: Trace, names: list[str] | None, option: str = "wrt") -> list[str]:
    """``names``, checked to be distinct inputs of the trace (all inputs when None); ``option`` is the
    argument they came from, for the error."""
    if names is None:
        return list(trace.input_names)
    if not names:
        raise InputError("name at least one input", option=option)
    for name in names:
        if name not in trace.input_names:
            raise InputError(f"the function has no input '{name}'{did_you_mean(name, trace.input_names)}",
                             option=option, value=name)
    if len(set(names)) != len(names):
        raise InputError("an input is named more than once", option=option, value=",".join(names))
    return names


def _listing(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return ("input " if len(names) == 1 else "inputs ") + ", ".join(quoted)


def bind_direction(trace: Trace, assigned: Mapping[str, Value]) -> dict[str, float]:
    """A forward-mode seed (input -> tangent); inputs left out get tangent 0."""
    direction: dict[str, float] = {}
    for name, value in assigned.items():
        if name not in trace.input_names:
            raise InputError(f"the function has no input '{name}'{did_you_mean(name, trace.input_names)}",
                             option="direction", value=name)
        if isinstance(value, list | PointRange):
            what = "a range" if isinstance(value, PointRange) else "a list"
            raise InputError(f"give one number per input, not {what}", option="direction", value=name)
        direction[name] = value
    return direction
