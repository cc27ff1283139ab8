"""What adcli computes, as plain result objects: gradients and the full sweep table of a trace.

The CLI parses options, calls these functions and hands the results to a renderer; notebooks can
call them directly (``adcli.gradient(adcli.parse("x*y"), {"x": 2, "y": 3})``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adcli.branches import BranchPoint, branch_points, control_only_notes, holds_note, point_notes
from adcli.conventions import PEERS, apply_convention, check_convention, every_product, explain_non_finite
from adcli.errors import EvaluationError, InputError
from adcli.evaluate import convention_warnings, evaluate
from adcli.points import Value, bind_point
from adcli.source import Source, resolve
from adcli.sweeps import forward_sweep, jacobian_rows, linearize, reverse_sweep
from adcli.trace import Trace

if TYPE_CHECKING:
    from adcli.explain import Explanation

MODES = ("reverse", "forward")


def check_mode(mode: str) -> None:
    """Refuse a mode of AD other than reverse and forward."""
    if mode not in MODES:
        raise InputError(f"mode {mode!r}: choose reverse or forward")


def load(source: Source | str, assigned: Mapping[str, Value], func: str | None = None, iterations: bool = False,
         arrays: bool = False, sources: bool = False) -> tuple[Trace, Mapping[str, Value]]:
    """The trace of an expression or of a function file's function, and the point to use with it.

    ``source`` is resolved as SRC is (:func:`adcli.source.resolve`) unless it already is a
    :class:`~adcli.source.Source`. A function file is traced by running it at ``assigned``; list
    parameters become one input per entry (``w[0]``, ``w[1]``, …) in the returned point; with
    ``iterations``, its trace notes where each iteration of its main loop began (for checkpointing);
    with ``arrays``, list parameters reach it as NumPy arrays.
    with ``sources``, the file line and variable name of each node (:attr:`Trace.lines`).
    """
    from adcli.parser import parse

    if isinstance(source, str):
        source = resolve(source)
    if source.is_file:
        from adcli.function_file import trace_function

        return trace_function(source.text, assigned, func, iterations, arrays, sources)
    if func is not None:
        raise InputError("a function is chosen by name in a .py file; the source is an expression",
                         option="func", value=func)
    return parse(source.text), assigned


@dataclass(eq=False, repr=False)
class Evaluated:
    """A trace evaluated at one point, with its local partials."""

    trace: Trace
    at: dict[str, float]  # input name -> value, in input order
    values: Sequence[float]
    d0: Sequence[float]
    d1: Sequence[float]
    warnings: list[str]  # where the derivative is a convention or an estimate: the user should know
    notes: list[str] = field(default_factory=list)  # what the result depended on (branches taken), what it cost
    _branches: list[BranchPoint] | None = None
    convention: str = "adcli"  # the derivative convention at kinks (adcli.conventions)

    @property
    def branches(self) -> list[BranchPoint]:
        """The comparisons and kinks of the trace, with how far from the point each one flips
        (worked out when first read, on the true derivatives, also under --ste)."""
        if self._branches is None:
            self._branches = branch_points(self.trace, self.values, self.d0, self.d1)
        return self._branches

    @property
    def output_values(self) -> list[float]:
        return [self.values[o] for o in self.trace.outputs]

    def forward(self, direction: dict[str, float]) -> list[float]:
        """Tangents of every node for the input tangents ``direction`` (one JVP)."""
        node_of = dict(zip(self.trace.input_names, self.trace.inputs))
        return forward_sweep(self.trace, self.d0, self.d1, {node_of[n]: t for n, t in direction.items()},
                             every_product(self.convention))

    def reverse(self, output: int) -> list[float]:
        """Adjoints of every node for the output number ``output`` (one VJP with a unit seed)."""
        return reverse_sweep(self.trace, self.d0, self.d1, {self.trace.outputs[output]: 1.0},
                             every_product(self.convention))

    def reverse_weighted(self, cotangent: Sequence[float]) -> list[float]:
        """Adjoints of every node for the weights ``cotangent`` on the outputs (one VJP, uᵀJ)."""
        return self.reverse_seeded(self.output_seed(cotangent))

    def reverse_seeded(self, seed: dict[int, float]) -> list[float]:
        """Adjoints of every node for the adjoints ``seed`` (node -> adjoint) of the outputs."""
        return reverse_sweep(self.trace, self.d0, self.d1, seed, every_product(self.convention))

    def output_seed(self, cotangent: Sequence[float]) -> dict[int, float]:
        """The reverse sweep's seed for the weights ``cotangent`` on the outputs (node -> adjoint;
        an output that is listed twice gets the sum of its weights)."""
        seed: dict[int, float] = {}
        for node, weight in zip(self.trace.outputs, cotangent):
            if weight:
                seed[node] = seed.get(node, 0.0) + weight
        return seed


def evaluate_at(trace: Trace, assigned: Mapping[str, Value], straight_through: bool = False,
                convention: str = "adcli") -> Evaluated:
    """Evaluate ``trace`` with the inputs from ``assigned`` and linearize it there.

    With ``straight_through``, discrete primitives (floor, sign) pass gradients through unchanged:
    the straight-through estimator takes their derivative as 1 instead of 0. ``convention`` chooses
    the partials at kinks: ``adcli``, ``pytorch``, ``jax``, ``autograd``, ``left``, ``right`` or
    ``mid`` (:mod:`adcli.conventions`).
    """
    check_convention(convention)
    point = bind_point(trace, assigned)
    recorded = trace.recorded_values
    values = recorded if recorded is not None and point == trace.recorded_at else evaluate(trace, point)
    d0, d1 = linearize(trace, values)
    warnings: list[str] = []
    evaluated = Evaluated(trace, dict(zip(trace.input_names, point)), values, d0, d1, warnings,
                          list(trace.notes) + control_only_notes(trace), convention=convention)
    if convention != "adcli":
        evaluated.branches  # noqa: B018 - worked out on adcli's partials, before the convention changes them
        apply_convention(trace, values, d0, d1, convention)
    warnings += convention_warnings(trace, values, d0, d1, skip_discrete=straight_through)
    if straight_through:
        evaluated.branches  # noqa: B018 - worked out before the estimator changes the partials
        warnings += _straight_through(trace, d0)
    return evaluated


def _straight_through(trace: Trace, d0: MutableSequence[float]) -> list[str]:
    """Set the partial of every active discrete node to 1 and say which nodes that touched."""
    from adcli.primitives import PRIMITIVES

    active, needed = trace.active(), trace.needed()
    names, input_name = trace.names(), trace.input_name_of()
    touched: list[str] = []
    unreachable: list[str] = []
    for i, code in enumerate(trace.op):
        primitive = PRIMITIVES[code]
        if primitive is not None and primitive.discrete and active[i]:
            d0[i] = 1.0
            (touched if needed[i] else unreachable).append(trace.label(i, names, input_name))
    said = [f"straight-through estimator: {node} reaches no output (it only decides control flow, a loop count "
            "or a branch), so a straight-through derivative cannot reach the output through it" for node in unreachable]
    if unreachable and not touched:
        return [message + "; the gradient is unchanged" for message in said]
    if not touched:
        return ["straight-through estimator: no discrete node (floor, sign) depends on an input; "
                "the gradient is unchanged"]
    return said + [f"straight-through estimator: the derivative of {node} is taken as 1 instead of 0 "
                   "(a biased estimate, not the derivative)" for node in touched]


@dataclass(eq=False, repr=False)
class Gradient:
    """Value and gradient of every output at a point, by one mode.

    Only the gradient rows are kept (outputs × ``wrt`` floats). The per-node adjoints and tangents
    are recomputed, one sweep each, when read through :attr:`adjoints` or :attr:`tangents`, so
    holding a result never costs outputs × nodes or inputs × nodes floats.
    """

    evaluated: Evaluated
    mode: str
    wrt: list[str]
    gradients: list[dict[str, float]]  # per output: input name -> partial derivative
    sweeps: int = 0
    # reverse mode: output number -> every node's adjoint (``--checkpoint`` replaces the plain sweep)
    reverse_output: Callable[[int], Sequence[float]] | None = None
    checks: list | None = None  # the cross-checks asked for (compare.CheckRow), when any
    direction: dict[str, float] | None = None  # a seed u of forward mode (input -> tangent): J·u only
    jvp: list[float] | None = None  # J·u, per output (then ``wrt`` is empty)
    cotangent: list[float] | None = None  # a seed u of reverse mode (a weight per output): uᵀJ only

    @property
    def columns(self) -> list[tuple[str, float]]:
        """What the result differentiates, a column each with its value: each output (``f`` when
        there is one), or, for a cotangent u, the weighted sum ``u·f`` whose gradient is uᵀJ."""
        values = self.evaluated.output_values
        if self.cotangent is not None:
            return [("u·f", math.fsum(u * v for u, v in zip(self.cotangent, values) if u))]
        names = self.trace.output_names if len(values) > 1 else ["f"]
        return list(zip(names, values))

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace

    @property
    def adjoints(self) -> Sequence[Sequence[float]] | None:
        """Reverse mode: per output, every node's adjoint, each swept again when it is read."""
        return None if self.mode != "reverse" else _Recomputed(len(self.trace.outputs), self.reverse_output
                                                                or self.evaluated.reverse)

    @property
    def tangents(self) -> Mapping[str, Sequence[float]] | None:
        """Forward mode: per ``wrt`` input, every node's tangent, each swept again when it is read."""
        return None if self.mode != "forward" else _Tangents(self.evaluated, self.wrt)


