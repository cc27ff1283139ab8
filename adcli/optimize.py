"""Graph optimisation: passes over a recorded trace that return a smaller trace with the same values.

As a compiler does with a static graph (TensorFlow's Grappler, XLA), :func:`optimize` runs, in one
forward pass and one backward pass over the nodes (a dict for the shared subexpressions, no recursion):

- **folding** (``fold``): an operation whose arguments are all constants becomes a constant, computed
  by the registry's own float function, so its value is the one the sweeps would compute, bit for
  bit. An operation that is undefined or overflows there (``log(-1)``, ``exp(1000)``) is left as it
  is, so that evaluating the trace still fails with the message that names it.
- **exact identities** (``identities``): ``x * 1``, ``1 * x``, ``x / 1``, ``x - 0``, ``x + (-0)`` and
  ``(-0) + x`` become ``x``: the registry's ``neutral`` constants, checked by a test to give ``x`` bit
  for bit for every float (±0, ±inf and NaN included) with a partial of exactly 1. Not rewritten,
  because IEEE arithmetic makes them inexact: ``x + 0`` (``-0.0 + 0.0`` is ``+0.0``, and the sign of a
  zero shows in ``1/x`` and ``atan2``), ``x * 0`` (``inf * 0`` is NaN, ``-3 * 0`` is ``-0.0``) and
  ``x - x`` (``inf - inf`` is NaN).
- **sharing** (``shared``): an operation with the same opcode and the same arguments as an earlier
  one is that one (common subexpressions); for the registry's ``commutative`` primitives (``+``,
  ``*``: IEEE makes ``a + b == b + a`` exact) the arguments are taken in either order.
- **dead nodes** (``dead``): operations that neither an output nor a recorded comparison (the guards
  of generated code check those) depends on are dropped.

Values are bit for bit those of the original trace. Gradients are the same sums of the same
products, except that sharing and identities regroup the sum of a node's adjoint contributions
(``(a + b) * c`` where the original summed ``a * c + b * c``): equal to rounding, and bit for bit
when only ``fold`` and ``dead`` run. Inputs are all kept (the gradient has an entry for each), as are
the outputs, their names, the source map (line and variable of each node), the branch notes and the
comparisons, mapped to the new nodes.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from adcli import scalar
from adcli.primitives import CONST, INPUT, PRIMITIVES, functions_of
from adcli.trace import COLUMN_TYPES, NO_ARG, Trace, constant_key

#: Every pass, in the order they apply to each node.
PASSES = ("fold", "identities", "shared", "dead")


@dataclass(frozen=True)
class Optimization:
    """What :func:`optimize` did: operations before and after, and how many each pass removed."""

    before: int
    after: int
    folded: int = 0
    shared: int = 0
    dead: int = 0
    identities: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts under their names (the ``optimized`` key of the JSON documents)."""
        return {"before": self.before, "after": self.after, "folded": self.folded, "shared": self.shared,
                "dead": self.dead, "identities": self.identities}

    def __str__(self) -> str:
        parts = [f"folded {self.folded}" if self.folded else "", f"shared {self.shared}" if self.shared else "",
                 f"{self.identities} exact identit{'y' if self.identities == 1 else 'ies'}" if self.identities else "",
                 f"removed {self.dead} dead" if self.dead else ""]
        said = ", ".join(part for part in parts if part) or "nothing to remove"
        return f"{self.before:,} operation{'s' if self.before != 1 else ''} → {self.after:,}: {said}"


def optimize(trace: Trace, passes: Iterable[str] = PASSES) -> Trace:
    """A new trace computing the same outputs as ``trace`` with fewer operations; its
    ``optimization`` says what each pass removed. ``passes`` chooses among :data:`PASSES`."""
    chosen = set(passes)
    unknown = chosen - set(PASSES)
    if unknown:
        raise ValueError(f"unknown optimisation passes: {', '.join(sorted(unknown))} (passes: {', '.join(PASSES)})")
    numbering = _number_values(trace, chosen)
    live = _live(trace, numbering, keep_unused="dead" not in chosen)
    optimized = _rebuild(trace, numbering, live)
    removed = list(numbering.removed.values())
    optimized.optimization = Optimization(
        before=trace.operation_count, after=optimized.operation_count, folded=removed.count("fold"),
        shared=removed.count("shared"), identities=removed.count("identities"),
        dead=sum(1 for i, code in enumerate(trace.op)
                 if code not in (INPUT, CONST) and i not in numbering.removed and not live[i]))
    return optimized


@dataclass
class _Numbering:
    """Per node, the earlier node that computes the same value (``rep``: itself when none does),
    the representatives of the arguments of each operation still computed (``args``), the value of
    each constant node, folded ones included, and the pass that removed each operation removed."""

    rep: list[int]
    args: dict[int, tuple[int, int]]
    constant: dict[int, float]
    removed: dict[int, str]


