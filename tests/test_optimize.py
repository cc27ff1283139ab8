"""Graph optimisation (adcli.optimize, ``--optimize``) and the guards of generated code.

References: Python's own float arithmetic (math.sin, math.atan2 on signed zeros), hand counts of
the operations each pass removes, micrograd's published numbers for its README example (24.7041,
138.8338, 645.5773), and the unoptimised sweeps (bit for bit where the optimisation claims it).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adcli
from adcli.analysis import load
from adcli.cli import app
from adcli.codegen import generate
from adcli.errors import AdcliError, EvaluationError
from adcli.optimize import optimize
from adcli.primitives import BY_NAME, operations
from tests.test_fuzz import SMOOTH, _text

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MICROGRAD = str(SAMPLES / "micrograd_branch.py")


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def run(runner, args):
    return runner.invoke(app, args, catch_exceptions=False)


def execute(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<adcli codegen>", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------- the passes
def test_the_issue_expression_folds_a_constant_and_shares_sin():
    optimized = optimize(adcli.parse("x*(2+3)+sin(x)*sin(x)"))
    assert optimized.text().splitlines() == ["v1 = x", "v2 = v1 * 5", "v3 = sin(v1)", "v4 = v3 * v3",
                                             "v5 = v2 + v4", "return v5"]
    assert str(optimized.optimization) == "6 operations → 4: folded 1, shared 1"
    assert optimized.optimization.as_dict() == {"before": 6, "after": 4, "folded": 1, "shared": 1, "dead": 0,
                                                "identities": 0}


def test_folding_uses_the_float_function_bit_for_bit():
    optimized = optimize(adcli.parse("x + sin(1)*exp(0.5)"))
    assert list(optimized.literal.values()) == [math.sin(1.0) * math.exp(0.5)]
    assert bits(list(optimized.literal.values())[0]) == bits(math.sin(1.0) * math.exp(0.5))
    assert str(optimized.optimization) == "4 operations → 1: folded 3"


@pytest.mark.parametrize(("source", "message"), [("x + log(-1)", "log is undefined at -1"),
                                                 ("x + exp(1000)", "overflow")])
def test_an_undefined_constant_operation_is_left_for_evaluation_to_name(source, message):
    optimized = optimize(adcli.parse(source))
    assert source.split(" + ")[1].replace("(-1)", "(") in optimized.text()  # log( or exp(1000), still there
    with pytest.raises(EvaluationError, match=message):
        adcli.gradient(optimized, {"x": 1.0})


def test_exact_identities_go_and_inexact_ones_stay():
    optimized = optimize(adcli.parse("x*1 + 1*y + x/1 + (y - 0) + (x + -0.0) + (x + 0) + y*0 + (x - x)"))
    text = optimized.text()
    assert "* 1" not in text and "/ 1" not in text and "- 0" not in text and "+ -0" not in text
    for kept in ("v1 + 0", "v2 * 0", "v1 - v1"):  # -0 + 0 is +0, inf * 0 and inf - inf are nan
        assert kept in text, text
    assert optimized.optimization.identities == 5


@pytest.mark.parametrize(("source", "expected"), [("atan2(x - 0, -1)", -math.pi), ("atan2(x + 0, -1)", math.pi)])
def test_the_sign_of_a_zero_is_kept(source, expected):
    """x - 0 is x for x = -0.0 too (IEEE), so it is removed; x + 0 turns -0.0 into +0.0, so it stays."""
    assert math.atan2(-0.0 - 0.0, -1.0) == -math.pi and math.atan2(-0.0 + 0.0, -1.0) == math.pi
    optimized = optimize(adcli.parse(source))
    assert adcli.gradient(optimized, {"x": -0.0}).evaluated.output_values[0] == expected


def test_commutative_operations_are_shared_in_either_order_and_others_are_not():
    optimized = optimize(adcli.parse("x*y + y*x + (x - y) + (y - x) + x/y + y/x"))
    assert optimized.optimization.shared == 1
    assert optimized.text().count(" * ") == 1 and optimized.text().count(" - ") == 2


def test_dead_nodes_go_and_the_values_compared_stay(tmp_path):
    path = tmp_path / "dead.py"
    path.write_text("import math\n\n\ndef f(x):\n    unused = math.exp(x)\n    if math.sin(x) > 0:\n"
                    "        return x * x\n    return -x\n")
    trace, _ = load(str(path), {"x": 1.0}, sources=True)
    optimized = optimize(trace)
    assert str(optimized.optimization) == "3 operations → 2: removed 1 dead"
    assert optimized.text().splitlines() == ["v1 = x", "v2 = sin(v1)", "v3 = v1 * v1", "return v3"]
    assert optimized.controls[0].node == 1  # the comparison's side, now v2 (node 1)
    assert [optimized.source_of(i) for i in range(3)] == [trace.source_of(i) for i in (0, 2, 3)] == ["4: x", "6", "7"]


def test_unknown_passes_are_an_error():
    with pytest.raises(ValueError, match="unknown optimisation passes: inline"):
        optimize(adcli.parse("x"), passes=["fold", "inline"])


# ---------------------------------------------------------------- same results on random expressions
def _gradients(trace, x, y):
    point = dict(zip(trace.input_names, (x, y)))
    result = adcli.gradient(trace, point)
    return result.evaluated.output_values, result.gradients


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_text(SMOOTH), st.floats(0.2, 2.0), st.floats(0.2, 2.0))
def test_optimised_traces_give_the_same_values_and_gradients(source, x, y):
    """Values bit for bit; gradients bit for bit with folding and dead nodes alone, and equal to
    rounding once sharing and identities regroup the sums of adjoints."""
    try:
        trace = adcli.parse(source)
        values, gradients = _gradients(trace, x, y)
    except AdcliError:
        assume(False)
        return
    exact = optimize(trace, passes=("fold", "dead"))
    every = optimize(trace)
    for optimized in (exact, every):
        assert optimized.input_names == trace.input_names and optimized.output_names == trace.output_names
        assert optimized.operation_count <= trace.operation_count
        new_values, new_gradients = _gradients(optimized, x, y)
        assert list(map(bits, new_values)) == list(map(bits, values))
    assert [{k: bits(v) for k, v in g.items()} for g in _gradients(exact, x, y)[1]] == \
           [{k: bits(v) for k, v in g.items()} for g in gradients]
    for old, new in zip(gradients, _gradients(every, x, y)[1]):
        for name in old:
            assert new[name] == pytest.approx(old[name], rel=1e-9, abs=1e-9), (source, name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_text(SMOOTH), st.floats(0.2, 2.0), st.floats(0.2, 2.0))
def test_optimised_code_gives_the_gradient_of_the_sweeps(source, x, y):
    try:
        trace = adcli.parse(source)
        assume(len(trace.outputs) == 1 and 0 < len(trace.inputs) <= 2)
        _, gradients = _gradients(trace, x, y)
        values, _ = _gradients(trace, x, y)
    except AdcliError:
        assume(False)
        return
    point = [(x, y)[k] for k in range(len(trace.input_names))]
    for mode in ("reverse", "forward"):
        value, gradient = execute(generate(optimize(trace), mode))["f_grad"](*point)
        assert bits(value) == bits(values[0])
        assert list(gradient) == pytest.approx([gradients[0][n] for n in trace.input_names], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("at", [(-4.0, 2.0), (-1.0, 3.0), (0.5, 0.25)])
def test_a_function_file_optimised_keeps_its_gradient_and_source_map(at):
    a, b = at
    trace, _ = load(MICROGRAD, {"a": a, "b": b}, sources=True)
    optimized = optimize(trace)
    assert str(optimized.optimization).startswith("24 operations → 22: shared 2")  # e**2 twice, a+b and b+a
    values, gradients = _gradients(trace, a, b)
    new_values, new_gradients = _gradients(optimized, a, b)
    assert bits(new_values[0]) == bits(values[0])
    assert new_gradients[0] == pytest.approx(gradients[0], rel=1e-12)
    assert optimized.notes == trace.notes
    named = {optimized.variables[i] for i in optimized.variables}
    assert {"c", "d", "e", "g"} <= named


# ---------------------------------------------------------------- the command line
def test_cli_codegen_optimize_says_what_it_removed(runner):
    result = run(runner, ["codegen", "x*(2+3)+sin(x)*sin(x)", "--optimize"])
    assert result.exit_code == 0
    assert result.stderr == "note: optimised: 6 operations → 4: folded 1, shared 1\n"
    assert "# Optimised: 6 operations → 4: folded 1, shared 1" in result.stdout
    assert result.stdout.count("math.sin(") == 1 and "2.0 + 3.0" not in result.stdout
    document = json.loads(run(runner, ["codegen", "x*(2+3)+sin(x)*sin(x)", "--optimize", "--json"]).stdout)
    assert document["optimized"] == {"before": 6, "after": 4, "folded": 1, "shared": 1, "dead": 0, "identities": 0}
    assert "optimized" not in json.loads(run(runner, ["codegen", "x*(2+3)", "--json"]).stdout)


def test_cli_trace_optimize_gives_the_same_gradient(runner):
    args = ["trace", MICROGRAD, "--at", "a=-4,b=2", "--json"]
    plain = json.loads(run(runner, args).stdout)
    optimized = json.loads(run(runner, [*args, "--optimize"]).stdout)
    assert optimized["optimized"] == {"before": 24, "after": 22, "folded": 0, "shared": 2, "dead": 0,
                                      "identities": 0}
    assert len(optimized["trace"]) == len(plain["trace"]) - 2
    assert optimized["value"] == plain["value"] == pytest.approx(24.70408163265306)
    inputs = {row["text"]: row["adjoint"] for row in optimized["trace"] if row["op"] == "input"}
    assert inputs == {row["text"]: row["adjoint"] for row in plain["trace"] if row["op"] == "input"}
    assert (f"{inputs['a']:.4f}", f"{inputs['b']:.4f}") == ("138.8338", "645.5773")  # micrograd's README
    assert any(row.get("var") == "d" for row in optimized["trace"])


def test_codegen_gives_no_adjoint_to_nodes_of_other_inputs(runner):
    code = run(runner, ["codegen", "sin(x*y) + exp(y)", "--wrt", "x"]).stdout
    assert "v4_bar" in code and "v2_bar" not in code and "v5_bar" not in code  # y, exp(y)
    assert execute(code)["f_grad"](0.5, 2.0)[1] == (2.0 * math.cos(1.0),)


# ---------------------------------------------------------------- guards
MICROGRAD_RETRACE = ("this code was generated at the path where line 5, `return x if x > 0 else 0.0`, was false; "
                     "at a=-1.0, b=3.0 the program takes another path: trace it again")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("optimized", [False, True])
def test_micrograd_code_is_right_on_its_path_and_raises_off_it(mode, optimized):
    trace, _ = load(MICROGRAD, {"a": -4.0, "b": 2.0}, sources=True)
    code = generate(optimize(trace) if optimized else trace, mode)
    f_grad = execute(code)["f_grad"]
    value, (da, db) = f_grad(-4.0, 2.0)
    assert (f"{value:.4f}", f"{da:.4f}", f"{db:.4f}") == ("24.7041", "138.8338", "645.5773")
    ours = adcli.gradient(trace, {"a": -3.0, "b": 2.5})  # the same path: b + a < 0 < b - a
    assert f_grad(-3.0, 2.5)[0] == ours.evaluated.output_values[0]
    assert f_grad(-3.0, 2.5)[1] == pytest.approx((ours.gradients[0]["a"], ours.gradients[0]["b"]), rel=1e-12)
    with pytest.raises(ValueError) as raised:
        f_grad(-1.0, 3.0)  # the program's value there is 41472.00012056327; this path's, 39200.00012755102
    assert type(raised.value).__name__ == "Retrace" and str(raised.value) == MICROGRAD_RETRACE


def test_a_loop_count_is_guarded(tmp_path):
    path = tmp_path / "count.py"
    path.write_text("import math\n\n\ndef f(x, y):\n    s = y\n    for _ in range(math.floor(x)):\n"
                    "        s = s * y\n    return s\n")
    trace, _ = load(str(path), {"x": 2.5, "y": 3.0}, sources=True)
    f_grad = execute(generate(trace))["f_grad"]
    assert f_grad(2.9, 2.0) == (8.0, (0.0, 12.0))  # y^3: d/dy = 3 y^2
    with pytest.raises(ValueError, match=r"^this code was generated at the path where line 6, "
                                         r"`for _ in range\(math.floor\(x\)\)`, counted 2; at x=3.2, y=2.0 the "
                                         r"program takes another path: trace it again$"):
        f_grad(3.2, 2.0)


def test_a_while_loop_is_guarded_at_every_test():
    trace, _ = load(str(SAMPLES / "while_count.py"), {"x": 2.5, "y": 2.0}, sources=True)
    f_grad = execute(generate(trace))["f_grad"]
    assert f_grad(2.1, 2.0)[0] == 16.0
    for x, outcome in ((3.5, "false"), (1.5, "true")):
        with pytest.raises(ValueError, match=f"line 7, `while n < x`, was {outcome}; at x={x}, y=2.0"):
            f_grad(x, 2.0)


def test_the_first_comparison_the_program_takes_otherwise_is_named(tmp_path):
    """Recorded at (3, 1): e^3 - 1 > 2 is true and the loop runs 3 times. At (1, 2) the program first
    goes another way at line 7 (e - 2 < 2), though the loop's count (on x alone) is known earlier."""
    path = tmp_path / "nested.py"
    path.write_text("import math\n\n\ndef f(x, y):\n    n = 0.0\n    z = x * y\n    if math.exp(x) - y > 2:\n"
                    "        z = z + 1\n    while n < x:\n        n = n + 1\n        z = z * 1.5\n    return z\n")
    trace, _ = load(str(path), {"x": 3.0, "y": 1.0}, sources=True)
    f_grad = execute(generate(trace))["f_grad"]
    assert f_grad(3.0, 1.0) == (13.5, (3.375, 10.125))  # (3·1 + 1)·1.5³; d/dx = y·1.5³, d/dy = x·1.5³
    with pytest.raises(ValueError, match=r"line 7, `if math.exp\(x\) - y > 2`, was true; at x=1.0, y=2.0"):
        f_grad(1.0, 2.0)