class _Recomputed(Sequence):
    """A read-only list whose item k is ``compute(k)``, computed each time it is read."""

    def __init__(self, length: int, compute: Callable[[int], Sequence[float]]) -> None:
        self._length, self._compute = length, compute

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._length))]
        if not -self._length <= k < self._length:
            raise IndexError("output number out of range")
        return self._compute(k % self._length)


class _Tangents(Mapping):
    """Input name -> every node's tangent for a unit seed on that input, computed when read."""

    def __init__(self, evaluated: Evaluated, wrt: list[str]) -> None:
        self._evaluated, self._wrt = evaluated, wrt

    def __getitem__(self, name: str) -> Sequence[float]:
        if name not in self._wrt:
            raise KeyError(name)
        return self._evaluated.forward({name: 1.0})

    def __iter__(self) -> Iterator[str]:
        return iter(self._wrt)

    def __len__(self) -> int:
        return len(self._wrt)


def gradient(trace: Trace, assigned: Mapping[str, Value], mode: str = "reverse",
             wrt: list[str] | None = None, straight_through: bool = False, convention: str = "adcli",
             direction: dict[str, float] | None = None, cotangent: list[float] | None = None) -> Gradient:
    """Value and gradient: reverse mode runs one sweep per output, forward mode one per input.
    ``convention``: the partials at kinks (see :func:`evaluate_at`); under a framework's, a nan or
    infinite entry comes with a warning that says which node made it.

    With a ``direction`` u (input -> tangent, :func:`adcli.points.bind_direction`), one forward sweep
    gives J·u instead; with a ``cotangent`` u (a weight per output, :func:`adcli.points.bind_cotangent`),
    one reverse sweep gives uᵀJ, the gradient of the weighted sum of the outputs."""
    check_mode(mode)
    check_seeds(direction, cotangent, mode, wrt)
    evaluated = evaluate_at(trace, assigned, straight_through, convention)
    wrt = list(trace.input_names) if wrt is None or direction is not None else wrt
    node_of = dict(zip(trace.input_names, trace.inputs))
    nodes = [node_of[name] for name in wrt]
    if direction is not None:
        tangent = evaluated.forward(direction)
        jvp = [tangent[o] for o in trace.outputs]
        check_finite(evaluated, trace.output_names, [[("u", value)] for value in jvp])
        return Gradient(evaluated, "forward", [], [{} for _ in jvp], 1, direction=direction, jvp=jvp)
    if cotangent is not None:
        adjoint = evaluated.reverse_weighted(cotangent)
        row = {name: adjoint[node] for name, node in zip(wrt, nodes)}
        check_finite(evaluated, ["u·f"], [list(row.items())])
        return Gradient(evaluated, "reverse", wrt, [row], 1, cotangent=cotangent)
    rows = jacobian_rows(trace, evaluated.d0, evaluated.d1, nodes, mode, every_product(convention))
    gradients = [dict(zip(wrt, row)) for row in rows]
    evaluated.warnings.extend(non_finite_warnings(evaluated, rows, nodes))
    check_finite(evaluated, trace.output_names, [list(g.items()) for g in gradients])
    holds = holds_note(evaluated.branches)
    if holds is not None:
        evaluated.notes.append(holds)
    return Gradient(evaluated, mode, wrt, gradients, len(trace.outputs) if mode == "reverse" else len(wrt))


