"""``codegen --target numpy``: code vectorised over arrays of points that computes what batch mode
computes on NumPy, bit for bit.

The generated code and batch mode's NumPy path (:func:`adcli.batch.evaluate_batch` without the C
extension) use the same NumPy functions for every primitive (vector_math's, and math.erf / math.erfc
element by element for erf and erfc), so every comparison with that batch here is bit for bit, NaN
at the same points; the one-point results (``adcli.gradient``, :mod:`math` functions), which the C
batch follows, are held to a few ulps, since NumPy's sin, exp … may round differently from the C
library's.
"""

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import adcli
from adcli import accelerator, batch
from adcli.analysis import load
from adcli.cli import app
from adcli.codegen import generate
from adcli.errors import AdcliError
from adcli.optimize import optimize
from adcli.primitives import operations
from tests.test_fuzz import PIECES, SMOOTH, _text
from tests.test_optimize import MICROGRAD, SAMPLES

RNG = np.random.default_rng(18)


def numpy_code(trace, **options) -> dict:
    namespace: dict = {}
    exec(generate(trace, target="numpy", **options), namespace)  # noqa: S102 - the code under test
    return namespace


@contextmanager
def numpy_batch() -> Iterator[None]:
    """Batch mode on NumPy, the functions the generated code calls (the C batch calls the C library's)."""
    native = accelerator.NATIVE
    accelerator.use(False)
    try:
        yield
    finally:
        accelerator.use(native)


def evaluate_batch(trace, columns):
    with numpy_batch():
        return batch.evaluate_batch(trace, columns)


def gradient_at_points(source, assigned, points_file):
    with numpy_batch():
        return batch.gradient_at_points(source, assigned, points_file)


def assert_same_bits(got, expected) -> None:
    """Equal as IEEE doubles: NaN at the same points, the same bits (signed zeros too) elsewhere."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape
    nan = np.isnan(expected)
    assert (np.isnan(got) == nan).all(), (got, expected)
    assert (got[~nan].view(np.int64) == expected[~nan].view(np.int64)).all(), (got[~nan], expected[~nan])


def assert_like_batch(trace, columns: dict) -> None:
    """Bit for bit, but at the points where a local partial overflows (1/x at 1e-300): there the batch
    says so and gives NaN, as one point at a time refuses, while the generated code does not check."""
    value, gradient = numpy_code(trace)["f_grad"](*columns.values())
    batch = evaluate_batch(trace, columns)
    assert_same_bits(value, batch.values[0])
    assert len(gradient) == len(trace.input_names)
    overflow = np.zeros(np.shape(batch.values[0]), dtype=bool)
    for name in trace.input_names:
        overflow |= np.isnan(batch.gradients[0][name]) & ~np.isnan(batch.values[0])
    if overflow.any():
        assert any("its derivative overflows" in warning for warning in batch.warnings), batch.warnings
    for got, name in zip(gradient, trace.input_names):
        assert_same_bits(np.asarray(got)[~overflow], batch.gradients[0][name][~overflow])


def ulps(a: float, b: float) -> float:
    """The distance of two floats in units in the last place of the larger (0 for equal ones)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))


# Kinks, ties, domain edges, overflow and ordinary points for every primitive.
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 1e-310, -1e-310, 0.3, 19.5, 30.0, 710.0, -710.0, 1e155,
           -3.5, 1e300]


def _points(arity: int) -> list[np.ndarray]:
    ordinary = np.concatenate([RNG.normal(0, 3, 200), RNG.uniform(-1, 1, 100)])
    if arity == 1:
        return [np.concatenate([np.array(SPECIAL), ordinary])]
    grid = np.array(np.meshgrid(SPECIAL, SPECIAL)).reshape(2, -1)
    return [np.concatenate([grid[0], ordinary, ordinary[:50]]),
            np.concatenate([grid[1], RNG.normal(0, 3, 300), ordinary[:50]])]  # the last 50: ties x == y


def _call(primitive) -> str:
    if primitive.symbol and primitive.arity == 2:
        return f"x {primitive.symbol} y"
    if primitive.arity == 1:
        return f"{primitive.symbol}x" if primitive.symbol else f"{primitive.name}(x)"
    return f"{primitive.name}(x, y)"


