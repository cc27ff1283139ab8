"""The JSON documents of results (``--json``): plain data, independent of rich, so scripts and
notebooks get the same numbers the tables show.

JSON has no infinity or NaN, so every command writes them the same way (README, "JSON"): an
infinite number is the string ``"Infinity"`` or ``"-Infinity"`` (sqrt'(0), acos'(1)), keeping its
sign (``float("-Infinity")`` in Python, ``Number("-Infinity")`` in JavaScript); NaN, a number that
is not defined, is ``null``.
"""

from __future__ import annotations

import bisect
import gc
import math
from array import array
from typing import TYPE_CHECKING

from adcli.points import output_labels
from adcli.primitives import CONST, INPUT, PRIMITIVES, primitive_of
from adcli.trace import Trace
from adcli.trace_text import NodeColumns, UpdateTemplates, dot

if TYPE_CHECKING:
    from adcli.analysis import Gradient, SweepTable
    from adcli.branches import BranchPoint
    from adcli.jacobian import Jacobian

INFINITY, MINUS_INFINITY = "Infinity", "-Infinity"


def number(value: float) -> float | str | None:
    """A float for JSON: ``"Infinity"`` or ``"-Infinity"`` when infinite, None (null) when NaN."""
    if math.isfinite(value):
        return value
    return None if math.isnan(value) else INFINITY if value > 0 else MINUS_INFINITY


def one_or_list(items: list):
    return items[0] if len(items) == 1 else items


def branches_json(points: list[BranchPoint]) -> list[dict]:
    """The JSON key ``branches``: each comparison of a function file (per line) and kink node, its
    margin and, per input, the linearised distance before it flips ("Infinity": that input does not
    move it)."""
    return [{"kind": p.kind, "where": p.where, "line": p.line, "node": p.node, "evaluations": p.evaluations,
             "margin": number(p.margin), "holds_for": {name: number(d) for name, d in p.distances.items()}}
            for p in points]


def gradient_json(result: Gradient) -> dict:
    """The ``grad`` document of the design contract: value, gradient, warnings and what they cost
    (operations and sweeps). The per-node trace is ``trace --json``'s job."""
    evaluated, trace = result.evaluated, result.trace
    document = {
        "source": trace.source,
        "mode": result.mode,
        "at": evaluated.at,
        "outputs": trace.output_names,
        "value": one_or_list([number(v) for v in evaluated.output_values]),
        "gradient": one_or_list([{k: number(v) for k, v in g.items()} for g in result.gradients]),
        "sweeps": result.sweeps,
        "operations": trace.operation_count,
        "warnings": evaluated.warnings, "notes": evaluated.notes,
        "branches": branches_json(evaluated.branches),
    }
    if result.direction is not None:  # J·u: no gradient
        del document["gradient"]
        document["direction"] = {name: number(value) for name, value in result.direction.items()}
        document["jvp"] = one_or_list([number(v) for v in result.jvp or []])
    if result.cotangent is not None:  # the gradient is uᵀJ, that of the weighted sum u·f
        document["cotangent"] = dict(zip(output_labels(trace), map(number, result.cotangent)))
        document["weighted_value"] = number(result.columns[0][1])
    if result.checks is not None:
        document["checks"] = checks_json(result.checks)
    return document


def sweep_json(table: SweepTable) -> dict:
    """The ``trace`` document: every node with value, tangents, adjoint, then the update statements.
    (The data of :func:`sweep_json_text`, which writes it.)"""
    import json

    return json.loads(sweep_json_text(table))


def sweep_json_text(table: SweepTable) -> str:
    """The ``trace`` document as compact JSON, as ``json.dumps(…, separators=(",", ":"))`` writes it."""
    return "".join(sweep_json_chunks(table))


