"""The complex math namespace for the complex-step derivative: f'(x) ≈ Im f(x + ih) / h.

Analytic primitives use :mod:`cmath`. The piecewise ones (abs, relu, min, max, floor, sign) are
extended the usual way for complex step: they decide on the real part and carry the imaginary part
through the branch taken, so their complex-step derivative equals adcli's convention away from ties.
"""

import cmath
import math
from cmath import acos, acosh, asin, asinh, atan, atanh, cos, cosh, exp, sin, sinh, sqrt, tan, tanh  # noqa: F401
from operator import add, mul, neg, sub
from operator import truediv as div

from adcli.primitives import builtin_names

__all__ = ["add", "sub", "mul", "div", "neg", "acos", "asin", "atan", "cos", "cosh", "exp", "log", "sin", "sinh",
           "sqrt", "tan", "tanh", "sigmoid", "relu", "abs", "min", "max", "floor", "sign", "pow",
           "log10", "log2", "log1p", "expm1", "softplus", "erf", "erfc", "atan2", "hypot", "asinh", "acosh", "atanh"]


def log(z: complex) -> complex:
    if z.real <= 0:
        raise ValueError("log of a non-positive real part")
    return cmath.log(z)


def log10(z: complex) -> complex:
    if z.real <= 0:
        raise ValueError("log10 of a non-positive real part")
    return cmath.log10(z)


def log2(z: complex) -> complex:
    if z.real <= 0:
        raise ValueError("log2 of a non-positive real part")
    return complex(math.log2(abs(z)), cmath.phase(z) / math.log(2))


def log1p(z: complex) -> complex:
    """log(1 + z) without the loss of 1 + z for small z: log|1 + z| = log1p(2a + a^2 + b^2) / 2 for
    z = a + ib, and the phase atan2(b, 1 + a) (cmath has no log1p)."""
    if z.real <= -1:
        raise ValueError("log1p of a real part at or below -1")
    a, b = z.real, z.imag
    if abs(z) >= 0.5:
        return cmath.log(1 + z)
    return complex(0.5 * math.log1p(a * (2 + a) + b * b), math.atan2(b, 1 + a))


def expm1(z: complex) -> complex:
    """exp(z) - 1 without cancellation for small z: exp(a) cos(b) - 1 = expm1(a) cos(b) - 2 sin(b/2)^2
    for z = a + ib (cmath has no expm1)."""
    a, b = z.real, z.imag
    return complex(math.expm1(a) * math.cos(b) - 2 * math.sin(b / 2) ** 2, math.exp(a) * math.sin(b))


def softplus(z: complex) -> complex:
    """log(1 + exp(z)), as the float softplus: exp of a number with a non-positive real part only."""
    return z + log1p(cmath.exp(-z)) if z.real > 0 else log1p(cmath.exp(z))


def erf(z: complex) -> complex:
    """SciPy's erf of a complex number (the Faddeeva function): cmath has no erf, and a series would
    lose digits off the real axis. Imported on first use, as only the complex step calls it."""
    from scipy import special

    return complex(special.erf(z))


def erfc(z: complex) -> complex:
    from scipy import special

    return complex(special.erfc(z))


def atan2(y: complex, x: complex) -> complex:
    """The analytic continuation of atan2 near a real point, branch by branch on the real parts:
    atan(y/x) where x > 0, ±pi/2 - atan(x/y) where y is off 0, ±pi + atan(y/x) on the negative x axis."""
    if x.real > 0:
        return cmath.atan(y / x)
    if y.real != 0:
        return math.copysign(math.pi / 2, y.real) - cmath.atan(x / y)
    if x.real < 0:
        return math.copysign(math.pi, y.real) + cmath.atan(y / x)
    return complex(math.atan2(y.real, x.real))  # the origin: atan2's own value, partials 0


def hypot(x: complex, y: complex) -> complex:
    """sqrt(x^2 + y^2), scaled by the larger real part so that the squares neither overflow nor underflow."""
    scale = max(abs(x.real), abs(y.real))
    if scale == 0:
        return 0j
    x, y = x / scale, y / scale
    return scale * cmath.sqrt(x * x + y * y)


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
