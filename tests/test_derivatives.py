"""Forward and reverse mode against hand-derived results, fan-out, and SymPy on random expressions."""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adcli
from adcli.trace_text import update_statements

MODES = ["reverse", "forward"]

# ---------------------------------------------------------------- known results, derived by hand

KNOWN = [
    # f = x e^y - sin x.  At (pi/3, 0): f = pi/3 - sin(pi/3) = pi/3 - sqrt(3)/2.
    # df/dx = e^y - cos x = 1 - cos(pi/3) = 1/2;  df/dy = x e^y = pi/3.
    pytest.param("x*exp(y)-sin(x)", {"x": math.pi / 3, "y": 0.0},
                 math.pi / 3 - math.sqrt(3) / 2, {"x": 1 - math.cos(math.pi / 3), "y": math.pi / 3}, id="x*exp(y)-sin(x)"),
    # f = (a+b)(b+1).  At (2, 1): f = 3 * 2 = 6.
    # df/da = b+1 = 2;  df/db = (b+1) + (a+b) = 2 + 3 = 5.
    pytest.param("(a+b)*(b+1)", {"a": 2.0, "b": 1.0}, 6.0, {"a": 2.0, "b": 5.0}, id="(a+b)*(b+1)"),
    # f = (x+y) z.  At (-2, 5, -4): f = 3 * -4 = -12.
    # df/dx = z = -4;  df/dy = z = -4;  df/dz = x+y = 3.
    pytest.param("(x+y)*z", {"x": -2.0, "y": 5.0, "z": -4.0}, -12.0, {"x": -4.0, "y": -4.0, "z": 3.0}, id="(x+y)*z"),
    # f = log x1 + x1 x2 - sin x2.  At (2, 5): f = log 2 + 10 - sin 5.
    # df/dx1 = 1/x1 + x2 = 1/2 + 5 = 5.5;  df/dx2 = x1 - cos x2 = 2 - cos 5.
    pytest.param("log(x1)+x1*x2-sin(x2)", {"x1": 2.0, "x2": 5.0},
                 math.log(2) + 10 - math.sin(5), {"x1": 5.5, "x2": 2 - math.cos(5)}, id="log(x1)+x1*x2-sin(x2)"),
    # f = e^x + x^2.  At 2: f = e^2 + 4;  f' = e^x + 2x = e^2 + 4.
    pytest.param("exp(x)+x*x", {"x": 2.0}, math.exp(2) + 4, {"x": math.exp(2) + 4}, id="exp(x)+x*x"),
    # f = x^2 + 3x.  At 2: f = 4 + 6 = 10;  f' = 2x + 3 = 7.
    pytest.param("x^2 + 3*x", {"x": 2.0}, 10.0, {"x": 7.0}, id="x^2+3*x"),
    # f = sigmoid(w x + b).  At w=2, x=-1, b=1: z = -1, s = 1/(1+e).  ds/dz = s(1-s);
    # df/dw = s(1-s) x,  df/dx = s(1-s) w,  df/db = s(1-s).
    pytest.param("sigmoid(w*x + b)", {"w": 2.0, "x": -1.0, "b": 1.0}, 1 / (1 + math.e),
                 {"w": -(1 / (1 + math.e)) * (math.e / (1 + math.e)),
                  "x": 2 * (1 / (1 + math.e)) * (math.e / (1 + math.e)),
                  "b": (1 / (1 + math.e)) * (math.e / (1 + math.e))}, id="sigmoid(w*x+b)"),
    # f = x^y.  At (2, 3): f = 8;  df/dx = y x^(y-1) = 12;  df/dy = x^y log x = 8 log 2.
    pytest.param("x^y", {"x": 2.0, "y": 3.0}, 8.0, {"x": 12.0, "y": 8 * math.log(2)}, id="x^y"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("source", "at", "value", "gradient"), KNOWN)
def test_known_results(source, at, value, gradient, mode):
    """Value and gradient equal the hand derivation, in both modes."""
    result = adcli.gradient(adcli.parse(source), at, mode=mode)
    assert result.evaluated.output_values == [pytest.approx(value, rel=1e-14, abs=1e-15)]
    assert list(result.gradients[0]) == list(gradient)  # inputs in order of first appearance
    for name, expected in gradient.items():
        assert result.gradients[0][name] == pytest.approx(expected, rel=1e-14, abs=1e-15), name


@pytest.mark.parametrize("mode", MODES)
def test_several_outputs(mode):
    """Each output gets its own gradient row: (x y, sin x + y) at (1, 2) has rows (y, x) and (cos x, 1)."""
    result = adcli.gradient(adcli.parse("x*y, sin(x)+y"), {"x": 1.0, "y": 2.0}, mode=mode)
    assert result.evaluated.output_values == pytest.approx([2.0, math.sin(1) + 2])
    assert result.gradients == [{"x": 2.0, "y": 1.0},
                                {"x": pytest.approx(math.cos(1), rel=1e-15), "y": 1.0}]


@pytest.mark.parametrize("mode", MODES)
def test_wrt_restricts_the_gradient(mode):
    """--wrt y: only d/dy = x = 3 of x*y at (3, 4)."""
    result = adcli.gradient(adcli.parse("x*y"), {"x": 3.0, "y": 4.0}, mode=mode, wrt=["y"])
    assert result.gradients == [{"y": 3.0}]


def test_directional_derivative():
    """A forward sweep seeded with (1, 2) gives grad . (1, 2): for x^2 y at (3, 4): 2xy + 2 x^2 = 24 + 18."""
    evaluated = adcli.evaluate_at(adcli.parse("x^2*y"), {"x": 3.0, "y": 4.0})
    tangents = evaluated.forward({"x": 1.0, "y": 2.0})
    assert tangents[evaluated.trace.outputs[0]] == pytest.approx(42.0, rel=1e-15)


def test_sweep_counts():
    """Reverse mode costs one sweep per output, forward mode one per input."""
    trace = adcli.parse("x*y*z, x+y+z")
    assert adcli.gradient(trace, {"x": 1, "y": 2, "z": 3}, mode="reverse").sweeps == 2
    assert adcli.gradient(trace, {"x": 1, "y": 2, "z": 3}, mode="forward").sweeps == 3


# ---------------------------------------------------------------- fan-out

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("x", [2.0, -1.5, 0.3])
def test_fan_out_x_times_x_times_x_times_x(x, mode):
    """x*x*x*x uses x four times; its derivative is 4 x^3."""
    result = adcli.gradient(adcli.parse("x*x*x*x"), {"x": x}, mode=mode)
    assert result.evaluated.output_values == [pytest.approx(x**4, rel=1e-15)]
    assert result.gradients[0]["x"] == pytest.approx(4 * x**3, rel=1e-15)


def test_fan_out_update_statements():
    """The reverse sweep of x*x*x*x shows one update of v̄1 per use of x (four), in the order they run.

    v2 = v1*v1, v3 = v2*v1, v4 = v3*v1.  At x = 2: v̄4 = 1, v̄3 = v1 = 2, v̄2 = v̄3 v1 = 4, and
    v̄1 = v̄4 v3 + v̄3 v2 + v̄2 v1 + v̄2 v1 = 8 + 8 + 8 + 8 = 32 = 4 * 2^3.
    """
    trace = adcli.parse("x*x*x*x")
    assert update_statements(trace) == [
        "v̄3 += v̄4 · v1",
        "v̄1 += v̄4 · v3",
        "v̄2 += v̄3 · v1",
        "v̄1 += v̄3 · v2",
        "v̄1 += v̄2 · v1",
        "v̄1 += v̄2 · v1",
    ]
    adjoints = adcli.gradient(trace, {"x": 2.0}).adjoints[0]
    assert adjoints[trace.inputs[0]] == 32.0


def test_update_statements_of_the_lesson_example():
    """x*exp(y)-sin(x): the reverse sweep, last equation first; v̄1 receives two contributions."""
    assert update_statements(adcli.parse("x*exp(y)-sin(x)")) == [
        "v̄4 += v̄6",
        "v̄5 -= v̄6",
        "v̄1 += v̄5 · cos(v1)",
        "v̄1 += v̄4 · v3",
        "v̄3 += v̄4 · v1",
        "v̄2 += v̄3 · v3",
    ]


@pytest.mark.parametrize("uses", [2, 10, 1000])
@pytest.mark.parametrize("mode", MODES)
def test_fan_out_many_uses(uses, mode):
    """sin(x) + sin(x) + … (n times) has derivative n cos x: every use contributes."""
    source = "+".join(["sin(x)"] * uses)
    result = adcli.gradient(adcli.parse(source), {"x": 0.4}, mode=mode)
    assert result.gradients[0]["x"] == pytest.approx(uses * math.cos(0.4), rel=1e-12)


# ---------------------------------------------------------------- random expressions against SymPy

LEAVES = st.sampled_from(["x", "y", "z", "x", "y", "x", "1", "2", "3", "0.5", "1.5", "2.25", "0.1"])
# Templates applied to one subexpression {0}; log, sqrt and / only where their domain is safe.
WRAPS = st.sampled_from([
    "sin({0})", "cos({0})", "exp({0})", "tanh({0})", "sigmoid({0})", "atan({0})", "-({0})",
    "({0})^2", "({0})**3", "({0})^-1", "({0})^1",
    "log(1 + ({0})^2)", "sqrt(1 + ({0})^2)", "({0}) / (2 + sin({0}))",
])
BINARY = st.sampled_from(["+", "-", "*", "/", "*", "+"])


@st.composite
def expressions(draw) -> str:
    """An expression string: up to 10 leaves (names x, y, z drawn often, so most names fan out),
    combined pairwise by + - * /, with up to 8 unary wraps (functions, powers, safe log/sqrt/division)."""
    parts = draw(st.lists(LEAVES, min_size=1, max_size=10))
    wraps = draw(st.integers(0, 8))
    while len(parts) > 1 or wraps:
        if wraps and (len(parts) == 1 or draw(st.booleans())):
            i = draw(st.integers(0, len(parts) - 1))
            parts[i] = draw(WRAPS).format(parts[i])
            wraps -= 1
        else:
            i = draw(st.integers(0, len(parts) - 2))
            a, b = parts.pop(i), parts.pop(i)
            parts.insert(i, f"({a}) {draw(BINARY)} ({b})")
    return parts[0]


EXPRESSIONS = expressions()
# A safe range: |v| in [1e-3, 2] or exactly 0 (overflow of tiny arguments is tested in test_primitives.py).
POINTS = st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=2.0), st.floats(min_value=-2.0, max_value=-1e-3))

