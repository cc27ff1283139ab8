"""The batch loop in C (``adcli._tape.batch``: the whole trace and its reverse sweep on a block of
points at a time) and its NumPy twin (:func:`adcli.batch.sweep_points_numpy`, a node at a time over
all the points): both against the float path one point at a time (``adcli.gradient``, the
reference), and against each other.

What each is held to, per point, value and every partial derivative (ulps: adjacent floats apart):

- C: bit for bit for every primitive computed with the C library's function or arithmetic, as the
  float path does, product for product in the same order; within 4 ulp for log and tanh where it
  uses glibc's vector math library (libmvec documents 4 ulp; measured here: 2), and within 2 ulp
  for hypot and asinh (Python's math.hypot is its own algorithm, not the C library's: the value is
  1 ulp apart at some points, and the partials x / hypot(x, y) then 2).
- NumPy: within 4 ulp (its SIMD functions; measured: 2), bit for bit for arithmetic and the
  piecewise primitives.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import adcli
from adcli import accelerator
from adcli.batch import evaluate_batch
from adcli.primitives import BY_NAME, operations

ACCELERATED = accelerator.NATIVE
if ACCELERATED:
    from adcli import _tape as c_tape

VECTOR_MATH = {"log", "tanh"}  # C: libmvec where available
OWN_HYPOT = {"hypot", "asinh"}  # C: the C library's hypot, Python: its own
EXACT_IN_NUMPY = {"add", "sub", "mul", "div", "neg", "abs", "relu", "min", "max", "floor", "sign", "sqrt"}


@pytest.fixture(params=["c", "numpy"])
def implementation(request):
    """Each test runs on the C loop (when built) and on the NumPy twin."""
    native = request.param == "c"
    if native and not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    accelerator.use(native)
    yield request.param
    accelerator.use(ACCELERATED)


def ulps(a: float, b: float) -> float:
    """How many floats apart a and b are (0 for equal, or both NaN; inf for NaN against a number)."""
    if math.isnan(a) or math.isnan(b):
        return 0 if math.isnan(a) and math.isnan(b) else math.inf
    if a == b:
        return 0
    if math.isinf(a) or math.isinf(b):
        return math.inf
    ia, ib = (int(np.float64(v).view(np.int64)) for v in (a, b))
    ia, ib = (-(2**63) - i if i < 0 else i for i in (ia, ib))
    return abs(ia - ib)


def allowed_ulps(name: str, implementation: str) -> int:
    if implementation == "c":
        return 4 if name in VECTOR_MATH else 2 if name in OWN_HYPOT else 0
    return 0 if name in EXACT_IN_NUMPY else 4


def source_of(name: str) -> str:
    primitive = BY_NAME[name]
    if name == "neg":
        return "-x"
    if primitive.symbol and name != "pow":
        return f"x {primitive.symbol} y"
    return f"{name}(x)" if primitive.arity == 1 else f"{name}(x, y)"


# Kinks, domain edges, overflow, subnormals, ties; then random points across three blocks of 512.
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 0.55, -0.55, 1.1, 1e-300, 5e-324, 3.0, 20.0, -20.0,
           30.0, 800.0, -800.0, 1e-8]


def _points(seed: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    xs = [a for a in SPECIAL for _ in SPECIAL] + [rng.uniform(-4, 4) for _ in range(1_000)]
    xs += [rng.uniform(-40, 40) for _ in range(200)]
    ys = [b for _ in SPECIAL for b in SPECIAL] + [rng.uniform(-4, 4) for _ in range(1_200)]
    return xs, ys


@pytest.mark.parametrize("name", [p.name for p in operations()])
def test_every_primitive_in_a_batch_gives_the_one_point_results(name, implementation):
    """Value and partials of each primitive at 1,600 points (all pairs of special values, random
    points): those of adcli.gradient at each point, to the ulps above; where the float path refuses
    the point (undefined, or a derivative that overflows), the batch has NaN or an infinite partial."""
    trace = adcli.parse(source_of(name))
    xs, ys = _points(16)
    columns = {"x": np.array(xs), "y": np.array(ys)}
    columns = {n: columns[n] for n in trace.input_names}
    batch = evaluate_batch(trace, columns)
    limit, worst = allowed_ulps(name, implementation), 0
    for k in range(len(xs)):
        point = {n: float(columns[n][k]) for n in trace.input_names}
        got = [float(batch.values[0][k])] + [float(batch.gradients[0][n][k]) for n in trace.input_names]
        try:
            result = adcli.gradient(trace, point)
        except adcli.EvaluationError:
            assert math.isnan(got[0]) or not all(map(math.isfinite, got[1:])), point
            continue
        expected = [result.evaluated.output_values[0]] + [result.gradients[0][n] for n in trace.input_names]
        worst = max(worst, *(ulps(a, b) for a, b in zip(got, expected)))
        assert worst <= limit, (point, got, expected)


# Every primitive here is exact in C (the C library's function or arithmetic, in the float path's
# order), through 30 operations, so the batch is the one-point result bit for bit.
EXACT_SOURCE = ("sqrt(x*x + y*y) * atan2(y, x) - sin(x)*cos(x) / (2 + cos(y)) + pow(abs(x) + 1, y) "
                "+ sigmoid(x*y) - erf(y) + softplus(x) * asin(y/5) + max(x, y) * relu(y - 1) - x^3")


def test_a_whole_trace_in_c_is_the_one_point_result_bit_for_bit():
    if not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    trace = adcli.parse(EXACT_SOURCE)
    rng = random.Random(3)
    xs, ys = [rng.uniform(-3, 3) for _ in range(1_500)], [rng.uniform(-3, 3) for _ in range(1_500)]
    batch = evaluate_batch(trace, {"x": np.array(xs), "y": np.array(ys)})
    for k, (x, y) in enumerate(zip(xs, ys)):
        result = adcli.gradient(trace, {"x": x, "y": y})
        assert batch.values[0][k] == result.evaluated.output_values[0]
        assert (batch.gradients[0]["x"][k], batch.gradients[0]["y"][k]) == (result.gradients[0]["x"],
                                                                           result.gradients[0]["y"])


def _results(batch) -> list:
    return [batch.values, batch.gradients, batch.warnings, batch.conventions, batch.kink_changes]


def _same(a, b) -> None:
    """Equal results of two batches; NaN equals NaN."""
    for x, y in zip(a, b):
        if isinstance(x, list) and x and isinstance(x[0], dict):
            for gx, gy in zip(x, y):
                assert gx.keys() == gy.keys()
                for name in gx:
                    np.testing.assert_array_equal(gx[name], gy[name])
        elif isinstance(x, list) and x and isinstance(x[0], str):
            assert x == y
        else:
            np.testing.assert_array_equal(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def _both(trace, columns) -> list:
    """The batch with the C loop and with the NumPy twin."""
    runs = []
    try:
        for native in (True, False):
            accelerator.use(native)
            runs.append(_results(evaluate_batch(trace, columns)))
    finally:
        accelerator.use(ACCELERATED)
    return runs


@pytest.mark.parametrize("source, columns", [
    ("x*x + x", {"x": [-1.5, 0.0, 2.0]}),  # an argument used twice by one operation
    ("pow(x, x) + atan2(x, x) + hypot(x, x)", {"x": [0.5, 1.0, 2.0]}),
    ("x, y, x*y", {"x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0]}),  # outputs that are inputs
    ("2, x + sin(2)", {"x": [1.0, 2.0]}),  # a constant output; an operation on constants only
    ("x*y + exp(y)", {"x": [1.0, 2.0, 3.0], "y": 0.5}),  # an input held constant
    ("sin(x)*cos(x) + cos(x) + sin(x) + sin(x)", {"x": [0.1, 1.0, -2.0]}),  # sin and cos twins, repeated
    ("log(x) + sqrt(x) + abs(x) + max(x, 0) + floor(2*x) + sign(x)*x", {"x": [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]}),
    ("exp(1000*x) + x", {"x": [0.0, 1.0, -1.0]}),  # an overflow: NaN and a warning
])
def test_c_and_numpy_give_the_same_batch_on_any_trace(source, columns):
    """Values, gradients, warnings (undefined points, conventions used) and kink crossings agree;
    every one of these traces is exact in both (no function where they round differently)."""
    if not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    trace = adcli.parse(source)
    columns = {name: np.asarray(value, dtype=float) for name, value in columns.items()}
    native, numpy = _both(trace, columns)
    _same(native, numpy)


def test_a_zero_partial_times_an_infinite_adjoint_is_zero_as_per_point(implementation):
    """sqrt(relu(x)) at x <= 0: relu' = 0 there and sqrt'(0) = inf. The float sweep drops every
    product with a zero factor, so d/dx = 0 (by hand: the derivative from the right is 0·inf, adcli's
    rule makes it 0; relu(x) = 0 on the left). The NumPy sweeps gave NaN here."""
    trace = adcli.parse("sqrt(relu(x))")
    batch = evaluate_batch(trace, {"x": np.array([-1.0, 0.0, 4.0])})
    assert batch.values[0].tolist() == [0.0, 0.0, 2.0]
    assert batch.gradients[0]["x"].tolist() == [0.0, 0.0, 0.25]  # 1 / (2 sqrt(4))
    assert [adcli.gradient(trace, {"x": x}).gradients[0]["x"] for x in (-1.0, 0.0, 4.0)] == [0.0, 0.0, 0.25]


def test_a_zero_gradient_is_positive_zero_as_per_point(implementation):
    """x*y at y = -0: d/dx = y = -0 is a zero partial, which the float sweep never adds to the adjoint
    it starts at +0 (Python: 0.0 + -0.0 == +0.0), so d/dx is +0 there; -x at x = 0 likewise."""
    trace = adcli.parse("x*y - z")
    batch = evaluate_batch(trace, {"x": np.array([1.0, -2.0]), "y": np.array([-0.0, 0.0]), "z": 0.0})
    one_point = [adcli.gradient(trace, {"x": x, "y": y, "z": 0.0}).gradients[0] for x, y in ((1.0, -0.0), (-2.0, 0.0))]
    assert [repr(g["x"]) for g in one_point] == ["0.0", "0.0"]
    assert [repr(g) for g in batch.gradients[0]["x"].tolist()] == ["0.0", "0.0"]
    assert [repr(g) for g in batch.gradients[0]["z"].tolist()] == ["-1.0", "-1.0"]


def test_a_partial_that_overflows_makes_the_point_undefined_as_per_point(implementation):
    """sigmoid(atan2(1, pi/x)) at x = 1e-300: d(pi/x)/dx = -pi/x² overflows, and the sweep would
    multiply it by atan2's partial, which underflows to 0: 0·inf, taken as 0, gave d/dx = 0, though
    the truth is about 0.0796. One point at a time refuses; the batch gives NaN there and says why."""
    trace = adcli.parse("sigmoid(atan2(1, pi/x))")
    with pytest.raises(adcli.EvaluationError, match=r"overflow, its derivative at v1 = 1e-300 is too large"):
        adcli.gradient(trace, {"x": 1e-300})
    batch = evaluate_batch(trace, {"x": np.array([1e-300, 0.5])})
    a = math.atan(0.5 / math.pi)  # atan2(1, pi/x) = atan(x/pi) for x > 0
    s = 1 / (1 + math.exp(-a))
    gradient = batch.gradients[0]["x"]
    assert math.isnan(gradient[0])
    assert gradient[1] == pytest.approx(s * (1 - s) / math.pi / (1 + (0.5 / math.pi) ** 2), rel=1e-15)
    assert batch.values[0].tolist()[0] == 0.5
    assert batch.warnings == ["v2 = pi / v1: its derivative overflows at 1 point (the first: x=1e-300); their "
                              "derivatives are NaN"]


def test_an_infinite_partial_by_convention_is_not_an_overflow(implementation):
    """sqrt'(0) = inf, asin'(1) = inf and d(x^0.5)/dx = inf at 0 are the conventions (one point gives
    them too), also for an input held at one value (y = 1 at every point)."""
    trace = adcli.parse("sqrt(x) + asin(y) + x^0.5")
    batch = evaluate_batch(trace, {"x": np.array([0.0, 1.0]), "y": 1.0})
    assert batch.gradients[0]["x"].tolist() == [math.inf, 1.0]  # 1/(2 sqrt(1)) twice
    assert batch.gradients[0]["y"].tolist() == [math.inf, math.inf]
    assert not any("overflows" in warning for warning in batch.warnings)
    assert adcli.gradient(trace, {"x": 0.0, "y": 1.0}).gradients[0] == {"x": math.inf, "y": math.inf}


def test_points_cut_into_ranges_for_threads_give_the_same_batch(monkeypatch):
    """Three threads, each a range of the points: the same values, gradients and undefined points (how
    many, and the first) as one range, bit for bit. log(x) is undefined at the negative points, which lie
    in the second and third ranges (by hand: 150 of them, the first at position 250)."""
    if not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    import adcli.batch

    trace = adcli.parse("log(x)*y + sin(x*y)")
    x = np.concatenate([np.linspace(0.1, 5, 250), -np.linspace(1, 2, 150), np.linspace(0.2, 3, 200)])
    columns = {"x": x, "y": np.linspace(-1, 1, 600)}
    whole = evaluate_batch(trace, columns)
    monkeypatch.setattr(adcli.batch, "POINTS_PER_THREAD", 100)
    monkeypatch.setattr(adcli.batch, "usable_cores", lambda: 3)
    threaded = evaluate_batch(trace, columns)
    assert threaded.values[0].tobytes() == whole.values[0].tobytes()
    for name in ("x", "y"):
        assert threaded.gradients[0][name].tobytes() == whole.gradients[0][name].tobytes()
    assert threaded.warnings == whole.warnings
    assert "at 150 points (the first: x=-1, y=-0.1652754590984975)" in threaded.warnings[0]  # y[250]


def test_a_long_trace_runs_in_small_blocks_and_gives_the_one_point_results():
    """3,000 sin terms: the block of points shrinks (8 points) so that rows stay in the cache; the
    result at every point is the float path's, bit for bit (sin, mul and add are exact in C)."""
    if not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    trace = adcli.parse("+".join(f"sin(x*{k})" for k in range(1, 3_001)))
    xs = np.linspace(-1.0, 1.0, 37)
    batch = evaluate_batch(trace, {"x": xs})
    for k, x in enumerate(xs.tolist()):
        result = adcli.gradient(trace, {"x": x})
        assert (batch.values[0][k], batch.gradients[0]["x"][k]) == (result.evaluated.output_values[0],
                                                                     result.gradients[0]["x"])


