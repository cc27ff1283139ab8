"""Many points through branches (issue 13, item 9): ``--at x=a:b:n`` and ``--points`` on a function
file whose path depends on the input record one trace per distinct path and group the points by it.

References: the file's own function run by Python at each point (its value), and derivatives worked
out by hand next to each assertion; never adcli's one-point path.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from adcli.analysis import load
from adcli.batch import evaluate_batch, gradient_at_points
from adcli.cli import app
from adcli.errors import InputError
from adcli.points import PointRange

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _python(path: Path, name: str = "f"):
    """The file's function as plain Python runs it (math is the real math module)."""
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    return namespace[name]


def _csv(text: str) -> tuple[list[str], list[list[float]]]:
    rows = list(csv.reader(line for line in io.StringIO(text) if not line.startswith("#")))
    return rows[0], [[float(cell) for cell in row] for row in rows[1:]]


def _grad(runner, *args: str):
    return runner.invoke(app, ["grad", *args])


def test_branch_file_over_401_points_matches_python_and_the_hand_derivative(runner):
    """samples/branch.py: x*x for x > 0 (derivative 2x), -x otherwise (derivative -1)."""
    result = _grad(runner, str(SAMPLES / "branch.py"), "--at", "x=-2:2:401", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    header, rows = _csv(result.stdout)
    assert header == ["x", "value", "d/dx"]
    f = _python(SAMPLES / "branch.py")
    xs = np.linspace(-2.0, 2.0, 401).tolist()
    assert [row[0] for row in rows] == xs
    assert [row[1] for row in rows] == [f(x) for x in xs]
    assert [row[2] for row in rows] == [2 * x if x > 0 else -1.0 for x in xs]
    assert result.stdout.splitlines()[:3] == [
        "# note: the path through the file depends on the input: the 401 points take 2 paths, each traced once "
        "and evaluated at its points",
        "# note: path 1, 201 points (the first: x=-2): line 5: if x > 0: took the false branch",
        "# note: path 2, 200 points (the first: x=0.010000000000000231): line 5: if x > 0: took the true branch",
    ]


def test_branch_file_table_says_how_the_points_were_evaluated(runner):
    result = _grad(runner, str(SAMPLES / "branch.py"), "--at", "x=-1:1:5")
    assert result.exit_code == 0, result.stderr
    assert "one trace per path (2), each evaluated at its points with NumPy" in result.stdout
    assert result.stderr == (
        "note: the path through the file depends on the input: the 5 points take 2 paths, each traced once and "
        "evaluated at its points\n"
        "note: path 1, 3 points (the first: x=-1): line 5: if x > 0: took the false branch\n"
        "note: path 2, 2 points (the first: x=0.5): line 5: if x > 0: took the true branch\n")


def test_points_file_through_branches(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n2\n-1\n3\n0\n", encoding="utf-8")
    result = _grad(runner, str(SAMPLES / "branch.py"), "--points", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["value"] == [4.0, 1.0, 9.0, -0.0]  # Python: 2*2, -(-1), 3*3, -0.0
    assert document["gradient"] == {"x": [4.0, -1.0, 6.0, -1.0]}  # 2x, -1, 2x, -1 (0 > 0 is false)
    assert document["notes"][1:] == [
        "path 1, 2 points (the first: x=2): line 5: if x > 0: took the true branch",
        "path 2, 2 points (the first: x=-1): line 5: if x > 0: took the false branch",
    ]


def test_huber_over_a_range_is_no_longer_refused(runner):
    """The issue's example: huber(r) = r²/2 for |r| ≤ 1 (derivative r), |r| − 1/2 beyond (derivative sign(r))."""
    result = _grad(runner, str(SAMPLES / "huber.py"), "--at", "r=-2:2:5", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    huber = _python(SAMPLES / "huber.py", "huber")
    assert document["value"] == [huber(r) for r in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    assert document["gradient"] == {"r": [-1.0, -1.0, 0.0, 1.0, 1.0]}
    assert document["warnings"] == []  # abs(r) only decides the branch: no convention reaches the output


def test_loop_count_set_by_the_input_one_path_per_count():
    """samples/while_count.py runs ceil(x) iterations of s *= y: s = y^(n+1), ds/dy = (n+1)·y^n, ds/dx = 0."""
    xs = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    batch = gradient_at_points(str(SAMPLES / "while_count.py"), {"x": PointRange(0.0, 3.0, 7), "y": 2.0}, None)
    f = _python(SAMPLES / "while_count.py")
    counts = [math.ceil(x) for x in xs]
    assert batch.values[0].tolist() == [f(x, 2.0) for x in xs]
    assert batch.gradients[0]["y"].tolist() == [(n + 1) * 2.0 ** n for n in counts]
    assert batch.gradients[0]["x"].tolist() == [0.0] * 7
    assert len(batch.paths) == 4
    assert [p.indices.tolist() for p in batch.paths] == [[0], [1, 2], [3, 4], [5, 6]]


def test_range_of_a_floor_counts_one_path_per_count(tmp_path):
    """y = x^floor(x) by a loop: derivative floor(x)·x^(floor(x)−1) (0 when the loop does not run)."""
    path = tmp_path / "power.py"
    path.write_text("import math\n\n\ndef f(x):\n    y = 1.0\n    for _ in range(math.floor(x)):\n"
                    "        y = y * x\n    return y\n", encoding="utf-8")
    xs = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    batch = gradient_at_points(str(path), {"x": PointRange(0.0, 3.0, 7)}, None)
    f = _python(path)
    assert batch.values[0].tolist() == [f(x) for x in xs]
    assert batch.gradients[0]["x"].tolist() == [math.floor(x) * x ** (math.floor(x) - 1) if x >= 1 else 0.0
                                                for x in xs]
    assert batch.notes[1] == "path 1, 2 points (the first: x=0): line 6: for _ in range(math.floor(x)) counted 0"


def test_a_point_the_file_cannot_run_at_is_nan_with_a_warning(runner, tmp_path):
    path = tmp_path / "neg.py"
    path.write_text("import math\n\n\ndef f(x):\n    if x < 0:\n        return math.sqrt(x)\n    return x * x\n",
                    encoding="utf-8")
    result = _grad(runner, str(path), "--at", "x=1:-1:3", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"# warning: the function cannot be evaluated at 1 of the 3 points (the first: x=-1: {path}, line 6: "
        "v2 = sqrt(v1): sqrt is undefined at -1); their results are NaN")
    _, rows = _csv(result.stdout)
    assert rows[:2] == [[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]
    assert all(math.isnan(v) for v in rows[2][1:])


def test_paths_with_different_outputs_are_refused(runner, tmp_path):
    path = tmp_path / "outs.py"
    path.write_text("def f(x):\n    if x > 0:\n        return x, x\n    return x\n", encoding="utf-8")
    result = _grad(runner, str(path), "--at", "x=1:-1:3")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("error: the function returns 2 outputs (f[0], f[1]) at x=1 but 1 output (f) at x=0; "
                             "a batch needs the same outputs at every point\n")


def test_evaluate_batch_refuses_a_trace_that_used_a_count(tmp_path):
    path = tmp_path / "count.py"
    path.write_text("import math\n\n\ndef f(x):\n    y = x\n    for _ in range(math.floor(x)):\n"
                    "        y = y * x\n    return y\n", encoding="utf-8")
    trace, _ = load(str(path), {"x": 2.5})
    with pytest.raises(InputError) as caught:
        evaluate_batch(trace, {"x": np.array([1.0, 2.0])})
    assert str(caught.value) == ("one trace is not valid at every point: the path it recorded depended on the input "
                                 "(line 6: for _ in range(math.floor(x)) counted 2); evaluate the points one at a time")


def test_kinks_and_conventions_are_marked_per_point():
    """abs(x) at -1, 0, 1: the convention is used at 0 only; relu(x - 0.5) at -1, 0, 1 crosses its kink
    between 0 and 1 (at 0.5), where no point sits."""
    batch = gradient_at_points("abs(x)", {"x": PointRange(-1.0, 1.0, 3)}, None)
    assert batch.conventions is not None and batch.conventions.tolist() == [False, True, False]
    batch = gradient_at_points("relu(x - 0.5)", {"x": PointRange(-1.0, 1.0, 3)}, None)
    assert batch.conventions is not None and batch.conventions.tolist() == [False, False, False]
    assert batch.kink_changes is not None and batch.kink_changes.tolist() == [False, True]


def test_a_point_at_a_tie_that_keeps_the_outcome_is_on_the_recorded_path(tmp_path):
    """`x > 0` recorded false at x = -1 is false at x = 0 too: the same path, though the two sides are
    now equal rather than ordered; no second recording (the generated code's guards agree)."""
    from adcli.batch import evaluate_paths

    path = tmp_path / "step.py"
    path.write_text("def f(x):\n    if x > 0:\n        return x * x\n    return -x\n")
    trace, _ = load(str(path), {"x": -1.0})
    recordings = []

    def retrace(point):
        recordings.append(point)
        return load(str(path), dict(point))[0]

    batch = evaluate_paths(trace, {"x": np.array([-1.0, 0.0, -2.0, 3.0])}, retrace)
    assert recordings == [{"x": 3.0}]  # only the point where x > 0 is true
    assert batch.gradients[0]["x"].tolist() == [-1.0, -1.0, -1.0, 6.0]  # -1 on the left, 2x at 3
