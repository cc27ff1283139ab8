"""Plain-data reports of results: the JSON documents and the text of the reverse sweep.

Everything here is independent of rich, so scripts and notebooks get the same numbers the tables
show. Non-finite numbers (an infinite derivative at sqrt(0)) become ``null`` to keep the JSON valid.
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING
from adcli.primitives import CONST, INPUT
from adcli.trace import Trace

if TYPE_CHECKING:
    from adcli.analysis import Gradient, SweepTable
    from adcli.jacobian import Jacobian

BAR = "\u0304"  # combining macron


def bar(name: str) -> str:
    """The adjoint's name: v̄1 for v1."""
    return name[0] + BAR + name[1:]


def number(value: float) -> float | None:
    """A float for JSON: non-finite values become None (null)."""
    return value if math.isfinite(value) else None


def one_or_list(items: list):
    return items[0] if len(items) == 1 else items


def update_statements(trace: Trace, limit_rows: range | None = None, straight_through: bool = False,
                      names: list[str] | None = None) -> list[str]:
    """The reverse sweep as adjoint updates in the order they run: ``v̄1 += v̄5 · cos(v1)``.

    One statement per argument that is not a constant; ``limit_rows`` restricts them to the
    statements of some nodes (counted in run order, last node first) to keep long traces cheap.
    With ``straight_through``, discrete primitives pass their adjoint on unchanged (partial 1).
    ``names`` saves working out ``trace.names()`` again when the caller has it.
    """
    names = trace.names() if names is None else names
    statements = []
    nodes = [i for i in range(len(trace) - 1, -1, -1) if trace.op[i] not in (INPUT, CONST)]
    chosen = nodes if limit_rows is None else [nodes[k] for k in limit_rows]
    for i in chosen:
        primitive = trace.primitive(i)
        args = trace.args(i)
        fields = {"out": names[i], "x": names[args[0]], "y": names[args[-1]]}
        for arg, template in zip(args, primitive.partial_text):
            if straight_through and primitive.discrete:
                template = "1"
            if trace.op[arg] != CONST:
                statements.append(_update(names[arg], names[i], template.format(**fields)))
    return statements


def _update(target: str, source: str, partial: str) -> str:
    operator = "+="
    if partial.startswith("-"):
        operator, partial = "-=", partial[1:]
    if partial == "1":
        rhs = bar(source)
    elif partial.startswith("1 / "):
        rhs = f"{bar(source)} / {partial[4:]}"
    elif " + " in partial or " - " in partial:
        rhs = f"{bar(source)} · ({partial})"
    else:
        rhs = f"{bar(source)} · {partial}"
    return f"{bar(target)} {operator} {rhs}"


def node_rows(trace: Trace, values: list[float]) -> list[dict]:
    """One JSON row per input and operation: name, op, args, text, value."""
    names = trace.names()
    input_name = trace.input_name_of()
    rows = []
    for i, code in enumerate(trace.op):
        if code == CONST:
            continue
        if code == INPUT:
            op, args = "input", []
        else:
            op = trace.primitive(i).name
            args = [names[a] if trace.op[a] != CONST else trace.literal[a] for a in trace.args(i)]
        rows.append({"node": i, "name": names[i], "op": op, "args": args,
                     "text": trace.equation_text(i, names, input_name), "value": number(values[i])})
    return rows


def gradient_json(result: Gradient) -> dict:
    """The ``grad`` document of the design contract."""
    evaluated, trace = result.evaluated, result.trace
    rows = node_rows(trace, evaluated.values)
    for row in rows:
        node = row.pop("node")
        if result.adjoints is not None:
            row["adjoint"] = one_or_list([number(adjoint[node]) for adjoint in result.adjoints])
        if result.tangents is not None:
            row["tangent"] = {name: number(t[node]) for name, t in result.tangents.items()}
    return {
        "source": trace.source,
        "mode": result.mode,
        "at": evaluated.at,
        "outputs": trace.output_names,
        "value": one_or_list([number(v) for v in evaluated.output_values]),
        "gradient": one_or_list([{k: number(v) for k, v in g.items()} for g in result.gradients]),
        "sweeps": result.sweeps,
        "operations": trace.operation_count,
        "warnings": evaluated.warnings,
        "trace": rows,
    }


def gradient_csv(result: Gradient) -> str:
    """The gradient at one point as CSV: the inputs, the value and each partial derivative."""
    evaluated = result.evaluated
    return _gradient_csv({name: [value] for name, value in evaluated.at.items()}, result.trace.output_names,
                         [[value] for value in evaluated.output_values],
                         [{name: [g] for name, g in gradient.items()} for gradient in result.gradients])


def _gradient_csv(inputs: dict[str, list], output_names: list[str], values: list[list],
                  gradients: list[dict[str, list]]) -> str:
    """One row per point: the inputs, then each output and its partial derivatives (every digit)."""
    several = len(output_names) > 1
    header, columns = list(inputs), list(inputs.values())
    for k, name in enumerate(output_names):
        label = name if several else "value"
        header.append(label)
        columns.append(values[k])
        for input_name, partial in gradients[k].items():
            header.append(f"d({label})/d{input_name}" if several else f"d/d{input_name}")
            columns.append(partial)
    return "\n".join([",".join(header), *(",".join(map(repr, row)) for row in zip(*columns))]) + "\n"


