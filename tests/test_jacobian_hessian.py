"""Jacobians (forward column by column, reverse row by row) and Hessians (forward-over-reverse).

References are SymPy's ``Matrix.jacobian`` and ``hessian`` evaluated at 30 digits, or derived by
hand (the derivation is written next to them); never adcli itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import sympy

from adcli.analysis import load
from adcli.cli import app
from adcli.errors import InputError
from adcli.hessian import hessian
from adcli.jacobian import jacobian

MODES = ["forward", "reverse"]
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample(name: str) -> str:
    return str(SAMPLES / name)


def evaluated(matrix: sympy.Matrix, at: dict) -> list[list[float]]:
    """A SymPy matrix evaluated at a point, at 30 digits, as floats."""
    return [[float(matrix[i, j].subs(at).evalf(30)) for j in range(matrix.cols)] for i in range(matrix.rows)]


def approx_matrix(expected: list[list[float]], rel: float = 1e-12):
    return [[pytest.approx(v, rel=rel, abs=rel * 1e-2) for v in row] for row in expected]


def invoke(runner, *args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    return result


# ================================================================ Jacobian

x, y = sympy.symbols("x y", real=True)
r, theta = sympy.symbols("r theta", real=True)

JACOBIAN_CASES = [
    # (source, assigned, SymPy outputs, SymPy inputs, SymPy point)
    pytest.param("x*y, sin(x)+y, x^2", {"x": 1.0, "y": 2.0},
                 [x * y, sympy.sin(x) + y, x**2], [x, y], {x: 1, y: 2}, id="x*y,sin(x)+y,x^2"),
    pytest.param(sample("polar.py"), {"r": 2.0, "theta": 0.3},
                 [r * sympy.cos(theta), r * sympy.sin(theta)], [r, theta], {r: 2, theta: sympy.Rational(3, 10)},
                 id="polar.py"),
]


@pytest.mark.parametrize(("source", "assigned", "outputs", "inputs", "point"), JACOBIAN_CASES)
def test_jacobian_modes_agree_with_sympy(source, assigned, outputs, inputs, point):
    trace, at = load(source, assigned)
    expected = evaluated(sympy.Matrix(outputs).jacobian(inputs), point)
    forward = jacobian(trace, at, "forward")
    reverse = jacobian(trace, at, "reverse")
    assert forward.matrix == approx_matrix(expected, rel=1e-14)
    assert reverse.matrix == approx_matrix(expected, rel=1e-14)
    assert forward.matrix == approx_matrix(reverse.matrix, rel=1e-15)
    assert forward.mode == "forward" and reverse.mode == "reverse"


def test_jacobian_by_hand():
    """x y, sin x + y, x^2 at (1, 2): rows (y, x) = (2, 1), (cos x, 1) = (cos 1, 1), (2x, 0) = (2, 0)."""
    trace, at = load("x*y, sin(x)+y, x^2", {"x": 1.0, "y": 2.0})
    for mode in MODES:
        assert jacobian(trace, at, mode).matrix == [[2.0, 1.0], [pytest.approx(math.cos(1), rel=1e-15), 1.0],
                                                    [2.0, 0.0]]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("source", "assigned", "n", "m"), [
    ("x*y, sin(x)+y, x^2", {"x": 1.0, "y": 2.0}, 2, 3),
    (sample("polar.py"), {"r": 2.0, "theta": 0.3}, 2, 2),
    ("x*y*z", {"x": 1.0, "y": 2.0, "z": 3.0}, 3, 1),
    (sample("sigmoid_neuron.py"), {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]}, 5, 1),
])
def test_sweeps_are_n_forward_and_m_reverse(source, assigned, n, m, mode):
    trace, at = load(source, assigned)
    result = jacobian(trace, at, mode)
    assert result.sweeps == {"forward": n, "reverse": m}
    assert len(result.matrix) == m and all(len(row) == n for row in result.matrix)


@pytest.mark.parametrize("mode", MODES)
def test_cheaper_mode_follows_the_shape(mode):
    """n = 2 < m = 3: forward (2 sweeps) beats reverse (3); n = 3 > m = 1: reverse (1 sweep) beats forward (3).
    Operation counts by hand: x*y, sin(x), +y, x^2 is 4 operations per sweep -> forward 8, reverse 12;
    x*y*z is 2 operations per sweep -> forward 6, reverse 2."""
    tall, at = load("x*y, sin(x)+y, x^2", {"x": 1.0, "y": 2.0})
    result = jacobian(tall, at, mode)
    assert result.operations == {"forward": 8, "reverse": 12}
    assert result.cheaper == "forward"
    wide, at = load("x*y*z", {"x": 1.0, "y": 2.0, "z": 3.0})
    result = jacobian(wide, at, mode)
    assert result.operations == {"forward": 6, "reverse": 2}
    assert result.cheaper == "reverse"
    assert result.matrix == [[6.0, 3.0, 2.0]]  # (yz, xz, xy)


def test_cheaper_mode_tie_for_a_square_jacobian():
    trace, at = load(sample("polar.py"), {"r": 2.0, "theta": 0.3})
    assert jacobian(trace, at, "forward").cheaper is None


def test_jacobian_rejects_an_unknown_mode():
    trace, at = load("x*y", {"x": 1.0, "y": 2.0})
    with pytest.raises(InputError, match=r"^mode 'sideways': choose reverse or forward$"):
        jacobian(trace, at, "sideways")


@pytest.mark.parametrize("mode", MODES)
def test_cli_jacobian_json(runner, mode):
    result = invoke(runner, "jacobian", "x*y, sin(x)+y, x^2", "--at", "x=1,y=2", "--mode", mode, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["mode"] == mode
    assert document["inputs"] == ["x", "y"]
    assert document["outputs"] == ["x*y", "sin(x)+y", "x^2"]
    assert document["value"] == [2.0, pytest.approx(math.sin(1) + 2, rel=1e-15), 1.0]
    assert document["jacobian"] == [[2.0, 1.0], [pytest.approx(math.cos(1), rel=1e-15), 1.0], [2.0, 0.0]]
    assert document["sweeps"] == {"forward": 2, "reverse": 3}
    assert document["operations"] == {"forward": 8, "reverse": 12}
    assert document["cheaper_mode"] == "forward"


def test_cli_jacobian_of_polar_file(runner):
    """The issue's command: `adcli jacobian samples/polar.py --at r=2,theta=0.3 --mode forward`."""
    result = invoke(runner, "jacobian", sample("polar.py"), "--at", "r=2,theta=0.3", "--mode", "forward", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["inputs"] == ["r", "theta"]
    assert document["outputs"] == ["polar[0]", "polar[1]"]
    c, s = math.cos(0.3), math.sin(0.3)
    assert document["jacobian"] == approx_matrix([[c, -2 * s], [s, 2 * c]], rel=1e-15)
    assert document["sweeps"] == {"forward": 2, "reverse": 2}


def test_cli_jacobian_table_states_the_cost(runner):
    result = invoke(runner, "jacobian", "x*y, sin(x)+y, x^2", "--at", "x=1,y=2", "--mode", "forward")
    assert result.exit_code == 0, result.stderr
    assert "n = 2 inputs, m = 3 outputs" in result.stdout


# ================================================================ Hessian

a, b, c = sympy.symbols("a b c", real=True)


def _loop_sympy(t):
    """samples/loop.py written again in SymPy: five steps of y <- y*y + t."""
    value = t
    for _ in range(5):
        value = value * value + t
    return value


W0, W1, W2, X0, X1 = sympy.symbols("w0 w1 w2 x0 x1", real=True)
NEURON = 1 / (1 + sympy.exp(-(W0 * X0 + W1 * X1 + W2)))

HESSIAN_CASES = [
    # (source, assigned, SymPy expression, SymPy inputs in adcli's input order, SymPy point)
    pytest.param("x^2*y + sin(x*y)", {"x": 1.0, "y": 2.0},
                 a**2 * b + sympy.sin(a * b), [a, b], {a: 1, b: 2}, id="x^2*y+sin(x*y)"),
    pytest.param("exp(x)*cos(y) + x^3*y^2", {"x": 0.5, "y": -1.2},
                 sympy.exp(a) * sympy.cos(b) + a**3 * b**2, [a, b],
                 {a: sympy.Rational(1, 2), b: sympy.Rational(-6, 5)}, id="exp(x)*cos(y)+x^3*y^2"),
    pytest.param("log(1+x^2+y^2)*z", {"x": 0.3, "y": -0.7, "z": 1.9},
                 sympy.log(1 + a**2 + b**2) * c, [a, b, c],
                 {a: sympy.Rational(3, 10), b: sympy.Rational(-7, 10), c: sympy.Rational(19, 10)},
                 id="log(1+x^2+y^2)*z"),
    pytest.param("x*y*z + sin(x)*cos(y)*exp(z)", {"x": 0.4, "y": 1.1, "z": -0.3},
                 a * b * c + sympy.sin(a) * sympy.cos(b) * sympy.exp(c), [a, b, c],
                 {a: sympy.Rational(2, 5), b: sympy.Rational(11, 10), c: sympy.Rational(-3, 10)},
                 id="x*y*z+sin(x)*cos(y)*exp(z)"),
    pytest.param(sample("sigmoid_neuron.py"), {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]},
                 NEURON, [W0, W1, W2, X0, X1], {W0: 2, W1: -3, W2: -3, X0: -1, X1: -2}, id="sigmoid_neuron.py"),
    pytest.param(sample("loop.py"), {"x": 0.5},
                 _loop_sympy(a), [a], {a: sympy.Rational(1, 2)}, id="loop.py"),
]


