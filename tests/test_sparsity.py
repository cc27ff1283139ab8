"""Sparse Jacobians and Hessians (issue 17, item 3): patterns read off the trace, colourings, the
matrix by one sweep per colour.

References: patterns and closed-form entries derived by hand (written next to them), the math
module for transcendental values, and the dense computation, one sweep per column, for random
functions (the coloured sweeps must give the very same floats)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adcli.analysis import load
from adcli.cli import app
from adcli.errors import InputError
from adcli.hessian import hessian
from adcli.jacobian import jacobian
from adcli.sparsity import Pattern, hessian_pattern, jacobian_pattern, star_colouring

ROSENBROCK = '''
def f(x):
    s = 0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s
'''


@pytest.fixture
def rosenbrock(tmp_path):
    path = tmp_path / "rosenbrock.py"
    path.write_text(ROSENBROCK)
    return str(path)


def rosenbrock_hessian(x: list[float]) -> dict[tuple[int, int], float]:
    """By hand: f = Σ_{i<n-1} 100 (x_{i+1} - x_i²)² + (1 - x_i)², so
    ∂²f/∂x_i² = 1200 x_i² - 400 x_{i+1} + 2 (i < n-1) + 200 (i > 0), ∂²f/∂x_i∂x_{i+1} = -400 x_i."""
    n = len(x)
    entries = {}
    for i in range(n):
        entries[i, i] = (1200 * x[i] ** 2 - 400 * x[i + 1] + 2 if i < n - 1 else 0) + (200 if i else 0)
        if i < n - 1:
            entries[i, i + 1] = entries[i + 1, i] = -400 * x[i]
    return entries


def tridiagonal(n: int) -> list[list[int]]:
    return [[j for j in (i - 1, i, i + 1) if 0 <= j < n] for i in range(n)]


def test_rosenbrock_pattern_is_tridiagonal_and_takes_three_colours(rosenbrock):
    trace, _ = load(rosenbrock, {"x": [0.5] * 30})
    pattern = hessian_pattern(trace, trace.inputs)
    assert pattern.rows == tridiagonal(30)
    assert max(star_colouring(pattern)) + 1 == 3


@pytest.mark.parametrize("n", [2, 3, 25, 200])
def test_rosenbrock_sparse_hessian_by_hand(rosenbrock, n):
    """Integers make every entry exact: the coloured result equals the hand-derived one exactly."""
    x = [float((-1) ** i * (i % 7) - 2) for i in range(n)]
    trace, assigned = load(rosenbrock, {"x": x})
    result = hessian(trace, assigned, sparse="on")
    assert result.matrix is None  # the n×n matrix is never built
    assert result.sparsity is not None
    assert result.sparsity.colour_count == (2 if n <= 3 else 3)  # a path of 2 or 3 vertices is a star
    assert {(i, j): v for i, j, v in result.sparsity.entries()} == rosenbrock_hessian(x)


def test_auto_colours_only_when_it_saves_sweeps(rosenbrock):
    """auto: on past 20 inputs when the colours are fewer than half of them."""
    small, assigned = load(rosenbrock, {"x": [1.0] * 20})
    assert hessian(small, assigned, sparse="auto").sparsity is None
    large, assigned = load(rosenbrock, {"x": [1.0] * 21})
    assert hessian(large, assigned, sparse="auto").sparsity.colour_count == 3
    assert hessian(large, assigned).sparsity is None  # the library's default: off


def test_arrowhead_hessian_takes_two_star_colours():
    """f = x0·Σ sin(x_i): by hand ∂²f/∂x0∂x_i = cos(x_i), ∂²f/∂x_i² = -x0 sin(x_i), ∂²f/∂x0² = 0.
    A distance-2 colouring needs n colours (every pair meets at x0); a star colouring two."""
    n = 25
    at = {f"x{i}": 0.1 * i + 0.3 for i in range(n)}
    trace, assigned = load("x0*(" + " + ".join(f"sin(x{i})" for i in range(1, n)) + ")", at)
    result = hessian(trace, assigned, sparse="auto")
    assert result.sparsity.pattern.rows == [list(range(1, n)), *([0, i] for i in range(1, n))]
    assert result.sparsity.colour_count == 2
    x0 = at["x0"]
    expected = {(0, i): math.cos(at[f"x{i}"]) for i in range(1, n)}
    expected.update({(i, 0): math.cos(at[f"x{i}"]) for i in range(1, n)})
    expected.update({(i, i): -x0 * math.sin(at[f"x{i}"]) for i in range(1, n)})
    got = {(i, j): v for i, j, v in result.sparsity.entries()}
    assert got == pytest.approx(expected, rel=1e-15)


def test_arrowhead_jacobian_pattern_and_colours():
    """f0 = x0² + x1 + … + x_{n-1}, f_i = x0·x_i: row 0 full, then (i, 0) and (i, i). Every column
    shares row 0, so the column colouring needs n colours and auto stays dense."""
    n = 25
    source = "x0^2 + " + " + ".join(f"x{i}" for i in range(1, n)) + ", " + ", ".join(f"x0*x{i}" for i in range(1, n))
    trace, assigned = load(source, {f"x{i}": float(i + 1) for i in range(n)})
    assert jacobian_pattern(trace, trace.inputs).rows == [list(range(n)), *([0, i] for i in range(1, n))]
    on = jacobian(trace, assigned, mode="forward", sparse="on")
    assert on.sparsity.colour_count == n
    assert jacobian(trace, assigned, mode="forward", sparse="auto").sparsity is None
    # by hand at x_i = i + 1: ∂f0/∂x0 = 2, ∂f0/∂x_i = 1, ∂f_i/∂x0 = i + 1, ∂f_i/∂x_i = 1
    expected = {(0, 0): 2.0, **{(0, i): 1.0 for i in range(1, n)}, **{(i, 0): float(i + 1) for i in range(1, n)},
                **{(i, i): 1.0 for i in range(1, n)}}
    assert {(i, j): v for i, j, v in on.sparsity.entries()} == expected


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_banded_jacobian_takes_three_colours(mode):
    """f_i = x_{i-1}·x_i + sin(x_{i+1}): tridiagonal, 3 colours of columns or of rows, any n."""
    n = 30
    parts = [f"x{i - 1}*x{i}" if i else "x0" for i in range(n)]
    parts = [p + (f" + sin(x{i + 1})" if i < n - 1 else "") for i, p in enumerate(parts)]
    trace, assigned = load(", ".join(parts), {f"x{i}": 0.1 * i - 1 for i in range(n)})
    result = jacobian(trace, assigned, mode=mode, sparse="auto")
    assert result.sparsity.pattern.rows == tridiagonal(n)
    assert result.sparsity.colour_count == 3
    dense = jacobian(trace, assigned, mode=mode)
    assert all(dense.matrix[i][j] == v for i, j, v in result.sparsity.entries())


def test_star_colouring_of_a_path_and_a_star():
    """A path needs 3 star colours (two would leave a two-coloured path on four vertices); a star 2."""
    path = Pattern((6, 6), tridiagonal(6))
    colours = star_colouring(path)
    assert max(colours) + 1 == 3
    assert all(colours[i] != colours[i + 1] for i in range(5))
    assert all(len({colours[i], colours[i + 1], colours[i + 2], colours[i + 3]}) >= 3 for i in range(3))
    star = Pattern((5, 5), [[1, 2, 3, 4], [0], [0], [0], [0]])
    assert star_colouring(star) == [0, 1, 1, 1, 1]


# ------------------------------------------------------------------ random functions: colours == dense

UNARY = ["exp", "sin", "log1p", "tanh", "sqrt", "abs", "relu"]
BINARY = ["{a}*{b}", "{a}/({b}+3)", "{a}+{b}", "{a}-{b}", "max({a},{b})", "atan2({a},{b})", "pow({a}, 2)"]

terms = st.tuples(st.sampled_from(BINARY), st.sampled_from(UNARY), st.integers(0, 24), st.integers(0, 24))


EVERY_INPUT = " + ".join(f"x{i}" for i in range(25))  # a linear term: every input is one


def random_source(parts: list[tuple[str, str, int, int]]) -> str:
    return EVERY_INPUT + " + " + " + ".join(template.format(a=f"{unary}(x{i}*x{i}+1)", b=f"x{j}") for template, unary, i, j in parts)


@settings(max_examples=40, deadline=None)
@given(st.lists(terms, min_size=1, max_size=12), st.integers(0, 2**16))
def test_random_hessian_by_colours_equals_dense(parts, seed):
    """Every entry the colours give equals the dense one's exactly, or its mirror image's (a star colouring
    reads some entries from the other side of the diagonal), and the dense one is 0 outside the pattern."""
    at = {f"x{i}": ((seed * (i + 7)) % 97) / 31 - 1.5 for i in range(25)}
    trace, assigned = load(random_source(parts), at)
    sparse = hessian(trace, assigned, sparse="on")
    dense = hessian(trace, assigned, sparse="off")
    got = {(i, j): v for i, j, v in sparse.sparsity.entries()}
    for i, row in enumerate(dense.matrix):
        for j, value in enumerate(row):
            assert got.get((i, j), 0.0) in (value, dense.matrix[j][i]), (i, j)
    assert sparse.gradient == dense.gradient


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(terms, min_size=1, max_size=3), min_size=1, max_size=8), st.integers(0, 2**16),
       st.sampled_from(["forward", "reverse"]))
def test_random_jacobian_by_colours_equals_dense(outputs, seed, mode):
    at = {f"x{i}": ((seed * (i + 3)) % 89) / 29 - 1.5 for i in range(25)}
    trace, assigned = load(", ".join(random_source(parts) for parts in outputs), at)
    sparse = jacobian(trace, assigned, mode=mode, sparse="on")
    dense = jacobian(trace, assigned, mode=mode, sparse="off")
    got = {(i, j): v for i, j, v in sparse.sparsity.entries()}
    for i, row in enumerate(dense.matrix):
        for j, value in enumerate(row):
            assert got.get((i, j), 0.0) == value, (i, j)


def test_infinite_second_partials_fall_back_to_dense():
    """sqrt at 0: the Hessian's extra terms need it whole, so it is computed dense (-inf, by hand)."""
    trace, assigned = load("sqrt(x) + y^2", {"x": 0.0, "y": 1.0})
    result = hessian(trace, assigned, sparse="on")
    assert result.sparsity is None
    assert result.matrix == [[-math.inf, 0.0], [0.0, 2.0]]


