"""``adcli compare`` and ``adcli grad --check`` (issue 4): AD against SymPy and finite differences.

Every reference value here is computed independently of adcli, in the test itself: derivatives
derived by hand and evaluated with mpmath at 60 digits at the exact binary value of the point,
finite-difference and complex-step estimates written out with :mod:`math` / :mod:`cmath`, and
SymPy's own derivative sizes for the swell table.

Hand derivations used below:

    f(x)  = sin x · cos x · eˣ = ½ sin 2x · eˣ
    f'(x) = cos 2x · eˣ + sin x cos x · eˣ
    (trace: sin, cos, mul, exp, mul = 5 operations; reverse sweep: 1+1+2+1+2 = 7 multiply-adds)

    g(x, y) = x·eʸ − sin x:   ∂g/∂x = eʸ − cos x,   ∂g/∂y = x·eʸ
    (trace: exp, mul, sin, sub = 4 operations; reverse sweep: 1+2+1+2 = 6 multiply-adds)

    samples/loop.py: y₀ = x, yₖ₊₁ = yₖ² + x;  y'₀ = 1, y'ₖ₊₁ = 2 yₖ y'ₖ + 1
    (trace: 5 × (mul, add) = 10 operations; reverse sweep: 5 × (2 + 2) = 20)
"""

from __future__ import annotations

import builtins
import cmath
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy
from conftest import EntryPointRunner
from typer.testing import CliRunner

import adcli.output.plot
from adcli.cli import app
from adcli.errors import InputError
from adcli.output.textchart import loglog_chart

EPS = sys.float_info.epsilon
ROOT = Path(__file__).resolve().parent.parent
LOOP = str(ROOT / "samples" / "loop.py")

LESSON = "sin(x)*cos(x)*exp(x)"
TWO_INPUTS = "x*exp(y)-sin(x)"
SWEEP_STEPS = [10.0**-k for k in range(1, 17)]
DIFFERENCE_METHODS = ["forward difference", "backward difference", "central difference", "fourth-order central"]
ALL_METHODS = ["forward-mode AD", "reverse-mode AD", "SymPy", *DIFFERENCE_METHODS, "complex step"]
# the theoretically near-optimal step of each formula: EPS ** exponent * max(1, |x|)
OPTIMAL_EXPONENT = {"forward difference": 1 / 2, "backward difference": 1 / 2,
                    "central difference": 1 / 3, "fourth-order central": 1 / 5}
ORDER = {"forward difference": "O(h)", "backward difference": "O(h)",
         "central difference": "O(h²)", "fourth-order central": "O(h⁴)"}


# ---------------------------------------------------------------- helpers

def make_runner() -> CliRunner:
    return EntryPointRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


def run(runner: CliRunner, args: list[str]):
    """Invoke adcli; it must end through an exit code, never an unhandled exception."""
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    return result


def run_json(runner: CliRunner, args: list[str]) -> dict:
    result = run(runner, args)
    assert result.exit_code == 0, result.stderr

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(result.stdout, parse_constant=refuse)


def table_rows(output: str) -> list[list[str]]:
    """The body rows of every rich table: the cells of each line that starts with '│'."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in output.splitlines() if line.startswith("│")]


def representable(x: float, h: float) -> float:
    """The step the machine actually takes: (x + h) − x (h itself if that is 0)."""
    return (x + h) - x or h


def difference(method: str, f, x: float, h: float) -> float:
    """The finite-difference formulas, written out from their textbook definitions."""
    if method == "forward difference":
        return (f(x + h) - f(x)) / h
    if method == "backward difference":
        return (f(x) - f(x - h)) / h
    if method == "central difference":
        return (f(x + h) - f(x - h)) / (2 * h)
    if method == "fourth-order central":
        return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)
    raise AssertionError(method)


def mp_error(value: float, exact) -> tuple[float, float]:
    """Absolute and relative error of a float against a 60-digit mpmath value."""
    with mpmath.workdps(60):
        error = abs(mpmath.mpf(value) - exact)
        return float(error), float(error / abs(exact))


def significant_digits(text: str) -> int:
    return len(text.lstrip("-").replace(".", "").lstrip("0"))


# --- f(x) = sin x cos x eˣ
def lesson_f(x):
    return math.sin(x) * math.cos(x) * math.exp(x)


def lesson_f_complex(z):
    return cmath.sin(z) * cmath.cos(z) * cmath.exp(z)


def lesson_derivative_mp(x: float):
    """f'(x) = cos 2x · eˣ + sin x cos x · eˣ at 60 digits (hand derivation)."""
    with mpmath.workdps(60):
        x = mpmath.mpf(x)
        return mpmath.cos(2 * x) * mpmath.exp(x) + mpmath.sin(x) * mpmath.cos(x) * mpmath.exp(x)


def lesson_mp(x):
    return mpmath.sin(x) * mpmath.cos(x) * mpmath.exp(x)


# --- g(x, y) = x eʸ − sin x
def two_f(x, y):
    return x * math.exp(y) - math.sin(x)