@pytest.mark.parametrize(("source", "assigned", "expression", "inputs", "point"), HESSIAN_CASES)
def test_hessian_against_sympy(source, assigned, expression, inputs, point):
    trace, at = load(source, assigned)
    result = hessian(trace, at)
    expected = evaluated(sympy.hessian(expression, inputs), point)
    n = len(inputs)
    assert len(result.matrix) == n and all(len(row) == n for row in result.matrix)
    assert result.matrix == approx_matrix(expected, rel=1e-10)
    for i in range(n):
        for j in range(i):
            assert result.matrix[i][j] == pytest.approx(result.matrix[j][i], rel=1e-12, abs=1e-15), (i, j)
    gradient = [float(sympy.diff(expression, v).subs(point).evalf(30)) for v in inputs]
    assert result.gradient == pytest.approx(gradient, rel=1e-12)


def test_hessian_by_hand():
    """f = x^2 y + sin(xy) at (1, 2):
    f_xx = 2y - y^2 sin(xy) = 4 - 4 sin 2;  f_xy = 2x + cos(xy) - xy sin(xy) = 2 + cos 2 - 2 sin 2;
    f_yy = -x^2 sin(xy) = -sin 2."""
    trace, at = load("x^2*y + sin(x*y)", {"x": 1.0, "y": 2.0})
    s2, c2 = math.sin(2), math.cos(2)
    assert hessian(trace, at).matrix == approx_matrix([[4 - 4 * s2, 2 + c2 - 2 * s2], [2 + c2 - 2 * s2, -s2]],
                                                      rel=1e-13)


