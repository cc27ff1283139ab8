"""Issue 16, items 1 and 2: the new primitives in formulas people use (Black–Scholes via erf, GELU),
``ln``, function files calling math's versions, the complex step through SciPy's complex erf, and
formulas typed with Unicode operators, superscripts, π and |x|.

References: closed forms evaluated by mpmath at 50 digits, and exact messages written by hand.
"""

from __future__ import annotations

import math
import textwrap

import mpmath
import pytest

import adcli
from adcli import accelerator, complex_math
from adcli.function_file import trace_function

mpmath.mp.dps = 50


def _gradient(source: str, at: dict[str, float], mode: str) -> tuple[float, dict[str, float]]:
    result = adcli.gradient(adcli.parse(source), at, mode=mode)
    return result.evaluated.output_values[0], result.gradients[0]


# ---------------------------------------------------------------- Black–Scholes and GELU

BLACK_SCHOLES = ("S * (1 + erf(d1 / sqrt(2))) / 2 - K * exp(-r * T) * (1 + erf((d1 - sigma * sqrt(T)) / sqrt(2))) / 2"
                 .replace("d1", "((log(S / K) + (r + sigma^2 / 2) * T) / (sigma * sqrt(T)))"))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_black_scholes_call_price_delta_and_vega(mode):
    """C = S N(d1) - K e^(-rT) N(d2); delta = N(d1); vega = S φ(d1) √T (the closed forms)."""
    at = {"S": 100.0, "K": 95.0, "r": 0.05, "sigma": 0.2, "T": 0.5}
    S, K, r, sigma, T = (mpmath.mpf(at[n]) for n in ("S", "K", "r", "sigma", "T"))
    d1 = (mpmath.log(S / K) + (r + sigma**2 / 2) * T) / (sigma * mpmath.sqrt(T))
    d2 = d1 - sigma * mpmath.sqrt(T)
    price = S * mpmath.ncdf(d1) - K * mpmath.exp(-r * T) * mpmath.ncdf(d2)
    delta = mpmath.ncdf(d1)
    vega = S * mpmath.npdf(d1) * mpmath.sqrt(T)
    value, gradient = _gradient(BLACK_SCHOLES, at, mode)
    assert value == pytest.approx(float(price), rel=1e-14)
    assert gradient["S"] == pytest.approx(float(delta), rel=1e-14)
    assert gradient["sigma"] == pytest.approx(float(vega), rel=1e-13)


@pytest.mark.parametrize("x", [0.7, -1.3, 4.0])
def test_gelu_value_and_derivative(x):
    """GELU(x) = x Φ(x) = x (1 + erf(x/√2)) / 2; GELU'(x) = Φ(x) + x φ(x)."""
    value, gradient = _gradient("x * (1 + erf(x / sqrt(2))) / 2", {"x": x}, "reverse")
    X = mpmath.mpf(x)
    assert value == pytest.approx(float(X * mpmath.ncdf(X)), rel=1e-15)
    assert gradient["x"] == pytest.approx(float(mpmath.ncdf(X) + X * mpmath.npdf(X)), rel=1e-14)


@pytest.mark.parametrize(("source", "x", "value", "derivative"), [
    ("log10(x)", 0.3, lambda x: mpmath.log10(x), lambda x: 1 / (x * mpmath.log(10))),
    ("log2(x)", 5.0, lambda x: mpmath.log(x, 2), lambda x: 1 / (x * mpmath.log(2))),
    ("log1p(x)", 1e-12, lambda x: mpmath.log1p(x), lambda x: 1 / (1 + x)),
    ("expm1(x)", -1e-9, lambda x: mpmath.expm1(x), lambda x: mpmath.exp(x)),
    ("softplus(x)", -30.0, lambda x: mpmath.log(1 + mpmath.exp(x)), lambda x: 1 / (1 + mpmath.exp(-x))),
    ("softplus(x)", 800.0, lambda x: mpmath.log(1 + mpmath.exp(x)), lambda x: 1 / (1 + mpmath.exp(-x))),
    ("erfc(x)", 10.0, lambda x: mpmath.erfc(x), lambda x: -2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x**2)),
    ("asinh(x)", 1e200, lambda x: mpmath.asinh(x), lambda x: 1 / mpmath.sqrt(x**2 + 1)),
    ("acosh(x)", 1.5, lambda x: mpmath.acosh(x), lambda x: 1 / mpmath.sqrt(x**2 - 1)),
    ("atanh(x)", -0.999, lambda x: mpmath.atanh(x), lambda x: 1 / (1 - x**2)),
    ("ln(x)", 2.5, lambda x: mpmath.log(x), lambda x: 1 / x),
])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_new_unary_primitives_against_mpmath(source, x, value, derivative, mode):
    got_value, gradient = _gradient(source, {"x": x}, mode)
    X = mpmath.mpf(x)
    assert got_value == pytest.approx(float(value(X)), rel=4e-16)
    assert gradient["x"] == pytest.approx(float(derivative(X)), rel=5e-16)


