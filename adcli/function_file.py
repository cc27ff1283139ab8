"""Function files: run a user's ``.py`` file as Python and trace one of its functions at a point.

The file is executed like an import (its top-level code runs; only run files you trust). While it
runs, ``import math`` and ``from math import sin`` give adcli's traced stand-in for :mod:`math`, and
the builtins ``max`` and ``min`` record primitives, so the file needs nothing from adcli. Errors name
the file and line of the user's code, never adcli's own.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib.util
import inspect
import math
import os
import sys
import textwrap
import traceback
from array import array
from collections.abc import Callable, Collection, Mapping
from typing import Any

from adcli.errors import AdcliError, EvaluationError, InputError, TracedOverflowError, TracedValueError, caret_message
from adcli.points import PointRange, Value
from adcli.suggest import did_you_mean
from adcli.trace import Trace
from adcli.tracer import Recorder, TracedList, Var, describe_int, recording, traced_math, traced_max, traced_min


def trace_function(path: str, assigned: Mapping[str, Value], func: str | None = None,
                   iterations: bool = False, arrays: bool = False,
                   sources: bool = False) -> tuple[Trace, dict[str, float]]:
    """Trace the chosen function of ``path`` at ``assigned``.

    Returns the trace (with notes on branches that depended on a traced value) and the point with
    list parameters flattened into their entries (``w[0]``, ``w[1]``, …), which are the inputs.
    With ``iterations``, the trace also notes where each iteration of the function's main loop
    began (checkpointing's steps); with ``sources``, the file line of each node and the variable
    the code assigned it to (:attr:`Trace.lines`, :attr:`Trace.variables`). Following the lines
    costs time, so each only when asked (``iterations`` wins when both are). With ``arrays``, a
    list parameter reaches the function as a NumPy array (an object array of traced values), as it
    does anyway when the parameter is annotated ``np.ndarray``.
    """
    if not path.endswith(".py"):
        raise InputError(f"{path}: a function file must be a Python file ending in .py")
    with _as_a_script(path):
        return _trace(path, assigned, func, iterations, arrays, sources)


@contextlib.contextmanager
def _as_a_script(path: str):
    """Run user code with ``sys.argv == [path]`` (as ``python file.py`` would) and its prints on
    stderr, so adcli's own output (JSON, CSV) stays clean; afterwards, restore the interpreter
    settings the file may change (recursion limit, standard streams, ``sys.path``, the working
    directory), so they do not leak into adcli."""
    saved = (sys.argv, sys.getrecursionlimit(), sys.stdin, sys.stdout, sys.stderr, list(sys.path), _cwd())
    sys.argv = [path]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.argv, limit, sys.stdin, sys.stdout, sys.stderr, sys.path[:], cwd = saved
        sys.setrecursionlimit(limit)
        if cwd is not None and _cwd() != cwd:
            with contextlib.suppress(OSError):
                os.chdir(cwd)


@contextlib.contextmanager
def _recursion_floor():
    """Let user code raise the recursion limit (for its own deep recursion) but, once it returns or
    raises, not leave it below adcli's, which its error handling needs."""
    floor = sys.getrecursionlimit()
    try:
        yield
    finally:
        if sys.getrecursionlimit() < floor:
            sys.setrecursionlimit(floor)


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the directory was removed
        return None


def _trace(path: str, assigned: Mapping[str, Value], func: str | None,
           iterations: bool, arrays: bool, sources: bool = False) -> tuple[Trace, dict[str, float]]:
    function = load_function(path, func)
    parameters = _parameters(function, path)
    trace = Trace(source=path)
    recorder = Recorder(trace)
    as_array = {p.name for p in parameters if arrays or wants_array(p)}
    arguments, point = _bind(parameters, assigned, recorder, function.__name__, as_array)
    loop_lines = _top_level_loops(function) if iterations else set()
    follow = _sources(path, function, recorder) if sources and not iterations else contextlib.nullcontext()
    with recording(recorder):
        try:
            with _recursion_floor(), _iterations(function, loop_lines, recorder) as boundaries, follow:
                result = function(**arguments)
        except AdcliError as error:
            raise _placed(error, path) from None
        except RecursionError:
            raise InputError(f"{_place(None, path)}the function recursed too deeply") from None
        except MemoryError:
            raise  # out of memory is the CLI's one line, not an error of the user's code
        except Exception as error:  # the user's own code raised (or NumPy, for adcli's error in its loop)
            if isinstance(error.__cause__, AdcliError):
                raise _placed(error.__cause__, path) from None
            raise _user_error(error, path) from None
        except SystemExit as error:
            raise _exit_error(error, path) from None
        _set_outputs(trace, recorder, result, function.__name__, path)
    if trace.lines is not None and len(trace.lines) < len(trace):  # a number returned: its constant's node
        trace.lines += array("i", [0]) * (len(trace) - len(trace.lines))
    trace.iterations, trace.loop_lines = boundaries, sorted(loop_lines)
    trace.notes.extend(recorder.branch_notes())
    trace.controls = recorder.control_flow()
    trace.program = _program(path, function, [(p.name, assigned[p.name]) for p in parameters if p.name in assigned],
                             as_array)
    trace.recorded_at = [point[name] for name in trace.input_names]
    trace.recorded_values = recorder.values
    return trace, point


def _placed(error: AdcliError, path: str) -> AdcliError:
    """adcli's error raised in the user's code, with the file (and the line, when it has none)."""
    prefix = f"{path}, " if str(error).startswith("line ") else _place(error, path)
    return type(error)(prefix + str(error))


def _top_level_loops(function: Callable) -> set[int]:
    """The lines of the ``for`` and ``while`` statements directly in the function's body (its main
    loops; a loop nested in another is part of an iteration of the outer one)."""
    try:
        lines, start = inspect.getsourcelines(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, ValueError):
        return set()
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) else []
    return {statement.lineno + start - 1 for statement in body if isinstance(statement, (ast.For, ast.While))}


