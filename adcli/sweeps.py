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
import operator
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence

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

        partials0, partials1, not_finite = linearize_arrays(trace, values)
        for node in not_finite:  # a convention (allowed) or an overflow (raises)
            local_partials(trace, values, node)
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


def is_zero(x) -> bool:
    """Whether ``x`` is a number equal to zero (a traced value or an array never is)."""
    if x.__class__ is float:  # the common case, first
        return not x
    return isinstance(x, (int, float)) and x == 0


def product(a: float, b: float) -> float:
    """``a * b``, where a zero factor gives 0 even against an infinite one: the sweeps' rule for
    0·inf (see :func:`reverse_steps`)."""
    return a * b if a and b else 0.0


def forward_sweep(trace: Trace, d0: Sequence[float], d1: Sequence[float], seed: dict[int, float],
                  every_product: bool = False,
                  record: Callable[[int, int, float], None] | None = None) -> list[float]:
    """Tangents of every node for the input tangents in ``seed`` (node -> tangent): one JVP.

    As in the reverse sweep, a product with a zero factor is not taken, so an infinite partial
    (sqrt'(0)) times a zero tangent gives 0 in both modes alike. With ``every_product`` the sweep
    multiplies along every edge from a node the seed reaches, as PyTorch, JAX and autograd do, so
    0·inf gives nan (:mod:`adcli.conventions`). ``record(node, position, contribution)``, when
    given, hears each argument's term of each node's tangent as it is added (``trace --explain``).
    Long traces with adcli's rule and nothing to hear run the boundary's loop (:mod:`adcli.accelerator`).
    """
    if not every_product and record is None and len(trace.op) >= LONG_TRACE:
        return accelerator.forward_long(trace.op, trace.arg0, trace.arg1, d0, d1, seed, FIRST_PRIMITIVE)
    return forward_loop(trace.op, trace.arg0, trace.arg1, d0, d1, seed, FIRST_PRIMITIVE, every_product, record)


def forward_loop(op: Sequence[int], arg0: Sequence[int], arg1: Sequence[int], d0: Sequence[float],
                 d1: Sequence[float], seed: dict[int, float], first: int, every_product: bool = False,
                 record: Callable[[int, int, float], None] | None = None) -> list[float]:
    """The tangents of every node for ``seed`` from the partial columns ``d0``, ``d1`` (opcodes below
    ``first`` are leaves): :func:`forward_sweep`'s loop, the pure-Python twin of the C extension's."""
    tangent = [0.0] * len(op)
    reached = bytearray(len(op))
    for node, value in seed.items():
        tangent[node] = value
        reached[node] = 1
    for i, code in enumerate(op):
        if code < first:
            continue
        t = 0.0
        for position, a, partial in ((0, arg0[i], d0[i]), (1, arg1[i], d1[i])):
            if a == NO_ARG:
                continue
            if not every_product:
                term = product(partial, tangent[a])
            elif reached[a]:
                reached[i] = 1
                term = partial * tangent[a]
            else:
                continue
            t += term
            if record is not None:
                record(i, position, term)
        tangent[i] = t
    return tangent


def add_in_place(adjoint: MutableSequence, node: int, contribution) -> None:
    """``adjoint[node] += contribution``: how float adjoints accumulate."""
    adjoint[node] += contribution


def reverse_steps(arg0: Sequence[int], arg1: Sequence[int], steps: Iterable[int],
                  partials_at: Callable[[int], Sequence], adjoint, times: Callable = operator.mul,
                  add_to: Callable = add_in_place, reached: MutableSequence[int] | None = None) -> None:
    """Carry adjoints back through ``steps`` (operation nodes, latest first): for each argument
    ``a`` of node ``i``, ``adjoint[a] += adjoint[i] * partial`` with ``partial = partials_at(i)[k]``.

    The one reverse sweep of adcli: the float sweep below, checkpointing (a segment at a time), the
    Hessian (on traced values, which records the sweep) and batches (on arrays) all run it, each
    with its own ``times`` and ``add_to``. Here alone lives the rule that keeps 0·inf out: a zero
    adjoint or a zero partial contributes nothing, so an infinite partial (sqrt'(0)) times a zero
    adjoint gives 0, the same as forward mode.

    With ``reached`` (a flag per node, set at the seeded nodes) the sweep multiplies instead as
    PyTorch, JAX and autograd do: along every edge from a node the seed reaches, so 0·inf gives nan
    (the frameworks' conventions, :mod:`adcli.conventions`).
    """
    for i in steps:
        g = adjoint[i]
        if (is_zero(g) if reached is None else not reached[i]):
            continue
        for a, partial in zip((arg0[i], arg1[i]), partials_at(i)):
            if a == NO_ARG:
                continue
            if reached is not None:
                reached[a] = 1
            elif is_zero(partial):
                continue
            add_to(adjoint, a, times(g, partial))


def reverse_sweep(trace: Trace, d0: Sequence[float], d1: Sequence[float], seed: dict[int, float],
                  every_product: bool = False) -> list[float]:
    """Adjoints of every node for the output adjoints in ``seed`` (node -> adjoint): one VJP.

    Adjoints accumulate with ``+=``, so a node used several times receives every contribution.
    Long traces run the boundary's loop (:mod:`adcli.accelerator`: in C when the extension is built),
    except with ``every_product`` (0·inf gives nan, a framework's convention), which always runs the
    Python loop: the C sweep keeps adcli's rule only.
    """
    if every_product:
        return reverse_loop(trace.op, trace.arg0, trace.arg1, d0, d1, seed, FIRST_PRIMITIVE, every_product)
    loop = accelerator.reverse_long if len(trace.op) >= LONG_TRACE else reverse_loop
    return loop(trace.op, trace.arg0, trace.arg1, d0, d1, seed, FIRST_PRIMITIVE)


