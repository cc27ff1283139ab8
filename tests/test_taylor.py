"""Taylor mode (adcli taylor) and Hessian-vector products (adcli hvp), issue 17 items 1 and 2.

References: SymPy's derivatives evaluated with mpmath at 50 digits, and hand derivations written
beside the numbers; never adcli itself."""

from __future__ import annotations

import json
import math
import time

import mpmath
import pytest
import sympy

import adcli
from adcli.errors import EvaluationError, InputError
from adcli.parser import parse
from adcli.primitives import operations
from adcli.taylor import sympy_check, taylor_coefficients
from adcli.trace import Trace
from tests.test_cli import run

mpmath.mp.dps = 60

# An interior point of every primitive's domain, away from its kinks: (x0, y0) on the line
# x = x0 + t, y = y0 + t/2.
_POINT = {"acosh": (1.7, 0.0)}
_DEFAULT_POINT = (0.3, 1.3)
_ORDER = 7


def _reference_coefficients(primitive, x0: float, y0: float, order: int) -> list:
    """c_k = g^(k)(0) / k! for g(t) = primitive(x0 + t, y0 + t/2), with SymPy at 50 digits."""
    t = sympy.Symbol("t", real=True)
    args = [sympy.Rational(x0) + t, sympy.Rational(y0) + t / 2][:primitive.arity]
    g = primitive.sympy(sympy, *args)
    result = []
    for k in range(order + 1):
        result.append(mpmath.mpf(sympy.N(g.subs(t, 0), 50)) / math.factorial(k))
        g = sympy.diff(g, t)
    return result


@pytest.mark.parametrize("primitive", operations(), ids=lambda p: p.name)
def test_every_primitive_has_a_taylor_rule_that_matches_sympy(primitive):
    x0, y0 = _POINT.get(primitive.name, _DEFAULT_POINT)
    trace = Trace(source=primitive.name)
    x, y = trace.add_input("x"), trace.add_input("y")
    trace.add_output(trace.add_op(primitive, x, y if primitive.arity == 2 else -1), "f")
    result = taylor_coefficients(trace, {"x": x0, "y": y0}, _ORDER, {"x": 1.0, "y": 0.5})
    got = result.coefficients[trace.outputs[0]]
    if primitive.discrete:  # piecewise constant: SymPy has no derivative of floor; the value and zeros
        assert got[1:] == [0.0] * _ORDER
        return
    reference = _reference_coefficients(primitive, x0, y0, _ORDER)
    scale = max(abs(r) for r in reference)
    for k, (value, exact) in enumerate(zip(got, reference)):
        assert abs(mpmath.mpf(value) - exact) <= 1e-13 * scale, (k, value, exact)  # rounding grows with the order


def test_exp_of_sin_to_order_10_against_sympy_at_50_digits():
    x = sympy.Symbol("x")
    result = taylor_coefficients(parse("exp(sin(x))"), {"x": 0.5}, 10)
    derivatives = result.derivatives()
    for k in range(11):
        exact = mpmath.mpf(sympy.N(sympy.diff(sympy.exp(sympy.sin(x)), x, k).subs(x, sympy.Rational(0.5)), 50))
        assert abs(derivatives[k] - exact) <= 4e-15 * abs(exact), k


def test_fiftieth_coefficient_of_the_geometric_series():
    # 1/(1-x) = Σ x^k at 0: every coefficient is exactly 1, so 50! is the 50th derivative
    result = taylor_coefficients(parse("1/(1-x)"), {"x": 0.0}, 50)
    coefficients = result.coefficients[result.trace.outputs[0]]
    assert coefficients == [1.0] * 51
    assert result.derivatives()[50] == float(math.factorial(50))