def test_hessian_needs_a_single_output():
    message = "the Hessian needs a single output; the function has 2 (use adcli jacobian for several outputs)"
    for source, assigned in [("x*y, x+y", {"x": 1.0, "y": 2.0}), (sample("polar.py"), {"r": 2.0, "theta": 0.3})]:
        trace, at = load(source, assigned)
        with pytest.raises(InputError) as error:
            hessian(trace, at)
        assert str(error.value) == message


def test_cli_hessian_several_outputs(runner):
    result = invoke(runner, "hessian", sample("polar.py"), "--at", "r=2,theta=0.3")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("error: the Hessian needs a single output; the function has 2 "
                             "(use adcli jacobian for several outputs)\n")


def test_cli_hessian_json(runner):
    """`adcli hessian "x^2*y + sin(x*y)" --at x=1,y=2 --json` against SymPy."""
    result = invoke(runner, "hessian", "x^2*y + sin(x*y)", "--at", "x=1,y=2", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    f = a**2 * b + sympy.sin(a * b)
    point = {a: 1, b: 2}
    assert document["inputs"] == ["x", "y"]
    assert document["value"] == pytest.approx(float(f.subs(point).evalf(30)), rel=1e-15)
    assert document["gradient"] == {"x": pytest.approx(float(sympy.diff(f, a).subs(point).evalf(30)), rel=1e-14),
                                    "y": pytest.approx(float(sympy.diff(f, b).subs(point).evalf(30)), rel=1e-14)}
    assert document["hessian"] == approx_matrix(evaluated(sympy.hessian(f, [a, b]), point), rel=1e-12)


def test_cli_hessian_json_of_a_file(runner):
    """The neuron file: 5x5 Hessian keyed by list entries, against SymPy."""
    result = invoke(runner, "hessian", sample("sigmoid_neuron.py"), "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]",
                    "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["inputs"] == ["w[0]", "w[1]", "w[2]", "x[0]", "x[1]"]
    point = {W0: 2, W1: -3, W2: -3, X0: -1, X1: -2}
    assert document["hessian"] == approx_matrix(evaluated(sympy.hessian(NEURON, [W0, W1, W2, X0, X1]), point),
                                                rel=1e-10)