def reverse_loop(op: Sequence[int], arg0: Sequence[int], arg1: Sequence[int], d0: Sequence[float],
                 d1: Sequence[float], seed: dict[int, float], first: int, every_product: bool = False) -> list[float]:
    """The adjoints of every node for ``seed`` from the partial columns ``d0``, ``d1`` (opcodes
    below ``first`` are leaves): the pure-Python twin of the C extension's ``reverse_sweep``
    (``every_product``: see :func:`reverse_steps`'s ``reached``; C has no twin of it)."""
    adjoint = [0.0] * len(op)
    reached = bytearray(len(op)) if every_product else None
    for node, value in seed.items():
        adjoint[node] += value
        if reached is not None:
            reached[node] = 1
    steps = (i for i in range(len(op) - 1, -1, -1) if op[i] >= first)
    reverse_steps(arg0, arg1, steps, lambda i: (d0[i], d1[i]), adjoint, reached=reached)
    return adjoint


# Above this many node visits (outputs × nodes), full reverse sweeps give way to sweeps over each
# output's cone, whose cost does not grow with the trace's length: a cone sweep costs about 4× a
# Python full sweep per node it visits (heap and dict); ``accelerator.DENSE_VISITS_LONG`` is the
# boundary's figure for the long-trace sweep it chose.
DENSE_VISITS = 1_000_000


def reverse_cone(trace: Trace, d0: Sequence[float], d1: Sequence[float], output: int) -> dict[int, float]:
    """Adjoints for a unit seed at node ``output``, of only the nodes it depends on (sparse).

    The same products in the same order as :func:`reverse_sweep`, hence the same floats, but the
    sweep visits only ``output``'s dependency cone, latest node first (a max-heap of node numbers),
    so many outputs over a long trace cost the sum of their cones, not outputs × nodes.
    """
    op = trace.op
    adjoint = {output: 1.0}
    pending = [-output]

    def steps() -> Iterator[int]:
        while pending:
            i = -heapq.heappop(pending)
            if op[i] >= FIRST_PRIMITIVE:
                yield i

    def add_to(adjoint: dict[int, float], node: int, contribution: float) -> None:
        if node in adjoint:
            adjoint[node] += contribution
        else:
            adjoint[node] = 0.0 + contribution  # as the dense sweep adds to 0.0 (a -0.0 becomes 0.0)
            heapq.heappush(pending, -node)

    reverse_steps(trace.arg0, trace.arg1, steps(), lambda i: (d0[i], d1[i]), adjoint, add_to=add_to)
    return adjoint


def gradient_rows(trace: Trace, d0: Sequence[float], d1: Sequence[float], nodes: list[int],
                  every_product: bool = False) -> Iterator[list[float]]:
    """For each output in turn, its adjoints at ``nodes`` (usually the inputs): the Jacobian's rows.

    Each row is one reverse sweep whose per-node adjoints are dropped once the row is read. Full
    sweeps (:func:`reverse_sweep`, in C for a long trace) run while outputs × nodes stays under
    :data:`DENSE_VISITS` (``accelerator.DENSE_VISITS_LONG`` for a long trace); past it each output's sweep visits
    only its dependency cone (:func:`reverse_cone`). Both give the same floats. ``every_product``
    (0·inf gives nan): full sweeps only.
    """
    limit = accelerator.DENSE_VISITS_LONG if len(trace) >= LONG_TRACE else DENSE_VISITS
    dense = every_product or len(trace.outputs) == 1 or len(trace.outputs) * len(trace) <= limit
    for output in trace.outputs:
        if dense:
            adjoint = reverse_sweep(trace, d0, d1, {output: 1.0}, every_product)
            yield [adjoint[node] for node in nodes]
        else:
            cone = reverse_cone(trace, d0, d1, output)
            yield [cone.get(node, 0.0) for node in nodes]


def gradient_columns(trace: Trace, d0: Sequence[float], d1: Sequence[float], nodes: list[int],
                     every_product: bool = False) -> Iterator[list[float]]:
    """For each input node in ``nodes`` in turn, the outputs' tangents: the Jacobian's columns.

    One forward sweep per input; its per-node tangents are dropped once the column is read.
    """
    for node in nodes:
        tangent = forward_sweep(trace, d0, d1, {node: 1.0}, every_product)
        yield [tangent[output] for output in trace.outputs]


def jacobian_rows(trace: Trace, d0: Sequence[float], d1: Sequence[float], nodes: list[int],
                  mode: str = "reverse", every_product: bool = False) -> list[list[float]]:
    """The Jacobian of the outputs with respect to the input ``nodes``, one row per output: by
    reverse mode row by row (one sweep per output), by forward mode column by column (one per input).
    ``every_product``: 0·inf gives nan, as in PyTorch, JAX and autograd (see :func:`reverse_steps`)."""
    if mode == "reverse":
        return list(gradient_rows(trace, d0, d1, nodes, every_product))
    columns = list(gradient_columns(trace, d0, d1, nodes, every_product))
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in trace.outputs]
