"""The primitive registry: one table entry per elementary operation.

Every other module (parser, evaluator, forward and reverse sweeps, SymPy bridge, renderers) looks
operations up here, so adding a primitive means adding one ``_define`` call below and its value in
the three math namespaces (CONTRIBUTING.md, "Adding a primitive").

An entry holds:

* the value: the function of the primitive's name in a math namespace ``m`` — ``adcli.scalar`` for
  floats, ``adcli.complex_math`` for the complex step — so ``m.sin``, ``m.add``; a test checks that
  every namespace defines every primitive,
* ``partials(m, *args, out)`` — the local partial derivative with respect to each argument. The
  same rule drives forward mode (tangents) and reverse mode (adjoints), so they cannot drift apart.
  The rules are written by hand, never derived from SymPy, so the SymPy cross-check stays independent.
* ``partial_text`` — how each partial prints in the adjoint update statements (``cos({x})``); a test
  parses these texts and checks them against ``partials``.
* ``domain`` — a predicate on the arguments and the message shown when it fails,
* ``kinks`` — per argument, where the partial is not defined and ``convention`` (the value used there),
* ``sympy(sp, *args)`` — the SymPy counterpart, and how the operation prints (infix symbol or call).
* ``taylor(value, partials, *series)`` — the Taylor rule: the node's Taylor coefficients to any order
  from its arguments' (:mod:`adcli.series`, the recurrences of Griewank & Walther ch. 13).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from adcli import series

INF = math.inf
NAN = math.nan

# Opcodes 0 and 1 are the two kinds of leaf; primitives start at FIRST_PRIMITIVE.
INPUT = 0
CONST = 1
FIRST_PRIMITIVE = 2


@dataclass(eq=False, repr=False)  # registry entries compare by identity, and nothing changes them
class Primitive:
    """One elementary operation. See the module docstring for the meaning of each field."""

    name: str
    arity: int
    partials: Callable[..., tuple]
    partial_text: tuple[str, ...]
    sympy: Callable
    python: str = ""  # the value as Python source over {x}, {y} (math functions, or helpers codegen defines)
    symbol: str | None = None  # infix symbol for binary operators, prefix for negation
    precedence: int = 0  # binding strength of an infix symbol, for printing
    domain: Callable[..., bool] | None = None  # True where the operation is defined
    domain_message: str = ""
    domain_text: str = ""  # ``domain`` as a Python condition over x and y, for the reference card (adcli rules)
    kinks: tuple[Callable[..., bool] | None, ...] = ()  # per argument: True where a convention is used
    kink_text: tuple[str, ...] = ()  # ``kinks`` as Python conditions over x and y, per argument
    convention: str = ""
    # At a kink: per argument, its one-sided derivatives (left, right), None on a side where the
    # operation is undefined; the whole entry None for an argument whose partial is ordinary there.
    sides: Callable[..., tuple] | None = None
    # At a kink: the partials PyTorch, JAX or autograd use there (measured, benchmarks/conventions.py),
    # as a function of adcli's partials and the arguments; a framework not listed uses adcli's.
    peers: dict[str, Callable[..., tuple]] = field(default_factory=dict)
    # Python's builtin max/min return their first argument at a tie, so a framework's gradient of the
    # builtin goes to it: these partials (function files call the builtin; expressions a primitive).
    builtin_tie: tuple[float, ...] | None = None
    discrete: bool = False  # piecewise constant: its derivative is 0, so no gradient flows through it
    # The same partials for NumPy arrays (m = adcli.vector_math), for the few rules whose float
    # version branches in Python; a test checks that the two agree at every kind of point.
    partials_on_arrays: Callable[..., tuple] | None = None
    # The partials as Python source over {x}, {y}, {out}, for generated code, where the printed rule
    # alone would miss the convention at a kink (sqrt'(0) = inf, not a ZeroDivisionError).
    python_partials: tuple[str, ...] = ()
    # Where a second partial is infinite (sqrt''(0) = -inf), the second partials there, one row per
    # argument (±inf: the limit from inside the domain), and None elsewhere. The recorded reverse
    # sweep cannot differentiate a partial that is a constant there (sqrt'(0) = inf), so
    # adcli.hessian takes these instead.
    kink_second_partials: Callable[..., tuple[tuple[float, ...], ...] | None] | None = None
    # The Taylor rule (adcli.series): the node's Taylor coefficients from its value, its float partials
    # and its arguments' coefficients, in O(K²); at a kink it follows the first derivative's convention.
    taylor: Callable[..., list[float]] | None = None
    # For graph optimisation (adcli.optimize): True where swapping the two arguments gives the same
    # float bit for bit, and the same partials swapped (IEEE makes a + b and a * b exact this way).
    commutative: bool = False
    # Per argument, the constant that, in that position, makes the operation return its other
    # argument bit for bit for every float (signed zeros, infinities and NaN included), with a partial
    # of exactly 1 for it: x * 1, x / 1, x - 0, x + (-0) (not x + 0: -0 + 0 is +0); None for none.
    neutral: tuple[float | None, ...] = ()
    opcode: int = -1

    def evaluate(self, m, *args):
        """The value of the operation on ``args``, computed with the math namespace ``m``."""
        return getattr(m, self.name)(*args)

    def call_text(self, args: list[str]) -> str:
        """The operation applied to already-printed arguments: ``v1 * v2``, ``-v1``, ``sin(v1)``."""
        return self.call_template.format(*args)

    @property
    def call_template(self) -> str:
        """How the operation prints, as a template over its arguments ``{0}`` (and ``{1}``):
        ``{0} * {1}``, ``-{0}``, ``sin({0})``; bulk printers format it once per node."""
        fields = ["{0}", "{1}"][:self.arity]
        if self.symbol is None:
            return f"{self.name}({', '.join(fields)})"
        if self.arity == 1:
            return f"{self.symbol}{fields[0]}"
        return f"{fields[0]} {self.symbol} {fields[1]}"


PRIMITIVES: list[Primitive | None] = [None, None]  # indexed by opcode; INPUT and CONST are leaves
BY_NAME: dict[str, Primitive] = {}


def primitive_of(opcode: int) -> Primitive:
    """The primitive of ``opcode``, an operation's code (the leaves INPUT and CONST have none)."""
    primitive = PRIMITIVES[opcode]
    if primitive is None:
        raise ValueError(f"opcode {opcode} is a leaf (an input or a constant), not an operation")
    return primitive


