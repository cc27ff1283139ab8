"""Batches (adcli.batch) against the float path one point at a time (``adcli.gradient``, the reference)."""

from __future__ import annotations

import numpy as np

import adcli
from adcli.batch import evaluate_batch


def test_a_zero_partial_times_an_infinite_adjoint_is_zero_as_per_point():
    """sqrt(relu(x)) at x <= 0: relu' = 0 there and sqrt'(0) = inf. The float sweep drops every
    product with a zero factor, so d/dx = 0 (by hand: the derivative from the right is 0·inf, adcli's
    rule makes it 0; relu(x) = 0 on the left). The NumPy sweeps gave NaN here."""
    trace = adcli.parse("sqrt(relu(x))")
    batch = evaluate_batch(trace, {"x": np.array([-1.0, 0.0, 4.0])})
    assert batch.values[0].tolist() == [0.0, 0.0, 2.0]
    assert batch.gradients[0]["x"].tolist() == [0.0, 0.0, 0.25]  # 1 / (2 sqrt(4))
    assert [adcli.gradient(trace, {"x": x}).gradients[0]["x"] for x in (-1.0, 0.0, 4.0)] == [0.0, 0.0, 0.25]