def test_retrace_is_a_value_error_of_the_library():
    assert issubclass(adcli.Retrace, ValueError) and issubclass(adcli.Retrace, adcli.EvaluationError)


# ---------------------------------------------------------------- the registry's fields
SPECIAL = [0.0, -0.0, 1.5, -2.5, 1e-310, -1e308, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("primitive", [p for p in operations() if p.neutral], ids=lambda p: p.name)
def test_neutral_constants_return_the_other_argument_bit_for_bit(primitive):
    from adcli import scalar

    assert len(primitive.neutral) == primitive.arity
    for position, unit in enumerate(primitive.neutral):
        if unit is None:
            continue
        for x in SPECIAL:
            args = (unit, x) if position == 0 else (x, unit)
            out = primitive.evaluate(scalar, *args)
            assert bits(out) == bits(x), (primitive.name, args)
            assert primitive.partials(scalar, *args, out)[1 - position] == 1.0


@pytest.mark.parametrize("primitive", [p for p in operations() if p.commutative], ids=lambda p: p.name)
def test_commutative_primitives_give_the_same_bits_swapped(primitive):
    from adcli import scalar

    assert primitive.arity == 2
    for x in SPECIAL:
        for y in SPECIAL:
            out = primitive.evaluate(scalar, x, y)
            assert bits(out) == bits(primitive.evaluate(scalar, y, x)), (x, y)
            p, q = primitive.partials(scalar, x, y, out), primitive.partials(scalar, y, x, out)
            assert list(map(bits, p)) == list(map(bits, q[::-1]))


def test_the_identities_and_commutative_primitives_are_the_four_ieee_makes_exact():
    assert {p.name for p in operations() if p.commutative} == {"add", "mul"}
    assert {p.name: p.neutral for p in operations() if p.neutral} == {
        "add": (-0.0, -0.0), "sub": (None, 0.0), "mul": (1.0, 1.0), "div": (None, 1.0)}
    assert math.copysign(1.0, BY_NAME["add"].neutral[0]) == -1.0


# ---------------------------------------------------------------- adcli.compile
def _step(x):
    if x > 0:
        return x * x
    return -x


def test_compile_records_once_per_path_and_counts_re_recordings():
    step = adcli.compile(_step)
    assert step(3.0) == (9.0, 6.0)  # x^2, 2x
    assert step(2.0) == (4.0, 4.0)
    assert step.retraces == 0 and len(step.traces) == 1
    assert step(-1.0) == (1.0, -1.0)  # -x, -1: another path, recorded there
    assert step.retraces == 1
    assert step(0.5) == (0.25, 1.0) and step(-2.0) == (2.0, -1.0)  # both paths known: no new recording
    assert step.retraces == 1
    assert repr(step) == "<adcli.compile(_step): 2 paths recorded, 1 re-recording>"


def test_compile_optimises_and_agrees_with_grad():
    np = pytest.importorskip("numpy")

    def f(a, b):
        return a * np.sin(b) + a * np.sin(b)

    compiled = adcli.compile(f)
    value, (da, db) = compiled(1.5, 2.0)
    assert str(compiled.traces[0].optimization) == "5 operations → 3: shared 2"
    assert value == 2 * 1.5 * math.sin(2.0)  # a*s + a*s = 2(a*s) exactly
    assert (da, db) == (2 * math.sin(2.0), pytest.approx(2 * 1.5 * math.cos(2.0), rel=1e-15))
    value, gradient = compiled(0.5, -1.0)
    expected_value, expected_gradient = adcli.value_and_grad(f)(0.5, -1.0)
    assert value == expected_value and gradient == pytest.approx(expected_gradient, rel=1e-15)
    assert adcli.compile(f, wrt="b")(1.5, 2.0)[1] == pytest.approx(3.0 * math.cos(2.0), rel=1e-15)


def test_compile_on_arrays_equals_the_one_point_results():
    np = pytest.importorskip("numpy")
    step = adcli.compile(_step)
    xs = np.array([-2.0, -1.0, 0.5, 3.0, 0.0, 1e-3])
    values, gradient = step(xs)
    assert values.tolist() == [2.0, 1.0, 0.25, 9.0, 0.0, 1e-6]
    assert gradient.tolist() == [-1.0, -1.0, 1.0, 6.0, -1.0, 2e-3]
    one = adcli.compile(_step)
    assert [one(float(x)) for x in xs] == list(zip(values.tolist(), gradient.tolist()))
    assert step.retraces == 1  # the second path, met at x = 0.5

    def g(x, y):
        return x * y + np.exp(y)

    grid_values, (dx, dy) = adcli.compile(g)(np.array([1.0, 2.0]), np.array([[0.0], [1.0]]))  # broadcast: 2 x 2
    assert grid_values.tolist() == [[1.0, 1.0], [1.0 + math.e, 2.0 + math.e]]
    assert dx.tolist() == [[0.0, 0.0], [1.0, 1.0]] and dy.tolist() == [[2.0, 3.0], [1.0 + math.e, 2.0 + math.e]]


def test_compile_errors_are_the_library_s():
    with pytest.raises(adcli.InputError, match="^compile needs a function with one output; it has 2"):
        adcli.compile(lambda x: [x, x])(1.0)
    with pytest.raises(EvaluationError, match="log is undefined"):
        adcli.compile(lambda x: x.log())(-1.0)


def _xyx(x, y):
    return x * y * x if x * y > 1 else x - y


def test_compile_and_value_and_grad_take_numpy_scalars_and_0_d_arrays():
    """A NumPy scalar (what iterating an array gives) or a 0-d array is one number, as a float is:
    x*y*x at (2, 3) is 12, d/dx = 2xy = 12, d/dy = x^2 = 4 (it raised TypeError: not iterable)."""
    np = pytest.importorskip("numpy")
    for x in (np.int64(2), np.float32(2.0), np.float64(2.0), np.array(2.0)):
        assert adcli.compile(_xyx)(x, 3.0) == (12.0, (12.0, 4.0))
        assert adcli.value_and_grad(_xyx)(x, 3.0) == (12.0, (12.0, 4.0))


def test_compile_on_empty_arrays_gives_empty_results():
    np = pytest.importorskip("numpy")
    compiled = adcli.compile(_xyx)
    values, (dx, dy) = compiled(np.array([]), 3.0)  # it raised IndexError
    assert values.shape == dx.shape == dy.shape == (0,)
    assert compiled.traces == [] and compiled.retraces == 0
