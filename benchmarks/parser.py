"""Does the C parser earn its place? Parse time of expressions of the sizes users give, by the C
twin and by the pure-Python parser, in one process (``adcli.accelerator.use`` switches).

    python benchmarks/parser.py

Prints the median of several runs per size and the ratio; the choice it informs is recorded in the
commit that kept or dropped the C parser.
"""

from __future__ import annotations

import statistics
import time

from adcli import accelerator
from adcli.parser import parse

SIZES = {
    "the seed example": "x*exp(y)-sin(x)",
    "a textbook formula (60 chars)": "sin(x)*cos(y)+exp(-x^2/2)/sqrt(2*pi)-log(1+y^2)*tanh(x*y)",
    "100 operations": "+".join(f"sin({k}*x)*y" for k in range(1, 34)),
    "10,000 operations": "+".join(f"sin(x)*{k}+x*0.5" for k in range(2_000)),
    "1,000,000 operations": "+".join(f"sin(x)*{k}+x*0.5" for k in range(200_000)),
}


def median_seconds(text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        parse(text)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    if not accelerator.use(True):
        print("the C extension is not built: nothing to compare")
        return
    print(f"{'expression':32} {'operations':>10} {'C':>12} {'Python':>12} {'Python/C':>9}")
    for label, text in SIZES.items():
        repeat = 3 if len(text) > 100_000 else 200
        operations = len(parse(text))
        accelerator.use(True)
        c = median_seconds(text, repeat)
        accelerator.use(False)
        python = median_seconds(text, repeat)
        accelerator.use(True)
        print(f"{label:32} {operations:>10,} {c * 1e6:>10.1f}µs {python * 1e6:>10.1f}µs {python / c:>8.1f}×")


if __name__ == "__main__":
    main()
