"""Memory and time linear in the number of outputs (issue 11, item 2).

Every expected number is derived by hand (∂(xy)/∂x = y, ∂(x+y)/∂x = 1, …) or from Python's math.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import adcli
from adcli import accelerator, sweeps
from adcli.analysis import evaluate_at, gradient
from adcli.jacobian import jacobian

ROOT = Path(__file__).resolve().parent.parent
ADCLI = [sys.executable, "-m", "adcli"]


def many(count: int, term: str = "x*y") -> str:
    return ",".join([term] * count)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_gradient_rows_by_hand(mode):
    # x*y, x+y, sin(x)*y at x=1, y=2: rows (y, x), (1, 1), (cos(x)*y, sin(x))
    result = gradient(adcli.parse("x*y, x+y, sin(x)*y"), {"x": 1.0, "y": 2.0}, mode=mode)
    assert result.gradients == [{"x": 2.0, "y": 1.0}, {"x": 1.0, "y": 1.0},
                                {"x": math.cos(1.0) * 2.0, "y": math.sin(1.0)}]
    assert jacobian(adcli.parse("x*y, x+y, sin(x)*y"), {"x": 1.0, "y": 2.0}, mode=mode).matrix == [
        [2.0, 1.0], [1.0, 1.0], [math.cos(1.0) * 2.0, math.sin(1.0)]]


def test_result_holds_no_per_node_array_per_output():
    """The result of 2,000 outputs keeps its gradient rows and nothing per node and per output."""
    trace = adcli.parse(many(2000))
    result = gradient(trace, {"x": 1.0, "y": 2.0})
    assert set(vars(result)) == {"evaluated", "mode", "wrt", "gradients", "sweeps", "reverse_output", "checks",
                                 "direction", "jvp", "cotangent"}  # the seeds (per input, per output) when given
    assert result.reverse_output is None and result.direction is result.jvp is result.cotangent is None
    assert len(result.gradients) == 2000 and all(g == {"x": 2.0, "y": 1.0} for g in result.gradients)
    # The per-node adjoints are still there to read, one output at a time, recomputed.
    assert result.adjoints[1999][trace.outputs[1999]] == 1.0
    assert result.adjoints[0][trace.inputs[0]] == 2.0


def test_memory_retained_by_gradient_is_linear():
    """tracemalloc: what gradient() keeps beyond the trace is a few hundred bytes per output.

    Holding every output's adjoint vector would be 3,000 × 3,002 × 8 bytes = 72 MB; the bound is
    1 KiB per output (3 MB), so the test cannot pass with quadratic memory nor fail on noise.
    """
    trace = adcli.parse(many(3000))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = gradient(trace, {"x": 1.0, "y": 2.0})
        peak_growth = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(result.gradients) == 3000
    assert peak_growth < 3000 * 1024


def test_each_sweep_visits_only_its_cone():
    trace = adcli.parse(many(5, "x*y") + ",sin(x)+y")
    evaluated = evaluate_at(trace, {"x": 1.0, "y": 2.0})
    cone = sweeps.reverse_cone(trace, evaluated.d0, evaluated.d1, trace.outputs[2])
    assert cone == {trace.outputs[2]: 1.0, trace.inputs[0]: 2.0, trace.inputs[1]: 1.0}
    cone = sweeps.reverse_cone(trace, evaluated.d0, evaluated.d1, trace.outputs[-1])
    assert cone[trace.inputs[0]] == math.cos(1.0) and cone[trace.inputs[1]] == 1.0 and len(cone) == 4


def test_cone_sweep_matches_the_full_sweep_float_for_float():
    """Repeated nodes (x*x), shared subexpressions and a chain: the same products in the same order."""
    source = "x*x*y + sin(x*y)*(x*x), exp(x*y)/(y*y+x), (x*x)*(x*x)*y - y"
    trace = adcli.parse(source)
    evaluated = evaluate_at(trace, {"x": 0.7, "y": -1.3})
    for output in trace.outputs:
        full = sweeps.reverse_sweep(trace, evaluated.d0, evaluated.d1, {output: 1.0})
        cone = sweeps.reverse_cone(trace, evaluated.d0, evaluated.d1, output)
        assert [cone.get(node, 0.0) for node in range(len(trace))] == list(full)
    # and the first output against the hand derivative: d/dx = 2xy + cos(xy)·y·x² + sin(xy)·2x
    x, y = 0.7, -1.3
    assert gradient(trace, {"x": x, "y": y}).gradients[0]["x"] == pytest.approx(
        2 * x * y + math.cos(x * y) * y * x * x + math.sin(x * y) * 2 * x, rel=1e-15)


def test_long_trace_with_several_outputs_same_rows_either_sweep(monkeypatch):
    """Over a long trace, the C (or dense) sweep and the cone sweeps give the same floats."""
    terms = "x*1.0001" + "+y*1.0001" * 12_000  # ∂/∂x = 1.0001, ∂/∂y = 12,000 × 1.0001
    trace = adcli.parse(f"{terms}, x*y, sin({terms})")
    assert len(trace) >= sweeps.LONG_TRACE
    evaluated = evaluate_at(trace, {"x": 0.5, "y": 0.25})
    dense = list(sweeps.gradient_rows(trace, evaluated.d0, evaluated.d1, trace.inputs))
    monkeypatch.setattr(sweeps, "DENSE_VISITS", 0)
    monkeypatch.setattr(accelerator, "DENSE_VISITS_LONG", 0)
    assert list(sweeps.gradient_rows(trace, evaluated.d0, evaluated.d1, trace.inputs)) == dense
    assert dense[1] == [0.25, 0.5]
    assert dense[0] == [1.0001, pytest.approx(12_000 * 1.0001, rel=1e-12)]


def test_checkpoint_with_several_outputs_keeps_rows():
    done = subprocess.run([*ADCLI, "grad", "x*y, x+y", "--at", "x=1,y=2", "--checkpoint", "every=1", "--json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["gradient"] == [{"x": 2.0, "y": 1.0}, {"x": 1.0, "y": 1.0}]


def test_20k_outputs_stay_under_400_mb():
    """Peak RSS of grad and jacobian over 20,000 outputs of x*y: about 50 MB now; holding every
    output's adjoint vector would need 20,000 × 20,002 × 8 bytes = 3.2 GB."""
    spec = importlib.util.spec_from_file_location("outputs_memory", ROOT / "benchmarks" / "outputs_memory.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for command in (["grad", "-", "--at", "x=1,y=2", "--format", "csv"], ["jacobian", "-", "--at", "x=1,y=2", "--json"]):
        assert bench.peak_kib([*ADCLI, *command], many(20_000)) < 400 * 1024


@pytest.mark.parametrize("body", ["big = [0.0] * (1 << 62)\ndef f(x):\n    return x\n",
                                  "def f(x):\n    big = [0.0] * (1 << 62)\n    return x\n"])
def test_out_of_memory_in_a_function_file_is_one_line_exit_1(tmp_path, body):
    """A MemoryError (Python raises it at once for a list of 2**62 floats) is not the file's error."""
    path = tmp_path / "big.py"
    path.write_text(body)
    done = subprocess.run([*ADCLI, "grad", str(path), "--at", "x=1"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "error: out of memory: the computation needs more memory than this machine has\n"


def test_sympy_steps_do_not_swallow_out_of_memory():
    """A SymPy step that fails is recorded as a failure; running out of memory is not a failure."""
    from adcli.compare import SymbolicBudget

    def exhausted():
        raise MemoryError

    def fails():
        raise TypeError("no derivative")

    budget = SymbolicBudget(10.0)
    assert budget.run("derivative", fails) is None
    assert budget.failures == ["derivative: SymPy could not (TypeError: no derivative)"]
    with pytest.raises(MemoryError):
        budget.run("derivative", exhausted)
