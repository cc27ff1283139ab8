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
    """``names``, checked to be distinct inputs of the trace (all inputs when None), a list parameter's
    name standing for all of its entries (``w`` for ``w[0]``, ``w[1]``, …, as JAX's argnums);
    ``option`` is the argument they came from, for the error."""
    if names is None:
        return list(trace.input_names)
    if not names:
        raise InputError("name at least one input", option=option)
    lists = list_parameters(trace.input_names)
    chosen: list[str] = []
    for name in names:
        if name in lists:
            chosen += lists[name]
        elif name in trace.input_names:
            chosen.append(name)
        else:
            raise InputError(f"the function has no input '{name}'{did_you_mean(name, [*trace.input_names, *lists])}",
                             option=option, value=name)
    if len(set(chosen)) != len(chosen):
        raise InputError("an input is named more than once", option=option, value=",".join(names))
    return chosen


def list_parameters(names: list[str]) -> dict[str, list[str]]:
    """The list parameters among input (or output) ``names``: ``{"w": ["w[0]", "w[1]"]}`` for the
    entries ``w[0]``, ``w[1]`` of a function file's list ``w``."""
    lists: dict[str, list[str]] = {}
    for name in names:
        base, bracket, rest = name.partition("[")
        if bracket and rest.endswith("]"):
            lists.setdefault(base, []).append(name)
    return lists


def _listing(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return ("input " if len(names) == 1 else "inputs ") + ", ".join(quoted)


def bind_direction(trace: Trace, assigned: Mapping[str, Value]) -> dict[str, float]:
    """A forward-mode seed u (input -> tangent) for J·u: inputs by name (``x=1``), list entries
    (``w[0]=1``) or whole lists (``w=[1,0,0]``); inputs left out get tangent 0."""
    return _bind_weights(trace.input_names, assigned, "direction", "input")


def output_labels(trace: Trace) -> list[str]:
    """How a cotangent names the outputs: ``f`` when there is one, ``f[0]``, ``f[1]``, … otherwise."""
    count = len(trace.outputs)
    return ["f"] if count == 1 else [f"f[{k}]" for k in range(count)]


def bind_cotangent(trace: Trace, assigned: Mapping[str, Value]) -> list[float]:
    """A reverse-mode seed u (one weight per output) for uᵀJ: outputs named as :func:`output_labels`
    says, one by one (``f[0]=1``) or as a list (``f=[1,1]``); outputs left out get weight 0."""
    weights = _bind_weights(output_labels(trace), assigned, "cotangent", "output")
    return [weights.get(label, 0.0) for label in output_labels(trace)]


def _bind_weights(names: list[str], assigned: Mapping[str, Value], option: str, what: str) -> dict[str, float]:
    """One number per name of ``names`` given in ``assigned`` (a list for all the entries of a list
    name): the weights of a seed, checked; the names left out are not in the result."""
    if not assigned:
        raise InputError(f"name at least one {what}", option=option)
    lists = list_parameters(names)
    weights: dict[str, float] = {}
    for name, value in assigned.items():
        if isinstance(value, PointRange):
            raise InputError(f"give one number per {what}, not a range", option=option, value=name)
        if name in lists:
            entries = lists[name]
            if not isinstance(value, list):
                raise InputError(f"{name} is a list of {len(entries)}: give {name}=[…] or its entries "
                                 f"{entries[0]}=…", option=option, value=name)
            if len(value) != len(entries):
                raise InputError(f"{name} has {len(entries)} entries; the list given has {len(value)}",
                                 option=option, value=name)
            pairs = list(zip(entries, value))
        elif name in names:
            if isinstance(value, list):
                raise InputError(f"give one number per {what}, not a list", option=option, value=name)
            pairs = [(name, value)]
        else:
            listing = f" (its outputs: {', '.join(names)})" if what == "output" else ""  # inputs are in sight
            raise InputError(f"the function has no {what} '{name}'{did_you_mean(name, [*names, *lists])}{listing}",
                             option=option, value=name)
        for entry, number in pairs:
            if entry in weights:
                raise InputError(f"{entry} is given more than once", option=option, value=name)
            weights[entry] = number
    return weights
