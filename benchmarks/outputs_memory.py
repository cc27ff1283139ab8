"""Peak memory of ``adcli grad`` and ``adcli jacobian`` against the number of outputs.

    python benchmarks/outputs_memory.py                    # 2k, 4k, 8k outputs of 'x*y'
    python benchmarks/outputs_memory.py --sizes 2000,20000 # other sizes
    python benchmarks/outputs_memory.py --adcli /path/to/venv/bin/adcli

Each run is a separate process reading ``x*y, x*y, …`` (two inputs) from standard input; its peak
resident set size comes from ``getrusage(RUSAGE_CHILDREN)`` after it exits, measured in a fresh
intermediate process so that one run's peak does not hide the next one's. The result of every run
is m × 2 partial derivatives, so memory should grow linearly with m: "peak ratio" is the peak over
the previous size's peak (at most the ratio of the sizes, shown beside it, when memory is linear;
about its square when quadratic), and "added KiB/added output" stays constant when memory is linear
and doubles with every doubling of m when it is quadratic.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs one command in a child and prints that child's peak RSS in kilobytes (Linux reports KiB).
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE)
if done.returncode:
    sys.exit(done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_kib(command: list[str], text: str) -> int:
    """Peak RSS of ``command`` reading ``text`` on standard input, in KiB."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], input=text.encode(),
                          capture_output=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)}: {done.stderr.decode(errors='replace').strip()}")
    return int(done.stdout)


def default_adcli() -> str:
    """The adcli next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("adcli")
    return str(beside) if beside.exists() else shutil.which("adcli") or "adcli"


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,4000,8000", help="numbers of outputs, comma separated")
    parser.add_argument("--adcli", default=default_adcli(), help="the adcli executable to measure")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    commands = {
        "grad --format csv": ["grad", "-", "--at", "x=1,y=2", "--format", "csv"],
        "jacobian --json": ["jacobian", "-", "--at", "x=1,y=2", "--json"],
    }
    print(f"{'command':<18} {'outputs':>8} {'peak MiB':>9} {'KiB/output':>11} {'peak ratio':>11} "
          f"{'added KiB/added output':>23}")
    for label, arguments in commands.items():
        previous = None
        for size in sizes:
            peak = peak_kib([options.adcli, *arguments], ",".join(["x*y"] * size) + "\n")
            ratio = added = ""
            if previous is not None:
                ratio = f"{peak / previous[1]:.2f} (×{size / previous[0]:g})"
                added = f"{(peak - previous[1]) / (size - previous[0]):.2f}"
            print(f"{label:<18} {size:>8,} {peak / 1024:>9.1f} {peak / size:>11.2f} {ratio:>11} {added:>23}")
            previous = (size, peak)

if __name__ == "__main__":
    main()
