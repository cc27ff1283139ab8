"""Tracing by running: traced numbers (operator overloading) that record a trace as Python runs.

A :class:`Var` holds a value and the trace node that computed it. Arithmetic on it, the functions of
:data:`traced_math` (a stand-in for :mod:`math`) and the builtins ``max``/``min`` record nodes through
the same primitive registry the expression parser uses. Comparisons return plain booleans, so ``if``
and ``while`` work; each one is noted with its source line, because the derivative is then that of
the path that ran. Anything that would turn a traced value into a plain number (``float(x)``,
``int(x)``, ``round(x)``, formatting) raises :class:`EscapeError` instead of silently dropping the
derivative.

The hot path (arithmetic and the unary math functions) is the one :mod:`adcli.accelerator` chose: in C
when the optional extension was built, and otherwise the Python below (:class:`ListTape`,
:class:`PythonVarBase`, :func:`activate_list_tape`, :func:`define_python_operators`,
:func:`python_unary`); both append the same nodes to the same tape, and the tests run the tracer both ways.
"""

from __future__ import annotations

import gc
import itertools
import linecache
import math
import operator
import os
import sys
import types
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from adcli import accelerator, scalar
from adcli.errors import EvaluationError, InputError, TracedOverflowError
from adcli.evaluate import evaluate_steps, operation_error_class, operation_message
from adcli.primitives import BY_NAME, CONST, FIRST_PRIMITIVE, INPUT, Primitive, functions_of, primitive_of
from adcli.trace import COLUMN_TYPES, NO_ARG, Control, Trace, constant_key, format_literal


class EscapeError(InputError):
    """A traced value was used where Python needs a plain number."""


_generations = itertools.count(1)


class LazyMessage:
    """An error message built when first shown: an error the user's code catches costs no pass over
    the trace."""

    def __init__(self, build: Callable[[], str]) -> None:
        self._build = build
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self._build()
        return self._text


class ListTape:
    """The pure-Python tape: a flat list, four entries a node (opcode, first argument, second
    argument, value), the cheapest thing CPython can append to. The C extension's ``Tape`` has the
    same methods and keeps the four columns in C arrays."""

    __slots__ = ("entries", "generation")

    def __init__(self) -> None:
        self.entries: list = []
        self.generation = next(_generations)  # unique per tape: a Var records the one it belongs to

    def __len__(self) -> int:
        return len(self.entries) >> 2

    def push(self, code: int, a: int, b: int, value: float) -> int:
        node = len(self.entries) >> 2
        self.entries += (code, a, b, value)
        return node

    def value(self, node: int) -> float:
        return self.entries[4 * node + 3]

    def node(self, node: int) -> tuple[int, int, int, float]:
        """The (opcode, first argument, second argument, value) of a node."""
        return tuple(self.entries[4 * node:4 * node + 4])

    def truncate(self, size: int) -> None:
        """Drop the nodes from ``size`` on."""
        del self.entries[4 * size:]

    def columns(self) -> tuple[array, ...]:
        """Copies of the opcode, argument and value columns."""
        return tuple(array(kind, self.entries[k::4]) for k, kind in enumerate(COLUMN_TYPES))


