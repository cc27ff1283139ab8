"""A long loop: n explicit Euler steps of y' = sin(y), so the trace has 2n operations."""
from math import sin


def f(x, n=10000):
    h = 1.0 / n
    y = x
    for _ in range(n):
        y = y + h * sin(y)
    return y
