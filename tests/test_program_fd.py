"""Issue 13, items 5-7: finite differences of the program itself, how far a trace holds, and inputs
that act only through control flow.

References are hand derivations (written next to them) and Python's own behaviour: the program run
at the shifted points with plain floats, as a user would by hand.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from adcli.analysis import gradient, load
from adcli.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
BRANCH = str(SAMPLES / "branch.py")


def write(tmp_path: Path, text: str, name: str = "f.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def branch_program(x: float) -> float:
    """samples/branch.py, run by hand."""
    return x * x if x > 0 else -x


# ---------------------------------------------------------------- item 5: differences of the program
def test_check_fd_differences_the_program_at_a_branch(runner):
    # At x = 1e-9 the central difference with h = eps^(1/3) ≈ 6.06e-6 straddles the branch:
    # ((x+h)² − (h−x)) / 2h ≈ −1/2 + h/2, i.e. about −0.4999 (AD, on the path x > 0: 2x = 2e-9).
    result = runner.invoke(app, ["grad", BRANCH, "--at", "x=1e-9", "--check", "fd", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    check = document["checks"][0]
    h = check["fd_step"]
    by_hand = (branch_program(1e-9 + h) - branch_program(1e-9 - h)) / (2 * h)
    assert check["fd"] == by_hand
    assert check["fd"] == pytest.approx(-0.4999, abs=1e-4)
    assert document["gradient"] == {"x": 2e-9}
    assert check["note"] == "a branch flips within the step: line 5, if x > 0"
    assert any(w.startswith("the central difference of ∂/∂x (h = 6.06e-06) differs from AD by -0.5")
               and "within the step the branch line 5, if x > 0 flips at |Δx| ≈ 1e-09" in w
               for w in document["warnings"])


def test_compare_rows_difference_the_program(runner):
    result = runner.invoke(app, ["compare", BRANCH, "--at", "x=1e-9", "--json", "--sympy-timeout", "inf"])
    assert result.exit_code == 0, result.output
    rows = {row["method"]: row for row in json.loads(result.stdout)["methods"]}
    central = rows["central difference"]
    h = central["step"]
    assert central["value"] == (branch_program(1e-9 + h) - branch_program(1e-9 - h)) / (2 * h)
    assert central["note"] == "a branch flips within the step: line 5, if x > 0"
    # the complex step cannot run the program (math takes no complex numbers): it says so
    assert rows["complex step"]["note"] == "of the recorded path (the program's math takes no complex numbers)"
    assert rows["reverse-mode AD"]["value"] == 2e-9


def test_agreeing_differences_say_nothing(runner):
    # f(x) = x² at x = 0.5, far from the branch: the central difference is 1 up to rounding
    result = runner.invoke(app, ["grad", BRANCH, "--at", "x=0.5", "--check", "fd", "--json"])
    document = json.loads(result.stdout)
    assert document["checks"][0]["fd"] == pytest.approx(1.0, rel=1e-9)
    assert "note" not in document["checks"][0]
    assert not any("differs from AD" in w for w in document["warnings"])


def test_a_kink_within_the_step_is_named(runner):
    # abs(x) at x = 1e-7 with h ≈ 6.06e-6: (|x+h| − |x−h|) / 2h = 2x / 2h = x/h ≈ 0.0165, AD gives 1
    result = runner.invoke(app, ["grad", "abs(x)", "--at", "x=1e-7", "--check", "fd", "--json"])
    check = json.loads(result.stdout)["checks"][0]
    assert check["fd"] == pytest.approx(1e-7 / check["fd_step"], rel=1e-9)
    assert check["note"] == "a kink within the step: v2 = abs(v1)"


def test_program_errors_at_a_shifted_point_are_a_note(runner, tmp_path):
    # the program raises for x < 0; the recorded path (x itself) does not
    path = write(tmp_path, """
        def f(x):
            if x < 0:
                raise ValueError("negative")
            return x
        """)
    result = runner.invoke(app, ["grad", path, "--at", "x=0", "--check", "fd", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checks"][0]["note"] == "f is not defined within one step of the point"


# ---------------------------------------------------------------- item 6: how far the trace holds
def test_grad_prints_the_nearest_flip(runner):
    # if x > 0 at x = 0.37: the margin x − 0 = 0.37, ∂margin/∂x = 1, so it flips at |Δx| = 0.37
    result = runner.invoke(app, ["grad", BRANCH, "--at", "x=0.37"])
    assert result.exit_code == 0
    assert "note: this trace holds for |Δx| < 0.37: line 5, if x > 0\n" in result.stderr


def test_branches_json_and_trace_listing(runner, tmp_path):
    # y*2 > x at x = 1, y = 3: margin 2y − x = 5, slopes −1 along x and 2 along y: |Δx| < 5, |Δy| < 2.5;
    # abs(x − 4) = |−3|: margin −3, slope 1 along x, 0 along y: |Δx| < 3
    path = write(tmp_path, """
        def f(x, y):
            if y * 2 > x:
                return abs(x - 4) * y
            return x
        """)
    result = runner.invoke(app, ["grad", path, "--at", "x=1,y=3", "--json"])
    branches = json.loads(result.stdout)["branches"]
    assert branches == [
        {"kind": "branch", "where": "line 3, if y * 2 > x", "line": 3, "node": None, "evaluations": 1,
         "margin": 5.0, "holds_for": {"x": 5.0, "y": 2.5}},
        {"kind": "kink", "where": "v5 = abs(v4)", "line": None, "node": "v5", "evaluations": 1,
         "margin": -3.0, "holds_for": {"x": 3.0, "y": "Infinity"}},
    ]
    table = runner.invoke(app, ["trace", path, "--at", "x=1,y=3"])
    assert "note: line 3, if y * 2 > x: margin 5; it flips at |Δy| = 2.5\n" in table.stderr
    assert "note: v5 = abs(v4): margin -3; it flips at |Δx| = 3\n" in table.stderr
    grad_table = runner.invoke(app, ["grad", path, "--at", "x=1,y=3"])
    assert "note: this trace holds for |Δy| < 2.5: line 3, if y * 2 > x\n" in grad_table.stderr


def test_a_loop_condition_keeps_its_closest_evaluation(runner, tmp_path):
    # while n < x at x = 2.5: margins 2.5, 1.5, 0.5, −0.5 (n = 0..3); the closest is 0.5
    path = write(tmp_path, """
        def f(x):
            n = 0
            y = x
            while n < x:
                y = y * x
                n += 1
            return y
        """)
    result = runner.invoke(app, ["grad", path, "--at", "x=2.5", "--json"])
    (branch,) = json.loads(result.stdout)["branches"]
    assert (branch["margin"], branch["evaluations"], branch["holds_for"]) == (0.5, 4, {"x": 0.5})


def test_on_the_boundary(runner):
    result = runner.invoke(app, ["grad", BRANCH, "--at", "x=0"])
    assert "note: this trace is on the boundary of its path along x: line 5, if x > 0 has margin 0\n" in result.stderr


def test_no_branches_no_key_entries(runner):
    result = runner.invoke(app, ["grad", "x*sin(x)", "--at", "x=1", "--json"])
    assert json.loads(result.stdout)["branches"] == []
    assert result.stderr == ""


# ---------------------------------------------------------------- item 7: control flow only
FLOOR_LOOP = """
    import math


    def f(x, y):
        s = y
        for _ in range(math.floor(x)):
            s = s * y
        return s
    """


def test_range_of_floor_runs_with_a_note(runner, tmp_path):
    # floor(2.5) = 2 iterations: s = y³ = 27, ∂s/∂y = 3y² = 27, ∂s/∂x = 0 (the count is constant)
    path = write(tmp_path, FLOOR_LOOP)
    result = runner.invoke(app, ["grad", path, "--at", "x=2.5,y=3", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["value"], document["gradient"]) == (27.0, {"x": 0.0, "y": 27.0})
    assert ("x sets the number of iterations of the loop at line 7 (for _ in range(math.floor(x))) and reaches "
            "the output by no differentiable path; AD treats that count as constant, so the derivative with "
            "respect to x is 0 here") in document["notes"]
    # floor(x) jumps at 3 and 2, each 0.5 away
    assert "this trace holds for |Δx| < 0.5: v3 = floor(v1)" in document["notes"]


def test_python_counts_as_the_program_does(tmp_path):
    # the same counts Python takes: ceil, floor + 1, an index; each as int(...) of the plain program
    path = write(tmp_path, """
        import math


        def f(x):
            w = [10.0, 20.0, 30.0, 40.0]
            s = 0.0
            for _ in range(math.ceil(x) + 1):
                s = s + x
            return s + w[math.floor(x) - 1]
        """)
    trace, point = load(path, {"x": 2.5})
    result = gradient(trace, point)
    # ceil(2.5) + 1 = 4 additions of x, plus w[1] = 20: 4·2.5 + 20 = 30, derivative 4
    assert result.evaluated.output_values == [30.0]
    assert result.gradients == [{"x": 4.0}]


def test_a_float_count_is_still_refused(runner, tmp_path):
    # Python refuses range(2.0); so does adcli, with exit 2
    path = write(tmp_path, """
        def f(x):
            s = 0.0
            for _ in range(x):
                s = s + 1
            return s
        """)
    result = runner.invoke(app, ["grad", path, "--at", "x=2"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "using a traced value as an index or count" in result.stderr


def test_while_count_is_noted(runner):
    # samples/while_count.py: while n < x only decides the count (n = 0, 1, 2 at x = 2.5: 3 iterations)
    result = runner.invoke(app, ["grad", str(SAMPLES / "while_count.py"), "--at", "x=2.5,y=3"])
    assert result.exit_code == 0
    assert ("note: x sets the number of iterations of the loop at line 7 (while n < x) and reaches the output "
            "by no differentiable path") in result.stderr


def test_branch_on_an_input_that_feeds_the_output_has_no_such_note(runner):
    result = runner.invoke(app, ["grad", BRANCH, "--at", "x=0.5"])
    assert "no differentiable path" not in result.stderr


def test_ste_says_when_the_floor_cannot_reach_the_output(runner, tmp_path):
    path = write(tmp_path, FLOOR_LOOP)
    result = runner.invoke(app, ["grad", path, "--at", "x=2.5,y=3", "--ste", "--json"])
    document = json.loads(result.stdout)
    assert document["gradient"] == {"x": 0.0, "y": 27.0}
    assert document["warnings"] == [
        "straight-through estimator: v3 = floor(v1) reaches no output (it only decides control flow, a loop count or a branch), so a "
        "straight-through derivative cannot reach the output through it; the gradient is unchanged"]
    # a floor that does reach the output is still taken as 1: d(floor(x)·y)/dx = y = 3 with --ste
    reached = runner.invoke(app, ["grad", "floor(x)*y", "--at", "x=2.5,y=3", "--ste", "--json"])
    assert json.loads(reached.stdout)["gradient"]["x"] == 3.0


def test_notes_reach_every_format(runner):
    expected = {"csv": "this trace holds for |Δx| < 0.37: line 5, if x > 0",
                "markdown": r"this trace holds for \|Δx\| < 0.37: line 5, if x > 0",
                "latex": r"\textless{} 0.37: line 5, if x \textgreater{} 0"}
    for fmt, text in expected.items():
        result = runner.invoke(app, ["grad", BRANCH, "--at", "x=0.37", "--format", fmt])
        assert result.exit_code == 0, (fmt, result.output)
        assert text in result.stdout, fmt
