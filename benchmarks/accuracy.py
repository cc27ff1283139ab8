"""How many ulps each primitive's derivative is off, for adcli and its peers, in one run.

    python benchmarks/accuracy.py              # adcli (forward, reverse, batch) and the peers installed
    python benchmarks/accuracy.py --markdown   # the same table as Markdown, for the README

For every primitive of the registry, the derivative (each partial) is taken at a few hundred points
spanning its range: ±1e-300 to ±1e300, subnormals, the neighbourhood of poles, kinks and saturation
(1 - 2^-53 for asin, 20 for tanh, 1 ± 2^-52 for log, x^1000 for pow). The reference is the
derivative's closed form evaluated by mpmath at 50 digits at the exact float point; the error of a
result is |result - reference| in units of the last place of the reference rounded to a float
(math.ulp: 5e-324 for a result that underflows). Points where the reference overflows a float are
left out, and so are the kinks themselves (abs at 0, floor at an integer, max at a tie, pow's
y-partial at x <= 0), where the derivative does not exist and each tool applies a convention.

Peers, when installed (each skipped with a note when not): PyTorch (float64), JAX (jax_enable_x64)
and HIPS autograd, each on the same points with its own function for the primitive (autograd has no
sigmoid: it is written 1 / (1 + exp(-x)), as its users write it). A peer's nan or inf where the
reference is finite counts as an infinite error (shown nan/inf).

tests/test_accuracy.py imports this file and holds adcli to a stated bound per primitive.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import mpmath

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adcli.primitives import BY_NAME, operations  # noqa: E402

mpmath.mp.dps = 50
mpf = mpmath.mpf
BIGGEST = mpf(sys.float_info.max)

Point = tuple[float, ...]
Reference = Callable[..., tuple]  # the exact partials at a point (None for one left out)


# ------------------------------------------------------------------ the points

def _spread() -> list[float]:
    """±1e-300 … ±1e300 in steps of 10^15, two mantissas each, subnormals, ±(1 ± 2^-k), and 100
    random points in each of [-8, 8] and [-1, 1]."""
    rng = random.Random(13)
    magnitudes = [m * 10.0**k for k in range(-300, 301, 15) for m in (1.0, 3.7)] + [5e-324, 1e-310]
    magnitudes += [1 + d * 2.0**-k for k in range(1, 53, 3) for d in (1, -1)]
    randoms = [rng.uniform(-8, 8) for _ in range(100)] + [rng.uniform(-1, 1) for _ in range(100)]
    return [s * v for v in magnitudes for s in (1, -1)] + randoms


def _next(x: float, steps: int, toward: float) -> list[float]:
    """The ``steps`` floats after x in the direction of ``toward``."""
    out = []
    for _ in range(steps):
        x = math.nextafter(x, toward)
        out.append(x)
    return out


NEAR_ONE = [v for s in (1, -1) for v in [s * w for w in (*_next(1.0, 4, 0.0), 1 - 1e-10, 1 - 1e-5, 0.999, 0.5)]]
SPECIAL: dict[str, list[float]] = {
    "exp": [-745.0, -740.0, -700.0, 700.0, 709.0, 709.78],
    "log": [*_next(1.0, 4, 2.0), *_next(1.0, 4, 0.0), 1 + 1e-10, 1 - 1e-10, 5e-324, 1e-300],
    "sqrt": [5e-324, 1e-310, 4.0, 2.0],
    "tan": [math.pi / 2, math.nextafter(math.pi / 2, 0), 1.57, -1.5707963, 1e22],
    "asin": NEAR_ONE,
    "acos": NEAR_ONE,
    "atan": [s * v for v in (1e154, 1.34e154, 2e154, 1e155, 1e200, 1e300, 1.0, 1e8) for s in (1, -1)],
    "sinh": [710.0, -710.0, 1e-8, 20.0],
    "cosh": [710.0, -710.0, 1e-8, 20.0],
    "tanh": [s * v for v in (1e-8, 0.5, 0.55, 1.0, 10.0, 15.0, 19.0, 20.0, 25.0, 30.0, 100.0, 355.0, 372.0, 400.0)
             for s in (1, -1)],
    "sigmoid": [s * v for v in (1e-8, 1.0, 1.1, 10.0, 20.0, 37.0, 40.0, 100.0, 700.0, 740.0, 745.0, 800.0)
                for s in (1, -1)],
    "floor": [*_next(1.0, 2, 0.0), *_next(1.0, 2, 2.0), 2.5, -0.5],
    "log10": [*_next(1.0, 4, 2.0), *_next(1.0, 4, 0.0), 10.0, 5e-324, 1e-300],
    "log2": [*_next(1.0, 4, 2.0), *_next(1.0, 4, 0.0), 2.0, 5e-324, 1e-300],
    "log1p": [*_next(-1.0, 4, 0.0), -1 + 1e-10, -0.5, 1e-10, 1e-300],
    "expm1": [-745.0, -40.0, 1e-10, -1e-10, 700.0, 709.0, 709.78],
    "softplus": [s * v for v in (1e-8, 1.0, 20.0, 37.0, 40.0, 100.0, 700.0, 745.0, 800.0) for s in (1, -1)],
    "erf": [s * v for v in (1e-8, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 26.0, 26.5, 27.0, 27.2) for s in (1, -1)],
    "erfc": [s * v for v in (1e-8, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 26.0, 26.5, 27.0, 27.2) for s in (1, -1)],
    "asinh": [s * v for v in (1e-8, 1.0, 1e8, 1e154, 2e154, 1e155, 1e300) for s in (1, -1)],
    "acosh": [*_next(1.0, 4, 2.0), 1 + 1e-10, 1.5, 2.0, 1e154, 2e154, 1e155, 1e300,
              *(1 + 2.0**-k for k in range(1, 53)), *(3.7 * 10.0**k for k in range(1, 301, 3))],
    "atanh": NEAR_ONE,
}

GRID = [s * v for v in (5e-324, 1e-300, 1e-100, 1e-10, 0.3, 1.0, 1.5, 7.0, 1e10, 1e100, 1e300) for s in (1, -1)]
POW_BASES = [1e-300, 1e-10, 0.3, 0.5, 0.9, 0.999999, 1 - 2**-53, 1.0, 1 + 2**-52, 1.000001, 1.5, 2.0, 7.0,
             1e10, 1e300]
POW_EXPONENTS = [-1000.0, -100.0, -10.0, -2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 2.5, 10.0, 100.0, 1000.0, 1e6, 1e10]
POW_NEGATIVE = [(x, y) for x in (-0.3, -1.5, -2.0, -7.0) for y in (-3.0, -1.0, 0.0, 1.0, 2.0, 3.0, 10.0)]


def points(name: str) -> list[Point]:
    """The points at which the derivative of primitive ``name`` is measured (kinks left out)."""
    primitive = BY_NAME[name]
    if name == "pow":
        candidates: list[Point] = [(x, y) for x in POW_BASES for y in POW_EXPONENTS] + POW_NEGATIVE
    elif primitive.arity == 2:
        candidates = [(x, y) for x in GRID for y in GRID]
    else:
        candidates = [(x,) for x in _spread() + SPECIAL.get(name, [])]
    kept = []
    for point in candidates:
        if primitive.domain is not None and not primitive.domain(*point):
            continue
        if any(kink is not None and kink(*point) for kink in primitive.kinks):
            continue
        reference = REFERENCES[name](*map(mpf, point))
        if any(r is not None and abs(r) > BIGGEST for r in reference):
            continue  # the derivative overflows a float: adcli says so, there is nothing to measure
        if not _value_finite(name, point):
            continue
        kept.append(point)
    return kept


def _value_finite(name: str, point: Point) -> bool:
    from adcli import scalar

    try:
        value = getattr(scalar, name)(*point)
    except (ArithmeticError, ValueError):
        return False
    return math.isfinite(value)


# ----------------------------------------------------------- the references

def _sigmoid_derivative(x):
    e = mpmath.exp(-abs(x))
    return e / (1 + e) ** 2


def _atan2_partials(y, x):
    r2 = x**2 + y**2
    return (x / r2, -y / r2) if r2 else (None, None)  # the origin: a convention, left out


def _pow_partials(x, y):
    if x > 0:
        return y * x ** (y - 1), x**y * mpmath.log(x)
    return (0 if y == 0 else y * x ** (y - 1)), None  # x < 0, y an integer: d/dy has no real value


#: The exact partials of every primitive, by hand (never from adcli's rules).
REFERENCES: dict[str, Reference] = {
    "add": lambda x, y: (mpf(1), mpf(1)),
    "sub": lambda x, y: (mpf(1), mpf(-1)),
    "mul": lambda x, y: (y, x),
    "div": lambda x, y: (1 / y, -x / y**2),
    "neg": lambda x: (mpf(-1),),
    "pow": _pow_partials,
    "exp": lambda x: (mpmath.exp(x),),
    "log": lambda x: (1 / x,),
    "sqrt": lambda x: (1 / (2 * mpmath.sqrt(x)),),
    "sin": lambda x: (mpmath.cos(x),),
    "cos": lambda x: (-mpmath.sin(x),),
    "tan": lambda x: (mpmath.sec(x) ** 2,),
    "asin": lambda x: (1 / mpmath.sqrt(1 - x**2),),
    "acos": lambda x: (-1 / mpmath.sqrt(1 - x**2),),
    "atan": lambda x: (1 / (1 + x**2),),
    "sinh": lambda x: (mpmath.cosh(x),),
    "cosh": lambda x: (mpmath.sinh(x),),
    "tanh": lambda x: (mpmath.sech(x) ** 2,),
    "sigmoid": lambda x: (_sigmoid_derivative(x),),
    "relu": lambda x: (mpf(1 if x > 0 else 0),),
    "abs": lambda x: (mpf(1 if x > 0 else -1),),
    "min": lambda x, y: (mpf(1 if x < y else 0), mpf(1 if y < x else 0)),
    "max": lambda x, y: (mpf(1 if x > y else 0), mpf(1 if y > x else 0)),
    "floor": lambda x: (mpf(0),),
    "sign": lambda x: (mpf(0),),
    "log10": lambda x: (1 / (x * mpmath.log(10)),),
    "log2": lambda x: (1 / (x * mpmath.log(2)),),
    "log1p": lambda x: (1 / (1 + x),),
    "expm1": lambda x: (mpmath.exp(x),),
    "softplus": lambda x: (1 / (1 + mpmath.exp(-x)),),
    "erf": lambda x: (2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x**2),),
    "erfc": lambda x: (-2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x**2),),
    "atan2": _atan2_partials,
    "hypot": lambda x, y: (x / mpmath.hypot(x, y), y / mpmath.hypot(x, y)),
    "asinh": lambda x: (1 / mpmath.sqrt(x**2 + 1),),
    "acosh": lambda x: (1 / mpmath.sqrt(x**2 - 1),),
    "atanh": lambda x: (1 / (1 - x**2),),
}


def ulps(got: float, reference) -> float:
    """|got - reference| in units of the last place of the reference rounded to a float."""
    if not math.isfinite(got):
        return math.inf
    unit = math.ulp(float(reference))
    return float(min(abs(mpf(got) - reference) / unit, mpf(1e300)))  # 1e300: a different number altogether


def worst(name: str, pts: Sequence[Point], partials: Sequence[Sequence[float]]) -> float:
    """The largest error in ulps over ``pts``, ``partials[k][i]`` being partial k at point i."""
    result = 0.0
    for i, point in enumerate(pts):
        for k, reference in enumerate(REFERENCES[name](*map(mpf, point))):
            if reference is not None:
                result = max(result, ulps(partials[k][i], reference))
    return result


# ------------------------------------------------------------------ adcli

def _source(name: str) -> str:
    return BY_NAME[name].call_text(["x", "y"][:BY_NAME[name].arity])


def adcli_partials(name: str, pts: Sequence[Point], mode: str) -> list[list[float]]:
    """adcli's partials at every point: ``mode`` forward or reverse (one point at a time), or batch."""
    import adcli

    trace = adcli.parse(_source(name))
    names = trace.input_names
    if mode == "batch":
        import numpy as np

        from adcli.batch import evaluate_batch

        columns = {n: np.array([p[k] for p in pts]) for k, n in enumerate("xy"[:len(pts[0])]) if n in names}
        gradient = evaluate_batch(trace, columns).gradients[0]
        return [list(np.broadcast_to(gradient[n], (len(pts),))) if n in names else [0.0] * len(pts)
                for n in "xy"[:len(pts[0])]]
    columns = [[] for _ in pts[0]]
    for point in pts:
        try:
            g = adcli.gradient(trace, dict(zip("xy", point)), mode=mode).gradients[0]
        except adcli.AdcliError:
            g = {}
        for k, n in enumerate("xy"[:len(point)]):
            columns[k].append(g.get(n, math.nan))
    return columns