@contextlib.contextmanager
def _iterations(function: Callable, loop_lines: set[int], recorder: Recorder):
    """Collect, while the function runs, the size of the tape each time a frame of it reaches one of
    ``loop_lines`` (Python reports the header line of a loop at every iteration and once at its end):
    the nodes where iterations begin. Only the function's own frames are traced line by line."""
    boundaries: list[int] = []
    if not loop_lines:
        yield boundaries
        return
    code, tape = function.__code__, recorder.tape

    def on_line(frame, event, _):
        if event == "line" and frame.f_lineno in loop_lines:
            boundaries.append(len(tape))
        return on_line

    def on_call(frame, event, _):
        return on_line if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield boundaries
    finally:
        sys.settrace(previous)


@contextlib.contextmanager
def _sources(path: str, function: Callable, recorder: Recorder):
    """While the function runs, note the file line of every node it records and, when a line of the
    file ends, the local variables now holding a node that line recorded (``q = x + y``: the sum is
    ``q``); on exit, write them into the trace (:attr:`Trace.lines`, :attr:`Trace.variables`).

    Only frames of code in the file are followed, line by line: a line event costs one call, not
    one per operation, and the recording's own path stays as fast as without."""
    trace, tape = recorder.trace, recorder.tape
    starts: list[int] = []  # the node where each run of nodes from one line begins …
    lines: list[int] = []  # … and that line
    variables: dict[int, str] = {}
    began: dict = {}  # frame -> the size of the tape when its current line began

    def mark(line: int) -> None:
        size = len(tape)
        if starts and starts[-1] == size:
            lines[-1] = line
        else:
            starts.append(size)
            lines.append(line)

    def name_new(frame) -> None:
        first = began.get(frame, len(tape))
        for name, value in frame.f_locals.items():
            if isinstance(value, Var) and value.node >= first and value.node not in variables:
                variables[value.node] = name

    def on_line(frame, event, _):
        if event == "line":
            name_new(frame)
            began[frame] = len(tape)
            mark(frame.f_lineno)
        elif event == "return":
            name_new(frame)
            began.pop(frame, None)
            if frame.f_back in began:  # back in the caller's line
                mark(frame.f_back.f_lineno)
        return on_line

    def on_call(frame, event, _):
        if frame.f_code.co_filename != path:
            return None
        began[frame] = len(tape)
        mark(frame.f_lineno)
        return on_line

    for node, name in zip(trace.inputs, trace.input_names):
        variables[node] = name
    first_line = function.__code__.co_firstlineno
    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)
        size = len(tape)
        column = array("i", [first_line]) * (starts[0] if starts else size)  # the inputs: the def line
        for k, (start, line) in enumerate(zip(starts, lines)):
            end = starts[k + 1] if k + 1 < len(starts) else size
            column += array("i", [line]) * (end - start)
        trace.lines, trace.variables = column, variables


