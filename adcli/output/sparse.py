"""The writers of a Jacobian or a Hessian computed by colours (:mod:`adcli.sparsity`): its pattern as
a spy picture, its colours and sweeps, and its non-zeros only, never the dense matrix, for the
terminal, JSON and the plain tables of Markdown, LaTeX and CSV."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adcli.output import plural

if TYPE_CHECKING:
    from rich.console import Group

    from adcli.output.tabular import Tabular
    from adcli.sparsity import Pattern, Sparsity

#: The spy picture is at most this many characters wide and high; a character stands for a block.
SPY_CELLS = 40
#: A block with a non-zero, and one without: the dot operator, not the middle dot '·' that adcli writes
#: for a product, so that an ASCII stream spells an empty block '.' (:mod:`adcli.output.ascii`), not '*'.
FULL, EMPTY = "█", "\u22c5"


def spy(pattern: Pattern, cells: int = SPY_CELLS) -> list[str]:
    """The pattern as lines of text, ``█`` where a block holds a non-zero, ``⋅`` where it holds none;
    one character per entry up to ``cells`` rows and columns, a block of entries per character beyond."""
    rows, columns = pattern.shape
    block = max(1, -(-max(rows, columns) // cells))
    picture = [bytearray(-(-columns // block)) for _ in range(-(-rows // block))]
    for i, row in enumerate(pattern.rows):
        line = picture[i // block]
        for j in row:
            line[j // block] = 1
    return ["".join(FULL if cell else EMPTY for cell in line) for line in picture]


def sweeps_text(sparsity: Sparsity) -> str:
    """``2,000 sweeps → 3 sweeps``: what the colouring saved."""
    return f"{plural(sparsity.dense_sweeps, 'sweep')} → {plural(sparsity.colour_count, 'sweep')}"


def summary(sparsity: Sparsity) -> str:
    """The pattern's size and the colouring: ``5,998 non-zeros of 4,000,000; star colouring: 3 colours``."""
    rows, columns = sparsity.pattern.shape
    how = {"star": "star colouring", "columns": "columns coloured (distance 2)",
           "rows": "rows coloured (distance 2)"}[sparsity.colouring]
    return (f"{plural(sparsity.pattern.nonzeros, 'non-zero')} of {rows * columns:,}; "
            f"{how}: {plural(sparsity.colour_count, 'colour')}")


def _entries(sparsity: Sparsity, row_names: list[str], column_names: list[str]) -> list[list]:
    return [[row_names[i], column_names[j], value] for i, j, value in sparsity.entries()]


def sparse_view(sparsity: Sparsity, row_names: list[str], column_names: list[str], headings: list[str],
                digits: int, lines: list, note: str) -> Group:
    """The terminal view: ``lines`` (header, value …), the pattern's summary, the spy picture, the
    sweeps saved, then the non-zeros, a row each (``headings``: the row, column and value columns)."""
    from rich.console import Group
    from rich.text import Text

    from adcli.output.fit_table import FitTable
    from adcli.output.terminal import fmt

    grid = FitTable(title="non-zeros", title_justify="left")
    for k, heading in enumerate(headings):
        grid.add_column(heading, kind="key" if k < 2 else "number")
    for row, column, value in _entries(sparsity, row_names, column_names):
        grid.add_row(row, column, fmt(value, digits))
    return Group(*lines, Text(f"pattern: {summary(sparsity)}"), *(Text(line) for line in spy(sparsity.pattern)),
                 Text(sweeps_text(sparsity), style="bold"), grid, Text(note, style="dim"))


def coordinates(sparsity: Sparsity) -> dict:
    """The matrix as coordinate lists, for JSON: shape, rows, columns and values of its non-zeros."""
    from adcli.output.documents import number

    rows, columns = sparsity.pattern.coordinates()
    assert sparsity.values is not None
    return {"shape": list(sparsity.pattern.shape), "rows": rows, "columns": columns,
            "values": [number(value) for values in sparsity.values for value in values]}


def sparsity_json(sparsity: Sparsity) -> dict:
    """The colouring, for JSON: its kind, the colour of each column (or row) and the sweeps."""
    return {"colouring": sparsity.colouring, "colours": sparsity.colours, "colour_count": sparsity.colour_count,
            "nonzeros": sparsity.pattern.nonzeros, "sweeps": sparsity.colour_count,
            "dense_sweeps": sparsity.dense_sweeps}


def sparse_tables(sparsity: Sparsity, title: str, row_names: list[str], column_names: list[str],
                  headings: list[str], source: str, at: dict[str, float]) -> list[Tabular]:
    """The non-zeros as one plain table, with the pattern's summary and the sweeps as notes."""
    from adcli.output.tabular import NAME, Tabular

    return [Tabular(title, headings, _entries(sparsity, row_names, column_names), kinds=[NAME, NAME],
                    notes=[summary(sparsity), sweeps_text(sparsity)], source=source, at=at)]
