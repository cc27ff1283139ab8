"""The one boundary for the speedups: it chooses between the optional C extension :mod:`adcli._tape`
and the pure-Python implementation of each hot loop, and exports the chosen ones. The choice is
made at import; :func:`use` switches the loops and the parser inside a process (for tests).

C is chosen when the extension was built (a C compiler at install time) and the environment does not
set ``ADCLI_NO_ACCELERATOR=1``. Either way the results are the same: the pure-Python code is the
reference, and the whole test suite runs both ways. No other module tests whether C is present; they
call what this module exports:

- ``evaluate_long(op, arg0, arg1, values, functions, first) -> int``: the evaluation loop of a long
  trace over the float column ``long_values(n)``; the node that failed, or -1.
- ``reverse_long(op, arg0, arg1, d0, d1, seed, first)``: the reverse sweep of a long trace;
  ``DENSE_VISITS_LONG`` node visits (outputs × nodes) is where its full sweeps give way to cone sweeps.
  It keeps adcli's rule (a zero factor adds nothing); a framework's convention, whose 0·inf is nan,
  always runs the Python loop (``sweeps.reverse_sweep``).
- ``forward_long(op, arg0, arg1, d0, d1, seed, first)``: the forward sweep of a long trace (one JVP),
  with the same rule; the Hessian's sweeps over its recorded reverse sweep run it.
- ``set_grammar(...)`` and ``parse_fast(source)``: the parser's tables, and a fast parse of a
  well-formed expression (None: let the Python parser find and word the mistake).
- ``sweep_points(trace, points, count, kept)``: value and gradient of a trace at many points
  (:mod:`adcli.batch`): in C a block of points at a time through the whole trace and its reverse
  sweep, else NumPy a node at a time over all the points. Imported on first use (NumPy).
- the tracer's hot path: ``Tape`` (a recording's tape), ``VarBase`` (the base class of a traced
  number), ``activate(tape, constants)`` (the recording that traced operations append to),
  ``configure(Var, constant_hook, error_hook, foreign_hook, pow_hook)`` (Var's arithmetic) and
  ``Unary(opcode, function, fallback, name)`` (a traced math function).

The pure-Python implementations stay in the modules that use them; they are imported on first use
(a module ``__getattr__``), which avoids an import cycle.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, MutableSequence
from functools import partial
from typing import Any


def _load():
    if os.environ.get("ADCLI_NO_ACCELERATOR"):
        return None
    try:
        from adcli import _tape
    except ImportError:
        return None
    from adcli.primitives import BY_NAME

    _tape.set_opcodes({name: BY_NAME[name].opcode for name in ("add", "sub", "mul", "div", "neg", "abs", "pow")})
    _tape.set_kernels({name: primitive.opcode for name, primitive in BY_NAME.items()})
    return _tape


_native = _load()

#: Whether the hot loops run in C (for messages and benchmarks only: never branch on it elsewhere).
NATIVE = False
#: Above this many node visits (outputs × nodes) of a long trace, its full reverse sweeps give way
#: to sweeps over each output's cone: a cone sweep costs about 150× a C full sweep per node it
#: visits, 4× a Python one.
DENSE_VISITS_LONG = 1_000_000
_grammar: tuple = ()


def _python_values(n: int) -> list[float]:
    return [0.0] * n


def _c_values(n: int) -> array:
    return array("d", bytes(8 * n))


def _no_fast_parse(source: str) -> None:
    return None


long_values: Callable[[int], MutableSequence[float]] = _python_values
parse_fast: Callable[[str], Any] = _no_fast_parse


def set_grammar(*tables: Any) -> None:
    """Give the C parser the grammar's tables (kept, so that a later switch to C has them too)."""
    global _grammar
    _grammar = tables
    if NATIVE:
        assert _native is not None
        _native.set_grammar(*tables)


def use(native: bool) -> bool:
    """Run the hot loops (long traces' evaluation and reverse sweep) and the parser in C, when the
    extension is built, or in Python from now on; returns whether C is now in use.

    The choice is made once at import (C unless ``ADCLI_NO_ACCELERATOR=1``); tests switch inside one
    process to compare the twins. The tracer's arithmetic is bound to its Var class when
    :mod:`adcli.tracer` is imported, so the tracer keeps the choice made at import."""
    global NATIVE, DENSE_VISITS_LONG, long_values, parse_fast
    NATIVE = native and _native is not None
    if NATIVE:
        assert _native is not None
        long_values, parse_fast = _c_values, _native.parse
        globals().update(evaluate_long=_native.evaluate, reverse_long=_native.reverse_sweep,
                         forward_long=_native.forward_sweep)
        if _grammar:
            _native.set_grammar(*_grammar)
        DENSE_VISITS_LONG = 50_000_000
    else:
        long_values, parse_fast = _python_values, _no_fast_parse
        for name in _LOOPS:
            globals().pop(name, None)  # the Python twins, imported on first use
        DENSE_VISITS_LONG = 1_000_000
    globals().pop("sweep_points", None)  # chosen again on first use
    return NATIVE


# The pure-Python twins, imported on first use (a module ``__getattr__``, which avoids an import
# cycle): the hot loops, and the tracer's hot path (bound at import, see :func:`use`).
_LOOPS = {"evaluate_long": ("adcli.evaluate", "evaluate_loop"), "reverse_long": ("adcli.sweeps", "reverse_loop"),
          "forward_long": ("adcli.sweeps", "forward_loop")}
_TRACER = {"Tape": ("adcli.tracer", "ListTape"), "VarBase": ("adcli.tracer", "PythonVarBase"),
           "activate": ("adcli.tracer", "activate_list_tape"), "configure": ("adcli.tracer", "define_python_operators"),
           "Unary": ("adcli.tracer", "python_unary")}
Tape: Any
VarBase: Any
activate: Callable[..., None]
configure: Callable[..., None]
Unary: Callable[..., Callable]
evaluate_long: Callable[..., int]
sweep_points: Callable[..., Any]
reverse_long: Callable[..., list[float]]
forward_long: Callable[..., list[float]]
if _native is not None:
    globals().update({name: getattr(_native, name) for name in _TRACER})
use(True)


def __getattr__(name: str) -> Any:
    if name == "sweep_points":
        return _sweep_points()
    twin = _LOOPS.get(name) or _TRACER.get(name)
    if twin is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(twin[0]), twin[1])
    if name in _TRACER or not NATIVE:
        globals()[name] = value
    return value


def _sweep_points() -> Callable:
    """The batch loop in use (imports NumPy, so only when a batch runs)."""
    from adcli import batch

    chosen = partial(batch.sweep_points_native, _native.batch) if NATIVE and _native else batch.sweep_points_numpy
    globals()["sweep_points"] = chosen
    return chosen
