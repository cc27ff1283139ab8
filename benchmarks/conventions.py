"""What adcli, PyTorch, JAX and HIPS autograd give at each kink and edge, measured in one run.

    python benchmarks/conventions.py             # the table, as Markdown
    python benchmarks/conventions.py --check     # also: does adcli --convention NAME reproduce NAME?

Peers are measured when installed (``pip install torch jax jaxlib autograd``); a missing one is
skipped with a note. Every peer computes in float64 (JAX with ``jax_enable_x64``). A cell is the
gradient (one entry per input) of the case's function at its point, by each framework's reverse mode.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (label, adcli expression, point, function of (ops, *inputs)). ``ops`` is a framework's namespace
# below; "builtin max" is Python's own max on the framework's numbers, as a function file calls it.
CASES = [
    ("abs(x) at 0", "abs(x)", {"x": 0.0}, lambda o, x: o.abs(x)),
    ("relu(x) at 0", "relu(x)", {"x": 0.0}, lambda o, x: o.relu(x)),
    ("max(x, y) at x = y = 1", "max(x, y)", {"x": 1.0, "y": 1.0}, lambda o, x, y: o.maximum(x, y)),
    ("min(x, y) at x = y = 1", "min(x, y)", {"x": 1.0, "y": 1.0}, lambda o, x, y: o.minimum(x, y)),
    ("builtin max(x, y) at x = y = 1", None, {"x": 1.0, "y": 1.0}, lambda o, x, y: builtins.max(x, y)),
    ("builtin min(x, y) at x = y = 1", None, {"x": 1.0, "y": 1.0}, lambda o, x, y: builtins.min(x, y)),
    ("sqrt(x) at 0", "sqrt(x)", {"x": 0.0}, lambda o, x: o.sqrt(x)),
    ("sqrt(x^2) at 0 (inf·0)", "sqrt(x^2)", {"x": 0.0}, lambda o, x: o.sqrt(o.pow(x, 2.0))),
    ("x^0 at 0", "x^0", {"x": 0.0}, lambda o, x: o.pow(x, 0.0)),
    ("x^y at x = 0, y = 0", "x^y", {"x": 0.0, "y": 0.0}, lambda o, x, y: o.pow(x, y)),
    ("x^y at x = 0, y = 0.5", "x^y", {"x": 0.0, "y": 0.5}, lambda o, x, y: o.pow(x, y)),
    ("x^y at x = 0, y = 2", "x^y", {"x": 0.0, "y": 2.0}, lambda o, x, y: o.pow(x, y)),
    ("x^y at x = -2, y = 3", "x^y", {"x": -2.0, "y": 3.0}, lambda o, x, y: o.pow(x, y)),
    ("floor(x) at 1", "floor(x)", {"x": 1.0}, lambda o, x: o.floor(x)),
    ("sign(x) at 0", "sign(x)", {"x": 0.0}, lambda o, x: o.sign(x)),
    ("asin(x) at 1", "asin(x)", {"x": 1.0}, lambda o, x: o.asin(x)),
    ("asin(x) at -1", "asin(x)", {"x": -1.0}, lambda o, x: o.asin(x)),
    ("acos(x) at 1", "acos(x)", {"x": 1.0}, lambda o, x: o.acos(x)),
    ("acos(x) at -1", "acos(x)", {"x": -1.0}, lambda o, x: o.acos(x)),
]

BUILTIN_FILE = "def f(x, y):\n    return {name}(x, y)\n"


class _Ops:
    def __init__(self, **functions) -> None:
        self.__dict__.update(functions)


def _torch():
    torch = importlib.import_module("torch")
    ops = _Ops(abs=torch.abs, relu=torch.relu, maximum=torch.maximum, minimum=torch.minimum, sqrt=torch.sqrt,
               pow=torch.pow, floor=torch.floor, sign=torch.sign, asin=torch.asin, acos=torch.acos)

    def grad(case):
        inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in case[2].values()]
        out = case[3](ops, *inputs)
        return list(torch.autograd.grad(out, inputs, allow_unused=True))

    return f"PyTorch {torch.__version__}", lambda case: [float(g) if g is not None else 0.0 for g in grad(case)]


def _jax():
    jax = importlib.import_module("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    ops = _Ops(abs=jnp.abs, relu=jax.nn.relu, maximum=jnp.maximum, minimum=jnp.minimum, sqrt=jnp.sqrt,
               pow=jnp.power, floor=jnp.floor, sign=jnp.sign, asin=jnp.arcsin, acos=jnp.arccos)

    def grad(case):
        n = len(case[2])
        gradients = jax.grad(lambda *a: case[3](ops, *a), argnums=tuple(range(n)))(
            *[jnp.float64(v) for v in case[2].values()])
        return [float(g) for g in gradients]

    return f"JAX {jax.__version__}", grad


def _autograd():
    autograd = importlib.import_module("autograd")
    anp = importlib.import_module("autograd.numpy")
    onp = importlib.import_module("numpy")
    from importlib.metadata import version

    ops = _Ops(abs=anp.abs, relu=lambda x: anp.maximum(x, 0.0), maximum=anp.maximum, minimum=anp.minimum,
               sqrt=anp.sqrt, pow=anp.power, floor=anp.floor, sign=anp.sign, asin=anp.arcsin, acos=anp.arccos)

    def grad(case):
        n = len(case[2])
        values = [onp.float64(v) for v in case[2].values()]  # NumPy floats: 0.0**-0.5 is inf, not an error
        with onp.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Output seems independent of input" (builtin max's loser)
            return [float(autograd.grad(lambda *a: case[3](ops, *a), k)(*values)) for k in range(n)]

    return f"autograd {version('autograd')} (relu as np.maximum(x, 0))", grad


PEERS = {"pytorch": _torch, "jax": _jax, "autograd": _autograd}


def adcli_gradient(case, convention: str = "adcli") -> list[float]:
    """adcli's gradient for the case (a function file for the builtin max/min), under ``convention``."""
    from adcli.analysis import gradient
    from adcli.function_file import trace_function
    from adcli.parser import parse

    label, source, point = case[0], case[1], case[2]
    if source is None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "builtin.py")
            path.write_text(BUILTIN_FILE.format(name=label.split()[1].split("(")[0]))
            trace, point = trace_function(str(path), point, None)
    else:
        trace = parse(source)
    result = gradient(trace, point, convention=convention)
    return [result.gradients[0][name] for name in trace.input_names]


def _cell(values: list[float]) -> str:
    return ", ".join("nan" if math.isnan(v) else repr(v) for v in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare adcli --convention NAME with NAME")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    columns = [("adcli", lambda case: adcli_gradient(case))]
    conventions = []
    for name, load in PEERS.items():
        try:
            title, grad = load()
        except ImportError as error:
            print(f"note: {name} skipped, not installed ({error})", file=sys.stderr)
            continue
        columns.append((title, grad))
        conventions.append((name, title, grad))
    print("| case | " + " | ".join(title for title, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for case in CASES:
        label = case[0] if case[1] is not None else case[0].replace("builtin ", "Python's builtin ")
        print(f"| {label} | " + " | ".join(_cell(grad(case)) for _, grad in columns) + " |")
    if args.check:
        mismatches = 0
        for name, title, grad in conventions:
            for case in CASES:
                theirs, ours = grad(case), adcli_gradient(case, name)
                if _cell(theirs) != _cell(ours):
                    mismatches += 1
                    print(f"--convention {name}, {case[0]}: adcli {_cell(ours)}, {title} {_cell(theirs)}")
        print(f"{mismatches} mismatch(es)" if mismatches else "every --convention reproduces its framework")
        return 1 if mismatches else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