def sweep_json(table: SweepTable) -> dict:
    """The ``trace`` document: every node with value, tangents, adjoint, then the update statements."""
    evaluated, trace = table.evaluated, table.trace
    rows = node_rows(trace, evaluated.values)
    for row in rows:
        node = row.pop("node")
        if table.tangents:
            row["tangent"] = {label: number(t[node]) for label, t in table.tangents}
        row["adjoint"] = number(table.adjoints[node])
    return {
        "source": trace.source,
        "at": evaluated.at,
        "outputs": trace.output_names,
        "value": one_or_list([number(v) for v in evaluated.output_values]),
        "adjoint_of": trace.output_names[table.output],
        "warnings": evaluated.warnings,
        "trace": rows,
        "reverse_sweep": update_statements(trace, straight_through=table.straight_through),
    }


def jacobian_json(result: Jacobian) -> dict:
    """The ``jacobian`` document: the matrix, and the sweeps and operations of both modes."""
    evaluated, trace = result.evaluated, result.trace
    return {
        "source": trace.source,
        "mode": result.mode,
        "at": evaluated.at,
        "inputs": trace.input_names,
        "outputs": trace.output_names,
        "value": [number(v) for v in evaluated.output_values],
        "jacobian": [[number(v) for v in row] for row in result.matrix],
        "sweeps": result.sweeps,
        "operations": result.operations,
        "cheaper_mode": result.cheaper,
        "warnings": evaluated.warnings,
    }


def hessian_json(result) -> dict:
    """The ``hessian`` document: value, gradient and the symmetric matrix of second derivatives."""
    evaluated, trace = result.evaluated, result.trace
    return {
        "source": trace.source,
        "at": evaluated.at,
        "inputs": trace.input_names,
        "value": number(evaluated.output_values[0]),
        "gradient": {name: number(g) for name, g in zip(trace.input_names, result.gradient)},
        "hessian": [[number(v) for v in row] for row in result.matrix],
        "warnings": evaluated.warnings,
    }


def finite(data):
    """``data`` with every non-finite float replaced by None, recursively (JSON has no inf or NaN)."""
    if isinstance(data, float):
        return number(data)
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list):
        return [finite(value) for value in data]
    return data


def _omit_none(row: dict) -> dict:
    return {key: value for key, value in row.items() if value is not None and value != ""}


def compare_json(comparison) -> dict:
    """The ``compare`` document: every number the tables show."""
    from dataclasses import asdict

    evaluated, trace = comparison.evaluated, comparison.trace
    return finite({
        "source": trace.source,
        "at": evaluated.at,
        "value": evaluated.output_values[0],
        "reference": comparison.reference,
        "reference_digits": 50,
        "methods": [_omit_none(asdict(row)) for row in comparison.methods],
        "sweep": None if comparison.sweep is None else [_omit_none(asdict(row)) for row in comparison.sweep],
        "best_steps": comparison.best_steps,
        "swell": [asdict(row) for row in comparison.swell],
        "sympy_timeout": comparison.sympy_timeout if math.isfinite(comparison.sympy_timeout) else None,  # inf: none
        "timeouts": comparison.timeouts,
        "sympy_failures": comparison.failures,
        "warnings": evaluated.warnings,
    })


def checks_json(rows) -> list[dict]:
    """``grad --check``: AD, SymPy and central-difference values with their differences from AD."""
    out = []
    for row in rows:
        entry = {"output": row.output, "input": row.input, "ad": number(row.ad)}
        if row.sympy is not None:
            entry |= {"sympy": row.sympy, "sympy_minus_ad": row.sympy - row.ad}
        if row.fd is not None:
            entry |= {"fd": row.fd, "fd_step": row.fd_step, "fd_minus_ad": row.fd - row.ad}
        if row.note:
            entry["note"] = row.note
        out.append(entry)
    return out


def batch_json(batch) -> dict:
    """Every point's inputs, outputs and gradient, as lists (NaN, where undefined, becomes null)."""
    several = len(batch.trace.outputs) > 1
    return finite({
        "source": batch.trace.source,
        "points": batch.count,
        "inputs": {name: _as_list(values, batch.count) for name, values in batch.points.items()},
        "outputs": batch.trace.output_names,
        "value": [v.tolist() for v in batch.values] if several else batch.values[0].tolist(),
        "gradient": [{k: g.tolist() for k, g in grad.items()} for grad in batch.gradients] if several
        else {k: g.tolist() for k, g in batch.gradients[0].items()},
        "warnings": batch.warnings,
    })


def _as_list(values, count: int) -> list:
    import numpy as np

    return np.broadcast_to(np.asarray(values, dtype=float), (count,)).tolist()


def batch_csv(batch) -> str:
    """One row per point of a batch, as :func:`gradient_csv` writes one point."""
    return _gradient_csv({name: _as_list(v, batch.count) for name, v in batch.points.items()},
                         batch.trace.output_names, [v.tolist() for v in batch.values],
                         [{name: g.tolist() for name, g in gradient.items()} for gradient in batch.gradients])


def checkpoint_json(evaluated, runs) -> dict:
    """The ``checkpoint`` document: per strategy, measured and theoretical costs and the gradient."""
    trace = evaluated.trace
    rows = []
    for r in runs:
        row = {"strategy": r.strategy.label, "steps": r.steps, "theory_recomputed": r.theory_recomputed,
               "theory_stored": r.theory_stored, "notes": r.notes}
        if r.adjoints:
            row |= {"peak_stored": r.peak_stored, "recomputed": r.recomputed, "seconds": r.seconds,
                    "gradient": {name: number(r.adjoints[node]) for name, node in zip(trace.input_names, trace.inputs)}}
        rows.append(row)
    return {"source": trace.source, "at": evaluated.at, "value": number(evaluated.output_values[0]),
            "strategies": rows, "warnings": evaluated.warnings}