def sweep_json_chunks(table: SweepTable) -> list[str]:
    """The ``trace`` document as compact JSON, as ``json.dumps(…, separators=(",", ":"))`` writes it
    (non-ASCII escaped, non-finite numbers as :func:`number`), in pieces of about 10,000 rows that can be
    written one by one: traces of millions of nodes make hundreds of megabytes.

    No dict per node: each column (name, arguments, value, tangents, adjoint) is a list of JSON
    texts built in bulk, and a row template per opcode joins them (``str.format`` mapped in C).
    """
    evaluated, trace = table.evaluated, table.trace
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived tuples, no cycles: the collector would only slow this down
    try:
        nodes = [i for i, code in enumerate(trace.op) if code != CONST]
        columns = NodeColumns(trace, nodes)
        numbers = [_json_numbers(evaluated.values, nodes), *(_json_numbers(t, nodes) for _, t in table.tangents),
                   _json_numbers(table.adjoints, nodes)]
        rows = columns.format(_RowTemplates(table, columns.literal_value), *numbers)
        for node, name in zip(trace.inputs, trace.input_names):  # an input's text is its name
            k = bisect.bisect_left(nodes, node)
            rows[k] = rows[k].replace('"text":""', f'"text":{_json_string(name)}', 1)
        if trace.lines is not None:  # a function file's: each node's line and variable
            lines, variables = trace.lines, trace.variables
            rows = [f'{row[:-1]},"line":{lines[i]},"var":{_json_string(variables[i]) if i in variables else "null"}}}'
                    for row, i in zip(rows, nodes)]
        statements = columns.format(UpdateTemplates(table.straight_through, '","', escape=True))
        statements.reverse()  # the reverse sweep runs from the last node
        document = {"source": trace.source, "at": evaluated.at, "outputs": trace.output_names,
                    "value": one_or_list([number(v) for v in evaluated.output_values]),
                    "adjoint_of": table.adjoint_of or "u·f", "warnings": evaluated.warnings,
                    "notes": evaluated.notes, "branches": branches_json(evaluated.branches), **_optimized(trace)}
        if table.cotangent is not None:
            document["cotangent"] = dict(zip(output_labels(trace), map(number, table.cotangent)))
        head = _json(document)
        statements = list(filter(None, statements))
        explained = [] if table.explanation is None else [',"explained":', _json(explanation_json(table))]
        return [head[:-1], ',"trace":[', *_joined(rows, ","), '],"reverse_sweep":[',
                *(['"', *_joined(statements, '","'), '"'] if statements else []), "]", *explained, "}"]
    finally:
        if gc_was_enabled:
            gc.enable()


def explanation_json(table: SweepTable) -> dict:
    """``trace --json --explain``: each update as data. Reverse: the statement, its target node, the
    source node whose adjoint flows back, that adjoint, the local partial, the contribution and the
    target's running adjoint. Forward, per tangent column: each node's statement, its source nodes
    with their tangents, local partials and contributions, and the node's tangent (its running value)."""
    explanation = table.explanation
    assert explanation is not None
    names = table.trace.names()
    reverse = [{"statement": u.statement, "target": names[u.target], "source": names[u.source],
                "adjoint": number(u.adjoint), "partial": number(u.partial), "contribution": number(u.contribution),
                "running": number(u.running), "count": u.received} for u in explanation.reverse]
    forward = [{"tangent": label, "dual": table.dual,
                "updates": [{"target": names[u.node], "statement": f"{dot(names[u.node])} = {u.statement}",
                             "sources": [names[t.source] for t in u.terms],
                             "tangents": [number(t.tangent) for t in u.terms],
                             "partials": [number(t.partial) for t in u.terms],
                             "contributions": [number(t.contribution) for t in u.terms],
                             "running": number(u.tangent)} for u in updates]}
               for label, updates in explanation.forward]
    return {"reverse": reverse, "forward": forward}


def _joined(items: list[str], separator: str, size: int = 10_000) -> list[str]:
    """``separator.join(items)`` in pieces of ``size`` items (separators between the pieces included)."""
    return [separator * (k > 0) + separator.join(items[k:k + size]) for k in range(0, len(items), size)]


