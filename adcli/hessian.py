"""Second derivatives by forward-over-reverse: the reverse sweep is itself recorded as a trace
(its adjoints are traced values), and forward mode over that gradient trace gives the Hessian
column by column. Exact AD at every step, no finite differences.

A partial that is infinite by convention (sqrt'(0) = inf) is a constant the recorded sweep cannot
differentiate. A node where the primitive's second partials are infinite (``kink_second_partials``)
is therefore left out of the recording, and its part of the gradient and Hessian is added afterwards
from those second partials: the Hessian of sqrt(x) at 0 is -inf, not 0. Where that part is not
determined (inf - inf, or such a node on a non-linear argument), the Hessian is undefined at the
point and says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from adcli import callable_module, scalar
from adcli.analysis import Evaluated, evaluate_at
from adcli.errors import EvaluationError, InputError
from adcli.points import Value
from adcli.primitives import FIRST_PRIMITIVE, PRIMITIVES, primitive_of
from adcli.sparsity import (
    AUTO_MIN_COLUMNS,
    Sparsity,
    check_sparse,
    hessian_pattern,
    pays,
    recover_symmetric,
    seeds,
    star_colouring,
)
from adcli.sweeps import forward_sweep, is_zero, jacobian_rows, linearize, product, reverse_steps
from adcli.trace import Trace
from adcli.tracer import Recorder, Var, recording, replay, traced_namespace


@dataclass
class Hessian:
    evaluated: Evaluated
    gradient: list[float]
    matrix: list[list[float]] | None  # n×n, matrix[i][j] = ∂²f/∂x_i∂x_j (None: computed sparse)
    gradient_trace: Trace  # the recorded reverse sweep, whose Jacobian is the Hessian
    wrt: list[str] | None = None  # the inputs of the rows and columns (None: every input)
    # the pattern and its star colouring when computed by colours (then ``sparsity.values`` holds the
    # non-zeros and ``matrix`` is None)
    sparsity: Sparsity | None = None

    @property
    def names(self) -> list[str]:
        """The inputs the gradient and the Hessian's rows and columns are taken with respect to."""
        return list(self.trace.input_names) if self.wrt is None else self.wrt

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace


@dataclass
class InfinitePartial:
    """A node of the original trace whose second partials are infinite, left out of the recorded
    sweep: its adjoint (a traced value or a number) and its arguments in the gradient trace."""

    node: int
    adjoint: object
    args: list  # per argument: its traced value in the gradient trace, or a number
    partials: tuple  # the float partials (sqrt'(0) = inf)
    second: tuple  # the primitive's second partials there, a row per argument


def gradient_trace(trace: Trace, values: Sequence[float],
                   infinite: list[InfinitePartial] | None = None) -> tuple[Trace, Sequence[float]]:
    """A trace whose outputs are the gradient of ``trace``'s single output, and its node values.

    A node whose second partials are infinite (the primitive's ``kink_second_partials``) records no
    contribution; it is appended to ``infinite`` instead (an error when no list is given)."""
    recorder = Recorder(Trace(source=trace.source), note_branches=False)
    with recording(recorder):
        node = replay(trace, values, recorder)
        adjoint: list = [0.0] * len(trace)
        adjoint[trace.outputs[0]] = 1.0

        def partials_at(i: int) -> tuple:
            primitive = primitive_of(trace.op[i])
            args = [node[a] for a in trace.args(i)]
            second = primitive.kink_second_partials and primitive.kink_second_partials(*map(_plain, args))
            if second:  # its part is added afterwards (_add_infinite_parts)
                if infinite is None:
                    raise _undefined(trace, i, "its second partials are infinite")
                partials = primitive.partials(scalar, *map(_plain, args), _plain(node[i]))
                infinite.append(InfinitePartial(i, adjoint[i], args, partials, second))
                return (0.0, 0.0)
            partials = primitive.partials(traced_namespace, *args, node[i])
            # a constant needs no adjoint: its zero partial keeps the sweep from recording one
            return tuple(p if isinstance(arg, Var) else 0.0 for arg, p in zip(args, partials))

        steps = (i for i in range(len(trace) - 1, -1, -1) if trace.op[i] >= FIRST_PRIMITIVE)
        reverse_steps(trace.arg0, trace.arg1, steps, partials_at, adjoint, _times, _add_to)
        for name, input_node in zip(trace.input_names, trace.inputs):
            g = adjoint[input_node]
            output = g.node if isinstance(g, Var) else recorder.constant(g)
            assert output is not None  # an adjoint is a traced value or a number
            recorder.trace.add_output(output, f"∂f/∂{name}")
    return recorder.trace, recorder.values


def _times(g, partial):
    """``g * partial``, without recording a product by a plain 1."""
    return partial if _is_one(g) else g if _is_one(partial) else g * partial


def _add_to(adjoint: list, node: int, contribution) -> None:
    """``adjoint[node] += contribution``, without recording a sum with a plain 0."""
    adjoint[node] = contribution if is_zero(adjoint[node]) else adjoint[node] + contribution


def _is_one(value) -> bool:
    return not isinstance(value, Var) and value == 1


