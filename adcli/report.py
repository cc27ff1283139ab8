"""Plain-data reports of results: the JSON documents and the text of the reverse sweep.

Everything here is independent of rich, so scripts and notebooks get the same numbers the tables
show. Non-finite numbers (an infinite derivative at sqrt(0)) become ``null`` to keep the JSON valid.
"""

from __future__ import annotations

import bisect
import gc
import math
from array import array
from typing import TYPE_CHECKING

from adcli.primitives import CONST, INPUT, PRIMITIVES
from adcli.trace import NO_ARG, Trace

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


def update_statements(trace: Trace, limit_rows: range | None = None, straight_through: bool = False) -> list[str]:
    """The reverse sweep as adjoint updates in the order they run: ``v̄1 += v̄5 · cos(v1)``.

    One statement per argument that is not a constant; ``limit_rows`` restricts them to the
    statements of some nodes (counted in run order, last node first) to keep long traces cheap.
    With ``straight_through``, discrete primitives pass their adjoint on unchanged (partial 1).
    """
    nodes = [i for i in range(len(trace) - 1, -1, -1) if trace.op[i] > CONST]
    chosen = nodes if limit_rows is None else [nodes[k] for k in limit_rows]
    columns = _Columns(trace, chosen)
    parts = columns.format(_Templates(straight_through, "\n"))
    return "\n".join(filter(None, parts)).split("\n") if any(parts) else []


class _Columns:
    """Per node of ``nodes``: the numbers of its arguments and its own (``v12`` is number 12) and
    its key (opcode, literal x, literal y) for templates; C-level maps over columns, no loop."""

    def __init__(self, trace: Trace, nodes: list[int]) -> None:
        op = trace.op
        self.number = trace.names(prefix="")  # a constant's entry is its literal
        literal = [name if code == CONST else None for name, code in zip(self.number, op)] + [None]  # [-1]: none
        self.first = list(map(trace.arg0.__getitem__, nodes))
        self.second = list(map(trace.arg1.__getitem__, nodes))
        self.nodes = nodes
        self.keys = list(zip(map(op.__getitem__, nodes), map(literal.__getitem__, self.first),
                             map(literal.__getitem__, self.second)))
        self.literal_value = {self.number[node]: value for node, value in trace.literal.items()}

    def format(self, templates: dict, *columns: list[str]) -> list[str]:
        """Per node, its key's template formatted with the numbers of x, y and the node, then ``columns``."""
        number = self.number
        return list(map(str.format, map(templates.__getitem__, self.keys), map(number.__getitem__, self.first),
                        map(number.__getitem__, self.second), map(number.__getitem__, self.nodes), *columns))


class _Templates(dict):
    """A node's update statements as a template, by (opcode, literal x, literal y), each worked out
    on first use: over the numbers ``{0}`` of x, ``{1}`` of y and ``{2}`` of the node (x is v{0},
    its adjoint v̄{0}). A literal argument is written into the partials and gets no statement of
    its own. Statements are joined by ``separator``; with ``escape``, each is written as the
    inside of a JSON string; an input has none."""

    def __init__(self, straight_through: bool, separator: str, escape: bool = False) -> None:
        super().__init__()
        self.straight_through, self.separator, self.escape = straight_through, separator, escape

    def __missing__(self, key: tuple) -> str:
        opcode, literal_x, literal_y = key
        primitive = PRIMITIVES[opcode]
        if primitive is None:
            self[key] = ""
            return ""
        fields = {"x": literal_x or "v{0}", "y": literal_y or "v{1}", "out": "v{2}"}
        lines = []
        for position, text in enumerate(primitive.partial_text):
            if (literal_x, literal_y)[position] is None:
                partial = "1" if self.straight_through and primitive.discrete else text.format(**fields)
                line = _update(f"v{BAR}{{{position}}}", f"v{BAR}{{2}}", partial)
                lines.append(_json_string(line)[1:-1] if self.escape else line)
        template = self[key] = self.separator.join(lines)
        return template


def _update(target: str, source: str, partial: str) -> str:
    """``target += source · partial`` for the adjoint names ``target`` and ``source``, simplified:
    ``-=`` for a negative partial, no ``· 1``, a sum in parentheses."""
    operator = "+="
    if partial.startswith("-"):
        operator, partial = "-=", partial[1:]
    if partial == "1":
        rhs = source
    elif partial.startswith("1 / "):
        rhs = f"{source} / {partial[4:]}"
    elif " + " in partial or " - " in partial:
        rhs = f"{source} · ({partial})"
    else:
        rhs = f"{source} · {partial}"
    return f"{target} {operator} {rhs}"


