"""The Hessian of the Rosenbrock function at scale (issue 17, item 4): adcli sparse vs dense, beside
PyTorch and JAX on the same function.

    python benchmarks/hessian.py                  # n = 1,000, 2,000 and 100,000, median of 3 runs
    python benchmarks/hessian.py --n 500 --repeat 1 --no-dense

adcli is timed as a whole process (``adcli hessian rosenbrock.py --at x=@x.txt --json``, the point
read from a file), on the function written as a loop over a list, as its users write it; its JSON
holds the value, the gradient and the Hessian's non-zeros; its peak memory is the child's
maximum resident set, as GNU time (``/usr/bin/time``) reports it. PyTorch
(``torch.autograd.functional.hessian``) and JAX (``jax.hessian``
under ``jit``, compilation included) are timed in this process on the array form, as their users
would write it, when installed. Every figure is a median; compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME = "/usr/bin/time"  # GNU time: the peak memory of the process it runs

ROSENBROCK = '''def f(x):
    s = 0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s
'''


def point(n: int) -> list[float]:
    """The point: x_i = 0.5 + i/n (no entry of the Hessian is zero there)."""
    return [0.5 + i / n for i in range(n)]


DENSE_MAX = 5_000  # beyond this the dense n × n Hessian does not fit: adcli's dense mode and the peers are not run


def adcli_run(path: str, n: int, sparse: str) -> tuple[float, float, dict]:
    """Seconds and peak MB of one ``adcli hessian`` process, and its JSON document."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    point_file = Path(path).with_name(f"x{n}.txt")
    point_file.write_text("\n".join(map(repr, point(n))))
    command = [sys.executable, "-m", "adcli", "hessian", path, "--at", f"x=@{point_file}", "--json",
               "--sparse", sparse]
    with tempfile.NamedTemporaryFile("r") as peak:
        # Linux keeps the peak resident set across exec, so a child spawned from this (large, once
        # PyTorch and JAX are loaded) process would report ours: /usr/bin/time, a small parent, reports adcli's
        start = time.perf_counter()
        done = subprocess.run([TIME, "-f", "%M", "-o", peak.name, *command], capture_output=True, text=True,
                              env=environment, check=True)
        seconds = time.perf_counter() - start
        return seconds, int(peak.read().split()[-1]) / 1024, json.loads(done.stdout)


def median_of(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


def torch_seconds(n: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None

    def f(x):
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    x = torch.tensor(point(n), dtype=torch.float64)
    start = time.perf_counter()
    torch.autograd.functional.hessian(f, x)
    return time.perf_counter() - start


def jax_seconds(n: int) -> float | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def f(x):
        return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = jnp.asarray(point(n))
    start = time.perf_counter()
    jax.jit(jax.hessian(f))(x).block_until_ready()  # a fresh jit each run: compilation included
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="*", default=[1000, 2000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dense", action="store_true", help="skip adcli's dense Hessian (n² time and memory)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "rosenbrock.py")
        Path(path).write_text(ROSENBROCK)
        print("| n | adcli sparse | colours | adcli dense | PyTorch | JAX (jit, compile included) |")
        print("|---|---|---|---|---|---|")
        for n in options.n:
            runs = [adcli_run(path, n, "on") for _ in range(options.repeat)]
            sparse_s = statistics.median(seconds for seconds, _, _ in runs)
            sparse_mb = max(mb for _, mb, _ in runs)
            colours = runs[0][2]["sparsity"]["colour_count"]
            dense = "—"
            if n > DENSE_MAX:
                dense = f"not run: n × n is {8 * n * n / 1e9:.0f} GB"
            elif not options.no_dense:
                dense_runs = [adcli_run(path, n, "off") for _ in range(options.repeat)]
                dense = (f"{statistics.median(s for s, _, _ in dense_runs):.2f} s, "
                         f"{max(mb for _, mb, _ in dense_runs):.0f} MB")
            peers = []
            for measure in (torch_seconds, jax_seconds):
                if n > DENSE_MAX:
                    peers.append(f"not run: its Hessian is dense, {8 * n * n / 1e9:.0f} GB")
                    continue
                first = measure(n)
                peers.append("not installed" if first is None else
                             f"{median_of(options.repeat, lambda m=measure, k=n: m(k) or 0.0):.2f} s")
            print(f"| {n:,} | {sparse_s:.2f} s, {sparse_mb:.0f} MB | {colours} | {dense} | {' | '.join(peers)} |",
                  flush=True)


if __name__ == "__main__":
    main()
