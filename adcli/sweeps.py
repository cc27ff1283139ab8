"""Forward and reverse sweeps over a trace.

Both sweeps consume the same local partials (``linearize``), computed from each primitive's one
``partials`` rule, so forward and reverse mode cannot disagree about a primitive. The sweeps are
plain loops over the node arrays, forwards for tangents (``x_dot``) and backwards for adjoints
(``x_bar``), as in JAX's autodidax.

Jacobian rows and columns (``gradient_rows``, ``gradient_columns``) keep only the entries they
return, never a per-node vector per output or per input, so their memory is the Jacobian's size
plus one sweep's.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterator, Sequence

from adcli import accelerator, scalar
from adcli.evaluate import LONG_TRACE, derivative_overflow_error
from adcli.primitives import FIRST_PRIMITIVE, PRIMITIVES
from adcli.trace import NO_ARG, Trace


def linearize(trace: Trace, values: Sequence[float]) -> tuple[array, array]:
    """The local partial of every node with respect to its first and its second argument, as two
    ``array('d')`` columns.

    An infinite partial is allowed only where the primitive's convention says so (sqrt'(0) = inf);
    anywhere else it is an overflow and raises :class:`EvaluationError` naming the node. Long traces
    are linearized a primitive at a time with NumPy (:mod:`adcli.vectorized`), with the same rules.
    """
    if len(trace) >= LONG_TRACE:
        from adcli.vectorized import linearize_arrays, to_column

        partials0, partials1 = linearize_arrays(trace, values)
        return to_column(partials0), to_column(partials1)
    op, arg1 = trace.op, trace.arg1
    zeros = bytes(8 * len(op))
    d0, d1 = array("d", zeros), array("d", zeros)
    for i, code in enumerate(op):
        if code < FIRST_PRIMITIVE:
            continue
        partials = local_partials(trace, values, i)
        d0[i] = partials[0]
        if arg1[i] != NO_ARG:
            d1[i] = partials[1]
    return d0, d1


def local_partials(trace: Trace, values: Sequence[float], node: int) -> tuple:
    """The partials of one node, checked: infinite only where the primitive's convention says so."""
    primitive = PRIMITIVES[trace.op[node]]
    args = [values[a] for a in trace.args(node)]
    try:
        partials = primitive.partials(scalar, *args, values[node])
    except (ArithmeticError, ValueError):
        raise derivative_overflow_error(trace, values, node) from None
    for k, partial in enumerate(partials):
        if partial - partial != 0 and not (primitive.kinks and primitive.kinks[k](*args)):
            raise derivative_overflow_error(trace, values, node)
    return partials


def forward_sweep(trace: Trace, d0: Sequence[float], d1: Sequence[float], seed: dict[int, float]) -> list[float]:
    """Tangents of every node for the input tangents in ``seed`` (node -> tangent): one JVP."""
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    tangent = [0.0] * len(op)
    for node, value in seed.items():
        tangent[node] = value
    for i, code in enumerate(op):
        if code < FIRST_PRIMITIVE:
            continue
        # A product is taken only when both factors are nonzero, here and in the reverse sweep, so
        # an infinite partial (sqrt'(0)) times a zero gives 0 in both modes alike.
        t = 0.0
        ta, da = tangent[arg0[i]], d0[i]
        if ta and da:
            t = da * ta
        b = arg1[i]
        if b != NO_ARG:
            tb, db = tangent[b], d1[i]
            if tb and db:
                t += db * tb
        tangent[i] = t
    return tangent


def reverse_sweep(trace: Trace, d0: Sequence[float], d1: Sequence[float], seed: dict[int, float]) -> list[float]:
    """Adjoints of every node for the output adjoints in ``seed`` (node -> adjoint): one VJP.

    Adjoints accumulate with ``+=``, so a node used several times receives every contribution.
    Long traces run the boundary's loop (:mod:`adcli.accelerator`: in C when the extension is built).
    """
    loop = accelerator.reverse_long if len(trace.op) >= LONG_TRACE else reverse_loop
    return loop(trace.op, trace.arg0, trace.arg1, d0, d1, seed, FIRST_PRIMITIVE)