def gradient_json(result: Gradient) -> dict:
    """The ``grad`` document of the design contract: value, gradient, warnings and what they cost
    (operations and sweeps). The per-node trace is ``trace --json``'s job."""
    evaluated, trace = result.evaluated, result.trace
    return {
        "source": trace.source,
        "mode": result.mode,
        "at": evaluated.at,
        "outputs": trace.output_names,
        "value": one_or_list([number(v) for v in evaluated.output_values]),
        "gradient": one_or_list([{k: number(v) for k, v in g.items()} for g in result.gradients]),
        "sweeps": result.sweeps,
        "operations": trace.operation_count,
        "warnings": evaluated.warnings, "notes": evaluated.notes,
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
    """The ``trace`` document: every node with value, tangents, adjoint, then the update statements.
    (The data of :func:`sweep_json_text`, which writes it.)"""
    import json

    return json.loads(sweep_json_text(table))


def sweep_json_text(table: SweepTable) -> str:
    """The ``trace`` document as compact JSON, as ``json.dumps(…, separators=(",", ":"))`` writes it."""
    return "".join(sweep_json_chunks(table))


def sweep_json_chunks(table: SweepTable) -> list[str]:
    """The ``trace`` document as compact JSON, as ``json.dumps(…, separators=(",", ":"))`` writes it
    (non-ASCII escaped, non-finite numbers null), in pieces of about 10,000 rows that can be
    written one by one: traces of millions of nodes make hundreds of megabytes.

    No dict per node: each column (name, arguments, value, tangents, adjoint) is a list of JSON
    texts built in bulk, and a row template per opcode joins them (``str.format`` mapped in C).
    """
    evaluated, trace = table.evaluated, table.trace
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived tuples, no cycles: the collector would only slow this down
    try:
        nodes = [i for i, code in enumerate(trace.op) if code != CONST]
        columns = _Columns(trace, nodes)
        numbers = [_json_numbers(evaluated.values, nodes), *(_json_numbers(t, nodes) for _, t in table.tangents),
                   _json_numbers(table.adjoints, nodes)]
        rows = columns.format(_RowTemplates(table, columns.literal_value), *numbers)
        for node, name in zip(trace.inputs, trace.input_names):  # an input's text is its name
            k = bisect.bisect_left(nodes, node)
            rows[k] = rows[k].replace('"text":""', f'"text":{_json_string(name)}', 1)
        statements = columns.format(_Templates(table.straight_through, '","', escape=True))
        statements.reverse()  # the reverse sweep runs from the last node
        head = _json({"source": trace.source, "at": evaluated.at, "outputs": trace.output_names,
                      "value": one_or_list([number(v) for v in evaluated.output_values]),
                      "adjoint_of": trace.output_names[table.output], "warnings": evaluated.warnings,
                      "notes": evaluated.notes})
        statements = list(filter(None, statements))
        return [head[:-1], ',"trace":[', *_joined(rows, ","), '],"reverse_sweep":[',
                *(['"', *_joined(statements, '","'), '"'] if statements else []), "]}"]
    finally:
        if gc_was_enabled:
            gc.enable()


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
    """The JSON of ``column[node]`` for each of ``nodes`` (``repr`` in bulk; null where not finite)."""
    values = array("d", map(column.__getitem__, nodes))
    texts = list(map(float.__repr__, values))
    if not all(map(math.isfinite, values)):
        texts = ["null" if text in _NON_FINITE else text for text in texts]
    return texts


_NON_FINITE = frozenset(("inf", "-inf", "nan"))


def _json_string(text: str) -> str:
    return _json(text)


def _json(data) -> str:
    """``data`` as compact JSON (json's C encoder; non-ASCII escaped, no NaN or infinity)."""
    import json

    return json.dumps(data, separators=(",", ":"), allow_nan=False)


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
        "warnings": evaluated.warnings, "notes": evaluated.notes,
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
        "warnings": evaluated.warnings, "notes": evaluated.notes,
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
        "sympy_timeout": comparison.sympy_timeout,
        "timeouts": comparison.timeouts,
        "sympy_failures": comparison.failures,
        "warnings": evaluated.warnings, "notes": evaluated.notes,
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
            "strategies": rows, "warnings": evaluated.warnings, "notes": evaluated.notes}


def graph_json(data) -> dict:
    """The computational graph as data: nodes (with values, tangents and adjoints at a point) and
    edges (with the local partial: its value at a point, its rule otherwise), and the outputs."""
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
        nodes.append(row)
    edge_rows = [{"from": names[a], "to": names[b], "partial": number(label) if isinstance(label, float) else label}
                 for a, b, label in edges(data, numbers=True)]
    outputs = [{"name": name, "node": names[node]} for node, name in zip(trace.outputs, trace.output_names)]
    return {"source": trace.source, "nodes": nodes, "edges": edge_rows, "outputs": outputs}


def _op_name(trace: Trace, node: int) -> str:
    code = trace.op[node]
    return "input" if code == INPUT else "const" if code == CONST else trace.primitive(node).name