def test_a_direction_through_several_inputs_by_hand():
    # x = 1 + t, y = 2 - t: x y² = (1 + t)(4 - 4t + t²) = 4 + 0t - 3t² + t³, and sin(1 + t) adds
    # sin(1) + cos(1) t - sin(1)/2 t² - cos(1)/6 t³ + sin(1)/24 t⁴
    result = taylor_coefficients(parse("x*y^2 + sin(x)"), {"x": 1.0, "y": 2.0}, 4, {"x": 1.0, "y": -1.0})
    s, c = math.sin(1), math.cos(1)
    expected = [4 + s, c, -3 - s / 2, 1 - c / 6, s / 24]
    assert result.coefficients[result.trace.outputs[0]] == pytest.approx(expected, rel=1e-15, abs=1e-16)


def test_sympy_check_sizes_and_values_to_order_8():
    result = taylor_coefficients(parse("exp(sin(x))"), {"x": 0.5}, 9)
    sympy_check(result, 60.0)
    assert [check.order for check in result.checks] == list(range(1, 9))
    assert all(check.rel_error < 1e-14 for check in result.checks)
    # SymPy's k-th derivative of exp(sin(x)) grows with k; the first is exp(sin(x))·cos(x): 4 operations
    assert result.checks[0].sympy_ops == 4
    sizes = [check.sympy_ops for check in result.checks]
    assert sizes == sorted(sizes) and sizes[-1] > 20 * sizes[0]


def test_sympy_checks_every_output():
    # along x = 0.5 + t (y = 2 held): d^k/dt^k of exp(x)·y is 2e^0.5, of sin(xy) = sin(1 + 2t) it is 2^k sin^(k)(1)
    result = taylor_coefficients(parse("exp(x)*y, sin(x*y)"), {"x": 0.5, "y": 2.0}, 3, {"x": 1.0, "y": 0.0})
    sympy_check(result, 60.0)
    assert [(check.output, check.order) for check in result.checks] == [
        ("exp(x)*y", 1), ("exp(x)*y", 2), ("exp(x)*y", 3), ("sin(x*y)", 1), ("sin(x*y)", 2), ("sin(x*y)", 3)]
    s, c = math.sin(1), math.cos(1)
    hand = [2 * math.exp(0.5)] * 3 + [2 * c, -4 * s, -8 * c]
    assert [float(check.reference) for check in result.checks] == pytest.approx(hand, rel=1e-15)
    assert all(check.rel_error < 1e-15 for check in result.checks)


def test_powers_at_zero_by_repeated_squaring():
    # x^3 at 0 along x = t: t^3
    result = taylor_coefficients(parse("x^3"), {"x": 0.0}, 5)
    assert result.coefficients[result.trace.outputs[0]] == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_a_varying_exponent():
    # x^x at 1: exp(x log x) = 1 + t + t² + t³/2 + … (x = 1 + t: x log x = t + t²/2 - t³/6 + …)
    result = taylor_coefficients(parse("x^x"), {"x": 1.0}, 3)
    assert result.coefficients[result.trace.outputs[0]] == pytest.approx([1.0, 1.0, 1.0, 0.5], rel=1e-15)


def test_an_infinite_partial_has_no_higher_coefficients(runner):
    result = run(runner, ["taylor", "sqrt(x)", "--at", "x=0", "--order", "2"])
    assert result.exit_code == 1
    assert result.stderr == ("error: v2 = sqrt(v1): no Taylor coefficients of order 2 or more at this point: its "
                             "derivative is infinite here (its first derivative: sqrt'(0) = inf); --order 1 gives "
                             "the first derivative\n")
    assert result.stdout == ""
    first = taylor_coefficients(parse("sqrt(x)"), {"x": 0.0}, 1)
    assert first.coefficients[first.trace.outputs[0]] == [0.0, math.inf]


def test_a_kink_the_line_crosses_follows_the_first_derivatives_convention():
    # abs'(0) = 0: the series of |x| at 0 is taken as 0 at every order, and the note says so
    result = taylor_coefficients(parse("abs(x) + x"), {"x": 0.0}, 3)
    assert result.coefficients[result.trace.outputs[0]] == [0.0, 1.0, 0.0, 0.0]
    assert result.evaluated.notes == ["v2 = abs(v1): the line crosses its kink here, so its Taylor coefficients of "
                                      "every order follow the first derivative's convention"]


