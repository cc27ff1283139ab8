"""NumPy versions of the per-node work, for long traces and for batches of points.

The rules are the registry's own: a partials rule written with arithmetic and ``m.`` functions runs
unchanged on arrays (``m`` is :mod:`adcli.vector_math`); the few that branch in Python have an array
version beside them in the registry (``partials_on_arrays``). Imported only for long traces and
batches.
"""

from __future__ import annotations

from array import array

import numpy as np

from adcli import vector_math
from adcli.primitives import BY_NAME, FIRST_PRIMITIVE, PRIMITIVES, primitive_of
from adcli.trace import Trace


def columns(trace: Trace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trace's opcode and argument columns as NumPy arrays (a missing second argument is -1)."""
    return (np.frombuffer(trace.op, dtype=np.int8).astype(np.intp), np.frombuffer(trace.arg0, dtype=np.int64),
            np.frombuffer(trace.arg1, dtype=np.int64))


def as_floats(values) -> np.ndarray:
    """A node-value column as a float array: without a copy from an ``array('d')``."""
    if isinstance(values, array):
        return np.frombuffer(values, dtype=float)
    return np.fromiter(values, dtype=float, count=len(values))


def to_column(values: np.ndarray) -> array:
    """A float array as an ``array('d')`` column, which Python loops index as fast as a list."""
    column = array("d")
    column.frombytes(np.ascontiguousarray(values, dtype=float).tobytes())
    return column


def groups(op: np.ndarray):
    """(opcode, node indices) for every primitive that occurs in the trace."""
    present = np.flatnonzero(np.bincount(op, minlength=len(PRIMITIVES)))
    for code in present:
        if code >= FIRST_PRIMITIVE:
            yield int(code), np.flatnonzero(op == code)


def apply_partials(code: int, args: list, out, m=vector_math) -> tuple:
    """The partials of primitive ``code`` at arrays of arguments (one entry per node, or per point).

    A partial that does not depend on the arguments stays a plain number (add's 1.0). ``m`` is the
    math namespace the rule uses: :mod:`adcli.vector_math`, or a :class:`Reuse` of it."""
    primitive = primitive_of(code)
    rule = primitive.partials_on_arrays or primitive.partials
    with np.errstate(all="ignore"):
        return rule(m, *args, out)


class Reuse:
    """:mod:`adcli.vector_math` for partial rules, with the one-argument functions that the trace
    itself applied looked up instead of computed again: the partial of sin(x) is cos(x), and when
    the trace also computes cos(x), as sin(x)*cos(x) or a rotation does, that array is at hand.
    Trigonometric functions are the dearest NumPy calls, so a batch saves most of its partials'
    time this way. Only arguments that are node values are looked up, by identity, and those stay
    alive while the values do."""

    def __init__(self, trace: Trace, values: list) -> None:
        self._computed = {(code, id(values[trace.arg0[i]])): values[i]
                          for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE and PRIMITIVES[code].arity == 1}

    def __getattr__(self, name: str):
        function = getattr(vector_math, name)
        primitive = BY_NAME.get(name)
        if primitive is None or primitive.arity != 1:
            return function
        computed, code = self._computed, primitive.opcode

        def reuse(x):
            value = computed.get((code, id(x)))
            return function(x) if value is None else value

        setattr(self, name, reuse)  # later lookups skip __getattr__
        return reuse


def linearize_arrays(trace: Trace, values) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The local partials of every node, a primitive at a time, and the nodes where one is not
    finite, for :func:`adcli.sweeps.linearize` to check (a convention, or an overflow)."""
    op, arg0, arg1 = columns(trace)
    v = as_floats(values)
    d0, d1 = np.zeros(len(op)), np.zeros(len(op))
    for code, nodes in groups(op):
        args = [v[arg0[nodes]]] if PRIMITIVES[code].arity == 1 else [v[arg0[nodes]], v[arg1[nodes]]]
        for target, partial in zip((d0, d1), apply_partials(code, args, v[nodes])):
            target[nodes] = partial
    return d0, d1, np.flatnonzero(~(np.isfinite(d0) & np.isfinite(d1))).tolist()
