"""Conventions at kinks (issue 13, items 3 and 4): --convention adcli|pytorch|jax|autograd|left|right|mid,
warnings that give the one-sided derivatives and name the frameworks that agree, why a gradient is nan,
and JSON that keeps the sign of an infinity.

The frameworks' values were measured with ``python benchmarks/conventions.py`` (float64, reverse
mode) with PyTorch 2.13.0+cpu, JAX 0.10.2 (jax_enable_x64) and autograd 1.9.1 (relu as
``np.maximum(x, 0)``); they are written out here, not recomputed by adcli. The one-sided derivatives
are derived by hand next to each case.
"""

from __future__ import annotations

import json
import math
import textwrap

import pytest

from adcli import accelerator
from adcli.analysis import gradient
from adcli.function_file import trace_function
from adcli.parser import parse

NAN, INF = math.nan, math.inf
BUILTIN_MAX = "def f(x, y):\n    return max(x, y)\n"
BUILTIN_MIN = "def f(x, y):\n    return min(x, y)\n"

# (source, point, {convention: measured gradient in input order}); a source ending in .py is a file.
MEASURED = [
    ("abs(x)", {"x": 0.0}, {"pytorch": [0.0], "jax": [1.0], "autograd": [0.0]}),
    ("relu(x)", {"x": 0.0}, {"pytorch": [0.0], "jax": [0.0], "autograd": [0.5]}),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, {"pytorch": [0.5, 0.5], "jax": [0.5, 0.5], "autograd": [0.5, 0.5]}),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, {"pytorch": [0.5, 0.5], "jax": [0.5, 0.5], "autograd": [0.5, 0.5]}),
    (BUILTIN_MAX, {"x": 1.0, "y": 1.0}, {"pytorch": [1.0, 0.0], "jax": [1.0, 0.0], "autograd": [1.0, 0.0]}),
    (BUILTIN_MIN, {"x": 1.0, "y": 1.0}, {"pytorch": [1.0, 0.0], "jax": [1.0, 0.0], "autograd": [1.0, 0.0]}),
    ("sqrt(x)", {"x": 0.0}, {"pytorch": [INF], "jax": [INF], "autograd": [INF]}),
    ("sqrt(x^2)", {"x": 0.0}, {"pytorch": [NAN], "jax": [NAN], "autograd": [NAN]}),  # inf·0
    ("x^0", {"x": 0.0}, {"pytorch": [0.0], "jax": [NAN], "autograd": [0.0]}),
    ("x^y", {"x": 0.0, "y": 0.0}, {"pytorch": [0.0, 0.0], "jax": [NAN, 0.0], "autograd": [0.0, 0.0]}),
    ("x^y", {"x": 0.0, "y": 0.5}, {"pytorch": [INF, 0.0], "jax": [INF, 0.0], "autograd": [INF, 0.0]}),
    ("x^y", {"x": 0.0, "y": 2.0}, {"pytorch": [0.0, 0.0], "jax": [0.0, 0.0], "autograd": [0.0, 0.0]}),
    ("x^y", {"x": -2.0, "y": 3.0}, {"pytorch": [12.0, NAN], "jax": [12.0, NAN], "autograd": [12.0, NAN]}),
    ("floor(x)", {"x": 1.0}, {"pytorch": [0.0], "jax": [0.0], "autograd": [0.0]}),
    ("sign(x)", {"x": 0.0}, {"pytorch": [0.0], "jax": [0.0], "autograd": [0.0]}),
    ("asin(x)", {"x": 1.0}, {"pytorch": [INF], "jax": [INF], "autograd": [INF]}),
    ("asin(x)", {"x": -1.0}, {"pytorch": [INF], "jax": [INF], "autograd": [INF]}),
    ("acos(x)", {"x": 1.0}, {"pytorch": [-INF], "jax": [-INF], "autograd": [-INF]}),
    ("acos(x)", {"x": -1.0}, {"pytorch": [-INF], "jax": [-INF], "autograd": [-INF]}),
]


def _trace(source: str, point: dict, tmp_path):
    if source.startswith("def "):
        path = tmp_path / "f.py"
        path.write_text(source, encoding="utf-8")
        return trace_function(str(path), point, None)
    return parse(source), point


def _same(actual: list[float], expected: list[float]) -> bool:
    return len(actual) == len(expected) and all(
        (math.isnan(a) and math.isnan(e)) or a == e for a, e in zip(actual, expected))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("source, point, measured", MEASURED)
def test_each_framework_convention_reproduces_its_measured_gradient(source, point, measured, mode, tmp_path):
    for convention, expected in measured.items():
        trace, at = _trace(source, point, tmp_path)
        result = gradient(trace, at, mode=mode, convention=convention)
        got = [result.gradients[0][name] for name in trace.input_names]
        assert _same(got, expected), (convention, got, expected)


