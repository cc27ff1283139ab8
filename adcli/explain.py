"""The sweeps with their numbers (``trace --explain``, ``trace --dual``): every update as data.

The numbers are heard from the sweeps adcli runs, never worked out a second time: the reverse
updates from :func:`adcli.sweeps.reverse_steps` (its ``times`` and ``add_to`` hooks, in the order it
runs them), each tangent's terms from :func:`adcli.sweeps.forward_sweep` (its ``record`` hook). The
statements are those of :mod:`adcli.trace_text`, built from each primitive's printed partials.
The text forms (:func:`reverse_line`, :func:`forward_line`, :func:`dual_line`) are shared by the
terminal, Markdown and LaTeX writers; JSON writes the data.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from adcli.primitives import CONST, FIRST_PRIMITIVE, PRIMITIVES
from adcli.sweeps import forward_sweep, reverse_steps
from adcli.trace import NO_ARG, Trace
from adcli.trace_text import bar, dot, printed_partial, term_text, update_text

if TYPE_CHECKING:
    from adcli.analysis import Evaluated


class ReverseUpdate(NamedTuple):
    """One adjoint update as it ran: ``target``'s adjoint += ``source``'s adjoint · ``partial``."""

    statement: str  # v̄1 += v̄5 · cos(v1)
    target: int  # the node whose adjoint grows
    source: int  # the node whose adjoint flows back (its operation's argument is ``target``)
    adjoint: float  # the source's adjoint
    partial: float  # the local partial ∂source/∂target
    contribution: float  # adjoint · partial, as the sweep added it
    running: float  # the target's adjoint after this update
    received: int  # how many contributions the target has received so far


class Term(NamedTuple):
    """One argument's term of a node's tangent: the argument's tangent times the local partial."""

    source: int  # the argument node
    negative: bool  # the printed partial is subtracted (``v̇6 = v̇4 - v̇5``)
    text: str  # v̇1 · v3 (its sign taken out)
    tangent: float
    partial: float
    contribution: float  # as the sweep added it (0 where a factor is 0: adcli drops 0·inf)


class ForwardUpdate(NamedTuple):
    """One node's tangent, the sum of its arguments' terms (literal arguments have none)."""

    node: int
    terms: tuple[Term, ...]
    tangent: float  # the node's tangent, as the sweep left it

    @property
    def statement(self) -> str:
        """``v̇4 = v̇1 · v3 + v̇3 · v1`` (``v̇`` of the node is left to the caller)."""
        return _signed([term.text for term in self.terms], self.terms) or "0"


@dataclass(eq=False, repr=False)
class Explanation:
    """The reverse sweep's updates in run order, and each tangent column's forward updates."""

    reverse: list[ReverseUpdate]
    forward: list[tuple[str, list[ForwardUpdate]]] = field(default_factory=list)  # (column label, updates)


def _signed(pieces: Sequence[str], terms: Sequence[Term]) -> str:
    """``pieces`` joined by `` + `` or `` - `` as their terms' signs say (a leading ``-`` for the first)."""
    out = ""
    for k, (piece, term) in enumerate(zip(pieces, terms)):
        out += (" - " if term.negative else " + ") if k else ("-" if term.negative else "")
        out += piece
    return out


def _fields(trace: Trace, node: int, names: list[str]) -> dict[str, str]:
    b = trace.arg1[node]
    return {"x": names[trace.arg0[node]], "y": names[b] if b != NO_ARG else "", "out": names[node]}


def _partial_text(evaluated: Evaluated, node: int, position: int, names: list[str], straight_through: bool) -> str:
    """The partial of ``node`` by its argument ``position`` as printed (``sign(v1)``); at a kink,
    where the partial used is a convention rather than the formula's value (abs'(0) is 1 under JAX's,
    though sign(0) = 0), the primitive's own name for it: ``abs'(v1)``, ``∂max/∂v1``."""
    trace = evaluated.trace
    primitive = PRIMITIVES[trace.op[node]]
    assert primitive is not None
    args = trace.args(node)
    kink = primitive.kinks[position] if primitive.kinks else None
    if kink is not None and not (straight_through and primitive.discrete) \
            and kink(*(evaluated.values[a] for a in args)):
        argument = names[args[position]]
        return f"{primitive.name}'({argument})" if primitive.arity == 1 else f"∂{primitive.name}/∂{argument}"
    return printed_partial(primitive, position, _fields(trace, node, names), straight_through)


class _Positioned(float):
    """A local partial that knows which argument it belongs to (0 or 1): the sweep multiplies it as a float."""

    position: int

    def __new__(cls, value: float, position: int) -> _Positioned:
        partial = super().__new__(cls, value)
        partial.position = position
        return partial