@pytest.mark.parametrize("primitive", operations(), ids=lambda p: p.name)
def test_every_primitive_equals_the_batch_bit_for_bit(primitive):
    trace = adcli.parse(_call(primitive))
    assert_like_batch(trace, dict(zip(trace.input_names, _points(primitive.arity))))


@pytest.mark.parametrize("primitive", operations(), ids=lambda p: p.name)
def test_every_primitive_equals_one_point_gradients_within_a_few_ulps(primitive):
    trace = adcli.parse(_call(primitive))
    x, y = RNG.uniform(0.05, 0.95, 40), RNG.uniform(0.05, 0.95, 40)
    if primitive.domain is not None and not primitive.domain(*(0.5, 0.5)[:primitive.arity]):
        x = x + 1.0  # acosh: into its domain [1, inf)
    columns = dict(zip(trace.input_names, (x, y)))
    value, gradient = numpy_code(trace)["f_grad"](*columns.values())
    for k in range(40):
        point = {name: float(column[k]) for name, column in columns.items()}
        one = adcli.gradient(trace, point)
        assert ulps(value[k], one.evaluated.output_values[0]) <= 2, (point, value[k])
        for got, name in zip(gradient, trace.input_names):
            assert ulps(got[k], one.gradients[0][name]) <= 4, (point, name, got[k], one.gradients[0][name])


@pytest.mark.parametrize("source", ["pow(x, 0.5)", "x / 0", "atan2(0, x)", "max(x, 0)", "2^x", "x^3", "x*0",
                                    "x - x", "sqrt(x)*0", "log(x)*y", "exp(x)*exp(y)", "sin(x)*cos(x)+cos(x)",
                                    "tanh(x)*x^2", "floor(x)*x + sign(y)", "erf(x)*erfc(y)", "hypot(x, y)/x"])
def test_constants_and_shared_subexpressions_equal_the_batch(source):
    trace = adcli.parse(source)
    assert_like_batch(trace, dict(zip(trace.input_names, _points(2)[:len(trace.input_names)])))


@pytest.mark.parametrize(("source", "at", "value", "gradient"), [
    ("abs(x)", 0.0, 0.0, (0.0,)),  # abs'(0) = 0
    ("relu(x)", 0.0, 0.0, (0.0,)),  # relu'(0) = 0
    ("sqrt(x)", 0.0, 0.0, (math.inf,)),  # sqrt'(0) = inf
    ("x^0.5", 0.0, 0.0, (math.inf,)),  # d(x^y)/dx = inf at x = 0, 0 < y < 1
    ("asin(x)", 1.0, math.pi / 2, (math.inf,)),
    ("acosh(x)", 1.0, 0.0, (math.inf,)),
    ("floor(x)", 2.0, 2.0, (0.0,)),
    ("sign(x)", 0.0, 0.0, (0.0,)),
])
def test_kinks_follow_adcli_conventions(source, at, value, gradient):
    got_value, got_gradient = numpy_code(adcli.parse(source))["f_grad"](np.array([at]))
    assert got_value.tolist() == [value] and [g.tolist() for g in got_gradient] == [[g] for g in gradient]


@pytest.mark.parametrize(("source", "at", "gradient"), [
    ("max(x, y)", (2.0, 2.0), (0.5, 0.5)),  # a tie splits the gradient
    ("min(x, y)", (-1.0, -1.0), (0.5, 0.5)),
    ("atan2(x, y)", (0.0, 0.0), (0.0, 0.0)),  # no limit at the origin: 0
    ("hypot(x, y)", (0.0, 0.0), (0.0, 0.0)),  # as abs'(0)
    ("x^y", (-2.0, 3.0), (12.0, 0.0)),  # d/dy = 0 where x < 0: x^y has no real values nearby
    ("x^y", (0.0, 2.0), (0.0, 0.0)),
])
def test_two_argument_kinks_follow_adcli_conventions(source, at, gradient):
    _, got = numpy_code(adcli.parse(source))["f_grad"](np.array([at[0]]), np.array([at[1]]))
    assert [g.tolist() for g in got] == [[g] for g in gradient]