def operations() -> list[Primitive]:
    """Every primitive, in opcode order from ``FIRST_PRIMITIVE`` (the entries of ``PRIMITIVES`` after the leaves)."""
    return [primitive for primitive in PRIMITIVES if primitive is not None]


def _define(name: str, arity: int, partials, partial_text, sympy, **fields) -> None:
    opcode = len(PRIMITIVES)
    fields.setdefault("python", f"math.{name}({{x}})")
    primitive = Primitive(name, arity, partials, tuple(partial_text), sympy, opcode=opcode, **fields)
    PRIMITIVES.append(primitive)
    BY_NAME[name] = primitive


def _is_integer(y: float) -> bool:
    return y == math.floor(y)


def _plain(x):
    """The number a rule argument holds: itself, or a traced value's value (higher derivatives)."""
    return getattr(x, "value", x)


# The rules below are also applied to traced values to record the reverse sweep for second
# derivatives (adcli.hessian), so a rule that branches on a value must still return an expression
# that depends on every argument its true partial depends on: at y == 0, d(x^y)/dx is 0 for every
# x, yet its derivative along y is 1/x, so the rule returns y / x there and not the constant 0.
def _pow_partials(m, x, y, out):
    if x > 0:
        d_base = y / x if y == 0 else y * m.pow(x, y - 1)  # y / x: x^-1 overflows at subnormal x
        return d_base, out * m.log(x)
    if x < 0:  # y is an integer; x^y has no real values for nearby y, so y is taken as a constant
        c = _plain(y)
        return (0.0 if c == 0 else c * m.pow(x, c - 1)), 0.0
    return (0.0 if y == 0 else INF if 0 < y < 1 else y * m.pow(x, y - 1)), 0.0  # x == 0


def _pow_second_partials(x, y):
    """At x = 0 and 0 < y <= 1, as x -> 0+: d2/dx2 = y(y-1)x^(y-2) -> -inf (0 at y = 1), and
    d2/dxdy = x^(y-1)(1 + y log x) -> -inf; d2/dy2 = 0, as 0^y = 0 for every y > 0."""
    if x != 0 or not 0 < y <= 1:
        return None
    return (-INF if y < 1 else 0.0, -INF), (-INF, 0.0)


def _sqrt_partial(m, x, out):
    return (0.5 / out if out != 0 else INF,)