def explain_reverse(evaluated: Evaluated, seed: dict[int, float], straight_through: bool = False,
                    every_product: bool = False) -> tuple[list[float], list[ReverseUpdate]]:
    """The adjoints of every node for the output adjoints ``seed`` (node -> adjoint), and every update
    :func:`~adcli.sweeps.reverse_steps` made to reach them, in its order (an update to a constant's
    adjoint is left out: a constant has no statement). ``every_product``: the frameworks' 0·inf."""
    trace, d0, d1 = evaluated.trace, evaluated.d0, evaluated.d1
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    names = trace.names()
    adjoint = [0.0] * len(op)
    reached = bytearray(len(op)) if every_product else None
    for node, weight in seed.items():
        adjoint[node] += weight
        if reached is not None:
            reached[node] = 1
    counts = [0] * len(op)
    updates: list[ReverseUpdate] = []
    now: list = [0, 0.0, None]  # the node being reversed, its adjoint, the partial being multiplied

    def partials_at(i: int) -> tuple[_Positioned, _Positioned]:
        now[0] = i
        return _Positioned(d0[i], 0), _Positioned(d1[i], 1)

    def times(g: float, partial: _Positioned) -> float:
        now[1], now[2] = g, partial
        return g * float(partial)

    def add_to(adjoints: list[float], a: int, contribution: float) -> None:
        adjoints[a] += contribution
        if op[a] == CONST:
            return
        i, g, partial = now
        counts[a] += 1
        primitive = PRIMITIVES[op[i]]
        assert primitive is not None
        text = _partial_text(evaluated, i, partial.position, names, straight_through)
        updates.append(ReverseUpdate(update_text(bar(names[a]), bar(names[i]), text), a, i, g, float(partial),
                                     contribution, adjoints[a], counts[a]))

    steps = (i for i in range(len(op) - 1, -1, -1) if op[i] >= FIRST_PRIMITIVE)
    reverse_steps(arg0, arg1, steps, partials_at, adjoint, times, add_to, reached)
    return adjoint, updates


def explain_forward(evaluated: Evaluated, seed: dict[int, float], straight_through: bool = False,
                    every_product: bool = False) -> tuple[list[float], list[ForwardUpdate]]:
    """The tangents of every node for the input tangents ``seed`` (node -> tangent), and each
    operation's update as :func:`~adcli.sweeps.forward_sweep` summed it."""
    trace, d0, d1 = evaluated.trace, evaluated.d0, evaluated.d1
    heard: dict[tuple[int, int], float] = {}

    def record(node: int, position: int, term: float) -> None:
        heard[node, position] = term

    tangent = forward_sweep(trace, d0, d1, seed, every_product, record)
    names = trace.names()
    updates = []
    for i, code in enumerate(trace.op):
        primitive = PRIMITIVES[code]
        if primitive is None:
            continue
        terms = []
        for position, (a, partial) in enumerate(((trace.arg0[i], d0[i]), (trace.arg1[i], d1[i]))[:primitive.arity]):
            if trace.op[a] == CONST:
                continue
            negative, text = term_text(dot(names[a]), _partial_text(evaluated, i, position, names, straight_through))
            terms.append(Term(a, negative, text, tangent[a], partial, heard.get((i, position), 0.0)))
        updates.append(ForwardUpdate(i, tuple(terms), tangent[i]))
    return tangent, updates


# ---------------------------------------------------------------- as text
def number_text(value: float, digits: int) -> str:
    """A number with ``digits`` significant digits, as the tables write it (``2``, ``0.5``, ``inf``)."""
    return f"{value:.{digits}g}" if math.isfinite(value) else str(value)


def factor_text(value: float, digits: int) -> str:
    """A number as a factor of a product: in parentheses when negative (``(-1)·0.5``)."""
    text = number_text(value, digits)
    return f"({text})" if text.startswith("-") else text


class Line(NamedTuple):
    """One line of a derivation, ``left = right``, then ``→ running`` (a reverse update's running
    adjoint, ``v̄1 = 0.5``) and how many contributions its target has received, when more than one."""

    left: str
    right: str
    running: str = ""
    received: int = 0

    def text(self, width: int = 0) -> str:
        """The line as text, ``left`` padded to ``width`` columns (combining marks take none)."""
        pad = " " * (width - _width(self.left))
        return (f"{self.left}{pad} = {self.right}" + (f"   → {self.running}" if self.running else "")
                + (f"  ({self.received} contributions)" if self.received > 1 else ""))


def _width(text: str) -> int:
    return len(text) - sum(map(bool, map(unicodedata.combining, text)))


