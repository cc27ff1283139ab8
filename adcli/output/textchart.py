"""A small log-log chart drawn with characters, for terminals: error against step size."""

from __future__ import annotations

import math


def loglog_chart(series: dict[str, list[tuple[float, float | None]]], markers: dict[str, str],
                 top: int = 1, bottom: int = -17) -> list[str]:
    """Rows of text: log10(error) from ``top`` down to ``bottom`` against log10(h), one marker per
    series; where two series share a cell the later one wins. Points with zero error sit on the
    bottom row."""
    steps = sorted({h for points in series.values() for h, _ in points}, reverse=True)
    column = {h: k for k, h in enumerate(steps)}
    width = 3
    grid = [[" "] * (len(steps) * width) for _ in range(top - bottom + 1)]
    for name, points in series.items():
        for h, error in points:
            if error is None or not math.isfinite(error):
                continue
            level = bottom if error <= 0 else max(bottom, min(top, round(math.log10(error))))
            grid[top - level][column[h] * width + 1] = markers[name]
    lines = []
    for r, row in enumerate(grid):
        level = top - r
        label = f"1e{level:+03d}" if level % 2 == 0 else ""
        lines.append(f"{label:>6} │{''.join(row)}")
    lines.append(f"{'':>6} └{'─' * (len(steps) * width)}")
    axis = "".join(f"{round(math.log10(h)):>3d}" for h in steps)
    lines.append(f"{'':>6}  {axis}   log10(h)")
    legend = "   ".join(f"{markers[name]} {name}" for name in series)
    lines.append(f"{'':>6}  {legend}")
    return lines


#: Columns and rows of each panel of :func:`curve_chart`.
CHART_WIDTH, CHART_HEIGHT = 64, 12
#: The marks under a panel, in the order a later one wins a shared column.
MARKS = {"K": "kink between these points", "B": "branch change between these points", "C": "convention used here"}


def curve_chart(curve, digits: int) -> str:
    """``adcli plot`` in a terminal: f and its derivative against x, one ``•`` per point (several
    per column where points are dense), and under each panel the marks: B where neighbouring points
    take different paths of the file, K where a kink lies between them, C where a convention was used."""
    x = [float(v) for v in curve.x]
    low, high = min(x), max(x)
    width = CHART_WIDTH if len(x) > 1 else 1

    def column(value: float) -> int:
        return 0 if high == low else round((value - low) / (high - low) * (width - 1))

    marks = [" "] * width
    for letter, spots in (("K", [(a + b) / 2 for a, b in curve.kinks]),
                          ("B", [(a + b) / 2 for a, b in curve.branch_changes]), ("C", curve.conventions)):
        for spot in spots:
            marks[column(spot)] = letter
    held = "".join(f", {name} = {value:.{digits}g}" for name, value in curve.held.items())
    lines = [f"f({curve.name}) = {curve.source}{held}: {len(x):,} points, {curve.name} from {low:.{digits}g} "
             f"to {high:.{digits}g}"]
    for title, values in (("f", curve.value), (f"∂f/∂{curve.name}", curve.derivative)):
        lines += ["", title, *_panel([column(v) for v in x], [float(v) for v in values], width, digits)]
        if marks.count(" ") < width:
            lines.append(f"{'':>{_LABEL}}  {''.join(marks).rstrip()}")
    lines.append(f"{'':>{_LABEL}}  {low:<.{digits}g}{f'{high:.{digits}g}':>{max(1, width - len(f'{low:.{digits}g}'))}}"
                 f"  {curve.name}")
    used = [f"{letter} {meaning}" for letter, meaning in MARKS.items() if letter in marks]
    if used:
        lines.append(f"{'':>{_LABEL}}  " + "   ".join(used))
    return "\n".join(lines) + "\n"


_LABEL = 12  # width of the y-axis labels


def _panel(columns: list[int], values: list[float], width: int, digits: int) -> list[str]:
    """One panel's rows: the finite values scaled to :data:`CHART_HEIGHT` rows, the axis below."""
    finite = [v for v in values if math.isfinite(v)]
    top, bottom = (max(finite), min(finite)) if finite else (0.0, 0.0)
    grid = [[" "] * width for _ in range(CHART_HEIGHT)]
    for c, v in zip(columns, values):
        if math.isfinite(v):
            row = 0 if top == bottom else round((top - v) / (top - bottom) * (CHART_HEIGHT - 1))
            grid[row][c] = "•"
    shown = f"{{:.{min(digits, 6)}g}}".format
    rows = []
    for r, cells in enumerate(grid):
        label = shown(top) if r == 0 else shown(bottom) if r == CHART_HEIGHT - 1 else ""
        rows.append(f"{label:>{_LABEL}} │{''.join(cells).rstrip()}")
    rows.append(f"{'':>{_LABEL}} └{'─' * width}")
    return rows
