"""Terminal rendering of results with rich: the gradient table and the Wengert table."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text

from adcli.output import plural
from adcli.output.fit_table import FitTable
from adcli.primitives import CONST

if TYPE_CHECKING:
    from adcli.analysis import Gradient, SweepTable
    from adcli.jacobian import Jacobian


def fmt(value: float, digits: int) -> str:
    """A number with ``digits`` significant digits; ``2`` rather than ``2.0000``."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def header(trace, at: dict[str, float], digits: int) -> Text:
    point = ", ".join(f"{name} = {fmt(value, digits)}" for name, value in at.items())
    if trace.source.endswith(".py"):
        function = trace.output_names[0].split("[")[0]
        title = Text.assemble((function, "bold"), " from ", (trace.source, "bold"))
    else:
        title = Text.assemble(("f", "bold"), f"({', '.join(trace.input_names)}) = ", (trace.source.strip(), "bold"))
    return Text.assemble(title, "  at  " if point else "", point)


def gradient_view(result: Gradient, digits: int) -> Group:
    """Value and gradient: one row per input, one column per output."""
    trace, evaluated = result.trace, result.evaluated
    table = FitTable(box=None, show_edge=False, pad_edge=False)
    table.add_column("", kind="key", style="bold")
    for name, _ in result.columns:
        table.add_column(name)
    table.add_row("value", *(fmt(value, digits) for _, value in result.columns))
    for name in result.wrt:
        table.add_row(f"∂/∂{name}", *(fmt(g[name], digits) for g in result.gradients))
    if result.jvp is not None:
        table.add_row("J·u", *(fmt(value, digits) for value in result.jvp))
    footer = Text(f"{result.mode} mode: {plural(result.sweeps, 'sweep')} over "
                  f"{plural(trace.operation_count, 'operation')}{seed_text(result)}", style="dim")
    if result.checks is None:
        return Group(header(trace, evaluated.at, digits), table, footer)
    from adcli.output.terminal_compare import checks_table

    return Group(header(trace, evaluated.at, digits), table, footer, checks_table(result.checks, digits))


def seed_text(result: Gradient | Jacobian) -> str:
    """How a seeded gradient was seeded, after its footer: ``, direction u: x=1, y=2``."""
    from adcli.points import output_labels

    pairs: Iterable[tuple[str, float]]
    if result.direction is not None:
        pairs = result.direction.items()
    elif result.cotangent is not None:
        pairs = zip(output_labels(result.trace), result.cotangent)
    else:
        return ""
    kind = "direction" if result.direction is not None else "cotangent"
    return f", {kind} u: " + ", ".join(f"{name} = {value:g}" for name, value in pairs)


def _elide(count: int, rows: int | None) -> tuple[range, range]:
    """The leading and trailing row ranges to show out of ``count``."""
    if rows is None or count <= rows:
        return range(count), range(0)
    head = (rows + 1) // 2
    return range(head), range(count - (rows - head), count)


def sweep_view(table: SweepTable, digits: int, rows: int | None = None) -> Group:
    """The Wengert table (one row per input and operation) and the reverse sweep's updates."""
    from adcli.explain import dual_text
    from adcli.trace_text import bar, update_statements

    trace, evaluated = table.trace, table.evaluated
    names = trace.names()
    input_name = trace.input_name_of()
    nodes = [i for i, code in enumerate(trace.op) if code != CONST]
    output_name = table.adjoint_of
    grid = FitTable(show_lines=False)
    grid.add_column("node", kind="key", style="bold")
    sources = trace.lines is not None
    if sources:
        grid.add_column("source", kind="text")
    grid.add_column("operation", kind="text")
    grid.add_column("value")
    for label, _ in table.tangents:
        kind = "dual number" if table.dual else "tangent"
        grid.add_column(f"{kind} ({label})" if "=" in label else f"{kind} ∂/∂{label}")
    grid.add_column(f"adjoint ∂{'f' if len(trace.outputs) == 1 else output_name or '(u·f)'}/∂·")
    head, tail = _elide(len(nodes), rows)

    def add(k: int) -> None:
        i = nodes[k]
        cells = [names[i], *([trace.source_of(i)] if sources else []), trace.equation_text(i, names, input_name),
                 fmt(evaluated.values[i], digits)]
        if table.dual:
            cells += [dual_text(evaluated.values[i], t[i], digits) for _, t in table.tangents]
        else:
            cells += [fmt(t[i], digits) for _, t in table.tangents]
        cells.append(fmt(table.adjoints[i], digits))
        grid.add_row(*cells)

    for k in head:
        add(k)
    if tail:
        grid.add_row("…", *([""] if sources else []), f"{len(nodes) - len(head) - len(tail):,} rows not shown "
                     "(--rows all)")
        for k in tail:
            add(k)

    if table.explanation is not None:
        lines = explained_lines(table, names, digits, rows)
    else:
        operations = len(nodes) - len(trace.inputs)
        head_ops, tail_ops = _elide(operations, rows)
        updates = update_statements(trace, head_ops, table.straight_through)
        seeds = ", ".join(f"{bar(names[node])} = {fmt(weight, digits)}" for node, weight in table.seeds) or "0"
        lines = [Text(f"reverse sweep, in the order it runs (seed {seeds}):", style="bold")]
        lines += [Text("  " + u) for u in updates]
        if tail_ops:
            lines.append(Text(f"  … updates of {operations - len(head_ops) - len(tail_ops):,} operations not shown …",
                              style="dim"))
            lines += [Text("  " + u) for u in update_statements(trace, tail_ops, table.straight_through)]
    outputs = ", ".join(f"{name} = {names[node]}" for name, node in zip(trace.output_names, trace.outputs))
    return Group(header(trace, evaluated.at, digits), grid, Text(f"outputs: {outputs}", style="dim"),
                 *lines)