def test_every_primitive_has_a_c_kernel_and_a_missing_one_falls_back_to_numpy():
    if not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    codes = {p.name: p.opcode for p in operations()}
    assert c_tape.set_kernels(codes) == []
    trace = adcli.parse("x*y + sin(x)")
    columns = {"x": np.array([0.5, 1.5]), "y": np.array([2.0, -1.0])}
    try:
        assert c_tape.set_kernels({}) == []  # no kernels: the C loop declines, the NumPy twin runs
        declined = evaluate_batch(trace, columns)
    finally:
        c_tape.set_kernels(codes)
    expected = [(0.5 * 2.0 + math.sin(0.5), 2.0 + math.cos(0.5), 0.5),
                (1.5 * -1.0 + math.sin(1.5), -1.0 + math.cos(1.5), 1.5)]  # by hand: (y + cos x, x)
    assert [(declined.values[0][k], declined.gradients[0]["x"][k], declined.gradients[0]["y"][k])
            for k in range(2)] == expected
    try:
        assert c_tape.set_kernels({"nonesuch": 4}) == ["nonesuch"]
    finally:
        c_tape.set_kernels(codes)


def test_the_c_loop_refuses_a_malformed_trace():
    if not ACCELERATED:
        pytest.skip("adcli._tape is not built or is switched off")
    op = np.array([0, BY_NAME["sin"].opcode], dtype=np.int8)
    with pytest.raises(ValueError, match="later node"):
        c_tape.batch(op, np.array([-1, 1]), np.array([-1, -1]), [np.zeros(2), None], 2, [1], [], [[]], 2)
    with pytest.raises(ValueError, match="one entry per point"):
        c_tape.batch(op, np.array([-1, 0]), np.array([-1, -1]), [np.zeros(3), None], 2, [1], [], [[]], 2)
    with pytest.raises(ValueError, match="output names no node"):
        c_tape.batch(op, np.array([-1, 0]), np.array([-1, -1]), [np.zeros(2), None], 2, [5], [], [[]], 2)
    with pytest.raises(ValueError, match="kept names a leaf"):  # its column would never be filled
        c_tape.batch(op, np.array([-1, 0]), np.array([-1, -1]), [np.zeros(2), None], 2, [1], [(0, np.empty(2))],
                     [[]], 2)
    unaligned = np.frombuffer(bytearray(17), dtype=np.float64, offset=1)  # 2 floats from byte 1
    assert not unaligned.flags.aligned
    with pytest.raises(TypeError, match="^a leaf must be aligned to 8 bytes$"):
        c_tape.batch(op, np.array([-1, 0]), np.array([-1, -1]), [unaligned, None], 2, [1], [], [[]], 2)


def test_undefined_points_past_the_first_block_are_counted_and_located(implementation):
    """log(x) at x = 1, 2, …, 1000, then -1, -2, …, -1000 (blocks of 512 points in C): undefined at
    the last 1,000 points, the first of them the 1,001st point, x = -1."""
    xs = np.concatenate((np.arange(1.0, 1001.0), -np.arange(1.0, 1001.0)))
    batch = evaluate_batch(adcli.parse("log(x)"), {"x": xs})
    assert batch.warnings == ["v2 = log(v1): log is undefined or overflows at 1,000 points (the first: x=-1); "
                              "their results are NaN"]
    assert np.isnan(batch.values[0][1000:]).all() and np.isnan(batch.gradients[0]["x"][1000:]).all()
    assert batch.gradients[0]["x"][:1000].tolist() == [1 / x for x in range(1, 1001)]  # log' = 1/x