def _arcsine_partial(m, x, out):
    return (1 / m.sqrt((1 - x) * (1 + x)) if abs(_plain(x)) != 1 else INF,)  # (1 - x)(1 + x): 1 - x*x cancels near ±1


def _arccosine_partial(m, x, out):
    return (-1 / m.sqrt((1 - x) * (1 + x)) if abs(_plain(x)) != 1 else -INF,)


def _arctangent_partial(m, x, out):
    if abs(_plain(x)) > 1:  # 1 / (1 + x*x) with x*x overflowing would be 0 at 1e155, not 1e-310
        u = 1 / x
        return (u / (x + u),)
    return (1 / (1 + x * x),)


def _sech_squared(m, x, tanh_x=None):
    """1 - tanh(x)^2 where tanh(x) stays away from ±1; beyond, where it cancels (it is 0 once tanh(x)
    rounds to ±1, at x > 19), 4z / (1 + z)^2 with z = exp(-2|x|), whose derivative in turn would
    cancel near 0."""
    if abs(_plain(x)) < 0.55:  # |tanh(x)| < 1/2
        t = m.tanh(x) if tanh_x is None else tanh_x
        return 1 - t * t
    z = m.exp(-2 * m.abs(x))
    return 4 * z / ((1 + z) * (1 + z))


def _sech_squared_on_arrays(m, x, tanh_x):
    z = m.exp(-2 * m.abs(x))
    return m.where(m.abs(x) < 0.55, 1 - tanh_x * tanh_x, 4 * z / ((1 + z) * (1 + z)))


def _tanh_partial(m, x, out):
    return (_sech_squared(m, x, out),)


def _sigmoid_partial(m, x, out):
    """sigmoid' = sech(x/2)^2 / 4, without the cancellation of sigmoid(x) (1 - sigmoid(x)) where
    sigmoid(x) rounds to 1."""
    return (0.25 * _sech_squared(m, x / 2),)


def _pow_sides(x, y):
    if x < 0:  # no real values for nearby y; x's partial is ordinary
        return None, (None, None)
    if y == 0:  # x^0 = 1 on both sides of x = 0; 0^y = 0 for y > 0, undefined for y < 0
        return None, (None, -INF)
    return (None, INF), None  # x = 0, 0 < y < 1: x^y is undefined for x < 0; 0^y = 0 nearby


def _peer_pow(partials, x, y):
    """PyTorch and autograd: d/dy = x^y log(x) is nan where x < 0."""
    return (partials[0], NAN) if x < 0 else partials


def _jax_pow(partials, x, y):
    """JAX as PyTorch, and d(x^0)/dx at x = 0 is nan."""
    return (NAN, partials[1]) if x == 0 and y == 0 else _peer_pow(partials, x, y)


def _max_partials(m, x, y, out):
    return (1.0, 0.0) if x > y else (0.0, 1.0) if y > x else (0.5, 0.5)


def _min_partials(m, x, y, out):
    return (1.0, 0.0) if x < y else (0.0, 1.0) if y < x else (0.5, 0.5)


# The float rules above, for arrays: NumPy divides by zero to inf, so only the ties and the
# pow cases need an explicit choice.
def _pow_partials_on_arrays(m, x, y, out):
    d_base = m.where(y == 0, 0.0, m.where((x == 0) & (0 < y) & (y < 1), INF, y * m.pow(x, y - 1)))
    return d_base, m.where(x > 0, out * m.log(x), 0.0)


def _arcsine_partial_on_arrays(m, x, out):
    return (1 / m.sqrt((1 - x) * (1 + x)),)


def _arctangent_partial_on_arrays(m, x, out):
    u = 1 / x
    return (m.where(m.abs(x) > 1, u / (x + u), 1 / (1 + x * x)),)


def _max_partials_on_arrays(m, x, y, out):
    return m.where(x > y, 1.0, m.where(x == y, 0.5, 0.0)), m.where(y > x, 1.0, m.where(x == y, 0.5, 0.0))


def _min_partials_on_arrays(m, x, y, out):
    return m.where(x < y, 1.0, m.where(x == y, 0.5, 0.0)), m.where(y < x, 1.0, m.where(x == y, 0.5, 0.0))