def check_seeds(direction: dict[str, float] | None, cotangent: list[float] | None, mode: str = "reverse",
                wrt: list[str] | None = None) -> None:
    """Refuse seeds that do not go together: a direction (forward mode) with a cotangent (reverse
    mode), a cotangent in forward mode, a direction with inputs to differentiate by."""
    if direction is not None and cotangent is not None:
        raise InputError("a direction (J·u, forward mode) and a cotangent (uᵀJ, reverse mode) do not go together: "
                         "give one of them")
    if cotangent is not None and mode != "reverse":
        raise InputError("a cotangent seeds the reverse sweep; forward mode takes a direction",
                         option="mode", value=mode)
    if direction is not None and wrt is not None:
        raise InputError("a direction already gives every input's tangent (those left out are 0)",
                         option="wrt", value=",".join(wrt))


def non_finite_warnings(evaluated: Evaluated, rows: list[list[float]], nodes: list[int],
                        outputs: list[int] | None = None) -> list[str]:
    """Under a framework's convention, why each output whose row (its gradient at the input
    ``nodes``; the rows are those of ``outputs``, output numbers, default all) has a nan or infinite
    entry has it. Under adcli's, where a kink's infinite partial
    met a zero (adcli takes 0·inf as 0), what PyTorch, JAX and autograd give instead, and why."""
    peer = PEERS.get(evaluated.convention)
    if peer is None:
        if evaluated.convention != "adcli" or not evaluated.warnings or (
                all(map(math.isfinite, evaluated.d0)) and all(map(math.isfinite, evaluated.d1))):
            return []  # no infinite partial, so no 0·inf: the frameworks' sweeps agree with adcli's
    warnings = []
    for output, row in zip(range(len(rows)) if outputs is None else outputs, rows):
        if peer is not None and all(math.isfinite(value) for value in row):
            continue
        why = explain_non_finite(evaluated.trace, evaluated.values, evaluated.d0, evaluated.d1, output, nodes,
                                 peer or "PyTorch, JAX and autograd", None if peer else row)
        if why is not None:
            if peer is None:
                why += "; adcli drops every product with a zero factor, so 0·inf adds 0"
            name = evaluated.trace.output_names[output]
            warnings.append(why if len(evaluated.trace.outputs) == 1 else f"{name}: {why}")
    return warnings


