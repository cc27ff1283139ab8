"""Tables that fit the terminal without ever cutting a number, and the Console that prints them.

Every table view builds a :class:`FitTable` instead of a rich ``Table``. When the console is
rendered, the table measures its columns and, if they do not fit the width, changes the layout
rather than the numbers:

1. the non-key columns are split over several tables, each repeating the key (row label) columns;
2. if not even the keys and one column fit, the table becomes one row per entry
   (``row label · column`` next to the value);
3. if not even that fits (a terminal narrower than one number), one line per label and value.

Number columns get exactly the width of their widest cell, so rich never shrinks them; only text
columns (operations, notes, labels) wrap, and they fold long words instead of cutting them.

Output that is not a terminal (a pipe, a file) is never hard-wrapped: header lines, warnings and
charts are written whole (``soft_wrap``), and tables are as wide as they need to be, or as wide as
``COLUMNS`` when it is set.
"""

from __future__ import annotations

import functools
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

#: The width of a console whose output is not a terminal and COLUMNS is not set: wide enough
#: that no table is ever split or wrapped.
UNLIMITED_WIDTH = 10_000
#: A COLUMNS setting below this is taken as unset: no table fits in it.
MIN_WIDTH = 20
#: Text columns wrap, but not narrower than this (or their content, if shorter).
TEXT_MIN_WIDTH = 12


def make_console(file: TextIO, terminal: bool, columns: str | None = None) -> Console:
    """The Console that writes tables into ``file``: a terminal's width on a ``terminal``; otherwise
    no hard wrap.

    When the output is not a terminal, lines are written whole (``soft_wrap``) and tables may be as
    wide as ``columns`` (the ``COLUMNS`` setting) when that is a number, else as wide as they need.
    """
    if terminal:
        return Console(file=file, emoji=False, force_terminal=True)
    width = int(columns) if columns and columns.isascii() and columns.isdigit() and len(columns) < 6 else 0
    if width < MIN_WIDTH:  # unset, or too narrow to mean anything (COLUMNS=0)
        width = UNLIMITED_WIDTH
    return Console(file=file, emoji=False, soft_wrap=True, width=width, color_system=None)


class _Column:
    """A column's header, kind and cells: ``kind`` is "key" (repeated in every part of a split),
    "number" (never cut) or "text" (may wrap)."""

    def __init__(self, header: str, kind: str, justify: JustifyMethod, style: str | None) -> None:
        self.header, self.kind, self.justify, self.style = header, kind, justify, style
        self.cells: list = []

    @functools.cached_property
    def natural(self) -> int:
        """The width that shows every cell and the header on one line (measured once all rows are in)."""
        return max([_width(self.header), self.widest_cell])

    @functools.cached_property
    def widest_cell(self) -> int:
        return max((_width(cell) for cell in self.cells), default=0)

    @functools.cached_property
    def minimum(self) -> int:
        """The narrowest width allowed: a number's full width; a text column may wrap."""
        if self.kind == "number":
            return max([*(_width(word) for word in self.header.split()), self.widest_cell])
        return min(self.natural, TEXT_MIN_WIDTH)