# The rules of the primitives of issue 16: each written so that it neither cancels nor overflows
# where its derivative is a float (tests/test_accuracy.py holds each to a bound in ulps).
_INV_LN2 = 1 / math.log(2)
_INV_LN10 = 1 / math.log(10)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SPLIT = 134217729.0  # 2^27 + 1: Dekker's split of a double into two halves of 26 bits


def _square_error(x):
    """x*x - fl(x*x), exactly (Dekker's product), for floats or arrays with |x| < 1e150."""
    t = _SPLIT * x
    high = t - (t - x)
    low = x - high
    return ((high * high - x * x) + 2 * high * low) + low * low


def _gaussian(m, x):
    """exp(-x^2) to a few ulps: exp(-fl(x*x)) alone is off by x^2 ulps (360 at x = 27), so the
    rounding error e of x*x is put back as exp(-x*x - e) = exp(-x*x) (1 - e) (e < 1e-13)."""
    plain = _plain(x)
    error = _square_error(plain) if abs(plain) < 1e150 else 0.0
    return m.exp(-(x * x)) * (1 - error)


def _gaussian_on_arrays(m, x):
    small = m.where(m.abs(x) < 1e150, x, 0.0)
    return m.exp(-(x * x)) * (1 - _square_error(small))


def _acosh_partial(m, x, out):
    return (1 / (m.sqrt(x - 1) * m.sqrt(x + 1)) if _plain(x) != 1 else INF,)  # no x*x: it overflows at 1e154


def _unit_scale(y, x):
    """A power of 2 that brings the pair out of the subnormals, where hypot loses digits: 1 elsewhere."""
    return 2.0**600 if max(abs(y), abs(x)) < 2.0**-500 else 1.0


