"""Per-node output of a long trace (issue 12, item 8): ``adcli trace F --json``, ``--format csv``
and the table, on a function file of 10^6 nodes (250,000 steps of sin, two products and a sum).

    python benchmarks/per_node_output.py                       # this checkout's adcli
    python benchmarks/per_node_output.py --adcli /path/to/adcli  # another install, for before/after

Every figure is the median wall time of ``--repeat`` runs (output to /dev/null).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTION = '''from math import sin


def f(x, n={steps}):
    y = x
    for _ in range(n):
        y = sin(y) * 1.1 + y * 0.5
    return y
'''


def median_wall(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adcli", default=str(Path(sys.executable).with_name("adcli")))
    parser.add_argument("--steps", type=int, default=250_000, help="loop steps (4 nodes each)")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.py")
        Path(path).write_text(FUNCTION.format(steps=options.steps))
        print(f"{options.adcli}: trace of {4 * options.steps + 1:,} nodes, median of {options.repeat} runs")
        for label, extra in (("--json", ["--json"]), ("--format csv", ["--format", "csv"]), ("table", [])):
            seconds = median_wall([options.adcli, "trace", path, "--at", "x=0.3", *extra], options.repeat)
            print(f"  adcli trace F {label:<13} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