def _undefined(trace: Trace, node: int, why: str) -> EvaluationError:
    return EvaluationError(f"{trace.label(node)}: the second derivative is undefined at this point: {why}")


def _affine(trace: Trace) -> list[bool]:
    """Per node: is it an affine function of the inputs (sums, differences, scaling by constants)?"""
    active = trace.active()
    flags = [not a for a in active]  # a constant is affine
    for i, code in enumerate(trace.op):
        primitive = PRIMITIVES[code]
        if primitive is None:
            flags[i] = True
            continue
        if not active[i] or primitive.name not in ("add", "sub", "neg", "mul", "div"):
            continue
        args = trace.args(i)
        varying = [k for k, a in enumerate(args) if active[a]]
        scaled = primitive.name not in ("mul", "div") or varying in ([0], [1] if primitive.name == "mul" else [0])
        flags[i] = scaled and all(flags[args[k]] for k in varying)
    return flags


def _add_infinite_parts(trace: Trace, grad_trace: Trace, d0, d1,
                        infinite: list[InfinitePartial], gradient: list[float]) -> list[list[float]]:
    """The Hessian with the parts of the nodes in ``infinite`` added (``gradient`` gets theirs too):
    node k with adjoint g and partial p_a along argument a contributes g p_a ∂a/∂x_i to the gradient
    and ∂a/∂x_i · (∂g/∂x_j p_a + g Σ_b p_ab ∂b/∂x_j) to the Hessian, with p_ab its second partials.
    (Exact when a is affine in the inputs, or p_a = 0; otherwise g p_a ∂²a/∂x² would be missing.)"""
    affine = _affine(trace)
    for part in infinite:
        for a, partial in zip(trace.args(part.node), part.partials):
            if partial and not affine[a]:
                raise _undefined(trace, part.node, f"its second partials are infinite and its argument "
                                 f"{trace.names()[a]} is not a linear function of the inputs")
    n = len(grad_trace.inputs)
    matrix = [[0.0] * n for _ in range(n)]
    derivatives = []  # per input j: (∂g/∂x_j, [∂arg/∂x_j]) per infinite node
    for j, input_node in enumerate(grad_trace.inputs):
        tangent = forward_sweep(grad_trace, d0, d1, {input_node: 1.0})
        for i, o in enumerate(grad_trace.outputs):
            matrix[i][j] = tangent[o]
        derivatives.append([(_tangent(part.adjoint, tangent), [_tangent(v, tangent) for v in part.args])
                            for part in infinite])
    for k, part in enumerate(infinite):
        g = _plain(part.adjoint)
        g_varies = any(derivatives[j][k][0] for j in range(n))
        for a, (partial, row) in enumerate(zip(part.partials, part.second)):
            if g == 0 and g_varies and any(derivatives[i][k][1][a] for i in range(n)) \
                    and not all(math.isfinite(p_ab) for p_ab in row):
                # g · (an infinite second partial) is 0 · inf here, and g is not 0 nearby: sqrt(x)^2
                # at 0 (truth 0) and x·sqrt(x) (truth inf) both meet it
                raise _undefined(trace, part.node, "its second partials are infinite and its adjoint is 0 here "
                                 "but not nearby (0·inf)")
            for i in range(n):
                da_i = derivatives[i][k][1][a]
                gradient[i] += product(product(g, partial), da_i)
                for j in range(n):
                    dg_j, dargs_j = derivatives[j][k]
                    t = product(dg_j, partial)
                    for p_ab, db_j in zip(row, dargs_j):
                        t += product(g, product(p_ab, db_j))
                    matrix[i][j] += product(da_i, t)
    return matrix


def _tangent(value, tangent: Sequence[float]) -> float:
    return tangent[value.node] if isinstance(value, Var) else 0.0


def _plain(value) -> float:
    return value.value if isinstance(value, Var) else value


def hessian(trace: Trace, assigned: Mapping[str, Value], wrt: list[str] | None = None,
            sparse: str = "off") -> Hessian:
    """The Hessian of a single-output function at a point: with ``wrt`` (checked input names,
    :func:`adcli.points.check_inputs`), its block for those inputs, one forward sweep per input named.

    ``sparse``: "on" reads the pattern off the trace, star-colours it and takes one H·v per colour
    (the result's ``sparsity`` holds the non-zeros, ``matrix`` is None); "auto" does so when it saves
    sweeps (:func:`adcli.sparsity.pays`); "off" never. Where a node's second partials are infinite
    (sqrt at 0) the Hessian is computed dense."""
    if len(trace.outputs) != 1:
        raise InputError(f"the Hessian needs a single output; the function has {len(trace.outputs)} "
                         "(use adcli jacobian for several outputs)")
    check_sparse(sparse)
    evaluated = evaluate_at(trace, assigned)
    infinite: list[InfinitePartial] = []
    grad_trace, values = gradient_trace(trace, evaluated.values, infinite)
    d0, d1 = linearize(grad_trace, values)
    gradient = [values[o] for o in grad_trace.outputs]
    chosen = list(range(len(trace.inputs))) if wrt is None else [trace.input_names.index(name) for name in wrt]
    names = [grad_trace.input_names[i] for i in chosen]
    if not infinite and (sparse == "on" or (sparse == "auto" and len(chosen) > AUTO_MIN_COLUMNS)):
        sparsity = _by_colours(trace, grad_trace, d0, d1, chosen, sparse == "on")
        if sparsity is not None:
            _check_defined(names, sparsity.entries())
            return Hessian(evaluated, [gradient[i] for i in chosen], None, grad_trace, wrt, sparsity)
    if infinite:
        matrix = _add_infinite_parts(trace, grad_trace, d0, d1, infinite, gradient)
        matrix = [[matrix[i][j] for j in chosen] for i in range(len(matrix))]
    else:  # one JVP per input chosen
        matrix = jacobian_rows(grad_trace, d0, d1, [grad_trace.inputs[j] for j in chosen], "forward")
    matrix, gradient = [matrix[i] for i in chosen], [gradient[i] for i in chosen]
    _check_defined(names, ((i, j, entry) for i, row in enumerate(matrix) for j, entry in enumerate(row)))
    return Hessian(evaluated, gradient, matrix, grad_trace, wrt)