# One-sided derivatives by hand: abs has slopes -1 | +1; relu 0 | 1; max(x, y) at a tie grows with
# either argument only to the right (0 | 1 each), min only to the left (1 | 0 each); sqrt at 0 and
# asin at 1 have one side only (+inf); floor at 1 jumps up by 1: (f(1+h) - f(1))/h = -1/h -> +inf
# from the left, 0 from the right.
SIDES = [
    ("abs(x)", {"x": 0.0}, {"left": [-1.0], "right": [1.0], "mid": [0.0]}),
    ("relu(x)", {"x": 0.0}, {"left": [0.0], "right": [1.0], "mid": [0.5]}),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, {"left": [0.0, 0.0], "right": [1.0, 1.0], "mid": [0.5, 0.5]}),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, {"left": [1.0, 1.0], "right": [0.0, 0.0], "mid": [0.5, 0.5]}),
    (BUILTIN_MAX, {"x": 1.0, "y": 1.0}, {"left": [0.0, 0.0], "right": [1.0, 1.0], "mid": [0.5, 0.5]}),
    ("sqrt(x)", {"x": 0.0}, {"left": [INF], "right": [INF], "mid": [INF]}),
    ("asin(x)", {"x": 1.0}, {"left": [INF], "right": [INF], "mid": [INF]}),
    ("floor(x)", {"x": 1.0}, {"left": [INF], "right": [0.0], "mid": [INF]}),
    ("3*abs(x-1) + x", {"x": 1.0}, {"left": [-2.0], "right": [4.0], "mid": [1.0]}),
]


@pytest.mark.parametrize("source, point, sides", SIDES)
def test_left_right_and_mid_conventions_take_the_one_sided_derivatives(source, point, sides, tmp_path):
    for convention, expected in sides.items():
        trace, at = _trace(source, point, tmp_path)
        result = gradient(trace, at, convention=convention)
        got = [result.gradients[0][name] for name in trace.input_names]
        assert _same(got, expected), (convention, got, expected)


def test_kink_warning_gives_sides_subdifferential_and_who_agrees():
    result = gradient(parse("abs(x)"), {"x": 0.0})
    assert result.evaluated.warnings == [
        "v2 = abs(v1): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; "
        "used 0, as PyTorch and autograd (JAX: 1)"]
    result = gradient(parse("abs(x)"), {"x": 0.0}, convention="jax")
    assert result.evaluated.warnings == [
        "v2 = abs(v1): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; "
        "used 1, as JAX (PyTorch and autograd: 0)"]


def test_builtin_max_tie_warning_names_the_frameworks_first_argument_rule(tmp_path):
    trace, at = _trace(BUILTIN_MAX, {"x": 1.0, "y": 1.0}, tmp_path)
    result = gradient(trace, at)
    assert [w for w in result.evaluated.warnings if "max is not" in w] == [
        "v3 = max(v1, v2): max is not differentiable at 1, 1: ∂/∂v1: left 0, right 1, ∂ = [0, 1]; "
        "∂/∂v2: left 0, right 1, ∂ = [0, 1]; used 0.5, 0.5, unlike every framework measured "
        "(PyTorch, JAX and autograd: 1, 0)"]


def test_nan_is_explained_under_a_framework_convention():
    """y*sqrt(x) at (0, 0): sqrt'(0) = inf meets the adjoint y = 0 (PyTorch gives nan, measured as
    sqrt(x^2) above: the same product)."""
    result = gradient(parse("y*sqrt(x)"), {"x": 0.0, "y": 0.0}, convention="pytorch")
    assert math.isnan(result.gradients[0]["x"]) and result.gradients[0]["y"] == 0.0
    assert result.evaluated.warnings[-1] == (
        "with PyTorch this gradient is nan: v3 = sqrt(v2) has an infinite partial at 0 and its adjoint is 0")


def test_adcli_convention_says_what_the_frameworks_give_at_zero_times_inf():
    result = gradient(parse("sqrt(x^2)"), {"x": 0.0})
    assert result.gradients[0]["x"] == 0.0
    assert result.evaluated.warnings[-1] == (
        "with PyTorch, JAX and autograd this gradient is nan: v2 = v1 ^ 2 has partial 0 (∂/∂v1) and its "
        "adjoint is inf, and 0·inf is nan (the inf: v3 = sqrt(v2) has an infinite partial at 0); "
        "adcli drops every product with a zero factor, so 0·inf adds 0")


def test_jax_nan_partial_is_named():
    result = gradient(parse("x^0"), {"x": 0.0}, convention="jax")
    assert result.evaluated.warnings == ["with JAX this gradient is nan: v2 = v1 ^ 0 has a nan partial (∂/∂v1) at 0, 0"]


@pytest.fixture(params=[True, False], ids=["c", "python"])
def loops(request):
    """Each implementation of the long-trace loops in turn (C when built), restored afterwards."""
    before = accelerator.NATIVE
    accelerator.use(request.param)
    yield
    accelerator.use(before)


