"""Issue 11, items 6, 7, 8, 9, 13, 16: every size and count read from the command line is a whole
number in ASCII digits with a stated maximum, ranges of points stay finite, --points errors name the
physical line, and --sympy-timeout takes inf (no limit) but not NaN. Each case asserts the exact
message and exit code; the expected points are worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adcli.cli import app
from adcli.errors import InputError
from adcli.limits import MAX_POINTS, parse_whole

BIG = "9" * 5000  # past int()'s 4,300-digit limit for str


def run(runner, args, input=None):
    """Invoke adcli; it must end through an exit code, never an unhandled exception."""
    result = runner.invoke(app, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.mark.parametrize(("text", "expected"), [
    ("12", 12), (" 7 ", 7), ("007", 7), ("100", 100),
    ("²", None), ("١", None), ("1١", None), ("", None), ("-3", None), ("+3", None), ("1.0", None),
    ("0", None), ("101", None), (BIG, None),
])
def test_parse_whole_accepts_ascii_digits_within_bounds_only(text, expected):
    assert parse_whole(text, 1, 100) == expected


USAGE = [
    # item 8: digits that str.isdigit() or int() accept, or integers past 4,300 digits
    (["trace", "x", "--at", "x=1", "--rows", "²"], "error: --rows ²: give a number of rows from 2 to 10,000,000, or all"),
    (["trace", "x", "--at", "x=1", "--rows", "1١"],
     "error: --rows 1١: give a number of rows from 2 to 10,000,000, or all"),
    (["checkpoint", "sin(sin(x))", "--at", "x=1", "--strategies", "every=²"],
     "error: --checkpoint every=²: choose all, none, every=K or binomial=S (K, S whole numbers from 1 to 1,000,000,000)"),
    (["checkpoint", "sin(sin(x))", "--at", "x=1", "--strategies", f"binomial={BIG}"],
     f"error: --checkpoint binomial={BIG[:31]}…: choose all, none, every=K or binomial=S "
     "(K, S whole numbers from 1 to 1,000,000,000)"),
    (["grad", "x", "--at", "x=1", "--checkpoint", "every=١"],
     "error: --checkpoint every=١: choose all, none, every=K or binomial=S (K, S whole numbers from 1 to 1,000,000,000)"),
    (["hessian", "x", "--at", "x=1", "--digits", "١"],
     "error: Invalid value for '--digits': ١: give a whole number from 1 to 17 (see 'adcli hessian --help')"),
    (["grad", "x", "--at", "x=0:1:²"], "error: --at x=0:1:²: a range needs a whole number of points from 1 to 10,000,000"),
    # item 16: every size option has a stated maximum
    (["compare", "x", "--at", "x=1", "--nest", "99999999999999999999"],
     "error: Invalid value for '--nest': 99999999999999999999: give a whole number from 1 to 100 "
     "(see 'adcli compare --help')"),
    (["compare", "x", "--at", "x=1", "--nest", "0"],
     "error: Invalid value for '--nest': 0: give a whole number from 1 to 100 (see 'adcli compare --help')"),
    (["graph", "x", "--max-nodes", "100001"],
     "error: Invalid value for '--max-nodes': 100001: give a whole number from 1 to 100,000 (see 'adcli graph --help')"),
    (["trace", "x", "--at", "x=1", "--rows", "10000001"],
     "error: --rows 10000001: give a number of rows from 2 to 10,000,000, or all"),
    (["checkpoint", "sin(sin(x))", "--at", "x=1", "--strategies", "every=1000000001"],
     "error: --checkpoint every=1000000001: choose all, none, every=K or binomial=S "
     "(K, S whole numbers from 1 to 1,000,000,000)"),
    # item 7: ranges are bounded before anything is allocated
    (["grad", "x", "--at", "x=0:1:10000000000"],
     "error: --at x=0:1:10000000000: a range needs a whole number of points from 1 to 10,000,000"),
    (["grad", "x", "--at", "x=0:1:10000001"],
     "error: --at x=0:1:10000001: a range needs a whole number of points from 1 to 10,000,000"),
    # item 9
    (["trace", "x^2", "--at", "x=1", "--direction", "x=0:1:3"],
     "error: --direction x: give one number per input, not a range"),
    # item 6
    (["compare", "x^2", "--at", "x=1", "--sympy-timeout", "nan"],
     "error: --sympy-timeout nan: give a number of seconds ≥ 0, or inf for no limit"),
    (["grad", "x^2", "--at", "x=1", "--check", "sympy", "--sympy-timeout", "nan"],
     "error: --sympy-timeout nan: give a number of seconds ≥ 0, or inf for no limit"),
    (["compare", "x^2", "--at", "x=1", "--sympy-timeout", "-1"],
     "error: Invalid value for '--sympy-timeout': -1.0 is not in the range x>=0.0 (see 'adcli compare --help')"),
]


@pytest.mark.parametrize(("args", "message"), USAGE, ids=[" ".join(a)[:60] for a, _ in USAGE])
def test_bad_counts_and_sizes_exit_2_with_one_line(args, message):
    """Run as a process: click's own usage errors are worded by adcli's entry point."""
    done = subprocess.run([str(Path(sys.executable).with_name("adcli")), *args], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")


def test_the_help_states_each_maximum(runner):
    helps = {command: " ".join(run(runner, [command, "--help"]).stdout.split()) for command in
             ("compare", "graph", "trace", "checkpoint", "grad")}
    assert "(K ≤ 100)" in helps["compare"]
    assert "inf: no limit" in helps["compare"] and "inf: no limit" in helps["grad"]
    assert "(at most 100,000)" in helps["graph"]
    assert "a number up to 10,000,000, or all" in helps["trace"]
    assert "K, S up to 1,000,000,000" in helps["checkpoint"] and "K, S up to 1,000,000,000" in helps["grad"]
    assert MAX_POINTS == 10_000_000


# ---------------------------------------------------------------- item 7: ranges stay finite
def test_a_range_whose_spacing_overflows_gives_finite_points(runner):
    """-1e308:1e308:3: the spacing 1e308 is finite but stop − start overflows; by hand the points
    are -1e308, 0 and 1e308, and f(x) = x has derivative 1 at each. Nothing on stderr."""
    result = run(runner, ["grad", "x", "--at", "x=-1e308:1e308:3", "--format", "csv"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "x,value,d/dx\n-1e+308,-1e+308,1.0\n0.0,0.0,1.0\n1e+308,1e+308,1.0\n"


def test_a_one_point_range_across_the_whole_float_line_is_its_start(runner):
    result = run(runner, ["grad", "x", "--at", "x=-1e308:1e308:1", "--format", "csv"])
    assert (result.exit_code, result.stderr, result.stdout) == (0, "", "x,value,d/dx\n-1e+308,-1e+308,1.0\n")


def test_the_mean_of_a_batch_near_the_largest_float_is_finite(runner):
    """1e308, 1.35e308, 1.7e308: their sum overflows, their mean is 1.35e308 (by hand)."""
    result = run(runner, ["grad", "x", "--at", "x=1e308:1.7e308:3"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert "│ x     │ 1e+308 │ 1.7e+308 │ 1.35e+308 │      1e+308 │   1.7e+308 │" in result.stdout


def test_an_ordinary_range_is_unchanged(runner):
    result = run(runner, ["grad", "x", "--at", "x=0:1:5", "--format", "csv"])
    assert result.stdout == "x,value,d/dx\n0.0,0.0,1.0\n0.25,0.25,1.0\n0.5,0.5,1.0\n0.75,0.75,1.0\n1.0,1.0,1.0\n"


# ---------------------------------------------------------------- item 6: inf means no limit
def test_sympy_timeout_inf_is_no_limit(runner):
    """d/dx x^2 = 2x = 2 at x = 1 (by hand); no SymPy step fails or times out, JSON says null."""
    result = run(runner, ["compare", "x^2", "--at", "x=1", "--sympy-timeout", "inf", "--json"])
    assert (result.exit_code, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    assert (document["sympy_timeout"], document["timeouts"], document["sympy_failures"]) == (None, [], [])
    assert [row["value"] for row in document["methods"] if row["method"] == "SymPy"] == [2.0]
    checked = run(runner, ["grad", "x^2", "--at", "x=1", "--check", "sympy", "--sympy-timeout", "inf", "--json"])
    assert (checked.exit_code, checked.stderr) == (0, "")
    assert json.loads(checked.stdout)["warnings"] == []


def test_the_budget_refuses_nan_in_the_library_too():
    from adcli.compare import SymbolicBudget

    with pytest.raises(InputError, match=r"^SymPy time budget nan: give a number of seconds ≥ 0, or inf for no limit$"):
        SymbolicBudget(float("nan"))


# ---------------------------------------------------------------- item 13: --points
def test_a_points_cell_past_the_csv_field_limit_is_one_line_naming_its_line(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n\n1\n" + "1" * 200_000 + "\n")
    result = run(runner, ["grad", "x", "--points", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: --points {path}, line 4: cannot read the row as CSV "
                             "(field larger than field limit (131072))\n")


@pytest.mark.parametrize(("text", "line", "message"), [
    ("x,y\n\n\n1,2\n\n1,a\n", 6, "every cell must be a number"),
    ("x,y\n\n1,2\n\n\n1\n", 6, "every row needs 2 values, one per column of the header"),
    ("x,y\n1,2\n\n3,inf\n", 4, "every cell must be a finite number"),
    ('x,y\n"1\n",2\n\n3,b\n', 5, "every cell must be a number"),  # a quoted cell over two lines
])
def test_points_errors_name_the_physical_line_after_blank_lines(runner, tmp_path, text, line, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    result = run(runner, ["grad", "x*y", "--points", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: --points {path}, line {line}: {message}\n"


def test_a_points_file_past_the_maximum_is_refused(runner, tmp_path, monkeypatch):
    """The bound is MAX_POINTS rows; lowered to 3 here so the file stays small."""
    import adcli.batch

    monkeypatch.setattr(adcli.batch, "MAX_POINTS", 3)
    path = tmp_path / "p.csv"
    path.write_text("x\n1\n2\n\n3\n4\n")
    result = run(runner, ["grad", "x", "--points", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: --points {path}, line 6: a file holds at most 3 points\n"