X, Y, Z = sympy.symbols("x y z", real=True)
SYMPY_NAMES = {"x": X, "y": Y, "z": Z, "sigmoid": sympy.Lambda(X, 1 / (1 + sympy.exp(-X)))}


def _sympy_expression(source: str):
    """The same expression, built by SymPy's own parser (independent of adcli's)."""
    return sympy.sympify(source.replace("^", "**"), locals=SYMPY_NAMES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(source=EXPRESSIONS, x=POINTS, y=POINTS, z=POINTS)
def test_forward_equals_reverse_equals_sympy(source, x, y, z):
    """On random expressions, forward == reverse (tightly) and both == SymPy's derivative (30 digits)."""
    trace = adcli.parse(source)
    at = {name: value for name, value in {"x": x, "y": y, "z": z}.items() if name in trace.input_names}
    try:
        reverse = adcli.gradient(trace, at, mode="reverse")
        forward = adcli.gradient(trace, at, mode="forward")
    except adcli.EvaluationError:
        assume(False)
    values = reverse.evaluated.values
    adjoints = reverse.adjoints[0]
    assume(all(abs(v) < 1e6 for v in values) and all(abs(a) < 1e6 for a in adjoints))
    # Absolute tolerance: float round-off eps·|v| in an intermediate v is amplified by derivatives that can
    # be as large as |v| (sin(u) with u ≈ 1e4), so it grows with the square of the largest intermediate
    # magnitude; cancellation can leave a result much smaller than its terms, which are as large as a local
    # partial times an adjoint (d(x/x)/dx sums 1/x and -x/x², 512 each at x = 2^-9, into 0).
    evaluated = reverse.evaluated
    contributions = [abs(p * adjoints[i]) for column in (evaluated.d0, evaluated.d1) for i, p in enumerate(column)
                     if math.isfinite(p)]
    scale = max([1.0] + [abs(v) for v in values] + [abs(a) for a in adjoints] + contributions) ** 2

    expression = _sympy_expression(source)
    subs = {X: sympy.Float(x, 30), Y: sympy.Float(y, 30), Z: sympy.Float(z, 30)}
    value = float(expression.evalf(30, subs=subs))
    assert reverse.evaluated.output_values[0] == pytest.approx(value, rel=1e-9, abs=1e-14 * scale)

    for name in trace.input_names:
        g_reverse = reverse.gradients[0][name]
        g_forward = forward.gradients[0][name]
        assert g_forward == pytest.approx(g_reverse, rel=1e-12, abs=1e-15 * scale), name
        symbol = SYMPY_NAMES[name]
        g_sympy = float(sympy.diff(expression, symbol).evalf(30, subs=subs))
        assert g_reverse == pytest.approx(g_sympy, rel=1e-9, abs=1e-14 * scale), name