class _RowTemplates(dict):
    """A node's JSON row as a template, by (opcode, literal x, literal y), each worked out on first
    use: over the numbers ``{0}`` of x, ``{1}`` of y and ``{2}`` of the node, then the JSON numbers
    of the value, each tangent and the adjoint. Literal arguments are written in; an input's text
    is left empty."""

    def __init__(self, table: SweepTable, literal_value: dict[str, float]) -> None:
        super().__init__()
        self.literal_value = literal_value
        tangents = ",".join(f"{_json_string(label)}:{{{4 + k}}}" for k, (label, _) in enumerate(table.tangents))
        self.tail = (',"value":{3}' + (f',"tangent":{{{{{tangents}}}}}' if table.tangents else "")
                     + f',"adjoint":{{{4 + len(table.tangents)}}}}}}}')

    def __missing__(self, key: tuple) -> str:
        opcode, *literals = key
        if opcode == INPUT:
            template = '{{"name":"v{2}","op":"input","args":[],"text":""' + self.tail
        else:
            primitive = PRIMITIVES[opcode]
            shown = [literal or f"v{{{k}}}" for k, literal in enumerate(literals)][:primitive.arity]
            args = ",".join(_json(number(self.literal_value[literal])) if literal else f'"{name}"'
                            for literal, name in zip(literals, shown))
            text = _json_string(primitive.call_template.format(*shown))
            template = f'{{{{"name":"v{{2}}","op":{_json_string(primitive.name)},"args":[{args}],"text":{text}' \
                + self.tail
        self[key] = template
        return template


def _json_numbers(column, nodes: list[int]) -> list[str]:
    """The JSON of ``column[node]`` for each of ``nodes`` (``repr`` in bulk; non-finite as :func:`number`)."""
    values = array("d", map(column.__getitem__, nodes))
    texts = list(map(float.__repr__, values))
    if not all(map(math.isfinite, values)):
        texts = [_NON_FINITE.get(text, text) for text in texts]
    return texts


_NON_FINITE = {"inf": f'"{INFINITY}"', "-inf": f'"{MINUS_INFINITY}"', "nan": "null"}


def _json_string(text: str) -> str:
    return _json(text)


def _json(data) -> str:
    """``data`` as compact JSON (json's C encoder; non-ASCII escaped, no NaN or infinity)."""
    import json

    return json.dumps(data, separators=(",", ":"), allow_nan=False)


def jacobian_json(result: Jacobian) -> dict:
    """The ``jacobian`` document: the matrix, and the sweeps and operations of both modes."""
    evaluated, trace = result.evaluated, result.trace
    document: dict[str, object] = {
        "source": trace.source,
        "mode": result.mode,
        "at": evaluated.at,
        "inputs": result.inputs,
        "outputs": [name for name, _ in result.outputs],
        "value": [number(value) for _, value in result.outputs],
        "jacobian": None if result.matrix is None else [[number(v) for v in row] for row in result.matrix],
        "sweeps": result.sweeps,
        "operations": result.operations,
        "cheaper_mode": result.cheaper,
        "warnings": evaluated.warnings, "notes": evaluated.notes,
    }
    if result.sparsity is not None:  # coordinate lists, and the colouring
        from adcli.output.sparse import coordinates, sparsity_json

        document.update(jacobian=coordinates(result.sparsity), sparsity=sparsity_json(result.sparsity))
    if result.direction is not None:
        document["direction"] = {name: number(value) for name, value in result.direction.items()}
    if result.cotangent is not None:
        document["cotangent"] = dict(zip(output_labels(trace), map(number, result.cotangent)))
    return document


def hessian_json(result) -> dict:
    """The ``hessian`` document: value, gradient and the symmetric matrix of second derivatives."""
    evaluated, trace = result.evaluated, result.trace
    document = {
        "source": trace.source,
        "at": evaluated.at,
        "inputs": result.names,
        "value": number(evaluated.output_values[0]),
        "gradient": {name: number(g) for name, g in zip(result.names, result.gradient)},
        "hessian": None if result.matrix is None else [[number(v) for v in row] for row in result.matrix],
        "warnings": evaluated.warnings, "notes": evaluated.notes,
    }
    if result.sparsity is not None:  # coordinate lists, and the colouring
        from adcli.output.sparse import coordinates, sparsity_json

        document.update(hessian=coordinates(result.sparsity), sparsity=sparsity_json(result.sparsity))
    return document


