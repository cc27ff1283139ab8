"""Second derivatives at the hard points (issue 13, item 1): where a rule branches on a value (pow at
y = 0), where a first partial is infinite (sqrt at 0, asin and acos at ±1, x^y at x = 0), and at
every primitive's edge points.

References are SymPy's Hessian at 50 digits at the point, or, where SymPy's expression is not
defined exactly there (0 * zoo, DiracDelta), its one-sided limits (SymPy's ``limit``) from inside the
domain, which must agree. Never adcli itself.
"""

from __future__ import annotations

import json
import math

import pytest
import sympy

from adcli import parse
from adcli.cli import app
from adcli.errors import EvaluationError
from adcli.hessian import hessian
from adcli.primitives import operations

X, Y = sympy.symbols("x y", real=True)


def invoke(runner, *args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output + result.stderr
    return result


def _number(value) -> float | None:
    """A SymPy number as a float, or None when it is not a finite real (nan, zoo, complex, unevaluated)."""
    value = sympy.N(value, 50)
    if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or value.is_real is not True:
        return None
    try:
        return float(value)
    except TypeError:  # an unevaluated DiracDelta(0) or floor derivative
        return None


def _limit(entry, point: dict, symbol, direction: str) -> float | None:
    """The one-sided limit of ``entry`` along ``symbol`` (the others fixed at the point)."""
    others = {s: v for s, v in point.items() if s is not symbol}
    value = sympy.limit(entry.subs(others), symbol, point[symbol], direction)
    if value in (sympy.oo, -sympy.oo):
        return float(value)
    return _number(value)


def reference_hessian(expression, symbols: list, point: dict, domain) -> list[list[float | None]]:
    """SymPy's Hessian at ``point`` at 50 digits; an entry undefined exactly at the point (0 * zoo,
    DiracDelta(0)) is its one-sided limit along each input, from each side inside ``domain`` (a
    predicate on floats), and these limits must agree. None where no side gives a real number."""
    matrix = sympy.hessian(expression, symbols)
    sides = []
    for symbol in symbols:
        for direction, sign in (("+", 1), ("-", -1)):
            nearby = [float(point[s]) + (sign * 1e-9 if s is symbol else 0) for s in symbols]
            if domain(*nearby):
                sides.append((symbol, direction))
    result: list[list[float | None]] = []
    for i in range(len(symbols)):
        row: list[float | None] = []
        for j in range(len(symbols)):
            exact = _number(matrix[i, j].subs(point).doit())
            if exact is not None:
                row.append(exact)
                continue
            found = {_limit(matrix[i, j], point, symbol, direction) for symbol, direction in sides} - {None}
            assert len(found) <= 1, (expression, point, i, j, found)
            row.append(found.pop() if found else None)
        result.append(row)
    return result


# ------------------------------------------------------ pow where y == 0 (the rule's branch)

def test_cli_hessian_of_pow_at_y_zero_is_symmetric(runner):
    """Issue 13: [[0, 0.5], [0.5, log(2)^2]]; by hand, d2(x^y)/dxdy = x^(y-1) (1 + y log x) = 1/2."""
    result = invoke(runner, "hessian", "--json", "--at", "x=2,y=0", "--", "x^y")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["hessian"] == [[0.0, 0.5], [0.5, 0.4804530139182014]]
    # log(2)^2 at 50 digits rounds to the next float up: the product of two roundings is 1 ulp off
    assert math.ulp(0.4804530139182014) == abs(0.4804530139182014 - float(sympy.log(2).evalf(50) ** 2))


POW_CASES = [
    ("x^y", {"x": 2.0, "y": 0.0}),
    ("x^y", {"x": 0.5, "y": 0.0}),
    ("x^y*z", {"x": 3.0, "y": 0.0, "z": 1.5}),
    ("x^(y-1)", {"x": 2.0, "y": 1.0}),
    ("x^y", {"x": 2.0, "y": 1.0}),
    ("x^y", {"x": 0.0, "y": 2.0}),
    ("x^y", {"x": 0.0, "y": 1.5}),
    ("(x+y)^3", {"x": -1.0, "y": 1.0}),
]


@pytest.mark.parametrize("source, at", POW_CASES, ids=[f"{s}@{a}" for s, a in POW_CASES])
def test_hessian_of_pow_matches_sympy(source, at):
    symbols = sympy.symbols(list(at), real=True)
    expression = sympy.sympify(source.replace("^", "**"), locals=dict(zip(at, symbols)))
    point = {s: sympy.Rational(v) for s, v in zip(symbols, at.values())}
    expected = reference_hessian(expression, list(symbols), point, lambda *args: True)
    got = hessian(parse(source), at).matrix
    for got_row, expected_row in zip(got, expected):
        assert got_row == pytest.approx(expected_row, rel=1e-14, abs=1e-300), (source, at)


def test_hessian_of_pow_at_subnormal_base_overflows():
    """d2(x^y)/dxdy at y = 0 is 1/x, 1e310 at x = 1e-310: beyond the largest float, an overflow."""
    with pytest.raises(EvaluationError, match="overflow"):
        hessian(parse("x^y"), {"x": 1e-310, "y": 0.0})


def test_hessian_of_pow_at_negative_base_takes_y_as_constant():
    """x^y at (-2, 3): d2/dx2 = y(y-1)x^(y-2) = -12; every y-derivative is complex (SymPy: f_xy =
    12.32 + 37.70i), so with the stated convention (d/dy = 0 where x < 0) they are all 0, and the
    matrix is symmetric (it was [[-12, 4], [0, 0]])."""
    f_xy = sympy.diff(X**Y, X, Y).subs({X: -2, Y: 3}).evalf(30)
    assert sympy.im(f_xy) != 0
    result = hessian(parse("x^y"), {"x": -2.0, "y": 3.0})
    assert result.matrix == [[-12.0, 0.0], [0.0, 0.0]]
    assert result.gradient == [12.0, 0.0]


# ---------------------------------------------- infinite second derivatives, honestly

def test_cli_hessian_of_sqrt_at_zero_is_minus_inf(runner):
    """sqrt''(x) = -x^(-3/2)/4 -> -inf as x -> 0+ (it was [[0]])."""
    assert sympy.limit(sympy.diff(sympy.sqrt(X), X, 2), X, 0, "+") == -sympy.oo
    result = invoke(runner, "hessian", "sqrt(x)", "--at", "x=0")
    assert result.exit_code == 0
    assert "-inf" in result.stdout


def test_hessian_of_sqrt_times_y_at_zero():
    """f = y sqrt(x) at (0, 2): f_xx = -y x^(-3/2)/4 -> -inf, f_xy = x^(-1/2)/2 -> +inf, f_yy = 0
    (it failed with 'overflow, 2 * inf is too large for a float')."""
    result = hessian(parse("sqrt(x)*y"), {"x": 0.0, "y": 2.0})
    assert result.matrix == [[-math.inf, math.inf], [math.inf, 0.0]]
    assert result.gradient == [math.inf, 0.0]


def test_cli_hessian_of_sqrt_times_y_says_no_overflow(runner):
    result = invoke(runner, "hessian", "sqrt(x)*y", "--at", "x=0,y=2")
    assert result.exit_code == 0
    assert "overflow" not in result.stdout + result.stderr


def test_hessian_where_undefined_says_so(runner):
    """sqrt(x^2) = |x|: its first derivative at 0 is a convention (inf * 0) and its second has no
    value (0 on each side, a Dirac delta at 0): one line, exit 1, nothing on stdout."""
    result = invoke(runner, "hessian", "sqrt(x^2)", "--at", "x=0")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "error: v3 = sqrt(v2): the second derivative is undefined at this point: its second partials are "
        "infinite and its argument v2 is not a linear function of the inputs")


