"""Machine-made input: a 100,000-term sum and 10,000 levels of nesting parse and differentiate to the
right values, with no recursion on the Python stack (the tests run under a low recursion limit)."""

from __future__ import annotations

import math
import sys

import pytest

import adcli
from adcli.cli import app

MODES = ["reverse", "forward"]
DEPTH = 10_000


@pytest.fixture
def shallow_stack():
    """Allow only 150 frames beyond the test's own: any recursion over the input would fail."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    yield
    sys.setrecursionlimit(old)


def _gradient(source: str, at: dict[str, float], mode: str):
    result = adcli.gradient(adcli.parse(source), at, mode=mode)
    return result.evaluated.output_values[0], result.gradients[0]


# ---------------------------------------------------------------- 100,000 terms

TERMS = 100_000


def _term(k: int) -> tuple[str, int, int, int]:
    """Term k: sign, coefficient c and frequency a of  ± c*sin(a*x)."""
    sign = -1 if k % 3 == 0 else 1
    return ("-" if sign < 0 else "+"), sign, k % 7 + 1, k % 5 + 1


@pytest.fixture(scope="module")
def long_sum():
    """x ↦ Σ ± c_k sin(a_k x) over 100,000 terms (left-associative + and - all the way), parsed once."""
    parts = []
    for k in range(TERMS):
        symbol, _, c, a = _term(k)
        parts.append(f"{symbol} {c}*sin({a}*x)")
    source = " ".join(parts)
    return adcli.parse(source.lstrip("+ "))


@pytest.mark.parametrize("mode", MODES)
def test_hundred_thousand_term_sum(long_sum, mode, shallow_stack):
    """f = Σ s_k c_k sin(a_k x), f' = Σ s_k c_k a_k cos(a_k x), summed with math.fsum in a plain loop."""
    x = 0.3
    value = math.fsum(s * c * math.sin(a * x) for _, s, c, a in map(_term, range(TERMS)))
    derivative = math.fsum(s * c * a * math.cos(a * x) for _, s, c, a in map(_term, range(TERMS)))
    result = adcli.gradient(long_sum, {"x": x}, mode=mode)
    assert result.evaluated.output_values[0] == pytest.approx(value, rel=1e-9)
    assert result.gradients[0]["x"] == pytest.approx(derivative, rel=1e-9)


def test_hundred_thousand_term_sum_size(long_sum):
    """Each term is a multiplication, a sin and a multiplication, joined by an addition or subtraction to
    the sum so far; the first term (k = 0) is negated instead: 4 * 100,000 operations."""
    assert long_sum.operation_count == 4 * TERMS
    assert long_sum.input_names == ["x"]


# ---------------------------------------------------------------- 10,000 levels of nesting

@pytest.mark.parametrize("mode", MODES)
def test_ten_thousand_nested_sines(mode, shallow_stack):
    """sin(sin(…(x)…)): value the 10,000th iterate, derivative the product of cos of the iterates."""
    x = 0.7
    value, derivative = x, 1.0
    for _ in range(DEPTH):
        derivative *= math.cos(value)
        value = math.sin(value)
    got_value, got_gradient = _gradient("sin(" * DEPTH + "x" + ")" * DEPTH, {"x": x}, mode)
    assert got_value == pytest.approx(value, rel=1e-12)
    assert got_gradient["x"] == pytest.approx(derivative, rel=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_ten_thousand_nested_parentheses(mode, shallow_stack):
    """((…(x)…)) is x: derivative 1, and no node per parenthesis."""
    trace = adcli.parse("(" * DEPTH + "x" + ")" * DEPTH)
    assert trace.operation_count == 0
    result = adcli.gradient(trace, {"x": 2.5}, mode=mode)
    assert result.evaluated.output_values == [2.5]
    assert result.gradients[0] == {"x": 1.0}


@pytest.mark.parametrize("mode", MODES)
def test_ten_thousand_level_horner_polynomial(mode, shallow_stack):
    """1 + x*(1 + x*(1 + …)) = Σ_{k=0..n} x^k, with derivative Σ k x^(k-1) (a plain loop at x = 0.5)."""
    x = 0.5
    value = math.fsum(x**k for k in range(DEPTH + 1))
    derivative = math.fsum(k * x ** (k - 1) for k in range(1, DEPTH + 1))
    got_value, got_gradient = _gradient("1+x*(" * DEPTH + "1" + ")" * DEPTH, {"x": x}, mode)
    assert got_value == pytest.approx(value, rel=1e-13)  # 2 - 2^-10000
    assert got_gradient["x"] == pytest.approx(derivative, rel=1e-12)  # 4 in the limit


@pytest.mark.parametrize("mode", MODES)
def test_ten_thousand_right_associative_powers(mode, shallow_stack):
    """x^1^1^…^1 (10,000 carets, right-associative: x^(1^(1^…))) is x, derivative 1."""
    got_value, got_gradient = _gradient("x" + "^1" * DEPTH, {"x": 1.7}, mode)
    assert got_value == pytest.approx(1.7, rel=1e-15)
    assert got_gradient["x"] == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_ten_thousand_and_one_unary_minuses(mode, shallow_stack):
    """An odd number of minus signs negates: value -x, derivative -1."""
    got_value, got_gradient = _gradient("-" * (DEPTH + 1) + "x", {"x": 3.0}, mode)
    assert got_value == -3.0
    assert got_gradient["x"] == -1.0


def test_deep_syntax_error_is_short(shallow_stack):
    """An unclosed call 10,000 levels deep: one short message with the caret under the open call."""
    source = "sin(" * DEPTH + "x" + ")" * (DEPTH - 1)
    with pytest.raises(adcli.InputError) as caught:
        adcli.parse(source)
    assert str(caught.value) == ("syntax error at column 1: 'sin(' is never closed\n"
                                 f"  {source[:72]}…\n"
                                 "  ^")


def test_cli_trace_of_deep_nesting(runner):
    """adcli trace on the 10,000-deep nest: the table elides the middle rows, and the derivative is right."""
    source = "sin(" * DEPTH + "x" + ")" * DEPTH
    result = runner.invoke(app, ["trace", source, "--at", "x=0.7"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0
    assert "9,961 rows not shown (--rows all)" in result.stdout  # 10,001 nodes, 40 shown
    value, derivative = 0.7, 1.0
    for _ in range(DEPTH):
        derivative *= math.cos(value)
        value = math.sin(value)
    first_row = next(line for line in result.stdout.splitlines() if line.startswith("│ v1 "))
    assert first_row.strip("│ ").split("│")[-1].strip() == f"{derivative:.8g}"