def two_f_complex(x, y):
    return x * cmath.exp(y) - cmath.sin(x)


def two_partials_mp(x: float, y: float) -> dict:
    with mpmath.workdps(60):
        x, y = mpmath.mpf(x), mpmath.mpf(y)
        return {"x": mpmath.exp(y) - mpmath.cos(x), "y": x * mpmath.exp(y)}


# ---------------------------------------------------------------- fixtures (one CLI run, many checks)

@pytest.fixture(scope="module")
def lesson_sweep() -> dict:
    """adcli compare "sin(x)*cos(x)*exp(x)" --at x=1 --sweep --json"""
    return run_json(make_runner(), ["compare", LESSON, "--at", "x=1", "--sweep", "--json", "--sympy-timeout", "5"])


TWO_ARGS = ["compare", TWO_INPUTS, "--at", "x=pi/3,y=0", "--sweep", "--sympy-timeout", "5"]


@pytest.fixture(scope="module")
def two_json() -> dict:
    """adcli compare "x*exp(y)-sin(x)" --at x=pi/3,y=0 --sweep --json"""
    return run_json(make_runner(), [*TWO_ARGS, "--json"])


def method_row(document: dict, method: str, name: str = "x") -> dict:
    rows = [r for r in document["methods"] if r["method"] == method and r["input"] == name]
    assert len(rows) == 1, (method, name, document["methods"])
    return rows[0]


def sweep_row(document: dict, method: str, step: float, name: str = "x") -> dict:
    rows = [r for r in document["sweep"] if r["method"] == method and r["input"] == name
            and r["step"] == pytest.approx(step, rel=1e-12, abs=0)]
    assert len(rows) == 1, (method, step, name)
    return rows[0]


# ---------------------------------------------------------------- 1. the required tests on sin·cos·exp

def test_reference_has_50_digits_and_matches_mpmath(lesson_sweep):
    exact = lesson_derivative_mp(1.0)
    text = lesson_sweep["reference"]["x"]
    assert significant_digits(text) == 50
    assert lesson_sweep["reference_digits"] == 50
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(text) - exact) <= mpmath.mpf("1e-49") * abs(exact)
        # the hand derivation agrees with mpmath's own numerical differentiation of f
        assert abs(mpmath.diff(lesson_mp, mpmath.mpf(1)) - exact) < mpmath.mpf("1e-40")
    assert text.startswith("0.104658952245595825377210191265037555739227188")


@pytest.mark.parametrize("method", ["forward-mode AD", "reverse-mode AD", "complex step"])
def test_ad_and_complex_step_are_exact_to_machine_precision(lesson_sweep, method):
    exact = lesson_derivative_mp(1.0)
    row = method_row(lesson_sweep, method)
    abs_error, rel_error = mp_error(row["value"], exact)
    assert rel_error < 1e-14
    assert row["rel_error"] < 1e-14
    assert row["rel_error"] == pytest.approx(rel_error, rel=1e-9, abs=1e-30)
    assert row["abs_error"] == pytest.approx(abs_error, rel=1e-9, abs=1e-30)


def test_complex_step_value_is_im_f_over_h(lesson_sweep):
    row = method_row(lesson_sweep, "complex step")
    h = row["step"]
    assert 0 < h <= 1e-15  # any tiny step works: nothing is subtracted
    assert row["value"] == pytest.approx(lesson_f_complex(complex(1.0, h)).imag / h, rel=1e-15)


def test_central_difference_at_default_step_is_below_1e_9(lesson_sweep):
    exact = lesson_derivative_mp(1.0)
    row = method_row(lesson_sweep, "central difference")
    # theory: h ≈ ε^(1/3)·max(1, |x|) for a central difference
    assert row["step"] == pytest.approx(EPS ** (1 / 3), rel=1e-9, abs=0)
    h = representable(1.0, EPS ** (1 / 3))
    mine = difference("central difference", lesson_f, 1.0, h)
    assert row["value"] == pytest.approx(mine, rel=1e-12)
    assert mp_error(mine, exact)[1] < 1e-9
    assert row["rel_error"] < 1e-9
    assert row["rel_error"] == pytest.approx(mp_error(row["value"], exact)[1], rel=1e-9, abs=0)


def test_default_steps_follow_theory(lesson_sweep):
    for method, exponent in OPTIMAL_EXPONENT.items():
        row = method_row(lesson_sweep, method)
        assert row["step"] == pytest.approx(EPS**exponent, rel=1e-9, abs=0), method


def test_forward_difference_at_1e_8_is_worse_than_central_at_its_best(lesson_sweep):
    exact = lesson_derivative_mp(1.0)
    forward = sweep_row(lesson_sweep, "forward difference", 1e-8)
    central = [r for r in lesson_sweep["sweep"] if r["method"] == "central difference" and r["input"] == "x"]
    central_best = min(central, key=lambda r: r["rel_error"])
    assert forward["rel_error"] > central_best["rel_error"]
    assert forward["rel_error"] > 100 * central_best["rel_error"]
    # the same, independently: forward difference at 1e-8 against central over the decades
    my_forward = mp_error(difference("forward difference", lesson_f, 1.0, representable(1.0, 1e-8)), exact)[1]
    my_central_best = min(mp_error(difference("central difference", lesson_f, 1.0, representable(1.0, h)), exact)[1]
                          for h in SWEEP_STEPS)
    assert my_forward > 100 * my_central_best
    assert forward["rel_error"] == pytest.approx(my_forward, rel=1e-6, abs=0)
    assert central_best["rel_error"] == pytest.approx(my_central_best, rel=1e-6, abs=0)


