"""Numbers in tables are never cut or wrapped, and piped output is never hard-wrapped (issue 12, item 1).

The reference for every number a table shows is the same command's ``--json`` output (computed by
the library, not by the renderer), rounded to the 8 significant digits a table shows: the renderer
under test must not lose a digit of it, whatever the width.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from adcli.cli import app
from adcli.output.fit_table import FitTable

JACOBIAN = ["jacobian", "exp(-a*b*c)*1e-3, a*b*c*d*1e5, tanh(a+b+c+d)", "--at", "a=1.1,b=2.2,c=3.3,d=4.4"]
TRACE = ["trace", "sin(x*y)+exp(-x/y)*1e-9", "--at", "x=1.3,y=0.7", "--wrt", "x,y", "--direction", "x=1,y=2"]
GRAD = ["grad", "x*y*1e-9,exp(-x*y),x/y*1e7,sin(x)*cos(y)*1e-12,y/x*1e-5,x*y*y*1e-200", "--at", "x=1.1,y=2.2"]
HESSIAN = ["hessian", "x*y*z*w*exp(-x*y)*1e-7", "--at", "x=1.1,y=2.2,z=3.3,w=4.4"]
TEXT_COLUMNS = {"operation"}


def run(args: list[str], columns: int) -> str:
    result = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def as_json(args: list[str]) -> dict:
    return json.loads(run([*args, "--json"], 200))


def shown(value: float) -> float:
    """``value`` as a table shows it: 8 significant digits."""
    return float(f"{value:.8g}")


def boxed_cells(text: str) -> dict[tuple[str, str], str]:
    """{(row label, column header): cell} over every boxed table in ``text`` (split parts merged).

    A line whose only content is in text columns continues the row above (a wrapped label or
    operation); a number therefore has to be whole on its row's first line, or the test fails.
    """
    cells: dict[tuple[str, str], str] = {}
    headers: list[str] = []
    row: list[str] = []
    for line in text.splitlines():
        if line.startswith("┏"):
            headers, row = [], []
        elif line.startswith("┃"):
            parts = [part.strip() for part in line.split("┃")[1:-1]]
            headers = [f"{h} {p}".strip() for h, p in zip(headers, parts)] if headers else parts
        elif line.startswith("│"):
            parts = [part.strip() for part in line.split("│")[1:-1]]
            numbers = [p for h, p in zip(headers[1:], parts[1:]) if h not in TEXT_COLUMNS]
            if any(numbers):
                row = parts
                for header, part in zip(headers[1:], parts[1:]):
                    cells[(parts[0], header)] = part
            else:  # a wrapped label: append it to the row's label
                assert not parts[0] or row, line
                label = row[0] + parts[0]
                for header in headers[1:]:
                    cells[(label, header)] = cells.pop((row[0], header))
                row = [label, *row[1:]]
    return cells


def table_and_json(args: list[str], columns: int) -> tuple[dict[tuple[str, str], str], dict]:
    """The cells of the table at this width (checked: nothing cut, no table line too wide), and the JSON."""
    text = run(args, columns)
    assert "…" not in text
    table_lines = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table_lines
    assert max(len(line) for line in table_lines) <= columns
    return boxed_cells(text), as_json(args)


@pytest.mark.parametrize("columns", [60, 80])
def test_jacobian_table_shows_every_number_whole(columns):
    cells, doc = table_and_json(JACOBIAN, columns)
    for i, output in enumerate(doc["outputs"]):
        assert float(cells[(output, "value")]) == shown(doc["value"][i])
        for j, name in enumerate(doc["inputs"]):
            assert float(cells[(output, f"∂/∂{name}")]) == shown(doc["jacobian"][i][j])
    # the cell: 1.1157872e-09, exponent included
    assert cells[("tanh(a+b+c+d)", "∂/∂a")] == "1.1157872e-09"


@pytest.mark.parametrize("columns", [60, 80])
def test_trace_table_with_several_tangents_shows_every_number_whole(columns):
    cells, doc = table_and_json(TRACE, columns)
    assert len(doc["trace"]) == 9
    for node in doc["trace"]:
        assert float(cells[(node["name"], "value")]) == shown(node["value"])
        assert float(cells[(node["name"], "adjoint ∂f/∂·")]) == shown(node["adjoint"])
        assert float(cells[(node["name"], "tangent ∂/∂x")]) == shown(node["tangent"]["x"])
        assert float(cells[(node["name"], "tangent ∂/∂y")]) == shown(node["tangent"]["y"])
        assert float(cells[(node["name"], "tangent (x=1,y=2)")]) == shown(node["tangent"]["x=1,y=2"])


@pytest.mark.parametrize("columns", [60, 80])
def test_hessian_table_shows_every_number_whole(columns):
    cells, doc = table_and_json(HESSIAN, columns)
    for i, row_name in enumerate(doc["inputs"]):
        for j, column_name in enumerate(doc["inputs"]):
            assert float(cells[(row_name, column_name)]) == shown(doc["hessian"][i][j])


@pytest.mark.parametrize("columns", [60, 80])
def test_grad_with_several_outputs_splits_columns_not_numbers(columns):
    text = run(GRAD, columns)
    assert "…" not in text
    lines = text.splitlines()
    body = lines[1:next(k for k, line in enumerate(lines) if line.startswith("reverse mode"))]
    assert max(len(line) for line in body) <= columns
    blocks = "\n".join(body).split("\n\n")
    assert len(blocks) >= 2  # the six output columns do not fit beside each other
    cells = {}
    for block in blocks:
        header, *rows = block.splitlines()
        for row in rows:
            label, *values = row.split()
            cells.update({(label, output): value for output, value in zip(header.split(), values)})
    doc = as_json(GRAD)
    assert len(cells) == 6 * 3
    for k, output in enumerate(doc["outputs"]):
        assert float(cells[("value", output)]) == shown(doc["value"][k])
        for name in ("x", "y"):
            assert float(cells[(f"∂/∂{name}", output)]) == shown(doc["gradient"][k][name])


def test_labels_and_one_column_too_wide_turns_to_one_row_per_entry():
    # as a table: method (12 wide at least) + input (5) + a number (15) + borders and padding (10) = 42
    table = FitTable()
    table.add_column("method", kind="key")
    table.add_column("input", kind="key")
    table.add_column("value")
    table.add_column("error")
    table.add_row("central difference", "x", "-1.2345678e-300", "1.0e-11")
    buffer = io.StringIO()
    Console(file=buffer, width=36, color_system=None).print(table)
    lines = [line.strip("│ ") for line in buffer.getvalue().splitlines() if line.startswith("│")]
    # one entry per number (labels wrap to 12 characters), the numbers whole beside them
    assert [" ".join(line.split()) for line in lines] == [
        "central │ -1.2345678e-300", "difference x ·", "value",
        "central │ 1.0e-11", "difference x ·", "error"]
    assert max(len(line) for line in buffer.getvalue().splitlines()) <= 36


def test_narrower_than_any_table_writes_label_and_value_lines():
    table = FitTable()
    table.add_column("output", kind="key")
    table.add_column("value")
    table.add_row("f", "-1.2345678e-300")
    buffer = io.StringIO()
    Console(file=buffer, width=18, color_system=None).print(table)
    assert buffer.getvalue().splitlines() == ["f · value", "  -1.2345678e-300"]


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return {**env, "NO_COLOR": "1", **extra}


def on_terminal(args: list[str], columns: int) -> str:
    """What adcli writes to a terminal ``columns`` wide (a pseudo-terminal), escapes removed."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "adcli", *args], stdout=slave, stderr=subprocess.PIPE,
                               env=_subprocess_env(COLUMNS=str(columns), TERM="xterm"))  # rich: dumb is 80 wide
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=120) == 0, process.stderr.read()
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")


