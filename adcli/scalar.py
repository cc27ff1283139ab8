"""The float math namespace: one function per primitive, named as the primitive (``m`` in
``adcli.primitives``).

It is :mod:`math` and :mod:`operator` plus the few functions the expression language has and
:mod:`math` lacks, with the conventions adcli documents (``sign(0) = 0``, a numerically stable
sigmoid).
"""

import math
from math import (  # noqa: F401  # noqa: F401
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cos,
    cosh,
    erf,
    erfc,
    exp,
    expm1,
    hypot,
    log,
    log1p,
    log2,
    log10,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)
from operator import add, mul, neg, sub
from operator import truediv as div

__all__ = ["add", "sub", "mul", "div", "neg", "acos", "asin", "atan", "cos", "cosh", "exp", "log", "sin", "sinh",
           "sqrt", "tan", "tanh", "sigmoid", "relu", "abs", "min", "max", "floor", "sign", "pow",
           "log10", "log2", "log1p", "expm1", "softplus", "erf", "erfc", "atan2", "hypot", "asinh", "acosh", "atanh"]

_builtin_abs, _builtin_min, _builtin_max = abs, min, max


def sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softplus(x: float) -> float:
    """log(1 + exp(x)), without overflow for large x nor loss for large -x."""
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-x if x > 0 else x))


def relu(x: float) -> float:
    return x if x > 0 else 0.0


def abs(x: float) -> float:  # noqa: A001 - the namespace mirrors the expression language
    return _builtin_abs(x)


def min(x: float, y: float) -> float:  # noqa: A001
    return y if y < x else x


def max(x: float, y: float) -> float:  # noqa: A001
    return y if y > x else x


def floor(x: float) -> float:
    return float(math.floor(x))


def sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def pow(x: float, y: float) -> float:  # noqa: A001
    """x ** y over the reals; 0 to a negative power is a division by zero."""
    if x == 0 and y < 0:
        raise ZeroDivisionError("0 cannot be raised to a negative power")
    return math.pow(x, y)