def test_library_rejects_an_unknown_choice():
    trace, assigned = load("x*y", {"x": 1.0, "y": 2.0})
    with pytest.raises(InputError, match="^maybe: choose auto, on or off$"):
        hessian(trace, assigned, sparse="maybe")
    with pytest.raises(InputError, match="^on: a sparse Jacobian is the whole matrix"):
        jacobian(trace, assigned, mode="forward", sparse="on", direction={"x": 1.0})


# ------------------------------------------------------------------ command line

HESSIAN_TABLE = """\
f(x, y, z) = x*y + sin(z)  at  x = 1, y = 2, z = 0.5
value 2.4794255
gradient ∂/∂x = 2, ∂/∂y = 1, ∂/∂z = 0.87758256
pattern: 3 non-zeros of 9; star colouring: 2 colours
⋅█⋅
█⋅⋅
⋅⋅█
3 sweeps → 2 sweeps
non-zeros
┏━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━┓
┃ row ┃ column ┃  ∂²f/∂xᵢ∂xⱼ ┃
┡━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━┩
│ x   │ y      │           1 │
│ y   │ x      │           1 │
│ z   │ z      │ -0.47942554 │
└─────┴────────┴─────────────┘
forward-over-reverse: one H·v per colour, v the sum of the colour's columns
"""