def test_on_a_terminal_no_line_is_wider_than_the_terminal():
    text = on_terminal(JACOBIAN, 60)
    assert "1.1157872e-09" in text and "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 60


def test_on_a_narrow_terminal_the_chart_legend_wraps_instead_of_being_cut():
    text = on_terminal(["compare", "exp(x)", "--at", "x=1", "--steps", ",".join(f"1e-{k}" for k in range(1, 17))], 60)
    assert max(len(line) for line in text.splitlines()) <= 60
    legend = text[text.index("f forward difference"):text.index("best step found")]
    assert " ".join(legend.split()) == ("f forward difference b backward difference c central difference "
                                        "4 fourth-order central i complex step")


def test_piped_output_is_not_hard_wrapped():
    source = "x*exp(y)-sin(x) + " + " + ".join(f"{k}*x*y" for k in range(1, 30)) + " + abs(x)"
    result = subprocess.run([sys.executable, "-m", "adcli", "grad", source, "--at", "x=0,y=0.5"],
                            capture_output=True, text=True, env=_subprocess_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"f(x, y) = {source}  at  x = 0, y = 0.5"  # one line of 300+ characters
    warning = ("warning: v94 = abs(v1): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1)")
    assert warning in lines + result.stderr.splitlines()  # (warnings may move to stderr: issue 12, item 2)


def test_piped_sweep_chart_keeps_its_whole_legend():
    result = subprocess.run([sys.executable, "-m", "adcli", "compare", "exp(x)", "--at", "x=1", "--steps",
                             "1e-2,1e-4,1e-8"], capture_output=True, text=True, env=_subprocess_env(TERM="dumb"),
                            timeout=120)
    assert result.returncode == 0, result.stderr
    legend = [line for line in result.stdout.splitlines() if "f forward difference" in line]
    assert legend == ["        f forward difference   b backward difference   c central difference   "
                      "4 fourth-order central   i complex step"]
