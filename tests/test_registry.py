"""The registry is the only list of primitives: every entry of :data:`adcli.primitives.BY_NAME` is
available everywhere a primitive must be, so adding one without finishing the job fails here.

For each primitive: the three math namespaces (and the traced one) define it; a function file can
call it (``math.<name>`` where :mod:`math` has it, the traced namespace otherwise); codegen emits
it; the SymPy bridge maps it. Values and derivatives are checked against SymPy at 30 digits, an
evaluation independent of adcli's float code.
"""

from __future__ import annotations

import math

import pytest

from adcli import complex_math, scalar, vector_math
from adcli.codegen import generate
from adcli.function_file import trace_function
from adcli.primitives import BY_NAME, PRIMITIVES
from adcli.sympy_bridge import to_sympy
from adcli.trace import Trace
from adcli.tracer import Recorder, recording, traced_math, traced_namespace

sympy = pytest.importorskip("sympy")

EVERY_PRIMITIVE = sorted(BY_NAME)
POINT = {"x": 0.5, "y": 0.25}  # inside every primitive's domain, away from every kink …
OWN_POINT = {"acosh": {"x": 1.5}}  # … but these, defined from 1


def _point(primitive) -> dict[str, float]:
    return OWN_POINT.get(primitive.name, POINT)

MATH_NAMESPACES = {"scalar": scalar, "complex_math": complex_math, "vector_math": vector_math,
                   "traced_namespace": traced_namespace}


def _names(primitive) -> list[str]:
    return ["x", "y"][:primitive.arity]


def _single_node_trace(primitive) -> Trace:
    """The trace of ``primitive`` applied to the inputs x (and y)."""
    trace = Trace(source=primitive.name)
    inputs = [trace.add_input(name) for name in _names(primitive)]
    trace.add_output(trace.add_op(primitive, *inputs), "f")
    return trace


def _sympy_reference(primitive) -> tuple[float, list[float]]:
    """The value and gradient at POINT of the primitive's SymPy counterpart, at 30 digits. A
    piecewise-constant primitive's derivative is 0 away from its jumps (SymPy leaves floor's
    unevaluated)."""
    symbols = [sympy.Symbol(name, real=True) for name in _names(primitive)]
    expr = primitive.sympy(sympy, *symbols)
    at = {s: sympy.Float(_point(primitive)[s.name], 30) for s in symbols}
    value = float(expr.evalf(30, subs=at))
    if primitive.discrete:
        return value, [0.0] * len(symbols)
    return value, [float(sympy.diff(expr, s).evalf(30, subs=at)) for s in symbols]


def test_primitive_table_is_the_registry():
    """The opcode table and the name table hold the same entries, and there is more than a handful."""
    assert [p.name for p in PRIMITIVES[2:]] == list(BY_NAME)
    assert {"add", "sin", "pow", "sigmoid", "max"} <= set(BY_NAME)


@pytest.mark.parametrize("namespace", list(MATH_NAMESPACES))
@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_every_namespace_defines_every_primitive(name, namespace):
    assert callable(getattr(MATH_NAMESPACES[namespace], name)), f"{namespace}.{name} is missing"


@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_every_namespace_computes_the_sympy_value(name):
    primitive = BY_NAME[name]
    expected, _ = _sympy_reference(primitive)
    args = [_point(primitive)[n] for n in _names(primitive)]
    assert primitive.evaluate(scalar, *args) == pytest.approx(expected, rel=1e-15, abs=1e-300)
    assert primitive.evaluate(complex_math, *map(complex, args)).real == pytest.approx(expected, rel=1e-15)
    arrays = [vector_math.np.array([a]) for a in args]
    assert float(primitive.evaluate(vector_math, *arrays)[0]) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_a_function_file_can_call_every_primitive(name, tmp_path):
    """Through ``math.<name>`` when math has the function: the file is traced to that primitive.
    Otherwise through the traced namespace (``abs``, ``max``, the operators, ``sigmoid``…)."""
    primitive = BY_NAME[name]
    expected, _ = _sympy_reference(primitive)
    parameters = ", ".join(_names(primitive))
    if callable(getattr(math, name, None)):
        path = tmp_path / "f.py"
        path.write_text(f"import math\n\n\ndef f({parameters}):\n    return math.{name}({parameters})\n")
        trace, _ = trace_function(str(path), {n: _point(primitive)[n] for n in _names(primitive)}, "f")
        recorded = [trace.primitive(node) for node in range(len(trace))]
        assert recorded[-1] is primitive
    else:
        recorder = Recorder(Trace())
        with recording(recorder):
            args = [recorder.input(n, _point(primitive)[n]) for n in _names(primitive)]
            result = getattr(traced_namespace, name)(*args)
        recorder.flush()
        assert recorder.trace.primitive(result.node) is primitive
        assert result.value == pytest.approx(expected, rel=1e-15)


