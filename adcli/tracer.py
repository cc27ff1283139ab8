"""Tracing by running: traced numbers (operator overloading) that record a trace as Python runs.

A :class:`Var` holds a value and the trace node that computed it. Arithmetic on it, the functions of
:data:`traced_math` (a stand-in for :mod:`math`) and the builtins ``max``/``min`` record nodes through
the same primitive registry the expression parser uses. Comparisons return plain booleans, so ``if``
and ``while`` work; each one is noted with its source line, because the derivative is then that of
the path that ran. Anything that would turn a traced value into a plain number (``float(x)``,
``int(x)``, ``round(x)``, formatting) raises :class:`EscapeError` instead of silently dropping the
derivative.
"""

from __future__ import annotations

import linecache
import math
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

from adcli import scalar
from adcli.errors import InputError
from adcli.evaluate import undefined_error
from adcli.primitives import BY_NAME, Primitive
from adcli.trace import NO_ARG, Trace


class EscapeError(InputError):
    """A traced value was used where Python needs a plain number."""


class Recorder:
    """The trace being recorded, the value of each node, and the comparisons seen."""

    def __init__(self, trace: Trace, note_branches: bool = True) -> None:
        self.trace = trace
        self.values: list[float] = [trace.literal.get(i, 0.0) for i in range(len(trace))]
        self.note_branches = note_branches
        self.branches: dict[tuple[str, int], list[int]] = {}  # (file, line) -> [true count, false count]

    def constant(self, value) -> int | None:
        """The node of a plain number (None for anything that is not a real number)."""
        if not isinstance(value, (int, float)):
            return None
        value = float(value)
        node = self.trace.add_const(value)
        if node == len(self.values):
            self.values.append(value)
        return node

    def input(self, name: str, value: float) -> Var:
        node = self.trace.add_input(name)
        self.values.append(value)
        return _var(value, node)

    def record(self, primitive: Primitive, args: tuple) -> Var:
        """Apply ``primitive`` to ``args`` (Vars or plain numbers) and record the node (the general path)."""
        nodes, plain = [], []
        for arg in args:
            if isinstance(arg, Var):
                nodes.append(arg.node)
                plain.append(arg.value)
            else:
                node = self.constant(arg)
                if node is None:
                    raise TypeError(f"{primitive.name}() of a traced value and a {type(arg).__name__}")
                nodes.append(node)
                plain.append(self.values[node])
        try:
            value = primitive.evaluate(scalar, *plain)
        except (ArithmeticError, ValueError):
            value = math.nan
        return _push(primitive.opcode, nodes[0], nodes[1] if len(nodes) == 2 else NO_ARG, value)

    def note_branch(self, outcome: bool) -> None:
        if self.note_branches:
            frame = user_frame()
            counts = self.branches.setdefault((frame.f_code.co_filename, frame.f_lineno), [0, 0])
            counts[0 if outcome else 1] += 1

    def branch_notes(self) -> list[str]:
        """One sentence per source line whose control flow depended on a traced value."""
        notes = []
        for (filename, line), (true_count, false_count) in self.branches.items():
            text = line_text(filename, line)
            if true_count + false_count == 1:
                outcome = "true" if true_count else "false"
                what = f"took the {outcome} branch" if text.startswith(("if ", "elif ")) else f"was {outcome}"
            else:
                what = f"was evaluated {true_count + false_count} times ({true_count} true, {false_count} false)"
            notes.append(f"line {line}: {text} {what}; the derivative is that of the path that ran")
        return notes


# ---------------------------------------------------------------- the active tape
# While a recording runs, these module globals point at its trace's columns and its constant
# cache: the hot paths below append to them directly, the cheapest access CPython offers.
_active: Recorder | None = None
_values: list[float] = []
_constants: dict = {}
_push_op = _push_arg0 = _push_arg1 = _push_value = None
_new = object.__new__


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Make ``recorder`` the one that traced operations append to."""
    global _active, _values, _constants, _push_op, _push_arg0, _push_arg1, _push_value
    saved = _active, _values, _constants, _push_op, _push_arg0, _push_arg1, _push_value
    trace = recorder.trace
    _active, _values, _constants = recorder, recorder.values, trace._const_cache
    _push_op, _push_arg0, _push_arg1 = trace.op.append, trace.arg0.append, trace.arg1.append
    _push_value = recorder.values.append
    try:
        yield recorder
    finally:
        _active, _values, _constants, _push_op, _push_arg0, _push_arg1, _push_value = saved


def _var(value: float, node: int) -> Var:
    var = _new(Var)
    var.value = value
    var.node = node
    return var


def _push(code: int, a: int, b: int, value: float) -> Var:
    """Append one node to the active tape; an undefined or overflowing value raises, naming it."""
    node = len(_values)
    _push_op(code)
    _push_arg0(a)
    _push_arg1(b)
    _push_value(value)
    if value - value:  # inf or nan: the operation failed at its arguments
        raise undefined_error(_active.trace, _values, node)
    var = _new(Var)
    var.value = value
    var.node = node
    return var


def _constant(value) -> int | None:
    """The node of a plain-number operand, or None when ``value`` is not a real number."""
    try:
        node = _constants.get(value)
    except TypeError:  # unhashable, so certainly not a number
        return None
    return node if node is not None else _active.constant(value)


_PACKAGE_DIR = __file__.rsplit("/", 1)[0].rsplit("\\", 1)[0]


def user_frame() -> types.FrameType:
    """The innermost frame outside adcli: the user's code that is running."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


