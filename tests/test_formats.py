"""--format table|json|markdown|latex|csv: each a faithful rendering of the same result object.

The Markdown, CSV and LaTeX Wengert tables are parsed back and compared number by number with the
--json document: CSV exactly, Markdown and LaTeX to the digits they show (8 unless --digits says
otherwise; --digits 17 gives back every bit). The other commands are checked for their header cells
and for values derived by hand. That the LaTeX compiles is tests/test_latex.py's job.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest

from adcli.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NEURON = str(SAMPLES / "sigmoid_neuron.py")


def run(runner, args):
    """Invoke adcli; it must end through an exit code, never an unhandled exception."""
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def ok(runner, args) -> str:
    result = run(runner, args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


# ---------------------------------------------------------------- readers

def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in ``text``: a list of rows of cells (header first, the --- line dropped),
    with Markdown's backslash escapes undone."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|"), line
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]
            cells = [re.sub(r"\\(.)", r"\1", cell) for cell in cells]
            if current is None:
                current = []
                tables.append(current)
            if all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
                assert len(current) == 1, "the --- line follows the header"
                continue
            current.append(cells)
        else:
            current = None
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table), table
    return tables


def latex_tables(text: str) -> list[list[list[str]]]:
    """Every tabular: its rows (header first) of cells, split on & and stripped of the trailing \\\\."""
    tables = []
    for body in re.findall(r"\\begin\{tabular\}\{([lcr]+)\}\n(.*?)\\end\{tabular\}", text, re.DOTALL):
        spec, content = body
        rows = []
        for line in content.splitlines():
            if line.strip() in ("\\toprule", "\\midrule", "\\bottomrule"):
                continue
            assert line.endswith(" \\\\"), line
            rows.append([cell.strip() for cell in line[:-3].split(" & ")])
        assert all(len(row) == len(spec) for row in rows), (spec, rows)
        tables.append(rows)
    return tables


def latex_text(cell: str) -> str:
    """A text cell with LaTeX's escapes of special characters undone."""
    cell = cell.replace("\\textbackslash{}", "\\").replace("\\textasciitilde{}", "~")
    cell = cell.replace("\\textasciicircum{}", "^")
    return re.sub(r"\\([&%$#_{}])", r"\1", cell)


def latex_number(cell: str) -> float:
    """``$-1.5 \\times 10^{-9}$`` read back as -1.5e-09."""
    match = re.fullmatch(r"\$(-?[0-9.]+)(?: \\times 10\^\{(-?[0-9]+)\})?\$", cell)
    assert match, cell
    return float(match.group(1) + (f"e{match.group(2)}" if match.group(2) else ""))


def shown(value: float, digits: int = 8) -> float:
    """``value`` as a table shows it with ``digits`` significant digits, read back."""
    return float(f"{value:.{digits}g}")


def json_rows(runner, args) -> list[dict]:
    return json.loads(ok(runner, [*args, "--json"]))["trace"]


# ---------------------------------------------------------------- the Wengert table

