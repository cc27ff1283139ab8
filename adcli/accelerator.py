"""The one boundary for the speedups: it chooses, once per process, between the optional C extension
:mod:`adcli._tape` and the pure-Python implementation of each hot loop, and exports the chosen ones.

C is chosen when the extension was built (a C compiler at install time) and the environment does not
set ``ADCLI_NO_ACCELERATOR=1``. Either way the results are the same: the pure-Python code is the
reference, and the whole test suite runs both ways. No other module tests whether C is present; they
call what this module exports:

- ``evaluate_long(op, arg0, arg1, values, functions, first) -> int``: the evaluation loop of a long
  trace over the float column ``long_values(n)``; the node that failed, or -1.
- ``reverse_long(op, arg0, arg1, d0, d1, seed, first)``: the reverse sweep of a long trace;
  ``DENSE_VISITS_LONG`` node visits (outputs × nodes) is where its full sweeps give way to cone sweeps.
- ``set_grammar(...)`` and ``parse_fast(source)``: the parser's tables, and a fast parse of a
  well-formed expression (None: let the Python parser find and word the mistake).
- the tracer's hot path: ``Tape`` (a recording's tape), ``VarBase`` (the base class of a traced
  number), ``activate(tape, constants)`` (the recording that traced operations append to),
  ``configure(Var, constant_hook, error_hook, foreign_hook)`` (Var's arithmetic) and
  ``Unary(opcode, function, fallback, name)`` (a traced math function).

The pure-Python implementations stay in the modules that use them; they are imported on first use
(a module ``__getattr__``), which avoids an import cycle.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, MutableSequence
from typing import Any


def _load():
    if os.environ.get("ADCLI_NO_ACCELERATOR"):
        return None
    try:
        from adcli import _tape
    except ImportError:
        return None
    from adcli.primitives import BY_NAME

    _tape.set_opcodes({name: BY_NAME[name].opcode for name in ("add", "sub", "mul", "div", "neg", "abs")})
    return _tape


_native = _load()

#: Whether the hot loops run in C (for messages and benchmarks only: never branch on it elsewhere).
NATIVE = _native is not None

# Above this many node visits (outputs × nodes) of a long trace, its full reverse sweeps give way to
# sweeps over each output's cone: a cone sweep costs about 150× a C full sweep per node it visits,
# 4× a Python one.
DENSE_VISITS_LONG = 50_000_000 if NATIVE else 1_000_000


def _python_values(n: int) -> list[float]:
    return [0.0] * n


def _c_values(n: int) -> array:
    return array("d", bytes(8 * n))


def _no_fast_parse(source: str) -> None:
    return None


def _no_grammar(*tables: Any) -> None:
    return None


long_values: Callable[[int], MutableSequence[float]]
if _native is not None:
    long_values = _c_values
    evaluate_long = _native.evaluate
    reverse_long = _native.reverse_sweep
    set_grammar = _native.set_grammar
    parse_fast = _native.parse
    Tape = _native.Tape
    VarBase = _native.VarBase
    activate = _native.activate
    configure = _native.configure
    Unary = _native.Unary
else:
    long_values = _python_values
    set_grammar = _no_grammar
    parse_fast = _no_fast_parse

# The pure-Python twins, imported on first use: (module, name) for each export not bound above.
_PYTHON = {"evaluate_long": ("adcli.evaluate", "evaluate_loop"), "reverse_long": ("adcli.sweeps", "reverse_loop"),
           "Tape": ("adcli.tracer", "ListTape"), "VarBase": ("adcli.tracer", "PythonVarBase"),
           "activate": ("adcli.tracer", "activate_list_tape"), "configure": ("adcli.tracer", "define_python_operators"),
           "Unary": ("adcli.tracer", "python_unary")}


def __getattr__(name: str) -> Any:
    if name not in _PYTHON:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attribute = _PYTHON[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