def test_undefined_points_are_nan_in_the_value_and_gradient_not_an_exception():
    f_grad = numpy_code(adcli.parse("log(x) + exp(y) + sqrt(x)"))["f_grad"]
    value, (dx, dy) = f_grad(np.array([-1.0, 1.0, 4.0]), np.array([0.0, 1000.0, 0.0]))
    # log(-1) is undefined; exp(1000) overflows: NaN there, as the batch says "undefined or overflows"
    assert np.isnan(value[:2]).all() and np.isnan(dx[:2]).all() and np.isnan(dy[:2]).all()
    assert (value[2], dx[2], dy[2]) == (math.log(4.0) + 1.0 + 2.0, 0.25 + 0.25, 1.0)


def test_scalars_broadcast_against_arrays_and_lists_of_points():
    f_grad = numpy_code(adcli.parse("x*y"))["f_grad"]
    value, (dx, dy) = f_grad([1.0, 2.0, 3.0], 2.0)
    assert value.tolist() == [2.0, 4.0, 6.0] and dx.tolist() == [2.0] * 3 and dy.tolist() == [1.0, 2.0, 3.0]
    value, (dx, dy) = f_grad(3.0, 0.5)
    assert value.shape == () and (float(value), float(dx), float(dy)) == (1.5, 0.5, 3.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_text(PIECES), st.booleans())
def test_random_expressions_equal_the_batch_bit_for_bit(source, optimized):
    try:
        trace = adcli.parse(source)
        assume(len(trace.outputs) == 1 and 1 <= len(trace.inputs) <= 2)
        trace = optimize(trace) if optimized else trace
    except AdcliError:
        assume(False)
    columns = dict(zip(trace.input_names, (RNG.normal(0, 2, 64), RNG.normal(0, 2, 64))))
    for column in columns.values():
        column[:8] = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, -3.0]
    assert_like_batch(trace, columns)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_text(SMOOTH))
def test_random_smooth_expressions_equal_one_point_gradients(source):
    try:
        trace = adcli.parse(source)
        assume(len(trace.outputs) == 1 and 1 <= len(trace.inputs) <= 2)
    except AdcliError:
        assume(False)
    columns = dict(zip(trace.input_names, (RNG.uniform(0.2, 2.0, 16), RNG.uniform(0.2, 2.0, 16))))
    value, gradient = numpy_code(trace)["f_grad"](*columns.values())
    for k in range(16):
        point = {name: float(column[k]) for name, column in columns.items()}
        try:
            one = adcli.gradient(trace, point)
        except AdcliError:
            assert np.isnan(value[k])
            continue
        assert math.isclose(value[k], one.evaluated.output_values[0], rel_tol=1e-12, abs_tol=1e-12)
        for got, name in zip(gradient, trace.input_names):
            assert math.isclose(got[k], one.gradients[0][name], rel_tol=1e-9, abs_tol=1e-9)


# ---------------------------------------------------------------- guards
def test_micrograd_raises_at_points_off_the_recorded_path_and_is_right_on_it():
    trace, _ = load(MICROGRAD, {"a": -4.0, "b": 2.0}, sources=True)
    for traced in (trace, optimize(trace)):
        f_grad = numpy_code(traced)["f_grad"]
        a, b = np.array([-4.0, -3.0, -5.0]), np.array([2.0, 2.5, 1.0])  # b + a < 0 < b - a: the same path
        value, (da, db) = f_grad(a, b)
        assert (f"{value[0]:.4f}", f"{da[0]:.4f}", f"{db[0]:.4f}") == ("24.7041", "138.8338", "645.5773")
        batch = gradient_at_points(MICROGRAD, {"a": a, "b": b}, None)  # evaluated path by path, then merged
        if traced is trace:
            assert_same_bits(value, batch.values[0])
            assert_same_bits(da, batch.gradients[0]["a"]) and assert_same_bits(db, batch.gradients[0]["b"])
        with pytest.raises(ValueError) as raised:
            f_grad(np.array([-4.0, -1.0, -2.0, -1.0]), np.array([2.0, 3.0, 3.0, 3.0]))
        assert type(raised.value).__name__ == "Retrace"
        assert str(raised.value) == (
            "this code was generated at the path where line 5, `return x if x > 0 else 0.0`, was false; at 3 of 4 "
            "points (the first: a=-1.0, b=3.0) the program takes another path: trace it again")