def _program(path: str, function: Callable, shapes: list[tuple[str, Value]],
             as_array: set[str]) -> Callable[[list[float]], list[float]]:
    """The program itself on plain numbers: a flattened point (the inputs in order) -> its outputs,
    as ``python file.py`` computes them (for finite differences of the program, not of one path).
    An error of the user's code is an :class:`AdcliError`, as when tracing."""

    def run(point: list[float]) -> list[float]:
        numbers = iter(point)
        arguments: dict[str, Any] = {name: [next(numbers) for _ in value] if isinstance(value, list)
                                     else next(numbers) for name, value in shapes}
        for name in as_array & arguments.keys():
            if isinstance(arguments[name], list):  # a number stays a number, as when tracing
                arguments[name] = to_array(arguments[name])
        with _as_a_script(path):
            try:
                with _recursion_floor():
                    result = function(**arguments)
            except (AdcliError, MemoryError):
                raise
            except Exception as error:
                raise _user_error(error, path) from None
            except SystemExit as error:
                raise _exit_error(error, path) from None
        items = _items(result)
        if not all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items):
            raise EvaluationError(f"{path}: {function.__name__}() returned something other than numbers here")
        return [float(item) for item in items]

    return run


def load_function(path: str, func: str | None) -> Callable:
    """Run the file and pick the function: ``func``, the only one, or the one named ``f``."""
    namespace = _run_file(path)
    candidates = {name: value for name, value in namespace.items()
                  if inspect.isfunction(value) and value.__code__.co_filename == path}
    if func is not None:
        if func not in candidates:
            listing = ", ".join(candidates) or "none"
            raise InputError(f"{path}: no function named '{func}'{did_you_mean(func, candidates)} "
                             f"(functions defined: {listing})")
        return candidates[func]
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    if "f" in candidates:
        return candidates["f"]
    if not candidates:
        raise InputError(f"{path}: the file defines no function to differentiate")
    raise InputError(f"{path}: the file defines several functions ({', '.join(candidates)}); choose one",
                     option="func")


def _run_file(path: str) -> dict:
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error})") from None
    try:  # decoded as Python decodes a file: a BOM or a coding line says how, UTF-8 otherwise
        source = importlib.util.decode_source(data)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        reason = error.msg if isinstance(error, SyntaxError) else error
        raise InputError(f"{path}: cannot read the file ({reason})") from None
    try:
        code = compile(source, path, "exec")
    except ValueError as error:  # a NUL byte
        raise InputError(f"{path}: syntax error: {error}") from None
    except SyntaxError as error:
        if error.lineno is None:  # not on a line: a NUL byte (Python 3.11)
            raise InputError(f"{path}: syntax error: {error.msg}") from None
        line = (error.text or "").rstrip("\n")
        message = f"{path}, line {error.lineno}, column {error.offset or 1}: syntax error: {error.msg}"
        raise InputError(caret_message(message, line, max(0, (error.offset or 1) - 1))) from None
    namespace = {"__name__": os.path.splitext(os.path.basename(path))[0], "__file__": path,
                 "__builtins__": _builtins()}
    try:
        with _recursion_floor():
            exec(code, namespace)  # noqa: S102 - running the user's file is the documented behaviour
    except MemoryError:
        raise
    except Exception as error:
        raise _user_error(error, path) from None
    except SystemExit as error:
        raise _exit_error(error, path) from None
    return namespace


def _builtins() -> dict:
    """The builtins a function file sees: Python's, with traced max/min and the math stand-in."""
    real_import = builtins.__import__

    def import_(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "math" and level == 0:
            return traced_math
        return real_import(name, globals, locals, fromlist, level)

    return {**vars(builtins), "__import__": import_, "max": traced_max, "min": traced_min}


def _parameters(function: Callable, path: str) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(function).parameters.values())
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise InputError(f"{path}: {function.__name__}() has *{parameter.name}; "
                             "adcli needs named parameters, one per input")
        if parameter.kind == parameter.POSITIONAL_ONLY:
            raise InputError(f"{path}: {function.__name__}() has a positional-only parameter "
                             f"'{parameter.name}'; adcli passes inputs by name")
    return parameters


def wants_array(parameter: inspect.Parameter) -> bool:
    """Whether a parameter's annotation asks for a NumPy array (``np.ndarray``, ``NDArray[…]``)."""
    annotation = parameter.annotation
    if annotation is parameter.empty:
        return False
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "ndarray" in text or "NDArray" in text


def to_array(entries: list):
    """A list as a one-dimensional NumPy array: of floats, or of objects for traced values."""
    import numpy

    return numpy.array(entries, dtype=object if any(isinstance(x, Var) for x in entries) else float)