def test_traced_math_has_every_unary_primitive_math_has():
    """The derived list: every one-argument primitive whose name math also has is traced under it."""
    for primitive in BY_NAME.values():
        if primitive.arity == 1 and callable(getattr(math, primitive.name, None)):
            assert getattr(traced_math, primitive.name) is not getattr(math, primitive.name), primitive.name


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_codegen_emits_every_primitive(name, mode):
    primitive = BY_NAME[name]
    namespace: dict = {}
    exec(compile(generate(_single_node_trace(primitive), mode, "f"), "<adcli codegen>", "exec"), namespace)
    value, gradient = namespace["f_grad"](*(_point(primitive)[n] for n in _names(primitive)))
    expected_value, expected_gradient = _sympy_reference(primitive)
    assert value == pytest.approx(expected_value, rel=1e-15)
    assert list(gradient) == pytest.approx(expected_gradient, rel=1e-14)


@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_sympy_bridge_maps_every_primitive(name):
    primitive = BY_NAME[name]
    trace = _single_node_trace(primitive)
    (expr,) = to_sympy(trace)
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    assert [s.name for s in symbols] == _names(primitive)
    expected, _ = _sympy_reference(primitive)
    assert float(expr.evalf(30, subs={s: sympy.Float(_point(primitive)[s.name], 30) for s in symbols})) == pytest.approx(expected, rel=1e-15)


# ---------------------------------------------------------------- no builtin shadowed

@pytest.mark.parametrize("module", [complex_math, vector_math])
def test_math_namespaces_do_not_shadow_builtins(module):
    """abs, min, max and pow are served under the primitive's name but not defined as module
    globals, so code inside the module that calls abs() gets Python's."""
    for name in ("abs", "min", "max", "pow"):
        assert name not in vars(module), f"{module.__name__} shadows the builtin {name}"
        assert callable(getattr(module, name))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_primitive'"):
        module.no_such_primitive  # noqa: B018 - the lookup is the test


def test_complex_math_builtin_named_primitives():
    """Values worked by hand: they decide on the real part and carry the imaginary part through."""
    assert complex_math.abs(complex(-1, 2)) == complex(1, -2)
    assert complex_math.abs(complex(3, 2)) == complex(3, 2)
    assert complex_math.min(complex(1, 5), complex(2, 7)) == complex(1, 5)
    assert complex_math.max(complex(1, 5), complex(2, 7)) == complex(2, 7)
    assert complex_math.pow(complex(-2, 1), complex(2, 0)) == complex(3, -4)  # (-2 + i)^2 = 4 - 4i - 1


def test_vector_math_builtin_named_primitives():
    np = vector_math.np
    assert vector_math.abs(np.array([-2.0, 3.0])).tolist() == [2.0, 3.0]
    assert vector_math.min(np.array([1.0, 4.0]), np.array([2.0, 3.0])).tolist() == [1.0, 3.0]
    assert vector_math.max(np.array([1.0, 4.0]), np.array([2.0, 3.0])).tolist() == [2.0, 4.0]
    assert vector_math.pow(np.array([-2.0, 4.0]), np.array([3.0, 0.5])).tolist() == [-8.0, 2.0]


@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_every_primitive_has_a_taylor_rule(name):
    """Taylor mode (adcli.taylor) reads each primitive's rule; tests/test_taylor.py checks each
    against SymPy's derivatives at 50 digits."""
    assert callable(BY_NAME[name].taylor), f"{name} has no Taylor rule (Primitive.taylor, adcli.series)"