def explained_lines(table: SweepTable, names: list[str], digits: int, rows: int | None) -> list[Text]:
    """``trace --explain``: each sweep's updates with their numbers (``rows`` of each, the first and
    the last, for a long trace), the equals signs aligned; as dual numbers with ``--dual``."""
    from adcli.explain import aligned, derivations

    lines = []
    for title, derivation in derivations(table, names, digits):
        lines.append(Text(title + ":", style="bold"))
        head, tail = _elide(len(derivation), rows)
        shown = list(map(Text, aligned([derivation[k] for k in head] + [derivation[k] for k in tail])))
        if tail:
            shown.insert(len(head), Text(f"  … {len(derivation) - len(head) - len(tail):,} updates not shown "
                                         "(--rows all) …", style="dim"))
        lines += shown
    return lines


def jacobian_view(result: Jacobian, digits: int) -> Group:
    """The Jacobian matrix, then the cost of each mode for this shape (computed by colours: its pattern
    and non-zeros, :func:`adcli.output.sparse.sparse_view`)."""
    trace, evaluated = result.trace, result.evaluated
    if result.sparsity is not None:
        from adcli.output.sparse import sparse_view

        values = ", ".join(f"{name} = {fmt(value, digits)}" for name, value in result.outputs)
        by = "forward" if result.sparsity.colouring == "columns" else "reverse"
        return sparse_view(result.sparsity, [name for name, _ in result.outputs], result.inputs,
                           ["output", "input", "∂output/∂input"], digits,
                           [header(trace, evaluated.at, digits), Text(f"value {values}")],
                           f"{by} mode, one sweep per colour seeded with the sum of its "
                           f"{'columns' if by == 'forward' else 'rows'}")
    grid = FitTable()
    grid.add_column("output", kind="key", style="bold")
    grid.add_column("value")
    for name in result.inputs:
        grid.add_column(f"∂/∂{name}")
    assert result.matrix is not None  # (a sparse Jacobian went to its own view above)
    for (name, value), row in zip(result.outputs, result.matrix):
        grid.add_row(name, fmt(value, digits), *(fmt(v, digits) for v in row))
    n, m = len(result.inputs), len(result.outputs)
    costs = FitTable(title=f"cost for this shape: n = {plural(n, 'input')}, m = {plural(m, 'output')}",
                     title_justify="left")
    costs.add_column("mode", kind="key")
    costs.add_column("sweeps")
    costs.add_column("operations")
    costs.add_column("each sweep", kind="text")
    for mode, what in (("forward", "one JVP per input (a column)"), ("reverse", "one VJP per output (a row)")):
        marker = " (used)" if mode == result.mode else ""
        costs.add_row(f"{mode}{marker}", f"{result.sweeps[mode]:,}", f"{result.operations[mode]:,}", what)
    cheaper = result.cheaper
    verdict = (f"{cheaper} mode is cheaper here" if cheaper else "both modes cost the same here")
    seeded = seed_text(result).removeprefix(", ")
    return Group(header(trace, evaluated.at, digits), grid, *([Text(seeded, style="dim")] if seeded else []),
                 costs, Text(verdict, style="bold"))


def hessian_view(result, digits: int) -> Group:
    """Value, gradient and the Hessian matrix (computed by colours: its pattern and non-zeros)."""
    trace, evaluated = result.trace, result.evaluated
    names = result.names
    gradient = ", ".join(f"∂/∂{name} = {fmt(g, digits)}" for name, g in zip(names, result.gradient))
    lines = [Text(f"value {fmt(evaluated.output_values[0], digits)}"), Text(f"gradient {gradient}")]
    if result.sparsity is not None:
        from adcli.output.sparse import sparse_view

        return sparse_view(result.sparsity, names, names, ["row", "column", "∂²f/∂xᵢ∂xⱼ"], digits,
                           [header(trace, evaluated.at, digits), *lines],
                           "forward-over-reverse: one H·v per colour, v the sum of the colour's columns")
    grid = FitTable(title="Hessian ∂²f/∂xᵢ∂xⱼ", title_justify="left")
    grid.add_column("", kind="key", style="bold")
    for name in names:
        grid.add_column(name)
    for name, row in zip(names, result.matrix):
        grid.add_row(name, *(fmt(v, digits) for v in row))
    return Group(header(trace, evaluated.at, digits), *lines, grid,
                 Text("forward-over-reverse: the reverse sweep is recorded, forward mode differentiates it",
                      style="dim"))


