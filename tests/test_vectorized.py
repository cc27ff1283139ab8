"""The NumPy path (issue 5) against the float path: every primitive's partials on arrays
(:func:`adcli.vectorized.apply_partials`) against its float rule (``primitive.partials(adcli.scalar, …)``),
the NumPy linearize of long traces against the pure-Python one, and :mod:`adcli.vector_math` against
:mod:`adcli.scalar`.

The references are the float rules and :mod:`math`; the points are random points inside each
primitive's domain plus its kinks and edges (0 for abs/relu/sign/sqrt, ±1 for asin/acos, integers for
floor, ties for min/max, pow at base 0 and at negative bases with integer exponents).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import adcli
import adcli.sweeps
import adcli.vectorized
from adcli import scalar, vector_math
from adcli.primitives import BY_NAME, CONST, PRIMITIVES
from adcli.trace import Trace
from adcli.vectorized import apply_partials

RANDOM_POINTS = 2_000

# The rules of these primitives call a transcendental function themselves (cosh, sinh, pow and log,
# exp for tanh and sigmoid), and NumPy's SIMD versions of those differ from the C library's by an ulp at some points, so
# their array partials are compared within 2 ulp. Every other rule is arithmetic, sqrt, sin or cos, on
# which NumPy and the C library agree bit for bit here: those must match exactly.
RULES_CALLING_NUMPY_TRANSCENDENTALS = {"sinh": 2, "cosh": 2, "pow": 2, "tanh": 2, "sigmoid": 2,
                                       "expm1": 2, "softplus": 2, "erf": 2, "erfc": 2, "asinh": 2,
                                       "hypot": 2}

EVERY_PRIMITIVE = [p.name for p in PRIMITIVES[2:]]


def _uniform(rng: random.Random, lo: float, hi: float, n: int = RANDOM_POINTS) -> list[float]:
    return [rng.uniform(lo, hi) for _ in range(n)]


def _random_args(name: str, rng: random.Random) -> list[tuple[float, ...]]:
    """Random arguments inside the primitive's domain."""
    if name in ("asin", "acos"):
        return [(x,) for x in _uniform(rng, -1.0, 1.0)]
    if name in ("log", "sqrt", "log10", "log2"):
        return [(x,) for x in _uniform(rng, 1e-6, 100.0)]
    if name == "log1p":
        return [(x,) for x in _uniform(rng, -1 + 1e-6, 100.0)]
    if name == "acosh":
        return [(x,) for x in _uniform(rng, 1.0, 100.0)]
    if name == "atanh":
        return [(x,) for x in _uniform(rng, -1.0 + 1e-12, 1.0 - 1e-12)]
    if name in ("exp", "sinh", "cosh"):
        return [(x,) for x in _uniform(rng, -50.0, 50.0)]
    if name in ("tanh", "sigmoid"):
        return [(x,) for x in _uniform(rng, -40.0, 40.0)]
    if name == "div":
        return [(x, y if abs(y) > 1e-3 else 1.0) for x, y in zip(_uniform(rng, -10, 10), _uniform(rng, -10, 10))]
    if name == "pow":
        positive = list(zip(_uniform(rng, 1e-3, 10.0), _uniform(rng, -6.0, 6.0)))
        negative_base = [(-rng.uniform(0.01, 5.0), float(rng.randint(-6, 6))) for _ in range(RANDOM_POINTS // 4)]
        return positive + negative_base
    if name == "floor":
        return [(x,) for x in _uniform(rng, -100.0, 100.0)]
    arity = BY_NAME[name].arity
    if arity == 1:
        return [(x,) for x in _uniform(rng, -20.0, 20.0)]
    return list(zip(_uniform(rng, -20.0, 20.0), _uniform(rng, -20.0, 20.0)))


# Points every primitive of an arity is checked at, so a new primitive is covered without a new
# entry: signed zeros, ±1, ties, tiny and large magnitudes.
_COMMON_EDGES: dict[int, list[tuple[float, ...]]] = {
    1: [(0.0,), (-0.0,), (1.0,), (-1.0,), (0.5,), (-0.5,), (1e-300,), (-1e-300,)],
    2: [(0.0, 0.0), (-0.0, 0.0), (0.0, -0.0), (1.0, 1.0), (-3.0, -3.0), (2.0, 3.0), (3.0, 2.0), (1.0, -1.0)],
}

# The points special to one primitive, chosen by hand: its kinks, the edges of its domain, overflow.
_SPECIAL_EDGES: dict[str, list[tuple[float, ...]]] = {
    "add": [(1e308, 1e308)],
    "mul": [(0.0, 5.0), (-0.0, 3.0), (1e200, 1e-200)],
    "div": [(0.0, 1.0), (1.0, 0.0), (5.0, 1e-300)],
    "pow": [(0.0, 0.5), (0.0, 0.25), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0), (0.0, -1.0), (0.0, -2.0),
            (-0.0, 0.5), (-0.0, 2.0), (1.0, 0.0), (1.0, 0.5), (2.0, 0.0), (-1.0, 2.0), (-1.0, 3.0), (-2.0, 2.0),
            (-2.0, 3.0), (-2.0, -1.0), (-0.5, -2.0), (-3.0, 0.0), (-2.0, 0.5), (4.0, 0.5), (2.0, 10.0)],
    "exp": [(-745.0,), (700.0,)],
    "log": [(5e-324,), (math.e,)],
    "sqrt": [(4.0,), (5e-324,)],
    "sin": [(math.pi,), (math.pi / 2,)],
    "cos": [(math.pi,), (math.pi / 2,)],
    "tan": [(math.pi / 4,), (1.5707963267948966,)],
    "asin": [(0.9999999999999999,), (-0.9999999999999999,)],
    "acos": [(0.9999999999999999,), (-0.9999999999999999,)],
    "atan": [(1e200,), (-1e200,)],
    "tanh": [(20.0,), (-20.0,), (800.0,)],
    "sigmoid": [(40.0,), (-40.0,), (800.0,), (-800.0,)],
    "floor": [(2.0,), (-7.0,), (1e15,)],
    "log1p": [(-0.9999999999999999,), (1e-300,)],
    "erf": [(27.0,), (-26.5,), (1e200,)],
    "erfc": [(27.0,), (-26.5,), (1e200,)],
    "softplus": [(40.0,), (-40.0,), (800.0,), (-800.0,)],
    "asinh": [(1e200,), (-1e200,)],
    "acosh": [(1.0000000000000002,), (1e200,)],
    "atanh": [(0.9999999999999999,), (-0.9999999999999999,)],
    "atan2": [(5e-324, 1e-310), (-1e-310, 5e-324), (1e-310, 0.0), (0.0, -1.0), (-0.0, -1.0), (1e300, 1e-300)],
    "hypot": [(5e-324, 1e-310), (-1e-310, 5e-324), (1e-310, 0.0), (1e300, 1e300), (3.0, 4.0)],
}


def _edges(name: str) -> list[tuple[float, ...]]:
    """The kinks, edges and special points of a primitive: those of its arity and its own."""
    return _COMMON_EDGES[BY_NAME[name].arity] + _SPECIAL_EDGES.get(name, [])


def test_special_edges_name_primitives_of_the_registry():
    assert set(_SPECIAL_EDGES) <= set(EVERY_PRIMITIVE)
    assert {p.arity for p in PRIMITIVES[2:]} <= set(_COMMON_EDGES)


def _scalar_out(primitive, args) -> float:
    try:
        return primitive.evaluate(scalar, *args)
    except (ArithmeticError, ValueError):
        return math.nan


def _same(a: float, b: float, ulps: int) -> bool:
    """Equal (within ``ulps`` when both are finite); inf == inf with its sign; NaN only matches NaN."""
    if math.isfinite(a) and math.isfinite(b):
        return a == b or abs(a - b) <= ulps * math.ulp(b)
    return a == b or (math.isnan(a) and math.isnan(b))


def _compare_partials(name: str, points: list[tuple[float, ...]]) -> None:
    primitive = BY_NAME[name]
    outs = [_scalar_out(primitive, args) for args in points]
    arrays = [np.array(column, dtype=float) for column in zip(*points)]
    got = apply_partials(primitive.opcode, arrays, np.array(outs, dtype=float))
    assert len(got) == primitive.arity
    got = [np.broadcast_to(np.asarray(partial, dtype=float), (len(points),)).tolist() for partial in got]
    ulps = RULES_CALLING_NUMPY_TRANSCENDENTALS.get(name, 0)
    mismatches = []
    for k, args in enumerate(points):
        array_partials = [column[k] for column in got]
        try:
            float_partials = primitive.partials(scalar, *args, outs[k])
        except (ArithmeticError, ValueError):
            # The float rule refuses (1/0, 0 to a negative power): the array rule must give inf or NaN,
            # which is what sends linearize back to the float rule to raise the node's error.
            assert not all(math.isfinite(p) for p in array_partials), (name, args, array_partials)
            continue
        for j, (a, f) in enumerate(zip(array_partials, float_partials)):
            if not _same(a, float(f), ulps):
                mismatches.append((args, j, a, f))
    assert mismatches == [], f"{name}: {len(mismatches)} mismatches, first: {mismatches[:5]}"


@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_apply_partials_matches_float_rule_at_random_points(name):
    rng = random.Random(f"partials-{name}")
    _compare_partials(name, _random_args(name, rng))


@pytest.mark.parametrize("name", EVERY_PRIMITIVE)
def test_apply_partials_matches_float_rule_at_kinks_and_edges(name):
    _compare_partials(name, _edges(name))


def test_tolerance_table_names_registry_primitives_within_2_ulp():
    """The tolerance above names primitives of the registry only (no stale entry), at most 2 ulp;
    every primitive it does not name is compared exactly."""
    assert set(RULES_CALLING_NUMPY_TRANSCENDENTALS) <= set(EVERY_PRIMITIVE)
    assert set(RULES_CALLING_NUMPY_TRANSCENDENTALS.values()) <= {1, 2}


def test_apply_partials_conventions_on_arrays():
    """The documented conventions, written out: sqrt'(0) = inf, asin'(±1) = inf, acos'(±1) = -inf,
    relu'(0) = 0, abs'(0) = 0, ties of min/max split 1/2, d(0^y)/dx = inf for 0 < y < 1, d(x^y)/dy = 0
    for x <= 0, floor' = sign' = 0."""
    def partials(name, *columns):
        arrays = [np.array(c, dtype=float) for c in columns]
        out = getattr(vector_math, name)(*arrays)
        return [np.broadcast_to(np.asarray(p, dtype=float), out.shape).tolist()
                for p in apply_partials(BY_NAME[name].opcode, arrays, out)]

    assert partials("sqrt", [0.0, 4.0]) == [[math.inf, 0.25]]
    assert partials("asin", [-1.0, 1.0, 0.0]) == [[math.inf, math.inf, 1.0]]
    assert partials("acos", [-1.0, 1.0, 0.0]) == [[-math.inf, -math.inf, -1.0]]
    assert partials("relu", [-1.0, 0.0, 2.0]) == [[0.0, 0.0, 1.0]]
    assert partials("abs", [-1.0, 0.0, 2.0]) == [[-1.0, 0.0, 1.0]]
    assert partials("min", [1.0, 1.0, 3.0], [1.0, 2.0, 2.0]) == [[0.5, 1.0, 0.0], [0.5, 0.0, 1.0]]
    assert partials("max", [1.0, 1.0, 3.0], [1.0, 2.0, 2.0]) == [[0.5, 0.0, 1.0], [0.5, 1.0, 0.0]]
    assert partials("pow", [0.0, 0.0, 0.0, -2.0], [0.5, 2.0, 0.0, 3.0]) == [
        [math.inf, 0.0, 0.0, 12.0],  # 0.5*0^-0.5 -> inf by convention; 2*0^1; y = 0 gives 0; 3*(-2)^2
        [0.0, 0.0, 0.0, 0.0],  # d/dy = x^y log x only for x > 0
    ]
    assert partials("floor", [-1.0, 0.5, 3.0]) == [[0.0, 0.0, 0.0]]
    assert partials("sign", [-1.0, 0.0, 3.0]) == [[0.0, 0.0, 0.0]]


# ---------------------------------------------------------------- linearize: NumPy vs pure Python

def _mixed_trace(rng: random.Random, per_primitive: int) -> tuple[Trace, list[float]]:
    """A trace of every primitive at random in-domain arguments and at its kinks (constants as
    arguments), longer than LONG_TRACE, with every node's float value."""
    trace = Trace(source="mixed")
    for name in EVERY_PRIMITIVE:
        primitive = BY_NAME[name]
        # sqrt(-0.0) is left to test_sqrt_of_negative_zero_in_a_long_trace, so each test has one cause.
        points = [args for args in _edges(name) if _defined(primitive, args) and not _is_sqrt_of_negative_zero(name, args)]
        points += _random_args(name, rng)[:per_primitive]
        for args in points:
            nodes = [trace.add_const(a) for a in args]
            trace.add_op(primitive, *nodes)
    values = []
    for i, code in enumerate(trace.op):
        if code == CONST:
            values.append(trace.literal[i])
        else:
            values.append(PRIMITIVES[code].evaluate(scalar, *[values[a] for a in trace.args(i)]))
    trace.add_output(len(trace) - 1, "last")
    return trace, values


def _is_sqrt_of_negative_zero(name: str, args: tuple[float, ...]) -> bool:
    return name == "sqrt" and args[0] == 0 and math.copysign(1.0, args[0]) < 0


def _defined(primitive, args) -> bool:
    """In the domain, finite, and with partials the float path accepts (linearize would raise otherwise)."""
    try:
        out = primitive.evaluate(scalar, *args)
        partials = primitive.partials(scalar, *args, out)
    except (ArithmeticError, ValueError):
        return False
    if not math.isfinite(out):
        return False
    return all(math.isfinite(p) or (primitive.kinks and primitive.kinks[k](*args)) for k, p in enumerate(partials))


def test_linearize_long_trace_equals_pure_python(monkeypatch):
    rng = random.Random("linearize")
    trace, values = _mixed_trace(rng, 1_000)
    assert len(trace) > adcli.evaluate.LONG_TRACE

    calls = []
    original = adcli.vectorized.linearize_arrays
    monkeypatch.setattr(adcli.vectorized, "linearize_arrays", lambda *a: calls.append(1) or original(*a))
    d0_numpy, d1_numpy = adcli.sweeps.linearize(trace, values)
    assert calls == [1]  # the NumPy path ran

    _python_loops_only(monkeypatch)
    d0_python, d1_python = adcli.sweeps.linearize(trace, values)
    assert calls == [1]  # and now it did not

    assert len(d0_numpy) == len(d0_python) == len(d1_numpy) == len(d1_python) == len(trace)
    mismatches = []
    for i, code in enumerate(trace.op):
        name = PRIMITIVES[code].name if code >= 2 else "leaf"
        ulps = RULES_CALLING_NUMPY_TRANSCENDENTALS.get(name, 0)
        for column, (a, b) in enumerate(((d0_numpy[i], d0_python[i]), (d1_numpy[i], d1_python[i]))):
            if not _same(a, b, ulps):
                mismatches.append((i, name, [values[x] for x in trace.args(i)], column, a, b))
    assert mismatches == [], f"{len(mismatches)} mismatches, first: {mismatches[:5]}"


def _long_expression(terms: int) -> str:
    """Terms of every primitive whose partial rule is pure arithmetic, sqrt, sin or cos, kinks included
    at the chosen point (x = 0.5, y = 0.5 makes min(x, y) and max(x, y) ties, relu(y - x) and abs(x - y)
    sit at 0)."""
    pieces = ["tanh(x)*y", "exp(x*y)", "log(1 + y)", "sigmoid(x - y)", "atan(x)/y", "asin(x*y)", "acos(x/2)",
              "sqrt(x + y)", "abs(x - y)", "relu(y - x)", "min(x, y)", "max(x, y)", "floor(x)*y", "sign(x)*x",
              "sin(x)*cos(y)", "tan(x*y)", "-x/y", "x^2*y", "(x*y)^3"]
    return " + ".join(pieces[k % len(pieces)] for k in range(terms))


def test_long_expression_gradient_equal_on_both_paths(monkeypatch):
    """The same long expression differentiated with the NumPy linearize and the pure-Python one gives
    bit-identical value and gradient (the sweeps are the same loops; only the partials could differ)."""
    trace = adcli.parse(_long_expression(8_000))
    assert len(trace) > adcli.evaluate.LONG_TRACE
    point = {"x": 0.5, "y": 0.5}
    numpy_path = adcli.gradient(trace, point)
    numpy_forward = adcli.gradient(trace, point, mode="forward")
    _python_loops_only(monkeypatch)
    python_path = adcli.gradient(trace, point)
    python_forward = adcli.gradient(trace, point, mode="forward")
    assert numpy_path.evaluated.d0 == python_path.evaluated.d0
    assert numpy_path.evaluated.d1 == python_path.evaluated.d1
    assert numpy_path.gradients == python_path.gradients
    assert numpy_forward.gradients == python_forward.gradients
    assert numpy_path.evaluated.output_values == python_path.evaluated.output_values


def test_long_chain_from_function_file_equal_on_both_paths(tmp_path, monkeypatch):
    path = tmp_path / "chain.py"
    path.write_text("from math import sin\n\n\ndef f(x, c):\n    y = x\n    for _ in range(6000):\n"
                    "        y = sin(y) * c + y * 0.5\n    return y\n", encoding="utf-8")
    from adcli.analysis import load

    trace, point = load(str(path), {"x": 1.0, "c": 0.5})
    assert trace.operation_count == 24_000 > adcli.evaluate.LONG_TRACE
    numpy_path = adcli.gradient(trace, point)
    _python_loops_only(monkeypatch)
    python_path = adcli.gradient(trace, point)
    assert numpy_path.gradients == python_path.gradients


def test_sqrt_of_negative_zero_in_a_long_trace(monkeypatch):
    """sqrt(-x) at x = 0: -x is -0.0, sqrt(-0.0) = -0.0, and sqrt'(0) = +inf by convention, so
    d/dx = -inf on both paths (the sign of the zero must not flip the convention's infinity)."""
    trace = adcli.parse(" + ".join(["sqrt(-x)"] + ["sin(y)"] * 12_000))
    assert len(trace) > adcli.evaluate.LONG_TRACE
    numpy_path = adcli.gradient(trace, {"x": 0.0, "y": 1.0})
    _python_loops_only(monkeypatch)
    python_path = adcli.gradient(trace, {"x": 0.0, "y": 1.0})
    assert python_path.gradients[0]["x"] == -math.inf
    assert numpy_path.gradients[0]["x"] == -math.inf


# ---------------------------------------------------------------- derivative overflow in a long trace

def test_derivative_overflow_in_long_trace_names_the_node(monkeypatch):
    """log(x) at x = 1e-310: the value (-713.8…) is fine, the derivative 1/x is not a float."""
    trace = adcli.parse(" + ".join(["log(x)"] + ["sin(x)"] * 12_000))
    assert len(trace) > adcli.evaluate.LONG_TRACE
    with pytest.raises(adcli.EvaluationError) as numpy_error:
        adcli.gradient(trace, {"x": 1e-310})
    assert str(numpy_error.value) == "v2 = log(v1): overflow, its derivative at v1 = 1e-310 is too large for a float"
    assert numpy_error.value.exit_code == 1
    _python_loops_only(monkeypatch)
    with pytest.raises(adcli.EvaluationError) as python_error:
        adcli.gradient(trace, {"x": 1e-310})
    assert str(python_error.value) == str(numpy_error.value)


def test_derivative_overflow_deep_in_long_trace_names_the_node(monkeypatch):
    """The overflowing node is the last one: the NumPy path names the same node as the float path."""
    trace = adcli.parse(" + ".join(["sin(x)"] * 12_000 + ["1/y"]))
    assert len(trace) > adcli.evaluate.LONG_TRACE
    with pytest.raises(adcli.EvaluationError) as numpy_error:
        adcli.gradient(trace, {"x": 1.0, "y": 1e-200})  # 1/y = 1e200 is fine, d/dy = -1e400 is not
    message = str(numpy_error.value)
    assert "= 1 / v" in message and "overflow, its derivative at" in message and "1e-200" in message
    _python_loops_only(monkeypatch)
    with pytest.raises(adcli.EvaluationError) as python_error:
        adcli.gradient(trace, {"x": 1.0, "y": 1e-200})
    assert str(python_error.value) == message


def test_derivative_overflow_in_long_trace_cli(runner):
    from adcli.cli import app

    source = " + ".join(["log(x)"] + ["sin(x)"] * 12_000)
    result = runner.invoke(app, ["grad", source, "--at", "x=1e-310"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: v2 = log(v1): overflow, its derivative at v1 = 1e-310 is too large for a float\n"


def test_convention_infinity_in_long_trace_is_allowed():
    """sqrt'(0) = inf is a convention, not an overflow: the long trace still gives a result."""
    trace = adcli.parse(" + ".join(["sqrt(x)"] + ["sin(y)"] * 12_000))
    result = adcli.gradient(trace, {"x": 0.0, "y": 0.0})
    assert result.gradients[0] == {"x": math.inf, "y": 12_000.0}
    assert any("sqrt is not differentiable at 0" in w for w in result.evaluated.warnings)


# ---------------------------------------------------------------- vector_math vs scalar

EXACT_FUNCTIONS = {"add", "sub", "mul", "div", "neg", "sqrt", "abs", "floor", "sign", "relu", "min", "max"}


def test_vector_math_defines_every_scalar_function():
    assert set(scalar.__all__) == set(EVERY_PRIMITIVE)
    for name in scalar.__all__:
        assert callable(getattr(vector_math, name)), name


def _vector_points(name: str, rng: random.Random) -> list[tuple[float, ...]]:
    if name in ("exp", "sinh", "cosh"):
        return [(x,) for x in _uniform(rng, -700.0, 700.0)]
    if name == "sigmoid":
        return [(x,) for x in _uniform(rng, -50.0, 50.0)] + [(800.0,), (-800.0,), (0.0,)]
    if name == "tan":
        return [(x,) for x in _uniform(rng, -10.0, 10.0)]
    if name == "pow":
        return (list(zip(_uniform(rng, 0.0, 10.0), _uniform(rng, -10.0, 10.0)))
                + [(-rng.uniform(0.1, 10.0), float(rng.randint(-8, 8))) for _ in range(500)]
                + [(0.0, 0.0), (0.0, 2.0), (0.0, 0.5), (-2.0, 3.0), (1.0, 1e300)])
    if name == "floor":
        return [(x,) for x in _uniform(rng, -1e6, 1e6)] + [(-0.5,), (2.0,), (-3.0,)]
    if name in ("min", "max"):
        return list(zip(_uniform(rng, -5, 5), _uniform(rng, -5, 5))) + [(1.0, 1.0), (-2.0, -2.0)]
    if name in ("sign", "relu", "abs"):
        return [(x,) for x in _uniform(rng, -5, 5)] + [(0.0,)]
    return _random_args(name, rng)


@pytest.mark.parametrize("name", scalar.__all__)
def test_vector_math_matches_scalar_within_4_ulp(name):
    rng = random.Random(f"vector-{name}")
    points = _vector_points(name, rng)
    arrays = [np.array(column, dtype=float) for column in zip(*points)]
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # none inside the defined domain
        got = np.asarray(getattr(vector_math, name)(*arrays), dtype=float).tolist()
    ulps = 0 if name in EXACT_FUNCTIONS else 4
    bad = [(args, a, getattr(scalar, name)(*args)) for args, a in zip(points, got)
           if not _same(a, float(getattr(scalar, name)(*args)), ulps)]
    assert bad == [], f"{name}: {len(bad)} mismatches, first: {bad[:5]}"


@pytest.mark.parametrize(("name", "args"), [
    ("log", (-1.0,)), ("sqrt", (-1.0,)), ("asin", (2.0,)), ("acos", (-1.5,)),
    ("pow", (-2.0, 0.5)), ("pow", (0.0, -1.0)), ("pow", (-8.0, 1 / 3)),
])
def test_vector_math_undefined_is_nan_where_scalar_raises(name, args):
    with pytest.raises((ValueError, ArithmeticError)):
        getattr(scalar, name)(*args)
    with np.errstate(all="ignore"):
        result = getattr(vector_math, name)(*[np.array([a]) for a in args])
    assert math.isnan(float(np.asarray(result)[0]))


def test_vector_math_sign_and_sigmoid_special_values():
    assert vector_math.sign(np.array([-2.0, 0.0, 3.0])).tolist() == [-1.0, 0.0, 1.0]
    assert vector_math.sigmoid(np.array([0.0])).tolist() == [0.5]
    with np.errstate(over="raise"):
        big = vector_math.sigmoid(np.array([-800.0, 800.0])).tolist()
    assert big == [0.0, 1.0]


def _python_loops_only(monkeypatch) -> None:
    """Evaluate, linearize and sweep long traces with the pure-Python loops, as short ones are."""
    monkeypatch.setattr(adcli.evaluate, "LONG_TRACE", 10**12)
    monkeypatch.setattr(adcli.sweeps, "LONG_TRACE", 10**12)
