"""Every primitive's derivative to a few ulps wherever it is finite (issue 13, item 2), by forward mode,
reverse mode and the batch (NumPy) path alike.

The points and the 50-digit mpmath references (closed forms written by hand) are those of
benchmarks/accuracy.py, which prints the same measure for adcli's peers; see its docstring.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from adcli import parse
from adcli.hessian import hessian
from adcli.primitives import operations

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("accuracy", ROOT / "benchmarks" / "accuracy.py")
assert _spec is not None and _spec.loader is not None
accuracy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accuracy)

#: The stated bound, in ulps, of each primitive's derivative. 0: exact (a constant, or an argument).
#: 1: one correctly rounded operation or one libm call (libm and NumPy are within an ulp). More: a
#: rule of a few operations (tanh' = 4z / (1 + z)^2, z = exp(-2|x|), has four roundings).
BOUNDS = {
    "add": 0, "sub": 0, "mul": 0, "neg": 0, "relu": 0, "abs": 0, "min": 0, "max": 0, "floor": 0, "sign": 0,
    "exp": 1, "log": 1, "sin": 1, "cos": 1,
    "div": 2, "sqrt": 2, "tan": 2, "asin": 2, "acos": 2, "atan": 2, "sinh": 2, "cosh": 2, "pow": 2,
    "tanh": 4, "sigmoid": 4,
    "log2": 1, "log1p": 1, "expm1": 1,
    "log10": 2, "softplus": 2, "erf": 2, "erfc": 2, "atan2": 2, "hypot": 2, "asinh": 2, "atanh": 2, "acosh": 3,
}

NAMES = [p.name for p in operations()]


def test_bounds_cover_every_primitive():
    assert sorted(BOUNDS) == sorted(NAMES)


@pytest.fixture(scope="module", params=NAMES)
def measured(request):
    name = request.param
    return name, accuracy.points(name)


def test_hundreds_of_points_spanning_the_range(measured):
    name, pts = measured
    assert len(pts) >= 200, name
    magnitudes = [abs(v) for p in pts for v in p if v]
    if name != "acosh":  # defined from 1
        assert min(magnitudes) <= 1e-300, name  # subnormal and tiny arguments
    # bounded domain or value; every float beyond 2^52 is an integer, a kink of floor
    if name not in ("asin", "acos", "exp", "sinh", "cosh", "pow", "floor", "expm1", "atanh"):
        assert max(magnitudes) >= 1e300, name


@pytest.mark.parametrize("mode", ["forward", "reverse", "batch"])
def test_derivative_within_stated_ulps(measured, mode):
    name, pts = measured
    error = accuracy.worst(name, pts, accuracy.adcli_partials(name, pts, mode))
    assert error <= BOUNDS[name], f"{name} ({mode}): {error:.3g} ulps"


@pytest.mark.parametrize("name, x, expected", [
    # the issue's cases: by hand, tanh'(x) = sech(x)^2 = 4 e^(-2x) / (1 + e^(-2x))^2
    ("tanh", 20.0, 1.6993417021166355e-17),   # was 0
    ("tanh", 15.0, 3.7430491875353693e-13),   # had relative error 1.7e-4
    ("sigmoid", 40.0, 4.248354255291589e-18),  # sigmoid' = e^(-x) / (1 + e^(-x))^2; was 0
    ("atan", 2e154, 2.5e-309),                 # 1 / (1 + x^2) with x^2 = inf gave 0
])
def test_saturated_derivatives(name, x, expected):
    reference = accuracy.REFERENCES[name](accuracy.mpf(x))[0]
    # abs=0: approx's default abs=1e-12 would accept any of these tiny values
    assert float(reference) == pytest.approx(expected, rel=1e-15, abs=0)
    (got,) = accuracy.adcli_partials(name, [(x,)], "reverse")
    assert accuracy.ulps(got[0], reference) <= BOUNDS[name]
    assert math.isfinite(got[0]) and got[0] > 0
    # the same rule on traced values, as the Hessian records it
    assert hessian(parse(f"{name}(x)"), {"x": x}).gradient == got