# ------------------------------------------------------------------ peers

def _peer_functions(lib) -> dict[str, Callable]:
    """The primitive's function in a NumPy-like library ``lib`` (torch, jax.numpy, autograd.numpy)."""
    table = {
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y, "neg": lambda x: -x, "pow": lambda x, y: x**y,
        "exp": lib.exp, "log": lib.log, "sqrt": lib.sqrt, "sin": lib.sin, "cos": lib.cos, "tan": lib.tan,
        "asin": lib.arcsin, "acos": lib.arccos, "atan": lib.arctan,
        "sinh": lib.sinh, "cosh": lib.cosh, "tanh": lib.tanh,
        "abs": lib.abs, "min": lib.minimum, "max": lib.maximum, "floor": lib.floor, "sign": lib.sign,
        "log10": lib.log10, "log2": lib.log2, "log1p": lib.log1p, "expm1": lib.expm1, "hypot": lib.hypot,
        "atan2": getattr(lib, "arctan2", None) or lib.atan2, "asinh": getattr(lib, "arcsinh", None) or lib.asinh,
        "acosh": getattr(lib, "arccosh", None) or lib.acosh, "atanh": getattr(lib, "arctanh", None) or lib.atanh,
    }
    return table


def torch_partials(name: str, pts: Sequence[Point]) -> list[list[float]]:
    import torch

    table = _peer_functions(torch)
    table.update(sigmoid=torch.sigmoid, relu=torch.relu, softplus=torch.nn.functional.softplus, erf=torch.erf,
                 erfc=torch.erfc)
    args = [torch.tensor([p[k] for p in pts], dtype=torch.float64, requires_grad=True) for k in range(len(pts[0]))]
    table[name](*args).sum().backward()
    return [a.grad.tolist() if a.grad is not None else [0.0] * len(pts) for a in args]