@pytest.mark.parametrize("source", ["sqrt(x)^2", "sqrt(x)*sqrt(x)", "x*sqrt(x)"])
def test_an_infinite_second_partial_times_a_vanishing_adjoint_is_undefined(source):
    """sqrt(x)^2 = x has f''(0) = 0 and x·sqrt(x) = x^1.5 has f''(0) = +inf (by hand): at x = 0 the
    term adjoint · sqrt''(0) is 0·inf with an adjoint that is 0 only there, so its value cannot be
    read from the trace; adcli says so rather than give inf for the first."""
    with pytest.raises(EvaluationError, match=r"^v\d+ = sqrt\(v1\): the second derivative is undefined at this "
                                              r"point: its second partials are infinite and its adjoint is 0 here "
                                              r"but not nearby \(0·inf\)$"):
        hessian(parse(source), {"x": 0.0})


def test_hessian_inf_minus_inf_is_undefined():
    with pytest.raises(EvaluationError, match=r"^the second derivative ∂²f/∂x∂x is undefined at this point"):
        hessian(parse("sqrt(x) - sqrt(x)"), {"x": 0.0})


# -------------------------------------------- every primitive at its edge points

#: Per primitive, the points where its second derivatives are hardest: kinks, poles, ends of the
#: domain, saturation, the branch of a rule. Every registry primitive must be listed.
EDGE_POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(0.0, 0.0), (1e300, -1e300)],
    "sub": [(0.0, 0.0), (-1e300, 1e300)],
    "mul": [(0.0, 0.0), (2.0, -3.0)],
    "div": [(0.0, 1.0), (1.0, 1e-5), (2.0, -3.0)],
    "neg": [(0.0,)],
    "pow": [(2.0, 0.0), (0.5, 0.0), (2.0, 1.0), (0.0, 2.0), (0.0, 1.0), (0.0, 0.5), (0.0, 1.5), (3.0, 0.5),
            (1.0, 0.0), (1.0, 100.0), (2.0, -3.0)],
    "exp": [(0.0,), (-700.0,), (700.0,)],
    "log": [(1.0,), (1e-8,), (1e300,)],
    "sqrt": [(0.0,), (1e-8,), (4.0,)],
    "sin": [(0.0,), (math.pi / 2,)],
    "cos": [(0.0,), (math.pi / 2,)],
    "tan": [(0.0,), (1.5,)],
    "asin": [(0.0,), (1.0,), (-1.0,), (0.999999,), (-0.5,)],
    "acos": [(0.0,), (1.0,), (-1.0,), (-0.999999,)],
    "atan": [(0.0,), (1.0,), (1e8,), (-1e100,)],
    "sinh": [(0.0,), (20.0,)],
    "cosh": [(0.0,), (-20.0,)],
    "tanh": [(0.0,), (20.0,), (-20.0,), (1e-8,)],
    "sigmoid": [(0.0,), (40.0,), (-40.0,)],
    "relu": [(0.0,), (1.0,), (-1.0,)],
    "abs": [(0.0,), (-2.0,)],
    "min": [(1.0, 1.0), (1.0, 2.0)],
    "max": [(1.0, 1.0), (2.0, 1.0)],
    "floor": [(1.0,), (1.5,)],
    "sign": [(0.0,), (-1.0,)],
    "log10": [(1.0,), (1e-8,), (1e300,)],
    "log2": [(1.0,), (1e-8,)],
    "log1p": [(0.0,), (-0.999999,), (1e300,)],
    "expm1": [(0.0,), (-700.0,), (700.0,)],
    "softplus": [(0.0,), (40.0,), (-40.0,)],
    "erf": [(0.0,), (3.0,), (-20.0,)],
    "erfc": [(0.0,), (3.0,), (20.0,)],
    "atan2": [(1.0, 0.0), (0.0, -1.0), (1e-200, 3e-200), (-2.0, 5.0)],
    "hypot": [(3.0, 4.0), (0.0, -2.0), (1e-200, 3e-200)],
    "asinh": [(0.0,), (1e8,), (-1e100,)],
    "acosh": [(1.0,), (1.000001,), (1e100,)],
    "atanh": [(0.0,), (0.999999,), (-0.5,)],
}

EDGE_CASES = [pytest.param(p, point, id=f"{p.name}{point}") for p in operations() for point in EDGE_POINTS[p.name]]


def test_edge_points_cover_every_primitive():
    assert sorted(EDGE_POINTS) == sorted(p.name for p in operations())


@pytest.mark.parametrize("primitive, point", EDGE_CASES)
def test_hessian_of_every_primitive_at_its_edges(primitive, point):
    symbols = [X, Y][:primitive.arity]
    source = primitive.call_text(["x", "y"][:primitive.arity])
    # floor and sign are constant between their jumps: every derivative is 0 (SymPy cannot differentiate floor)
    expression = sympy.Integer(0) if primitive.discrete else primitive.sympy(sympy, *symbols)
    exact = {s: sympy.Rational(v) for s, v in zip(symbols, point)}
    domain = primitive.domain or (lambda *args: True)
    expected = reference_hessian(expression, symbols, exact, domain)
    got = hessian(parse(source), dict(zip("xy", point))).matrix
    for got_row, expected_row in zip(got, expected):
        assert got_row == pytest.approx(expected_row, rel=1e-13, abs=1e-300), (source, point)
