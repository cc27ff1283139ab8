"""adcli's speed and memory, measured side by side with its peers in one run.

    python benchmarks/bench.py                 # adcli, plain floats, NumPy; peers that are installed
    python benchmarks/bench.py --n 1000000     # the chain length (default 1,000,000 operations)
    python benchmarks/bench.py --quick         # smaller sizes, for a smoke test

Peers (micrograd, PyTorch, HIPS autograd, JAX) are measured when installed:
``pip install -e '.[bench]'``. Every figure is the median of ``--repeat`` runs; machines are
shared and noisy, so compare the ratios printed in the same run rather than absolute times.

Workloads (the issue's):
  chain   y = sin(y)*c + y*0.5 repeated: record + reverse sweep, value and full gradient
  expr    a long expression string: parse + evaluate + reverse sweep
  sweep   reverse sweep alone vs re-evaluating the recorded trace (the cheap-gradient principle)
  memory  bytes retained per recorded operation (tracemalloc)
  startup adcli grad vs python -c "import typer, rich.table"
  batch   value and gradient of a 22-operation f(x, y) at 10^6 points: adcli, hand-written NumPy,
          JAX jit+vmap, PyTorch (wall and CPU time)
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

C = 1.1
CHAIN_FILE = '''from math import sin


def f(x, n={n}):
    y = x
    for _ in range(n):
        y = sin(y) * {c} + y * 0.5
    return y
'''


@contextmanager
def chain_file(operations: int) -> Iterator[str]:
    """The path of a function file that runs the chain for about ``operations`` operations (four a
    step: sin, two multiplications, one addition), in a folder removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "chain.py")
        Path(path).write_text(CHAIN_FILE.format(n=operations // 4, c=C))
        yield path


def median_time(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def report(rows: list[tuple], header: tuple) -> None:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(cell).rjust(w) if k else str(cell).ljust(w) for k, (cell, w) in enumerate(zip(r, widths))))
    print()


# ---------------------------------------------------------------- chain: adcli and peers
def chain_float(steps: int) -> float:
    y, sin = 0.3, math.sin
    for _ in range(steps):
        y = sin(y) * C + y * 0.5
    return y


def chain_adcli(path: str):
    from adcli.analysis import gradient
    from adcli.function_file import trace_function

    def run():
        trace, point = trace_function(path, {"x": 0.3})
        return gradient(trace, point)

    return run


def chain_micrograd(steps: int):
    from micrograd.engine import Value

    def sin(v):  # micrograd has no sin: add it the way its README adds operations
        out = Value(math.sin(v.data), (v,), "sin")

        def _backward():
            v.grad += math.cos(v.data) * out.grad
        out._backward = _backward
        return out

    def run():
        x = Value(0.3)
        y = x
        for _ in range(steps):
            y = sin(y) * C + y * 0.5
        # backward() sorts the graph recursively, one Python frame per node: at the default
        # recursion limit that is a RecursionError above about 1,600 operations.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 8 * steps + 1_000))
        try:
            y.backward()
        finally:
            sys.setrecursionlimit(limit)
        return x.grad

    return run


def chain_torch(steps: int):
    import torch

    def run():
        x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(steps):
            y = torch.sin(y) * C + y * 0.5
        y.backward()
        return x.grad

    return run


def chain_autograd(steps: int):
    import autograd
    import autograd.numpy as anp

    def f(x):
        y = x
        for _ in range(steps):
            y = anp.sin(y) * C + y * 0.5
        return y

    g = autograd.grad(f)
    return lambda: g(0.3)


def chain_jax(steps: int):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def f(x):
        y = x
        for _ in range(steps):
            y = jnp.sin(y) * C + y * 0.5
        return y

    g = jax.grad(f)
    return lambda: g(0.3)


# Each peer runs at the largest chain it handles in reasonable time (--peer-n, or 10,000 for JAX,
# whose eager dispatch costs about 0.3 ms an operation). Per-operation figures stay comparable.
PEERS = [("micrograd (recursion limit raised)", chain_micrograd, None), ("PyTorch (0-d float64)", chain_torch, None),
         ("HIPS autograd", chain_autograd, None), ("JAX eager", chain_jax, 10_000)]


def measure_chain(n: int, repeat: int) -> float:
    """µs per operation of adcli on the chain: record the function file, then value and gradient."""
    with chain_file(n) as path:
        return median_time(chain_adcli(path), repeat) / n * 1e6


def without_extension(workload: str, n: int, repeat: int) -> list[float]:
    """The figures of ``measure_<workload>`` in a fresh interpreter with ADCLI_NO_ACCELERATOR=1."""
    done = subprocess.run([sys.executable, __file__, "--measure", workload, "--n", str(n), "--repeat", str(repeat)],
                          env=dict(os.environ, ADCLI_NO_ACCELERATOR="1"), capture_output=True, text=True, check=True)
    return [float(x) for x in done.stdout.split()]


def bench_chain(n: int, repeat: int, peer_n: int) -> None:
    from adcli import accelerator

    per_float = median_time(lambda: chain_float(n // 4), repeat) / n * 1e6
    per_adcli = measure_chain(n, repeat)
    name = "adcli (function file: record + reverse)" + ("" if accelerator.NATIVE else ", C extension NOT built")
    rows = [("plain Python floats (no derivative)", f"{n:,}", f"{per_float:.3f}", "1.0", ""),
            (name, f"{n:,}", f"{per_adcli:.3f}", f"{per_adcli / per_float:.1f}", "1.0")]
    if accelerator.NATIVE:
        [per_python] = without_extension("chain", n, repeat)
        rows.append(("adcli without its C extension", f"{n:,}", f"{per_python:.3f}", f"{per_python / per_float:.1f}",
                     f"{per_python / per_adcli:.1f}"))
    for name, make, size in PEERS:
        size = min(size or peer_n, peer_n)
        try:
            run = make(size // 4)
        except ImportError:
            rows.append((name, "", "not installed", "", ""))
            continue
        try:
            seconds = median_time(run, max(1, repeat // 2))
        except RecursionError:
            rows.append((name, f"{size:,}", "RecursionError", "", ""))
            continue
        per = seconds / size * 1e6
        rows.append((name, f"{size:,}", f"{per:.3f}", f"{per / per_float:.1f}", f"{per / per_adcli:.1f}"))
    print(f"chain y = sin(y)*{C} + y*0.5, value and gradient (median of {repeat})")
    report(rows, ("", "operations", "µs/op", "× float", "× adcli"))


# ---------------------------------------------------------------- expression string
def measure_expression(n: int, repeat: int) -> list[float]:
    """Operations, µs/op for parse + evaluate + reverse, and µs/op for the parse alone."""
    from adcli.analysis import gradient
    from adcli.parser import parse

    # Each term sin(x)*c + x*0.5 is four operations, and five with the + that joins it.
    source = "+".join(f"sin(x)*{1 + k % 7}+x*0.5" for k in range(max(n // 5, 1)))
    operations = parse(source).operation_count
    seconds = median_time(lambda: gradient(parse(source), {"x": 0.3}), repeat)
    parse_seconds = median_time(lambda: parse(source), repeat)
    return [operations, seconds / operations * 1e6, parse_seconds / operations * 1e6]


def bench_expression(n: int, repeat: int) -> None:
    from adcli import accelerator

    operations, total, parsing = measure_expression(n, repeat)
    rows = [("parse + evaluate + reverse", f"{operations:,.0f}", f"{total:.3f}"),
            ("of which parse", f"{operations:,.0f}", f"{parsing:.3f}")]
    if accelerator.NATIVE:
        _, total, parsing = without_extension("expression", n, repeat)
        rows += [("without the C extension: all", f"{operations:,.0f}", f"{total:.3f}"),
                 ("without the C extension: parse", f"{operations:,.0f}", f"{parsing:.3f}")]
    print(f"long expression string 'sin(x)*1+x*0.5+sin(x)*2+…', value and gradient (median of {repeat})")
    report(rows, ("", "operations", "µs/op"))


# ---------------------------------------------------------------- cheap gradient
def bench_sweep(n: int, repeat: int) -> None:
    from adcli.evaluate import evaluate
    from adcli.function_file import trace_function
    from adcli.sweeps import linearize, reverse_sweep

    with chain_file(n) as path:
        record_seconds = median_time(lambda: trace_function(path, {"x": 0.3}), repeat)
        trace, _ = trace_function(path, {"x": 0.3})
    values = evaluate(trace, [0.3])
    evaluate_seconds = median_time(lambda: evaluate(trace, [0.3]), repeat)
    partials = linearize(trace, values)
    linearize_seconds = median_time(lambda: linearize(trace, values), repeat)
    seed = {trace.outputs[0]: 1.0}
    reverse_seconds = median_time(lambda: reverse_sweep(trace, *partials, seed), repeat)
    backward = linearize_seconds + reverse_seconds
    print(f"the cheap-gradient principle on the recorded chain (median of {repeat})")
    report([("record (run the function file)", f"{record_seconds / n * 1e6:.3f}", ""),
            ("re-evaluate the recorded trace", f"{evaluate_seconds / n * 1e6:.3f}", "1.00"),
            ("local partials (linearize)", f"{linearize_seconds / n * 1e6:.3f}",
             f"{linearize_seconds / evaluate_seconds:.2f}"),
            ("reverse sweep (adjoints)", f"{reverse_seconds / n * 1e6:.3f}",
             f"{reverse_seconds / evaluate_seconds:.2f}"),
            ("backward = partials + sweep", f"{backward / n * 1e6:.3f}", f"{backward / evaluate_seconds:.2f}")],
           ("", "µs/op", "× evaluation"))


# ---------------------------------------------------------------- memory
def bench_memory(n: int) -> None:
    from adcli.function_file import trace_function

    with chain_file(n) as path:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        trace, _ = trace_function(path, {"x": 0.3})
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    operations = trace.operation_count
    print("memory retained by a recorded trace (tracemalloc)")
    report([("adcli", f"{operations:,}", f"{retained / operations:.1f}")], ("", "operations", "bytes/op"))
    del trace


# ---------------------------------------------------------------- start-up
def bench_startup(repeat: int) -> None:
    import compileall

    import adcli

    commands = {
        "python -c 'import typer, rich.table'": [sys.executable, "-c", "import typer, rich.table"],
        "adcli grad 'x*exp(y)-sin(x)' --at x=1,y=0":
            [sys.executable, "-m", "adcli", "grad", "x*exp(y)-sin(x)", "--at", "x=1,y=0"],
        "the same with --json": [sys.executable, "-m", "adcli", "grad", "x*exp(y)-sin(x)", "--at", "x=1,y=0", "--json"],
    }
    # pip compiles an installed package's bytecode; an editable install (or PYTHONDONTWRITEBYTECODE)
    # would otherwise recompile adcli's sources on every run, which no installed copy does.
    compileall.compile_dir(os.path.dirname(adcli.__file__), quiet=1)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(max(repeat, 15)):  # interleaved, so drift in the machine's load hits all alike
        for label, command in commands.items():
            began = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[label].append(time.perf_counter() - began)
    medians = {label: statistics.median(t) for label, t in times.items()}
    base = medians["python -c 'import typer, rich.table'"]
    print(f"start-up, wall time (median of {max(repeat, 15)}, interleaved)")
    report([(label, f"{m * 1e3:.0f}", f"{m / base:.2f}") for label, m in medians.items()], ("", "ms", "× baseline"))


# ---------------------------------------------------------------- batch
BATCH_SOURCE = "sin(x)*exp(-y*y) + log(1 + x*x)*cos(y) - tanh(x*y) + sqrt(1 + y*y)*x/(2 + sin(y))"


def batch_numpy_by_hand(x, y):
    """The same function and its gradient, derived by hand, in NumPy."""
    import numpy as np

    e = np.exp(-y * y)
    sx, cx, sy, cy = np.sin(x), np.cos(x), np.sin(y), np.cos(y)
    l1 = np.log(1 + x * x)
    t = np.tanh(x * y)
    dt = 1 - t * t
    r = np.sqrt(1 + y * y)
    q = 2 + sy
    value = sx * e + l1 * cy - t + r * x / q
    dx = cx * e + 2 * x / (1 + x * x) * cy - dt * y + r / q
    dy = sx * e * (-2 * y) - l1 * sy - dt * x + x * (y / r / q - r * cy / (q * q))
    return value, dx, dy


def batch_jax():
    """JAX: the function written with jax.numpy, value_and_grad vectorised with vmap, under jit."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def f(x, y):
        return (jnp.sin(x) * jnp.exp(-y * y) + jnp.log(1 + x * x) * jnp.cos(y) - jnp.tanh(x * y)
                + jnp.sqrt(1 + y * y) * x / (2 + jnp.sin(y)))

    compiled = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1))))

    def run(x, y):
        value, (dx, dy) = compiled(x, y)
        return [a.block_until_ready() for a in (value, dx, dy)]

    return run


def _torch_function(torch):
    def f(x, y):
        return (torch.sin(x) * torch.exp(-y * y) + torch.log(1 + x * x) * torch.cos(y) - torch.tanh(x * y)
                + torch.sqrt(1 + y * y) * x / (2 + torch.sin(y)))

    return f


def batch_torch_autograd():
    """PyTorch, as a user would write it: autograd on float64 tensors of all the points (every
    point's output depends on its own inputs only, so the gradient of the sum is the gradient at
    each point)."""
    import torch

    f = _torch_function(torch)

    def run(x, y):
        tx, ty = (torch.from_numpy(a).requires_grad_() for a in (x, y))
        value = f(tx, ty)
        dx, dy = torch.autograd.grad(value.sum(), (tx, ty))
        return value.detach(), dx, dy

    return run


def batch_torch_vmap():
    """PyTorch's functional form: torch.func.vmap of torch.func.grad_and_value."""
    import torch
    from torch.func import grad_and_value, vmap

    vectorised = vmap(grad_and_value(_torch_function(torch), argnums=(0, 1)))

    def run(x, y):
        (dx, dy), value = vectorised(torch.from_numpy(x), torch.from_numpy(y))
        return value, dx, dy

    return run


BATCH_PEERS = [("JAX jit + vmap(value_and_grad), float64", batch_jax),
               ("PyTorch autograd on batched float64 tensors", batch_torch_autograd),
               ("PyTorch torch.func.vmap(grad_and_value)", batch_torch_vmap)]


def median_times(work, repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (all its threads) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _peer_threads(label: str) -> str:
    """How many threads a peer computes with (adcli and NumPy use one)."""
    if label.startswith("PyTorch"):
        import torch

        return f"{torch.get_num_threads()} threads"
    return f"up to {os.cpu_count()} threads"


def bench_batch(points: int, repeat: int) -> None:
    import numpy as np

    from adcli import accelerator
    from adcli.batch import batch_gradient
    from adcli.parser import parse

    trace = parse(BATCH_SOURCE)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, points), rng.uniform(-2, 2, points)
    reference = batch_numpy_by_hand(x, y)

    def difference(results) -> str:
        """The largest difference from the hand-derived NumPy, over the value and both partials."""
        return f"{max(float(np.max(np.abs(np.asarray(a) - b))) for a, b in zip(results, reference)):.1e}"

    def row(label: str, times: tuple[float, float], results=None) -> tuple:
        (wall, cpu), (ours_wall, ours_cpu) = times, measured.get("adcli", times)
        return (label, f"{wall * 1e3:.1f}", f"{wall / by_hand[0]:.2f}", f"{wall / ours_wall:.2f}",
                f"{cpu * 1e3:.1f}", f"{cpu / by_hand[1]:.2f}", f"{cpu / ours_cpu:.2f}",
                "" if results is None else difference(results))

    measured: dict[str, tuple[float, float]] = {}
    by_hand = median_times(lambda: batch_numpy_by_hand(x, y), repeat)
    measured["adcli"] = median_times(lambda: batch_gradient(trace, {"x": x, "y": y}), repeat)
    value, gradient = batch_gradient(trace, {"x": x, "y": y})
    name = "adcli (trace recorded once, " + ("C loop over blocks of points)" if accelerator.NATIVE else
                                               "NumPy sweeps: C extension NOT built)")
    rows = [row("hand-written NumPy derivative", by_hand),
            row(name, measured["adcli"], (value, gradient["x"], gradient["y"]))]
    if accelerator.NATIVE:
        accelerator.use(False)
        try:
            rows.append(row("adcli without its C extension (NumPy sweeps)",
                            median_times(lambda: batch_gradient(trace, {"x": x, "y": y}), repeat)))
        finally:
            accelerator.use(True)
    from adcli import batch

    threads = batch.POINTS_PER_THREAD
    batch.POINTS_PER_THREAD = points + 1  # one thread: the hand-written NumPy runs on one
    try:
        rows.append(row("adcli on one thread", median_times(lambda: batch_gradient(trace, {"x": x, "y": y}), repeat)))
    finally:
        batch.POINTS_PER_THREAD = threads
    for label, make in BATCH_PEERS:
        try:
            run = make()
        except ImportError:
            rows.append((label, "not installed", "", "", "", "", "", ""))
            continue
        began = time.perf_counter()
        results = run(x, y)  # the first call compiles (JAX) or warms up
        first = time.perf_counter() - began
        times = median_times(lambda run=run: run(x, y), repeat)
        rows.append(row(f"{label} ({_peer_threads(label)}; first call {first * 1e3:.0f} ms)", times,
                        [np.asarray(r) for r in results]))
    print(f"batch: value and gradient of a {trace.operation_count}-operation f(x, y) at {points:,} points "
          f"(median of {repeat}): wall time, and CPU time of all the process's threads (on a shared machine "
          "the fairer measure of the work done); the last column is the largest difference from the "
          "hand-derived NumPy")
    report(rows, ("", "wall ms", "× by hand", "× adcli", "CPU ms", "× by hand", "× adcli", "difference"))
    bench_optimize(x, y, repeat)


#: BATCH_SOURCE as people also write it: a repeated call, a constant sum, a product by 1.
REDUNDANT_SOURCE = ("sin(x)*exp(-y*y) + log(1 + x*x)*cos(y)*(2-1) - tanh(x*y) + sqrt(1 + y*y)*x/(2 + sin(y))"
                    " + sin(x)*exp(-y*y)*(3-2)")


def bench_optimize(x, y, repeat: int) -> None:
    """--optimize never slower: the batch and the generated NumPy code, with and without it."""
    from adcli.batch import batch_gradient
    from adcli.codegen import generate
    from adcli.optimize import optimize
    from adcli.parser import parse

    def generated(trace):
        namespace: dict = {}
        exec(generate(trace, target="numpy"), namespace)  # noqa: S102 - adcli's own generated code
        return namespace["f_grad"]

    def batch_of(trace):
        return lambda: batch_gradient(trace, {"x": x, "y": y})

    def code_of(trace):
        f_grad = generated(trace)
        return lambda: f_grad(x, y)

    rows = []
    for label, source in (("the 22-operation f", BATCH_SOURCE), ("f written with redundancy", REDUNDANT_SOURCE)):
        trace = parse(source)
        optimized = optimize(trace)
        for kind, make in (("batch", batch_of), ("codegen --target numpy", code_of)):
            before, after = median_times(make(trace), repeat), median_times(make(optimized), repeat)
            rows.append((f"{label}, {kind} ({optimized.optimization})", f"{before[0] * 1e3:.1f}",
                         f"{after[0] * 1e3:.1f}", f"{after[0] / before[0]:.2f}", f"{after[1] / before[1]:.2f}"))
    print(f"\n--optimize: the same {len(x):,} points, median of {repeat}")
    report(rows, ("", "as recorded ms", "optimised ms", "× wall", "× CPU"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="operations in the chain and expression")
    parser.add_argument("--peer-n", type=int, default=100_000, help="operations for the peers (they are slow)")
    parser.add_argument("--points", type=int, default=1_000_000, help="points of the batch workload")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of this script")
    parser.add_argument("--only", help="comma-separated workloads: chain,expr,sweep,memory,startup,batch")
    parser.add_argument("--measure", choices=["chain", "expression"], help=argparse.SUPPRESS)  # see without_extension
    args = parser.parse_args()
    if args.measure:
        measure = measure_chain if args.measure == "chain" else measure_expression
        figures = measure(args.n, args.repeat)
        print(*(figures if isinstance(figures, list) else [figures]))
        return
    if args.quick:
        args.n, args.peer_n, args.points, args.repeat = 20_000, 2_000, 10_000, 3
    chosen = set(args.only.split(",")) if args.only else {"chain", "expr", "sweep", "memory", "startup", "batch"}
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} cores\n")
    if "chain" in chosen:
        bench_chain(args.n, args.repeat, args.peer_n)
    if "expr" in chosen:
        bench_expression(args.n, args.repeat)
    if "sweep" in chosen:
        bench_sweep(args.n, args.repeat)
    if "memory" in chosen:
        bench_memory(args.n)
    if "startup" in chosen:
        bench_startup(max(args.repeat, 11))
    if "batch" in chosen:
        bench_batch(args.points, args.repeat)


if __name__ == "__main__":
    main()
