"""Regressions from an independent review: each test is a bug that was found and fixed."""

import json

import pytest

import adcli
from adcli.cli import app


def run(runner, *args):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("strategy", ["all", "none", "every=2", "binomial=2"])
def test_checkpointing_a_trace_without_operations_finishes(runner, strategy):
    result = run(runner, "grad", "x", "--at", "x=1", "--checkpoint", strategy, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradient"] == {"x": 1.0}


@pytest.mark.parametrize("source", ["sqrt(x)*sqrt(x)", "x*sqrt(x)", "abs(x)*sqrt(x)", "sqrt(x^2)", "relu(x)*sqrt(x)"])
def test_forward_and_reverse_agree_where_an_infinite_partial_meets_a_zero(source):
    # d/dx sqrt(x)^2 = 1 for x > 0, but at 0 the conventions multiply sqrt'(0) = inf by a zero factor;
    # both modes must apply the same rule (a product with a zero factor is 0).
    reverse = adcli.gradient(adcli.parse(source), {"x": 0.0}).gradients[0]["x"]
    forward = adcli.gradient(adcli.parse(source), {"x": 0.0}, mode="forward").gradients[0]["x"]
    assert reverse == forward == 0.0


@pytest.mark.parametrize("args", [
    ("compare", "floor(x)*x", "--at", "x=2.5"),
    ("compare", "sign(x)*x", "--at", "x=-2"),
    ("compare", "sqrt(x)", "--at", "x=0"),
    ("grad", "floor(x)", "--at", "x=2", "--check", "sympy,fd"),
    ("grad", "0^x", "--at", "x=2", "--check", "sympy,fd", "--json"),
])
def test_sympy_failures_are_reported_not_raised(runner, args):
    result = run(runner, *args)
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if "--json" in args:
        json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))


def test_a_function_file_that_prints_and_reads_argv(runner, tmp_path):
    path = tmp_path / "noisy.py"
    path.write_text('import sys\nprint("at import")\nN = len(sys.argv)\n\n\ndef f(x):\n'
                    '    print("in f")\n    return x * x * N\n', encoding="utf-8")
    result = run(runner, "grad", str(path), "--at", "x=1.5", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)  # the prints went to stderr
    assert document["value"] == 2.25  # sys.argv == [path], as `python file.py` would have it
    assert "at import" in result.stderr and "in f" in result.stderr


def test_points_file_with_a_byte_order_mark(runner, tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xef\xbb\xbfx,y\r\n1,2\r\n")
    result = run(runner, "grad", "x*y", "--points", str(path), "--format", "csv")
    assert result.stdout == "x,y,value,d/dx,d/dy\n1.0,2.0,2.0,2.0,1.0\n"


@pytest.mark.parametrize("content,message", [
    ("x,y,x\n1,2,3\n", "the header names x more than once"),
    ("x\nnan\n", "line 2: every cell must be a finite number"),
])
def test_points_file_rejects_repeated_columns_and_non_finite_cells(runner, tmp_path, content, message):
    path = tmp_path / "p.csv"
    path.write_text(content, encoding="utf-8")
    result = run(runner, "grad", "x", "--points", str(path))
    assert result.exit_code == 2
    assert message in result.stderr


def test_graph_draws_a_node_for_a_constant_output(runner):
    result = run(runner, "graph", "x+1, 3", "--at", "x=1", "--format", "dot")
    assert 'n3 [label="3", shape=plaintext];' in result.stdout
    assert "n3 -> out1;" in result.stdout


def test_a_literal_too_large_for_a_float_is_invalid_input(runner):
    result = run(runner, "grad", "1e999*x", "--at", "x=1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: syntax error at column 1: the number 1e999 is too large for a float")


@pytest.mark.parametrize("command", ["trace", "hessian", "jacobian"])
def test_a_range_for_a_function_file_outside_grad_is_refused(runner, command):
    result = run(runner, command, "samples/sigmoid_neuron.py", "--at", "w=0:1:5", "--at", "x=[1,2]")
    assert result.exit_code == 2
    assert result.stderr == "error: --at w: a range of points is for the gradient (a batch)\n"