@pytest.mark.parametrize(("text", "direction", "expected"), [
    # by hand, along x = t (y = 0 + t/2 where given): each kink's argument keeps one sign for t ≠ 0
    ("abs(x^2)", {"x": 1.0}, [0.0, 0.0, 2.0, 0.0, 0.0]),  # |t²| = t²
    ("relu(x^2)*3", {"x": 1.0}, [0.0, 0.0, 6.0, 0.0, 0.0]),  # 3t²
    ("relu(-x^2)", {"x": 1.0}, [0.0, 0.0, 0.0, 0.0, 0.0]),  # relu(-t²) = 0
    ("max(x^2, -x^2)", {"x": 1.0}, [0.0, 0.0, 2.0, 0.0, 0.0]),  # t²
    ("min(x^2, -x^2)", {"x": 1.0}, [0.0, 0.0, -2.0, 0.0, 0.0]),  # -t²
    ("max(x^2 + y, y - x^4)", {"x": 1.0, "y": 0.5}, [0.0, 0.5, 2.0, 0.0, 0.0]),  # t² + t/2
    ("abs(x^4 - x^2)", {"x": 1.0}, [0.0, 0.0, 2.0, 0.0, -24.0]),  # t² - t⁴ near 0
])
def test_a_kink_the_line_only_touches_gives_the_exact_series(text, direction, expected):
    trace = parse(text)
    point = dict.fromkeys(trace.input_names, 0.0)
    result = taylor_coefficients(trace, point, 4, direction)
    assert result.derivatives(0) == pytest.approx(expected, abs=1e-15)
    assert any("stays on one side of it, so its Taylor coefficients are that side's" in note
               for note in result.evaluated.notes)


def test_no_series_quotes_the_first_derivatives_convention_only_where_it_is_one(runner):
    # (t)^2.5 has no real values for t < 0, but its first derivative at 0 is 0, no convention
    result = run(runner, ["taylor", "x^2.5", "--at", "x=0", "--order", "2"])
    assert result.exit_code == 1
    assert result.stderr == ("error: v2 = v1 ^ 2.5: no Taylor coefficients of order 2 or more at this point: x^2.5 at "
                             "x = 0 has no Taylor series; --order 1 gives the first derivative\n")


def test_a_kink_crossed_at_a_higher_order_is_exact_below_it():
    # |t³|: 0, 0, 0 to order 2 exactly; its third derivative does not exist, and the note says the convention holds
    result = taylor_coefficients(parse("abs(x^3)"), {"x": 0.0}, 3)
    assert result.derivatives(0) == [0.0, 0.0, 0.0, 0.0]
    assert "the line crosses its kink here" in result.evaluated.notes[0]


def test_library_errors_name_the_argument():
    with pytest.raises(InputError) as error:
        taylor_coefficients(parse("x*y"), {"x": 1.0, "y": 2.0}, 3)
    assert (error.value.option, str(error.value)) == (
        "direction", "the function has 2 inputs (x, y): give the line of the derivatives")
    with pytest.raises(InputError) as error:
        taylor_coefficients(parse("x"), {"x": 1.0}, 171)
    assert error.value.option == "order"
    with pytest.raises(EvaluationError):
        taylor_coefficients(parse("x^0.5"), {"x": 0.0}, 3)


