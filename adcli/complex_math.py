"""The complex math namespace for the complex-step derivative: f'(x) ≈ Im f(x + ih) / h.

Analytic primitives use :mod:`cmath`. The piecewise ones (abs, relu, min, max, floor, sign) are
extended the usual way for complex step: they decide on the real part and carry the imaginary part
through the branch taken, so their complex-step derivative equals adcli's convention away from ties.
"""

import cmath
import math
from cmath import acos, asin, atan, cos, cosh, exp, sin, sinh, sqrt, tan, tanh  # noqa: F401
from operator import add, mul, neg, sub
from operator import truediv as div

from adcli.primitives import builtin_names

__all__ = ["add", "sub", "mul", "div", "neg", "acos", "asin", "atan", "cos", "cosh", "exp", "log", "sin", "sinh",
           "sqrt", "tan", "tanh", "sigmoid", "relu", "abs", "min", "max", "floor", "sign", "pow"]


def log(z: complex) -> complex:
    if z.real <= 0:
        raise ValueError("log of a non-positive real part")
    return cmath.log(z)


def sigmoid(z: complex) -> complex:
    return 1 / (1 + cmath.exp(-z)) if z.real >= 0 else cmath.exp(z) / (1 + cmath.exp(z))


def relu(z: complex) -> complex:
    return z if z.real > 0 else 0j


def absolute(z: complex) -> complex:
    return z if z.real >= 0 else -z


def minimum(z: complex, w: complex) -> complex:
    return w if w.real < z.real else z


def maximum(z: complex, w: complex) -> complex:
    return w if w.real > z.real else z


def floor(z: complex) -> complex:
    return complex(math.floor(z.real))


def sign(z: complex) -> complex:
    return complex((z.real > 0) - (z.real < 0))


def power(z: complex, w: complex) -> complex:
    if z.real == 0 and z.imag == 0 and w.real < 0:
        raise ZeroDivisionError("0 cannot be raised to a negative power")
    if w.imag == 0 and w.real == int(w.real):
        return z ** int(w.real)  # exact for integer powers, also of negative bases
    if z.real < 0:
        raise ValueError("a negative base needs an integer exponent")
    return z**w


# The primitives named as builtins, under their primitive names: ``complex_math.abs`` is absolute.
__getattr__ = builtin_names(__name__, {"abs": absolute, "min": minimum, "max": maximum, "pow": power})
