"""Univariate Taylor arithmetic: the Taylor rule of every primitive (the recurrences of Griewank &
Walther, *Evaluating Derivatives*, ch. 13), for Taylor mode (:mod:`adcli.taylor`).

A series is a list ``[c0, c1, …, cK]`` of Taylor coefficients of a node's value along the line
x + t·u: ``v(t) = c0 + c1 t + … + cK t^K + O(t^(K+1))``. A rule is called as
``rule(value, partials, *series)`` with the node's value at the point, its float partials there (the
first derivative's, conventions included) and its arguments' series; it returns the node's series.
The degree-0 coefficient is always ``value`` and the degree-1 one follows from ``partials``, so
Taylor mode agrees with forward mode to the last bit. Every rule costs O(K²).

Most rules integrate v' = f'(u) u': with d the series of f'(u), ``v_k = (1/k) Σ_{j=1..k} j u_j d_{k-j}``
(:func:`_integrate`), so only d up to degree K-1 is needed. Where d is itself a function of v (exp,
tan, tanh, sigmoid), it is built one degree behind v (:func:`_coupled`).

Where a partial is infinite (sqrt at 0, asin at ±1, x^y at x = 0), the series has no higher
coefficients: the rule raises :class:`NoExpansion`, and Taylor mode says so (order 1 uses the
first derivative's convention). At a kink of abs, relu, max or min, Taylor mode gives :func:`linear`
the partials of the side the line stays on, or the convention's where it crosses the kink.

Pure Python, no imports beyond the standard library: it loads with the primitive registry.
"""

from __future__ import annotations

import math
from operator import mul

Series = list[float]


class NoExpansion(ValueError):
    """The primitive has no Taylor expansion of order ≥ 2 at this point (an infinite partial)."""


# ---------------------------------------------------------------- series arithmetic
def _conv(a: Series, b: Series, k: int) -> float:
    """The degree-k coefficient of a·b: Σ_{j=0..k} a_j b_{k-j}."""
    return sum(map(mul, a[:k + 1], b[k::-1]))


def _product(a: Series, b: Series) -> Series:
    return [_conv(a, b, k) for k in range(len(a))]


def _weighted(u: Series) -> Series:
    """j·u_j for every j: the terms of the derivative's convolution."""
    return [j * c for j, c in enumerate(u)]


def _integrate(u: Series, d: Series, value: float) -> Series:
    """v with v' = d·u' and v_0 = value: v_k = (1/k) Σ_{j=1..k} j u_j d_{k-j} (d needed to degree K-1)."""
    ju = _weighted(u)
    return [value] + [sum(map(mul, ju[1:k + 1], d[k - 1::-1])) / k for k in range(1, len(u))]


def _coupled(u: Series, value: float, d0: float, d_next) -> Series:
    """v with v' = d·u', where d_m = ``d_next(v, m)`` depends on v_0 … v_m (m ≥ 1) and d_0 = ``d0``."""
    ju = _weighted(u)
    v, d = [value], [d0]
    for k in range(1, len(u)):
        if k > 1:
            d.append(d_next(v, k - 1))
        v.append(sum(map(mul, ju[1:k + 1], d[k - 1::-1])) / k)
    return v


def _reciprocal(a: Series, d0: float, length: int) -> Series:
    """d = c / a to degree ``length - 1``, given d_0 = c / a_0: d_k = -(Σ_{j=1..k} a_j d_{k-j}) / a_0."""
    a0 = a[0]
    d = [d0]
    for k in range(1, length):
        if a0 == 0:
            raise NoExpansion("its derivative is infinite here")
        d.append(-sum(map(mul, a[1:k + 1], d[k - 1::-1])) / a0)
    return d


def _power(a: Series, r: float, d0: float, length: int) -> Series:
    """d = c·a^r to degree ``length - 1``, given d_0: d_k = Σ_{j<k} (r(k-j) - j) a_{k-j} d_j / (k a_0)."""
    a0 = a[0]
    d = [d0]
    for k in range(1, length):
        if a0 == 0:
            raise NoExpansion("its derivative is infinite here")
        d.append(sum((r * (k - j) - j) * a[k - j] * d[j] for j in range(k)) / (k * a0))
    return d