def jax_partials(name: str, pts: Sequence[Point]) -> list[list[float]]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import jax.scipy.special

    table = _peer_functions(jnp)
    table.update(sigmoid=jax.nn.sigmoid, relu=jax.nn.relu, softplus=jax.nn.softplus, erf=jax.scipy.special.erf,
                 erfc=jax.scipy.special.erfc)
    arity = len(pts[0])
    grad = jax.vmap(jax.grad(table[name], argnums=tuple(range(arity))))
    columns = grad(*(jnp.array([p[k] for p in pts], dtype=jnp.float64) for k in range(arity)))
    return [list(map(float, c)) for c in columns]


def autograd_partials(name: str, pts: Sequence[Point]) -> list[list[float]]:
    import autograd.numpy as anp
    from autograd import elementwise_grad

    table = _peer_functions(anp)
    import autograd.scipy.special as special

    table.update(sigmoid=lambda x: 1 / (1 + anp.exp(-x)), relu=lambda x: anp.maximum(x, 0.0),
                 softplus=lambda x: anp.logaddexp(0.0, x), erf=special.erf, erfc=special.erfc)
    arity = len(pts[0])
    args = [anp.array([p[k] for p in pts], dtype=float) for k in range(arity)]
    with anp.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Output seems independent of input" for floor and sign
        return [list(map(float, elementwise_grad(table[name], k)(*args))) for k in range(arity)]


