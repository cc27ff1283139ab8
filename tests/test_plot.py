"""``adcli plot`` (issue 13, item 9): f and its derivative over a range, in the terminal and in files,
marking branch changes, kinks and the points where a convention was used.

References: the file run by Python at each point and derivatives by hand; the chart's layout by hand
(64 columns, 12 rows a panel: x maps to column round((x - low)/(high - low)·63), y to row
round((top - y)/(top - bottom)·11)).
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest

from adcli.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _plot(runner, *args: str):
    return runner.invoke(app, ["plot", *args])


def _row(label: str, cells: dict[int, str]) -> str:
    line = [" "] * 64
    for column, mark in cells.items():
        line[column] = mark
    return f"{label:>12} │{''.join(line).rstrip()}"


AXIS = f"{'':>12} └{'─' * 64}"


def test_terminal_chart_of_a_parabola(runner):
    """x^2 at -1, 0, 1: f = 1, 0, 1 (rows 0, 11, 0) and f' = -2, 0, 2 (rows 11, 5.5 → 6, 0), at
    columns 0, 32 (round(31.5) is 32) and 63; no marks."""
    result = _plot(runner, "x^2", "--at", "x=-1:1:3")
    assert result.exit_code == 0, result.stderr
    empty = [_row("", {}) for _ in range(10)]
    assert result.stdout.splitlines() == [
        "f(x) = x^2: 3 points, x from -1 to 1", "",
        "f", _row("1", {0: "•", 63: "•"}), *empty, _row("0", {32: "•"}), AXIS, "",
        "∂f/∂x", _row("2", {63: "•"}), *empty[:5], _row("", {32: "•"}), *empty[:4], _row("-2", {0: "•"}), AXIS,
        f"{'':>12}  -1{'1':>62}  x",
    ]


def test_branch_change_is_marked_between_the_points_that_take_different_paths(runner):
    """samples/branch.py at -2, -1, 0, 1, 2: x ≤ 0 takes -x, x > 0 takes x*x; the change lies between
    0 and 1, whose midpoint 0.5 is column round(2.5/4·63) = 39."""
    result = _plot(runner, str(SAMPLES / "branch.py"), "--at", "x=-2:2:5")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    marks = f"{'':>12}  {' ' * 39}B"
    assert lines.count(marks) == 2  # under each panel
    assert lines[-1] == f"{'':>12}  B branch change between these points"


def test_kink_and_convention_marks(runner):
    """abs(x) + relu(x - 0.3) at -1, -0.5, 0, 0.5, 1: abs takes its convention at 0 (column 32), relu's
    kink at 0.3 lies between 0 and 0.5 (midpoint 0.25: column round(1.25/2·63) = 39)."""
    result = _plot(runner, "abs(x) + relu(x - 0.3)", "--at", "x=-1:1:5", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["value"] == [abs(x) + max(x - 0.3, 0.0) for x in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    assert document["derivative"] == [-1.0, -1.0, 0.0, 2.0, 2.0]  # sign(x) + (x > 0.3); abs'(0) = 0
    assert document["kinks"] == [[0.0, 0.5]]
    assert document["conventions"] == [0.0]
    assert document["branch_changes"] == []
    table = _plot(runner, "abs(x) + relu(x - 0.3)", "--at", "x=-1:1:5", "-q")
    assert f"{'':>12}  {' ' * 32}C{' ' * 6}K" in table.stdout.splitlines()
    assert table.stdout.splitlines()[-1] == f"{'':>12}  K kink between these points   C convention used here"


def test_plot_json_of_a_function_file_with_held_input(runner):
    """samples/while_count.py: s = y^(ceil(x)+1); ds/dx = 0 (x acts only through the loop count)."""
    result = _plot(runner, str(SAMPLES / "while_count.py"), "--at", "x=0:2:5,y=3", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["input"] == "x" and document["at"] == {"y": 3.0}
    assert document["value"] == [3.0, 9.0, 9.0, 27.0, 27.0]
    assert document["derivative"] == [0.0] * 5
    assert document["branch_changes"] == [[0.0, 0.5], [1.0, 1.5]]


@pytest.mark.parametrize("suffix, start", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml")])
def test_plot_files(runner, tmp_path, suffix, start):
    path = tmp_path / f"f{suffix}"
    result = _plot(runner, str(SAMPLES / "branch.py"), "--at", "x=-2:2:41", "-o", str(path), "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert path.read_bytes().startswith(start)


def test_svg_is_the_same_for_the_same_curve(runner, tmp_path):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    for path in (first, second):
        assert _plot(runner, "abs(x)", "--at", "x=-1:1:11", "-o", str(path), "-q").exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_missing_matplotlib_is_one_line_before_any_work(runner, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    path = tmp_path / "f.png"
    result = _plot(runner, "x^2", "--at", "x=0:1:3", "-o", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("error: adcli plot --format png needs matplotlib, which is not installed: "
                             "pip install 'adcli[plot]' (or pip install matplotlib)\n")
    assert not path.exists()


@pytest.mark.parametrize("args, message", [
    (["x*y", "--at", "x=1,y=2"], "a plot draws f along one input (given a range: none): give exactly one range, "
                                 "such as x=-2:2:401 with --at"),
    (["x*y", "--at", "x=0:1:3,y=0:1:3"], "a plot draws f along one input (given a range: x, y): give exactly one "
                                         "range, such as x=-2:2:401 with --at"),
    (["x, x^2", "--at", "x=0:1:3"], "plot draws one output; the function has 2"),
    (["x", "--at", "x=0:1:3", "--format", "png"], "--format png writes an image: name the file with -o f.png"),
])
def test_plot_refusals(runner, args, message):
    result = _plot(runner, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"