def _exp_of(w: Series, d0: float, length: int) -> Series:
    """d = c·exp(w) to degree ``length - 1``, given d_0: d_k = (1/k) Σ_{j=1..k} j w_j d_{k-j}."""
    jw = _weighted(w)
    d = [d0]
    for k in range(1, length):
        d.append(sum(map(mul, jw[1:k + 1], d[k - 1::-1])) / k)
    return d


def _square(u: Series, sign: float, first: float) -> Series:
    """first + sign·u², where the caller supplies the degree-0 coefficient ``first`` (written so that it
    does not cancel: (1 - u0)(1 + u0) rather than 1 - u0²)."""
    return [first] + [sign * _conv(u, u, k) for k in range(1, len(u))]


def _constant_from(value: float, length: int) -> Series:
    return [value] + [0.0] * (length - 1)


def _sqrt_of(square: Series, value: float) -> Series:
    """v = sqrt(s) with v_0 = ``value``: v_k = (s_k - Σ_{j=1..k-1} v_j v_{k-j}) / (2 v_0)."""
    v = [value]
    for k in range(1, len(square)):
        if value == 0:
            raise NoExpansion("its derivative is infinite here")
        v.append((square[k] - sum(map(mul, v[1:k], v[k - 1:0:-1]))) / (2 * value))
    return v


# ---------------------------------------------------------------- arithmetic
def add(value: float, partials: tuple, u: Series, w: Series) -> Series:
    """v = u + w."""
    return [value] + [a + b for a, b in zip(u[1:], w[1:])]


def sub(value: float, partials: tuple, u: Series, w: Series) -> Series:
    """v = u - w."""
    return [value] + [a - b for a, b in zip(u[1:], w[1:])]


def neg(value: float, partials: tuple, u: Series) -> Series:
    """v = -u."""
    return [value] + [-a for a in u[1:]]


def mul_rule(value: float, partials: tuple, u: Series, w: Series) -> Series:
    """v = u·w: the Cauchy product, v_k = Σ_{j=0..k} u_j w_{k-j}."""
    return [value] + [_conv(u, w, k) for k in range(1, len(u))]


def div(value: float, partials: tuple, u: Series, w: Series) -> Series:
    """v = u / w: v_k = (u_k - Σ_{j=0..k-1} v_j w_{k-j}) / w_0."""
    v = [value]
    w0 = w[0]
    for k in range(1, len(u)):
        v.append((u[k] - sum(map(mul, v[:k], w[k:0:-1]))) / w0)
    return v


def pow_rule(value: float, partials: tuple, u: Series, w: Series) -> Series:
    """v = u^w. A constant exponent r: v_k = Σ_{j<k} (r(k-j) - j) u_{k-j} v_j / (k u_0), and at
    u_0 = 0 repeated squaring for a whole r ≥ 0. A varying exponent: exp(w·log u), and 0 where u stays 0
    and w_0 > 0. Where u_0 < 0 the exponent is taken as the constant w_0, as the first derivative's
    convention does."""
    length = len(u)
    r = w[0]
    if u[0] == 0 and r > 0 and not any(u[1:]):  # 0^w with w > 0 is 0 all along the line
        return _constant_from(value, length)
    if u[0] < 0 or not any(w[1:]):
        if u[0] != 0:
            return _power(u, r, value, length)
        if r == math.floor(r) and r >= 0:
            return _whole_power(u, int(r))
        raise NoExpansion(f"x^{r:g} at x = 0 has no Taylor series")
    if u[0] == 0:
        raise NoExpansion("x^y at x = 0 with a varying exponent has no Taylor series")
    exponent = mul_rule(r * math.log(u[0]), (), w, log(math.log(u[0]), (1 / u[0],), u))
    return _exp_of(exponent, value, length)


