"""Forward and reverse sweeps over a trace.

Both sweeps consume the same local partials (``linearize``), computed from each primitive's one
``partials`` rule, so forward and reverse mode cannot disagree about a primitive. The sweeps are
plain loops over the node arrays, forwards for tangents (``x_dot``) and backwards for adjoints
(``x_bar``), as in JAX's autodidax.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from adcli import scalar
from adcli.accelerator import tape as _accelerator
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

        d0, d1 = linearize_arrays(trace, values)
        return to_column(d0), to_column(d1)
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


def local_partials(trace: Trace, values: list[float], node: int) -> tuple:
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


def forward_sweep(trace: Trace, d0: list[float], d1: list[float], seed: dict[int, float]) -> list[float]:
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


def reverse_sweep(trace: Trace, d0: list[float], d1: list[float], seed: dict[int, float]) -> list[float]:
    """Adjoints of every node for the output adjoints in ``seed`` (node -> adjoint): one VJP.

    Adjoints accumulate with ``+=``, so a node used several times receives every contribution.
    Long traces run the same loop in C when the extension :mod:`adcli._tape` is built.
    """
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    if len(op) >= LONG_TRACE and _accelerator is not None:
        return _accelerator.reverse_sweep(op, arg0, arg1, d0, d1, seed, FIRST_PRIMITIVE)
    adjoint = [0.0] * len(op)
    for node, value in seed.items():
        adjoint[node] += value
    for i in range(len(op) - 1, -1, -1):
        g = adjoint[i]
        if not g or op[i] < FIRST_PRIMITIVE:
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