def batch_view(batch, digits: int) -> Group:
    """A summary of a batch: range, mean and the two end points of every output and partial."""
    import numpy as np

    trace = batch.trace
    table = FitTable(title=f"{batch.count:,} points", title_justify="left")
    for column in ("", "min", "max", "mean", "first point", "last point"):
        table.add_column(column, kind="number" if column else "key")
    several = len(trace.outputs) > 1

    def add(label: str, values) -> None:
        values = np.broadcast_to(np.asarray(values, dtype=float), (batch.count,))
        finite = values[np.isfinite(values)]
        stats = (fmt(float(f(finite)), digits) if finite.size else "—" for f in (np.min, np.max, _mean))
        table.add_row(label, *stats, fmt(float(values[0]), digits), fmt(float(values[-1]), digits))

    for name, values in batch.points.items():
        add(name, values)
    for k, name in enumerate(trace.output_names):
        add(name if several else "value", batch.values[k])
        for input_name, partial in batch.gradients[k].items():
            add(f"∂{'(' + name + ')' if several else ''}/∂{input_name}", partial)
    how = (f"one trace per path ({len(batch.paths)}), each evaluated at its points with NumPy" if batch.paths
           else "the trace was recorded once and evaluated at every point")
    note = Text(f"{how}; --format csv or --json gives every point", style="dim")
    return Group(Text.assemble(("f", "bold"), f"({', '.join(trace.input_names)}) = ", (trace.source, "bold")),
                 table, note)


def _mean(values):
    """The mean of finite values, also where their sum overflows (1e308 and 1.7e308 average 1.35e308)."""
    import numpy as np

    with np.errstate(over="ignore"):
        mean = np.mean(values)
    if not np.isfinite(mean):
        scale = np.max(np.abs(values))
        mean = scale * np.mean(values / scale)
    return mean


def seconds_text(value: float) -> str:
    if value != value:
        return "—"
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def checkpoint_view(evaluated, runs, digits: int) -> Group:
    """Strategies side by side: memory and recomputation, measured next to the theory."""
    trace = evaluated.trace
    done = [r for r in runs if r.adjoints]
    steps = runs[0].steps if runs else 0
    differ = any(r.adjoints[n] != done[0].adjoints[n] for r in done for n in trace.inputs)
    from adcli.checkpoint import step_unit

    unit = f"each {step_unit(trace)}" if trace.iterations else "one per equation of the trace"
    table = FitTable(title=f"reversing {steps:,} steps ({unit})", title_justify="left")
    for column in ("strategy", "peak stored", "theory", "recomputed", "theory", "time"):
        table.add_column(column, kind="key" if column == "strategy" else "number")
    if differ:
        for name in trace.input_names:
            table.add_column(f"∂f/∂{name}")
    for r in runs:
        if not r.adjoints:
            table.add_row(r.strategy.label, "—", r.theory_stored, "—", f"{r.theory_recomputed:,}", "skipped")
            continue
        gradient = [fmt(r.adjoints[node], digits) for node in trace.inputs] if differ else []
        table.add_row(r.strategy.label, f"{r.peak_stored:,}", r.theory_stored, f"{r.recomputed:,}",
                      f"{r.theory_recomputed:,}", seconds_text(r.seconds), *gradient)
    if differ:
        verdict = Text("the strategies disagree: please report this", style="bold red")
    else:
        shown = ", ".join(f"∂f/∂{name} = {fmt(done[0].adjoints[node], digits)}"
                          for name, node in zip(trace.input_names, trace.inputs)) if done else ""
        verdict = Text(f"every strategy gives the same gradient, bit for bit: {shown}", style="bold")
    notes = [Text(f"{r.strategy.label}: {note}", style="dim") for r in runs for note in r.notes]
    return Group(header(trace, evaluated.at, digits), table, verdict, *notes)


def rules_view(rules: list, digits: int) -> FitTable:
    """The reference card: one row per primitive (its partials, domain, kinks and convention)."""
    from adcli.output.tabular import RULES_COLUMNS, rules_rows

    table = FitTable(show_lines=True)
    for column, kind in zip(RULES_COLUMNS, ("key", "text", "text", "text", "text")):
        table.add_column(column, kind=kind, style="bold" if kind == "key" else None)
    for row in rules_rows(rules):
        table.add_row(*row)
    return table