def _whole_power(u: Series, r: int) -> Series:
    """u^r for a whole r ≥ 0 by repeated squaring (at u_0 = 0, where the recurrence divides by 0)."""
    result = _constant_from(1.0, len(u))
    base = u
    while r:
        if r & 1:
            result = _product(result, base)
        r >>= 1
        if r:
            base = _product(base, base)
    return result


# ---------------------------------------------------------------- exponential and log
def exp(value: float, partials: tuple, u: Series) -> Series:
    """v = exp(u): v' = v u'."""
    return _coupled(u, value, partials[0], lambda v, m: v[m])


def expm1(value: float, partials: tuple, u: Series) -> Series:
    """v = exp(u) - 1: v' = (v + 1) u'."""
    return _coupled(u, value, partials[0], lambda v, m: v[m])


def log(value: float, partials: tuple, u: Series) -> Series:
    """v = log(u) (and log2, log10, log1p: v' = c u' / a with a = u or 1 + u)."""
    return _integrate(u, _reciprocal(u, partials[0], len(u) - 1), value)


def log1p(value: float, partials: tuple, u: Series) -> Series:
    """v = log(1 + u): v' = u' / (1 + u)."""
    return _integrate(u, _reciprocal([1 + u[0]] + u[1:], partials[0], len(u) - 1), value)


def softplus(value: float, partials: tuple, u: Series) -> Series:
    """v = log(1 + exp(u)): v' = sigmoid(u) u'."""
    s0 = partials[0]  # sigmoid(u_0); its derivative e / (1 + e)^2, e = exp(-|u_0|), does not cancel
    e = math.exp(-abs(u[0]))
    sig = sigmoid(s0, (e / ((1 + e) * (1 + e)),), u[:-1])
    return _integrate(u, sig, value)


def erf(value: float, partials: tuple, u: Series) -> Series:
    """v = erf(u) (or erfc): v' = ±2/√π exp(-u²) u'."""
    return _integrate(u, _exp_of(_square(u, -1.0, 0.0), partials[0], len(u) - 1), value)


def sqrt(value: float, partials: tuple, u: Series) -> Series:
    """v = sqrt(u): v_k = (u_k - Σ_{j=1..k-1} v_j v_{k-j}) / (2 v_0)."""
    return _sqrt_of(u, value)


# ---------------------------------------------------------------- trigonometric and hyperbolic
def _sine_pair(u: Series, s0: float, c0: float, sign: float) -> tuple[Series, Series]:
    """s = sin(u), c = cos(u) (sign -1) or sinh, cosh (sign +1): s' = c u', c' = sign·s u'."""
    ju = _weighted(u)
    s, c = [s0], [c0]
    for k in range(1, len(u)):
        terms = ju[1:k + 1]
        s.append(sum(map(mul, terms, c[k - 1::-1])) / k)
        c.append(sign * sum(map(mul, terms, s[k - 1::-1])) / k)
    return s, c


def sin(value: float, partials: tuple, u: Series) -> Series:
    """v = sin(u), with cos(u) alongside."""
    return _sine_pair(u, value, partials[0], -1.0)[0]


def cos(value: float, partials: tuple, u: Series) -> Series:
    """v = cos(u), with sin(u) alongside."""
    return _sine_pair(u, -partials[0], value, -1.0)[1]


def sinh(value: float, partials: tuple, u: Series) -> Series:
    """v = sinh(u), with cosh(u) alongside."""
    return _sine_pair(u, value, partials[0], 1.0)[0]


def cosh(value: float, partials: tuple, u: Series) -> Series:
    """v = cosh(u), with sinh(u) alongside."""
    return _sine_pair(u, partials[0], value, 1.0)[1]


def tan(value: float, partials: tuple, u: Series) -> Series:
    """v = tan(u): v' = (1 + v²) u'."""
    return _coupled(u, value, partials[0], lambda v, m: _conv(v, v, m))


def tanh(value: float, partials: tuple, u: Series) -> Series:
    """v = tanh(u): v' = (1 - v²) u' (d_0 from the registry's partial, which does not cancel)."""
    return _coupled(u, value, partials[0], lambda v, m: -_conv(v, v, m))


