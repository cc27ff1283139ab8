"""A recursive helper: x^n by repeated squaring."""


def power(x, n):
    if n == 0:
        return 1.0
    half = power(x, n // 2)
    return half * half * (x if n % 2 else 1.0)


def f(x):
    return power(x, 5)
