"""A progress display for long work: on a terminal, once a command has run for about a second,
a pulsing bar with the elapsed time appears on stderr, and it disappears when the work is done.

Short runs, pipes and scripts never see it (nothing is drawn when stderr is not a terminal).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The bar of the running command (while one runs on a terminal), for :func:`report`.
_running: dict = {}


def report(what: str, done: int, total: int) -> None:
    """Tell the running command's bar that ``done`` of ``total`` units of work (``what``) are done:
    once shown, it fills up and counts them instead of pulsing. A no-op off a terminal."""
    if not _running or total <= 0 or (done != total and done * 200 // total == _running.get("said", -1)):
        return
    _running["said"] = done * 200 // total  # the bar moves in steps of half a percent
    with _running["lock"]:
        _running["work"] = (what, done, total)
        _update(what, done, total)


def _update(what: str, done: int, total: int) -> None:
    bar = _running.get("bar")
    if bar is not None:
        bar.update(bar.task_ids[0], completed=done, total=total,
                   description=f"{_running['description']}: {what} {done:,} of {total:,}")


@contextmanager
def progress(description: str, delay: float = 1.0) -> Iterator[None]:
    """Show a bar on stderr for work that outlasts ``delay`` seconds (a terminal only)."""
    if sys.stderr is None or not sys.stderr.isatty():
        yield
        return
    lock = threading.Lock()
    shown = _running  # report() reaches the bar through it
    shown.clear()
    shown.update(lock=lock, description=description)

    def show() -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with lock:
            if shown.get("finished"):
                return
            bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                           TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            bar.add_task(description, total=None)  # no total: the bar pulses, until report() gives one
            shown["bar"] = bar
            if "work" in shown:
                _update(*shown["work"])
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
        _running.clear()
