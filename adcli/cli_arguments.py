"""The CLI layer's reading of option text: ``--at x=pi/3,y=0``, ``--direction x=1,y=2``,
``--wrt x,y``, ``--steps 1e-2,1e-4``. Values are numbers or constant expressions, parsed by adcli's
own parser; the library receives plain numbers, lists and :class:`~adcli.points.PointRange`s."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from adcli.errors import AdcliError, InputError
from adcli.limits import MAX_POINTS, parse_whole
from adcli.points import PointRange, Value

_ENTRY = re.compile(r"(?P<name>[^\[\]]+)\[[0-9]+\]\Z")  # a list's entry: w[0]
_RANGE = re.compile(r"([^:]+):([^:]+):\s*(\S+)\Z")
_MAX_LIST_FILE_BYTES = 256 * 2**20


def is_batch(assigned: Mapping[str, Value], points_file: str | None) -> bool:
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


def parse_assignments(specs: list[str], option: str = "--at", entries: bool = False) -> dict[str, Value]:
    """Merge ``name=value`` lists from repeated options into one mapping, in order of appearance
    (``entries``: a name may be a list's entry, ``w[0]=1``, as in a seed)."""
    assigned: dict[str, Value] = {}
    for spec in specs:
        for part in split_top_level(spec):
            part = part.strip()
            if not part:
                continue
            name, equals, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not equals or not _is_name(name, entries):
                raise InputError(f"{option} {part}: expected name=value, e.g. {option} x=1.5")
            if name in assigned:
                raise InputError(f"{option} {part}: {name} is given more than once")
            assigned[name] = _parse_value(text, f"{option} {part}")
    return assigned


def _is_name(text: str, entries: bool) -> bool:
    """Whether ``text`` names an input as Python names a parameter (``x``, ``α``), or with
    ``entries`` also a list's entry (``w[0]``)."""
    entry = _ENTRY.match(text) if entries else None
    return (entry.group("name") if entry else text).isidentifier()


def _parse_value(text: str, place: str) -> Value:
    if text.startswith("@"):
        return read_list_file(text[1:], place)
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


def read_list_file(path: str, place: str) -> list[float]:
    """The list of numbers in the file at ``path`` (``--at x=@x.txt``): a JSON array, or numbers
    separated by commas, blanks or newlines; for inputs too long for a command line."""
    if not path:
        raise InputError(f"{place}: name a file after '@', e.g. x=@x.txt")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(_MAX_LIST_FILE_BYTES + 1)
    except UnicodeDecodeError:
        raise InputError(f"{place}: {path} is not a text file") from None
    except OSError as error:
        raise InputError(f"{place}: cannot read {path}: {error.strerror or error}") from None
    if len(text) > _MAX_LIST_FILE_BYTES:
        raise InputError(f"{place}: {path} is larger than {_MAX_LIST_FILE_BYTES // 2**20} MB")
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        stripped = stripped[1:-1]
    items = [item for item in re.split(r"[\s,]+", stripped) if item]
    if len(items) > MAX_POINTS:
        raise InputError(f"{place}: {path} holds more than {MAX_POINTS:,} numbers")
    values = []
    for number, item in enumerate(items, 1):
        try:
            value = float(item)
        except ValueError:
            raise InputError(f"{place}: entry {number} of {path}, '{item[:40]}', is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{place}: entry {number} of {path}, '{item[:40]}', is not a finite number")
        values.append(value)
    return values


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


def split_names(spec: str) -> list[str]:
    """The names of ``--wrt x,y`` (or ``--check sympy,fd``), blanks dropped."""
    return [name.strip() for name in spec.split(",") if name.strip()]
