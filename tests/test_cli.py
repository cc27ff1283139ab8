"""The command line through typer's CliRunner: the commands of issue 2, exact exit codes and the exact
error text on stderr (sqlite-utils style), and a help test for every command."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from adcli.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

PI3 = math.pi / 3
LESSON = ["x*exp(y)-sin(x)", "--at", "x=pi/3,y=0"]


def run(runner, args, input=None):
    """Invoke adcli and check that it ended through an exit code, never an unhandled exception."""
    result = runner.invoke(app, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    return result


def g8(value: float) -> str:
    """A number as the tables print it with the default --digits 8."""
    return f"{value:.8g}"


def field(output: str, label: str) -> str:
    """The number printed after ``label`` at the start of a line of the grad table."""
    match = re.search(rf"^{re.escape(label)}\s+(\S+)\s*$", output, re.MULTILINE)
    assert match, f"no line {label!r} in:\n{output}"
    return match.group(1)


def table_rows(output: str) -> list[list[str]]:
    """The body rows of the rich table: the cells of each line that starts with '│'."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in output.splitlines() if line.startswith("│")]


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity (they are not JSON)."""
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------- adcli grad

@pytest.mark.parametrize(("mode_args", "footer"), [([], "reverse mode: 1 sweep over 4 operations"),
                                                   (["--mode", "reverse"], "reverse mode: 1 sweep over 4 operations"),
                                                   (["--mode", "forward"], "forward mode: 2 sweeps over 4 operations")])
def test_grad_lesson_example(runner, mode_args, footer):
    """adcli grad "x*exp(y)-sin(x)" --at x=pi/3,y=0: value pi/3 - sqrt(3)/2, gradient (1 - cos(pi/3), pi/3)."""
    result = run(runner, ["grad", *LESSON, *mode_args])
    assert result.exit_code == 0
    assert result.stderr == ""
    out = result.stdout
    assert field(out, "value") == g8(PI3 - math.sqrt(3) / 2) == "0.18117215"
    assert field(out, "∂/∂x") == g8(1 - math.cos(PI3)) == "0.5"
    assert field(out, "∂/∂y") == g8(PI3) == "1.0471976"
    assert footer in out


def test_grad_digits(runner):
    """--digits 3 prints three significant digits."""
    out = run(runner, ["grad", *LESSON, "--digits", "3"]).stdout
    assert field(out, "value") == "0.181"
    assert field(out, "∂/∂y") == "1.05"


def test_grad_json_contract(runner):
    """adcli grad "(a+b)*(b+1)" --at a=2,b=1 --json: the keys and values of the design contract
    (no per-node trace); trace --json carries the nodes.

    f = (a+b)(b+1) = 6; df/da = b+1 = 2; df/db = (b+1) + (a+b) = 5.
    Adjoints: v̄5 = 1, v̄3 = v4 = 2, v̄4 = v3 = 3, v̄1 = v̄3 = 2, v̄2 = v̄3 + v̄4 = 5.
    """
    result = run(runner, ["grad", "(a+b)*(b+1)", "--at", "a=2,b=1", "--json"])
    assert result.exit_code == 0
    document = strict_json(result.stdout)
    assert {"source", "mode", "at", "value", "gradient", "warnings"} <= set(document)
    assert "trace" not in document  # the per-node trace is trace --json's job
    assert (document["operations"], document["sweeps"]) == (3, 1)  # +, +, *; one reverse sweep
    assert document["source"] == "(a+b)*(b+1)"
    assert document["mode"] == "reverse"
    assert document["at"] == {"a": 2.0, "b": 1.0}
    assert list(document["at"]) == ["a", "b"]
    assert document["value"] == 6.0
    assert document["gradient"] == {"a": 2.0, "b": 5.0}
    assert document["warnings"] == []
    document = strict_json(run(runner, ["trace", "(a+b)*(b+1)", "--at", "a=2,b=1", "--json"]).stdout)
    rows = [{key: row[key] for key in ("name", "op", "text", "value", "adjoint")} for row in document["trace"]]
    assert rows == [
        {"name": "v1", "op": "input", "text": "a", "value": 2.0, "adjoint": 2.0},
        {"name": "v2", "op": "input", "text": "b", "value": 1.0, "adjoint": 5.0},
        {"name": "v3", "op": "add", "text": "v1 + v2", "value": 3.0, "adjoint": 2.0},
        {"name": "v4", "op": "add", "text": "v2 + 1", "value": 2.0, "adjoint": 3.0},
        {"name": "v5", "op": "mul", "text": "v3 * v4", "value": 6.0, "adjoint": 1.0},
    ]
    assert document["trace"][0]["args"] == []
    assert document["trace"][2]["args"] == ["v1", "v2"]
    assert document["trace"][4]["args"] == ["v3", "v4"]


def test_grad_json_forward_and_several_outputs(runner):
    """Several outputs: value and gradient become lists, one entry per output (x y and sin x + y at (1, 2))."""
    result = run(runner, ["grad", "x*y, sin(x)+y", "--at", "x=1,y=2", "--json", "--mode", "forward"])
    assert result.exit_code == 0
    document = strict_json(result.stdout)
    assert document["mode"] == "forward"
    assert document["value"] == [2.0, pytest.approx(math.sin(1) + 2, rel=1e-15)]
    assert document["gradient"] == [{"x": 2.0, "y": 1.0}, {"x": pytest.approx(math.cos(1), rel=1e-15), "y": 1.0}]


def test_grad_json_infinite_is_a_signed_string_with_warning(runner):
    """sqrt(x) at 0: the convention sqrt'(0) = inf prints as "Infinity" (valid JSON, the README's
    encoding) and the warning names the node."""
    result = run(runner, ["grad", "sqrt(x)", "--at", "x=0", "--json"])
    assert result.exit_code == 0
    document = strict_json(result.stdout)
    assert document["value"] == 0.0
    assert document["gradient"] == {"x": "Infinity"}
    assert document["warnings"] == [
        "v2 = sqrt(v1): sqrt is not differentiable at 0: left undefined, right inf; used inf, as PyTorch, JAX and autograd"]


def test_grad_warning_on_terminal(runner):
    """abs(x) at 0: the result, and a warning naming the node and the convention."""
    result = run(runner, ["grad", "abs(x)", "--at", "x=0"])
    assert result.exit_code == 0
    assert field(result.stdout, "∂/∂x") == "0"
    warning = "warning: v2 = abs(v1): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1)"
    boundary = "note: this trace is on the boundary of its path along x: v2 = abs(v1) has margin 0"
    assert result.stderr == warning + "\n" + boundary + "\n"  # on stderr, whole; stdout is the result alone
    assert "warning" not in result.stdout
    assert run(runner, ["grad", "abs(x)", "--at", "x=0", "--quiet"]).stderr == ""


@pytest.mark.parametrize(("fmt", "carried"), [
    ("json", lambda out, w: json.loads(out)["warnings"] == [w.removeprefix("warning: ")]),
    ("csv", lambda out, w: out.splitlines()[0] == "# " + w),
    ("markdown", lambda out, w: "\n> " + w.replace("*", "\\*") + "\n" in out),
    ("latex", lambda out, w: "\\item warning: v2 = abs(v1)" in out),
])
def test_every_format_carries_the_warning(runner, fmt, carried):
    """grad "abs(x)" --at x=0 --format csv used to say nothing about the convention it used."""
    warning = "warning: v2 = abs(v1): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1)"
    result = run(runner, ["grad", "abs(x)", "--at", "x=0", "--format", fmt, "--quiet"])
    assert result.exit_code == 0
    assert carried(result.stdout, warning), result.stdout


def test_branch_notes_are_notes_not_warnings(runner):
    result = run(runner, ["grad", str(SAMPLES / "branch.py"), "--at", "x=3"])
    assert result.stderr == ("note: line 5: if x > 0: took the true branch; the derivative is that of the path that ran\n"
                             "note: this trace holds for |Δx| < 3: line 5, if x > 0\n")  # margin x − 0 = 3


def test_grad_from_stdin(runner):
    """echo "x^2 + 3*x" | adcli grad - --at x=2: value 4 + 6 = 10, derivative 2x + 3 = 7."""
    result = run(runner, ["grad", "-", "--at", "x=2"], input="x^2 + 3*x\n")
    assert result.exit_code == 0
    assert field(result.stdout, "value") == "10"
    assert field(result.stdout, "∂/∂x") == "7"


def test_grad_from_stdin_json_source(runner):
    """The expression read from stdin is the JSON source, without its newline."""
    result = run(runner, ["grad", "-", "--at", "x=2", "--json"], input="x^2 + 3*x\n")
    assert strict_json(result.stdout)["source"] == "x^2 + 3*x"


@pytest.mark.parametrize("at", [["--at", "x=1", "--at", "y=2"], ["--at", "y=2,x=1"], ["--at", "x=1,y=2"]])
def test_at_values_merge(runner, at):
    """Repeated --at options merge; their order does not matter (x y at (1, 2): gradient (2, 1))."""
    document = strict_json(run(runner, ["grad", "x*y", *at, "--json"]).stdout)
    assert document["at"] == {"x": 1.0, "y": 2.0}
    assert document["gradient"] == {"x": 2.0, "y": 1.0}


@pytest.mark.parametrize(("text", "value"), [("pi/3", math.pi / 3), ("-2e-3", -2e-3), ("sqrt(2)", math.sqrt(2)),
                                             ("2*e", 2 * math.e), ("1.5", 1.5)])
def test_at_constant_expressions(runner, text, value):
    """A value may be a constant expression."""
    document = strict_json(run(runner, ["grad", "x", "--at", f"x={text}", "--json"]).stdout)
    assert document["at"]["x"] == pytest.approx(value, rel=1e-15)


# ---------------------------------------------------------------- adcli trace

def _lesson_rows(tangent: bool) -> list[list[str]]:
    """The Wengert table of x*exp(y)-sin(x) at (pi/3, 0), from the hand derivation.

    values: v1 = pi/3, v2 = 0, v3 = e^0 = 1, v4 = v1 v3 = pi/3, v5 = sin(pi/3) = sqrt(3)/2, v6 = v4 - v5.
    tangents for x (forward): 1, 0, 0, v̇1 v3 + v1 v̇3 = 1, cos(pi/3) v̇1 = 1/2, 1 - 1/2 = 1/2.
    adjoints (reverse): v̄6 = 1, v̄5 = -1, v̄4 = 1, v̄3 = v̄4 v1 = pi/3, v̄2 = v̄3 e^0 = pi/3,
    v̄1 = v̄4 v3 + v̄5 cos(v1) = 1 - 1/2 = 1/2.
    """
    rows = [("v1", "x", PI3, 1, 0.5), ("v2", "y", 0, 0, PI3), ("v3", "exp(v2)", 1, 0, PI3),
            ("v4", "v1 * v3", PI3, 1, 1), ("v5", "sin(v1)", math.sqrt(3) / 2, 0.5, -1),
            ("v6", "v4 - v5", PI3 - math.sqrt(3) / 2, 0.5, 1)]
    return [[name, op, g8(value), *([g8(dot)] if tangent else []), g8(bar)] for name, op, value, dot, bar in rows]


LESSON_UPDATES = [
    "v̄4 += v̄6",
    "v̄5 -= v̄6",
    "v̄1 += v̄5 · cos(v1)",
    "v̄1 += v̄4 · v3",
    "v̄3 += v̄4 · v1",
    "v̄2 += v̄3 · v3",
]


def test_trace_table(runner):
    """adcli trace "x*exp(y)-sin(x)" --at x=pi/3,y=0: one row per node, then the reverse sweep in run order."""
    result = run(runner, ["trace", *LESSON])
    assert result.exit_code == 0
    assert table_rows(result.stdout) == _lesson_rows(tangent=False)
    lines = [line.strip() for line in result.stdout.splitlines()]
    start = lines.index("reverse sweep, in the order it runs (seed v̄6 = 1):")
    assert lines[start + 1: start + 1 + len(LESSON_UPDATES)] == LESSON_UPDATES


def test_trace_wrt_adds_tangent_column(runner):
    """--wrt x adds a tangent column seeded on x."""
    result = run(runner, ["trace", *LESSON, "--wrt", "x"])
    assert result.exit_code == 0
    assert "tangent ∂/∂x" in result.stdout
    assert table_rows(result.stdout) == _lesson_rows(tangent=True)


def test_trace_direction(runner):
    """--direction x=1,y=2 seeds forward mode: for x y at (3, 4) the output tangent is y*1 + x*2 = 10."""
    result = run(runner, ["trace", "x*y", "--at", "x=3,y=4", "--direction", "x=1,y=2"])
    assert result.exit_code == 0
    assert "tangent (x=1,y=2)" in result.stdout
    assert table_rows(result.stdout)[-1] == ["v3", "v1 * v2", "12", "10", "1"]


def test_trace_json(runner):
    """The trace JSON has every node with value, tangent and adjoint, and the update statements."""
    result = run(runner, ["trace", *LESSON, "--wrt", "x", "--json"])
    document = strict_json(result.stdout)
    expected = _lesson_rows(tangent=True)
    assert [row["name"] for row in document["trace"]] == [row[0] for row in expected]
    assert [row["text"] for row in document["trace"]] == [row[1] for row in expected]
    assert [g8(row["value"]) for row in document["trace"]] == [row[2] for row in expected]
    assert [g8(row["tangent"]["x"]) for row in document["trace"]] == [row[3] for row in expected]
    assert [g8(row["adjoint"]) for row in document["trace"]] == [row[4] for row in expected]
    assert document["reverse_sweep"] == LESSON_UPDATES


def test_trace_fan_out_shows_every_update(runner):
    """x*x*x*x: four updates of v̄1, one per use of x; its adjoint is 4 x^3 = 32 at x = 2."""
    result = run(runner, ["trace", "x*x*x*x", "--at", "x=2"])
    assert result.exit_code == 0
    assert table_rows(result.stdout)[0] == ["v1", "x", "2", "32"]
    updates = [line.strip() for line in result.stdout.splitlines() if "v̄1 +=" in line]
    assert updates == ["v̄1 += v̄4 · v3", "v̄1 += v̄3 · v2", "v̄1 += v̄2 · v1", "v̄1 += v̄2 · v1"]


NESTED_SIN = "sin(" * 50 + "x" + ")" * 50  # 51 nodes: v1 = x, v(k+1) = sin(vk)


def test_trace_rows_elision(runner):
    """--rows 10 on a 51-node trace: the first 5 and last 5 rows, an elision line, and elided updates."""
    result = run(runner, ["trace", NESTED_SIN, "--at", "x=0.5", "--rows", "10"])
    assert result.exit_code == 0
    rows = table_rows(result.stdout)
    assert [row[0] for row in rows[:5] + rows[6:]] == ["v1", "v2", "v3", "v4", "v5", "v47", "v48", "v49", "v50", "v51"]
    assert "41 rows not shown (--rows all)" in " ".join(rows[5])
    assert "… updates of 40 operations not shown …" in result.stdout
    updates = [line.strip() for line in result.stdout.splitlines() if " += " in line]
    assert updates[0] == "v̄50 += v̄51 · cos(v50)"
    assert updates[-1] == "v̄1 += v̄2 · cos(v1)"
    assert len(updates) == 10


def test_trace_rows_all(runner):
    """--rows all shows all 51 rows and all 50 updates."""
    result = run(runner, ["trace", NESTED_SIN, "--at", "x=0.5", "--rows", "all"])
    assert [row[0] for row in table_rows(result.stdout)] == [f"v{k}" for k in range(1, 52)]
    assert "not shown" not in result.stdout
    assert len([line for line in result.stdout.splitlines() if " += " in line]) == 50


def test_trace_default_rows(runner):
    """By default a long trace shows 40 rows."""
    result = run(runner, ["trace", "+".join(["x"] * 60), "--at", "x=1"])  # 60 nodes: x and 59 additions
    rows = table_rows(result.stdout)
    assert len(rows) == 41
    assert "20 rows not shown (--rows all)" in " ".join(rows[20])
    assert rows[0] == ["v1", "x", "1", "60"]
    assert rows[-1] == ["v60", "v59 + v1", "60", "1"]


# ---------------------------------------------------------------- errors: exact text and exit codes

BAD_INPUT = [
    # syntax error with a caret under the column
    (["grad", "2x", "--at", "x=2"],
     "error: syntax error at column 2: missing operator between '2' and 'x' (write 2*x)\n  2x\n   ^\n"),
    # unknown function with a suggestion
    (["grad", "sn(x)", "--at", "x=2"],
     "error: syntax error at column 1: unknown function 'sn'; did you mean 'sin'?\n  sn(x)\n  ^\n"),
    # wrong number of arguments
    (["grad", "sin(x, y)", "--at", "x=1,y=2"],
     "error: syntax error at column 1: sin() takes 1 argument, got 2\n  sin(x, y)\n  ^\n"),
    (["grad", "max(x)", "--at", "x=1"],
     "error: syntax error at column 1: max() takes 2 arguments, got 1\n  max(x)\n  ^\n"),
    # unbalanced parentheses, trailing operator
    (["grad", "(x+1", "--at", "x=1"], "error: syntax error at column 1: '(' is never closed\n  (x+1\n  ^\n"),
    (["grad", "x+1)", "--at", "x=1"], "error: syntax error at column 4: ')' has no matching '('\n  x+1)\n     ^\n"),
    (["grad", "x+", "--at", "x=1"], "error: syntax error at column 3: the expression ends too early\n  x+\n    ^\n"),
    # constructs outside the expression language
    (["grad", "x.real", "--at", "x=1"],
     "error: syntax error at column 2: unexpected '.': attribute access is not part of the expression language"
     "\n  x.real\n   ^\n"),
    (["grad", "'a'", "--at", "x=1"],
     "error: syntax error at column 1: unexpected \"'\": strings are not part of the expression language"
     "\n  'a'\n  ^\n"),
    (["grad", "__import__('os')"],
     "error: syntax error at column 12: unexpected \"'\": strings are not part of the expression language"
     "\n  __import__('os')\n             ^\n"),
    (["grad", "lambda x: x", "--at", "x=1"],
     "error: syntax error at column 9: unexpected ':': lambdas and slices are not part of the expression language"
     "\n  lambda x: x\n          ^\n"),
    (["grad", "w[0]", "--at", "w=1"],
     "error: syntax error at column 2: unexpected '[': subscripts are not part of the expression language"
     "\n  w[0]\n   ^\n"),
    # empty input
    (["grad", ""], "error: the expression is empty\n"),
    (["grad", "   ", "--at", "x=1"], "error: the expression is empty\n"),
    # missing, extra, duplicate, non-numeric --at
    (["grad", "x*y", "--at", "x=1"], "error: --at y=…: no value for input 'y'\n"),
    (["grad", "x*y"], "error: --at x=…,y=…: no value for inputs 'x', 'y'\n"),
    (["grad", "x*y", "--at", "x=1,y=2,z=3"], "error: --at z: the function has no input 'z' (its inputs: x, y)\n"),
    (["grad", "x*y", "--at", "x=1,y=2,xx=3"],
     "error: --at xx: the function has no input 'xx'; did you mean 'x'? (its inputs: x, y)\n"),
    (["grad", "x*y", "--at", "x=1", "--at", "x=2,y=1"], "error: --at x=2: x is given more than once\n"),
    (["grad", "x*y", "--at", "x=1,y=2,x=3"], "error: --at x=3: x is given more than once\n"),
    (["grad", "x*y", "--at", "x=1,y=abc"],
     "error: --at y=abc: 'abc' is not a number or a constant expression such as pi/3\n"),
    (["grad", "x*y", "--at", "x=1,y="], "error: --at y=: the value is missing\n"),
    (["grad", "x*y", "--at", "x=1,y"], "error: --at y: expected name=value, e.g. --at x=1.5\n"),
    (["grad", "x*y", "--at", "x=1,y=1e400"], "error: --at y=1e400: '1e400' is not a finite number\n"),
    (["grad", "x*y", "--at", "x=1,y=[1,2]"], "error: --at y: y is a single number, not a list\n"),
    # other options
    (["grad", "x", "--at", "x=1", "--mode", "sideways"],
     "error: Invalid value for '--mode': 'sideways' is not one of 'reverse', 'forward' (see 'adcli grad --help')\n"),
    (["grad", "x", "--at", "x=1", "--wrt", "y"], "error: --wrt y: the function has no input 'y'\n"),
    (["trace", "x", "--at", "x=1", "--rows", "1"], "error: --rows 1: give a number of rows from 2 to 10,000,000, or all\n"),
    (["trace", "x", "--at", "x=1", "--rows", "many"],
     "error: --rows many: give a number of rows from 2 to 10,000,000, or all\n"),
    (["trace", "x*y", "--at", "x=1,y=2", "--direction", "x=1,z=2"],
     "error: --direction z: the function has no input 'z'\n"),
    (["trace", "x*y", "--at", "x=1,y=2", "--cotangent", "f[1]=1"],
     "error: --cotangent f[1]: the function has no output 'f[1]' (its outputs: f)\n"),
]


@pytest.mark.parametrize(("args", "stderr"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_invalid_input_exits_2_with_exact_message(runner, args, stderr):
    """Invalid input: exit code 2, nothing on stdout, one exact message on stderr."""
    result = run(runner, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == stderr


@pytest.mark.parametrize("command", ["grad", "trace"])
def test_trace_shares_input_errors(runner, command):
    """trace reports bad input exactly as grad does."""
    result = run(runner, [command, "sn(x)", "--at", "x=2"])
    assert result.exit_code == 2
    assert result.stderr == "error: syntax error at column 1: unknown function 'sn'; did you mean 'sin'?\n  sn(x)\n  ^\n"


def test_empty_stdin(runner):
    """An empty standard input is invalid input."""
    result = run(runner, ["grad", "-", "--at", "x=2"], input="")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: standard input is empty: pipe an expression, e.g. echo 'x^2' | adcli grad - --at x=2\n")


def test_at_value_that_cannot_be_evaluated(runner):
    """--at y=1/0 is a constant expression that cannot be evaluated: the message says why (division by zero)
    rather than claiming it is not a constant expression."""
    result = run(runner, ["grad", "x*y", "--at", "x=1,y=1/0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --at y=1/0: ")
    assert "division by zero" in result.stderr


DOMAIN = [
    (["grad", "log(x-2)", "--at", "x=1"], "error: v3 = log(v2): log is undefined at -1\n"),
    (["grad", "log(x)", "--at", "x=-1"], "error: v2 = log(v1): log is undefined at -1\n"),
    (["grad", "sqrt(x)", "--at", "x=-1"], "error: v2 = sqrt(v1): sqrt is undefined at -1\n"),
    (["grad", "1/x", "--at", "x=0"], "error: v2 = 1 / v1: division by zero (v1 = 0)\n"),
    (["grad", "asin(x)", "--at", "x=2"], "error: v2 = asin(v1): asin is undefined at 2 (outside [-1, 1])\n"),
    (["grad", "exp(x)", "--at", "x=1000"], "error: v2 = exp(v1): overflow, exp(1000) is too large for a float\n"),
    (["trace", "log(x-2)", "--at", "x=1"], "error: v3 = log(v2): log is undefined at -1\n"),
    (["grad", "log(x-2)", "--at", "x=1", "--json"], "error: v3 = log(v2): log is undefined at -1\n"),
]


@pytest.mark.parametrize(("args", "stderr"), DOMAIN, ids=[" ".join(a) for a, _ in DOMAIN])
def test_domain_error_exits_1_naming_the_node(runner, args, stderr):
    """The function cannot be evaluated at the point: exit code 1 and the node in the message."""
    result = run(runner, args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == stderr


@pytest.mark.parametrize(("source", "node"), [("x^-1", "v3 = v1 ^ v2"), ("1/x", "v2 = 1 / v1")])
def test_derivative_overflow_exits_1(runner, source, node):
    """At x = 1e-200 the value 1e200 is a float but the derivative -1e400 is not: exit code 1 naming the node,
    not a traceback (x^-1) or a silent -inf (1/x)."""
    result = run(runner, ["grad", source, "--at", "x=1e-200"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {node}:")
    assert "overflow" in result.stderr


def test_usage_errors_have_no_traceback(runner):
    """An unknown option is a usage error (exit 2) from typer, without a traceback."""
    result = run(runner, ["grad", "x", "--at", "x=1", "--bogus"])
    assert result.exit_code == 2
    assert "No such option: --bogus" in result.stderr


# ---------------------------------------------------------------- help and entry points

COMMANDS = sorted(typer.main.get_command(app).commands)


def test_commands_of_issue_2_exist():
    assert {"grad", "trace"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(runner, command):
    """Every command answers --help with a usage line and a description (sqlite-utils style)."""
    result = run(runner, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert command in result.stdout
    assert "--at" in result.stdout or command == "rules"  # the rules card is of no point
    assert "--json" in result.stdout


def test_top_level_help_lists_commands(runner):
    result = run(runner, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_python_dash_m(tmp_path: Path):
    """python -m adcli --help works, and python -m adcli grad computes (2x+3 = 7 at x = 2)."""
    help_run = subprocess.run([sys.executable, "-m", "adcli", "--help"], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path)
    assert help_run.returncode == 0
    assert "grad" in help_run.stdout and "trace" in help_run.stdout
    grad_run = subprocess.run([sys.executable, "-m", "adcli", "grad", "x^2 + 3*x", "--at", "x=2", "--json"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert grad_run.returncode == 0
    assert strict_json(grad_run.stdout)["gradient"] == {"x": 7.0}


def test_real_process_error_has_no_traceback(tmp_path: Path):
    """In a real process, a domain error is one line on stderr and exit code 1."""
    completed = subprocess.run([sys.executable, "-m", "adcli", "grad", "log(x)", "--at", "x=-1"],
                               capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == "error: v2 = log(v1): log is undefined at -1\n"