@pytest.mark.parametrize("method", DIFFERENCE_METHODS)
def test_sweep_regimes_at_the_ends(lesson_sweep, method):
    assert sweep_row(lesson_sweep, method, 1e-1)["regime"] == "truncation"
    assert sweep_row(lesson_sweep, method, 1e-15)["regime"] == "round-off"


def test_sweep_regime_labels_agree_with_error_estimates(lesson_sweep):
    """At h=0.1 the error is the Taylor truncation term; at h=1e-15 it is far above it (round-off)."""
    exact = lesson_derivative_mp(1.0)
    with mpmath.workdps(60):
        f2 = abs(mpmath.diff(lesson_mp, mpmath.mpf(1), 2))
        f3 = abs(mpmath.diff(lesson_mp, mpmath.mpf(1), 3))
        truncation = {"forward difference": lambda h: float(f2 * h / 2),
                      "central difference": lambda h: float(f3 * h**2 / 6)}
    for method, estimate in truncation.items():
        big = sweep_row(lesson_sweep, method, 1e-1)
        assert big["abs_error"] == pytest.approx(estimate(1e-1), rel=0.5, abs=0), method
        tiny = sweep_row(lesson_sweep, method, 1e-15)
        assert tiny["abs_error"] > 1e6 * estimate(1e-15), method
        # and the sweep's numbers are the formula's, measured against the reference
        for row in (big, tiny):
            mine = difference(method, lesson_f, 1.0, representable(1.0, row["step"]))
            assert row["value"] == pytest.approx(mine, rel=1e-12, abs=1e-300)
            assert row["abs_error"] == pytest.approx(mp_error(mine, exact)[0], rel=1e-9, abs=0)


def test_sweep_covers_every_decade_and_method(lesson_sweep):
    rows = lesson_sweep["sweep"]
    assert len(rows) == 5 * 16
    for method in [*DIFFERENCE_METHODS, "complex step"]:
        steps = sorted((r["step"] for r in rows if r["method"] == method), reverse=True)
        assert steps == pytest.approx(SWEEP_STEPS, rel=1e-12, abs=0)
    small_complex = [r for r in rows if r["method"] == "complex step" and r["step"] <= 1e-8]
    assert all(r["rel_error"] < 1e-14 and r["regime"] == "machine precision" for r in small_complex)


# ---------------------------------------------------------------- 2. expression swell

def sympy_nested_derivative_sizes(depth: int) -> list[tuple[int, int]]:
    """SymPy's own (unsimplified) derivative of f∘…∘f, independently of adcli's SymPy bridge."""
    x = sympy.Symbol("x", real=True)
    g, sizes = x, []
    for _ in range(depth):
        g = sympy.sin(g) * sympy.cos(g) * sympy.exp(g)
        d = sympy.diff(g, x)
        sizes.append((int(sympy.count_ops(d)), sum(1 for _ in sympy.preorder_traversal(d))))
    return sizes


def test_swell_symbolic_grows_faster_than_trace():
    document = run_json(make_runner(), ["compare", LESSON, "--at", "x=1", "--nest", "5", "--json",
                                        "--sympy-timeout", "4"])
    rows = document["swell"]
    assert [r["depth"] for r in rows] == [1, 2, 3, 4, 5]
    trace_ops = [r["trace_operations"] for r in rows]
    reverse_ops = [r["reverse_operations"] for r in rows]
    assert trace_ops == [5 * k for k in range(1, 6)]
    assert reverse_ops == [7 * k for k in range(1, 6)]
    for r in rows:
        assert "timed_out" not in r["symbolic"]["derivative"], r
    symbolic_ops = [r["symbolic"]["derivative"]["ops"] for r in rows]
    symbolic_nodes = [r["symbolic"]["derivative"]["nodes"] for r in rows]
    assert list(zip(symbolic_ops, symbolic_nodes)) == sympy_nested_derivative_sizes(5)
    for k in range(4):
        symbolic_ratio = symbolic_ops[k + 1] / symbolic_ops[k]
        trace_ratio = trace_ops[k + 1] / trace_ops[k]
        assert symbolic_ratio >= 3, symbolic_ops  # exponential: at least ×3 per composition
        assert trace_ratio <= 2
        assert symbolic_ratio > trace_ratio
        assert symbolic_nodes[k + 1] / symbolic_nodes[k] > trace_ratio
        # symbolic size per trace operation keeps growing
        assert symbolic_ops[k + 1] / trace_ops[k + 1] > symbolic_ops[k] / trace_ops[k]
    # the sizes at depth 5: SymPy's derivative has hundreds of times the AD trace's operations
    assert symbolic_ops[-1] > 100 * trace_ops[-1]
    # simplify fits the budget at depth 1, and shrinks the derivative there
    simplified = rows[0]["symbolic"]["simplify"]
    assert "timed_out" not in simplified
    assert simplified["ops"] < symbolic_ops[0]
    assert simplified["seconds"] >= 0
    # every stage that timed out is named in the timeouts
    for r in rows:
        for stage, sizes in r["symbolic"].items():
            if sizes.get("timed_out"):
                assert f"{stage} at depth {r['depth']}" in document["timeouts"]