class Recorder:
    """Records a trace as traced operations run.

    Nodes go onto a tape (:class:`ListTape`, or the C extension's ``Tape``); :meth:`flush` copies
    its columns into the trace. The recorder also counts the comparisons that decided control flow.
    """

    def __init__(self, trace: Trace, note_branches: bool = True) -> None:
        if len(trace):
            raise ValueError("a recorder starts from an empty trace")
        self.trace = trace
        self.tape = accelerator.Tape()
        self.values: array = array("d")  # the value of every node, as of the last flush
        self.note_branches = note_branches
        self.branches: dict[tuple[str, int], list[int]] = {}  # (file, line) -> [true count, false count]
        # per comparison or count: ((file, line), node, other node or NO_ARG, other value, is a count)
        self.controls: list[tuple[tuple[str, int], int, int, float, bool, str, bool]] = []

    def flush(self) -> None:
        """Copy the tape into the trace's columns (and :attr:`values`)."""
        trace = self.trace
        trace.op, trace.arg0, trace.arg1, self.values = self.tape.columns()

    def value(self, node: int) -> float:
        return self.tape.value(node)

    def constant(self, value) -> int | None:
        """The node of a plain number (None for anything that is not a real number)."""
        if not isinstance(value, (int, float)):
            return None
        try:
            value = float(value)
        except OverflowError:  # an int too large for a float, an OverflowError as in Python
            raise TracedOverflowError(f"{source_line()}: overflow, {describe_int(value)} is too large "
                                      "for a float") from None
        key = constant_key(value)
        cache = self.trace._const_cache
        if key not in cache:
            cache[key] = self.tape.push(CONST, NO_ARG, NO_ARG, value)
            self.trace.literal[cache[key]] = value
        return cache[key]

    def input(self, name: str, value: float) -> Var:
        value = float(value)
        node = self.tape.push(INPUT, NO_ARG, NO_ARG, value)
        self.trace.inputs.append(node)
        self.trace.input_names.append(name)
        return _var(value, node, self.tape)

    def record(self, primitive: Primitive, args: tuple) -> Var:
        """Apply ``primitive`` to ``args`` (Vars or plain numbers) and record the node (the general path)."""
        nodes, plain = [], []
        for arg in args:
            if isinstance(arg, Var):
                if arg.generation != self.tape.generation:
                    raise _not_own()
                nodes.append(arg.node)
                plain.append(arg.value)
            else:
                node = self.constant(arg)
                if node is None:
                    raise TypeError(f"{primitive.name}() of a traced value and a {type(arg).__name__}")
                nodes.append(node)
                plain.append(self.value(node))
        try:
            value = primitive.evaluate(scalar, *plain)
        except (ArithmeticError, ValueError):
            value = math.nan
        node = self.tape.push(primitive.opcode, nodes[0], nodes[1] if len(nodes) == 2 else NO_ARG, value)
        return _checked(value, node)

    def error_at(self, node: int) -> EvaluationError:
        """The error for the node just taped, whose operation is undefined at its arguments or
        overflows; the node is dropped, so a program that catches the error goes on as if the
        operation never ran.

        The class is the one Python raises for the same floats (a ZeroDivisionError, ValueError or
        OverflowError that is also an :class:`EvaluationError`); the message, which numbers the
        nodes, is built only when shown."""
        tape, literal = self.tape, self.trace.literal
        code, a, b, _ = tape.node(node)
        primitive = primitive_of(code)
        arg_nodes = (a,) if b == NO_ARG else (a, b)
        args = [tape.value(arg) for arg in arg_nodes]
        is_literal = [arg in literal for arg in arg_nodes]
        name = f"v{node + 1 - len(literal)}"  # every constant node comes before this last node

        def arg_name(arg: int, value: float, constant: bool) -> str:
            # the nodes before ``arg`` stay as they are, whatever is recorded after the error
            return format_literal(value) if constant else f"v{arg + 1 - sum(1 for k in literal if k < arg)}"

        def message() -> str:
            names = [arg_name(*entry) for entry in zip(arg_nodes, args, is_literal)]
            return operation_message(primitive, name, names, args, is_literal)

        self._drop(node, arg_nodes)
        return operation_error_class(primitive, args)(LazyMessage(message))

    def _drop(self, node: int, arg_nodes: tuple[int, ...]) -> None:
        """Drop the failed last ``node`` and the constants recorded just before it for it alone."""
        size, cache = node, self.trace._const_cache
        while size - 1 in arg_nodes and size - 1 in self.trace.literal:
            size -= 1
            del cache[constant_key(self.trace.literal.pop(size))]
        self.tape.truncate(size)

    def note_branch(self, outcome: bool, var: Var | None = None, other=None, relation: str = "") -> None:
        """Count the outcome of a comparison at its source line and keep what it compared (the
        node of ``var``, ``other``'s node or value, and the ``relation`` applied: ``<``, ``==`` …) for
        the margins of :mod:`adcli.branches` and the guards of generated code."""
        if self.note_branches:
            frame = user_frame()
            key = (frame.f_code.co_filename, frame.f_lineno)
            counts = self.branches.setdefault(key, [0, 0])
            counts[0 if outcome else 1] += 1
            if var is not None:
                if isinstance(other, Var) and other.generation == self.tape.generation:
                    self.controls.append((key, var.node, other.node, 0.0, False, relation, outcome))
                elif isinstance(other, (int, float)):
                    self.controls.append((key, var.node, NO_ARG, float(other), False, relation, outcome))

    def note_count(self, var: Var) -> None:
        """Keep a traced whole number used as a count or an index (``range(math.floor(x))``)."""
        if self.note_branches:
            frame = user_frame()
            self.controls.append(((frame.f_code.co_filename, frame.f_lineno), var.node, NO_ARG, 0.0, True, "", True))

    def control_flow(self) -> list[Control]:
        """The comparisons and counts kept while recording, with their lines' text."""
        size, texts = len(self.tape), {}
        controls = []
        for key, a, b, constant, count, relation, outcome in self.controls:
            if a < size and (b == NO_ARG or b < size):  # (nodes dropped after an error are gone)
                if key not in texts:
                    texts[key] = line_text(*key)
                controls.append(Control(key[1], texts[key], a, b, constant, count, relation, outcome))
        return controls

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
# While a recording runs, these module globals point at its tape's list and its constant cache:
# the Python hot paths below use them directly, the cheapest access CPython offers. (Either hot
# path gets its tape from the boundary's ``activate``.)
_active: Recorder | None = None
_entries: list = []
_extend = _entries.extend
_constants: dict = {}
_generation: int | None = None  # the active tape's; a Var of any other is not this recording's
_new = object.__new__
_nan = math.nan


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Make ``recorder`` the one that traced operations append to; flush it at the end.

    The cyclic garbage collector is paused meanwhile: every operation allocates a short-lived
    :class:`Var` and the tape holds no cycles, so its collections would only re-scan young objects
    (about a sixth of the recording time). Cycles the user's code makes are collected afterwards.
    """
    global _active, _entries, _extend, _constants, _generation
    saved = _active, _entries, _extend, _constants, _generation
    _active, _constants, _generation = recorder, recorder.trace._const_cache, recorder.tape.generation
    accelerator.activate(recorder.tape, _constants)
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield recorder
    finally:
        if collecting:
            gc.enable()
        _active, _entries, _extend, _constants, _generation = saved
        accelerator.activate(_active.tape if _active is not None else None, _constants)
        recorder.flush()


def _var(value: float, node: int, tape) -> Var:
    """The Var of ``node`` of ``tape`` (the recorder's; user code cannot build one by hand)."""
    return accelerator.VarBase.__new__(Var, value, node, tape)


def activate_list_tape(tape: ListTape | None, constants: dict) -> None:
    """Point the Python hot paths at ``tape``'s entries (None: leave them; the recording restores
    them): the pure-Python twin of the C extension's ``activate``."""
    global _entries, _extend
    if tape is not None:
        _entries = tape.entries
        _extend = _entries.extend


def _checked(value: float, node: int) -> Var:
    """The Var of a node just taped, or the error naming it when its value is inf or NaN."""
    if value - value:  # inf or nan: the operation failed at its arguments
        raise _recording().error_at(node)
    assert _active is not None  # a Var is only taped while recording
    return _var(value, node, _active.tape)


def _push(code: int, a: int, b: int, value: float) -> Var:
    """Tape the node (code, a, b, value) on the active tape and return its Var, or raise the error
    naming the node when its value is inf or NaN (the pure-Python hot path)."""
    node = len(_entries) >> 2
    _extend((code, a, b, value))
    if value - value:  # inf or nan: the operation failed at its arguments
        raise _recording().error_at(node)
    var = _new(Var)
    var.value, var.node, var.generation = value, node, _generation
    return var


def _constant(value) -> int | None:
    """The node of a plain-number operand (an int or a float), or None for anything else."""
    if not isinstance(value, (int, float)):
        return None
    if _active is None:
        raise RuntimeError("a traced value was used outside its recording")
    node = _constants.get(value)
    return node if node is not None else _active.constant(value)


def _recording() -> Recorder:
    """The active recorder; a traced value used outside its recording is a RuntimeError."""
    if _active is None:
        raise RuntimeError("a traced value was used outside its recording")
    return _active


def _not_own() -> Exception:
    """The error for a traced value that is not the active recording's."""
    if _active is None:
        return RuntimeError("a traced value was used outside its recording")
    return EscapeError(f"{source_line()}: a traced value from another recording (kept from an earlier "
                       "run, or built by hand) is used; compute every traced value from the parameters")


def describe_int(value: int) -> str:
    """``an integer of 401 digits``: a huge int without converting it to text (which has a limit)."""
    return f"an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"


_PACKAGE_DIR = os.path.dirname(__file__)


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
    """``line 7: y = float(x)``: where the user's code is (``line 7`` when its text cannot be read,
    as for code typed at the interpreter)."""
    frame = user_frame()
    text = line_text(frame.f_code.co_filename, frame.f_lineno)
    text = text.rstrip(":")  # a for or if line: one colon before the message, not two
    return f"line {frame.f_lineno}: {text}" if text else f"line {frame.f_lineno}"


def _escape(what: str, instead: str = "compute with the value itself") -> EscapeError:
    return EscapeError(f"{source_line()}: {what} turns a traced value into a plain number, which would lose "
                       f"its derivative; {instead}")


#: What to write instead of int(x), round(x) or math.trunc(x): floor, which adcli records (its
#: derivative is 0, and a count or index made with it is noted).
_WHOLE_INSTEAD = "for a whole number (a count, an index), use math.floor(x) or math.ceil(x), which adcli records"


_ADD, _SUB, _MUL, _DIV = BY_NAME["add"], BY_NAME["sub"], BY_NAME["mul"], BY_NAME["div"]
_NEG, _ABS, _POW = BY_NAME["neg"], BY_NAME["abs"], BY_NAME["pow"]
_SCALAR = functions_of(scalar)


class PythonVarBase:
    """The pure-Python base of a traced number: what the C base class holds, and its arithmetic.

    Each operator tapes one node through :func:`_tape_binary` or :func:`_tape_unary`."""

    __slots__ = ("value", "node", "generation")
    value: float
    node: int
    generation: int

    def __new__(cls, value: float, node: int, tape: ListTape):
        var = _new(cls)
        var.value = value
        var.node = node
        var.generation = tape.generation
        return var

    def __add__(self, other): return _tape_binary(_ADD, self, other)
    def __radd__(self, other): return _tape_binary(_ADD, other, self)
    def __sub__(self, other): return _tape_binary(_SUB, self, other)
    def __rsub__(self, other): return _tape_binary(_SUB, other, self)
    def __mul__(self, other): return _tape_binary(_MUL, self, other)
    def __rmul__(self, other): return _tape_binary(_MUL, other, self)
    def __truediv__(self, other): return _tape_binary(_DIV, self, other)
    def __rtruediv__(self, other): return _tape_binary(_DIV, other, self)
    def __neg__(self): return _tape_unary(_NEG.opcode, operator.neg, self)
    def __abs__(self): return _tape_unary(_ABS.opcode, abs, self)
    def __pos__(self): return self
    def __pow__(self, other, modulo=None): return traced_pow(self, other, modulo)
    def __rpow__(self, other): return traced_pow(other, self)


def traced_pow(x, y, modulo=None):
    """``x ** y`` with a traced operand, by the recorder's general path. The C base class calls it
    where its fast path (a finite value from finite operands) does not apply, so every error is worded here."""
    if modulo is not None:
        raise _escape("pow(x, y, mod)")
    return _recording().record(_POW, (x, y))


def _operand(x) -> tuple[int, float] | None:
    """The node and value of an operand of traced arithmetic: this recording's Var, or a plain
    number (taped as a constant); None for anything else."""
    if x.__class__ is Var:
        if x.generation != _generation:
            raise _not_own()
        return x.node, x.value
    node = _constant(x)
    return None if node is None else (node, float(x))


def _tape_binary(primitive: Primitive, x, y):
    """Tape ``primitive(x, y)``, one of them a Var, and return its Var (NotImplemented when the
    other is not a number, so Python tries the other operand)."""
    left, right = _operand(x), _operand(y)
    if left is None or right is None:
        return NotImplemented
    try:
        value = _SCALAR[primitive.opcode](left[1], right[1])
    except ArithmeticError:
        value = _nan
    return _push(primitive.opcode, left[0], right[0], value)


def _tape_unary(code: int, function: Callable[[float], float], x) -> Var:
    """Tape the one-argument operation ``code`` (value ``function(x)``) on the Var ``x``."""
    if x.generation != _generation:
        raise _not_own()
    try:
        value = function(x.value)
    except (ArithmeticError, ValueError):
        value = _nan
    return _push(code, x.node, NO_ARG, value)


class Var(accelerator.VarBase):  # type: ignore[misc, valid-type]
    """A traced number: its value and the trace node that computed it.

    Its arithmetic comes from its base class: the C extension's, or :class:`PythonVarBase`."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise EscapeError(f"{source_line()}: a traced value cannot be built by hand; "
                          "compute it from the parameters")

    # Comparisons decide control flow on the value; each is noted with its line.
    def __lt__(self, other): return _branch(self.value < _value(other), self, other, "<")
    def __le__(self, other): return _branch(self.value <= _value(other), self, other, "<=")
    def __gt__(self, other): return _branch(self.value > _value(other), self, other, ">")
    def __ge__(self, other): return _branch(self.value >= _value(other), self, other, ">=")
    def __eq__(self, other): return _branch(self.value == _value(other), self, other, "==")
    def __ne__(self, other): return _branch(self.value != _value(other), self, other, "!=")
    def __bool__(self): return _branch(self.value != 0, self, 0, "!=")

    __hash__ = None  # type: ignore[assignment]  # a traced value compares by value, so it cannot be a dict key

    def __copy__(self):  # a Var never changes, so a copy is itself
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self): raise _escape("pickling a traced value")

    def __float__(self): raise _escape("float(x)")
    def __int__(self): raise _escape("int(x)", _WHOLE_INSTEAD)
    def __index__(self):
        # a whole number computed by floor (range(math.floor(x)), w[math.ceil(x) - 1]) is an int in
        # Python, so it counts and indexes; the count is noted, as AD takes it as constant
        if not _whole_number(self):
            raise _escape("using a traced value as an index or count")
        _recording().note_count(self)
        return int(self.value)
    def __round__(self, ndigits=None): raise _escape("round(x)", _WHOLE_INSTEAD)
    def __trunc__(self): raise _escape("math.trunc(x)", _WHOLE_INSTEAD)
    def __format__(self, spec): raise _escape("formatting a traced value")
    def __str__(self): raise _escape("str(x) or print(x)")
    def __repr__(self): return f"Var(value={self.value!r}, node={self.node})"

    def __getitem__(self, key):
        raise _used_as_list()

    def __iter__(self):
        raise _used_as_list()

    def __len__(self):
        raise _used_as_list()



def _used_as_list() -> EscapeError:
    return EscapeError(f"{source_line()}: a single number is used as a list; "
                       "give a list (name=[…]) if the parameter is a list")


def _list_used_as_number(*args):
    raise EscapeError(f"{source_line()}: a list parameter is used as a number; "
                      "give a single number (name=value) if the parameter is a number")


class TracedList(list):
    """A list parameter of traced entries; arithmetic on the list itself is a mistake, not repetition."""

    __add__ = __radd__ = __iadd__ = __mul__ = __rmul__ = __imul__ = _list_used_as_number
    __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _list_used_as_number
    __lt__ = __le__ = __gt__ = __ge__ = __abs__ = __float__ = _list_used_as_number


def _own(var: Var) -> Var:
    """``var``, checked to be the active recording's."""
    if var.generation != _generation:
        raise _not_own()
    return var


def _value(x) -> float:
    return x.value if isinstance(x, Var) else x


def _branch(outcome: bool, var: Var, other, relation: str) -> bool:
    _recording().note_branch(outcome, var, other, relation)
    return outcome


_WHOLE_PRESERVING = frozenset(BY_NAME[name].opcode for name in ("add", "sub", "mul", "neg", "abs", "max", "min"))
_FLOOR = BY_NAME["floor"].opcode
_WHOLE_SEARCH_LIMIT = 64  # nodes looked at: a count is a short expression around a floor


def _whole_number(var: Var) -> bool:
    """Whether ``var`` stands for a Python int: a whole number computed from floors (math.floor and
    math.ceil return ints) and whole constants by +, -, *, abs, max and min."""
    if not float(var.value).is_integer():
        return False
    tape, pending, seen = _recording().tape, [_own(var).node], 0
    while pending and seen < _WHOLE_SEARCH_LIMIT:
        code, a, b, value = tape.node(pending.pop())
        seen += 1
        if code == CONST:
            if not float(value).is_integer():
                return False
        elif code in _WHOLE_PRESERVING:
            pending += (a,) if b == NO_ARG else (a, b)
        elif code != _FLOOR:
            return False
    return not pending


def define_python_operators(var_type: Any, constant_hook, error_hook, foreign_hook, pow_hook) -> None:
    """Nothing to do: :class:`PythonVarBase` has its arithmetic as methods, which reach the recording
    through this module's globals. The pure-Python twin of the C extension's ``configure``, which
    gives the C base class the hooks it calls back."""


accelerator.configure(Var, lambda value: _recording().constant(value), lambda node: _recording().error_at(node),
                      _not_own, traced_pow)


# ---------------------------------------------------------------- the math stand-in
def _unary_function(primitive: Primitive, fallback):
    """A math function that records ``primitive`` on a traced value and is ``fallback`` otherwise."""
    code = primitive.opcode
    function = getattr(scalar, primitive.name)

    def plain(x):
        if isinstance(x, TracedList):
            _list_used_as_number()
        return fallback(x)

    return accelerator.Unary(code, function, plain, primitive.name)


def python_unary(code: int, function: Callable[[float], float], fallback: Callable, name: str) -> Callable:
    """The traced math function that records opcode ``code`` (value ``function(x)``) on a Var and
    calls ``fallback`` on anything else: the pure-Python twin of the C extension's ``Unary``."""

    def traced(x):
        return _tape_unary(code, function, x) if x.__class__ is Var else fallback(x)

    traced.__name__ = name
    return traced


def _fold(primitive: Primitive, builtin):
    """``max``/``min`` that record a primitive when a traced value takes part."""

    def function(*args, **kwargs):
        items = list(args[0]) if len(args) == 1 else list(args)
        if kwargs or not any(isinstance(item, Var) for item in items):
            return builtin(items, **kwargs)
        result = items[0]
        for item in items[1:]:
            result = _recording().record(primitive, (result, item))
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


def _binary_function(primitive: Primitive, fallback=None):
    """A two-argument function that records ``primitive`` when a traced value takes part, and is
    ``fallback`` (the float namespace's function by default) otherwise."""
    function = getattr(scalar, primitive.name) if fallback is None else fallback

    def traced(x, y):
        if isinstance(x, Var) or isinstance(y, Var):
            return _recording().record(primitive, (x, y))
        return function(x, y)

    traced.__name__ = primitive.name
    return traced


def _hypot_function(*coordinates):
    """math.hypot of any number of coordinates: hypot(hypot(a, b), c) … when a traced value takes part."""
    if not any(isinstance(c, Var) for c in coordinates):
        return math.hypot(*coordinates)
    if len(coordinates) == 1:
        return traced_math.fabs(coordinates[0])
    result = coordinates[0]
    for c in coordinates[1:]:
        result = _recording().record(BY_NAME["hypot"], (result, c))
    return result


#: The primitives :mod:`math` also has, traced under math's name; derived from the registry, so
#: a new primitive is available in function files as ``math.<name>``. ``log`` is left to
#: :func:`_log` (math's takes a base); ``fabs``, ``ceil`` and ``pow`` are the special cases below,
#: and ``hypot`` takes any number of coordinates.
_MATH_PRIMITIVES = tuple(p.name for p in BY_NAME.values()
                         if p.name not in ("log", "pow") and callable(getattr(math, p.name, None)))

traced_math = types.ModuleType("math", "adcli's stand-in for math: the same functions, traced.")
for _name in dir(math):
    if not _name.startswith("_"):
        _attribute = getattr(math, _name)
        setattr(traced_math, _name, _unsupported(_name, _attribute) if callable(_attribute) else _attribute)
for _name in _MATH_PRIMITIVES:
    _primitive = BY_NAME[_name]
    setattr(traced_math, _name, _unary_function(_primitive, getattr(math, _name)) if _primitive.arity == 1
            else _binary_function(_primitive, getattr(math, _name)))
traced_math.hypot = _hypot_function  # type: ignore[attr-defined]
traced_math_log = _unary_function(BY_NAME["log"], math.log)
traced_math.log = _log  # type: ignore[attr-defined]  # (a module built at run time)
traced_math.fabs = _unary_function(BY_NAME["abs"], math.fabs)  # type: ignore[attr-defined]
traced_math.ceil = _ceil  # type: ignore[attr-defined]
traced_math.pow = _pow_function  # type: ignore[attr-defined]
TRACED_MATH_FUNCTIONS = {*_MATH_PRIMITIVES, "log", "fabs", "ceil", "pow"}

traced_max = _fold(BY_NAME["max"], max)
traced_min = _fold(BY_NAME["min"], min)


def _traced_primitive(primitive: Primitive):
    """The function of ``traced_namespace`` for ``primitive``: traced math's where math has it."""
    if primitive.name in _MATH_PRIMITIVES:
        return getattr(traced_math, primitive.name)
    special = {"log": traced_math_log, "pow": _pow_function}.get(primitive.name)
    if special is not None:
        return special
    if primitive.arity == 1:
        return _unary_function(primitive, getattr(scalar, primitive.name))
    return _binary_function(primitive)


#: The math namespace ``m`` for primitive rules applied to traced values (higher derivatives): one
#: function per registry entry.
traced_namespace = types.SimpleNamespace(**{p.name: _traced_primitive(p) for p in BY_NAME.values()})


# ---------------------------------------------------------------- methods and NumPy
#: NumPy's names for primitives whose registry name differs (a ufunc on an object array calls the
#: method of its own name on each entry: ``np.arcsin`` calls ``x.arcsin()``).
_NUMPY_NAMES = {"absolute": "abs", "fabs": "abs", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
                "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2",
                "subtract": "sub", "multiply": "mul", "true_divide": "div", "divide": "div",
                "negative": "neg", "power": "pow", "float_power": "pow", "maximum": "max", "minimum": "min",
                "fmax": "max", "fmin": "min"}
_COMPARISONS = {"less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
                "greater_equal": operator.ge, "equal": operator.eq, "not_equal": operator.ne}
_OTHER_UFUNCS: dict[str, Callable] = {"positive": operator.pos, "square": lambda x: x * x,
                                      "reciprocal": lambda x: 1 / x, **_COMPARISONS}


def _method_names() -> dict[str, str]:
    """Method name -> registry name: every one-argument primitive under its own name (``x.exp()``,
    ``x.relu()``; the name of a new primitive becomes a method too), and under NumPy's name."""
    names = {p.name: p.name for p in BY_NAME.values() if p.arity == 1 and p.name != "neg"}
    names.update({numpy: name for numpy, name in _NUMPY_NAMES.items() if name in names})
    return names


def _define_methods() -> None:
    for method, name in _method_names().items():
        function = getattr(traced_namespace, name)
        setattr(Var, method, lambda self, _f=function: _f(self))
        getattr(Var, method).__doc__ = f"{name}(x), recorded as the primitive {name}."


_define_methods()
Var.__floor__ = lambda self: traced_namespace.floor(self)
Var.__ceil__ = lambda self: _ceil(self)


def _ufunc_scalar(name: str) -> Callable | None:
    """The traced function of the NumPy ufunc ``name`` on scalars (None when adcli has none)."""
    primitive = BY_NAME.get(_NUMPY_NAMES.get(name, name))
    return getattr(traced_namespace, primitive.name) if primitive is not None else _OTHER_UFUNCS.get(name)


def _unknown_ufunc(name: str) -> EscapeError:
    """The error for a NumPy ufunc adcli does not record, with the ones it does."""
    numpy = sys.modules["numpy"]
    known = sorted(n for n in {*_NUMPY_NAMES, *_OTHER_UFUNCS, *BY_NAME} if isinstance(getattr(numpy, n, None),
                                                                                    numpy.ufunc))
    return EscapeError(f"{source_line()}: numpy.{name} is not differentiable by adcli; supported: {', '.join(known)}")


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy on traced values: a ufunc is recorded as the same primitive adcli records for the
    operator or math function (``np.sin(x)`` as sin, ``np.maximum(x, 0)`` as max); an array among
    the arguments is handled entry by entry, giving an object array of traced values."""
    function = _ufunc_scalar(ufunc.__name__)
    if function is None or method != "__call__" or kwargs:
        detail = f".{method}" if method != "__call__" else f" with {', '.join(kwargs)}=" if kwargs else ""
        raise _unknown_ufunc(ufunc.__name__ + detail)
    numpy = sys.modules["numpy"]
    if any(isinstance(x, numpy.ndarray) for x in inputs):
        return numpy.frompyfunc(function, ufunc.nin, 1)(*inputs)
    return function(*inputs)


def _missing_method(self, name: str):
    """A NumPy ufunc adcli does not know, applied to an object array (NumPy calls the method of the
    ufunc's name on each entry), is an error naming it; any other missing attribute an AttributeError."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and not name.startswith("_") and isinstance(getattr(numpy, name, None), numpy.ufunc):
        raise _unknown_ufunc(name)
    raise AttributeError(f"a traced value has no attribute '{name}'")


Var.__array_ufunc__ = _array_ufunc
Var.__getattr__ = _missing_method


_ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
               "neg": operator.neg}


def replay(trace: Trace, values: Sequence[float], recorder: Recorder) -> list:
    """Re-record ``trace`` on traced values into ``recorder`` (the active recording): a Var per node,
    or a number for a node computed from constants alone."""
    out: list = [None] * len(trace)
    for name, node in zip(trace.input_names, trace.inputs):
        out[node] = recorder.input(name, values[node])
    for node, value in trace.literal.items():
        out[node] = value
    steps = (i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE)
    # Var's own operators for arithmetic (the tracer's hot path, in C when built), the traced
    # namespace's functions for the rest
    functions = functions_of(types.SimpleNamespace(**{**vars(traced_namespace), **_ARITHMETIC}))
    evaluate_steps(trace.op, trace.arg0, trace.arg1, out, steps, lambda i, code, args: functions[code](*args))
    return out