def _check_defined(names: list[str], entries: Iterable[tuple[int, int, float]]) -> None:
    """Raise :class:`EvaluationError` at the first entry (row, column, value) that is nan."""
    for i, j, entry in entries:
        if entry != entry:
            raise EvaluationError(f"the second derivative ∂²f/∂{names[i]}∂{names[j]} is undefined at "
                                  "this point: its terms add up to inf - inf")


def _by_colours(trace: Trace, grad_trace: Trace, d0, d1, chosen: list[int], always: bool) -> Sparsity | None:
    """The Hessian block of the inputs ``chosen`` by colours: its pattern, a star colouring and one
    forward sweep of the gradient trace per colour (an H·v with v the sum of the colour's columns).
    None when not ``always`` and colouring saves too few sweeps."""
    pattern = hessian_pattern(trace, [trace.inputs[j] for j in chosen])
    colours = star_colouring(pattern)
    sparsity = Sparsity(pattern, colours, "star")
    if not always and not pays(len(chosen), sparsity.colour_count):
        return None
    rows = [grad_trace.outputs[i] for i in chosen]
    compressed = []
    for group in seeds(colours):
        tangent = forward_sweep(grad_trace, d0, d1, {grad_trace.inputs[chosen[j]]: 1.0 for j in group})
        compressed.append([tangent[o] for o in rows])
    sparsity.values = recover_symmetric(pattern, colours, compressed)
    return sparsity


@dataclass
class HessianVectorProduct:
    """H·v at a point: one forward sweep over the recorded reverse sweep, seeded with v."""

    evaluated: Evaluated
    gradient: list[float]  # one entry per input
    direction: dict[str, float]  # v, one entry per input
    product: list[float]  # H·v, one entry per input

    @property
    def names(self) -> list[str]:
        return list(self.trace.input_names)

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace


def hessian_vector_product(trace: Trace, assigned: Mapping[str, Value],
                           direction: Mapping[str, float]) -> HessianVectorProduct:
    """H·v of a single-output function at a point, with v = ``direction`` (input -> number, inputs left
    out 0): forward mode over the recorded reverse sweep (forward-over-reverse), one sweep for any
    number of inputs. Where a node's second partials are infinite (sqrt at 0), the Hessian's extra
    terms need it whole (one sweep per input), and H·v is taken from it."""
    if len(trace.outputs) != 1:
        raise InputError(f"H·v needs a single output; the function has {len(trace.outputs)}")
    evaluated = evaluate_at(trace, assigned)
    infinite: list[InfinitePartial] = []
    grad_trace, values = gradient_trace(trace, evaluated.values, infinite)
    d0, d1 = linearize(grad_trace, values)
    gradient = [values[o] for o in grad_trace.outputs]
    v = [float(direction.get(name, 0.0)) for name in trace.input_names]
    if infinite:
        matrix = _add_infinite_parts(trace, grad_trace, d0, d1, infinite, gradient)
        result = [_dot(row, v) for row in matrix]
    else:
        tangent = forward_sweep(grad_trace, d0, d1, {node: vj for node, vj in zip(grad_trace.inputs, v) if vj})
        result = [tangent[o] for o in grad_trace.outputs]
    for name, entry in zip(trace.input_names, result):
        if entry != entry:
            raise EvaluationError(f"(H·v) for {name} is undefined at this point: its terms add up to inf - inf")
    return HessianVectorProduct(evaluated, gradient, dict(zip(trace.input_names, v)), result)


def _dot(row: Sequence[float], v: Sequence[float]) -> float:
    """Σ row_j·v_j, correctly rounded (``math.fsum``, 0·inf = 0); nan when the terms hold inf and -inf,
    inf when their sum overflows (where ``math.fsum`` raises)."""
    terms = [product(h, vj) for h, vj in zip(row, v)]
    try:
        return math.fsum(terms)
    except (ValueError, OverflowError):
        return sum(terms)


callable_module(__name__)  # adcli.hessian(…) is adcli.api's