# ---------------------------------------------------------------- 3. bounded SymPy

def test_tiny_timeout_keeps_every_other_method():
    result = run(make_runner(), ["compare", LESSON, "--at", "x=1", "--sympy-timeout", "0.001"])
    assert result.exit_code == 0, result.stderr
    exact = float(lesson_derivative_mp(1.0))
    rows = {(r[0], r[1]): r for r in table_rows(result.stdout) if r[0] in ALL_METHODS}
    for method in ALL_METHODS:
        assert (method, "x") in rows, method
    for method in ["forward-mode AD", "reverse-mode AD", "complex step", *DIFFERENCE_METHODS]:
        value = float(rows[(method, "x")][2])
        assert value == pytest.approx(exact, rel=1e-6), method  # 8 significant digits are shown
    timed_out = re.findall(r"SymPy: '([^']+)' ran out of the 0\.001 s budget", result.stdout)
    assert timed_out, result.stdout
    known = re.compile(r"(differentiate with SymPy|evaluate the SymPy reference with 50 digits|"
                       r"evaluate SymPy's derivative in floats|measure the derivative|cse|simplify)( at depth \d+)?$")
    assert all(known.match(step) for step in timed_out), timed_out


def test_zero_timeout_json_has_every_other_method():
    document = run_json(make_runner(), ["compare", LESSON, "--at", "x=1", "--sweep", "--json", "--sympy-timeout", "0"])
    exact = float(lesson_derivative_mp(1.0))
    assert document["timeouts"][0] == "differentiate with SymPy"
    assert document["sympy_timeout"] == 0
    assert document["reference"] == {}
    sympy_row = method_row(document, "SymPy")
    assert "value" not in sympy_row or sympy_row["value"] is None
    assert sympy_row["note"] == "timed out"
    for method in ["forward-mode AD", "reverse-mode AD", "complex step"]:
        assert method_row(document, method)["value"] == pytest.approx(exact, rel=1e-14)
    for method in DIFFERENCE_METHODS:
        row = method_row(document, method)
        assert row["value"] == pytest.approx(exact, rel=1e-6)
        assert "abs_error" not in row  # no reference to measure against
    assert len(document["sweep"]) == 5 * 16
    assert all(r.get("value") is not None for r in document["sweep"])
    assert document["swell"][0]["trace_operations"] == 5
    assert document["swell"][0]["symbolic"]["derivative"] == {"timed_out": True}


