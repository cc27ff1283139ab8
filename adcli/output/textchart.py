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