def check_finite(evaluated: Evaluated, output_names: list[str], rows: list[list[tuple[str, float]]]) -> None:
    """An infinite or NaN derivative is an overflow, unless a convention (sqrt'(0) = inf) produced it."""
    if evaluated.warnings:
        return
    for output, row in zip(output_names, rows):
        for name, value in row:
            if value - value != 0:
                raise EvaluationError(f"∂({output})/∂{name}: overflow, the derivative is too large for a float")


@dataclass(eq=False, repr=False)
class SweepTable:
    """Everything the Wengert table shows: values, tangent columns, adjoints of one output."""

    evaluated: Evaluated
    output: int  # index of the output whose adjoints are shown
    adjoints: list[float]
    tangents: list[tuple[str, list[float]]] = field(default_factory=list)  # (direction label, tangents)
    straight_through: bool = False  # --ste: discrete primitives pass adjoints through
    explanation: Explanation | None = None  # --explain: every update with its numbers
    dual: bool = False  # --dual: the tangents shown as dual numbers, value + tangent·ε
    cotangent: list[float] | None = None  # the adjoints' seed, a weight per output (None: output ``output``)

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace

    @property
    def seeds(self) -> list[tuple[int, float]]:
        """The reverse sweep's seed: (output node, its adjoint) for each output weighted (not 0)."""
        if self.cotangent is None:
            return [(self.trace.outputs[self.output], 1.0)]
        return [(node, weight) for node, weight in zip(self.trace.outputs, self.cotangent) if weight]

    @property
    def adjoint_of(self) -> str | None:
        """The output whose adjoints the table shows (its name), or None for a cotangent that
        weighs the outputs otherwise than 1 on one of them (the adjoints are then those of u·f)."""
        if self.cotangent is not None and self.cotangent != [float(k == self.output)
                                                             for k in range(len(self.cotangent))]:
            return None
        return self.trace.output_names[self.output]


