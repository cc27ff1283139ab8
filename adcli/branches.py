"""How far a trace holds, and inputs that act only through control flow.

A trace is the derivative of the path that ran. That path changes where a comparison of the
function file flips (``if x > 0``, ``while n < x``) or where a kink primitive (abs, relu, max, min,
floor, sign) crosses its kink. For each, :func:`branch_points` gives the margin (how far the
compared values are from a tie) and, per input, the linearised distance before it flips:
``|margin| / |∂margin/∂input|``. :func:`control_only_notes` names the inputs that change a loop
count or a branch but reach no output by a differentiable path, whose derivative AD reports as 0.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from adcli.primitives import BY_NAME, CONST, INPUT, PRIMITIVES
from adcli.sweeps import forward_sweep
from adcli.trace import NO_ARG, Control, Trace

#: The primitives whose derivative changes at a point of their argument: the kinks of a trace.
KINKS = ("abs", "relu", "sign", "floor", "max", "min")
_KINK_CODES = {BY_NAME[name].opcode: name for name in KINKS}
#: Above this many (input, node) tangents, distances are not worked out (margins still are).
MAX_TANGENTS = 20_000_000


@dataclass
class BranchPoint:
    """A comparison of the file (per line) or a kink node, with how far the trace holds for it."""

    kind: str  # "branch" (a comparison of the file) or "kink" (a node)
    where: str  # "line 5, if x > 0" or "v2 = abs(x)"
    margin: float  # the smallest |compared difference| (for floor: the distance to the nearest integer)
    distances: dict[str, float]  # input -> linearised |Δinput| before it flips (inf: it does not move)
    line: int | None = None
    node: str | None = None
    evaluations: int = 1

    @property
    def nearest(self) -> tuple[str, float] | None:
        """The input along which it flips first, and how far away that is (None: along none)."""
        finite = [(distance, name) for name, distance in self.distances.items() if distance < math.inf]
        if not finite:
            return None
        distance, name = min(finite)
        return name, distance


def branch_points(trace: Trace, values: Sequence[float], d0: Sequence[float], d1: Sequence[float]) -> list[BranchPoint]:
    """Every comparison of the file (one entry per line, its closest evaluation) and every kink node
    that depends on an input, each with its margin and linearised distance along every input."""
    kinks = [i for i, code in enumerate(trace.op) if code in _KINK_CODES] if _has_kink(trace) else []
    controls = [c for c in trace.controls if not c.is_count]
    if not kinks and not controls:
        return []
    active = trace.active()
    kinks = [i for i in kinks if active[i]]
    controls = [c for c in controls if active[c.node] or (c.other != NO_ARG and active[c.other])]
    if not kinks and not controls:
        return []
    tangents = _tangents(trace, d0, d1)
    names, input_name = trace.names(), trace.input_name_of()
    points = []
    for i in kinks:
        margin, slope = _kink_margin(trace, i, values, tangents)
        points.append(BranchPoint("kink", trace.label(i, names, input_name), margin,
                                  _distances(trace, margin, slope), node=names[i]))
    by_line: dict[int, BranchPoint] = {}
    for control in controls:
        margin, slope = _control_margin(control, values, tangents)
        distances = _distances(trace, margin, slope)
        point = by_line.get(control.line)
        if point is None:
            by_line[control.line] = BranchPoint("branch", f"line {control.line}, {control.text.rstrip(':')}",
                                                abs(margin), distances, line=control.line)
        else:
            point.evaluations += 1
            point.margin = min(point.margin, abs(margin))
            point.distances = {k: min(d, distances[k]) for k, d in point.distances.items()}
    return sorted(by_line.values(), key=lambda p: p.line or 0) + points


def _has_kink(trace: Trace) -> bool:
    opcodes = bytes(trace.op)
    return any(bytes((code,)) in opcodes for code in _KINK_CODES)


def _tangents(trace: Trace, d0: Sequence[float], d1: Sequence[float]) -> list[Sequence[float]] | None:
    """Every node's tangent along each input (one forward sweep each), or None when too costly."""
    if len(trace.inputs) * len(trace) > MAX_TANGENTS:
        return None
    return [forward_sweep(trace, d0, d1, {node: 1.0}) for node in trace.inputs]


def _kink_margin(trace: Trace, i: int, values: Sequence[float], tangents) -> tuple[float, list[float]]:
    """A kink node's margin and its slope along each input."""
    a, b = trace.arg0[i], trace.arg1[i]
    slope = [t[a] - (t[b] if b != NO_ARG else 0.0) for t in tangents] if tangents is not None else []
    if _KINK_CODES[trace.op[i]] == "floor":
        x = values[a]
        return min(x - math.floor(x), math.floor(x) + 1 - x), slope
    return values[a] - (values[b] if b != NO_ARG else 0.0), slope


def _control_margin(control: Control, values: Sequence[float], tangents) -> tuple[float, list[float]]:
    """A comparison's margin (its left side minus its right side) and its slope along each input."""
    other = control.other
    margin = values[control.node] - (values[other] if other != NO_ARG else control.constant)
    if tangents is None:
        return margin, []
    return margin, [t[control.node] - (t[other] if other != NO_ARG else 0.0) for t in tangents]


