"""The NumPy math namespace: every primitive on arrays, for large traces and batches of points.

Each function matches its float counterpart in :mod:`adcli.scalar` element by element (a test
checks this), except that an undefined result is NaN instead of an exception; callers detect NaN.
Imported only where arrays pay off, so small runs never load NumPy.
"""

import numpy as np

from adcli.primitives import builtin_names

add, sub, mul, div, neg = np.add, np.subtract, np.multiply, np.divide, np.negative
exp, log, sqrt, sin, cos, tan = np.exp, np.log, np.sqrt, np.sin, np.cos, np.tan
asin, acos, atan, sinh, cosh, tanh = np.arcsin, np.arccos, np.arctan, np.sinh, np.cosh, np.tanh
absolute, floor, sign = np.abs, np.floor, np.sign
minimum, maximum = np.minimum, np.maximum  # NaN-free inputs, so these match the scalar min and max
where = np.where  # for the array versions of piecewise partials


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp of a non-positive number only."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


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