def test_long_trace_framework_convention_runs_the_python_sweep(loops, tmp_path):
    """20,000+ nodes: s = sqrt(x*x) + 10000 · (x * 0.5). At x = 0, adcli: 10000 · 0.5 = 5000 (the
    path through sqrt adds 0·inf = 0); every framework: nan (x*x has partial 0, its adjoint is inf)."""
    path = tmp_path / "long.py"
    path.write_text(textwrap.dedent("""\
        import math


        def f(x):
            s = math.sqrt(x * x)
            for _ in range(10000):
                s = s + x * 0.5
            return s
        """), encoding="utf-8")
    trace, at = trace_function(str(path), {"x": 0.0}, None)
    assert len(trace) >= 20_000
    assert gradient(trace, at).gradients[0]["x"] == 5000.0
    assert math.isnan(gradient(trace, at, convention="pytorch").gradients[0]["x"])
    assert math.isnan(gradient(trace, at, convention="jax", mode="forward").gradients[0]["x"])


def _cli(runner, *args):
    return runner.invoke(None, list(args))


def test_cli_convention_and_its_errors(runner):
    result = _cli(runner, "grad", "sqrt(x^2)", "--at", "x=0", "--convention", "autograd", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["gradient"] == {"x": None}  # nan is null
    assert document["warnings"][-1].startswith("with autograd this gradient is nan: v2 = v1 ^ 2 has partial 0")
    result = _cli(runner, "grad", "abs(x)", "--at", "x=0", "--convention", "torch")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: Invalid value for '--convention': 'torch' is not one of 'adcli',")
    result = _cli(runner, "grad", "abs(x)", "--at", "x=-1:1:3", "--convention", "jax")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("error: --wrt, --direction, --cotangent, --check, --mode, --checkpoint, --ste and "
                             "--convention apply to one point; a batch gives the full gradient\n")
    result = _cli(runner, "grad", "abs(x)", "--at", "x=0", "--convention", "mid", "--checkpoint", "all")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("error: --checkpoint reverses the trace: it goes with reverse mode, without --ste "
                             "and --convention\n")


def test_cli_trace_and_jacobian_take_the_convention(runner):
    result = _cli(runner, "trace", "abs(x)", "--at", "x=0", "--convention", "right", "--json")
    assert json.loads(result.stdout)["trace"][0]["adjoint"] == 1.0  # abs' from the right
    result = _cli(runner, "jacobian", "abs(x), relu(x)", "--at", "x=0", "--convention", "left", "--json")
    assert json.loads(result.stdout)["jacobian"] == [[-1.0], [0.0]]


@pytest.mark.parametrize("args, key", [
    (["grad", "acos(x)", "--at", "x=1", "--json"], lambda d: d["gradient"]["x"]),
    (["jacobian", "acos(x), x", "--at", "x=1", "--json"], lambda d: d["jacobian"][0][0]),
    (["trace", "acos(x)", "--at", "x=1", "--json"], lambda d: d["trace"][0]["adjoint"]),
    (["grad", "acos(x)", "--at", "x=-1:1:3", "--json"], lambda d: d["gradient"]["x"][0]),
    (["graph", "acos(x)", "--at", "x=1", "--json"], lambda d: d["nodes"][0]["adjoint"]),
])
def test_json_keeps_the_sign_of_an_infinity_in_every_command(runner, args, key):
    """acos'(1) = -1/sqrt(1 - 1) = -inf and acos'(-1) = -inf: the string "-Infinity", the same everywhere."""
    result = _cli(runner, *args)
    assert result.exit_code == 0, result.stderr
    assert key(json.loads(result.stdout)) == "-Infinity"


def test_builtin_max_with_a_constant_follows_pythons_first_argument(tmp_path):
    """max(x, 0.0) + min(0.0, x) at x = 0 in a function file: Python returns the first argument at a
    tie, x for max and the constant for min, so a framework's gradient is 1 + 0 (the measured builtin
    rule above, (1, 0)); adcli splits each tie: 0.5 + 0.5. A constant argument gets no sides."""
    trace, at = _trace("def f(x):\n    return max(x, 0.0) + min(0.0, x)\n", {"x": 0.0}, tmp_path)
    assert gradient(trace, at).gradients[0]["x"] == 1.0
    result = gradient(trace, at, convention="pytorch")
    assert result.gradients[0]["x"] == 1.0
    assert [w for w in result.evaluated.warnings if "max is not" in w] == [
        "v2 = max(v1, 0): max is not differentiable at 0, 0: ∂/∂v1: left 0, right 1, ∂ = [0, 1]; "
        "used 1, 0, as PyTorch, JAX and autograd"]


def test_trace_explains_a_nan_adjoint(runner):
    result = _cli(runner, "trace", "y*sqrt(x)", "--at", "x=0,y=0", "--convention", "jax", "--json")
    document = json.loads(result.stdout)
    assert document["trace"][1]["adjoint"] is None  # x's adjoint: nan
    assert document["warnings"][-1] == (
        "with JAX this gradient is nan: v3 = sqrt(v2) has an infinite partial at 0 and its adjoint is 0")
