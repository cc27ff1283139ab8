"""--smooth TAU: kinks and steps replaced by smooth relaxations (issue 13, item 8).

References: hand derivations (written beside them), SymPy/mpmath at 50 digits of the smoothed
formulas as the issue states them (softplus and logsumexp unshifted, floor as the sum of Cauchy
steps), and the true derivative away from the kink.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import mpmath
import pytest
import sympy as sp

import adcli
from adcli.analysis import gradient, load
from adcli.cli import app
from adcli.errors import InputError
from adcli.hessian import hessian
from adcli.smoothing import smooth

mpmath.mp.dps = 50


def smoothed_gradient(source: str, tau: float, **at: float) -> tuple[float, dict[str, float]]:
    result = gradient(smooth(adcli.parse(source), tau), at)
    return result.evaluated.output_values[0], result.gradients[0]


# ---------------------------------------------------------------- hand derivations
def test_abs_hand_derivation():
    # d/dx sqrt(x²+τ²) = x / sqrt(x²+τ²): 0 at x = 0 (value τ), 1/√2 at x = τ (value τ√2)
    assert smoothed_gradient("abs(x)", 0.01, x=0.0) == (0.01, {"x": 0.0})
    value, grad = smoothed_gradient("abs(x)", 0.01, x=0.01)
    assert value == pytest.approx(0.01 * math.sqrt(2), rel=1e-15)
    assert grad["x"] == pytest.approx(1 / math.sqrt(2), rel=1e-15)


def test_relu_sign_and_max_at_the_kink():
    # τ·softplus(0) = τ ln 2, softplus' = sigmoid, sigmoid(0) = 1/2
    value, grad = smoothed_gradient("relu(x)", 0.01, x=0.0)
    assert value == pytest.approx(0.01 * math.log(2), rel=1e-15) and grad["x"] == pytest.approx(0.5, rel=1e-15)
    # d/dx tanh(x/τ) = sech²(x/τ)/τ = 1/τ at 0
    assert smoothed_gradient("sign(x)", 0.01, x=0.0) == (0.0, {"x": pytest.approx(100.0, rel=1e-15)})
    # τ·log(e^{x/τ} + e^{x/τ}) = x + τ ln 2 at a tie; the softmax weights are 1/2 each
    value, grad = smoothed_gradient("max(x, y)", 0.1, x=1.0, y=1.0)
    assert value == pytest.approx(1 + 0.1 * math.log(2), rel=1e-15)
    assert grad == {"x": pytest.approx(0.5, rel=1e-15), "y": pytest.approx(0.5, rel=1e-15)}
    value, grad = smoothed_gradient("min(x, y)", 0.1, x=1.0, y=1.0)
    assert value == pytest.approx(1 - 0.1 * math.log(2), rel=1e-15)
    assert grad == {"x": pytest.approx(0.5, rel=1e-15), "y": pytest.approx(0.5, rel=1e-15)}


def test_floor_staircase_hand_derivation():
    # with r = e^{-2πτ}: the slope is (1 - r)/(1 + r) = tanh(πτ) midway (x = 1/2, value 0) and
    # (1 + r)/(1 - r) = coth(πτ) at an integer (x = 2, value 3/2, the middle of the jump)
    tau = 0.05
    value, grad = smoothed_gradient("floor(x)", tau, x=0.5)
    assert abs(value) < 1e-15 and grad["x"] == pytest.approx(math.tanh(math.pi * tau), rel=1e-12)
    value, grad = smoothed_gradient("floor(x)", tau, x=2.0)
    assert value == pytest.approx(1.5, rel=1e-14)
    assert grad["x"] == pytest.approx(1 / math.tanh(math.pi * tau), rel=1e-12)


# ---------------------------------------------------------------- 50-digit references
X, Y = sp.symbols("x y", real=True)
TAU = sp.Rational(1, 20)  # τ = 0.05 is exact in neither, so the float τ is used in both below


def _reference(expression, point: dict, tau: float) -> list[mpmath.mpf]:
    t = sp.Float(tau, 60)
    expression = expression.subs(TAU, t)
    values = {X: sp.Float(point["x"], 60), Y: sp.Float(point.get("y", 0.0), 60)}
    return [sp.N(sp.diff(expression, v).subs(values), 50) for v in (X, Y)[:len(point)]]


SMOOTHED = [  # (source, the relaxation as the issue words it, unshifted, points)
    ("abs(x)", sp.sqrt(X**2 + TAU**2), [-3.0, -0.02, 0.0, 0.007, 1.5]),
    ("relu(x)", TAU * sp.log(1 + sp.exp(X / TAU)), [-0.4, -0.03, 0.0, 0.01, 0.6]),
    ("sign(x)", sp.tanh(X / TAU), [-0.2, 0.0, 0.03, 0.5]),
]


@pytest.mark.parametrize("source, formula, points", SMOOTHED)
def test_one_argument_relaxations_against_sympy(source, formula, points):
    tau = 0.05
    for x in points:
        (reference,) = _reference(formula, {"x": x}, tau)
        for mode in ("reverse", "forward"):
            got = gradient(smooth(adcli.parse(source), tau), {"x": x}, mode=mode).gradients[0]["x"]
            assert abs(got - reference) <= 1e-14 * max(1.0, abs(reference)), (source, x, mode, got, reference)


@pytest.mark.parametrize("source, sign", [("max(x, y)", 1), ("min(x, y)", -1)])
def test_logsumexp_against_sympy(source, sign):
    tau = 0.05
    formula = sign * TAU * sp.log(sp.exp(sign * X / TAU) + sp.exp(sign * Y / TAU))
    for x, y in [(1.0, 1.0), (1.0, 1.02), (-0.3, 0.5), (2.0, -1.0)]:
        references = _reference(formula, {"x": x, "y": y}, tau)
        got = gradient(smooth(adcli.parse(source), tau), {"x": x, "y": y}).gradients[0]
        for name, reference in zip("xy", references):
            assert abs(got[name] - reference) <= 1e-14, (source, x, y, name, got, reference)


def test_floor_is_a_sum_of_cauchy_steps():
    # the soft staircase's slope is the periodic Cauchy density Σ_k (τ/π) / ((x - k)² + τ²), by mpmath
    tau = 0.05
    for x in [0.3, 0.5, 0.97, 1.0, -1.26, 4.5]:
        reference = mpmath.nsum(lambda k, x=x: (tau / mpmath.pi) / ((mpmath.mpf(x) - k) ** 2 + tau**2),
                                [-mpmath.inf, mpmath.inf])
        got = gradient(smooth(adcli.parse("floor(x)"), tau), {"x": x}).gradients[0]["x"]
        assert abs(got - reference) <= 1e-12 * abs(reference), (x, got, reference)


def test_second_derivatives_against_sympy():
    tau = 0.05
    for source, formula, x in [("abs(x)", sp.sqrt(X**2 + TAU**2), 0.0),
                               ("relu(x)", TAU * sp.log(1 + sp.exp(X / TAU)), 0.02),
                               ("sign(x)", sp.tanh(X / TAU), 0.01)]:
        expression = formula.subs(TAU, sp.Float(tau, 60))
        reference = sp.N(sp.diff(expression, X, 2).subs(X, sp.Float(x, 60)), 50)
        got = hessian(smooth(adcli.parse(source), tau), {"x": x}).matrix[0][0]
        assert abs(got - reference) <= 1e-12 * abs(reference), (source, got, reference)
    # by hand: d²/dx² sqrt(x²+τ²) = τ² / (x²+τ²)^{3/2} = 1/τ = 20 at x = 0
    assert hessian(smooth(adcli.parse("abs(x)"), tau), {"x": 0.0}).matrix == [[pytest.approx(20.0, rel=1e-14)]]


# ---------------------------------------------------------------- τ → 0
@pytest.mark.parametrize("source, at, true", [
    ("abs(x)", {"x": -0.5}, {"x": -1.0}),
    ("relu(x)", {"x": 0.3}, {"x": 1.0}),
    ("max(x, y)", {"x": 1.0, "y": 2.0}, {"x": 0.0, "y": 1.0}),
    ("min(x, y)", {"x": 1.0, "y": 2.0}, {"x": 1.0, "y": 0.0}),
    ("sign(x)", {"x": 0.2}, {"x": 0.0}),
    ("floor(x)", {"x": 2.3}, {"x": 0.0}),
])
def test_smoothed_gradient_tends_to_the_true_one_away_from_the_kink(source, at, true):
    errors = []
    for tau in (1e-1, 1e-2, 1e-3, 1e-4):
        got = gradient(smooth(adcli.parse(source), tau), at).gradients[0]
        errors.append(max(abs(got[name] - value) for name, value in true.items()))
    assert all(later <= max(earlier, 1e-15) for earlier, later in zip(errors, errors[1:])), errors  # (1e-15: rounding)
    assert errors[-1] < 1e-3, errors  # floor: (τ/π)·Σ 1/(x - k)² ≈ 3.9e-4 at τ = 1e-4 (slowest)


# ---------------------------------------------------------------- the rewrite
def test_the_library_exposes_it():
    assert adcli.smooth is smooth


def test_constants_and_smooth_nodes_are_kept():
    trace = smooth(adcli.parse("abs(-2) * x + sin(x)"), 0.1)
    assert "abs(" in trace.text() and "sqrt" not in trace.text()
    assert trace.notes == ["smoothing: no kink or step (abs, relu, max, min, sign, floor) depends on an input; "
                           "nothing replaced"]


def test_many_nodes_are_counted_in_one_note():
    trace = smooth(adcli.parse("abs(x) + abs(2*x) + abs(3*x) + abs(4*x) + abs(5*x)"), 0.1)
    assert [note for note in trace.notes if note.startswith("abs")] == [
        "abs at v2, v4, v7 and 2 more replaced by sqrt(x²+τ²), τ = 0.1"]


@pytest.mark.parametrize("tau", [0.0, -1.0, math.inf, math.nan, 1e-200])
def test_library_refuses_a_bad_width(tau):
    with pytest.raises(InputError):
        smooth(adcli.parse("abs(x)"), tau)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "f.py"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_function_file_builtins_and_a_floor_that_only_counts(tmp_path):
    path = write(tmp_path, """
        import math


        def f(x, y):
            s = abs(y) + max(x, y)
            for _ in range(math.floor(x)):
                s = s + math.floor(y)
            return s
        """)
    trace, point = load(path, {"x": 2.5, "y": 0.5})
    smoothed = smooth(trace, 0.05)
    notes = "\n".join(smoothed.notes)
    assert "abs at v3 replaced by sqrt(x²+τ²), τ = 0.05" in notes
    assert "max at v4 replaced by τ·logsumexp(x/τ, y/τ), τ = 0.05" in notes
    assert "smoothing kept floor at v6: it only decides control flow" in notes
    # two floor(y) added: by hand, with r = e^{-2πτ}, floor_τ'(1/2) = tanh(πτ) each;
    # abs_τ'(1/2) = 0.5/sqrt(0.25 + τ²); max_τ: softmax weights of (2.5, 0.5)/τ, e^{-40} for y
    result = gradient(smoothed, point)
    w = 1 / (1 + math.exp(40))
    assert result.gradients[0]["x"] == pytest.approx(1 - w, rel=1e-15)
    assert result.gradients[0]["y"] == pytest.approx(0.5 / math.sqrt(0.25 + 0.05**2) + w
                                                     + 2 * math.tanh(math.pi * 0.05), rel=1e-13)


# ---------------------------------------------------------------- the command line
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc", ""])
def test_cli_refuses_a_bad_width(runner, value):
    result = runner.invoke(app, ["grad", "abs(x)", "--at", "x=0", "--smooth", value])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: --smooth {value}: give the smoothing width as a positive finite number, "
                             "e.g. --smooth 0.01\n")


def test_cli_refuses_smoothing_a_batch(runner):
    result = runner.invoke(app, ["grad", "abs(x)", "--at", "x=-1:1:3", "--smooth", "0.1"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("error: --smooth applies to one point; a batch gives the true gradient "
                             "(give one point, or leave --smooth out)\n")


@pytest.mark.parametrize("command", ["grad", "trace", "jacobian", "hessian"])
def test_every_command_smooths_and_says_so(runner, command):
    result = runner.invoke(app, [command, "abs(x)*y", "--at", "x=0.01,y=2", "--smooth", "0.01", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "abs at v3 replaced by sqrt(x²+τ²), τ = 0.01" in document["notes"]
    assert not document.get("warnings")  # no kink is left, so no convention is used


def test_grad_cli_value(runner):
    # d/dx y·sqrt(x²+τ²) = y·x/sqrt(x²+τ²) = 2/√2 = √2 at x = τ
    result = runner.invoke(app, ["grad", "abs(x)*y", "--at", "x=0.01,y=2", "--smooth", "0.01", "--json"])
    assert json.loads(result.stdout)["gradient"]["x"] == pytest.approx(math.sqrt(2), rel=1e-15)


def test_compare_rows_beside_the_true_one(runner):
    # floor(x)·x at 1.5: true derivative floor(1.5) = 1; straight-through 1·x + floor(x) = 2.5;
    # smoothed: floor_τ(1.5) + x·tanh(πτ) with floor_τ(1.5) = 1 (midway between steps)
    result = runner.invoke(app, ["compare", "floor(x)*x", "--at", "x=1.5", "--smooth", "0.01", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rows = {row["method"]: row.get("value") for row in document["methods"]}
    assert rows["reverse-mode AD"] == 1.0
    assert rows["straight-through estimator"] == 2.5
    assert rows["smoothed AD (τ = 0.01)"] == pytest.approx(1 + 1.5 * math.tanh(math.pi * 0.01), rel=1e-13)
    assert any(note.startswith("floor at v2 replaced by a soft staircase") for note in document["notes"])