def test_cli_sparse_hessian_table(runner):
    """By hand: ∂²/∂x∂y (xy) = 1, ∂²/∂z² sin(z) = -sin(0.5) = -0.47942554 (8 digits)."""
    result = runner.invoke(app, ["hessian", "x*y + sin(z)", "--at", "x=1,y=2,z=0.5", "--sparse", "on"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == HESSIAN_TABLE


def test_cli_sparse_hessian_json(runner, rosenbrock):
    x = [1.0, -2.0, 3.0, 0.5] * 6  # 24 inputs: auto colours
    result = runner.invoke(app, ["hessian", rosenbrock, "--at", f"x={x}", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    expected = rosenbrock_hessian(x)
    coordinates = document["hessian"]
    assert coordinates["shape"] == [24, 24]
    assert list(zip(coordinates["rows"], coordinates["columns"])) == sorted(expected)
    assert coordinates["values"] == [expected[key] for key in sorted(expected)]
    assert document["sparsity"] == {"colouring": "star", "colours": document["sparsity"]["colours"],
                                    "colour_count": 3, "nonzeros": 70, "sweeps": 3, "dense_sweeps": 24}
    assert sorted(set(document["sparsity"]["colours"])) == [0, 1, 2]


def test_cli_sparse_off_keeps_the_dense_matrix(runner, rosenbrock):
    x = [1.0] * 24
    result = runner.invoke(app, ["hessian", rosenbrock, "--at", f"x={x}", "--json", "--sparse", "off"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert "sparsity" not in document
    assert len(document["hessian"]) == 24 and len(document["hessian"][0]) == 24


def test_cli_sparse_jacobian_csv(runner):
    result = runner.invoke(app, ["jacobian", "x*y, sin(z), x+z", "--at", "x=1,y=2,z=0", "--sparse", "on",
                            "--mode", "reverse", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    assert "output,input,derivative\nx*y,x,2.0\nx*y,y,1.0\nsin(z),z,1.0\nx+z,x,1.0\nx+z,z,1.0\n" in result.stdout


@pytest.mark.parametrize(("arguments", "message"), [
    (["jacobian", "x*y", "--at", "x=1,y=2", "--sparse", "on", "--direction", "x=1"],
     "error: --sparse on: a sparse Jacobian is the whole matrix, and J·u or uᵀJ take one sweep already: give a "
     "direction or a cotangent, or sparse on, not both\n"),
    (["hessian", "x*y", "--at", "x=1,y=2", "--sparse", "maybe"],
     "error: Invalid value for '--sparse': 'maybe' is not one of 'auto', 'on', 'off' (see 'adcli hessian --help')\n"),
])
def test_cli_sparse_errors(runner, arguments, message):
    result = runner.invoke(app, arguments)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_the_pattern_as_a_picture_file(runner, rosenbrock, tmp_path):
    """-o pattern.svg draws the non-zeros; Rosenbrock's tridiagonal Hessian has 3n - 2 of them (by
    hand: n on the diagonal, n - 1 on each side), 73 for n = 25, found with 3 star colours."""
    pytest.importorskip("matplotlib")
    x = "[" + ",".join(["1.2"] * 25) + "]"
    svg = tmp_path / "pattern.svg"
    result = runner.invoke(app, ["hessian", rosenbrock, "--at", f"x={x}", "-o", str(svg), "-q"])
    assert result.exit_code == 0, result.stderr
    assert "73 non-zeros of 25 × 25 (star colouring: 3 colours)" in svg.read_text()
    png = tmp_path / "pattern.png"
    result = runner.invoke(app, ["jacobian", "x*y, sin(y)", "--at", "x=1,y=2", "-o", str(png), "-q"])
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    result = runner.invoke(app, ["hessian", "x*y", "--at", "x=1,y=2", "--format", "png"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --format png writes an image: name the file with -o pattern.png\n"
