"""Taylor mode's cost: the coefficients of every node of a 1,000-operation trace to order K, for K
up to 50 (the issue's target: order 50 in at most 2 s), and the O(K²) growth per operation.

    python benchmarks/taylor.py

Prints medians of several runs; machines here are shared and noisy.
"""

from __future__ import annotations

import statistics
import time

from adcli.parser import parse
from adcli.taylor import taylor_coefficients

# 1,000 operations of every kind Taylor mode has a rule for: products, quotients, exp, log, sin,
# cos, tanh, sqrt and powers, chained so each depends on the one before.
TERMS = ["sin(x)*{k}", "exp(x/{k})", "log(1+x*x/{k})", "cos(x)/{k}", "tanh(x*{k}/100)", "sqrt(1+x/{k})",
         "(1+x/{k})^3"]
SOURCE = "+".join(TERMS[k % len(TERMS)].format(k=k + 1) for k in range(272))


def median_seconds(order: int, repeat: int) -> float:
    trace = parse(SOURCE)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        taylor_coefficients(trace, {"x": 0.3}, order)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    operations = parse(SOURCE).operation_count
    print(f"Taylor coefficients of every node of a {operations:,}-operation trace (median of 5)")
    print(f"{'order':>5} {'seconds':>8} {'µs per operation':>17}")
    for order in (1, 10, 25, 50):
        seconds = median_seconds(order, 5)
        print(f"{order:>5} {seconds:>8.3f} {seconds / operations * 1e6:>17.1f}")


if __name__ == "__main__":
    main()
