"""Results as plain tables, written as Markdown, LaTeX or CSV for notes and papers.

Each builder turns a result object into :class:`Tabular` tables of the same numbers the terminal
and JSON show; the writers only lay them out. Numbers keep full precision (shortest round-trip
form) unless ``--digits`` asks for fewer; CSV always keeps every digit.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from adcli.primitives import CONST


@dataclass
class Tabular:
    title: str
    columns: list[str]
    rows: list[list]  # cells: str, float or None
    notes: list[str] = field(default_factory=list)  # lines printed after the table (Markdown, LaTeX)


def _cell(value, digits: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return repr(value) if digits is None else f"{value:.{digits}g}"
    return str(value)


# ---------------------------------------------------------------- writers
def to_markdown(tables: list[Tabular], digits: int | None = None) -> str:
    out = []
    for table in tables:
        out.append(f"**{_markdown_escape(table.title)}**\n")
        out.append("| " + " | ".join(_markdown_escape(c) for c in table.columns) + " |")
        out.append("|" + "|".join(" --- " for _ in table.columns) + "|")
        for row in table.rows:
            out.append("| " + " | ".join(_markdown_escape(_cell(v, digits)) for v in row) + " |")
        out += [""] + [f"    {note}" for note in table.notes] + ([""] if table.notes else [])
    return "\n".join(out).rstrip() + "\n"


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def to_latex(tables: list[Tabular], digits: int | None = None) -> str:
    out = []
    for table in tables:
        out.append(f"% {table.title}")
        out.append("\\begin{tabular}{" + "l" * 2 + "r" * (len(table.columns) - 2) + "}")
        out.append("\\hline")
        out.append(" & ".join(_latex_escape(c) for c in table.columns) + " \\\\")
        out.append("\\hline")
        for row in table.rows:
            out.append(" & ".join(_latex_cell(v, digits) for v in row) + " \\\\")
        out.append("\\hline")
        out.append("\\end{tabular}")
        if table.notes:
            out.append("\\begin{verbatim}")
            out += table.notes
            out.append("\\end{verbatim}")
        out.append("")
    return "\n".join(out)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def _latex_cell(value, digits: int | None) -> str:
    text = _cell(value, digits)
    return f"${text}$" if isinstance(value, float) and math.isfinite(value) else _latex_escape(text)


def to_csv(tables: list[Tabular]) -> str:
    """The first table as CSV, every digit kept (other tables have other columns)."""
    table = tables[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(_cell(v, None) for v in row)
    return buffer.getvalue()


def write(tables: list[Tabular], output_format: str, digits: int | None) -> str:
    if output_format == "markdown":
        return to_markdown(tables, digits)
    if output_format == "latex":
        return to_latex(tables, digits)
    return to_csv(tables)


# ---------------------------------------------------------------- builders
def sweep_tables(table) -> list[Tabular]:
    """The Wengert table: one row per input and operation; the reverse sweep as notes."""
    from adcli.report import update_statements

    trace, evaluated = table.trace, table.evaluated
    names, input_name = trace.names(), trace.input_name_of()
    columns = ["node", "operation", "value"] + [f"tangent {label}" for label, _ in table.tangents] + ["adjoint"]
    rows = []
    for i, code in enumerate(trace.op):
        if code == CONST:
            continue
        rows.append([names[i], trace.equation_text(i, names, input_name), evaluated.values[i],
                     *(t[i] for _, t in table.tangents), table.adjoints[i]])
    notes = ["reverse sweep, in the order it runs:", *update_statements(trace, straight_through=table.straight_through)]
    return [Tabular(f"Wengert list of {trace.source.strip()}", columns, rows, notes)]


def gradient_tables(result) -> list[Tabular]:
    trace, evaluated = result.trace, result.evaluated
    several = len(trace.outputs) > 1
    columns = ["", *(name if several else "f" for name in trace.output_names)]
    rows = [["value", *evaluated.output_values]]
    rows += [[f"d/d{name}", *(g[name] for g in result.gradients)] for name in result.wrt]
    return [Tabular(f"value and gradient of {trace.source.strip()} ({result.mode} mode)", columns, rows)]


def jacobian_tables(result) -> list[Tabular]:
    trace, evaluated = result.trace, result.evaluated
    columns = ["output", "value", *(f"d/d{name}" for name in trace.input_names)]
    rows = [[name, value, *row] for name, value, row in zip(trace.output_names, evaluated.output_values,
                                                             result.matrix)]
    costs = [[mode, result.sweeps[mode], result.operations[mode]] for mode in ("forward", "reverse")]
    return [Tabular(f"Jacobian of {trace.source.strip()} ({result.mode} mode)", columns, rows),
            Tabular("cost for this shape", ["mode", "sweeps", "operations"], costs)]


def hessian_tables(result) -> list[Tabular]:
    names = result.trace.input_names
    rows = [[name, *row] for name, row in zip(names, result.matrix)]
    return [Tabular(f"Hessian of {result.trace.source.strip()}", ["", *names], rows)]


def compare_tables(comparison) -> list[Tabular]:
    methods = [[row.method, row.input, row.value, row.step, row.abs_error, row.rel_error, row.note]
               for row in comparison.methods]
    tables = [Tabular(f"derivatives of {comparison.trace.source.strip()} by every method",
                      ["method", "input", "derivative", "step h", "abs error", "rel error", "note"], methods)]
    if comparison.sweep:
        rows = [[row.method, row.input, row.step, row.value, row.abs_error, row.rel_error, row.regime]
                for row in comparison.sweep]
        tables.append(Tabular("step sweep", ["method", "input", "h", "derivative", "abs error", "rel error",
                                             "regime"], rows))
    swell = []
    for row in comparison.swell:
        sizes = [row.symbolic.get(stage, {}) for stage in ("derivative", "simplify", "cse")]
        swell.append([row.depth, row.trace_operations, row.reverse_operations,
                      *(s.get("ops", "timed out" if s.get("timed_out") else None) for s in sizes)])
    tables.append(Tabular("expression swell", ["depth", "trace ops", "reverse ops", "SymPy ops",
                                               "simplified ops", "cse ops"], swell))
    return tables


def checkpoint_tables(evaluated, runs) -> list[Tabular]:
    trace = evaluated.trace
    columns = ["strategy", "peak stored", "stored (theory)", "recomputed", "recomputed (theory)", "seconds",
               *(f"d/d{name}" for name in trace.input_names)]
    rows = []
    for r in runs:
        gradient = [r.adjoints[node] for node in trace.inputs] if r.adjoints else [None] * len(trace.inputs)
        measured = [r.peak_stored, r.recomputed, r.seconds] if r.adjoints else [None, None, None]
        rows.append([r.strategy.label, measured[0], r.theory_stored, measured[1], r.theory_recomputed, measured[2],
                     *gradient])
    return [Tabular(f"checkpointing strategies for {trace.source.strip()}", columns, rows)]
