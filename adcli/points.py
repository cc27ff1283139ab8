"""Reading the values a user assigns to inputs: ``--at x=pi/3,y=0``, ``--direction x=1,y=2``,
``--wrt x,y``. Values are numbers or constant expressions, parsed by adcli's own parser."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from adcli.errors import AdcliError, InputError
from adcli.limits import MAX_POINTS, parse_whole
from adcli.suggest import did_you_mean
from adcli.trace import Trace

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_RANGE = re.compile(r"([^:]+):([^:]+):\s*(\S+)\Z")


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


def is_batch(assigned: dict[str, Value], points_file: str | None) -> bool:
    """Whether the options ask for many points: a range in --at, or a --points file."""
    return points_file is not None or any(isinstance(v, PointRange) for v in assigned.values())


def split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside parentheses or brackets: ``x=max(1,2),w=[1,2]``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_assignments(specs: list[str], option: str = "--at") -> dict[str, Value]:
    """Merge ``name=value`` lists from repeated options into one mapping, in order of appearance."""
    assigned: dict[str, Value] = {}
    for spec in specs:
        for part in split_top_level(spec):
            part = part.strip()
            if not part:
                continue
            name, equals, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not equals or not _NAME.match(name):
                raise InputError(f"{option} {part}: expected name=value, e.g. {option} x=1.5")
            if name in assigned:
                raise InputError(f"{option} {part}: {name} is given more than once")
            assigned[name] = _parse_value(text, f"{option} {part}")
    return assigned


def _parse_value(text: str, place: str) -> Value:
    if ":" in text and not text.startswith("["):
        match = _RANGE.match(text)
        if match is None:
            raise InputError(f"{place}: a range is start:stop:count, e.g. x=0:1:1001")
        start, stop = (constant_value(part.strip(), place) for part in match.group(1, 2))
        count = parse_whole(match.group(3), 1, MAX_POINTS)
        if count is None:
            raise InputError(f"{place}: a range needs a whole number of points from 1 to {MAX_POINTS:,}")
        return PointRange(start, stop, count)
    if text.startswith("["):
        if not text.endswith("]"):
            raise InputError(f"{place}: a list must end with ']'")
        inner = text[1:-1].strip()
        if "[" in inner:
            raise InputError(f"{place}: nested lists are not supported, only a flat list of numbers")
        return [constant_value(item.strip(), place) for item in split_top_level(inner)] if inner else []
    return constant_value(text, place)


def constant_value(text: str, place: str) -> float:
    """The value of a number or constant expression (``pi/3``, ``-2e-3``, ``sqrt(2)``)."""
    from adcli.evaluate import evaluate
    from adcli.parser import parse

    if not text:
        raise InputError(f"{place}: the value is missing")
    not_a_number = InputError(f"{place}: '{text}' is not a number or a constant expression such as pi/3")
    try:
        if not math.isfinite(float(text)):
            raise InputError(f"{place}: '{text}' is not a finite number")
    except ValueError:
        pass  # not a plain number: parse it as a constant expression
    try:
        trace = parse(text)
    except AdcliError:
        raise not_a_number from None
    if trace.inputs or len(trace.outputs) != 1:
        raise not_a_number
    try:
        value = evaluate(trace, [])[trace.outputs[0]]
    except AdcliError as error:
        reason = str(error).split(": ", 1)[-1]  # the domain message, without the node's name
        raise InputError(f"{place}: '{text}' cannot be evaluated: {reason}") from None
    if not math.isfinite(value):
        raise InputError(f"{place}: '{text}' is not a finite number")
    return value


def bind_point(trace: Trace, assigned: dict[str, Value]) -> list[float]:
    """The value of each input of ``trace``, in input order; every input needs exactly one value."""
    inputs = trace.input_names
    known = set(inputs)
    for name in assigned:
        if name not in known:
            listing = ", ".join(inputs) if inputs else "none"
            raise InputError(f"--at {name}: the function has no input '{name}'"
                             f"{did_you_mean(name, inputs)} (its inputs: {listing})")
    missing = [name for name in inputs if name not in assigned]
    if missing:
        example = ",".join(f"{name}=…" for name in missing)
        raise InputError(f"no value for {_listing(missing)}: add --at {example}")
    values = []
    for name in inputs:
        value = assigned[name]
        if isinstance(value, list):
            raise InputError(f"--at {name}: {name} is a single number, not a list")
        if isinstance(value, PointRange):
            raise InputError(f"--at {name}: ranges of points are for adcli grad")
        values.append(value)
    return values


def parse_names(spec: str | None, trace: Trace, option: str = "--wrt") -> list[str]:
    """Input names from ``--wrt x,y`` (all inputs when ``spec`` is None), checked against the trace."""
    if spec is None:
        return list(trace.input_names)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise InputError(f"{option}: name at least one input")
    for name in names:
        if name not in trace.input_names:
            raise InputError(f"{option} {name}: the function has no input '{name}'"
                             f"{did_you_mean(name, trace.input_names)}")
    if len(set(names)) != len(names):
        raise InputError(f"{option} {spec}: an input is named more than once")
    return names


def _listing(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return ("input " if len(names) == 1 else "inputs ") + ", ".join(quoted)


def bind_direction(trace: Trace, assigned: dict[str, Value]) -> dict[str, float]:
    """A forward-mode seed from ``--direction x=1,y=2``; inputs left out get tangent 0."""
    direction: dict[str, float] = {}
    for name, value in assigned.items():
        if name not in trace.input_names:
            raise InputError(f"--direction {name}: the function has no input '{name}'"
                             f"{did_you_mean(name, trace.input_names)}")
        if isinstance(value, list):
            raise InputError(f"--direction {name}: give one number per input, not a list")
        if isinstance(value, PointRange):
            raise InputError(f"--direction {name}: give one number per input, not a range")
        direction[name] = value
    return direction