def finite(data):
    """``data`` with every non-finite float written as :func:`number` writes it, recursively (JSON has
    no inf or NaN)."""
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
        "formula": comparison.formula_texts(),
        "formula_simplified": comparison.simplified,
        "methods": [_omit_none(asdict(row)) for row in comparison.methods],
        "sweep": None if comparison.sweep is None else [_omit_none(asdict(row)) for row in comparison.sweep],
        "best_steps": comparison.best_steps,
        "swell": [asdict(row) for row in comparison.swell],
        "sympy_timeout": comparison.sympy_timeout if math.isfinite(comparison.sympy_timeout) else None,  # inf: none
        "timeouts": comparison.timeouts,
        "sympy_failures": comparison.failures,
        "warnings": evaluated.warnings, "notes": evaluated.notes,
        "branches": branches_json(evaluated.branches),
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
    """Every point's inputs, outputs and gradient, as lists (NaN, where undefined, becomes null;
    infinities "Infinity" and "-Infinity")."""
    several = len(batch.trace.outputs) > 1
    return finite({
        "source": batch.trace.source,
        "points": batch.count,
        "inputs": batch.inputs(),
        "outputs": batch.trace.output_names,
        "value": [v.tolist() for v in batch.values] if several else batch.values[0].tolist(),
        "gradient": [{k: g.tolist() for k, g in grad.items()} for grad in batch.gradients] if several
        else {k: g.tolist() for k, g in batch.gradients[0].items()},
        "warnings": batch.warnings, "notes": batch.notes,
    })


def curve_json(curve) -> dict:
    """The ``plot`` document: the points, f and its derivative at each, and the marks along the range."""
    return finite({
        "source": curve.source, "input": curve.name, "at": curve.held, "points": len(curve.x),
        "x": curve.x.tolist(), "value": curve.value.tolist(), "derivative": curve.derivative.tolist(),
        "branch_changes": [list(gap) for gap in curve.branch_changes], "kinks": [list(gap) for gap in curve.kinks],
        "conventions": curve.conventions,
        "warnings": curve.warnings, "notes": curve.notes,
    })


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
            "strategies": rows, "warnings": evaluated.warnings, "notes": evaluated.notes}


def graph_json(data, edge_labels: bool = True) -> dict:
    """The computational graph as data: nodes (with values, tangents and adjoints at a point) and
    edges (with the local partial: its value at a point, its rule otherwise), and the outputs.
    (``edge_labels``, which the pictures take, is moot here: the data always has the partials.)"""
    from adcli.graph import edges, labelled_nodes

    trace = data.trace
    names = trace.names()
    input_name = trace.input_name_of()
    nodes = []
    for i in labelled_nodes(data):
        row: dict = {"name": names[i], "op": _op_name(trace, i),
                     "text": names[i] if trace.op[i] == CONST else trace.equation_text(i, names, input_name)}
        for key, column in (("value", data.values), ("tangent", data.tangents), ("adjoint", data.adjoints)):
            if column is not None:
                row[key] = number(column[i])
        if trace.lines is not None:  # a function file's: the node's line and variable
            row |= {"line": trace.lines[i], "var": trace.variables.get(i)}
        nodes.append(row)
    edge_rows = [{"from": names[a], "to": names[b], "partial": number(label) if isinstance(label, float) else label}
                 for a, b, label in edges(data, numbers=True)]
    outputs = [{"name": name, "node": names[node]} for node, name in zip(trace.outputs, trace.output_names)]
    return {"source": trace.source, "at": data.at, "nodes": nodes, "edges": edge_rows, "outputs": outputs,
            "warnings": data.warnings, "notes": data.notes}


def _op_name(trace: Trace, node: int) -> str:
    code = trace.op[node]
    return "input" if code == INPUT else "const" if code == CONST else primitive_of(code).name


def codegen_json(trace: Trace, mode: str, name: str, wrt: list[str] | None = None, target: str = "python") -> dict:
    """``adcli codegen --json``: the generated code and what its functions compute."""
    from adcli.codegen import describe, generate

    code = generate(trace, mode, name, wrt, target)
    return {**describe(trace, mode, name, wrt, target), **_optimized(trace), "code": code}


def _optimized(trace: Trace) -> dict:
    """An optimised trace's ``optimized`` key: operations before and after, and what each pass removed."""
    return {} if trace.optimization is None else {"optimized": trace.optimization.as_dict()}


def rules_json(rules: list) -> dict:
    """``adcli rules``: per primitive, its call, local partials by argument, domain (null: every real
    argument), non-differentiable points by argument, the convention used there and whether it is discrete."""
    return {"rules": [{"name": r.name, "call": r.call, "partials": dict(r.partials), "domain": r.domain or None,
                       "non_differentiable": dict(r.kinks), "convention": r.convention or None,
                       "discrete": r.discrete} for r in rules]}