def test_branch_sample_raises_naming_the_line_and_the_points_off_the_path():
    trace, _ = load(str(SAMPLES / "branch.py"), {"x": 1.0}, sources=True)
    f_grad = numpy_code(trace)["f_grad"]
    value, (dx,) = f_grad(np.array([0.5, 2.0, 3.0]))
    assert value.tolist() == [0.25, 4.0, 9.0] and dx.tolist() == [1.0, 4.0, 6.0]
    with pytest.raises(ValueError, match=r"line 5, `if x > 0`, was true; at 2 of 4 points \(the first: x=-1.0\)"):
        f_grad(np.array([0.5, -1.0, 2.0, 0.0]))


def test_a_guard_at_an_undefined_point_gives_nan_not_retrace(tmp_path):
    path = tmp_path / "logbranch.py"
    path.write_text("import math\n\n\ndef f(x):\n    if math.log(x) > 0:\n        return x * x\n    return x\n")
    trace, _ = load(str(path), {"x": 3.0}, sources=True)
    value, (dx,) = numpy_code(trace)["f_grad"](np.array([3.0, -1.0]))
    batch = gradient_at_points(str(path), {"x": np.array([3.0, -1.0])}, None)
    assert_same_bits(value, batch.values[0]) and assert_same_bits(dx, batch.gradients[0]["x"])
    assert value[0] == 9.0 and dx[0] == 6.0 and np.isnan(value[1]) and np.isnan(dx[1])


# ---------------------------------------------------------------- the command
def test_the_command_writes_the_module_and_json_names_the_target(tmp_path):
    runner = CliRunner()
    out = tmp_path / "f_grad.py"
    result = runner.invoke(app, ["codegen", "x*exp(y)-sin(x)", "--target", "numpy", "-o", str(out)])
    assert result.exit_code == 0, result.output
    code = out.read_text()
    assert "import numpy as np" in code and "import math" not in code and " for " not in code.split("def f_grad")[1]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102
    value, (dx, dy) = namespace["f_grad"](np.array([1.0, 2.0]), 0.0)
    assert value.tolist() == [1.0 - math.sin(1.0), 2.0 - math.sin(2.0)]
    assert dx.tolist() == [1.0 - math.cos(1.0), 1.0 - math.cos(2.0)] and dy.tolist() == [1.0, 2.0]
    document = json.loads(runner.invoke(app, ["codegen", "x*y", "--target", "numpy", "--json"]).stdout)
    assert document["target"] == "numpy" and "np.asarray" in document["code"]
    assert json.loads(runner.invoke(app, ["codegen", "x*y", "--json"]).stdout)["target"] == "python"


def test_forward_mode_with_the_numpy_target_is_an_error():
    result = CliRunner().invoke(app, ["codegen", "x*y", "--target", "numpy", "--mode", "forward"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("error: --mode forward: --target numpy writes reverse mode (one sweep for the whole "
                             "gradient); --mode forward is for --target python\n")


def test_optimize_with_the_numpy_target_keeps_the_values():
    plain = adcli.parse("x*(2+3)+sin(x)*sin(x)")
    x = RNG.normal(0, 2, 100)
    code = generate(optimize(plain), target="numpy")
    assert code.count("np.sin(") == 1
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102
    value, (dx,) = namespace["f_grad"](x)
    reference_value, (reference_dx,) = numpy_code(plain)["f_grad"](x)
    assert_same_bits(value, reference_value) and assert_same_bits(dx, reference_dx)


def test_list_parameters_take_one_array_per_entry():
    trace, _ = load(str(SAMPLES / "sigmoid_neuron.py"), {"w": [0.5, -1.0, 0.25], "x": [1.0, 2.0]}, sources=True)
    columns = {name: RNG.normal(0, 1, 20) for name in trace.input_names}
    batch = evaluate_batch(trace, columns)
    parameters: dict[str, list] = {}
    for name, column in columns.items():
        parameters.setdefault(name.split("[")[0], []).append(column)
    value, gradient = numpy_code(trace)["f_grad"](*parameters.values())
    assert_same_bits(value, batch.values[0])
    for got, name in zip(gradient, trace.input_names):
        assert_same_bits(got, batch.gradients[0][name])