@pytest.mark.parametrize(("y", "x"), [(1.0, -2.0), (-3.0, 0.5), (1e-200, 3e-200)])
def test_atan2_and_hypot_against_mpmath(y, x):
    Y, X = mpmath.mpf(y), mpmath.mpf(x)
    value, gradient = _gradient("atan2(y, x)", {"y": y, "x": x}, "reverse")
    assert value == pytest.approx(float(mpmath.atan2(Y, X)), rel=4e-16)
    assert gradient["y"] == pytest.approx(float(X / (X**2 + Y**2)), rel=5e-16)
    assert gradient["x"] == pytest.approx(float(-Y / (X**2 + Y**2)), rel=5e-16)
    value, gradient = _gradient("hypot(x, y)", {"x": x, "y": y}, "forward")
    assert value == pytest.approx(float(mpmath.hypot(X, Y)), rel=4e-16)
    assert gradient["x"] == pytest.approx(float(X / mpmath.hypot(X, Y)), rel=5e-16)


def test_conventions_at_the_origin_and_at_acosh_1():
    """atan2 and hypot have no derivative at (0, 0): 0 is used, with a warning; acosh'(1) = inf."""
    result = adcli.gradient(adcli.parse("atan2(y, x) + hypot(x, y)"), {"y": 0.0, "x": 0.0})
    assert result.gradients[0] == {"y": 0.0, "x": 0.0}
    assert len(result.evaluated.warnings) == 2
    result = adcli.gradient(adcli.parse("acosh(x)"), {"x": 1.0})
    assert result.gradients[0] == {"x": math.inf}


@pytest.mark.parametrize(("source", "x", "message"), [
    ("log10(x)", 0.0, "v2 = log10(v1): log10 is undefined at 0"),
    ("log1p(x)", -1.0, "v2 = log1p(v1): log1p is undefined at -1 (at or below -1)"),
    ("acosh(x)", 0.5, "v2 = acosh(v1): acosh is undefined at 0.5 (below 1)"),
    ("atanh(x)", 1.0, "v2 = atanh(v1): atanh is undefined at 1 (outside (-1, 1))"),
])
def test_domain_errors_exit_1(runner, source, x, message):
    result = runner.invoke(None, ["grad", source, "--at", f"x={x}"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message}\n")


def test_ln_is_log_in_the_trace():
    trace = adcli.parse("ln(x)")
    assert trace.primitive(1).name == "log"


def test_function_file_calls_math_versions(tmp_path):
    """math.erf, math.atan2 and math.hypot of three coordinates are traced: f = erf(x) + atan2(y, x)
    + hypot(x, y, 2); at (1, 1): df/dx = 2/√π e^-1 - 1/2 + 1/√6, df/dy = 1/2 + 1/√6."""
    path = tmp_path / "f.py"
    path.write_text(textwrap.dedent("""
        import math


        def f(x, y):
            return math.erf(x) + math.atan2(y, x) + math.hypot(x, y, 2.0)
    """))
    trace, _ = trace_function(str(path), {"x": 1.0, "y": 1.0}, "f")
    gradient = adcli.gradient(trace, {"x": 1.0, "y": 1.0}).gradients[0]
    assert gradient["x"] == pytest.approx(2 / math.sqrt(math.pi) / math.e - 0.5 + 1 / math.sqrt(6), rel=1e-15)
    assert gradient["y"] == pytest.approx(0.5 + 1 / math.sqrt(6), rel=1e-15)


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_complex_step_through_scipy_erf(name):
    """Im erf(x + ih) / h is erf'(x) (SciPy's Faddeeva erf; cmath has none)."""
    h, x = 1e-20, 0.8
    derivative = getattr(complex_math, name)(complex(x, h)).imag / h
    reference = (1 if name == "erf" else -1) * 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-mpmath.mpf(x) ** 2)
    assert derivative == pytest.approx(float(reference), rel=1e-13)


def test_complex_log1p_and_expm1_keep_small_values():
    """log1p(a + ih) ≈ log1p(a) + ih/(1 + a); expm1(a + ih) ≈ expm1(a) + ih e^a (h = 1e-20)."""
    a, h = 1e-10, 1e-20
    z = complex_math.log1p(complex(a, h))
    assert z.real == pytest.approx(float(mpmath.log1p(mpmath.mpf(a))), rel=1e-15)
    assert z.imag / h == pytest.approx(float(1 / (1 + mpmath.mpf(a))), rel=1e-15)
    z = complex_math.expm1(complex(a, h))
    assert z.real == pytest.approx(float(mpmath.expm1(mpmath.mpf(a))), rel=1e-15)
    assert z.imag / h == pytest.approx(float(mpmath.exp(mpmath.mpf(a))), rel=1e-15)


# ---------------------------------------------------------------- names people mean