def reverse_line(update: ReverseUpdate, names: list[str], digits: int) -> Line:
    """``v̄1 += v̄5 · cos(v1) = (-1)(0.5) = -0.5   → v̄1 = -0.5``; a ``-=`` update shows the partial
    with its sign taken out, as the statement prints it."""
    partial, contribution = update.partial, update.contribution
    if " -= " in update.statement:
        partial, contribution = -partial, -contribution
    numbers = (f"({number_text(update.adjoint, digits)})({number_text(partial, digits)}) = "
               f"{number_text(contribution, digits)}")
    return Line(update.statement, numbers, f"{bar(names[update.target])} = {number_text(update.running, digits)}",
                update.received)


def forward_line(update: ForwardUpdate, names: list[str], digits: int) -> Line:
    """``v̇4 = v̇1 · v3 + v̇3 · v1`` and its numbers ``1·1 + 0·1.0471976 = 1`` (after ``=``)."""
    products = [f"{factor_text(term.tangent, digits)}·"
                f"{factor_text(-term.partial if term.negative else term.partial, digits)}" for term in update.terms]
    numbers = _signed(products, update.terms)
    tangent = number_text(update.tangent, digits)
    return Line(f"{dot(names[update.node])} = {update.statement}", f"{numbers} = {tangent}" if numbers else tangent)


def dual_text(value: float, tangent: float, digits: int) -> str:
    """A dual number ``value + tangent·ε`` as textbooks write it: ``6 + 3ε``, ``0.5 - 1ε``."""
    t = number_text(tangent, digits)
    return f"{number_text(value, digits)} {'-' if t.startswith('-') else '+'} {t.lstrip('-')}ε"


def dual_line(update: ForwardUpdate, trace: Trace, values: Sequence[float], tangents: Sequence[float],
              names: list[str], digits: int) -> Line:
    """``v4 = v1 * v3`` and its dual arithmetic, ``(1.0471976 + 1ε) * (1 + 0ε) = 1.0471976 + (1·1 +
    0·1.0471976)ε = 1.0471976 + 1ε`` (after ``=``): the arguments as dual numbers, the rule (the
    value, and the tangent as the sum of each argument's tangent times its partial), the result."""
    i = update.node
    primitive = PRIMITIVES[trace.op[i]]
    assert primitive is not None
    infix = primitive.symbol is not None
    args = [names[a] if trace.op[a] == CONST else
            (f"({dual_text(values[a], tangents[a], digits)})" if infix else dual_text(values[a], tangents[a], digits))
            for a in trace.args(i)]
    numbers = forward_line(update, names, digits).right
    steps = [primitive.call_text(args)]
    if update.terms:
        steps.append(f"{number_text(values[i], digits)} + ({numbers.rpartition(' = ')[0]})ε")
    steps.append(dual_text(values[i], update.tangent, digits))
    return Line(f"{names[i]} = {trace.equation_text(i, names, {})}", " = ".join(steps))


class _Lines(Sequence):
    """A derivation's lines, each written when it is asked for: a long trace shows only a few."""

    def __init__(self, updates: Sequence, line: Callable[[Any], Line]) -> None:
        self.updates, self.line = updates, line

    def __len__(self) -> int:
        return len(self.updates)

    def __getitem__(self, k):  # type: ignore[override]
        return list(map(self.line, self.updates[k])) if isinstance(k, slice) else self.line(self.updates[k])


def derivations(table, names: list[str], digits: int) -> list[tuple[str, Sequence[Line]]]:
    """The explained sweeps of a :class:`~adcli.analysis.SweepTable` as titled sequences of
    lines (each written when read): the reverse sweep, then each tangent column's forward
    sweep (as dual numbers when the table is ``dual``). Every writer but JSON prints these."""
    explanation = table.explanation
    trace = table.trace
    seed = "seed " + (", ".join(f"{bar(names[node])} = {number_text(weight, digits)}" for node, weight in table.seeds)
                      or "0")
    out: list[tuple[str, Sequence[Line]]] = [
        (f"reverse sweep, in the order it runs ({seed}); each update adds adjoint · local partial",
         _Lines(explanation.reverse, functools.partial(reverse_line, names=names, digits=digits)))]
    for (label, updates), (_, tangents) in zip(explanation.forward, table.tangents):
        column = f"({label})" if "=" in label else f"∂/∂{label}"
        if table.dual:
            line = functools.partial(dual_line, trace=trace, values=table.evaluated.values, tangents=tangents,
                                     names=names, digits=digits)
            out.append((f"dual numbers {column}, value + tangent·ε", _Lines(updates, line)))
        else:
            out.append((f"forward sweep {column}, in the order it runs",
                        _Lines(updates, functools.partial(forward_line, names=names, digits=digits))))
    return out


def aligned(lines: Sequence[Line], indent: str = "  ") -> list[str]:
    """The lines as text with their equals signs in one column."""
    lines = list(lines)  # each line written once
    column = max((_width(line.left) for line in lines), default=0)
    return [indent + line.text(column) for line in lines]