def reverse_loop(op: Sequence[int], arg0: Sequence[int], arg1: Sequence[int], d0: Sequence[float],
                 d1: Sequence[float], seed: dict[int, float], first: int) -> list[float]:
    """The adjoints of every node for ``seed``, skipping opcodes below ``first`` and zero partials.

    The pure-Python reverse sweep, twin of the C extension's ``reverse_sweep``."""
    adjoint = [0.0] * len(op)
    for node, value in seed.items():
        adjoint[node] += value
    for i in range(len(op) - 1, -1, -1):
        g = adjoint[i]
        if not g or op[i] < first:
            continue
        da = d0[i]
        if da:
            adjoint[arg0[i]] += g * da
        b = arg1[i]
        if b != NO_ARG:
            db = d1[i]
            if db:
                adjoint[b] += g * db
    return adjoint


# Above this many node visits (outputs × nodes), full reverse sweeps give way to sweeps over each
# output's cone, whose cost does not grow with the trace's length: a cone sweep costs about 4× a
# Python full sweep per node it visits (heap and dict); ``DENSE_VISITS_LONG`` is the boundary's
# figure for the long-trace sweep it chose.
DENSE_VISITS = 1_000_000
DENSE_VISITS_LONG = accelerator.DENSE_VISITS_LONG


def reverse_cone(trace: Trace, d0: Sequence[float], d1: Sequence[float], output: int) -> dict[int, float]:
    """Adjoints for a unit seed at node ``output``, of only the nodes it depends on (sparse).

    The same products in the same order as :func:`reverse_sweep`, hence the same floats, but the
    sweep visits only ``output``'s dependency cone, latest node first (a max-heap of node numbers),
    so many outputs over a long trace cost the sum of their cones, not outputs × nodes.
    """
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    adjoint = {output: 1.0}
    pending = [-output]
    while pending:
        i = -heapq.heappop(pending)
        g = adjoint[i]
        if not g or op[i] < FIRST_PRIMITIVE:
            continue
        for node, partial in ((arg0[i], d0[i]), (arg1[i], d1[i])):
            if node == NO_ARG or not partial:
                continue
            if node in adjoint:
                adjoint[node] += g * partial
            else:
                adjoint[node] = 0.0 + g * partial  # as the dense sweep adds to 0.0 (a -0.0 becomes 0.0)
                heapq.heappush(pending, -node)
    return adjoint


def gradient_rows(trace: Trace, d0: Sequence[float], d1: Sequence[float], nodes: list[int]) -> Iterator[list[float]]:
    """For each output in turn, its adjoints at ``nodes`` (usually the inputs): the Jacobian's rows.

    Each row is one reverse sweep whose per-node adjoints are dropped once the row is read. Full
    sweeps (:func:`reverse_sweep`, in C for a long trace) run while outputs × nodes stays under
    :data:`DENSE_VISITS` (``DENSE_VISITS_LONG`` for a long trace); past it each output's sweep visits
    only its dependency cone (:func:`reverse_cone`). Both give the same floats.
    """
    limit = DENSE_VISITS_LONG if len(trace) >= LONG_TRACE else DENSE_VISITS
    dense = len(trace.outputs) == 1 or len(trace.outputs) * len(trace) <= limit
    for output in trace.outputs:
        if dense:
            adjoint = reverse_sweep(trace, d0, d1, {output: 1.0})
            yield [adjoint[node] for node in nodes]
        else:
            cone = reverse_cone(trace, d0, d1, output)
            yield [cone.get(node, 0.0) for node in nodes]


def gradient_columns(trace: Trace, d0: Sequence[float], d1: Sequence[float], nodes: list[int]) -> Iterator[list[float]]:
    """For each input node in ``nodes`` in turn, the outputs' tangents: the Jacobian's columns.

    One forward sweep per input; its per-node tangents are dropped once the column is read.
    """
    for node in nodes:
        tangent = forward_sweep(trace, d0, d1, {node: 1.0})
        yield [tangent[output] for output in trace.outputs]


def jacobian_rows(trace: Trace, d0: Sequence[float], d1: Sequence[float], nodes: list[int],
                  mode: str = "reverse") -> list[list[float]]:
    """The Jacobian of the outputs with respect to the input ``nodes``, one row per output: by
    reverse mode row by row (one sweep per output), by forward mode column by column (one per input)."""
    if mode == "reverse":
        return list(gradient_rows(trace, d0, d1, nodes))
    columns = list(gradient_columns(trace, d0, d1, nodes))
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in trace.outputs]