LESSON = ["trace", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0.5"]
CASES = {
    # x, y, exp(v2), v1 * v3, sin(v1), v4 - v5
    "lesson": (LESSON, 6),
    "lesson with tangents": ([*LESSON, "--wrt", "x,y"], 6),
    # x, x^3, 2 * v2, 1 / v1, v3 + v4: the constants 3, 2 and 1 are no rows
    "constants": (["trace", "2*x^3 + 1/x", "--at", "x=0.7"], 5),
    # w[0..2], x[0..1], 2 products, 2 sums, neg, exp, 1 + v, 1 / v
    "function file": (["trace", NEURON, "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]"], 13),
    "direction": ([*LESSON, "--direction", "x=1,y=-2"], 6),
}


def expected_columns(rows: list[dict]) -> list[str]:
    tangents = [f"tangent {label}" for label in rows[0].get("tangent", {})]
    source = ["source"] if "line" in rows[0] else []  # a function file's: line and variable
    return ["node", *source, "operation", "value", *tangents, "adjoint"]


def check_against_json(table: list[list[str]], rows: list[dict], to_float=float, digits: int | None = None,
                       header=None, text=True) -> None:
    """Each table row is the JSON row of the same node: name, operation text (unless ``text`` is
    False) and every number, exactly or (``digits``) to the digits shown."""
    exact = (lambda value: value) if digits is None else (lambda value: shown(value, digits))
    body = table[1:]
    header = header or expected_columns(rows)
    assert table[0] == header
    assert len(body) == len(rows)
    for cells, row in zip(body, rows):
        record = dict(zip(expected_columns(rows), cells))
        if text:
            assert record["node"] == row["name"]
            assert record["operation"] == row["text"]
            if "line" in row:
                assert record["source"] == (f"{row['line']}: {row['var']}" if row["var"] else str(row["line"]))
        assert to_float(record["value"]) == exact(row["value"])
        assert to_float(record["adjoint"]) == exact(row["adjoint"])
        for label, tangent in row.get("tangent", {}).items():
            assert to_float(record[f"tangent {label}"]) == exact(tangent)


@pytest.mark.parametrize("case", list(CASES))
def test_markdown_trace_matches_json(runner, case):
    args, count = CASES[case]
    rows = json_rows(runner, args)
    assert len(rows) == count
    tables = markdown_tables(ok(runner, [*args, "--format", "markdown"]))
    assert len(tables) == 1
    check_against_json(tables[0], rows, digits=8)


@pytest.mark.parametrize("output_format", ["markdown", "latex"])
def test_digits_17_gives_every_bit(runner, output_format):
    """17 significant digits read back to the very float of the JSON (pi/3 = 1.0471975511965976)."""
    rows = json_rows(runner, LESSON)
    text = ok(runner, [*LESSON, "--format", output_format, "--digits", "17"])
    if output_format == "markdown":
        check_against_json(markdown_tables(text)[0], rows)
    else:
        check_against_json(latex_tables(text)[0], rows, latex_number, header=LATEX_HEADER, text=False)
    assert "1.0471975511965976" in text


@pytest.mark.parametrize("case", list(CASES))
def test_csv_trace_matches_json(runner, case):
    args, count = CASES[case]
    rows = json_rows(runner, args)
    assert len(rows) == count
    table = list(csv.reader(io.StringIO(ok(runner, [*args, "--format", "csv"]))))
    check_against_json(table, rows)


LATEX_HEADER = ["node", "operation", "value", "adjoint"]


def latex_node(name: str) -> str:
    """v1 typeset as $v_1$, v12 as $v_{12}$ (by hand, not by adcli's own function)."""
    number = name[1:]
    return f"$v_{number}$" if len(number) == 1 else f"$v_{{{number}}}$"


@pytest.mark.parametrize("case", list(CASES))
def test_latex_trace_matches_json(runner, case):
    """One tabular with one row per node (after the header), numbers in math mode to 8 digits, the
    node names as subscripted v's."""
    args, count = CASES[case]
    rows = json_rows(runner, args)
    text = ok(runner, [*args, "--format", "latex"])
    assert text.count("\\begin{tabular}") == text.count("\\end{tabular}") == 1
    (table,) = latex_tables(text)
    assert len(table) == count + 1
    header = [table[0][0], table[0][1], table[0][2], *table[0][3:-1], table[0][-1]]
    leading = ["node", *(["source"] if "line" in rows[0] else []), "operation", "value"]
    assert header[:len(leading)] == leading and header[-1] == "adjoint"
    check_against_json(table, rows, latex_number, digits=8, header=header, text=False)
    assert [row[0] for row in table[1:]] == [latex_node(row["name"]) for row in rows]


def test_latex_trace_typesets_operations_and_sweep(runner):
    """x*exp(y)-sin(x): the operations and the reverse sweep in math mode, adjoints barred."""
    text = ok(runner, [*LESSON, "--format", "latex"])
    (table,) = latex_tables(text)
    assert [row[1] for row in table[1:]] == ["$x$", "$y$", "$\\exp(v_2)$", "$v_1 \\cdot v_3$", "$\\sin(v_1)$",
                                             "$v_4 - v_5$"]
    sweep = text.split("\\begin{flushleft}\n")[1].split("\n\\end{flushleft}")[0].split(" \\\\\n")
    assert sweep == ["reverse sweep, in the order it runs:",
                     "$\\bar{v}_4 \\mathrel{+}= \\bar{v}_6$",
                     "$\\bar{v}_5 \\mathrel{-}= \\bar{v}_6$",
                     "$\\bar{v}_1 \\mathrel{+}= \\bar{v}_5 \\cdot \\cos(v_1)$",
                     "$\\bar{v}_1 \\mathrel{+}= \\bar{v}_4 \\cdot v_3$",
                     "$\\bar{v}_3 \\mathrel{+}= \\bar{v}_4 \\cdot v_1$",
                     "$\\bar{v}_2 \\mathrel{+}= \\bar{v}_3 \\cdot v_3$"]


def test_titles_say_where_the_function_was_evaluated(runner):
    """pi/3 = 1.04719755… to 8 digits is 1.0471976; 0.5 stays 0.5."""
    markdown = ok(runner, [*LESSON, "--format", "markdown"])
    assert markdown.splitlines()[0] == "**Wengert list of x\\*exp(y)-sin(x) at x = 1.0471976, y = 0.5**"
    latex = ok(runner, [*LESSON, "--format", "latex"])
    assert "\\caption{Wengert list of \\texttt{x*exp(y)-sin(x)} at $x = 1.0471976$, $y = 0.5$}" in latex


def test_lesson_numbers_by_hand(runner):
    """x*exp(y)-sin(x) at x = pi/3, y = 1/2: the table's numbers are the hand-derived ones.
    v3 = e^(1/2), v4 = x e^y, v5 = sin x = sqrt(3)/2; adjoints x̄ = e^y - cos x = e^(1/2) - 1/2, ȳ = x e^y."""
    table = list(csv.reader(io.StringIO(ok(runner, [*LESSON, "--format", "csv"]))))
    values = {row[0]: float(row[2]) for row in table[1:]}
    adjoints = {row[0]: float(row[3]) for row in table[1:]}
    x, y = math.pi / 3, 0.5
    assert values["v1"] == x and values["v2"] == y
    assert values["v3"] == pytest.approx(math.exp(y), rel=1e-15)
    assert values["v5"] == pytest.approx(math.sqrt(3) / 2, rel=1e-15)
    assert values["v6"] == pytest.approx(x * math.exp(y) - math.sqrt(3) / 2, rel=1e-15)
    assert adjoints["v1"] == pytest.approx(math.exp(y) - 0.5, rel=1e-15)
    assert adjoints["v2"] == pytest.approx(x * math.exp(y), rel=1e-15)
    assert adjoints["v6"] == 1.0 and adjoints["v5"] == -1.0


def test_markdown_digits_rounds_cells(runner):
    """--digits 3: pi/3 -> 1.05, sin(pi/3) = 0.866025… -> 0.866, f = 0.860511… -> 0.861,
    x̄ = e^0.5 - 0.5 = 1.148721… -> 1.15, ȳ = (pi/3) e^0.5 = 1.726537… -> 1.73; no cell has more digits."""
    (table,) = markdown_tables(ok(runner, [*LESSON, "--format", "markdown", "--digits", "3"]))
    cells = {row[0]: dict(zip(table[0], row)) for row in table[1:]}
    assert cells["v1"]["value"] == "1.05"
    assert cells["v5"]["value"] == "0.866"
    assert cells["v6"]["value"] == "0.861"
    assert cells["v1"]["adjoint"] == "1.15"
    assert cells["v2"]["adjoint"] == "1.73"
    assert cells["v2"]["value"] == "0.5"
    for row in table[1:]:
        for cell in row[2:]:
            assert len(re.sub(r"[^0-9]", "", cell.split("e")[0]).lstrip("0")) <= 3, cell


def test_latex_digits_rounds_cells(runner):
    """The same roundings as Markdown (see above); exp(0.5) = 1.6487… -> 1.65."""
    (table,) = latex_tables(ok(runner, [*LESSON, "--format", "latex", "--digits", "3"]))
    assert [row[2] for row in table[1:]] == ["$1.05$", "$0.5$", "$1.65$", "$1.73$", "$0.866$", "$0.861$"]


def test_csv_keeps_every_digit_whatever_digits_says(runner):
    full = ok(runner, [*LESSON, "--format", "csv"])
    assert ok(runner, [*LESSON, "--format", "csv", "--digits", "3"]) == full
    assert "1.0471975511965976" in full  # repr(pi/3)


def test_markdown_escapes_operators(runner):
    """The * of a product is escaped in the Markdown source (\\*), so it is not read as emphasis."""
    text = ok(runner, [*LESSON, "--format", "markdown"])
    assert "| v4 | v1 \\* v3 |" in text


def test_markdown_aligns_numbers_right(runner):
    text = ok(runner, [*LESSON, "--format", "markdown"])
    assert "| node | operation | value | adjoint |\n| --- | --- | ---: | ---: |\n" in text


def test_json_format_equals_json_flag(runner):
    assert ok(runner, [*LESSON, "--format", "json"]) == ok(runner, [*LESSON, "--json"])


# ---------------------------------------------------------------- grad, jacobian, hessian, compare

GRAD = ["grad", "x*exp(y)-sin(x)", "--at", "x=1,y=0"]  # f = 1 - sin 1; f_x = e^0 - cos 1; f_y = 1 e^0 = 1
JACOBIAN = ["jacobian", "x*y, x+sin(y)", "--at", "x=2,y=3"]  # [[y, x], [1, cos y]] = [[3, 2], [1, cos 3]]
HESSIAN = ["hessian", "x^2*y + sin(y)", "--at", "x=2,y=3"]  # [[2y, 2x], [2x, -sin y]] = [[6, 4], [4, -sin 3]]
COMPARE = ["compare", "x*exp(y)-sin(x)", "--at", "x=1,y=0"]
COMPARE_HEADER = ["method", "input", "derivative", "step h", "abs error", "rel error", "note"]


def near(value):
    return pytest.approx(value, rel=1e-14, abs=1e-15)


def test_grad_markdown(runner):
    """1 - sin 1 = 0.158529015… and 1 - cos 1 = 0.459697694… to 8 digits."""
    (table,) = markdown_tables(ok(runner, [*GRAD, "--format", "markdown"]))
    assert table[0] == ["", "f"]
    assert table[1:] == [["value", "0.15852902"], ["d/dx", "0.45969769"], ["d/dy", "1"]]


def test_grad_latex(runner):
    (table,) = latex_tables(ok(runner, [*GRAD, "--format", "latex"]))
    assert table[0] == ["", "$f$"]
    assert table[1:] == [["value", "$0.15852902$"], ["$\\partial f/\\partial x$", "$0.45969769$"],
                         ["$\\partial f/\\partial y$", "$1$"]]


def test_grad_csv(runner):
    (header, row) = list(csv.reader(io.StringIO(ok(runner, [*GRAD, "--format", "csv"]))))
    assert header == ["x", "y", "value", "d/dx", "d/dy"]
    assert [float(v) for v in row] == [1.0, 0.0, near(1 - math.sin(1)), near(1 - math.cos(1)), 1.0]


def test_grad_several_outputs_markdown(runner):
    (table,) = markdown_tables(ok(runner, ["grad", "x*y, x+sin(y)", "--at", "x=2,y=3", "--format", "markdown"]))
    assert table[0] == ["", "x*y", "x+sin(y)"]
    assert table[2][0] == "d/dx" and [float(v) for v in table[2][1:]] == [3.0, 1.0]
    assert table[3][0] == "d/dy" and [float(v) for v in table[3][1:]] == [2.0, shown(math.cos(3))]


def test_jacobian_markdown(runner):
    matrix, cost = markdown_tables(ok(runner, [*JACOBIAN, "--format", "markdown"]))
    assert matrix[0] == ["output", "value", "d/dx", "d/dy"]
    assert [row[0] for row in matrix[1:]] == ["x*y", "x+sin(y)"]
    assert [[float(v) for v in row[1:]] for row in matrix[1:]] == [
        [6.0, 3.0, 2.0], [shown(2 + math.sin(3)), 1.0, shown(math.cos(3))]]
    assert cost[0] == ["mode", "sweeps", "operations"]
    assert [row[:2] for row in cost[1:]] == [["forward", "2"], ["reverse", "2"]]  # 2 inputs, 2 outputs


def test_jacobian_latex(runner):
    matrix, cost = latex_tables(ok(runner, [*JACOBIAN, "--format", "latex"]))
    assert matrix[0] == ["output", "value", "$\\partial/\\partial x$", "$\\partial/\\partial y$"]
    assert [row[0] for row in matrix[1:]] == ["\\texttt{x*y}", "\\texttt{x+sin(y)}"]
    assert [latex_number(v) for v in matrix[2][1:]] == [shown(2 + math.sin(3)), 1.0, shown(math.cos(3))]
    assert cost[0] == ["mode", "sweeps", "operations"]


def test_jacobian_csv(runner):
    table = list(csv.reader(io.StringIO(ok(runner, [*JACOBIAN, "--format", "csv"]))))
    assert table[0] == ["output", "value", "d/dx", "d/dy"]
    assert table[1] == ["x*y", "6.0", "3.0", "2.0"]
    assert table[2][0] == "x+sin(y)" and [float(v) for v in table[2][1:]] == [
        near(2 + math.sin(3)), 1.0, near(math.cos(3))]
    assert len(table) == 3


def test_hessian_markdown(runner):
    (table,) = markdown_tables(ok(runner, [*HESSIAN, "--format", "markdown"]))
    assert table[0] == ["", "x", "y"]
    assert table[1] == ["x", "6", "4"]
    assert table[2] == ["y", "4", "-0.14112001"]  # -sin 3 = -0.141120008…


def test_hessian_latex(runner):
    (table,) = latex_tables(ok(runner, [*HESSIAN, "--format", "latex"]))
    assert table[0] == ["", "$x$", "$y$"]
    assert table[1:] == [["$x$", "$6$", "$4$"], ["$y$", "$4$", "$-0.14112001$"]]


def test_hessian_csv(runner):
    table = list(csv.reader(io.StringIO(ok(runner, [*HESSIAN, "--format", "csv"]))))
    assert table[0] == ["", "x", "y"]
    assert table[1] == ["x", "6.0", "4.0"]
    assert table[2][:2] == ["y", "4.0"] and float(table[2][2]) == near(-math.sin(3))


def _ad_rows(rows: list[list[str]], derivative, x="x", y="y", exact=near) -> None:
    """The AD rows of compare: f_x = 1 - cos 1, f_y = 1 at (1, 0)."""
    by_method = {(row[0], row[1].replace(x, "x").replace(y, "y")): row for row in rows[1:]}
    for method in ("forward-mode AD", "reverse-mode AD"):
        assert derivative(by_method[(method, "x")][2]) == exact(1 - math.cos(1))
        assert derivative(by_method[(method, "y")][2]) == 1.0
    assert {"central difference", "SymPy"} <= {row[0] for row in rows[1:]}


def test_compare_markdown(runner):
    tables = markdown_tables(ok(runner, [*COMPARE, "--format", "markdown"]))
    assert tables[0][0] == COMPARE_HEADER
    assert tables[-1][0] == ["depth", "trace ops", "reverse ops", "SymPy ops", "simplified ops", "cse ops"]
    assert tables[-1][1][:2] == ["1", "4"]  # the trace has 4 operations: exp, *, sin, -
    _ad_rows(tables[0], float, exact=shown)


def test_compare_latex(runner):
    tables = latex_tables(ok(runner, [*COMPARE, "--format", "latex"]))
    assert tables[0][0] == [*COMPARE_HEADER[:3], "step $h$", *COMPARE_HEADER[4:]]
    _ad_rows(tables[0], latex_number, "$x$", "$y$", exact=shown)


def test_compare_csv(runner):
    table = list(csv.reader(io.StringIO(ok(runner, [*COMPARE, "--format", "csv"]))))
    assert table[0] == COMPARE_HEADER
    _ad_rows(table, float)


def test_compare_markdown_with_sweep_has_its_table(runner):
    tables = markdown_tables(ok(runner, [*COMPARE, "--steps", "1e-2,1e-4", "--format", "markdown"]))
    assert [table[0] for table in tables][1] == ["input", "derivative"]  # SymPy's formula
    assert [table[0] for table in tables][2] == ["method", "input", "h", "derivative", "abs error", "rel error",
                                                 "regime"]
    assert {float(row[2]) for row in tables[2][1:]} == {1e-2, 1e-4}


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("command", [LESSON, GRAD, JACOBIAN, HESSIAN])
def test_json_flag_and_csv_format_disagree(runner, command):
    result = run(runner, [*command, "--json", "--format", "csv"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: --json and --format csv disagree: choose one\n"


@pytest.mark.parametrize("command", [LESSON, GRAD, JACOBIAN, HESSIAN, COMPARE])
def test_unknown_format(runner, command):
    result = run(runner, [*command, "--format", "xml"])
    assert result.exit_code == 2
    assert result.stdout == ""
    pictures = {"jacobian": ", 'png', 'svg'", "hessian": ", 'png', 'svg'", "trace": ", 'html'"}.get(command[0], "")
    assert result.stderr == ("error: Invalid value for '--format': 'xml' is not one of 'table', 'json', 'markdown', "
                             f"'latex', 'csv'{pictures} (see 'adcli {command[0]} --help')\n")
