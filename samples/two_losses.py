"""Two losses of one parameter vector: a squared norm and a sum (gradients accumulate over both)."""


def f(x):
    q = dot(x, x)
    return 2 * q, sum(x)


def dot(a, b):
    total = 0
    for p, r in zip(a, b):
        total = total + p * r
    return total