def _number_values(trace: Trace, passes: set[str]) -> _Numbering:
    """One forward pass over the nodes: the :class:`_Numbering` of the chosen passes."""
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    functions = functions_of(scalar)
    rep = list(range(len(op)))
    args: dict[int, tuple[int, int]] = {}
    constant: dict[int, float] = {}
    constant_node: dict[tuple, int] = {}  # equal constants (signed zeros apart) are one node
    seen: dict[tuple[int, int, int], int] = {}
    removed: dict[int, str] = {}
    fold, identities, shared = "fold" in passes, "identities" in passes, "shared" in passes
    for i, code in enumerate(op):
        if code == INPUT:
            continue
        if code == CONST:
            value = trace.literal[i]
            rep[i] = constant_node.setdefault(constant_key(value), i)
            constant[i] = value
            continue
        a, b = rep[arg0[i]], arg1[i]
        b = rep[b] if b != NO_ARG else NO_ARG
        if fold and a in constant and (b == NO_ARG or b in constant):
            folded = _folded(functions[code], constant[a], None if b == NO_ARG else constant[b])
            if folded is not None:
                rep[i] = constant_node.setdefault(constant_key(folded), i)
                constant[i] = folded
                removed[i] = "fold"
                continue
        if identities and b != NO_ARG:
            same = _identity(PRIMITIVES[code].neutral, a, b, constant)
            if same != NO_ARG:
                rep[i] = same
                removed[i] = "identities"
                continue
        if shared:
            key = (code, b, a) if b < a and PRIMITIVES[code].commutative else (code, a, b)
            rep[i] = seen.setdefault(key, i)
            if rep[i] != i:
                removed[i] = "shared"
                continue
        args[i] = (a, b)
    return _Numbering(rep, args, constant, removed)


def _folded(function, x: float, y: float | None) -> float | None:
    """The operation on constants as the float evaluation computes it, or None where it is undefined
    or overflows (left for evaluation to report)."""
    try:
        value = function(x) if y is None else function(x, y)
    except (ArithmeticError, ValueError):
        return None
    return None if math.isinf(value) or math.isnan(value) else float(value)


def _identity(neutral: tuple[float | None, ...], a: int, b: int, constant: dict[int, float]) -> int:
    """The argument an operation returns unchanged (``x`` of ``x * 1``), or NO_ARG."""
    for position, (this, other) in enumerate(((a, b), (b, a))):
        unit = neutral[position] if position < len(neutral) else None
        if unit is not None and this in constant and _same_float(constant[this], unit):
            return other
    return NO_ARG


def _same_float(x: float, y: float) -> bool:
    """Bit for bit (so ``0.0`` and ``-0.0`` differ)."""
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


def _live(trace: Trace, numbering: _Numbering, keep_unused: bool) -> list[bool]:
    """One backward pass: per node, does an output or a recorded comparison depend on it?"""
    rep, args = numbering.rep, numbering.args
    flags = [False] * len(trace.op)
    roots = [*trace.outputs, *(c.node for c in trace.controls),
             *(c.other for c in trace.controls if c.other != NO_ARG)]
    if keep_unused:
        roots += range(len(trace.op))
    for node in roots:
        flags[rep[node]] = True
    for i in range(len(flags) - 1, -1, -1):
        if flags[i] and rep[i] == i and i in args:
            a, b = args[i]
            flags[a] = True
            if b != NO_ARG:
                flags[b] = True
    return flags


def _rebuild(trace: Trace, numbering: _Numbering, live: list[bool]) -> Trace:
    """The live representatives as a new trace, with everything that refers to nodes mapped."""
    rep, args, constant = numbering.rep, numbering.args, numbering.constant
    input_name = trace.input_name_of()
    out = Trace(source=trace.source, notes=list(trace.notes), program=trace.program,
                recorded_at=trace.recorded_at, loop_lines=list(trace.loop_lines))
    new = [NO_ARG] * len(trace.op)
    kept: list[int] = []  # old node of each new node
    for i, code in enumerate(trace.op):
        if code == INPUT:
            new[i] = out.add_input(input_name[i])
        elif rep[i] != i or not live[i]:
            continue
        elif i in constant:
            new[i] = out._append(CONST, NO_ARG, NO_ARG)
            out.literal[new[i]] = constant[i]
            if i in trace.literal_label:
                out.literal_label[new[i]] = trace.literal_label[i]
        else:
            a, b = args[i]
            new[i] = out.add_op(PRIMITIVES[code], new[a], NO_ARG if b == NO_ARG else new[b])
        kept.append(i)
    for node, name in zip(trace.outputs, trace.output_names):
        out.add_output(new[rep[node]], name)
    out.controls = [c._replace(node=new[rep[c.node]], other=c.other if c.other == NO_ARG else new[rep[c.other]])
                    for c in trace.controls]
    if trace.lines is not None:
        out.lines = array(trace.lines.typecode, (trace.lines[i] for i in kept))
    out.variables = {new[i]: name for i, name in trace.variables.items() if rep[i] == i and live[i]}
    if trace.recorded_values is not None:
        recorded = trace.recorded_values
        out.recorded_values = array(COLUMN_TYPES[3], (recorded[i] for i in kept))
    if trace.iterations:  # where a pass through the loop began: the first kept node from there on
        first_at = [0] * (len(trace.op) + 1)
        count = len(kept)
        for i in range(len(trace.op) - 1, -1, -1):
            if new[i] != NO_ARG and rep[i] == i:
                count = new[i]
            first_at[i] = count
        out.iterations = [first_at[i] if i < len(trace.op) else len(kept) for i in trace.iterations]
    return out

