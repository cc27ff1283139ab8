"""``codegen --target numpy``: derivative code vectorised over arrays of points.

The generated module imports only NumPy (and :mod:`math` where a helper needs it). Its
``NAME_grad`` takes one array per input (or a scalar, broadcast) and returns the value array and
the gradient arrays, one NumPy operation per trace node and no Python loop over the points.

It computes what batch mode (:mod:`adcli.batch`) computes, in the same order: each node's value is
its function in :mod:`adcli.vector_math`, NaN where it is undefined or overflows; each partial is
the registry's array rule (``partials_on_arrays``, else ``partials``), run here once on symbolic
arguments (:class:`_Expr`) so that it writes its own NumPy source; the reverse sweep is
:func:`adcli.sweeps.reverse_steps` itself, run on symbolic adjoints, so it skips and multiplies
exactly where the batch sweep does (a float adjoint or partial is multiplied here, at generation
time, as the batch multiplies it). The helpers the code calls are :mod:`adcli.vector_math`'s own
functions, inlined with :mod:`inspect`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import numpy as np

from adcli import vector_math
from adcli.codegen import _doc_source, _function, _parameters, _with_respect_to, path_checks, source_names
from adcli.errors import InputError
from adcli.primitives import BY_NAME, CONST, FIRST_PRIMITIVE, INPUT, PRIMITIVES
from adcli.sweeps import reverse_steps
from adcli.trace import Trace

_ATOM = 9
_OPERATORS = {np.add: ("{0} + {1}", 5), np.subtract: ("{0} - {1}", 5), np.multiply: ("{0} * {1}", 6),
              np.divide: ("{0} / {1}", 6), np.negative: ("-{0}", 7)}


def _number(value: float) -> tuple[str, int]:
    """A Python number as NumPy source, with its binding strength (``-2.0`` binds as a unary minus)."""
    if math.isnan(value):
        return "np.nan", _ATOM
    if math.isinf(value):
        return ("np.inf", _ATOM) if value > 0 else ("-np.inf", 7)
    text = repr(value)
    return text, 7 if text.startswith("-") else _ATOM


class _Expr:
    """A NumPy expression recorded while a registry rule runs on it: a leaf (a node's name, a
    literal) or an operation on other expressions and numbers. Arithmetic, comparisons, ``&``,
    ``|``, ``~`` and indexing record; nothing is computed."""

    def __init__(self, template: str, operands: tuple = (), strength: int = _ATOM,
                 node: int | None = None, literal: float | None = None) -> None:
        self.template, self.operands, self.strength = template, operands, strength
        self.node, self.literal = node, literal  # the trace node it names; the number a literal leaf holds
        self.uses = 0
        self.text = template if not operands else ""  # set when rendered

    def _op(self, template: str, strength: int, *operands) -> _Expr:
        return _Recorder.active.operation(template, strength, operands)

    def __add__(self, other): return self._op("{0} + {1}", 5, self, other)
    def __radd__(self, other): return self._op("{0} + {1}", 5, other, self)
    def __sub__(self, other): return self._op("{0} - {1}", 5, self, other)
    def __rsub__(self, other): return self._op("{0} - {1}", 5, other, self)
    def __mul__(self, other): return self._op("{0} * {1}", 6, self, other)
    def __rmul__(self, other): return self._op("{0} * {1}", 6, other, self)
    def __truediv__(self, other): return self._op("{0} / {1}", 6, self, other)
    def __rtruediv__(self, other): return self._op("{0} / {1}", 6, other, self)
    def __floordiv__(self, other): return self._op("{0} // {1}", 6, self, other)
    def __rfloordiv__(self, other): return self._op("{0} // {1}", 6, other, self)
    def __neg__(self): return self._op("-{0}", 7, self)
    def __invert__(self): return self._op("~{0}", 7, self)
    def __and__(self, other): return self._op("{0} & {1}", 4, self, other)
    def __rand__(self, other): return self._op("{0} & {1}", 4, other, self)
    def __or__(self, other): return self._op("{0} | {1}", 3, self, other)
    def __ror__(self, other): return self._op("{0} | {1}", 3, other, self)
    def __lt__(self, other): return self._op("{0} < {1}", 2, self, other)
    def __le__(self, other): return self._op("{0} <= {1}", 2, self, other)
    def __gt__(self, other): return self._op("{0} > {1}", 2, self, other)
    def __ge__(self, other): return self._op("{0} >= {1}", 2, self, other)
    def __eq__(self, other): return self._op("{0} == {1}", 2, self, other)  # type: ignore[override]
    def __ne__(self, other): return self._op("{0} != {1}", 2, self, other)  # type: ignore[override]
    def __getitem__(self, index): return self._op(f"{{0}}[{index:d}]", _ATOM, self)
    __hash__ = object.__hash__

    def __bool__(self):
        raise TypeError("a rule that branches in Python has no NumPy form (give it partials_on_arrays)")


class _Recorder:
    """The operations recorded while one rule (or one node's value) runs on :class:`_Expr` arguments,
    and the statements that compute them: an operation used more than once gets a temporary name."""

    active: _Recorder  # the recorder of the rule running now (leaves record their operations there)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.operations: list[_Expr] = []

    def operation(self, template: str, strength: int, operands: tuple) -> _Expr:
        """Record ``template`` applied to ``operands`` (expressions or numbers), binding as ``strength``."""
        if all(not isinstance(o, _Expr) or o.literal is not None for o in operands):
            # numbers only: a literal becomes a NumPy scalar, which divides by zero as the arrays do
            operands = tuple(_Expr(f"np.float64({o.template})") if isinstance(o, _Expr) else o
                             for o in operands)
        for operand in operands:
            if isinstance(operand, _Expr):
                operand.uses += 1
        expression = _Expr(template, operands, strength)
        self.operations.append(expression)
        return expression

    def call(self, function: str, args: tuple) -> _Expr:
        """Record the call ``function(*args)``."""
        return self.operation(function + "(" + ", ".join(f"{{{k}}}" for k in range(len(args))) + ")", _ATOM, args)

    def statements(self, results: list) -> tuple[list[str], list[str]]:
        """The statements that compute ``results`` (expressions or numbers), and each result's source."""
        needed = {id(r) for r in results if isinstance(r, _Expr)}
        for expression in reversed(self.operations):
            if id(expression) in needed:
                needed.update(id(o) for o in expression.operands if isinstance(o, _Expr))
        lines: list[str] = []
        for expression in self.operations:
            if id(expression) not in needed:
                continue
            expression.text = expression.template.format(*(_operand(expression, k) for k in
                                                           range(len(expression.operands))))
            if expression.uses > 1:
                name = f"{self.prefix}_t{len(lines)}"
                lines.append(f"{name} = {expression.text}")
                expression.text, expression.strength = name, _ATOM
        return lines, [r.text if isinstance(r, _Expr) else _number(r)[0] for r in results]


def _operand(expression: _Expr, k: int) -> str:
    """Operand ``k`` of ``expression`` as source, in parentheses where Python's precedence needs them."""
    operand = expression.operands[k]
    text, strength = (operand.text, operand.strength) if isinstance(operand, _Expr) else _number(operand)
    parent = expression.strength
    if parent == _ATOM:  # a call's argument or an indexed value
        tight = expression.template.endswith("]") and strength < _ATOM
    else:
        tight = strength < parent or (strength == parent and (k == 1 or parent == 2))
    return f"({text})" if tight else text


class _Namespace:
    """The math namespace ``m`` of the registry's rules, writing NumPy source: ``m.cos(x)`` records
    ``np.cos(x)``, or the node that already holds ``cos(x)`` (as :class:`adcli.vectorized.Reuse`
    looks it up), ``m.sigmoid`` the helper ``_sigmoid`` inlined from :mod:`adcli.vector_math`, and
    ``m.np.frexp`` NumPy's own."""

    def __init__(self, emitter: _NumpyEmitter, module=vector_math, reuse: bool = True) -> None:
        self.emitter, self.module, self.reuse = emitter, module, reuse
        self.recorder = _Recorder("")

    @property
    def np(self) -> _Namespace:
        inner = _Namespace(self.emitter, np)
        inner.recorder = self.recorder
        return inner

    def __getattr__(self, name: str) -> Callable:
        function = getattr(self.module, name)
        if function in _OPERATORS:
            template, strength = _OPERATORS[function]
            return lambda *args: self.recorder.operation(template, strength, args)
        source = self.emitter.function_source(function) if self.module is vector_math else f"np.{name}"
        primitive = BY_NAME.get(name) if self.module is vector_math else None
        computed = self.emitter.computed if self.reuse else {}

        def call(*args):
            if primitive is not None and primitive.arity == 1 and isinstance(args[0], _Expr) \
                    and args[0].node is not None and (primitive.opcode, args[0].node) in computed:
                return computed[primitive.opcode, args[0].node]
            return self.recorder.call(source, args)

        return call


def generate_numpy(trace: Trace, mode: str, name: str, wrt: list[str] | None, header: list[str]) -> str:
    """The module of ``codegen --target numpy`` (reverse mode only), below ``header``'s comment lines."""
    if mode != "reverse":
        raise InputError("--target numpy writes reverse mode (one sweep for the whole gradient); "
                         "--mode forward is for --target python", option="mode", value=mode)
    emitter = _NumpyEmitter(trace, wrt)
    body = emitter.function(name)
    helpers = [emitter.helpers[key] for key in sorted(emitter.helpers)]
    imports = ["import math"] if any("math." in h for h in helpers) else []
    return "\n".join([*header, *imports, "import numpy as np", "", "",
                      *(h + "\n\n" for h in helpers), body]).rstrip() + "\n"


class _NumpyEmitter:
    """Writes one trace's ``NAME_grad``: its statements, and the helpers they call (``helpers``, by
    name, emitted once each)."""

    def __init__(self, trace: Trace, wrt: list[str] | None) -> None:
        self.trace = trace
        self.wrt = list(trace.input_names) if wrt is None else wrt
        self.input_node = dict(zip(trace.input_names, trace.inputs))
        self.parameters, self.input_source = _parameters(trace)
        printed = source_names(trace, self.parameters)
        # a constant goes by its literal (np.pi, 2.0): _leaf reads no name for it
        self.names = [n if trace.op[i] != CONST else self._leaf(i).template for i, n in enumerate(printed)]
        self.helpers: dict[str, str] = {"defined": _DEFINED, "finish": _FINISH, "times": _TIMES}
        self.computed: dict[tuple[int, int], _Expr] = {}  # (opcode, argument node) -> the node's value
        for i, code in enumerate(trace.op):
            if code >= FIRST_PRIMITIVE and PRIMITIVES[code].arity == 1:
                self.computed.setdefault((code, trace.arg0[i]), self._leaf(i))

    def function_source(self, function) -> str:
        """How the code calls ``function`` of :mod:`adcli.vector_math`: NumPy's own, or a helper
        defined in the module from vector_math's source."""
        name = function.__name__
        if getattr(np, name, None) is function:
            return f"np.{name}"
        if function.__qualname__ != name:  # made by vector_math._elementwise from math's function
            self.helpers["elementwise"] = inspect.getsource(vector_math._elementwise).rstrip()
            self.helpers[name] = f"_{name} = _elementwise(math.{name})"
        else:
            self.helpers[name] = inspect.getsource(function).replace(f"def {name}(", f"def _{name}(", 1).rstrip()
        return f"_{name}"

    def _leaf(self, node: int) -> _Expr:
        """A node as a rule's argument: its name, or a constant's literal."""
        if self.trace.op[node] == CONST:
            label = self.trace.literal_label.get(node)
            value = self.trace.literal[node]
            text, strength = (f"np.{label}", _ATOM) if label else _number(value)
            return _Expr(text, strength=strength, literal=value)
        return _Expr(self.names[node], node=node)

    def _run(self, node: int, rule: Callable, reuse: bool = True) -> tuple[list[str], list[str], list]:
        """``rule(m, *args, out)`` recorded at ``node``: its statements, the source of its results, the results."""
        m = _Namespace(self, reuse=reuse)
        m.recorder.prefix = self.names[node]
        _Recorder.active = m.recorder
        args = [self._leaf(a) for a in self.trace.args(node)]
        results = list(rule(m, *args, self._leaf(node)))
        lines, texts = m.recorder.statements(results)
        return lines, texts, results

    def value(self, node: int) -> list[str]:
        """The statements that compute a node's value: its vector_math function, NaN where undefined."""
        primitive = PRIMITIVES[self.trace.op[node]]
        lines, texts, _ = self._run(node, lambda m, *args: (primitive.evaluate(m, *args[:-1]),), reuse=False)
        args = ", ".join(self._leaf(a).template for a in self.trace.args(node))
        return lines + [f"{self.names[node]} = _defined({texts[0]}, {args})"]

    def function(self, name: str) -> str:
        """The source of ``NAME_grad``: the inputs as arrays, each node's value (and the path checks after
        it), the partials the sweep needs, then the sweep as a nested function ``_finish`` runs."""
        trace, names = self.trace, self.names
        lines = [f"{names[i]} = np.asarray({self.input_source[i]}, dtype=float)" for i in trace.inputs]
        lines.append(f"shape = np.broadcast_shapes({', '.join(f'np.shape({names[i]})' for i in trace.inputs)})")
        checks: dict[int, list[str]] = {}
        point = "{" + ", ".join(f"{n!r}: {names[i]}" for n, i in zip(trace.input_names, trace.inputs)) + "}"
        for node, condition, negate, where, sides in path_checks(trace, names):
            off = f"~({condition})" if negate else f"({condition})"
            guard = f"lost |= _guard({off}, {where!r}, ({', '.join(sides)},), shape, {point})"
            checks.setdefault(node, []).append(guard)
        if checks:
            self.helpers["retrace"] = _RETRACE_ARRAYS
            lines.append("lost = np.zeros(shape, dtype=bool)  # points where a compared value is NaN")
        for i, code in enumerate(trace.op):
            if code >= FIRST_PRIMITIVE:
                lines += self.value(i)
            lines += checks.get(i, ())
        sweep = self._sweep(lines)
        output = trace.outputs[0]
        lost = "lost" if checks else "False"
        doc = (f'"""Value and gradient{_with_respect_to(None if self.wrt == list(trace.input_names) else self.wrt)}'
               f' of {_doc_source(trace)} at arrays of points (broadcast), by reverse-mode AD."""')
        body = lines + ["", "def sweep(zero_times_inf):", *(f"    {line}" for line in sweep)]
        value = names[output] if trace.op[output] != CONST else self._leaf(output).template
        with_errors = ["with np.errstate(all=\"ignore\"):", *(f"    {line}" if line else "" for line in body),
                       f"    return _finish({value}, sweep, shape, {lost})"]
        return "\n".join(line.rstrip() for line in
                         _function(f"{name}_grad", self.parameters, doc, with_errors, "").splitlines()).rstrip()

    def _sweep(self, partial_lines: list[str]) -> list[str]:
        """The reverse sweep's statements (the partials it needs go to ``partial_lines``), then its return."""
        trace, names = self.trace, self.names
        lines: list[str] = []
        partials: dict[int, tuple] = {}
        wanted = self._reaches_gradient()

        def partials_at(i: int) -> tuple:
            if i not in partials:
                primitive = PRIMITIVES[trace.op[i]]
                statements, texts, results = self._run(i, primitive.partials_on_arrays or primitive.partials)
                partial_lines.extend(statements)
                row: list[float | _Source] = []
                for k, (a, text, result) in enumerate(zip(trace.args(i), texts, results)):
                    if trace.op[a] == CONST or not wanted[a]:
                        row.append(0.0)  # no adjoint (a constant's partial is 0 in the batch too)
                    elif isinstance(result, _Expr) and result.literal is not None:
                        row.append(_Source(text))  # an array in the batch: multiplied even if it is 0 or 1
                    elif isinstance(result, _Expr):
                        if not text.isidentifier():
                            partial_lines.append(f"{names[i]}_d{k} = {text}")
                            text = f"{names[i]}_d{k}"
                        row.append(_Source(text))
                    else:
                        row.append(float(result))
                partials[i] = tuple(row)
            return partials[i]

        def times(g, partial):
            if isinstance(partial, float) and partial in (1.0, -1.0):
                return g if partial == 1.0 else (-g if isinstance(g, float) else _Source(f"-{g}"))
            if isinstance(g, float) and isinstance(partial, float):
                return g * partial
            if isinstance(partial, float):
                return _Source(f"{g} * {_number(partial)[0]}" if math.isfinite(partial) else
                               f"_times({g}, {_number(partial)[0]}, zero_times_inf)")
            if g == 1.0:
                return partial  # 1.0 * p is p, bit for bit
            if isinstance(g, float):
                return _Source(f"{_number(g)[0]} * {partial}")
            return _Source(f"_times({g}, {partial}, zero_times_inf)")

        def add_to(adjoint: list, node: int, contribution) -> None:
            old = adjoint[node]
            if isinstance(old, float) and not old:
                if isinstance(contribution, float):
                    adjoint[node] = contribution
                    return
                text = str(contribution)
            elif isinstance(old, float) and isinstance(contribution, float):
                adjoint[node] = old + contribution
                return
            else:
                right = _number(contribution)[0] if isinstance(contribution, float) else str(contribution)
                left = _number(old)[0] if isinstance(old, float) else str(old)
                text = f"{left} + {right}" if not right.startswith("-") else f"{left} + ({right})"
            lines.append(f"{names[node]}_bar = {text}")
            adjoint[node] = _Source(f"{names[node]}_bar")

        adjoint: list = [0.0] * len(trace)
        output = trace.outputs[0]
        adjoint[output] = 1.0
        steps = [i for i in range(len(trace) - 1, -1, -1) if trace.op[i] >= FIRST_PRIMITIVE]
        reverse_steps(trace.arg0, trace.arg1, steps, partials_at, adjoint, times, add_to)
        gradient = [adjoint[self.input_node[n]] for n in self.wrt]
        texts = [_number(g)[0] if isinstance(g, float) else str(g) for g in gradient]
        return lines + [f"return ({', '.join(texts)}{',' if len(texts) == 1 else ''})"]

    def _reaches_gradient(self) -> list[bool]:
        """Per node: does it depend on an input of the gradient (only those need an adjoint)?"""
        trace = self.trace
        flags = [False] * len(trace)
        for name in self.wrt:
            flags[self.input_node[name]] = True
        for i, code in enumerate(trace.op):
            if code not in (INPUT, CONST):
                flags[i] = any(flags[a] for a in trace.args(i))
        return flags


class _Source(str):
    """Source text of an array in the sweep (a float there is a number known when generating)."""


_DEFINED = '''def _defined(result, *args):
    """result, with NaN where it is not finite though its arguments are (undefined, or an overflow)."""
    if np.isfinite(result).all():
        return result
    bad = ~np.isfinite(result)
    for a in args:
        bad &= np.isfinite(a)
    return np.where(bad, np.nan, result) if np.any(bad) else result'''

_TIMES = '''def _times(g, partial, zero_times_inf):
    """g * partial; with zero_times_inf, 0 where either is 0 and the other infinite (a convention such as
    sqrt'(0))."""
    product = g * partial
    if zero_times_inf and not (np.isfinite(partial).all() and np.isfinite(g).all()):
        product = np.where((np.asarray(g) == 0) | (np.asarray(partial) == 0), 0.0, product)
    return product'''

_FINISH = '''def _array(g, shape):
    """A gradient as a new array of the points' shape; a zero in it is +0, as in adcli's sweeps (a zero
    partial adds nothing to an adjoint that starts at +0)."""
    g = np.array(np.broadcast_to(g, shape), dtype=float)
    g += 0.0
    return g


def _finish(value, sweep, shape, lost):
    """The value and gradient arrays: NaN where the value is undefined. The sweep runs again keeping
    0 * inf at 0 only if a gradient has NaN where the value has none."""
    value = np.array(np.broadcast_to(value, shape), dtype=float)
    value[np.broadcast_to(lost, shape)] = np.nan
    undefined = ~np.isfinite(value)
    gradient = [_array(g, shape) for g in sweep(False)]
    if any(np.isnan(g[~undefined]).any() for g in gradient):
        gradient = [_array(g, shape) for g in sweep(True)]
    for g in gradient:
        g[undefined] = np.nan
    return value, tuple(gradient)'''

_RETRACE_ARRAYS = '''class Retrace(ValueError):
    """The points take another path through the program than the one this code was generated at."""


def _guard(off, where, sides, shape, point):
    """Raise Retrace if a point is off the recorded path; return where a compared value is NaN
    (undefined: its value and gradient are NaN, as in adcli's batch mode)."""
    undefined = np.zeros(shape, dtype=bool)
    for side in sides:
        undefined = undefined | np.isnan(side)
    off = np.broadcast_to(off, shape) & ~undefined
    if off.any():
        first = int(np.flatnonzero(off)[0])
        at = ", ".join(f"{name}={float(np.broadcast_to(v, shape).ravel()[first])!r}" for name, v in point.items())
        raise Retrace(f"this code was generated at the path where {where}; at {np.count_nonzero(off)} of "
                      f"{off.size} points (the first: {at}) the program takes another path: trace it again")
    return undefined'''
