"""Issue 15 item 4: names from the source. Each node recorded from a function file knows its file
line and, where the code assigned it, the variable's name; trace, graph, codegen and JSON show them.
Expressions keep v1, v2, … The expected lines and names are read off the files below by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from adcli.analysis import load
from adcli.cli import app

# line 1: import; line 4: def; q on line 5; sin, product, + 2 on line 6 (r); the product on line 7
PROGRAM = '''import math


def f(x, y):
    q = x + y
    r = q * math.sin(x) + 2
    return r * q
'''

# samples/two_losses.py: def f(x) on line 4, 2·q and Σx on line 6, dot's loop body (total) on line 12
LOSSES = str(Path(__file__).resolve().parent.parent / "samples" / "two_losses.py")


def run(runner, args):
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "program.py"
    path.write_text(PROGRAM)
    return str(path)


def test_each_node_knows_its_line_and_variable(program):
    trace, _ = load(program, {"x": 1.0, "y": 2.0}, sources=True)
    shown = [trace.source_of(node) for node in range(len(trace))]
    # x, y (the def line), q, sin(x), q·sin(x), the constant 2, r, r·q
    assert shown == ["4: x", "4: y", "5: q", "6", "6", "6", "6: r", "7"]


def test_helpers_lines_and_a_loop_variable_named_each_time():
    trace, _ = load(LOSSES, {"x": [1.0, 2.0]}, sources=True)
    named = [trace.source_of(node) for node in range(len(trace)) if trace.op[node] > 1]  # operations
    # x0·x0, total = 0 + …, x1·x1, total = … + … in dot; then 2·q (q is total's node), 0 + x0, … + x1 of sum
    assert named == ["12", "12: total", "12", "12: total", "6", "6", "6"]


def test_trace_table_has_a_source_column(runner, program):
    table = run(runner, ["trace", program, "--at", "x=1,y=2"])
    rows = [line.strip("│ ").split("│") for line in table.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row[:3]] for row in rows] == [
        ["v1", "4: x", "x"], ["v2", "4: y", "y"], ["v3", "5: q", "v1 + v2"], ["v4", "6", "sin(v1)"],
        ["v5", "6", "v3 * v4"], ["v6", "6: r", "v5 + 2"], ["v7", "7", "v6 * v3"]]


def test_trace_json_carries_line_and_var(runner, program):
    document = json.loads(run(runner, ["trace", program, "--at", "x=1,y=2", "--json"]))
    assert [(row["name"], row["line"], row["var"]) for row in document["trace"]] == [
        ("v1", 4, "x"), ("v2", 4, "y"), ("v3", 5, "q"), ("v4", 6, None), ("v5", 6, None), ("v6", 6, "r"),
        ("v7", 7, None)]


def test_expressions_keep_v_names_and_no_source(runner):
    document = json.loads(run(runner, ["trace", "x*y", "--at", "x=1,y=2", "--json"]))
    assert all("line" not in row and "var" not in row for row in document["trace"])
    assert "source" not in run(runner, ["trace", "x*y", "--at", "x=1,y=2"]).splitlines()[2]


def test_graph_labels_nodes_with_their_source(runner, program):
    mermaid = run(runner, ["graph", program, "--at", "x=1,y=2", "--format", "mermaid"])
    assert 'n2("v3 = v1 + v2<br/>line 5: q<br/>value 3<br/>' in mermaid
    nodes = json.loads(run(runner, ["graph", program, "--at", "x=1,y=2", "--json"]))["nodes"]
    assert (nodes[2]["line"], nodes[2]["var"]) == (5, "q")


def test_codegen_uses_the_variable_names(runner, program):
    code = run(runner, ["codegen", program, "--at", "x=1,y=2"])
    assert "    q = v1 + v2\n" in code and "    r = v5 + 2.0\n" in code and "    q_bar += v5_bar * v4\n" in code
    namespace: dict = {}
    exec(compile(code, "generated", "exec"), namespace)  # noqa: S102 - adcli's own generated code
    # f = (q sin x + 2) q with q = x + y: ∂f/∂y = 2 q sin x + 2 = 6 sin 1 + 2 at (1, 2)
    value, (dx, dy) = namespace["f_grad"](1.0, 2.0)
    assert value == pytest.approx((3 * math.sin(1) + 2) * 3, rel=1e-15)
    assert dy == pytest.approx(6 * math.sin(1) + 2, rel=1e-15)
    assert dx == pytest.approx(6 * math.sin(1) + 2 + 9 * math.cos(1), rel=1e-15)


def test_codegen_keeps_v_names_for_a_variable_assigned_many_times(runner, tmp_path):
    path = tmp_path / "one_loss.py"
    path.write_text(Path(LOSSES).read_text().replace("return 2 * q, sum(x)", "return 2 * q"))
    code = run(runner, ["codegen", str(path), "--at", "x=[1,2]"])
    assert "total" not in code  # total holds two nodes: no one name for either