def line_text(filename: str, line: int) -> str:
    """The current text of a source line (re-read if the file changed since it was cached)."""
    linecache.checkcache(filename)
    return linecache.getline(filename, line).strip()


def source_line() -> str:
    """``line 7: y = float(x)``: where the user's code is."""
    frame = user_frame()
    return f"line {frame.f_lineno}: {line_text(frame.f_code.co_filename, frame.f_lineno)}"


def _escape(what: str) -> EscapeError:
    return EscapeError(f"{source_line()}: {what} turns a traced value into a plain number, which would lose "
                       "its derivative; compute with the value itself")


_NEG, _ABS, _POW = BY_NAME["neg"], BY_NAME["abs"], BY_NAME["pow"]


class Var:
    """A traced number: its value and the trace node that computed it."""

    __slots__ = ("value", "node")

    # Comparisons decide control flow on the value; each is noted with its line.
    def __lt__(self, other): return _branch(self.value < _value(other))
    def __le__(self, other): return _branch(self.value <= _value(other))
    def __gt__(self, other): return _branch(self.value > _value(other))
    def __ge__(self, other): return _branch(self.value >= _value(other))
    def __eq__(self, other): return _branch(self.value == _value(other))
    def __ne__(self, other): return _branch(self.value != _value(other))
    def __bool__(self): return _branch(self.value != 0)

    __hash__ = None  # a traced value compares by value, so it cannot be a dict key

    def __float__(self): raise _escape("float(x)")
    def __int__(self): raise _escape("int(x)")
    def __index__(self): raise _escape("using a traced value as an index or count")
    def __round__(self, ndigits=None): raise _escape("round(x)")
    def __trunc__(self): raise _escape("math.trunc(x)")
    def __format__(self, spec): raise _escape("formatting a traced value")
    def __str__(self): raise _escape("str(x) or print(x)")
    def __repr__(self): return f"Var(value={self.value!r}, node={self.node})"

    def __getitem__(self, key):
        raise _used_as_list()

    def __iter__(self):
        raise _used_as_list()

    def __len__(self):
        raise _used_as_list()

    def __pos__(self): return self
    def __neg__(self): return _push(_NEG.opcode, self.node, NO_ARG, -self.value)
    def __abs__(self): return _push(_ABS.opcode, self.node, NO_ARG, abs(self.value))

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            raise _escape("pow(x, y, mod)")
        return _active.record(_POW, (self, other))


def _used_as_list() -> EscapeError:
    return EscapeError(f"{source_line()}: a single number is used as a list; "
                       "give a list with --at name=[…] if the parameter is a list")


def _list_used_as_number(*args):
    raise EscapeError(f"{source_line()}: a list parameter is used as a number; "
                      "give a single number with --at name=value if the parameter is a number")


class TracedList(list):
    """A list parameter of traced entries; arithmetic on the list itself is a mistake, not repetition."""

    __add__ = __radd__ = __iadd__ = __mul__ = __rmul__ = __imul__ = _list_used_as_number
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _list_used_as_number
    __lt__ = __le__ = __gt__ = __ge__ = __abs__ = __float__ = _list_used_as_number


def _value(x) -> float:
    return x.value if isinstance(x, Var) else x


def _branch(outcome: bool) -> bool:
    _active.note_branch(outcome)
    return outcome


def _binary_methods(primitive: Primitive, function):
    """``x op y`` and the reflected ``y op x`` for an arithmetic primitive: the hot path of tracing."""
    code = primitive.opcode

    def method(self, other):
        if other.__class__ is Var:
            y, b = other.value, other.node
        else:
            b = _constants.get(other) if other.__class__ is float else None  # the common case, inlined
            if b is None:
                b = _constant(other)
                if b is None:
                    return NotImplemented
            y = _values[b]
        try:
            value = function(self.value, y)
        except ArithmeticError:
            value = math.nan
        return _push(code, self.node, b, value)

    def reflected(self, other):
        b = _constant(other)
        if b is None:
            return NotImplemented
        try:
            value = function(_values[b], self.value)
        except ArithmeticError:
            value = math.nan
        return _push(code, b, self.node, value)

    return method, reflected