def _atan2_partials(m, y, x, out):
    """d atan2(y, x) = (x dy - y dx) / (x^2 + y^2). Both partials are homogeneous of degree -1, so
    with (y, x) scaled exactly by s = s1 s2 (powers of 2) into [1/2, 1), they are s x' / r'^2 and
    -s y' / r'^2 with r'^2 = x'^2 + y'^2, which neither overflows nor underflows."""
    if _plain(y) == 0 and _plain(x) == 0:
        return 0.0 * x, 0.0 * y  # the convention at the origin, where atan2 has no limit
    exponent = math.frexp(max(abs(_plain(y)), abs(_plain(x))))[1]
    s1, s2 = math.ldexp(1.0, -exponent // 2), math.ldexp(1.0, -exponent - (-exponent // 2))
    ys, xs = y * s1 * s2, x * s1 * s2
    r2 = xs * xs + ys * ys
    return xs * s1 / r2 * s2, -ys * s1 / r2 * s2  # s1 first: no subnormal quotient


def _atan2_partials_on_arrays(m, y, x, out):
    np = m.np
    exponent = np.frexp(np.maximum(np.abs(y), np.abs(x)))[1]
    s1, s2 = np.ldexp(1.0, -exponent // 2), np.ldexp(1.0, -exponent - (-exponent // 2))
    ys, xs = y * s1 * s2, x * s1 * s2
    r2 = xs * xs + ys * ys
    r2 = np.where(r2 == 0, INF, r2)  # the origin: 0, as the float rule
    return xs * s1 / r2 * s2, -ys * s1 / r2 * s2  # s1 first: no subnormal quotient


def _hypot_partials(m, x, y, out):
    """(x, y) / hypot(x, y), scaled out of the subnormals (the partials are homogeneous of degree 0)."""
    if _plain(x) == 0 and _plain(y) == 0:  # the convention of abs'(0) (sign(0) = 0), depending on x and y
        return m.sign(x), m.sign(y)
    s = _unit_scale(_plain(x), _plain(y))
    if s == 1.0:
        return x / out, y / out
    xs, ys = x * s, y * s
    r = m.hypot(xs, ys)
    return xs / r, ys / r


def _hypot_partials_on_arrays(m, x, y, out):
    s = m.where(m.maximum(m.abs(x), m.abs(y)) < 2.0**-500, 2.0**600, 1.0)
    xs, ys = x * s, y * s
    r = m.hypot(xs, ys)
    r = m.where(r == 0, INF, r)  # the origin: 0, as the float rule
    return xs / r, ys / r


_TIE = "1/2 for each argument at a tie (the gradient is split evenly)"


def _tie(x, y):
    return x == y


# ---------------------------------------------------------------- arithmetic
_define("add", 2, lambda m, x, y, out: (1.0, 1.0), ("1", "1"),
        lambda sp, x, y: x + y, python="{x} + {y}", symbol="+", precedence=1, taylor=series.add,
        commutative=True, neutral=(-0.0, -0.0))
_define("sub", 2, lambda m, x, y, out: (1.0, -1.0), ("1", "-1"),
        lambda sp, x, y: x - y, python="{x} - {y}", symbol="-", precedence=1, taylor=series.sub,
        neutral=(None, 0.0))
_define("mul", 2, lambda m, x, y, out: (y, x), ("{y}", "{x}"),
        lambda sp, x, y: x * y, python="{x} * {y}", symbol="*", precedence=2, taylor=series.mul_rule,
        commutative=True, neutral=(1.0, 1.0))
_define("div", 2, lambda m, x, y, out: (1 / y, -out / y), ("1 / {y}", "-{out} / {y}"),
        lambda sp, x, y: x / y, python="{x} / {y}", symbol="/", precedence=2,
        domain=lambda x, y: y != 0, domain_message="division by zero{y_where}", domain_text="y != 0",
        taylor=series.div, neutral=(None, 1.0))
_define("neg", 1, lambda m, x, out: (-1.0,), ("-1",),
        lambda sp, x: -x, python="-{x}", symbol="-", precedence=3, taylor=series.neg)
_define("pow", 2, _pow_partials, ("{y} * {x}^({y} - 1)", "{out} * log({x})"),
        lambda sp, x, y: x**y, python="math.pow({x}, {y})", symbol="^", precedence=4,
        domain=lambda x, y: (x > 0 or (x == 0 and y >= 0) or (x < 0 and _is_integer(y))),
        domain_message="pow is undefined at base {x}, exponent {y}",
        domain_text="x > 0 or x == 0 and y >= 0 or x < 0 and y == floor(y)",
        kinks=(lambda x, y: x == 0 and 0 < y < 1, lambda x, y: x < 0 or (x == 0 and y <= 0)),
        kink_text=("x == 0 and 0 < y < 1", "x < 0 or x == 0 and y <= 0"),
        convention="d(x^y)/dx = inf at x = 0 for 0 < y < 1, and d(x^y)/dy = 0 where x < 0 "
                   "(x^y has no real values for nearby y)",
        sides=_pow_sides, peers={"pytorch": _peer_pow, "jax": _jax_pow, "autograd": _peer_pow},
        partials_on_arrays=_pow_partials_on_arrays,
        kink_second_partials=_pow_second_partials,
        python_partials=("0.0 if {y} == 0 else math.inf if {x} == 0 and 0 < {y} < 1 else {y} * math.pow({x}, {y} - 1)",
                         "{out} * math.log({x}) if {x} > 0 else 0.0"), taylor=series.pow_rule)

# ------------------------------------------------------- exponential and log
_define("exp", 1, lambda m, x, out: (out,), ("{out}",), lambda sp, x: sp.exp(x), taylor=series.exp)
_define("log", 1, lambda m, x, out: (1 / x,), ("1 / {x}",), lambda sp, x: sp.log(x),
        domain=lambda x: x > 0, domain_message="log is undefined at {x}", domain_text="x > 0", taylor=series.log)
_define("log10", 1, lambda m, x, out: (_INV_LN10 / x,), ("1 / ({x} * log(10))",), lambda sp, x: sp.log(x, 10),
        domain=lambda x: x > 0, domain_message="log10 is undefined at {x}", domain_text="x > 0", taylor=series.log)
_define("log2", 1, lambda m, x, out: (_INV_LN2 / x,), ("1 / ({x} * log(2))",), lambda sp, x: sp.log(x, 2),
        domain=lambda x: x > 0, domain_message="log2 is undefined at {x}", domain_text="x > 0", taylor=series.log)
_define("log1p", 1, lambda m, x, out: (1 / (1 + x),), ("1 / (1 + {x})",), lambda sp, x: sp.log(1 + x),
        domain=lambda x: x > -1, domain_message="log1p is undefined at {x} (at or below -1)",
        domain_text="x > -1", taylor=series.log1p)
_define("expm1", 1, lambda m, x, out: (m.exp(x),), ("exp({x})",), lambda sp, x: sp.exp(x) - 1, taylor=series.expm1)
_define("softplus", 1, lambda m, x, out: (m.sigmoid(x),), ("sigmoid({x})",),
        lambda sp, x: sp.log(1 + sp.exp(x)), python="_softplus({x})", taylor=series.softplus)
_define("erf", 1, lambda m, x, out: (_TWO_OVER_SQRT_PI * _gaussian(m, x),), ("2 / sqrt(pi) * exp(-{x}^2)",),
        lambda sp, x: sp.erf(x),
        partials_on_arrays=lambda m, x, out: (_TWO_OVER_SQRT_PI * _gaussian_on_arrays(m, x),), taylor=series.erf)
_define("erfc", 1, lambda m, x, out: (-_TWO_OVER_SQRT_PI * _gaussian(m, x),), ("-2 / sqrt(pi) * exp(-{x}^2)",),
        lambda sp, x: sp.erfc(x),
        partials_on_arrays=lambda m, x, out: (-_TWO_OVER_SQRT_PI * _gaussian_on_arrays(m, x),), taylor=series.erf)
_define("sqrt", 1, _sqrt_partial, ("0.5 / {out}",), lambda sp, x: sp.sqrt(x),
        domain=lambda x: x >= 0, domain_message="sqrt is undefined at {x}", domain_text="x >= 0",
        kinks=(lambda x: x == 0,), kink_text=("x == 0",), convention="sqrt'(0) = inf", sides=lambda x: ((None, INF),),
        partials_on_arrays=lambda m, x, out: (0.5 / m.abs(out),),  # abs: sqrt(-0.0) is -0.0
        kink_second_partials=lambda x: ((-INF,),) if x == 0 else None,  # sqrt''(x) = -x^(-3/2) / 4
        python_partials=("0.5 / {out} if {out} != 0 else math.inf",), taylor=series.sqrt)

# ---------------------------------------------------------- trigonometric
_define("sin", 1, lambda m, x, out: (m.cos(x),), ("cos({x})",), lambda sp, x: sp.sin(x), taylor=series.sin)
_define("cos", 1, lambda m, x, out: (-m.sin(x),), ("-sin({x})",), lambda sp, x: sp.cos(x), taylor=series.cos)
_define("tan", 1, lambda m, x, out: (1 + out * out,), ("1 + {out}^2",),
        lambda sp, x: sp.tan(x), taylor=series.tan)
_define("asin", 1, _arcsine_partial, ("1 / sqrt(1 - {x}^2)",), lambda sp, x: sp.asin(x),
        domain=lambda x: -1 <= x <= 1, domain_message="asin is undefined at {x} (outside [-1, 1])",
        domain_text="-1 <= x <= 1", kinks=(lambda x: abs(x) == 1,), kink_text=("x == -1 or x == 1",),
        convention="asin'(±1) = inf",
        sides=lambda x: ((INF, None) if x > 0 else (None, INF),),
        partials_on_arrays=_arcsine_partial_on_arrays,
        kink_second_partials=lambda x: ((INF * x,),) if abs(x) == 1 else None,  # asin''(x) = x (1 - x^2)^(-3/2)
        python_partials=("1 / math.sqrt((1 - {x}) * (1 + {x})) if abs({x}) != 1 else math.inf",), taylor=series.asin)
_define("acos", 1, _arccosine_partial, ("-1 / sqrt(1 - {x}^2)",),
        lambda sp, x: sp.acos(x),
        domain=lambda x: -1 <= x <= 1, domain_message="acos is undefined at {x} (outside [-1, 1])",
        domain_text="-1 <= x <= 1", kinks=(lambda x: abs(x) == 1,), kink_text=("x == -1 or x == 1",),
        convention="acos'(±1) = -inf",
        sides=lambda x: ((-INF, None) if x > 0 else (None, -INF),),
        partials_on_arrays=lambda m, x, out: (-_arcsine_partial_on_arrays(m, x, out)[0],),
        kink_second_partials=lambda x: ((-INF * x,),) if abs(x) == 1 else None,
        python_partials=("-1 / math.sqrt((1 - {x}) * (1 + {x})) if abs({x}) != 1 else -math.inf",), taylor=series.asin)
_define("atan", 1, _arctangent_partial, ("1 / (1 + {x}^2)",),
        lambda sp, x: sp.atan(x), partials_on_arrays=_arctangent_partial_on_arrays,
        python_partials=("1 / (1 + {x} * {x}) if abs({x}) <= 1 else 1 / {x} / ({x} + 1 / {x})",), taylor=series.atan)

_define("atan2", 2, _atan2_partials,
        ("{y} / ({x}^2 + {y}^2)", "-{x} / ({x}^2 + {y}^2)"),  # atan2(y, x): {x} is its first argument, y
        lambda sp, y, x: sp.atan2(y, x), python="math.atan2({x}, {y})",
        kinks=(lambda y, x: y == 0 and x == 0, lambda y, x: y == 0 and x == 0),
        kink_text=("x == 0 and y == 0", "x == 0 and y == 0"),  # (the card names the arguments x, y in order)
        convention="atan2's partials are 0 at (0, 0), where atan2 has no limit",
        partials_on_arrays=_atan2_partials_on_arrays,
        python_partials=("{y} / math.hypot({x}, {y}) / math.hypot({x}, {y}) if {x} or {y} else 0.0",
                         "-{x} / math.hypot({x}, {y}) / math.hypot({x}, {y}) if {x} or {y} else 0.0"),
        taylor=series.atan2)
_define("hypot", 2, _hypot_partials, ("{x} / {out}", "{y} / {out}"),
        lambda sp, x, y: sp.sqrt(x**2 + y**2), python="math.hypot({x}, {y})",
        kinks=(lambda x, y: x == 0 and y == 0, lambda x, y: x == 0 and y == 0),
        kink_text=("x == 0 and y == 0", "x == 0 and y == 0"),
        convention="hypot's partials are 0 at (0, 0), as abs'(0) = 0", sides=lambda x, y: ((-1.0, 1.0), (-1.0, 1.0)),
        partials_on_arrays=_hypot_partials_on_arrays,
        python_partials=("{x} / {out} if {out} else 0.0", "{y} / {out} if {out} else 0.0"), taylor=series.hypot)

# ------------------------------------------------------------- hyperbolic
_define("sinh", 1, lambda m, x, out: (m.cosh(x),), ("cosh({x})",), lambda sp, x: sp.sinh(x), taylor=series.sinh)
_define("cosh", 1, lambda m, x, out: (m.sinh(x),), ("sinh({x})",), lambda sp, x: sp.cosh(x), taylor=series.cosh)
_define("tanh", 1, _tanh_partial, ("1 - {out}^2",),
        lambda sp, x: sp.tanh(x), partials_on_arrays=lambda m, x, out: (_sech_squared_on_arrays(m, x, out),),
        python_partials=("4 * math.exp(-2 * abs({x})) / (1 + math.exp(-2 * abs({x}))) ** 2",), taylor=series.tanh)
_define("asinh", 1, lambda m, x, out: (1 / m.hypot(1.0, x),), ("1 / sqrt({x}^2 + 1)",), lambda sp, x: sp.asinh(x),
        python_partials=("1 / math.hypot(1.0, {x})",), taylor=series.asinh)
_define("acosh", 1, _acosh_partial, ("1 / sqrt({x}^2 - 1)",), lambda sp, x: sp.acosh(x),
        domain=lambda x: x >= 1, domain_message="acosh is undefined at {x} (below 1)", domain_text="x >= 1",
        kinks=(lambda x: x == 1,), kink_text=("x == 1",), convention="acosh'(1) = inf", sides=lambda x: ((None, INF),),
        partials_on_arrays=lambda m, x, out: (1 / (m.sqrt(x - 1) * m.sqrt(x + 1)),),
        kink_second_partials=lambda x: ((-INF,),) if x == 1 else None,  # acosh''(x) = -x (x^2 - 1)^(-3/2)
        python_partials=("1 / (math.sqrt({x} - 1) * math.sqrt({x} + 1)) if {x} != 1 else math.inf",),
        taylor=series.acosh)
_define("atanh", 1, lambda m, x, out: (1 / ((1 - x) * (1 + x)),), ("1 / (1 - {x}^2)",), lambda sp, x: sp.atanh(x),
        domain=lambda x: -1 < x < 1, domain_message="atanh is undefined at {x} (outside (-1, 1))",
        domain_text="-1 < x < 1", taylor=series.atanh)
_define("sigmoid", 1, _sigmoid_partial, ("{out} * (1 - {out})",),
        lambda sp, x: 1 / (1 + sp.exp(-x)), python="_sigmoid({x})",
        partials_on_arrays=lambda m, x, out: (0.25 * _sech_squared_on_arrays(m, x / 2, m.tanh(x / 2)),),
        python_partials=("math.exp(-abs({x})) / (1 + math.exp(-abs({x}))) ** 2",), taylor=series.sigmoid)

# ------------------------------------------------------ piecewise and discrete
_define("relu", 1, lambda m, x, out: (1.0 if x > 0 else 0.0,),
        ("sign({out})",), lambda sp, x: sp.Max(x, 0), python="max(0.0, {x})",  # max keeps its first: +0 at -0
        kinks=(lambda x: x == 0,), kink_text=("x == 0",), convention="relu'(0) = 0", sides=lambda x: ((0.0, 1.0),),
        peers={"autograd": lambda partials, x: (0.5,)},  # autograd has no relu: np.maximum(x, 0) splits the tie
        partials_on_arrays=lambda m, x, out: (m.where(x > 0, 1.0, 0.0),), taylor=series.linear)
_define("abs", 1, lambda m, x, out: (m.sign(x),), ("sign({x})",), lambda sp, x: sp.Abs(x), python="abs({x})",
        kinks=(lambda x: x == 0,), kink_text=("x == 0",), convention="abs'(0) = 0", sides=lambda x: ((-1.0, 1.0),),
        peers={"jax": lambda partials, x: (1.0,)}, taylor=series.linear)
_define("min", 2, _min_partials,
        ("(sign({y} - {x}) + 1) / 2", "(sign({x} - {y}) + 1) / 2"),
        lambda sp, x, y: sp.Min(x, y), python="min({x}, {y})", kinks=(_tie, _tie), kink_text=("x == y", "x == y"),
        convention=_TIE,
        sides=lambda x, y: ((1.0, 0.0), (1.0, 0.0)), builtin_tie=(1.0, 0.0),
        partials_on_arrays=_min_partials_on_arrays, taylor=series.linear)
_define("max", 2, _max_partials,
        ("(sign({x} - {y}) + 1) / 2", "(sign({y} - {x}) + 1) / 2"),
        lambda sp, x, y: sp.Max(x, y), python="max({x}, {y})", kinks=(_tie, _tie), kink_text=("x == y", "x == y"),
        convention=_TIE,
        sides=lambda x, y: ((0.0, 1.0), (0.0, 1.0)), builtin_tie=(1.0, 0.0),
        partials_on_arrays=_max_partials_on_arrays, taylor=series.linear)
_define("floor", 1, lambda m, x, out: (0.0,), ("0",), lambda sp, x: sp.floor(x), python="float(math.floor({x}))",
        kinks=(lambda x: x == math.floor(x),), kink_text=("x == floor(x)",),
        convention="floor' = 0, also at integers where floor jumps",
        sides=lambda x: ((INF, 0.0),),  # a jump up: the difference quotient from the left grows without bound
        discrete=True, taylor=series.linear)
_define("sign", 1, lambda m, x, out: (0.0,), ("0",), lambda sp, x: sp.sign(x), python="_sign({x})",
        kinks=(lambda x: x == 0,), kink_text=("x == 0",), convention="sign' = 0, also at 0 where sign jumps",
        sides=lambda x: ((INF, INF),), discrete=True, taylor=series.linear)

#: Functions callable by name in the expression language (``pow(x, y)`` is ``x ^ y``).
FUNCTIONS: dict[str, Primitive] = {
    name: p for name, p in BY_NAME.items() if p.symbol is None or name == "pow"
}
#: Other names of a primitive in the expression language (the trace prints the primitive's own).
ALIASES: dict[str, str] = {"ln": "log"}
FUNCTIONS.update({alias: BY_NAME[name] for alias, name in ALIASES.items()})


def functions_of(m) -> list:
    """The evaluation function of every opcode in namespace ``m`` (None for the two leaf kinds)."""
    return [None if p is None else getattr(m, p.name) for p in PRIMITIVES]


def builtin_names(module: str, functions: dict[str, Callable]) -> Callable[[str], Callable]:
    """A module ``__getattr__`` for a math namespace: it serves ``functions`` under their primitive
    names (``abs``, ``min``, ``max``, ``pow``), which are Python builtins. The namespace defines them
    under other names, so inside it those names stay Python's own, yet ``m.abs`` still works."""

    def __getattr__(name: str) -> Callable:
        try:
            return functions[name]
        except KeyError:
            raise AttributeError(f"module {module!r} has no attribute {name!r}") from None

    return __getattr__


#: Named constants of the expression language.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