def _items(result) -> list:
    """The outputs of a function's result: the entries of a list, tuple or one-dimensional array."""
    if isinstance(result, (list, tuple)) or _is_array(result):
        return list(result)
    return [result]


def _is_array(result) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(result, numpy.ndarray) and result.ndim == 1


def _bind(parameters: list[inspect.Parameter], assigned: Mapping[str, Value], recorder: Recorder,
          name: str, as_array: Collection[str] = ()) -> tuple[dict, dict[str, float]]:
    """Arguments for the call (Vars, and lists or, for the parameters in ``as_array``, NumPy arrays
    of Vars) and the flattened point."""
    names = [p.name for p in parameters]
    for given in assigned:
        if given not in names:
            raise InputError(f"{name}() has no parameter '{given}'{did_you_mean(given, names)} "
                             f"(its parameters: {', '.join(names) or 'none'})", option="at", value=given)
    missing = [p.name for p in parameters if p.name not in assigned and p.default is p.empty]
    if missing:
        raise InputError(f"no value for parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {name}()",
                         option="at", value=",".join(m + "=…" for m in missing))
    arguments: dict = {}
    point: dict[str, float] = {}
    for parameter in parameters:
        if parameter.name not in assigned:
            continue  # keeps its default: a constant, not an input
        value = assigned[parameter.name]
        if isinstance(value, PointRange):
            raise InputError("a range of points is for the gradient (a batch)", option="at", value=parameter.name)
        entries = value if isinstance(value, list) else [value]
        labels = [f"{parameter.name}[{k}]" for k in range(len(entries))] if isinstance(value, list) \
            else [parameter.name]
        traced = []
        for label, entry in zip(labels, entries):
            traced.append(recorder.input(label, entry))
            point[label] = entry
        if not isinstance(value, list):
            arguments[parameter.name] = traced[0]
        else:
            arguments[parameter.name] = to_array(traced) if parameter.name in as_array else TracedList(traced)
    return arguments, point


def _set_outputs(trace: Trace, recorder: Recorder, result, name: str, path: str) -> None:
    items = _items(result)
    several = isinstance(result, (list, tuple)) or _is_array(result)
    if several and not items:
        raise InputError(f"{path}: {name}() returned an empty {type(result).__name__}; return numbers")
    for k, item in enumerate(items):
        label = f"{name}[{k}]" if several else name
        if isinstance(item, Var):
            trace.add_output(item.node, label)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            node = recorder.constant(_finite(item, f"{path}: {name}() returned"))
            assert node is not None  # a number has a constant node
            trace.add_output(node, label)
        elif isinstance(item, (list, tuple)):
            raise InputError(f"{path}: {name}() returned a nested list; nested lists are out of scope, "
                             "return a number or a flat list of numbers")
        else:
            what = "None" if item is None else type(item).__name__
            raise InputError(f"{path}: {name}() returned {what}; "
                             "return a number or a flat list or tuple of numbers")


def _finite(number: int | float, what: str) -> int | float:
    """``number``, or the error for a result that is not a finite float (exit 1)."""
    if isinstance(number, int):
        if abs(number) < 2**1024 - 2**970:  # rounds to at most the largest float
            return number
        raise TracedOverflowError(f"{what} {describe_int(number)}; overflow, it is too large for a float")
    if math.isnan(number):
        raise TracedValueError(f"{what} nan, which is not a number (nan)")
    if math.isinf(number):
        raise TracedOverflowError(f"{what} {number}, which is infinite (an overflow)")
    return number


def _user_frame_summary(error: BaseException, path: str) -> traceback.FrameSummary | None:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    return frames[-1] if frames else None


def _place(error: BaseException | None, path: str) -> str:
    frame = _user_frame_summary(error, path) if error is not None else None
    return f"{path}, line {frame.lineno}: " if frame else f"{path}: "


def _exit_error(error: SystemExit, path: str) -> EvaluationError:
    """The file called ``sys.exit`` (or raised SystemExit): adcli reports it rather than exiting."""
    called = "" if error.code is None else repr(error.code)
    return EvaluationError(f"{_place(error, path)}the file called sys.exit({called}); "
                           "a function file must not exit")


def _user_error(error: Exception, path: str) -> AdcliError:
    """An exception raised by the user's code, as one message with its file and line."""
    frame = _user_frame_summary(error, path)
    where = f"{path}, line {frame.lineno}" if frame else path
    code = f" ({frame.line})" if frame and frame.line else ""
    kind = EvaluationError if isinstance(error, (ArithmeticError, ValueError)) else InputError
    return kind(f"{where}{code}: {type(error).__name__}: {error}")
