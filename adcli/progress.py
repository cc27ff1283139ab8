"""A progress display for long work: on a terminal, once a command has run for about a second,
a pulsing bar with the elapsed time appears on stderr, and it disappears when the work is done.

Short runs, pipes and scripts never see it (nothing is drawn when stderr is not a terminal).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def progress(description: str, delay: float = 1.0) -> Iterator[None]:
    if sys.stderr is None or not sys.stderr.isatty():
        yield
        return
    lock = threading.Lock()
    shown: dict = {}

    def show() -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with lock:
            if shown.get("finished"):
                return
            bar = Progress(SpinnerColumn(), TextColumn(description), BarColumn(), TimeElapsedColumn(),
                           console=Console(stderr=True), transient=True)
            bar.add_task(description, total=None)  # no total: the bar pulses
            bar.start()
            shown["bar"] = bar

    timer = threading.Timer(delay, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            shown["finished"] = True
            if "bar" in shown:
                shown["bar"].stop()