def _distances(trace: Trace, margin: float, slope: list[float]) -> dict[str, float]:
    """Per input, ``|margin| / |slope|`` (0 on the boundary, inf when the input does not move it,
    nan when the distances were not worked out)."""
    if not slope:
        return {name: math.nan for name in trace.input_names}
    return {name: abs(margin) / abs(s) if s else math.inf for name, s in zip(trace.input_names, slope)}


#: A recorded comparison's operator, on floats or element by element on arrays.
RELATIONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
              "!=": operator.ne}


def departure(trace: Trace, values: Sequence[float]) -> Control | None:
    """The first comparison or count of a function file that comes out otherwise with these node
    values than when ``trace`` was recorded (None: the point takes the recorded path), as batches
    group points (:func:`adcli.batch.evaluate_paths`). A comparison recorded without its operator
    must keep the order of its two sides."""
    recorded = trace.recorded_values
    for control in trace.controls:
        a = values[control.node]
        b = values[control.other] if control.other != NO_ARG else control.constant
        if control.is_count:
            same = recorded is None or a == recorded[control.node]
        elif control.relation:
            same = RELATIONS[control.relation](a, b) == control.outcome
        elif recorded is not None:
            was = recorded[control.node], recorded[control.other] if control.other != NO_ARG else control.constant
            same = (a < b, a == b, a > b) == (was[0] < was[1], was[0] == was[1], was[0] > was[1])
        else:
            same = True
        if not same:
            return control
    return None


def holds_note(points: list[BranchPoint]) -> str | None:
    """``this trace holds for |Δx| < 0.37: line 5, if x > 0``: the nearest flip, for ``grad``."""
    nearest = [(found[1], found[0], point) for point in points if (found := point.nearest) is not None]
    if not nearest:
        return None
    distance, name, point = min(nearest, key=lambda item: item[0])
    if distance == 0:
        return f"this trace is on the boundary of its path along {name}: {point.where} has margin 0"
    return f"this trace holds for |Δ{name}| < {distance:.3g}: {point.where}"


def point_notes(points: list[BranchPoint]) -> list[str]:
    """One line per comparison and kink, for ``trace``: its margin and where it flips."""
    notes = []
    for point in points:
        nearest = point.nearest
        holds = "moving one input alone does not flip it" if nearest is None else \
            f"it flips at |Δ{nearest[0]}| = {nearest[1]:.3g}"
        times = f" (closest of {point.evaluations} evaluations)" if point.evaluations > 1 else ""
        notes.append(f"{point.where}: margin {point.margin:.3g}{times}; {holds}")
    return notes


# ---------------------------------------------------------------- inputs that act only through control flow
def differentiable_reach(trace: Trace) -> list[bool]:
    """Per node: does an output depend on it through differentiable nodes? (Discrete nodes, floor
    and sign, pass no derivative, so their arguments are not reached through them.)"""
    flags = [False] * len(trace.op)
    for o in trace.outputs:
        flags[o] = True
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    for i in range(len(op) - 1, -1, -1):
        if flags[i] and arg0[i] != NO_ARG and not PRIMITIVES[op[i]].discrete:
            flags[arg0[i]] = True
            if arg1[i] != NO_ARG:
                flags[arg1[i]] = True
    return flags


def control_only_notes(trace: Trace) -> list[str]:
    """One note per input and line where the input decides control flow (a loop count, a branch)
    but reaches no output by a differentiable path, so AD gives 0 for it."""
    if not trace.controls:
        return []
    reached = differentiable_reach(trace)
    candidates = [k for k, node in enumerate(trace.inputs) if not reached[node]]
    if not candidates:
        return []
    depends = _input_masks(trace, candidates)
    notes, said = [], set()
    for control in trace.controls:
        mask = depends[control.node] | (depends[control.other] if control.other != NO_ARG else 0)
        for bit, k in enumerate(candidates):
            if mask >> bit & 1 and (k, control.line) not in said:
                said.add((k, control.line))
                notes.append(_control_note(trace.input_names[k], control))
    return notes


def _input_masks(trace: Trace, candidates: list[int]) -> list[int]:
    """Per node: a bit per candidate input (by position in ``candidates``) that it depends on."""
    masks = [0] * len(trace.op)
    for bit, k in enumerate(candidates):
        masks[trace.inputs[k]] |= 1 << bit
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    for i, code in enumerate(op):
        if code != INPUT and code != CONST:
            b = arg1[i]
            masks[i] = masks[arg0[i]] | (masks[b] if b != NO_ARG else 0)
    return masks


def _control_note(name: str, control: Control) -> str:
    text = control.text.rstrip(":")
    if text.startswith(("for ", "while ")):
        what = f"sets the number of iterations of the loop at line {control.line} ({text})"
        treated = "that count"
    elif control.is_count:
        what = f"sets a count or an index at line {control.line} ({text})"
        treated = "it"
    else:
        what = f"decides the comparison at line {control.line} ({text})"
        treated = "its outcome"
    return (f"{name} {what} and reaches the output by no differentiable path; AD treats {treated} as "
            f"constant, so the derivative with respect to {name} is 0 here")
