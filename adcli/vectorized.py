"""NumPy versions of the per-node work, for long traces and for batches of points.

The rules are the registry's own: a partials rule written with arithmetic and ``m.`` functions runs
unchanged on arrays (``m`` is :mod:`adcli.vector_math`); the few that branch in Python have an array
version beside them in the registry (``partials_on_arrays``). Imported only for long traces and
batches.
"""

from __future__ import annotations

import numpy as np

from adcli import vector_math
from adcli.primitives import FIRST_PRIMITIVE, PRIMITIVES
from adcli.trace import Trace


def columns(trace: Trace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trace's opcode and argument columns as arrays (a missing second argument is -1)."""
    n = len(trace)  # fromiter with a known count is the quickest way from a list of ints
    return tuple(np.fromiter(column, dtype=np.intp, count=n) for column in (trace.op, trace.arg0, trace.arg1))


def groups(op: np.ndarray):
    """(opcode, node indices) for every primitive that occurs in the trace."""
    present = np.flatnonzero(np.bincount(op, minlength=len(PRIMITIVES)))
    for code in present:
        if code >= FIRST_PRIMITIVE:
            yield int(code), np.flatnonzero(op == code)


def apply_partials(code: int, args: list, out) -> tuple:
    """The partials of primitive ``code`` at arrays of arguments (one entry per node, or per point).

    A partial that does not depend on the arguments stays a plain number (add's 1.0)."""
    primitive = PRIMITIVES[code]
    rule = primitive.partials_on_arrays or primitive.partials
    with np.errstate(all="ignore"):
        return rule(vector_math, *args, out)


def linearize_arrays(trace: Trace, values) -> tuple[np.ndarray, np.ndarray]:
    """The local partials of every node, a primitive at a time (see :func:`adcli.sweeps.linearize`)."""
    from adcli.sweeps import local_partials

    op, arg0, arg1 = columns(trace)
    v = np.fromiter(values, dtype=float, count=len(op))
    d0, d1 = np.zeros(len(op)), np.zeros(len(op))
    for code, nodes in groups(op):
        args = [v[arg0[nodes]]] if PRIMITIVES[code].arity == 1 else [v[arg0[nodes]], v[arg1[nodes]]]
        for target, partial in zip((d0, d1), apply_partials(code, args, v[nodes])):
            target[nodes] = partial
            for node in nodes[~np.isfinite(target[nodes])]:  # a convention (allowed) or an overflow (raises)
                local_partials(trace, values, int(node))
    return d0, d1
