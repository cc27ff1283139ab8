"""The NumPy math namespace: every primitive on arrays, for large traces and batches of points.

Each function matches its float counterpart in :mod:`adcli.scalar` element by element (a test
checks this), except that an undefined result is NaN instead of an exception; callers detect NaN.
Imported only where arrays pay off, so small runs never load NumPy.
"""

import math

import numpy as np

from adcli.primitives import builtin_names

add, sub, mul, div, neg = np.add, np.subtract, np.multiply, np.divide, np.negative
exp, log, sqrt, sin, cos, tan = np.exp, np.log, np.sqrt, np.sin, np.cos, np.tan
asin, acos, atan, sinh, cosh, tanh = np.arcsin, np.arccos, np.arctan, np.sinh, np.cosh, np.tanh
absolute, floor, sign = np.abs, np.floor, np.sign
log10, log2, log1p, expm1, atan2, hypot = np.log10, np.log2, np.log1p, np.expm1, np.arctan2, np.hypot
asinh, acosh, atanh = np.arcsinh, np.arccosh, np.arctanh
minimum, maximum = np.minimum, np.maximum  # NaN-free inputs, so these match the scalar min and max
where = np.where  # for the array versions of piecewise partials


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp of a non-positive number only."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def softplus(x):
    """log(1 + exp(x)) as the float softplus: max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _elementwise(function):
    """A float function of :mod:`math` applied element by element, for what NumPy lacks."""
    ufunc = np.frompyfunc(function, 1, 1)

    def apply(x):
        return np.asarray(ufunc(x), dtype=float)

    apply.__name__ = function.__name__
    return apply


# NumPy has no erf. SciPy's is within 2 ulps, but its real erfc is off by up to 125 ulps at x = 18
# (mpmath at 50 digits), so both are the C library's, as in adcli.scalar, element by element.
erf, erfc = _elementwise(math.erf), _elementwise(math.erfc)


def relu(x):
    return np.maximum(x, 0.0)


def power(x, y):
    """x ** y over the reals: NaN for a negative base with a non-integer exponent, and for 0 ** negative."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    result = np.power(x, y)
    undefined = ((x < 0) & (y != np.floor(y))) | ((x == 0) & (y < 0))
    return np.where(undefined, np.nan, result)


# The primitives named as builtins, under their primitive names: ``vector_math.abs`` is absolute.
__getattr__ = builtin_names(__name__, {"abs": absolute, "min": minimum, "max": maximum, "pow": power})