PEERS = {"PyTorch": ("torch", torch_partials), "JAX": ("jax", jax_partials),
         "autograd": ("autograd", autograd_partials)}


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _format(error: float) -> str:
    if math.isinf(error):
        return "nan/inf"  # a non-finite result where the derivative is finite
    if error >= 1e300:
        return "≥1e300"
    return f"{error:.3g}" if error < 1e4 else f"{error:.1e}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    options = parser.parse_args(argv)
    peers = {label: f for label, (module, f) in PEERS.items() if _available(module)}
    for label, (module, _) in PEERS.items():
        if label not in peers:
            print(f"note: {label} is not installed ({module}); its column is left out", file=sys.stderr)
    header = ["primitive", "points", "adcli", *peers]
    rows = []
    for primitive in operations():
        name = primitive.name
        pts = points(name)
        adcli_error = max(worst(name, pts, adcli_partials(name, pts, mode)) for mode in ("forward", "reverse", "batch"))
        row = [name, str(len(pts)), _format(adcli_error)]
        for f in peers.values():
            try:
                row.append(_format(worst(name, pts, f(name, pts))))
            except Exception as error:  # noqa: BLE001 - a peer without the function: say so in the table
                row.append(f"n/a ({type(error).__name__})")
        rows.append(row)
    if options.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    print("\nworst error in ulps over the points (adcli: the worst of forward, reverse and batch)")


if __name__ == "__main__":
    main()