def _width(cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


class FitTable:
    """A rich table whose numbers are never cut: it splits or turns itself to fit the width.

    ``add_column`` takes ``kind``: ``"key"`` for the row-label columns (first, repeated in every
    part of a split table), ``"number"`` for cells that must be shown whole, ``"text"`` for cells that
    may wrap. Other keyword arguments (``title``, ``box``, ``show_lines``, …) go to rich's ``Table``.
    """

    def __init__(self, **table_options) -> None:
        self.options = table_options
        self.columns: list[_Column] = []
        self._overheads: dict[int, int] = {}

    def add_column(self, header: str, kind: str = "number", justify: JustifyMethod | None = None,
                   style: str | None = None) -> None:
        """Add a column; numbers are right-aligned unless ``justify`` says otherwise."""
        self.columns.append(_Column(header, kind, justify or ("right" if kind == "number" else "left"), style))

    def add_row(self, *cells) -> None:
        """Add a row; missing trailing cells are empty."""
        for column, cell in zip(self.columns, [*cells, *[""] * (len(self.columns) - len(cells))]):
            column.cells.append(cell)

    @property
    def row_count(self) -> int:
        return len(self.columns[0].cells) if self.columns else 0

    # ------------------------------------------------------------ layout
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        keys = [c for c in self.columns if c.kind == "key"]
        parts = self._split(console, options, keys, [c for c in self.columns if c.kind != "key"], width)
        if parts is None:
            yield from self._entries(console, options, keys, width)
            return
        for index, part in enumerate(parts):
            if index and not self.options.get("box", True):
                yield Text("")
            yield self._table(console, options, keys + part, width, continued=index > 0)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)

    def _overhead(self, console: Console, options: ConsoleOptions, count: int) -> int:
        """Borders and padding of a table of ``count`` columns in this table's style."""
        if count in self._overheads:
            return self._overheads[count]
        probe = Table(**{k: v for k, v in self.options.items() if k not in ("title", "caption")})
        for _ in range(count):
            probe.add_column(width=1)
        self._overheads[count] = Measurement.get(console, options.update_width(UNLIMITED_WIDTH), probe).maximum - count
        return self._overheads[count]

    def _fits(self, console: Console, options: ConsoleOptions, columns: list[_Column], width: int) -> bool:
        return self._overhead(console, options, len(columns)) + sum(c.minimum for c in columns) <= width

    def _split(self, console: Console, options: ConsoleOptions, keys: list[_Column], rest: list[_Column],
               width: int) -> list[list[_Column]] | None:
        """The non-key columns in groups that fit beside the keys, or None if one column does not."""
        parts: list[list[_Column]] = []
        current: list[_Column] = []
        for column in rest:
            if self._fits(console, options, keys + current + [column], width):
                current.append(column)
            elif current and self._fits(console, options, keys + [column], width):
                parts.append(current)
                current = [column]
            else:
                return None
        if current or not parts:
            parts.append(current)
        return parts

    def _table(self, console: Console, options: ConsoleOptions, columns: list[_Column], width: int,
               continued: bool = False) -> Table:
        """A rich table of these columns, every width fixed so that rich has nothing to shrink."""
        widths = [c.minimum for c in columns]
        spare = width - self._overhead(console, options, len(columns)) - sum(widths)
        for index, column in enumerate(columns):  # text columns grow back, left to right
            grow = max(0, min(spare, column.natural - widths[index]))
            widths[index] += grow
            spare -= grow
        table_options = dict(self.options)
        if continued and table_options.get("title"):
            table_options["title"] = f"{table_options['title']} (continued)"
        table = Table(**table_options)
        for column, column_width in zip(columns, widths):
            table.add_column(column.header, justify=column.justify, style=column.style, width=column_width,
                             overflow="fold")
        for row in zip(*(c.cells for c in columns)):
            table.add_row(*row)
        return table

    def _entries(self, console: Console, options: ConsoleOptions, keys: list[_Column], width: int) -> RenderResult:
        """One row per number: the row's labels and the column's header, then the value."""
        texts = [c for c in self.columns if c.kind == "text"]
        entries = FitTable(**self.options)
        entries.add_column("entry", kind="key")
        entries.add_column("value")
        for row in range(self.row_count):
            label = " ".join(str(c.cells[row]) for c in keys + texts if str(c.cells[row]))
            for column in self.columns:
                if column.kind == "number" and str(column.cells[row]):
                    entries.add_row(f"{label} · {column.header}".strip(" ·"), column.cells[row])
        if entries._split(console, options, entries.columns[:1], entries.columns[1:], width) is not None:
            yield entries._table(console, options, entries.columns, width)
            return
        for entry, value in zip(*(c.cells for c in entries.columns)):  # narrower than one table cell
            yield Text(entry)
            yield Text(f"  {value}", overflow="fold")