def sigmoid(value: float, partials: tuple, u: Series) -> Series:
    """v = sigmoid(u): v' = (v - v²) u'."""
    return _coupled(u, value, partials[0], lambda v, m: v[m] - _conv(v, v, m))


def asin(value: float, partials: tuple, u: Series) -> Series:
    """v = asin(u) (or acos, with the partial's sign): v' = ±(1 - u²)^(-1/2) u'."""
    a = _square(u, -1.0, (1 - u[0]) * (1 + u[0]))
    return _integrate(u, _power(a, -0.5, partials[0], len(u) - 1), value)


def atan(value: float, partials: tuple, u: Series) -> Series:
    """v = atan(u): v' = u' / (1 + u²)."""
    return _integrate(u, _reciprocal(_square(u, 1.0, 1 + u[0] * u[0]), partials[0], len(u) - 1), value)


def asinh(value: float, partials: tuple, u: Series) -> Series:
    """v = asinh(u): v' = (1 + u²)^(-1/2) u'."""
    a = _square(u, 1.0, 1 + u[0] * u[0])
    return _integrate(u, _power(a, -0.5, partials[0], len(u) - 1), value)


def acosh(value: float, partials: tuple, u: Series) -> Series:
    """v = acosh(u): v' = (u² - 1)^(-1/2) u'."""
    a = _square(u, 1.0, (u[0] - 1) * (u[0] + 1))
    return _integrate(u, _power(a, -0.5, partials[0], len(u) - 1), value)


def atanh(value: float, partials: tuple, u: Series) -> Series:
    """v = atanh(u): v' = u' / (1 - u²)."""
    a = _square(u, -1.0, (1 - u[0]) * (1 + u[0]))
    return _integrate(u, _reciprocal(a, partials[0], len(u) - 1), value)


def atan2(value: float, partials: tuple, y: Series, x: Series) -> Series:
    """v = atan2(y, x): v' = (x y' - y x') / (x² + y²), with (y, x) scaled by a power of 2 (v does not
    change) so that x² + y² neither overflows nor underflows. At (0, 0) the convention: partials 0."""
    if y[0] == 0 and x[0] == 0:
        return _constant_from(value, len(y))
    scale = math.ldexp(1.0, -math.frexp(max(abs(y[0]), abs(x[0])))[1])
    y, x = [c * scale for c in y], [c * scale for c in x]
    length = len(y)
    dy, dx = [k * y[k] for k in range(1, length)], [k * x[k] for k in range(1, length)]
    numerator = [_conv(x, dy, k) - _conv(y, dx, k) for k in range(length - 1)]
    r2 = [_conv(x, x, k) + _conv(y, y, k) for k in range(length - 1)]
    q = div(numerator[0] / r2[0], (), numerator, r2) if length > 1 else []
    return [value] + [q[k - 1] / k for k in range(1, length)]


def hypot(value: float, partials: tuple, u: Series, w: Series) -> Series:
    """v = hypot(u, w): v² = u² + w², so v_k = (Σ (u_j u_{k-j} + w_j w_{k-j}) - Σ_{j=1..k-1} v_j v_{k-j}) / (2 v_0).
    At (0, 0) the convention: partials 0, as abs'(0) = 0."""
    if value == 0:
        return _constant_from(value, len(u))
    return _sqrt_of([0.0] + [_conv(u, u, k) + _conv(w, w, k) for k in range(1, len(u))], value)


# ---------------------------------------------------------------- piecewise and discrete
def linear(value: float, partials: tuple, *series: Series) -> Series:
    """v = Σ p_a u_a with the float partials p_a (each constant near the point): abs (sign(u_0), 0 at
    the kink), relu, min and max (1/2 each at a tie), floor and sign (0). These are the first
    derivative's conventions, applied at every order."""
    terms = [(p, u) for p, u in zip(partials, series) if p]
    return [value] + [sum((p * u[k] for p, u in terms), 0.0) for k in range(1, len(series[0]))]
