"""micrograd's README example, relu written as the branch it is in Python (micrograd.py: the primitive)."""


def relu(x):
    return x if x > 0 else 0.0


def f(a, b):
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    g = e**2 / 2.0
    g += 10.0 / e**2
    return g