for _dunder, _name in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div")):
    _method, _reflected = _binary_methods(BY_NAME[_name], getattr(scalar, _name))
    setattr(Var, f"__{_dunder}__", _method)
    setattr(Var, f"__r{_dunder}__", _reflected)
Var.__rpow__ = lambda self, other: _active.record(_POW, (other, self))


# ---------------------------------------------------------------- the math stand-in
def _unary_function(primitive: Primitive, fallback):
    """A math function that records ``primitive`` on a traced value and is ``fallback`` otherwise."""
    code = primitive.opcode
    function = getattr(scalar, primitive.name)

    def traced(x):
        if x.__class__ is Var:
            try:
                value = function(x.value)
            except (ArithmeticError, ValueError):
                value = math.nan
            return _push(code, x.node, NO_ARG, value)
        if isinstance(x, TracedList):
            _list_used_as_number()
        return fallback(x)

    traced.__name__ = primitive.name
    return traced


def _fold(primitive: Primitive, builtin):
    """``max``/``min`` that record a primitive when a traced value takes part."""

    def function(*args, **kwargs):
        items = list(args[0]) if len(args) == 1 else list(args)
        if kwargs or not any(isinstance(item, Var) for item in items):
            return builtin(items, **kwargs)
        result = items[0]
        for item in items[1:]:
            result = _active.record(primitive, (result, item))
        return result

    function.__name__ = builtin.__name__
    return function


def _ceil(x):
    return -traced_math.floor(-x) if isinstance(x, Var) else math.ceil(x)


def _log(x, base=None):
    if base is None:
        return traced_math_log(x)
    return traced_math_log(x) / traced_math_log(base)


def _pow_function(x, y):
    return x**y if isinstance(x, Var) or isinstance(y, Var) else math.pow(x, y)


def _unsupported(name: str, function):
    def wrapper(*args, **kwargs):
        if any(isinstance(a, TracedList) for a in args):
            _list_used_as_number()
        if any(isinstance(a, Var) for a in (*args, *kwargs.values())):
            raise EscapeError(f"{source_line()}: math.{name} is not differentiable by adcli; "
                              f"supported: {', '.join(sorted(TRACED_MATH_FUNCTIONS))}")
        return function(*args, **kwargs)

    wrapper.__name__ = name
    return wrapper


_MATH_PRIMITIVES = ("exp", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "floor")

traced_math = types.ModuleType("math", "adcli's stand-in for math: the same functions, traced.")
for _name in dir(math):
    if not _name.startswith("_"):
        _attribute = getattr(math, _name)
        setattr(traced_math, _name, _unsupported(_name, _attribute) if callable(_attribute) else _attribute)
for _name in _MATH_PRIMITIVES:
    setattr(traced_math, _name, _unary_function(BY_NAME[_name], getattr(math, _name)))
traced_math_log = _unary_function(BY_NAME["log"], math.log)
traced_math.log = _log
traced_math.fabs = _unary_function(BY_NAME["abs"], math.fabs)
traced_math.ceil = _ceil
traced_math.pow = _pow_function
TRACED_MATH_FUNCTIONS = {*_MATH_PRIMITIVES, "log", "fabs", "ceil", "pow"}

traced_max = _fold(BY_NAME["max"], max)
traced_min = _fold(BY_NAME["min"], min)


#: The math namespace ``m`` for primitive rules applied to traced values (higher derivatives).
traced_namespace = types.SimpleNamespace(
    **{name: getattr(traced_math, name) for name in _MATH_PRIMITIVES},
    log=traced_math_log, pow=_pow_function, abs=abs, max=traced_max, min=traced_min,
    **{name: _unary_function(BY_NAME[name], getattr(scalar, name)) for name in ("sign", "sigmoid", "relu")},
)


def replay(trace: Trace, values: list[float], recorder: Recorder) -> list:
    """Re-record ``trace`` on traced values into ``recorder``: returns a Var (or constant) per node."""
    from adcli.primitives import CONST, INPUT, PRIMITIVES

    new = recorder.trace
    input_name = trace.input_name_of()
    out: list = [None] * len(trace)
    for i, code in enumerate(trace.op):
        if code == INPUT:
            out[i] = recorder.input(input_name[i], values[i])
        elif code == CONST:
            out[i] = trace.literal[i]
        else:
            out[i] = recorder.record(PRIMITIVES[code], tuple(out[a] for a in trace.args(i)))
    return out

