"""The Python API, in the style of JAX and autograd: give a Python function, get a function back.

``grad(f)(2.0, 3.0)`` traces ``f`` at the point (its parameters are traced values: arithmetic, the
methods ``x.exp()``, ``x.relu()`` …, and NumPy ufuncs record primitives) and runs reverse mode over
the trace. :class:`Value` is a micrograd-compatible scalar whose ``backward()`` lays its graph out as
an adcli trace and sweeps it, without recursion. Nothing here needs typer or rich.
"""

from __future__ import annotations

import html
import inspect
import numbers
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from adcli.errors import InputError
from adcli.trace import Trace

Wrt = str | Sequence[str] | None


# ---------------------------------------------------------------- tracing a Python function
def trace(f: Callable, /, **point: Any) -> Trace:
    """The trace of ``f`` recorded at ``point`` (one keyword per parameter: a number, a list or a
    NumPy array). ``str(trace)`` and ``trace.text()`` are the Wengert list; in Jupyter it shows as a table."""
    return _record(f, (), point)[0]


def _record(f: Callable, args: tuple, kwargs: dict,
            path: bool = False) -> tuple[Trace, dict[str, float], dict[str, Any]]:
    """Run ``f`` on traced values: the trace, the flattened point and each parameter's value (with
    ``path``, the trace also keeps the comparisons and counts its path depended on, as a function
    file's does)."""
    from adcli.function_file import _bind, _set_outputs
    from adcli.tracer import Recorder, recording

    name = getattr(f, "__name__", "f")
    parameters = list(inspect.signature(f).parameters.values())
    bound = bind_arguments(f, name, args, kwargs)
    numpy = sys.modules.get("numpy")
    arrays = {key for key, value in bound.items() if not _is_number(value) and numpy is not None
              and isinstance(value, numpy.ndarray)}
    try:
        assigned = {key: [float(v) for v in value] if isinstance(value, (list, tuple)) or key in arrays
                    else float(value) for key, value in bound.items()}
    except (TypeError, ValueError):
        raise _not_numbers(name) from None
    trace = Trace(source=name)
    recorder = Recorder(trace)
    arguments, point = _bind(parameters, assigned, recorder, name, arrays)
    with recording(recorder):
        result = f(**arguments)
        _set_outputs(trace, recorder, result, name, name)
    if path:
        trace.notes.extend(recorder.branch_notes())
        trace.controls = recorder.control_flow()
        trace.recorded_at = [point[name] for name in trace.input_names]
        trace.recorded_values = recorder.values
    return trace, point, bound