def test_heavy_nesting_finishes_within_the_budget():
    began = time.monotonic()
    process = subprocess.run([sys.executable, "-m", "adcli", "compare", LESSON, "--at", "x=1", "--nest", "12",
                              "--sympy-timeout", "1", "--json"],
                             capture_output=True, text=True, timeout=120, cwd=ROOT,
                             env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    elapsed = time.monotonic() - began
    assert process.returncode == 0, process.stderr
    assert elapsed < 20
    document = json.loads(process.stdout)
    assert [r["trace_operations"] for r in document["swell"]] == [5 * k for k in range(1, 13)]
    assert document["timeouts"], "a 1 s budget cannot finish SymPy's work at depth 12"
    assert method_row(document, "reverse-mode AD")["value"] == pytest.approx(float(lesson_derivative_mp(1.0)),
                                                                             rel=1e-14)


# ---------------------------------------------------------------- 4. JSON carries every number

def test_two_input_point_and_value(two_json):
    assert two_json["source"] == TWO_INPUTS
    assert two_json["at"] == {"x": math.pi / 3, "y": 0.0}
    assert two_json["value"] == pytest.approx(two_f(math.pi / 3, 0.0), rel=1e-15)


def test_two_input_reference_digits(two_json):
    exact = two_partials_mp(math.pi / 3, 0.0)
    assert set(two_json["reference"]) == {"x", "y"}
    for name, text in two_json["reference"].items():
        assert 45 <= significant_digits(text) <= 50, text
        with mpmath.workdps(60):
            assert abs(mpmath.mpf(text) - exact[name]) <= mpmath.mpf("1e-49") * abs(exact[name])
    # 1 − cos(float(π/3)) is just below ½: the reference is taken at the float the user's point became
    assert two_json["reference"]["x"].startswith("0.49999999999999990054873582971764")


def test_two_input_reference_strings_show_all_50_digits(two_json):
    """The reference is given with 50 significant digits, a trailing zero included: the 50th digit of
    1 − cos(float(π/3)) is 0, and dropping it leaves a 49-digit string under "reference_digits": 50."""
    exact = two_partials_mp(math.pi / 3, 0.0)
    for name, text in two_json["reference"].items():
        with mpmath.workdps(60):
            assert text == mpmath.nstr(exact[name], 50, strip_zeros=False), name
        assert significant_digits(text) == 50, text


def expected_methods() -> dict:
    """(method, input) -> value and step, computed from the formulas with math/cmath."""
    point = {"x": math.pi / 3, "y": 0.0}
    exact = two_partials_mp(point["x"], point["y"])
    partial = {"x": lambda t: two_f(t, point["y"]), "y": lambda t: two_f(point["x"], t)}
    expected = {}
    for name in ("x", "y"):
        for method in ("forward-mode AD", "reverse-mode AD", "SymPy"):
            expected[(method, name)] = {"value": float(exact[name]), "step": None}
        for method, exponent in OPTIMAL_EXPONENT.items():
            h = representable(point[name], EPS**exponent * max(1.0, abs(point[name])))
            expected[(method, name)] = {"value": difference(method, partial[name], point[name], h), "step": h}
    return expected


def test_json_methods_every_method_and_input(two_json):
    point = {"x": math.pi / 3, "y": 0.0}
    exact = two_partials_mp(point["x"], point["y"])
    rows = two_json["methods"]
    assert sorted((r["method"], r["input"]) for r in rows) == sorted((m, n) for m in ALL_METHODS for n in "xy")
    expected = expected_methods()
    for row in rows:
        key = (row["method"], row["input"])
        if row["method"] == "complex step":
            h = row["step"]
            assert 0 < h <= 1e-15
            z = complex(point[row["input"]], h)
            mine = (two_f_complex(z, point["y"]) if row["input"] == "x" else two_f_complex(point["x"], z)).imag / h
            assert row["value"] == pytest.approx(mine, rel=1e-15), key
        else:
            assert row["value"] == pytest.approx(expected[key]["value"], rel=1e-12 if expected[key]["step"] else 1e-15), key
            if expected[key]["step"] is None:
                assert row.get("step") is None, key
            else:
                assert row["step"] == pytest.approx(expected[key]["step"], rel=1e-12, abs=0), key
        abs_error, rel_error = mp_error(row["value"], exact[row["input"]])
        assert row["abs_error"] == pytest.approx(abs_error, rel=1e-9, abs=1e-30), key
        assert row["rel_error"] == pytest.approx(rel_error, rel=1e-9, abs=1e-30), key
    # ∂/∂y = x·e⁰ = x is computed exactly by AD
    assert method_row(two_json, "reverse-mode AD", "y")["value"] == math.pi / 3
    assert method_row(two_json, "reverse-mode AD", "y")["abs_error"] == 0


def test_json_sweep_every_row(two_json):
    point = {"x": math.pi / 3, "y": 0.0}
    exact = two_partials_mp(point["x"], point["y"])
    partial = {"x": lambda t: two_f(t, point["y"]), "y": lambda t: two_f(point["x"], t)}
    rows = two_json["sweep"]
    assert len(rows) == 2 * 5 * 16
    mine_error: dict[tuple[str, str], dict[float, float]] = {}
    for row in rows:
        name, h = row["input"], row["step"]
        assert any(h == pytest.approx(s, rel=1e-12, abs=0) for s in SWEEP_STEPS)
        if row["method"] == "complex step":
            z = complex(point[name], h)
            mine = (two_f_complex(z, point["y"]) if name == "x" else two_f_complex(point["x"], z)).imag / h
        else:
            mine = difference(row["method"], partial[name], point[name], representable(point[name], h))
        assert row["value"] == pytest.approx(mine, rel=1e-12, abs=1e-300), (row["method"], name, h)
        abs_error, rel_error = mp_error(mine, exact[name])
        assert row["abs_error"] == pytest.approx(abs_error, rel=1e-9, abs=1e-30)
        assert row["rel_error"] == pytest.approx(rel_error, rel=1e-9, abs=1e-30)
        mine_error.setdefault((row["method"], name), {})[h] = abs_error
    # regimes: steps above the best one are truncation-dominated, below it round-off-dominated
    for row in rows:
        if row["method"] == "complex step":
            if row["rel_error"] < 1e-14:
                assert row["regime"] == "machine precision"
            continue
        errors = mine_error[(row["method"], row["input"])]
        best = min(errors, key=errors.get)
        expected = "best" if row["step"] == best else "truncation" if row["step"] > best else "round-off"
        assert row["regime"] == expected, (row["method"], row["input"], row["step"])
    # best steps: one per formula and input, next to theory
    best_steps = two_json["best_steps"]
    assert sorted((b["method"], b["input"]) for b in best_steps) == sorted((m, n) for m in DIFFERENCE_METHODS
                                                                          for n in "xy")
    for entry in best_steps:
        errors = mine_error[(entry["method"], entry["input"])]
        assert errors[entry["best_step"]] <= min(errors.values()) * (1 + 1e-9)
        assert entry["best_abs_error"] == pytest.approx(min(errors.values()), rel=1e-9, abs=0)
        assert entry["order"] == ORDER[entry["method"]]
        x = point[entry["input"]]
        assert entry["theoretical_step"] == pytest.approx(EPS ** OPTIMAL_EXPONENT[entry["method"]] * max(1, abs(x)),
                                                          rel=1e-12, abs=0)


def test_json_swell_row(two_json):
    x, y = sympy.symbols("x y", real=True)
    g = x * sympy.exp(y) - sympy.sin(x)
    derivatives = [sympy.diff(g, x), sympy.diff(g, y)]
    ops = int(sum(sympy.count_ops(d) for d in derivatives))
    nodes = sum(sum(1 for _ in sympy.preorder_traversal(d)) for d in derivatives)
    assert (ops, nodes) == (5, 11)  # exp(y) − cos(x): 3 ops, 7 nodes; x·exp(y): 2 ops, 4 nodes
    [row] = two_json["swell"]
    assert row["depth"] == 1
    assert row["trace_operations"] == 4
    assert row["reverse_operations"] == 6
    assert row["ad_seconds"] >= 0
    assert row["symbolic"]["derivative"]["ops"] == ops
    assert row["symbolic"]["derivative"]["nodes"] == nodes
    for stage in ("derivative", "cse", "simplify"):
        assert row["symbolic"][stage]["seconds"] >= 0, stage
        assert row["symbolic"][stage]["ops"] <= ops, stage
    assert two_json["timeouts"] == []
    assert two_json["sympy_timeout"] == 5


def test_table_shows_the_json_numbers(two_json):
    """Every number of the terminal tables is one of the JSON document's numbers, formatted."""
    result = run(make_runner(), TWO_ARGS)
    assert result.exit_code == 0, result.stderr
    actual = table_rows(result.stdout)
    expected = []

    def err(value):
        return "—" if value is None else f"{value:.1e}"

    for row in two_json["methods"]:
        step = row.get("step")
        expected.append([row["method"], row["input"], f"{row['value']:.8g}", "" if step is None else f"{step:.2e}",
                         err(row.get("abs_error")), err(row.get("rel_error"))])
    label = {"truncation": "truncation", "round-off": "round-off", "best": "best", "machine precision": "exact"}
    for name in ("x", "y"):
        cell = {(r["method"], r["step"]): r for r in two_json["sweep"] if r["input"] == name}
        for h in sorted({r["step"] for r in two_json["sweep"]}, reverse=True):
            expected.append([f"{h:.0e}"] + [f"{cell[(m, h)]['rel_error']:.1e} {label[cell[(m, h)]['regime']]}".strip()
                                            for m in [*DIFFERENCE_METHODS, "complex step"]])
    for entry in two_json["best_steps"]:
        expected.append([entry["method"], entry["input"], entry["order"], f"{entry['best_step']:.0e}",
                         err(entry["best_abs_error"]), f"{entry['theoretical_step']:.1e}"])
    for row in expected:
        assert row in actual, f"{row} not in the tables:\n{result.stdout}"
    swell = [r for r in actual if len(r) == 7]
    [swell_json] = two_json["swell"]
    assert len(swell) == 1
    assert swell[0][:3] == ["1", str(swell_json["trace_operations"]), str(swell_json["reverse_operations"])]
    for cell, stage in zip(swell[0][4:], ("derivative", "simplify", "cse")):
        sizes = swell_json["symbolic"][stage]
        assert cell.split(",")[0] == f"{sizes['ops']:,} / {sizes['nodes']:,}", stage
    assert len(actual) == len(expected) + 1  # nothing in the tables that the JSON lacks
    for name, text in two_json["reference"].items():
        assert f"reference ∂f/∂{name} = {text}" in result.stdout


# ---------------------------------------------------------------- 5. a function file

def test_compare_function_file_with_a_loop():
    document = run_json(make_runner(), ["compare", LOOP, "--at", "x=0.5", "--json", "--sympy-timeout", "3"])
    # plain-float recurrence
    y, dy = 0.5, 1.0
    for _ in range(5):
        y, dy = y * y + 0.5, 2 * y * dy + 1
    # exact rational recurrence (the derivative is a polynomial in x = 1/2: a terminating decimal)
    ye, dye = Fraction(1, 2), Fraction(1)
    for _ in range(5):
        ye, dye = ye * ye + Fraction(1, 2), 2 * ye * dye + 1
    reference = document["reference"]["x"]
    assert float(reference) == pytest.approx(dy, rel=1e-12)
    assert Fraction(reference) == dye
    assert document["value"] == pytest.approx(y, rel=1e-15)
    for method in ("forward-mode AD", "reverse-mode AD", "SymPy", "complex step"):
        assert method_row(document, method)["value"] == pytest.approx(float(dye), rel=1e-14), method
        assert method_row(document, method)["rel_error"] < 1e-14
    central = method_row(document, "central difference")
    assert central["value"] == pytest.approx(float(dye), rel=1e-7)
    [row] = document["swell"]
    assert (row["trace_operations"], row["reverse_operations"]) == (10, 20)
    assert "ops" in row["symbolic"]["derivative"]


# ---------------------------------------------------------------- 6. grad --check

CHECK_ARGS = ["grad", TWO_INPUTS, "--at", "x=1,y=0", "--check", "sympy,fd"]


def expected_checks() -> dict:
    """∂/∂x = e⁰ − cos 1, ∂/∂y = 1·e⁰ = 1; the central difference at h = ε^(1/3) (as represented)."""
    fd = {}
    h = representable(1.0, EPS ** (1 / 3))
    fd["x"] = ((two_f(1.0 + h, 0.0) - two_f(1.0 - h, 0.0)) / (2 * h), h)
    h = representable(0.0, EPS ** (1 / 3))
    fd["y"] = ((two_f(1.0, h) - two_f(1.0, -h)) / (2 * h), h)
    return {"x": (1.0 - math.cos(1.0), *fd["x"]), "y": (1.0, *fd["y"])}


def test_grad_check_table():
    result = run(make_runner(), CHECK_ARGS)
    assert result.exit_code == 0, result.stderr
    assert "cross-checks" in result.stdout
    header = next(line for line in result.stdout.splitlines() if "central difference" in line)
    for column in ("AD", "SymPy", "SymPy − AD", "central difference", "FD − AD"):
        assert column in header
    rows = {r[0]: r for r in table_rows(result.stdout) if len(r) == 6}
    for name, (exact, fd, _) in expected_checks().items():
        cells = rows[name]
        assert cells[1] == f"{exact:.8g}"
        assert cells[2] == f"{exact:.8g}"
        assert abs(float(cells[3])) <= 1e-15
        assert cells[4] == f"{fd:.8g}"
        assert float(cells[5]) == pytest.approx(fd - exact, rel=0.06, abs=0)
        assert 1e-13 < abs(fd - exact) < 1e-9  # a central difference at its step: about 1e-11 off


def test_grad_check_json():
    document = run_json(make_runner(), [*CHECK_ARGS, "--json"])
    assert document["gradient"]["x"] == pytest.approx(1.0 - math.cos(1.0), rel=1e-15)
    checks = {c["input"]: c for c in document["checks"]}
    assert set(checks) == {"x", "y"}
    for name, (exact, fd, h) in expected_checks().items():
        entry = checks[name]
        assert entry["output"] == TWO_INPUTS
        assert entry["ad"] == pytest.approx(exact, rel=1e-15)
        assert entry["sympy"] == pytest.approx(exact, rel=1e-15)
        assert entry["sympy_minus_ad"] == entry["sympy"] - entry["ad"]
        assert entry["fd_step"] == pytest.approx(h, rel=1e-12, abs=0)
        assert entry["fd"] == pytest.approx(fd, rel=1e-12)
        assert entry["fd_minus_ad"] == pytest.approx(fd - exact, rel=1e-3, abs=1e-15)


def test_grad_check_unknown_is_exit_2():
    result = run(make_runner(), ["grad", TWO_INPUTS, "--at", "x=1,y=0", "--check", "bogus"])
    assert result.exit_code == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "--check bogus" in message
    assert "sympy" in message and "fd" in message


# ---------------------------------------------------------------- 7. lazy imports

LAZY = textwrap.dedent("""
    import json, sys
    from adcli.cli import app
    try:
        app(sys.argv[1:], standalone_mode=False)
    except SystemExit as exit:
        assert not exit.code, exit.code
    print(json.dumps({m: m in sys.modules for m in ("sympy", "numpy", "matplotlib")}))
""")


@pytest.mark.parametrize(("extra", "sympy_loaded"), [([], False), (["--json"], False), (["--check", "fd"], False),
                                                      (["--check", "sympy"], True)])
def test_grad_imports_sympy_only_for_check_sympy(extra, sympy_loaded):
    process = subprocess.run([sys.executable, "-c", LAZY, "grad", TWO_INPUTS, "--at", "x=1,y=0", *extra],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert process.returncode == 0, process.stderr
    loaded = json.loads(process.stdout.strip().splitlines()[-1])
    assert loaded == {"sympy": sympy_loaded, "numpy": False, "matplotlib": False}


# ---------------------------------------------------------------- 8. --plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_png(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "fd-error.png"
    result = run(make_runner(), ["compare", LESSON, "--at", "x=1", "--sweep", "--plot", str(target),
                                 "--sympy-timeout", "2"])
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    assert result.stderr == f"wrote {target}\n"  # the note goes to stderr, so stdout stays the result


def test_plot_svg_of_swell(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "swell.svg"
    result = run(make_runner(), ["compare", LESSON, "--at", "x=1", "--nest", "3", "--plot", str(target),
                                 "--sympy-timeout", "0.5"])
    assert result.exit_code == 0, result.stderr
    assert "<svg" in target.read_text()


def test_plot_bad_extension_is_exit_2(tmp_path):
    target = tmp_path / "fd-error.txt"
    result = run(make_runner(), ["compare", LESSON, "--at", "x=1", "--plot", str(target)])
    assert result.exit_code == 2
    assert result.stdout == ""  # fails before any work
    assert not target.exists()
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert str(target) in message
    assert ".png" in message and ".svg" in message


def assert_install_hint(message: str) -> None:
    assert "matplotlib" in message
    assert "pip install" in message


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    with pytest.raises(InputError) as caught:
        adcli.output.plot.check_plot_file("fd-error.png")
    assert_install_hint(str(caught.value))
    result = run(make_runner(), ["compare", LESSON, "--at", "x=1", "--plot", str(tmp_path / "fd-error.png")])
    assert result.exit_code == 2
    assert_install_hint(result.stderr)
    assert not (tmp_path / "fd-error.png").exists()


def test_plot_without_matplotlib_via_import_hook(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(InputError) as caught:
        adcli.output.plot.check_plot_file("swell.svg")
    assert_install_hint(str(caught.value))


# ---------------------------------------------------------------- 9. the terminal chart

def test_loglog_chart_places_markers():
    series = {"a": [(1e-1, 1e-2), (1e-2, 1e-4), (1e-3, None)],
              "b": [(1e-1, 0.5), (1e-2, 0.0), (1e-3, 1e3)]}
    lines = loglog_chart(series, {"a": "a", "b": "b"}, top=0, bottom=-4)
    # rows are log10(error) 0, -1, -2, -3, -4; columns h = 1e-1, 1e-2, 1e-3, three characters each with
    # the marker in the middle one. b: 0.5 rounds to 1e0; 1e3 is clipped to the top; 0 sits on the
    # bottom row, where it overwrites a's 1e-4 (the later series wins). a's None is not drawn.
    assert lines == [
        " 1e+00 │ b     b ",
        "       │         ",
        " 1e-02 │ a       ",
        "       │         ",
        " 1e-04 │    b    ",
        "       └─────────",
        "         -1 -2 -3   log10(h)",
        "        a a   b b",
    ]


def test_loglog_chart_in_the_sweep_output():
    result = run(make_runner(), ["compare", LESSON, "--at", "x=1", "--steps", "1e-1,1e-8", "--sympy-timeout", "2"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    axis = next(k for k, line in enumerate(lines) if line.rstrip().endswith("log10(h)"))
    assert lines[axis].split() == ["-1", "-8", "log10(h)"]
    # forward difference: relative error ≈ 3 at h = 0.1 (truncation: |f''|·h/2 / |f'|) → row 1e+00
    exact = lesson_derivative_mp(1.0)
    forward = mp_error(difference("forward difference", lesson_f, 1.0, representable(1.0, 0.1)), exact)[1]
    assert round(math.log10(forward)) == 0
    row = next(line for line in lines if line.startswith(" 1e+00 │"))
    assert row[len(" 1e+00 │") + 1] in "fb"  # forward or backward (both ≈ 3), in the h = 0.1 column


def test_the_reference_is_evaluated_at_the_exact_point():
    """acos'(x) = -1/sqrt(1 - x^2) is -inf at x = 1 (by hand): there is no float reference, not the
    -5.09e89 that an approximate 1 - x^2 gave; at sqrt(x)+y with x = 0, y keeps its reference 1."""
    from adcli.compare import compare

    assert compare(adcli.parse("acos(x)"), {"x": 1.0}).reference == {"x": None}
    reference = compare(adcli.parse("sqrt(x)+y"), {"x": 0.0, "y": 1.0}).reference
    assert reference["x"] is None and reference["y"] == "1." + "0" * 49


def test_a_partial_without_a_sympy_value_says_so_instead_of_printing_none():
    """SymPy's derivative of floor has no number (Derivative(floor(...))): the table says that partial
    has no reference instead of printing `None`, and the other partial keeps its reference, floor(3.6) = 3."""
    result = run(make_runner(), ["compare", "floor(3*x)*y", "--at", "x=1.2,y=1", "-q"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "no 50-digit reference for ∂f/∂x (SymPy could not give one here), so its errors are not shown"
    assert lines[2] == "reference ∂f/∂y = 3." + "0" * 49 + "  (SymPy, 50 digits)"
    assert "None" not in result.stdout


def test_the_sympy_budget_holds_when_its_alarm_lands_in_a_finalizer(capsys):
    """Python drops an exception raised in a __del__ (it only reports it): the alarm fires again, so
    the budget still ends the step, and the dropped one is not reported on standard error."""
    import time

    from adcli.compare import SymbolicBudget

    class SlowToDelete:
        def __del__(self):
            time.sleep(0.3)  # the first alarm (at 0.1 s) lands here

    def step():
        SlowToDelete()
        while time.monotonic() - began < 5:  # bounded, so that a lost alarm fails the test, not hangs it
            pass
        return "ran to the end"

    budget = SymbolicBudget(0.1)
    began = time.monotonic()
    assert budget.run("a step", step) is None
    assert time.monotonic() - began < 2
    assert budget.timeouts == ["a step"]
    assert capsys.readouterr().err == ""
