"""Batch evaluation (issue 5): ``adcli grad`` at many points at once, from ranges in ``--at`` and from
``--points`` CSV files, with the trace recorded once and evaluated with NumPy.

References never come from the batch code itself: per-point results come from ``adcli.gradient`` (the
float path, one point at a time), and closed forms are written with :mod:`math` next to the assertion.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest

import adcli
from adcli.analysis import load
from adcli.batch import evaluate_batch, gradient_at_points, read_points
from adcli.cli import app
from adcli.cli_arguments import is_batch, parse_assignments
from adcli.errors import InputError
from adcli.points import PointRange

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
POINTS = 1_000

# Only + - * / sqrt sin cos: NumPy and the C library agree bit for bit on these here (sqrt and the
# arithmetic are correctly rounded; NumPy's sin/cos give libm's results on this machine), so the batch
# must equal the per-point results exactly.
EXACT_SOURCE = "sqrt(x*x + y*y) * sin(x - y) / (2 + cos(x*y)) - x/y + sqrt(y)*cos(x) - sin(x)*sin(x)"
# exp, log and tanh: NumPy's SIMD exp/log/tanh differ from libm's by an ulp at some points (about a
# quarter of them here), and that ulp propagates through the few operations after it, so the batch is
# compared within 4 ulp. All terms and partials are positive on the sampled box, so nothing cancels.
ULP_SOURCE = "exp(x*y) + x*log(2 + y) + y*tanh(x)"


def _invoke(runner, *args: str):
    return runner.invoke(app, ["grad", *args])


def _random_points(seed: int, x_range: tuple[float, float], y_range: tuple[float, float]):
    rng = random.Random(seed)
    xs = [rng.uniform(*x_range) for _ in range(POINTS)]
    ys = [rng.uniform(*y_range) for _ in range(POINTS)]
    return xs, ys


def _per_point(trace, xs, ys):
    """Value, d/dx, d/dy at each point, one adcli.gradient call per point (the float path)."""
    rows = []
    for x, y in zip(xs, ys):
        result = adcli.gradient(trace, {"x": x, "y": y})
        rows.append((result.evaluated.output_values[0], result.gradients[0]["x"], result.gradients[0]["y"]))
    return rows


def _write_points(path: Path, xs, ys) -> None:
    lines = ["x,y"] + [f"{x!r},{y!r}" for x, y in zip(xs, ys)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parse_csv(text: str) -> tuple[list[str], list[list[float]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], [[float(cell) for cell in row] for row in rows[1:]]


def _within_ulps(a: float, b: float, ulps: int) -> bool:
    return a == b or abs(a - b) <= ulps * math.ulp(b)


def _same(a: float, b: float) -> bool:
    """Equal within 4 ulp when finite; otherwise the same inf (sign included) or both NaN."""
    a, b = float(a), float(b)
    if math.isfinite(a) and math.isfinite(b):
        return _within_ulps(a, b, 4)
    return a == b or (math.isnan(a) and math.isnan(b))


# ---------------------------------------------------------------- batch == per point at 1,000 points

def test_batch_equals_per_point_exactly_at_random_points():
    trace = adcli.parse(EXACT_SOURCE)
    xs, ys = _random_points(5, (-3.0, 3.0), (0.5, 3.0))
    batch = evaluate_batch(trace, {"x": np.array(xs), "y": np.array(ys)})
    assert batch.count == POINTS
    assert batch.warnings == []
    expected = _per_point(trace, xs, ys)
    got = list(zip(batch.values[0].tolist(), batch.gradients[0]["x"].tolist(), batch.gradients[0]["y"].tolist()))
    mismatches = [(k, g, e) for k, (g, e) in enumerate(zip(got, expected)) if g != e]
    assert mismatches == []


def test_batch_within_4_ulp_of_per_point_with_exp_log_tanh():
    trace = adcli.parse(ULP_SOURCE)
    xs, ys = _random_points(11, (0.1, 0.5), (0.5, 2.0))
    batch = evaluate_batch(trace, {"x": np.array(xs), "y": np.array(ys)})
    expected = _per_point(trace, xs, ys)
    got = zip(batch.values[0].tolist(), batch.gradients[0]["x"].tolist(), batch.gradients[0]["y"].tolist())
    bad = [(k, g, e) for k, (g, e) in enumerate(zip(got, expected))
           if not all(_within_ulps(a, b, 4) for a, b in zip(g, e))]
    assert bad == []


def test_points_file_of_random_points_equals_per_point_exactly(runner, tmp_path):
    """The same check end to end: a 1,000-row --points file, --format csv read back (repr round-trips)."""
    xs, ys = _random_points(7, (-3.0, 3.0), (0.5, 3.0))
    path = tmp_path / "points.csv"
    _write_points(path, xs, ys)
    result = _invoke(runner, EXACT_SOURCE, "--points", str(path), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header, rows = _parse_csv(result.stdout)
    assert header == ["x", "y", "value", "d/dx", "d/dy"]
    assert len(rows) == POINTS
    expected = _per_point(adcli.parse(EXACT_SOURCE), xs, ys)
    assert [tuple(row) for row in rows] == [(x, y, *e) for x, y, e in zip(xs, ys, expected)]


KINK_SOURCES = ["abs(x)", "relu(x)", "sqrt(x)", "sqrt(-x)", "max(x, 0)", "min(x, -x)", "floor(4*x)*x",
                "sign(x)*x", "x^0.5", "x^2", "x^3", "(-x)^0.5", "asin(x)", "acos(x)", "abs(x)*sqrt(x*x)"]


@pytest.mark.parametrize("source", KINK_SOURCES)
def test_batch_equals_per_point_at_kinks_and_edges(source):
    """At x = -1, -0.75, …, 1 (0 and ±1 included, floor(4x) jumps at every point): where the float path
    gives a result (its conventions: abs'(0) = 0, sqrt'(0) = inf, ties split 1/2 …), the batch gives
    the same value and derivative (exactly where either is infinite or a convention; within 4 ulp
    otherwise, for NumPy's arcsin/arccos); where the float path refuses the point, the batch gives NaN."""
    trace = adcli.parse(source)
    xs = np.linspace(-1.0, 1.0, 9)
    batch = evaluate_batch(trace, {"x": xs})
    for k, x in enumerate(xs.tolist()):
        try:
            result = adcli.gradient(trace, {"x": x})
        except adcli.EvaluationError:
            assert math.isnan(batch.values[0][k]) and math.isnan(batch.gradients[0]["x"][k]), x
            continue
        assert _same(batch.values[0][k], result.evaluated.output_values[0]), x
        assert _same(batch.gradients[0]["x"][k], result.gradients[0]["x"]), x


# ---------------------------------------------------------------- ranges in --at

def test_range_parses_to_point_range():
    assigned = parse_assignments(["x=0:1:5,y=2"])
    assert assigned == {"x": PointRange(0.0, 1.0, 5), "y": 2.0}
    assert is_batch(assigned, None)
    assert not is_batch({"x": 1.0}, None)
    assert is_batch({"x": 1.0}, "points.csv")


def test_range_ends_may_be_constant_expressions():
    assert parse_assignments(["t=-pi:pi/2:3"]) == {"t": PointRange(-math.pi, math.pi / 2, 3)}


def test_range_has_linspace_semantics(runner):
    """x=0:1:5 is 5 evenly spaced points including both ends: 0, 0.25, 0.5, 0.75, 1."""
    result = _invoke(runner, "x^3", "--at", "x=0:1:5", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["points"] == 5
    assert doc["inputs"] == {"x": [0.0, 0.25, 0.5, 0.75, 1.0]}
    assert doc["value"] == [0.0, 0.015625, 0.125, 0.421875, 1.0]  # x^3, exact in binary
    assert doc["gradient"] == {"x": [0.0, 0.1875, 0.75, 1.6875, 3.0]}  # 3x^2
    assert doc["warnings"] == []


def test_range_of_one_point(runner):
    result = _invoke(runner, "x*x", "--at", "x=3:7:1", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "x,value,d/dx\n3.0,9.0,6.0\n"


def test_scalar_broadcasts_with_a_range(runner):
    """y=2 is used at every point of the x range: f = x*y + sin(y), df/dx = y, df/dy = x + cos(y)."""
    result = _invoke(runner, "x*y + sin(y)", "--at", "x=-1:1:3,y=2", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header, rows = _parse_csv(result.stdout)
    assert header == ["x", "y", "value", "d/dx", "d/dy"]
    assert rows == [[x, 2.0, x * 2.0 + math.sin(2.0), 2.0, x + math.cos(2.0)] for x in (-1.0, 0.0, 1.0)]


def test_scalar_broadcasts_in_json(runner):
    result = _invoke(runner, "x*y", "--at", "x=1:3:3", "--at", "y=-0.5", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["inputs"] == {"x": [1.0, 2.0, 3.0], "y": [-0.5, -0.5, -0.5]}
    assert doc["value"] == [-0.5, -1.0, -1.5]
    assert doc["gradient"] == {"x": [-0.5, -0.5, -0.5], "y": [1.0, 2.0, 3.0]}


def test_two_ranges_of_the_same_length_pair_up(runner):
    result = _invoke(runner, "x*y", "--at", "x=0:2:3,y=10:30:3", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("x,y,value,d/dx,d/dy\n"
                             "0.0,10.0,0.0,10.0,0.0\n"
                             "1.0,20.0,20.0,20.0,1.0\n"
                             "2.0,30.0,60.0,30.0,2.0\n")


@pytest.mark.parametrize(("args", "stderr"), [
    (["x", "--at", "x=0:1"], "error: --at x=0:1: a range is start:stop:count, e.g. x=0:1:1001\n"),
    (["x", "--at", "x=0:1:0"], "error: --at x=0:1:0: a range needs a whole number of points from 1 to 10,000,000\n"),
    (["x+y", "--at", "x=0:1:3,y=0:1:4"], "error: the inputs have different numbers of points (3, 4)\n"),
    (["x", "--at", "x=0:1:3", "--wrt", "x"],
     "error: --wrt, --direction, --cotangent, --check, --mode, --checkpoint, --ste and --convention apply to one "
     "point; a batch gives the full gradient\n"),
    (["x", "--at", "x=0:1:3", "--mode", "forward"],
     "error: --wrt, --direction, --cotangent, --check, --mode, --checkpoint, --ste and --convention apply to one "
     "point; a batch gives the full gradient\n"),
    (["x", "--at", "x=0:1:3", "--cotangent", "f=1"],
     "error: --wrt, --direction, --cotangent, --check, --mode, --checkpoint, --ste and --convention apply to one "
     "point; a batch gives the full gradient\n"),
    (["x", "--at", "x=0:1:3", "--json", "--format", "csv"], "error: --json and --format csv disagree: choose one\n"),
    (["x", "--at", "x=1", "--json", "--format", "csv"], "error: --json and --format csv disagree: choose one\n"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_batch_usage_errors_exit_2(runner, args, stderr):
    result = _invoke(runner, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == stderr


@pytest.mark.parametrize("at", ["x=0:1:3", "x=1"])
def test_unknown_format_exits_2(runner, at):
    """The list of formats grows (markdown, latex), so the message is checked up to that list: it names
    the bad value and offers table, json and csv, ending 'or <last>'."""
    result = _invoke(runner, "x", "--at", at, "--format", "xml")
    assert result.exit_code == 2
    assert result.stdout == ""
    match = re.fullmatch(r"error: Invalid value for '--format': 'xml' is not one of ((?:'\w+', )*'\w+') "
                         r"\(see 'adcli grad --help'\)\n", result.stderr)
    assert match, result.stderr
    offered = [name.strip("'") for name in match.group(1).split(", ")]
    assert {"table", "json", "csv"} <= set(offered)


# ---------------------------------------------------------------- --points files

def test_points_file_values(runner, tmp_path):
    """A header naming the inputs (spaces around names allowed), one point per row, blank lines ignored."""
    path = tmp_path / "p.csv"
    path.write_text(" x , y\n1, 2\n\n-0.5,4\n3,0.25\n\n", encoding="utf-8")
    result = _invoke(runner, "x*y - x", "--points", str(path), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    # f = x*y - x, df/dx = y - 1, df/dy = x
    assert result.stdout == ("x,y,value,d/dx,d/dy\n"
                             "1.0,2.0,1.0,1.0,1.0\n"
                             "-0.5,4.0,-1.5,3.0,-0.5\n"
                             "3.0,0.25,-2.25,-0.75,3.0\n")


def test_points_file_columns_follow_the_header_not_the_expression(runner, tmp_path):
    """Columns may come in any order; they are matched to inputs by name."""
    path = tmp_path / "p.csv"
    path.write_text("y,x\n2,1\n5,3\n", encoding="utf-8")
    result = _invoke(runner, "x - y", "--points", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["inputs"] == {"x": [1.0, 3.0], "y": [2.0, 5.0]}
    assert doc["value"] == [-1.0, -2.0]
    assert doc["gradient"] == {"x": [1.0, 1.0], "y": [-1.0, -1.0]}


def test_points_file_combined_with_a_scalar_at(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n1\n2\n", encoding="utf-8")
    result = _invoke(runner, "x*y", "--points", str(path), "--at", "y=3", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "x,y,value,d/dx,d/dy\n1.0,3.0,3.0,3.0,1.0\n2.0,3.0,6.0,3.0,2.0\n"


def test_read_points_returns_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n", encoding="utf-8")
    columns = read_points(str(path))
    assert list(columns) == ["a", "b"]
    assert columns["a"].tolist() == [1.0, 3.0, 5.0]
    assert columns["b"].tolist() == [2.0, 4.0, 6.0]


def test_points_file_unreadable(runner, tmp_path):
    path = tmp_path / "missing.csv"
    result = _invoke(runner, "x", "--points", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"error: --points {path}: cannot read the file "
                             f"([Errno 2] No such file or directory: '{path}')\n")


def test_points_file_not_a_number_names_the_line(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n3,abc\n5,6\n", encoding="utf-8")
    result = _invoke(runner, "x*y", "--points", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: --points {path}, line 3: every cell must be a number\n"


def test_points_file_ragged_rows(runner, tmp_path):
    """A row with fewer cells than the header: one clear message, exit 2, no traceback."""
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n3\n", encoding="utf-8")
    result = _invoke(runner, "x*y", "--points", str(path))
    assert result.exit_code == 2, result.exception
    assert result.stdout == ""
    assert result.stderr == f"error: --points {path}, line 3: every row needs 2 values, one per column of the header\n"


def test_points_file_too_many_cells(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2,3\n4,5,6\n", encoding="utf-8")
    result = _invoke(runner, "x*y", "--points", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: --points {path}, line 2: every row needs 2 values, one per column of the header\n"


def test_points_file_header_only(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n", encoding="utf-8")
    result = _invoke(runner, "x", "--points", str(path))
    assert result.exit_code == 2
    assert result.stderr == (f"error: --points {path}: expected a header row naming the inputs "
                             "and at least one point\n")


def test_points_file_column_also_given_in_at(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n", encoding="utf-8")
    result = _invoke(runner, "x*y", "--points", str(path), "--at", "x=1")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: --at x: x is also a column of the points file\n"


# ---------------------------------------------------------------- function files

def test_function_file_traced_once_equals_per_point(monkeypatch):
    """samples/loop.py (y <- y*y + x, five times) over x=0:1:101: traced once, then evaluated with NumPy;
    each point equals a fresh trace and gradient at that point, and the plain-float recurrence."""
    import adcli.function_file

    calls = []
    original = adcli.function_file.trace_function

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(adcli.function_file, "trace_function", counting)
    source = str(SAMPLES / "loop.py")
    batch = gradient_at_points(source, {"x": PointRange(0.0, 1.0, 101)}, None)
    assert len(calls) == 1
    monkeypatch.undo()

    xs = np.linspace(0.0, 1.0, 101).tolist()
    assert batch.points["x"].tolist() == xs
    for k, x in enumerate(xs):
        trace, point = load(source, {"x": x})
        result = adcli.gradient(trace, point)
        assert batch.values[0][k] == result.evaluated.output_values[0]
        assert batch.gradients[0]["x"][k] == result.gradients[0]["x"]
        # plain floats: y_{n+1} = y_n^2 + x,  y'_{n+1} = 2 y_n y'_n + 1
        y, dy = x, 1.0
        for _ in range(5):
            y, dy = y * y + x, 2 * y * dy + 1
        assert batch.values[0][k] == y
        assert batch.gradients[0]["x"][k] == pytest.approx(dy, rel=1e-14)


def test_function_file_over_a_range_cli(runner):
    result = _invoke(runner, str(SAMPLES / "loop.py"), "--at", "x=0:1:3", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header, rows = _parse_csv(result.stdout)
    assert header == ["x", "value", "d/dx"]
    # x = 0: y stays 0, y' = 1 (y' = 2*0*y' + 1). x = 1: y = 1, 2, 5, 26, 677, 458330;
    # y' = 1, 3, 13, 131, 6813, 9224803 (y'_{n+1} = 2 y_n y'_n + 1).
    assert rows[0] == [0.0, 0.0, 1.0]
    assert rows[2] == [1.0, 458330.0, 9224803.0]
    trace, point = load(str(SAMPLES / "loop.py"), {"x": 0.5})
    mid = adcli.gradient(trace, point)
    assert rows[1] == [0.5, mid.evaluated.output_values[0], mid.gradients[0]["x"]]


# A function file whose path depends on the input is grouped by path: tests/test_paths.py.


def test_evaluate_batch_refuses_trace_with_notes():
    trace, _ = load(str(SAMPLES / "branch.py"), {"x": 1.0})
    with pytest.raises(InputError) as caught:
        evaluate_batch(trace, {"x": np.array([1.0, 2.0])})
    assert str(caught.value).startswith("one trace is not valid at every point")


# ---------------------------------------------------------------- undefined points

def test_undefined_points_are_nan_with_a_warning():
    """log(x) at x = -1, -0.5, 0, 0.5, 1: undefined at the first three (log(0) too: adcli's own
    float path refuses it), so value AND gradient are NaN there; d/dx log(x) = 1/x elsewhere."""
    batch = gradient_at_points("log(x)", {"x": PointRange(-1.0, 1.0, 5)}, None)
    values, partials = batch.values[0].tolist(), batch.gradients[0]["x"].tolist()
    assert [math.isnan(v) for v in values] == [True, True, True, False, False]
    assert [math.isnan(g) for g in partials] == [True, True, True, False, False]
    assert values[3:] == [math.log(0.5), 0.0]
    assert partials[3:] == [2.0, 1.0]
    assert batch.warnings == ["v2 = log(v1): log is undefined or overflows at 3 points (the first: x=-1); "
                              "their results are NaN"]


def test_undefined_points_are_null_in_json(runner):
    result = _invoke(runner, "log(x)", "--at", "x=-1:1:5", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["value"] == [None, None, None, math.log(0.5), 0.0]
    assert doc["gradient"] == {"x": [None, None, None, 2.0, 1.0]}
    assert doc["warnings"] == ["v2 = log(v1): log is undefined or overflows at 3 points (the first: x=-1); "
                               "their results are NaN"]


def test_undefined_points_of_an_operation_with_a_constant_argument(runner):
    """x^0.5 at x = -1, 0, 1: undefined at -1 (no traceback: the constant exponent is a plain number);
    d/dx = 0.5 x^-0.5, with sqrt's convention inf at 0 ("Infinity" in JSON)."""
    result = _invoke(runner, "x^0.5", "--at", "x=-1:1:3", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["value"] == [None, 0.0, 1.0]
    assert doc["gradient"] == {"x": [None, "Infinity", 0.5]}
    assert len(doc["warnings"]) == 2
    assert "pow is undefined or overflows at 1 point (the first: x=-1)" in doc["warnings"][0]
    assert "pow is not differentiable at 1 of the 3 points (the first: x=0: " in doc["warnings"][1]  # x^0.5 at 0


def test_undefined_points_in_csv_are_nan(runner):
    result = _invoke(runner, "sqrt(x)", "--at", "x=-1:1:3", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "# warning: v2 = sqrt(v1): sqrt is undefined or overflows at 1 point (the first: x=-1); their results are NaN\n"
        "# warning: v2 = sqrt(v1): sqrt is not differentiable at 1 of the 3 points (the first: x=0: "
        "left undefined, right inf; used inf, as PyTorch, JAX and autograd)\n"
        "x,value,d/dx\n-1.0,nan,nan\n0.0,0.0,inf\n1.0,1.0,0.5\n")


def test_undefined_points_warning_in_table(runner):
    result = _invoke(runner, "log(x)", "--at", "x=-1:1:5")
    assert result.exit_code == 0, result.stderr
    assert ("warning: v2 = log(v1): log is undefined or overflows at 3 points (the first: x=-1); "
            "their results are NaN\n") == result.stderr  # warnings go to stderr, the table to stdout


def test_one_undefined_point_is_counted_singular():
    """sqrt(1 - x) at x = 0, 1, 2: undefined only at 2; d/dx = -1/(2 sqrt(1 - x)) (-inf at x = 1)."""
    batch = gradient_at_points("sqrt(1 - x)", {"x": PointRange(0.0, 2.0, 3)}, None)
    assert batch.values[0].tolist()[:2] == [1.0, 0.0]
    assert batch.gradients[0]["x"].tolist()[:2] == [-0.5, -math.inf]
    assert math.isnan(batch.values[0][2]) and math.isnan(batch.gradients[0]["x"][2])
    assert batch.warnings == ["v3 = sqrt(v2): sqrt is undefined or overflows at 1 point (the first: x=2); "
                              "their results are NaN",
                              "v3 = sqrt(v2): sqrt is not differentiable at 1 of the 3 points (the first: x=1: "
                              "left undefined, right inf; used inf, as PyTorch, JAX and autograd)"]


def test_conventions_over_many_points_are_summarised(runner):
    """abs(x) + max(x, y) at x = -1, 0, 1 with y = 0: abs has its kink at x = 0 (one point); max ties
    where x = y = 0 (one point). The table goes to stdout, the summary to stderr."""
    result = _invoke(runner, "abs(x)+max(x,y)", "--at", "x=-1:1:3,y=0")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: v3 = abs(v1): abs is not differentiable at 1 of the 3 points (the first: x=0, y=0: "
        "left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1))",
        "warning: v4 = max(v1, v2): max is not differentiable at 1 of the 3 points (the first: x=0, y=0: "
        "∂/∂v1: left 0, right 1, ∂ = [0, 1]; ∂/∂v2: left 0, right 1, ∂ = [0, 1]; used 0.5, 0.5, "
        "as PyTorch, JAX and autograd)"]
    document = json.loads(_invoke(runner, "abs(x)+max(x,y)", "--at", "x=-1:1:3,y=0", "--json").stdout)
    assert document["warnings"] == [line.removeprefix("warning: ") for line in result.stderr.splitlines()]


# ---------------------------------------------------------------- several outputs

def test_several_outputs_json(runner):
    """f1 = x*y, f2 = sin(x): gradients [y, x] and [cos(x), 0] at x = 0, 0.5, 1 with y = 2."""
    result = _invoke(runner, "x*y, sin(x)", "--at", "x=0:1:3,y=2", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    xs = [0.0, 0.5, 1.0]
    assert doc["outputs"] == ["x*y", "sin(x)"]
    assert doc["value"] == [[2 * x for x in xs], [math.sin(x) for x in xs]]
    assert doc["gradient"] == [{"x": [2.0, 2.0, 2.0], "y": xs},
                               {"x": [math.cos(x) for x in xs], "y": [0.0, 0.0, 0.0]}]


def test_several_outputs_csv(runner):
    result = _invoke(runner, "x*y, sin(x)", "--at", "x=0:1:3,y=2", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header, rows = _parse_csv(result.stdout)
    assert header == ["x", "y", "x*y", "d(x*y)/dx", "d(x*y)/dy", "sin(x)", "d(sin(x))/dx", "d(sin(x))/dy"]
    assert rows == [[x, 2.0, 2 * x, 2.0, x, math.sin(x), math.cos(x), 0.0] for x in (0.0, 0.5, 1.0)]


def test_several_outputs_per_point():
    trace = adcli.parse("x*exp(y), x - y, tanh(x*y)")
    xs, ys = [0.1, 0.2, -0.3], [0.5, -1.0, 0.25]
    batch = evaluate_batch(trace, {"x": np.array(xs), "y": np.array(ys)})
    for k, (x, y) in enumerate(zip(xs, ys)):
        result = adcli.gradient(trace, {"x": x, "y": y})
        for out in range(3):
            assert _within_ulps(batch.values[out][k], result.evaluated.output_values[out], 4)
            for name in "xy":
                assert _within_ulps(batch.gradients[out][name][k], result.gradients[out][name], 4)


# ---------------------------------------------------------------- formats

def _table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            rows[cells[0]] = cells[1:]
    return rows


def test_table_summary(runner):
    """(x-1)^2 at x = 0, 1, 2, 3: values 1, 0, 1, 4 (min 0, max 4, mean 1.5, first 1, last 4);
    derivative 2(x-1) = -2, 0, 2, 4 (min -2, max 4, mean 1, first -2, last 4)."""
    result = _invoke(runner, "(x-1)^2", "--at", "x=0:3:4")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "f(x) = (x-1)^2"
    assert lines[1].strip() == "4 points"
    header = [cell.strip() for cell in next(line for line in lines if line.startswith("┃")).strip("┃").split("┃")]
    assert header == ["", "min", "max", "mean", "first point", "last point"]
    assert _table_rows(result.stdout) == {
        "x": ["0", "3", "1.5", "0", "3"],
        "value": ["0", "4", "1.5", "1", "4"],
        "∂/∂x": ["-2", "4", "1", "-2", "4"],
    }


def test_table_summary_uses_digits_and_skips_nan_in_stats(runner):
    """log(x) at x = -1 … 1: min/max/mean over the finite values only; first point is nan."""
    result = _invoke(runner, "log(x)", "--at", "x=-1:1:5", "--digits", "4")
    assert result.exit_code == 0, result.stderr
    rows = _table_rows(result.stdout)
    assert rows["value"] == ["-0.6931", "0", "-0.3466", "nan", "0"]
    assert rows["∂/∂x"] == ["1", "2", "1.5", "nan", "1"]


def test_json_document(runner):
    result = _invoke(runner, "x*y", "--at", "x=0:1:2,y=3", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "source": "x*y",
        "points": 2,
        "inputs": {"x": [0.0, 1.0], "y": [3.0, 3.0]},
        "outputs": ["x*y"],
        "value": [0.0, 3.0],
        "gradient": {"x": [3.0, 3.0], "y": [0.0, 1.0]},
        "warnings": [], "notes": [],
    }


def test_format_json_equals_json_flag(runner):
    a = _invoke(runner, "sin(x)", "--at", "x=0:1:4", "--json")
    b = _invoke(runner, "sin(x)", "--at", "x=0:1:4", "--format", "json")
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout


def test_csv_full_precision(runner):
    """Every digit: each cell is repr() of the float, so it reads back to the same number."""
    result = _invoke(runner, "sin(x)", "--at", "x=0:1:4", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    xs = np.linspace(0.0, 1.0, 4).tolist()
    expected = ["x,value,d/dx"] + [f"{x!r},{math.sin(x)!r},{math.cos(x)!r}" for x in xs]
    assert result.stdout == "\n".join(expected) + "\n"
    assert repr(xs[1]) == "0.3333333333333333"


def test_csv_at_a_single_point(runner):
    result = _invoke(runner, "x*y + sin(x)", "--at", "x=0.5,y=2", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    value, dx = 0.5 * 2 + math.sin(0.5), 2 + math.cos(0.5)
    assert result.stdout == f"x,y,value,d/dx,d/dy\n0.5,2.0,{value!r},{dx!r},0.5\n"


def test_csv_at_a_single_point_several_outputs(runner):
    result = _invoke(runner, "x*y, x-y", "--at", "x=3,y=2", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("x,y,x*y,d(x*y)/dx,d(x*y)/dy,x-y,d(x-y)/dx,d(x-y)/dy\n"
                             "3.0,2.0,6.0,2.0,3.0,1.0,1.0,-1.0\n")


def test_batch_stdout_has_no_error(runner):
    result = _invoke(runner, "x^2", "--at", "x=0:1:11", "--format", "csv")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 12
    assert re.fullmatch(r"x,value,d/dx", result.stdout.splitlines()[0])


@pytest.mark.parametrize("source", ["0*sqrt(x)", "sqrt(x)*sqrt(x)", "x*sqrt(x) + 0*asin(x-1)", "sqrt(x)*x*0 + sin(x)*cos(x)"])
def test_an_infinite_partial_times_a_zero_adjoint_is_zero_in_a_batch_as_per_point(source):
    """The batch sweeps fast first and again with the zero-times-inf rule only when a NaN reaches
    an input where the output is defined; either way it must give the per-point float result."""
    xs = np.array([0.0, 0.25, 1.0, 2.0])
    batch = evaluate_batch(adcli.parse(source), {"x": xs})
    for k, x in enumerate(xs):
        result = adcli.gradient(adcli.parse(source), {"x": float(x)})
        assert _same(batch.values[0][k], result.evaluated.output_values[0]), x
        assert _same(batch.gradients[0]["x"][k], result.gradients[0]["x"]), x


def test_kink_masks_on_arrays_equal_the_predicates_point_by_point():
    """Each registry kink predicate, applied to arrays at once where it can be, marks the same points
    as the predicate called on each point in Python."""
    import itertools

    from adcli.batch import _kink_mask
    from adcli.primitives import operations

    values = [-2.0, -1.0, -0.5, 0.0, -0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    for primitive in operations():
        for kink in primitive.kinks:
            if kink is None:
                continue
            points = list(itertools.product(values, repeat=primitive.arity))
            args = [np.array([point[k] for point in points]) for k in range(primitive.arity)]
            expected = [bool(kink(*point)) for point in points]
            assert _kink_mask(kink, args).tolist() == expected, primitive.name