@pytest.mark.parametrize(("source", "message"), [
    ("lg(x)", "syntax error at column 1: unknown function 'lg'; write log10(...)\n  lg(x)\n  ^"),
    ("arctan2(y, x)", "syntax error at column 1: unknown function 'arctan2'; write atan2(...)\n  arctan2(y, x)\n  ^"),
    ("asinhh(x)", "syntax error at column 1: unknown function 'asinhh'; did you mean 'asinh'?\n  asinhh(x)\n  ^"),
    ("ln(x", "syntax error at column 1: 'ln(' is never closed\n  ln(x\n  ^"),
    ("x y", "syntax error at column 3: missing operator between 'x' and 'y' (write x*y)\n  x y\n    ^"),
    ("sin x", "syntax error at column 1: 'sin' is a function: write sin(x)\n  sin x\n  ^"),
    ("sin", "syntax error at column 1: 'sin' is a function: write sin(...)\n  sin\n  ^"),
])
def test_hints_for_names_people_mean(runner, source, message):
    result = runner.invoke(None, ["grad", source, "--at", "x=1,y=2"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


def test_log10_and_asinh_are_functions_not_suggestions():
    assert adcli.parse("log10(x)").primitive(1).name == "log10"
    assert adcli.parse("asinh(x)").primitive(1).name == "asinh"


# ---------------------------------------------------------------- formulas as people write them

@pytest.mark.parametrize(("typed", "ascii_source"), [
    ("x² + 3·x − 1", "x^2 + 3*x - 1"),
    ("x⁻¹ × y ÷ 2", "x^(-1) * y / 2"),
    ("x³·y¹⁰", "x^3*y^(10)"),
    ("2·π·x", "2*pi*x"),
    ("|x − y|·|y|", "abs(x - y)*abs(y)"),
    ("||x| - |y||", "abs(abs(x) - abs(y))"),
])
def test_unicode_reads_as_ascii(typed, ascii_source):
    """The same trace as the ASCII spelling, whose text the trace prints."""
    typed_trace, ascii_trace = adcli.parse(typed), adcli.parse(ascii_source)
    assert typed_trace.source == ascii_source
    assert typed_trace.text() == ascii_trace.text()


def test_unicode_formula_value_and_gradient():
    """f = x²y − |x|/π at (−2, 3): f = 12 − 2/π; df/dx = 2xy + 1/π = −12 + 1/π, df/dy = x² = 4."""
    value, gradient = _gradient("x²y".replace("²", "²·") + " − |x|/π", {"x": -2.0, "y": 3.0}, "reverse")
    assert value == pytest.approx(12 - 2 / math.pi, rel=1e-15)
    assert gradient == {"x": pytest.approx(-12 + 1 / math.pi, rel=1e-15), "y": 4.0}


@pytest.mark.parametrize(("typed", "message"), [
    ("x – 1", "syntax error at column 3: unexpected '–': type - instead ('–' is U+2013 EN DASH)\n  x – 1\n    ^"),
    ("θ*2", "syntax error at column 1: unexpected 'θ': type theta instead ('θ' is U+03B8 GREEK SMALL LETTER THETA)\n"
            "  θ*2\n  ^"),
    ("√x", "syntax error at column 1: unexpected '√': type sqrt(...) instead ('√' is U+221A SQUARE ROOT)\n  √x\n  ^"),
    ("x²y", "syntax error at column 3: missing operator between '2' and 'y' (write 2*y)\n  x²y\n    ^"),
    ("|x", "syntax error at column 1: '|' is never closed\n  |x\n  ^"),
    ("x|", "syntax error at column 2: '|' has no matching '|'\n  x|\n   ^"),
    # a bar after an operand opens when none is open and another follows: 2|x| lacks a '*', not a '|'
    ("2|x|", "syntax error at column 2: missing operator between '2' and '|' (write 2*|...|)\n  2|x|\n   ^"),
    ("x|y|", "syntax error at column 2: missing operator between 'x' and '|' (write x*|...|)\n  x|y|\n   ^"),
    ("|x||y|", "syntax error at column 4: missing operator between '|' and '|'\n  |x||y|\n     ^"),
    ("|x|y", "syntax error at column 4: missing operator between '|' and 'y'\n  |x|y\n     ^"),
    ("2π", "syntax error at column 2: missing operator between '2' and 'pi' (write 2*pi)\n  2π\n   ^"),
    ("ⅹ", "syntax error at column 1: unexpected 'ⅹ': 'ⅹ' is not part of the expression language\n  ⅹ\n  ^"),
])
def test_other_unicode_is_an_error_saying_what_to_type(runner, typed, message):
    result = runner.invoke(None, ["grad", typed, "--at", "x=1,y=2"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


@pytest.mark.skipif(accelerator._native is None, reason="the C extension is not built")
@pytest.mark.parametrize("source", ["x² + 1", "|x|", "x − 1", "2·x", "π*x"])
def test_c_parser_declines_unicode_and_bars(source):
    assert accelerator._native.parse(source) is None
