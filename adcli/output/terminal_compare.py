"""Terminal rendering of ``adcli compare`` and of ``grad --check``."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from adcli.compare import COMPLEX_STEP, DIFFERENCES, CheckRow, Comparison
from adcli.output.fit_table import FitTable
from adcli.output.terminal import fmt, header, seconds_text
from adcli.output.textchart import loglog_chart

_MARKERS = {"forward difference": "f", "backward difference": "b", "central difference": "c",
            "fourth-order central": "4", COMPLEX_STEP: "i"}
_KINDS = {"method": "key", "input": "key", "formula": "key", "note": "text", "order": "text"}
_REGIME = {"truncation": "truncation", "round-off": "round-off", "best": "best", "machine precision": "exact"}


def _error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


#: Characters of a SymPy formula a terminal shows; a longer one (swell) is left to the JSON.
LONGEST_FORMULA = 2000


def comparison_view(comparison: Comparison, digits: int) -> Group:
    trace, evaluated = comparison.trace, comparison.evaluated
    parts: list[RenderableType] = [header(trace, evaluated.at, digits)]
    why = "SymPy ran out of time" if comparison.timeouts else "SymPy could not give one here"
    for name, text in comparison.reference.items():
        if text is None:  # SymPy's derivative has no number here (floor's derivative, say)
            parts.append(Text(f"no 50-digit reference for ∂f/∂{name} ({why}), so its errors are not shown",
                              style="yellow"))
        else:
            parts.append(Text(f"reference ∂f/∂{name} = {text}  (SymPy, 50 digits)"))
    if not comparison.reference:
        parts.append(Text(f"no 50-digit reference ({why}), so errors are not shown", style="yellow"))
    how = "simplified" if comparison.simplified else "not simplified: simplify ran out of time"
    for name, text in comparison.formula_texts().items():
        shown = text if len(text) <= LONGEST_FORMULA else f"{len(text):,} characters, shown whole by --json"
        parts.append(Text(f"SymPy's ∂f/∂{name} = {shown}  ({how})"))

    methods = FitTable(title="methods side by side", title_justify="left")
    notes = any(row.note for row in comparison.methods)
    for column in ("method", "input", "∂f/∂input", "step h", "abs error", "rel error") + (("note",) if notes else ()):
        methods.add_column(column, kind=_KINDS.get(column, "number"))
    for row in comparison.methods:
        cells = [row.method, row.input, "—" if row.value is None else fmt(row.value, digits),
                 "" if row.step is None else f"{row.step:.2e}", _error(row.abs_error), _error(row.rel_error)]
        methods.add_row(*cells, *((row.note,) if notes else ()))
    parts.append(methods)

    if comparison.sweep is not None:
        parts += _sweep_parts(comparison)
    parts.append(_swell_table(comparison))
    parts += [Text(message, style="yellow") for message in comparison.messages]
    return Group(*parts)


def _sweep_parts(comparison: Comparison) -> list[RenderableType]:
    assert comparison.sweep is not None  # (called when there is a sweep)
    parts: list[RenderableType] = []
    methods = [d.name for d in DIFFERENCES] + [COMPLEX_STEP]
    for name in comparison.wrt:
        rows = [r for r in comparison.sweep if r.input == name]
        steps = sorted({r.step for r in rows}, reverse=True)
        cell = {(r.method, r.step): r for r in rows}
        table = FitTable(title=f"step sweep for ∂f/∂{name}: relative error and what dominates it",
                         title_justify="left")
        table.add_column("h", kind="key", justify="right")
        for method in methods:
            table.add_column(method)
        for h in steps:
            cells = []
            for method in methods:
                row = cell.get((method, h))
                cells.append("—" if row is None or row.rel_error is None
                             else f"{row.rel_error:.1e} {_REGIME.get(row.regime, '')}")
            table.add_row(f"{h:.0e}", *cells)
        parts.append(table)
        series = {method: [(r.step, r.rel_error) for r in rows if r.method == method] for method in methods}
        chart = loglog_chart(series, _MARKERS)
        parts.append(Text("\n".join(chart[:-2]), no_wrap=True))  # the plot area keeps its shape
        parts += [Text(line) for line in chart[-2:]]  # the axis labels and the legend wrap, never cut
    best = FitTable(title="best step found vs the theoretical near-optimal step", title_justify="left")
    for column in ("formula", "input", "order", "best h", "error there", "theory h"):
        best.add_column(column, kind=_KINDS.get(column, "number"))
    for entry in comparison.best_steps or []:
        best.add_row(entry["method"], entry["input"], entry["order"], f"{entry['best_step']:.0e}",
                     _error(entry["best_abs_error"]), f"{entry['theoretical_step']:.1e}")
    parts.append(best)
    return parts


def _swell_table(comparison: Comparison) -> FitTable:
    table = FitTable(title="expression swell: SymPy's derivative vs adcli's trace (ops / tree nodes, time)",
                     title_justify="left")
    for column in ("depth", "trace ops", "reverse ops", "AD time", "SymPy derivative", "simplified", "cse"):
        table.add_column(column, kind="key" if column == "depth" else "number", justify="right")
    for row in comparison.swell:
        cells = [str(row.depth), f"{row.trace_operations:,}", f"{row.reverse_operations:,}",
                 seconds_text(row.ad_seconds)]
        for stage in ("derivative", "simplify", "cse"):
            sizes = row.symbolic.get(stage)
            if sizes is None:
                cells.append("")
            elif sizes.get("timed_out"):
                cells.append("timed out")
            else:
                cells.append(f"{sizes['ops']:,} / {sizes['nodes']:,}, {seconds_text(sizes['seconds'])}")
        table.add_row(*cells)
    return table




def checks_table(rows: list[CheckRow], digits: int) -> FitTable:
    """``grad --check``: AD next to SymPy and a central difference, with the differences."""
    several = len({row.output for row in rows}) > 1
    table = FitTable(title="cross-checks", title_justify="left")
    if several:
        table.add_column("output", kind="key")
    notes = any(row.note for row in rows)
    columns = ("input", "AD", "SymPy", "SymPy − AD", "central difference", "FD − AD") + (("note",) if notes else ())
    for column in columns:
        table.add_column(column, kind=_KINDS.get(column, "number"))
    has_sympy = any(row.sympy is not None or "SymPy" in row.note for row in rows)
    has_fd = any(row.fd_step is not None for row in rows)
    for row in rows:
        cells = [row.output] if several else []
        cells += [row.input, fmt(row.ad, digits)]
        cells += [fmt(row.sympy, digits), f"{row.sympy - row.ad:.1e}"] if row.sympy is not None else \
            (["—", ""] if has_sympy else ["", ""])
        cells += [fmt(row.fd, digits), f"{row.fd - row.ad:.1e}"] if row.fd is not None else \
            (["—", ""] if has_fd else ["", ""])
        table.add_row(*cells, *((row.note,) if notes else ()))
    return table
