"""The writers of the higher-order results: ``taylor`` (Taylor coefficients and derivatives of any
order along a line) and ``hvp`` (a Hessian-vector product), for the terminal, JSON and the plain
tables of Markdown, LaTeX and CSV."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adcli.output import plural
from adcli.primitives import CONST

if TYPE_CHECKING:
    from rich.console import Group

    from adcli.output.tabular import Tabular
    from adcli.taylor import Taylor

#: Up to this order the terminal shows every node's coefficients; beyond, the outputs' only.
NODE_COLUMNS = 6


def _line(result) -> str:
    """The direction u as text: ``x = 1, y = 0``."""
    return ", ".join(f"{name} = {value:g}" for name, value in result.direction.items())


def _derivative_rows(result: Taylor) -> tuple[list[str], list[list]]:
    """Columns and rows of the derivatives table: k, then each output's c_k and f^(k)."""
    trace = result.trace
    several = len(trace.outputs) > 1
    columns = ["k"]
    for name in trace.output_names:
        suffix = f" of {name}" if several else ""
        columns += [f"c_k{suffix}", f"k-th derivative{suffix}"]
    per_output = [(result.coefficients[o], result.derivatives(k)) for k, o in enumerate(trace.outputs)]
    rows = [[k, *(cell for c, d in per_output for cell in (c[k], d[k]))] for k in range(result.order + 1)]
    return columns, rows


_CHECK_COLUMNS = ["k", "Taylor mode", "SymPy (50 digits)", "rel error", "SymPy ops", "trace ops"]


def _check_table(result: Taylor) -> tuple[list[str], list[list]]:
    """A row per output and order SymPy checked: its size beside the trace's, which stays the same
    for every k (its seconds vary from run to run: JSON has them). An output column when there are several."""
    several = len(result.trace.outputs) > 1
    operations = result.trace.operation_count
    rows = [[c.order, c.ad, c.reference if c.reference is not None else "timed out" if c.sympy_ops is None
             else "no value", c.rel_error, c.sympy_ops, operations] for c in result.checks]
    if several:
        return ["output", *_CHECK_COLUMNS], [[c.output, *row] for c, row in zip(result.checks, rows)]
    return _CHECK_COLUMNS, rows


def _node_rows(result: Taylor) -> tuple[list[str], list[list]]:
    trace = result.trace
    names = trace.names()
    texts = trace.equation_texts(names)
    nodes = [i for i, code in enumerate(trace.op) if code != CONST]
    columns = ["node", "operation", *(f"c{k}" for k in range(result.order + 1))]
    return columns, [[names[i], texts[i], *result.coefficients[i]] for i in nodes]


def taylor_view(result: Taylor, digits: int) -> Group:
    """The outputs' derivatives to order K, every node's coefficients (small K), SymPy's check."""
    from rich.console import Group
    from rich.text import Text

    from adcli.output.fit_table import FitTable
    from adcli.output.terminal import fmt, header

    def table(title: str, columns: list[str], rows: list[list], keys: int = 1) -> FitTable:
        grid = FitTable(title=title, title_justify="left")
        for k, column in enumerate(columns):
            grid.add_column(column, kind="key" if k < keys else "number")
        for row in rows:
            grid.add_row(*(cell if isinstance(cell, str) else "—" if cell is None else
                           str(cell) if isinstance(cell, int) else fmt(cell, digits) for cell in row))
        return grid

    parts: list = [header(result.trace, result.evaluated.at, digits),
             Text(f"along u: {_line(result)}  (f^(k) = k!·c_k, the k-th derivative of t ↦ f(x + t·u) at t = 0)")]
    if result.order <= NODE_COLUMNS:
        parts.append(table("Taylor coefficients of every node", *_node_rows(result), keys=2))
    parts.append(table(f"Derivatives to order {result.order}", *_derivative_rows(result)))
    if result.checks:
        columns, rows = _check_table(result)
        parts.append(table("SymPy's k-th derivative (50 digits) and its size beside the trace's", columns, rows,
                           keys=len(columns) - len(_CHECK_COLUMNS) + 1))
    parts += [Text(message, style="yellow") for message in result.sympy_messages]
    note = "" if result.order <= NODE_COLUMNS else "; every node's coefficients: --json or --format csv"
    parts.append(Text(f"Taylor mode: one sweep over {plural(result.trace.operation_count, 'operation')}, "
                      f"O(K²) each{note}", style="dim"))
    return Group(*parts)