def sweep_table(trace: Trace, assigned: Mapping[str, Value], wrt: list[str] | None = None,
                direction: dict[str, float] | None = None, output: int = 0,
                straight_through: bool = False, convention: str = "adcli",
                explain: bool = False, dual: bool = False, cotangent: list[float] | None = None) -> SweepTable:
    """The values, the tangents for each ``wrt`` input or the ``direction``, and the adjoints of
    output number ``output``, or for the weights ``cotangent`` on the outputs (uᵀJ)
    (``convention``: the partials at kinks, see :func:`evaluate_at`). With ``explain``, every
    update of those sweeps with its numbers, heard from the sweeps themselves
    (:mod:`adcli.explain`); ``dual`` marks the tangents to be shown as dual numbers, and without
    ``wrt`` or ``direction`` seeds each input in turn."""
    if cotangent is not None:
        output = next((k for k, weight in enumerate(cotangent) if weight), 0)
    if not 0 <= output < len(trace.outputs):
        raise InputError(f"output {output + 1}: the function has {len(trace.outputs)} output(s)")
    evaluated = evaluate_at(trace, assigned, straight_through, convention)
    evaluated.notes.extend(point_notes(evaluated.branches))
    if dual and not wrt and not direction:
        wrt = list(trace.input_names)
    seeds = [(name, {name: 1.0}) for name in wrt or []]
    if direction:
        seeds.append((",".join(f"{name}={value:g}" for name, value in direction.items()), direction))
    reverse_seed = {trace.outputs[output]: 1.0} if cotangent is None else evaluated.output_seed(cotangent)
    if explain:
        from adcli.explain import Explanation, explain_forward, explain_reverse

        frameworks = every_product(convention)
        node_of = dict(zip(trace.input_names, trace.inputs))
        adjoints, updates = explain_reverse(evaluated, reverse_seed, straight_through, frameworks)
        explanation = Explanation(updates)
        tangents = []
        for label, seed in seeds:
            column, forward_updates = explain_forward(evaluated, {node_of[n]: t for n, t in seed.items()},
                                                      straight_through, frameworks)
            tangents.append((label, column))
            explanation.forward.append((label, forward_updates))
    else:
        explanation = None
        tangents = [(label, evaluated.forward(seed)) for label, seed in seeds]
        adjoints = evaluated.reverse_seeded(reverse_seed)
    if cotangent is None:
        row = [adjoints[node] for node in trace.inputs]
        evaluated.warnings.extend(non_finite_warnings(evaluated, [row], trace.inputs, [output]))
    return SweepTable(evaluated, output, adjoints, tangents, straight_through, explanation, dual, cotangent)
