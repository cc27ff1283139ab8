"""Issue 15 item 3: any seed on every command. ``--direction`` (J·u), ``--cotangent`` (uᵀJ) and ``--wrt``
with a list parameter's name. Every reference is a hand derivation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from adcli.cli import app

LOSSES = str(Path(__file__).resolve().parent.parent / "samples" / "two_losses.py")  # f = (2·x·x, Σx)


def run(runner, args):
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output + result.stderr
    return result


def ok_json(runner, args):
    result = run(runner, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def losses():
    return LOSSES


# f = (2·x·x, Σx): J = [[4x0 … 4x3], [1 … 1]]; at x = (0, 1, 2, 3): [1, 1]ᵀJ = [1, 5, 9, 13].
def test_grad_cotangent_adds_the_two_losses_gradients(runner, losses):
    document = ok_json(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--cotangent", "f[0]=1,f[1]=1"])
    assert document["gradient"] == {"x[0]": 1.0, "x[1]": 5.0, "x[2]": 9.0, "x[3]": 13.0}
    assert document["cotangent"] == {"f[0]": 1.0, "f[1]": 1.0}
    assert document["weighted_value"] == 28.0 + 6.0
    assert document["sweeps"] == 1


def test_grad_cotangent_as_a_whole_list_and_its_table(runner, losses):
    document = ok_json(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--cotangent", "f=[2,-1]"])
    assert list(document["gradient"].values()) == [-1.0, 7.0, 15.0, 23.0]  # 2·4x - 1
    table = run(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--cotangent", "f[0]=1,f[1]=1"]).stdout
    assert [line.split() for line in table.splitlines()[1:7]] == [
        ["u·f"], ["value", "34"], ["∂/∂x[0]", "1"], ["∂/∂x[1]", "5"], ["∂/∂x[2]", "9"], ["∂/∂x[3]", "13"]]


# x*exp(y) - sin(x) at (π/3, 0): ∇f = (exp(0) - cos(π/3), π/3) = (0.5, π/3); J·(1, 2) = 0.5 + 2π/3.
def test_grad_direction_is_one_forward_sweep(runner):
    document = ok_json(runner, ["grad", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "--direction", "x=1,y=2"])
    assert document["jvp"] == pytest.approx(0.5 + 2 * math.pi / 3, rel=1e-15)
    assert document["direction"] == {"x": 1.0, "y": 2.0}
    assert document["mode"] == "forward" and document["sweeps"] == 1
    assert "gradient" not in document


def test_grad_direction_by_list_entry_and_whole_list(runner, losses):
    # ∂f/∂x1 at x = (0, 1, 2, 3): (4·1, 1); J·(1, 0, 0, 2) = (0 + 2·12, 1 + 2)
    entry = ok_json(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--direction", "x[1]=1"])
    assert entry["jvp"] == [4.0, 1.0]
    whole = ok_json(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--direction", "x=[1,0,0,2]"])
    assert whole["jvp"] == [24.0, 3.0]


def test_grad_wrt_a_list_parameter_means_all_its_entries(runner, losses):
    document = ok_json(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--wrt", "x"])
    assert document["gradient"] == [{"x[0]": 0.0, "x[1]": 4.0, "x[2]": 8.0, "x[3]": 12.0},
                                    {"x[0]": 1.0, "x[1]": 1.0, "x[2]": 1.0, "x[3]": 1.0}]
    entry = ok_json(runner, ["grad", losses, "--at", "x=[0,1,2,3]", "--wrt", "x[2]"])
    assert entry["gradient"] == [{"x[2]": 8.0}, {"x[2]": 1.0}]


# x*y, x+y at (2, 3): J = [[3, 2], [1, 1]]; [1, 1]ᵀJ = (4, 3); J·(1, 1) = (5, 2).
def test_trace_cotangent_replaces_of(runner):
    document = ok_json(runner, ["trace", "x*y, x+y", "--at", "x=2,y=3", "--cotangent", "f[0]=1,f[1]=1",
                                "--direction", "x=1,y=1"])
    adjoints = {row["name"]: row["adjoint"] for row in document["trace"]}
    assert (adjoints["v1"], adjoints["v2"]) == (4.0, 3.0)
    assert document["cotangent"] == {"f[0]": 1.0, "f[1]": 1.0}
    assert document["adjoint_of"] == "u·f"
    second = ok_json(runner, ["trace", "x*y, x+y", "--at", "x=2,y=3", "--cotangent", "f[1]=1"])
    assert second["adjoint_of"] == "x+y"
    assert [row["adjoint"] for row in second["trace"]] == [1.0, 1.0, 0.0, 1.0]
    table = run(runner, ["trace", "x*y, x+y", "--at", "x=2,y=3", "--cotangent", "f[0]=1,f[1]=2"]).stdout
    assert "reverse sweep, in the order it runs (seed v̄3 = 1, v̄4 = 2):" in table


def test_trace_direction_names_list_entries(runner, losses):
    document = ok_json(runner, ["trace", losses, "--at", "x=[0,1,2,3]", "--direction", "x[3]=1"])
    tangents = {row["name"]: row["tangent"]["x[3]=1"] for row in document["trace"]}
    assert (tangents["v1"], tangents["v4"]) == (0.0, 1.0)  # the inputs x[0] … x[3] are v1 … v4


# x*y, x+y, sin(x*y) at (2, 3): J = [[3, 2], [1, 1], [3cos 6, 2cos 6]].
def test_jacobian_wrt_direction_and_cotangent(runner):
    source = ["jacobian", "x*y, x+y, sin(x*y)", "--at", "x=2,y=3"]
    column = ok_json(runner, [*source, "--wrt", "y"])
    assert column["inputs"] == ["y"] and column["jacobian"] == [[2.0], [1.0], [pytest.approx(2 * math.cos(6))]]
    jvp = ok_json(runner, [*source, "--direction", "x=1"])
    assert jvp["inputs"] == ["u"] and jvp["mode"] == "forward"
    assert jvp["jacobian"] == [[3.0], [1.0], [pytest.approx(3 * math.cos(6), rel=1e-15)]]
    vjp = ok_json(runner, [*source, "--cotangent", "f[0]=1,f[2]=2"])
    assert vjp["outputs"] == ["u·f"] and vjp["value"] == [pytest.approx(6 + 2 * math.sin(6), rel=1e-15)]
    assert vjp["jacobian"] == [[pytest.approx(3 + 6 * math.cos(6), rel=1e-15),
                                pytest.approx(2 + 4 * math.cos(6), rel=1e-15)]]
    assert vjp["sweeps"] == {"forward": 2, "reverse": 1}


BAD_SEEDS = [
    (["grad", "x*y", "--at", "x=1,y=2", "--direction", "w[0]=1"],
     "error: --direction w[0]: the function has no input 'w[0]'\n"),
    (["grad", "LOSSES", "--at", "x=[0,1,2,3]", "--direction", "x=[1,2]"],
     "error: --direction x: x has 4 entries; the list given has 2\n"),
    (["grad", "LOSSES", "--at", "x=[0,1,2,3]", "--direction", "x=1"],
     "error: --direction x: x is a list of 4: give x=[…] or its entries x[0]=…\n"),
    (["grad", "x*y", "--at", "x=1,y=2", "--direction", "x=[1]"],
     "error: --direction x: give one number per input, not a list\n"),
    (["grad", "x*y", "--at", "x=1,y=2", "--cotangent", "f[0]=1"],
     "error: --cotangent f[0]: the function has no output 'f[0]' (its outputs: f)\n"),
    (["jacobian", "x*y, y", "--at", "x=1,y=2", "--cotangent", "f[0]=1,f[0]=2"],
     "error: --cotangent f[0]=2: f[0] is given more than once\n"),
    (["grad", "x*y", "--at", "x=1,y=2", "--direction", "x=1", "--cotangent", "f=1"],
     "error: a direction (J·u, forward mode) and a cotangent (uᵀJ, reverse mode) do not go together: "
     "give one of them\n"),
    (["grad", "x*y", "--at", "x=1,y=2", "--cotangent", "f=1", "--mode", "forward"],
     "error: --mode forward: a cotangent seeds the reverse sweep; forward mode takes a direction\n"),
    (["jacobian", "x*y", "--at", "x=1,y=2", "--direction", "x=1", "--wrt", "x"],
     "error: --wrt x: a direction already gives every input's tangent (those left out are 0)\n"),
    (["grad", "x*y", "--at", "x=1,y=2", "--cotangent", "f=1", "--check", "fd"],
     "error: --direction and --cotangent give one product; --check and --checkpoint go with the full gradient\n"),
    (["grad", "LOSSES", "--at", "x=[0,1,2,3]", "--wrt", "x,x[1]"],
     "error: --wrt x,x[1]: an input is named more than once\n"),
    (["grad", "x*y", "--at", "x=1,y=2", "--direction", "x(0)=1"],
     "error: --direction x(0)=1: expected name=value, e.g. --direction x=1.5\n"),
    # an empty seed was a zero direction or cotangent, printed as "direction u: " (as --wrt "" is an error)
    (["grad", "x*y", "--at", "x=1,y=2", "--direction", ""], "error: name at least one input with --direction\n"),
    (["trace", "x*y", "--at", "x=1,y=2", "--cotangent", " "], "error: name at least one output with --cotangent\n"),
]


@pytest.mark.parametrize(("args", "stderr"), BAD_SEEDS, ids=[" ".join(a) for a, _ in BAD_SEEDS])
def test_bad_seeds_exit_2_with_one_line(runner, losses, args, stderr):
    result = run(runner, [losses if a == "LOSSES" else a for a in args])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", stderr)


# f = x²y + sin y + zx at (1, 2, 3): ∂f/∂z = x = 1, ∂f/∂x = 2xy + z = 7; H_zz = 0, H_zx = 1, H_xx = 2y = 4.
def test_hessian_wrt_gives_the_block_of_the_inputs_named(runner):
    document = ok_json(runner, ["hessian", "x^2*y + sin(y) + z*x", "--at", "x=1,y=2,z=3", "--wrt", "z,x"])
    assert document["inputs"] == ["z", "x"]
    assert document["gradient"] == {"z": 1.0, "x": 7.0}
    assert document["hessian"] == [[0.0, 1.0], [1.0, 4.0]]


def test_hessian_wrt_one_input(runner):
    # w0·w1 + w1² at (1, 2): ∂/∂w1 = w0 + 2w1 = 5, ∂²/∂w1² = 2
    document = ok_json(runner, ["hessian", "w0*w1 + w1^2", "--at", "w0=1,w1=2", "--wrt", "w1"])
    assert document["hessian"] == [[2.0]] and document["gradient"] == {"w1": 5.0}


def test_compare_wrt_and_the_formula(runner):
    # ∂/∂y (x·exp(y) − sin x) = x·exp(y), by hand
    document = ok_json(runner, ["compare", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "--wrt", "y"])
    assert {row["input"] for row in document["methods"]} == {"y"}
    assert list(document["reference"]) == ["y"]
    assert document["formula"] == {"y": "x*exp(y)"}
    assert document["formula_simplified"] is True
    table = run(runner, ["compare", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0"]).stdout
    assert "SymPy's ∂f/∂x = exp(y) - cos(x)  (simplified)" in table
    assert "SymPy's ∂f/∂y = x*exp(y)  (simplified)" in table


def test_compare_formula_in_latex(runner):
    # d/dx sin x cos x eˣ = eˣ (cos 2x + sin(2x)/2), as SymPy writes it simplified
    latex = run(runner, ["compare", "sin(x)*cos(x)*exp(x)", "--at", "x=1", "--format", "latex"]).stdout
    assert ("$x$ & $\\left(\\frac{\\sin{\\left(2 x \\right)}}{2} + \\cos{\\left(2 x \\right)}\\right) e^{x}$ \\\\"
            in latex)


def test_graph_wrt_a_list_seeds_every_entry(runner, losses):
    # the tangent of Σx along (1, 1, 1, 1) is 4; of 2·x·x it is 4·(0 + 1 + 2 + 3) = 24
    document = ok_json(runner, ["graph", losses, "--at", "x=[0,1,2,3]", "--wrt", "x"])
    tangents = {node["name"]: node["tangent"] for node in document["nodes"] if "tangent" in node}
    assert sorted(tangents[name] for name in ("v1", "v2", "v3", "v4")) == [1.0] * 4
    tangent_of = {node["name"]: node["tangent"] for node in document["nodes"]}
    assert [tangent_of[output["node"]] for output in document["outputs"]] == [24.0, 4.0]


def test_codegen_wrt_returns_the_partials_named(runner):
    code = run(runner, ["codegen", "x*exp(y)-sin(x)", "--wrt", "y"]).stdout
    namespace: dict = {}
    exec(compile(code, "generated", "exec"), namespace)  # noqa: S102 - adcli's own generated code
    value, gradient = namespace["f_grad"](math.pi / 3, 0.0)
    assert gradient == (pytest.approx(math.pi / 3, rel=1e-15),)  # ∂f/∂y = x·exp(y)
    forward = run(runner, ["codegen", "x*exp(y)-sin(x)", "--wrt", "y,x", "--mode", "forward"]).stdout
    exec(compile(forward, "generated", "exec"), namespace)  # noqa: S102
    _, gradient = namespace["f_grad"](math.pi / 3, 0.0)
    assert gradient == (pytest.approx(math.pi / 3, rel=1e-15), pytest.approx(0.5, rel=1e-15))
    document = ok_json(runner, ["codegen", "x*exp(y)-sin(x)", "--wrt", "y"])
    assert document["gradient"] == ["y"]
