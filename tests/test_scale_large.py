"""Correctness at scale (issue 5): a 1,000,000-operation chain recorded from a function file, and a
200,000-term expression string, give the value and gradient of their references.

The references are independent of adcli: a plain-float loop that carries the derivative recurrence
alongside the value, and a closed form.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

import adcli
from adcli.analysis import load

STEPS = 250_000  # four operations each: sin, two multiplications, an addition

CHAIN = f'''"""y <- sin(y)*c + y*0.5, {STEPS:,} times: a million recorded operations."""
from math import sin


def f(x, c):
    y = x
    for _ in range({STEPS}):
        y = sin(y) * c + y * 0.5
    return y
'''


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    path = tmp_path_factory.mktemp("chain") / "chain.py"
    path.write_text(CHAIN, encoding="utf-8")
    return load(str(path), {"x": 1.0, "c": 0.5})


def _chain_reference(x: float, c: float) -> tuple[float, float, float]:
    """y_{k+1} = sin(y_k) c + y_k/2 with its derivatives, in plain floats:
    dy_{k+1}/dx = (c cos y_k + 1/2) dy_k/dx,            dy_0/dx = 1
    dy_{k+1}/dc = (c cos y_k + 1/2) dy_k/dc + sin y_k,  dy_0/dc = 0."""
    y, dx, dc = x, 1.0, 0.0
    for _ in range(STEPS):
        s = math.sin(y)
        factor = c * math.cos(y) + 0.5
        y, dx, dc = s * c + y * 0.5, factor * dx, factor * dc + s
    return y, dx, dc


def test_million_operation_chain_size(chain):
    trace, point = chain
    assert trace.operation_count == 4 * STEPS == 1_000_000
    assert trace.input_names == ["x", "c"]
    assert point == {"x": 1.0, "c": 0.5}
    assert trace.notes == []


def test_million_operation_chain_reverse(chain):
    """c = 1/2 puts the fixed point 0 at slope 1, so y creeps towards 0 and the derivatives stay far
    from 0 and from overflow (dy/dx ≈ 1.08e-7, dy/dc ≈ 612 after 250,000 steps): a real check."""
    trace, point = chain
    value, dx, dc = _chain_reference(1.0, 0.5)
    assert 1e-8 < dx < 1e-6 and 100 < dc < 1000  # the reference is not degenerate
    result = adcli.gradient(trace, point)
    assert result.evaluated.output_values[0] == pytest.approx(value, rel=1e-12)
    assert result.gradients[0]["x"] == pytest.approx(dx, rel=1e-12)
    assert result.gradients[0]["c"] == pytest.approx(dc, rel=1e-12)
    assert result.evaluated.warnings == []


def test_million_operation_chain_forward(chain):
    trace, point = chain
    _, dx, dc = _chain_reference(1.0, 0.5)
    result = adcli.gradient(trace, point, mode="forward")
    assert result.gradients[0]["x"] == pytest.approx(dx, rel=1e-12)
    assert result.gradients[0]["c"] == pytest.approx(dc, rel=1e-12)


def test_million_operation_chain_at_another_point(chain):
    """The recorded trace re-evaluated at a point other than the one it was recorded at."""
    trace, _ = chain
    value, dx, dc = _chain_reference(-2.0, 0.5)
    result = adcli.gradient(trace, {"x": -2.0, "c": 0.5})
    assert result.evaluated.output_values[0] == pytest.approx(value, rel=1e-12)
    assert result.gradients[0]["x"] == pytest.approx(dx, rel=1e-12)
    assert result.gradients[0]["c"] == pytest.approx(dc, rel=1e-12)


# ---------------------------------------------------------------- 200,000-term sum

TERMS = 200_000


def _term(k: int) -> str:
    """Even k: (k mod 5 + 1) sin(x); odd k: y cos(x) / (k mod 4 + 1), i.e. divided by 2 or 4."""
    return f"{k % 5 + 1}*sin(x)" if k % 2 == 0 else f"y*cos(x)/{k % 4 + 1}"


def test_two_hundred_thousand_term_sum():
    """f = A sin x + B y cos x with A = Σ_even (k mod 5 + 1) = 300,000 and B = Σ_odd 1/(k mod 4 + 1) = 37,500;
    f_x = A cos x - B y sin x, f_y = B cos x.

    Summing n terms in sequence rounds at each step, so the float result can be off by up to about
    n·eps relative (4.4e-11 for n = 200,000, all terms positive here); the tolerance is that bound."""
    a = sum(k % 5 + 1 for k in range(0, TERMS, 2))
    b = sum(Fraction(1, k % 4 + 1) for k in range(1, TERMS, 2))
    assert (a, b) == (300_000, 37_500)
    trace = adcli.parse(" + ".join(_term(k) for k in range(TERMS)))
    assert trace.input_names == ["x", "y"]
    x, y = 0.7, 1.3
    result = adcli.gradient(trace, {"x": x, "y": y})
    tolerance = TERMS * 2.0**-52
    b = float(b)
    assert result.evaluated.output_values[0] == pytest.approx(a * math.sin(x) + b * y * math.cos(x), rel=tolerance)
    assert result.gradients[0]["x"] == pytest.approx(a * math.cos(x) - b * y * math.sin(x), rel=tolerance)
    assert result.gradients[0]["y"] == pytest.approx(b * math.cos(x), rel=tolerance)
