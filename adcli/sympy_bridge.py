"""From a trace to SymPy: one SymPy expression per output, built by a linear pass over the nodes
with each primitive's SymPy counterpart from the registry. Function files (loops, branches) become
the expression of the path that ran. Imported only by the commands that cross-check with SymPy."""

from __future__ import annotations

import sympy

from adcli.primitives import CONST, INPUT, PRIMITIVES
from adcli.trace import Trace

_NAMED_CONSTANTS = {"pi": sympy.pi, "e": sympy.E}


def symbols_of(trace: Trace) -> list[sympy.Symbol]:
    """One real SymPy symbol per input, named as the input (``x``, ``w[0]``)."""
    return [sympy.Symbol(name, real=True) for name in trace.input_names]


def to_sympy(trace: Trace, symbols: list[sympy.Symbol] | None = None) -> list[sympy.Expr]:
    """The SymPy expression of each output. Constants become exact rationals of their float value."""
    symbols = symbols_of(trace) if symbols is None else symbols
    input_index = {node: k for k, node in enumerate(trace.inputs)}
    exprs: list = [None] * len(trace)
    for i, code in enumerate(trace.op):
        if code == INPUT:
            exprs[i] = symbols[input_index[i]]
        elif code == CONST:
            label = trace.literal_label.get(i)
            exprs[i] = _NAMED_CONSTANTS[label] if label else sympy.Rational(trace.literal[i])
        else:
            exprs[i] = PRIMITIVES[code].sympy(sympy, *(exprs[a] for a in trace.args(i)))
    return [exprs[o] for o in trace.outputs]