def test_cli_json(runner):
    result = run(runner, ["taylor", "1/(1-x)", "--at", "x=0.5", "--order", "3", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    # 1/(1-x) at 1/2 along t: 1/(1/2 - t) = 2 Σ (2t)^k: c_k = 2^(k+1), f^(k) = k! 2^(k+1)
    assert document["outputs"] == [{"name": "1/(1-x)", "coefficients": [2.0, 4.0, 8.0, 16.0],
                                    "derivatives": [2.0, 4.0, 16.0, 96.0]}]
    assert document["direction"] == {"x": 1.0} and document["order"] == 3 and document["value"] == 2.0
    assert [node["name"] for node in document["nodes"]] == ["v1", "v2", "v3"]


def test_cli_errors(runner):
    result = run(runner, ["taylor", "x*y", "--at", "x=1,y=2"])
    assert (result.exit_code, result.stderr) == (
        2, "error: the function has 2 inputs (x, y): give the line of the derivatives with --direction\n")
    result = run(runner, ["taylor", "x", "--at", "x=1", "--check", "fd"])
    assert (result.exit_code, result.stderr) == (
        2, "error: --check fd: Taylor mode is checked with sympy (finite differences of high order are hopeless)\n")
    result = run(runner, ["taylor", "x", "--at", "x=1", "--order", "0"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "0: give a whole number from 1 to 170" in result.stderr


def test_order_50_of_a_thousand_operations_is_practical():
    expression = "+".join(f"sin(x*{k % 7 + 1})*exp(x/{k % 5 + 2})" for k in range(200))
    trace = parse(expression)
    assert trace.operation_count >= 1000
    began = time.perf_counter()
    taylor_coefficients(trace, {"x": 0.25}, 50)
    assert time.perf_counter() - began < 20  # about 1.5 s alone on one core; a loose bound for a shared machine


# ---------------------------------------------------------------- Hessian-vector products
def _rosenbrock_hessian(x: list[float]) -> list[list[float]]:
    """The closed form of Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²: tridiagonal."""
    n = len(x)
    h = [[0.0] * n for _ in range(n)]
    for i in range(n - 1):
        h[i][i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1][i + 1] += 200
        h[i][i + 1] += -400 * x[i]
        h[i + 1][i] += -400 * x[i]
    return h


def test_zero_to_a_varying_positive_power_is_zero_along_the_line():
    # along x = 0, y = 2 + t: 0^(2+t) = 0 for every small t, and y² = 4 + 4t + t², so f = x^y + y²
    # has the derivatives 4, 4, 2, 0 (it said 'x^y at x = 0 with a varying exponent has no Taylor series')
    result = taylor_coefficients(parse("x^y + y^2"), {"x": 0.0, "y": 2.0}, 3, {"y": 1.0})
    assert result.derivatives() == [4.0, 4.0, 2.0, 0.0]
    # along x = t, y = 2 + t, t^(2+t) = t²·exp(t log t) has no Taylor series at t = 0: still an error
    with pytest.raises(EvaluationError, match="varying exponent has no Taylor series"):
        taylor_coefficients(parse("x^y"), {"x": 0.0, "y": 2.0}, 3, {"x": 1.0, "y": 1.0})


def test_hvp_of_rosenbrock_against_the_closed_form(tmp_path):
    path = tmp_path / "rosenbrock.py"
    path.write_text("def f(x):\n    s = 0\n    for i in range(len(x) - 1):\n"
                    "        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2\n    return s\n")
    point = [1.5, -0.5, 0.25, 2.0, -1.0]
    v = [1.0, -2.0, 0.5, 3.0, -1.5]
    trace, assigned = adcli.analysis.load(str(path), {"x": point})
    result = adcli.hessian_vector_product(trace, assigned, {f"x[{i}]": vi for i, vi in enumerate(v)})
    h = _rosenbrock_hessian(point)
    assert result.product == pytest.approx([sum(a * b for a, b in zip(row, v)) for row in h], rel=1e-15)


def test_hvp_cli(runner):
    # H = [[1200x² - 400y + 2, -400x], [-400x, 200]] at (1.5, 0.5) = [[2502, -600], [-600, 200]]; v = (1, 2)
    result = run(runner, ["hvp", "(1-x)^2 + 100*(y-x^2)^2", "--at", "x=1.5,y=0.5", "--direction", "x=1,y=2",
                          "--json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["hvp"] == {"x": 1302.0, "y": -200.0}
    assert document["gradient"] == {"x": 1051.0, "y": -350.0}  # 2(x-1) - 400x(y-x²), 200(y-x²)


def test_hvp_at_an_infinite_second_partial():
    # sqrt''(x) = -x^(-3/2)/4 -> -inf as x -> 0+
    result = adcli.hessian_vector_product(parse("sqrt(x) + y"), {"x": 0.0, "y": 1.0}, {"x": 1.0})
    assert result.product == [-math.inf, 0.0]


def test_hvp_where_an_infinite_second_partial_meets_an_opposite_one(runner):
    # f = sqrt(x)·y at (0, 1): ∂²f/∂x² = -y x^(-3/2)/4 = -inf, ∂²f/∂x∂y = x^(-1/2)/2 = +inf, so with
    # v = (1, 1) the x entry of H·v is -inf + inf: undefined, an error, not a traceback (math.fsum raised)
    result = run(runner, ["hvp", "x^0.5*y", "--at", "x=0,y=1", "--direction", "x=1,y=1"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: (H·v) for x is undefined at this point: its terms add up to inf - inf\n")
    # v = (0, 1): only the +inf term remains; ∂²f/∂y² = 0
    product = adcli.hessian_vector_product(parse("x^0.5*y"), {"x": 0.0, "y": 1.0}, {"y": 1.0}).product
    assert product == [math.inf, 0.0]


def test_hvp_whose_terms_overflow_is_inf():
    # f = sqrt(x) + 1e308·y·z + 0.5e308·y² at (0, 0.5, 0.5): ∂²f/∂y² = ∂²f/∂y∂z = 1e308, ∂²f/∂z² = 0, so
    # (H·v)_y = 1e308 + 1e308 overflows to inf (as Python's 1e308 + 1e308), (H·v)_z = 1e308
    f = parse("sqrt(x) + 1e308*y*z + 0.5e308*y^2")
    result = adcli.hessian_vector_product(f, {"x": 0.0, "y": 0.5, "z": 0.5}, {"y": 1.0, "z": 1.0})
    assert result.product[1:] == [1e308 + 1e308, 1e308]


def test_hvp_cli_errors(runner):
    result = run(runner, ["hvp", "x*y", "--at", "x=1,y=2"])
    assert (result.exit_code, result.stderr) == (
        2, "error: give the vector v of H·v with --direction, e.g. --direction x=1,y=0\n")
    result = run(runner, ["hvp", "x*y, x", "--at", "x=1,y=2", "--direction", "x=1"])
    assert (result.exit_code, result.stderr) == (2, "error: H·v needs a single output; the function has 2\n")
    result = run(runner, ["hvp", "x*y", "--at", "x=1,y=2", "--direction", "z=1"])
    assert result.exit_code == 2 and result.stdout == ""


def test_cli_footer_counts_one_operation_in_the_singular(runner):
    # sin(x) records one operation (v2 = sin(v1)); sin''(1) = -sin(1) = -0.84147098 (8 digits)
    result = run(runner, ["taylor", "sin(x)", "--at", "x=1", "--order", "2"])
    assert result.exit_code == 0
    assert "│ 2 │ -0.42073549 │     -0.84147098 │" in result.stdout
    assert result.stdout.endswith("Taylor mode: one sweep over 1 operation, O(K²) each\n")


def test_cli_csv_has_every_nodes_coefficients(runner):
    # x = 2 + t: (2 + t)^3 = 8 + 12t + 6t² + t³
    result = run(runner, ["taylor", "x^3", "--at", "x=2", "--order", "3", "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout == "node,operation,c0,c1,c2,c3\nv1,x,2.0,1.0,0.0,0.0\nv2,v1 ^ 3,8.0,12.0,6.0,1.0\n"