def taylor_json(result: Taylor) -> dict:
    """The ``taylor`` document: the outputs' coefficients and derivatives, every node's coefficients, SymPy's check."""
    from dataclasses import asdict

    from adcli.output.documents import finite

    trace, evaluated = result.trace, result.evaluated
    names = trace.names()
    return finite({
        "source": trace.source, "at": evaluated.at, "direction": result.direction, "order": result.order,
        "value": evaluated.output_values[0] if len(trace.outputs) == 1 else evaluated.output_values,
        "outputs": [{"name": name, "coefficients": list(result.coefficients[o]), "derivatives": result.derivatives(k)}
                    for k, (name, o) in enumerate(zip(trace.output_names, trace.outputs))],
        "nodes": [{"name": names[i], "coefficients": list(result.coefficients[i])}
                  for i, code in enumerate(trace.op) if code != CONST],
        "sympy": [asdict(check) for check in result.checks],
        "warnings": evaluated.warnings + result.sympy_messages, "notes": evaluated.notes,
    })


def taylor_tables(result: Taylor) -> list[Tabular]:
    """Every node's coefficients (CSV's one table), the derivatives and SymPy's check as plain tables."""
    from adcli.output.tabular import NAME, Tabular

    at, source = result.evaluated.at, result.trace.source.strip()
    tables = [Tabular(f"Taylor coefficients of every node of {{subject}} along {_line(result)}",
                      *_node_rows(result), kinds=[NAME], source=source, at=at),
              Tabular("Derivatives", *_derivative_rows(result))]
    if result.checks:
        tables.append(Tabular("SymPy's k-th derivative (50 digits) and its size", *_check_table(result),
                              notes=result.sympy_messages))
    return tables


def _hvp_rows(result) -> list[list]:
    return [[name, v, g, hv] for name, v, g, hv in
            zip(result.names, result.direction.values(), result.gradient, result.product)]


_HVP_COLUMNS = ["input", "v", "gradient", "H·v"]


def hvp_view(result, digits: int) -> Group:
    """Value, and per input: v, the gradient and H·v."""
    from rich.console import Group
    from rich.text import Text

    from adcli.output.fit_table import FitTable
    from adcli.output.terminal import fmt, header

    grid = FitTable(title="Hessian-vector product", title_justify="left")
    for k, column in enumerate(_HVP_COLUMNS):
        grid.add_column(column, kind="key" if k == 0 else "number")
    for row in _hvp_rows(result):
        grid.add_row(row[0], *(fmt(value, digits) for value in row[1:]))
    return Group(header(result.trace, result.evaluated.at, digits),
                 Text(f"value {fmt(result.evaluated.output_values[0], digits)}"), grid,
                 Text("forward-over-reverse: one forward sweep, seeded with v, over the recorded reverse sweep",
                      style="dim"))


def hvp_json(result) -> dict:
    """The ``hvp`` document: value, v, gradient and H·v, by input name."""
    from adcli.output.documents import finite

    evaluated = result.evaluated
    return finite({
        "source": result.trace.source, "at": evaluated.at, "inputs": result.names,
        "value": evaluated.output_values[0], "direction": result.direction,
        "gradient": dict(zip(result.names, result.gradient)), "hvp": dict(zip(result.names, result.product)),
        "warnings": evaluated.warnings, "notes": evaluated.notes,
    })


def hvp_tables(result) -> list[Tabular]:
    """The value's H·v as one plain table, a row per input."""
    from adcli.output.tabular import NAME, Tabular

    return [Tabular("Hessian-vector product of {subject}", _HVP_COLUMNS, _hvp_rows(result), kinds=[NAME],
                    source=result.trace.source.strip(), at=result.evaluated.at)]