def bind_arguments(f: Callable, name: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The arguments of a call of ``f`` by parameter name. The point's inputs are named after the
    parameters, so ``*args`` and ``**kwargs`` parameters, which have no name per value, are refused."""
    signature = inspect.signature(f)
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            star = "*" if parameter.kind == parameter.VAR_POSITIONAL else "**"
            raise InputError(f"{name}(): adcli names each input after its parameter, and {star}{parameter.name} "
                             f"names none; write the parameters out ({name}(x, y)) or take a list "
                             f"({name}(xs) called with [2.0, 3.0])")
    try:
        return signature.bind(*args, **kwargs).arguments
    except TypeError as error:
        raise InputError(f"{name}(): {error}") from None


def _not_numbers(name: str) -> InputError:
    return InputError(f"{name}(): every argument must be a number, or a list or array of numbers")


def _is_number(value: Any) -> bool:
    """One number as a parameter's value: a Python int or float, a NumPy scalar (``np.float32(2)``,
    ``np.int64(2)``) or a 0-d array."""
    return isinstance(value, numbers.Real) or getattr(value, "shape", None) == ()


def _wrt_names(bound: dict[str, Any], wrt: Wrt) -> list[str]:
    names = list(bound) if wrt is None else [wrt] if isinstance(wrt, str) else list(wrt)
    for name in names:
        if name not in bound:
            raise InputError(f"wrt: no parameter '{name}' was given (given: {', '.join(bound)})")
    return names


def _shaped(bound: dict[str, Any], names: list[str], flat: dict[str, float]) -> list:
    """Per parameter in ``names``, its part of ``flat`` (input name -> number) in its own shape:
    a float, a list, or a NumPy array."""
    parts: list[Any] = []
    for name in names:
        value = bound[name]
        if _is_number(value):
            parts.append(flat[name])
            continue
        entries = [flat[f"{name}[{k}]"] for k in range(len(value))]
        parts.append(type(value)(entries) if isinstance(value, (list, tuple)) else sys.modules["numpy"].array(entries))
    return parts


class Gradients(tuple):
    """The gradient with respect to several parameters: a tuple, one entry per parameter (a float,
    or a list or array for a list or array parameter), shown as a table in Jupyter."""

    names: tuple[str, ...]

    def __new__(cls, values: Iterable, names: Iterable[str]) -> Gradients:
        result = super().__new__(cls, values)
        result.names = tuple(names)
        return result

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>∂/∂{html.escape(name)}</td><td>{html.escape(repr(value))}</td></tr>"
                       for name, value in zip(self.names, self))
        return f"<table><tr><th>input</th><th>gradient</th></tr>{rows}</table>"


def _one_output(trace: Trace, what: str) -> None:
    if len(trace.outputs) != 1:
        raise InputError(f"{what} needs a function with one output; it has {len(trace.outputs)} (use adcli.jacobian)")


def value_and_grad(f: Callable, wrt: Wrt = None, mode: str = "reverse") -> Callable[..., tuple[float, Any]]:
    """A function returning ``(f(*args), gradient)``; see :func:`grad` for the gradient's form."""
    from adcli.analysis import gradient

    def evaluate(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        trace, point, bound = _record(f, args, kwargs)
        _one_output(trace, "grad")
        names = _wrt_names(bound, wrt)
        inputs = [n for n in trace.input_names if n.partition("[")[0] in names]
        result = gradient(trace, point, mode=mode, wrt=inputs)
        parts = _shaped(bound, names, result.gradients[0])
        value = result.evaluated.output_values[0]
        return value, parts[0] if isinstance(wrt, str) or (wrt is None and len(names) == 1) else Gradients(parts, names)

    return evaluate


def grad(f: Callable, wrt: Wrt = None, mode: str = "reverse") -> Callable[..., Any]:
    """A function computing the gradient of ``f`` (one output) at its arguments.

    ``wrt`` names the parameters to differentiate by (default: all). The gradient with respect to
    one parameter (``wrt="x"``, or a function of one parameter) is a float, a list or a NumPy array
    shaped as the argument; with respect to several, a tuple of those (:class:`Gradients`)::

        >>> adcli.grad(lambda x, y: x*y + 1)(2.0, 3.0)
        (3.0, 2.0)
    """
    value_and_gradient = value_and_grad(f, wrt, mode)
    return lambda *args, **kwargs: value_and_gradient(*args, **kwargs)[1]


def compile(f: Callable, wrt: Wrt = None) -> Compiled:  # noqa: A001  # (jax.jit's role, torch.compile's name)
    """``f`` recorded once, optimised (:mod:`adcli.optimize`), and returned as a value-and-gradient
    function, as :func:`value_and_grad` returns, that reuses the recording.

    Each call checks the guards of the recording (every comparison and count the path of ``f``
    depended on); at a point where ``f`` takes another path, ``f`` is recorded again there, and the
    paths recorded so far are kept. ``compiled.retraces`` counts those re-recordings (``repr``
    shows it). Called with NumPy arrays of points (one number per point for each parameter,
    broadcast together), it returns arrays of values and gradients, computed by the batch mode
    (:mod:`adcli.batch`) path by path, NaN where ``f`` is undefined::

        >>> step = adcli.compile(lambda x: x * x if x > 0 else -x)
        >>> step(3.0), step(2.0), step(-1.0)
        ((9.0, 6.0), (4.0, 4.0), (1.0, -1.0))
        >>> step.retraces
        1
    """
    return Compiled(f, wrt)


class Compiled:
    """A function compiled by :func:`compile`: call it as ``f``; it returns ``(value, gradient)``."""

    def __init__(self, f: Callable, wrt: Wrt = None) -> None:
        self.f = f
        self.wrt = wrt
        self.traces: list[Trace] = []  # one optimised trace per path met, the last used first
        self.retraces = 0  # recordings after the first: points that took a path not met before
        self.__name__ = getattr(f, "__name__", "f")
        self.__doc__ = getattr(f, "__doc__", None)

    def __repr__(self) -> str:
        paths = len(self.traces)
        return (f"<adcli.compile({self.__name__}): {paths} path{'s' if paths != 1 else ''} recorded, "
                f"{self.retraces} re-recording{'s' if self.retraces != 1 else ''}>")

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        from adcli.analysis import gradient

        bound = bind_arguments(self.f, self.__name__, args, kwargs)
        numpy = sys.modules.get("numpy")
        if numpy is not None and any(isinstance(v, numpy.ndarray) and v.ndim for v in bound.values()):
            return self._on_arrays(bound)
        trace, point = self._trace_at(bound, args, kwargs)
        _one_output(trace, "compile")
        names = _wrt_names(bound, self.wrt)
        inputs = [n for n in trace.input_names if n.partition("[")[0] in names]
        result = gradient(trace, point, wrt=inputs)
        return result.evaluated.output_values[0], self._shaped(bound, names, result.gradients[0])

    def _shaped(self, bound: dict[str, Any], names: list[str], flat: dict[str, Any]) -> Any:
        parts = _shaped(bound, names, flat)
        return parts[0] if isinstance(self.wrt, str) or (self.wrt is None and len(names) == 1) \
            else Gradients(parts, names)

    def _trace_at(self, bound: dict[str, Any], args: tuple = (), kwargs: dict | None = None
                  ) -> tuple[Trace, dict[str, float]]:
        """A recorded path that the point takes (the last used first), or a new recording there."""
        from adcli.branches import departure
        from adcli.errors import EvaluationError
        from adcli.evaluate import evaluate

        point = _flat_point(bound, self.__name__)
        for k, trace in enumerate(self.traces):
            if set(trace.input_names) != set(point):
                continue
            try:
                values = evaluate(trace, [point[name] for name in trace.input_names])
            except EvaluationError:
                continue  # undefined on this path: the point's own path (or error) is found by recording
            if departure(trace, values) is None:
                self.traces.insert(0, self.traces.pop(k))
                return trace, point
        from adcli.optimize import optimize

        recorded, point, _ = _record(self.f, args, kwargs if kwargs is not None else dict(bound), path=True)
        if self.traces:
            self.retraces += 1
        self.traces.insert(0, optimize(recorded))
        return self.traces[0], point

    def _on_arrays(self, bound: dict[str, Any]) -> tuple[Any, Any]:
        """Value and gradient at every point of arrays of points, path by path (:mod:`adcli.batch`)."""
        import numpy as np

        from adcli.batch import evaluate_batch, evaluate_paths

        if any(isinstance(v, (list, tuple)) for v in bound.values()):
            raise InputError(f"{self.__name__}(): with arrays of points, every parameter takes one number per point")
        shape = np.broadcast_shapes(*(np.shape(v) for v in bound.values()))
        columns: dict[str, np.ndarray | float] = {
            name: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for name, v in bound.items()}
        names = _wrt_names(bound, self.wrt)
        if not np.prod(shape, dtype=int):  # no points: nothing to record, empty results
            return np.zeros(shape), self._shaped({n: 0.0 for n in names}, names, {n: np.zeros(shape) for n in names})
        first = {name: float(np.ravel(column)[0]) for name, column in columns.items()}
        trace, _ = self._trace_at(first)
        _one_output(trace, "compile")
        if trace.controls or trace.notes:
            batch = evaluate_paths(trace, columns, lambda point: self._trace_at(dict(point))[0])
        else:
            batch = evaluate_batch(trace, columns)
        gradient = {name: batch.gradients[0][name].reshape(shape) for name in names}
        return batch.values[0].reshape(shape), self._shaped({n: 0.0 for n in names}, names, gradient)


def _flat_point(bound: dict[str, Any], function: str) -> dict[str, float]:
    """The point as the trace's inputs name it: ``x``, and ``w[0]``, ``w[1]`` … for a list ``w``
    (``function``: the name that errors give)."""
    point: dict[str, float] = {}
    for name, value in bound.items():
        try:
            if _is_number(value):
                point[name] = float(value)
            else:
                point.update((f"{name}[{k}]", float(v)) for k, v in enumerate(value))
        except (TypeError, ValueError):
            raise _not_numbers(function) from None
    return point


def jacobian(f: Callable, wrt: Wrt = None, mode: str = "reverse") -> Callable[..., list[list[float]]]:
    """A function computing the Jacobian of ``f``: one row per output, one column per input of the
    ``wrt`` parameters (default all; list and array parameters give a column per entry)."""
    from adcli.analysis import gradient

    def evaluate(*args: Any, **kwargs: Any) -> list[list[float]]:
        trace, point, bound = _record(f, args, kwargs)
        names = _wrt_names(bound, wrt)
        inputs = [n for n in trace.input_names if n.partition("[")[0] in names]
        result = gradient(trace, point, mode=mode, wrt=inputs)
        return [[row[n] for n in inputs] for row in result.gradients]

    return evaluate


def hessian(f: Callable, wrt: Wrt = None) -> Callable[..., list[list[float]]]:
    """A function computing the Hessian of ``f`` (one output) by forward-over-reverse AD: an n×n
    list of rows over the inputs of the ``wrt`` parameters (default all)."""
    from adcli.hessian import hessian as compute

    def evaluate(*args: Any, **kwargs: Any) -> list[list[float]]:
        trace, point, bound = _record(f, args, kwargs)
        _one_output(trace, "hessian")
        names = _wrt_names(bound, wrt)
        keep = [k for k, n in enumerate(trace.input_names) if n.partition("[")[0] in names]
        matrix = compute(trace, point).matrix
        assert matrix is not None  # dense: the library's default
        return [[matrix[i][j] for j in keep] for i in keep]

    return evaluate


# ---------------------------------------------------------------- Jupyter
def trace_html(trace: Trace) -> str:
    """The Wengert list as an HTML table (a trace's ``_repr_html_``)."""
    lines = trace.text().splitlines()
    rows = "".join("<tr><td><code>{}</code></td><td><code>{}</code></td></tr>".format(
        *(html.escape(part.strip()) for part in line.partition(" = ")[::2])) for line in lines[:-1])
    return (f"<table><tr><th>node</th><th>operation</th></tr>{rows}</table>"
            f"<p><code>{html.escape(lines[-1])}</code></p>")


class Picture:
    """A trace's graph for Jupyter: SVG drawn by Graphviz when its ``dot`` is installed, and
    otherwise Mermaid text (which Jupyter renders as a diagram in Markdown)."""

    def __init__(self, trace: Trace, at: dict[str, Any] | None = None) -> None:
        from adcli.graph import graph_data

        self.data = graph_data(trace, at)

    @property
    def mermaid(self) -> str:
        from adcli.graph import to_mermaid

        return to_mermaid(self.data, edge_labels=True)

    def _repr_svg_(self) -> str | None:
        if shutil.which("dot") is None:
            return None
        from adcli.graph import to_svg

        return to_svg(self.data, edge_labels=True).decode()

    def _repr_markdown_(self) -> str | None:
        return None if shutil.which("dot") else f"```mermaid\n{self.mermaid}```"


def graph(trace: Trace, at: dict[str, Any] | None = None) -> Picture:
    """The computational graph of ``trace`` (with its values and adjoints at the point ``at``)."""
    return Picture(trace, at)


# ---------------------------------------------------------------- micrograd's Value
class Value:
    """A micrograd-compatible scalar: ``Value(2.0)``, arithmetic, ``**``, ``.relu()``, ``.tanh()``,
    ``.exp()``; ``.data`` and ``.grad``; ``.backward()`` fills the ``grad`` of every value it depends on.

    Each operation records its adcli primitive and arguments; ``backward`` lays the graph out as an
    adcli :class:`~adcli.trace.Trace` (:meth:`to_trace`) and runs adcli's reverse sweep over it, so
    derivatives follow the primitive registry's rules, and deep graphs need no recursion.
    """

    __slots__ = ("data", "grad", "_op", "_args", "label")

    def __init__(self, data: float, _children: tuple = (), _op: str = "", label: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._op = _op  # the primitive's name, "" for a leaf
        self._args: tuple = tuple(_children)  # Values, or plain numbers (constants)
        self.label = label

    @property
    def _prev(self) -> set[Value]:
        """The Values this one was computed from (micrograd's name)."""
        return {arg for arg in self._args if isinstance(arg, Value)}

    def _apply(self, name: str, *args: Any) -> Value:
        from adcli import scalar
        from adcli.primitives import BY_NAME

        for arg in args:
            if not isinstance(arg, (Value, int, float)):
                return NotImplemented
        plain = [arg.data if isinstance(arg, Value) else float(arg) for arg in args]
        primitive = BY_NAME[name]
        try:
            return Value(primitive.evaluate(scalar, *plain), args, name)
        except (ArithmeticError, ValueError):
            from adcli.evaluate import operation_error_class, operation_message

            # the reason alone (``pow is undefined at base -2, exponent 0.5``): a Value has no node name
            message = operation_message(primitive, "v", ["x", "y"][:len(plain)], plain, [True] * len(plain))
            raise operation_error_class(primitive, plain)(message.split(": ", 1)[1]) from None

    def __add__(self, other): return self._apply("add", self, other)
    def __radd__(self, other): return self._apply("add", other, self)
    def __sub__(self, other): return self._apply("sub", self, other)
    def __rsub__(self, other): return self._apply("sub", other, self)
    def __mul__(self, other): return self._apply("mul", self, other)
    def __rmul__(self, other): return self._apply("mul", other, self)
    def __truediv__(self, other): return self._apply("div", self, other)
    def __rtruediv__(self, other): return self._apply("div", other, self)
    def __pow__(self, other): return self._apply("pow", self, other)
    def __rpow__(self, other): return self._apply("pow", other, self)
    def __neg__(self): return self._apply("neg", self)
    def __abs__(self): return self._apply("abs", self)

    def relu(self) -> Value: return self._apply("relu", self)
    def tanh(self) -> Value: return self._apply("tanh", self)
    def exp(self) -> Value: return self._apply("exp", self)
    def log(self) -> Value: return self._apply("log", self)
    def sigmoid(self) -> Value: return self._apply("sigmoid", self)
    def sin(self) -> Value: return self._apply("sin", self)
    def cos(self) -> Value: return self._apply("cos", self)
    def sqrt(self) -> Value: return self._apply("sqrt", self)

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def _order(self) -> list[Value]:
        """Every Value this one depends on, each after its arguments (an iterative depth-first search)."""
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            value, done = stack.pop()
            if done:
                order.append(value)
            elif id(value) not in seen:
                seen.add(id(value))
                stack.append((value, True))
                stack.extend((arg, False) for arg in reversed(value._args)
                             if isinstance(arg, Value) and id(arg) not in seen)
        return order

    def _layout(self) -> tuple[Trace, list[float], list[Value], dict[int, int]]:
        from adcli.primitives import BY_NAME

        trace, values, node = Trace(source="Value"), [], {}  # type: ignore[var-annotated]
        order = self._order()
        for value in order:
            if not value._op:
                trace.add_input(value.label or f"x{len(trace.inputs) + 1}")
            else:
                nodes = []
                for arg in value._args:
                    if isinstance(arg, Value):
                        nodes.append(node[id(arg)])
                    else:
                        nodes.append(trace.add_const(float(arg)))
                        values += [float(arg)] * (len(trace) - len(values))
                trace.add_op(BY_NAME[value._op], *nodes)
            node[id(value)] = len(trace) - 1
            values.append(value.data)
        trace.add_output(node[id(self)], self.label or "out")
        return trace, values, order, node

    def to_trace(self) -> Trace:
        """The computation of this value as an adcli trace (its text is the Wengert list)."""
        return self._layout()[0]

    def backward(self) -> None:
        """Fill in ``grad`` of every Value this one depends on (adding to what they hold, as
        micrograd does); this one's own ``grad`` is set to 1."""
        from adcli.sweeps import linearize, reverse_sweep

        trace, values, order, node = self._layout()
        d0, d1 = linearize(trace, values)
        adjoints = reverse_sweep(trace, d0, d1, {trace.outputs[0]: 1.0})
        for value in order:
            value.grad += adjoints[node[id(value)]]
        self.grad = 1.0
