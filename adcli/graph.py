"""The computational graph as a picture: DOT and Mermaid text, and SVG or PNG drawn by Graphviz.

Inputs, operations and outputs are nodes; constants are folded into the label of the operation
that uses them (``v4 = 2 * v3``). With a point, each node carries its value and adjoint (and its
tangent for ``--wrt``); with ``edges``, each edge carries the local partial derivative.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adcli import callable_module
from adcli.errors import EvaluationError, InputError
from adcli.points import Value
from adcli.primitives import CONST, INPUT, PRIMITIVES
from adcli.trace import Trace

MAX_NODES = 300


@dataclass
class GraphData:
    """What a picture shows: the trace and, at a point, its numbers."""

    trace: Trace
    values: Sequence[float] | None = None
    adjoints: list[float] | None = None
    tangents: list[float] | None = None
    partials: tuple[Sequence[float], Sequence[float]] | None = None
    digits: int = 4
    at: dict[str, float] | None = None  # the point, when there is one
    warnings: list[str] = field(default_factory=list)  # where a derivative is a convention
    notes: list[str] = field(default_factory=list)  # the branches a function file took


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def _nodes(data: GraphData) -> list[int]:
    return [i for i, code in enumerate(data.trace.op) if code != CONST]


def check_size(data: GraphData, max_nodes: int) -> None:
    count = len(_nodes(data)) + len(data.trace.outputs)
    if count > max_nodes:
        raise InputError(f"the graph has {count:,} nodes, more than a picture can show readably ({max_nodes}); "
                         "the trace's table shows any length, or raise the limit", option="max_nodes",
                         value=str(max_nodes))


def graph_data(trace: Trace, assigned: Mapping[str, Value] | None = None, wrt: list[str] | None = None,
               digits: int = 4, max_nodes: int = 300) -> GraphData:
    """What the picture of ``trace`` shows: at the point ``assigned`` (when given) its values,
    partials and adjoints, and the tangent seeded with 1 on the inputs ``wrt`` names (a list
    parameter's name: on each of its entries), as :func:`adcli.points.check_inputs` reads them."""
    from adcli.points import check_inputs

    data = GraphData(trace, digits=digits)
    check_size(data, max_nodes)
    if assigned is None:
        if wrt is not None:
            raise InputError("a tangent needs a point: give one", option="at")
        return data
    from adcli.analysis import evaluate_at

    evaluated = evaluate_at(trace, assigned)
    data.values, data.partials = evaluated.values, (evaluated.d0, evaluated.d1)
    data.at, data.warnings, data.notes = evaluated.at, evaluated.warnings, evaluated.notes
    data.adjoints = evaluated.reverse(0)
    if wrt is not None:
        data.tangents = evaluated.forward(dict.fromkeys(check_inputs(trace, wrt), 1.0))
    return data


def labelled_nodes(data: GraphData) -> list[int]:
    """The nodes drawn: inputs and operations, and constant outputs (so their output edge has a source)."""
    trace = data.trace
    return _nodes(data) + [node for node in dict.fromkeys(trace.outputs) if trace.op[node] == CONST]


def _labels(data: GraphData) -> dict[int, list[str]]:
    trace = data.trace
    names = trace.names()
    input_name = trace.input_name_of()
    labels = {}
    for i in labelled_nodes(data):
        if trace.op[i] == CONST:
            labels[i] = [names[i]]
            continue
        lines = [trace.label(i, names, input_name)]
        if trace.lines is not None and trace.lines[i] and trace.op[i] != INPUT:  # (an input's name is in sight)
            lines.append(f"line {trace.source_of(i)}")
        if data.values is not None:
            lines.append(f"value {_number(data.values[i], data.digits)}")
        if data.tangents is not None:
            lines.append(f"tangent {_number(data.tangents[i], data.digits)}")
        if data.adjoints is not None:
            lines.append(f"adjoint {_number(data.adjoints[i], data.digits)}")
        labels[i] = lines
    return labels


def edges(data: GraphData, numbers: bool = False) -> list[tuple[int, int, str | float]]:
    """(from, to, label) for every argument that is not a constant; the label is the local partial:
    its value at the point (a float with ``numbers``, else formatted), or its rule without a point."""
    trace = data.trace
    names = trace.names()
    edges = []
    for i in _nodes(data):
        if trace.op[i] == INPUT:
            continue
        primitive = PRIMITIVES[trace.op[i]]
        args = trace.args(i)
        for k, a in enumerate(args):
            if trace.op[a] == CONST:
                continue
            if data.partials is not None:
                value = data.partials[k][i]
                label: str | float = value if numbers else _number(value, data.digits)
            else:
                label = primitive.partial_text[k].format(out=names[i], x=names[args[0]], y=names[args[-1]])
            edges.append((a, i, label))
    return edges


def _escape_dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(data: GraphData, edge_labels: bool) -> str:
    """The graph in Graphviz's DOT language, left to right."""
    trace = data.trace
    lines = ["digraph adcli {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    shapes = {INPUT: "box", CONST: "plaintext"}
    for i, label in _labels(data).items():
        text = "\\n".join(_escape_dot(line) for line in label)
        lines.append(f'  n{i} [label="{text}", shape={shapes.get(trace.op[i], "ellipse")}];')
    for k, (node, name) in enumerate(zip(trace.outputs, trace.output_names)):
        lines.append(f'  out{k} [label="{_escape_dot(name)}", shape=doubleoctagon];')
        lines.append(f"  n{node} -> out{k};")
    for a, b, partial in edges(data):  # (the partials formatted: strings)
        attribute = f' [label="{_escape_dot(str(partial))}"]' if edge_labels else ""
        lines.append(f"  n{a} -> n{b}{attribute};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape_mermaid(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(data: GraphData, edge_labels: bool) -> str:
    """The graph as a Mermaid flowchart, for Markdown documents."""
    trace = data.trace
    lines = ["flowchart LR"]
    for i, label in _labels(data).items():
        text = _escape_mermaid("<br/>".join(label))
        lines.append(f'  n{i}["{text}"]' if trace.op[i] in (INPUT, CONST) else f'  n{i}("{text}")')
    for k, (node, name) in enumerate(zip(trace.outputs, trace.output_names)):
        lines.append(f'  out{k}{{{{"{_escape_mermaid(name)}"}}}}')
        lines.append(f"  n{node} --> out{k}")
    for a, b, partial in edges(data):  # (the partials formatted: strings)
        lines.append(f'  n{a} -->|"{_escape_mermaid(str(partial))}"| n{b}' if edge_labels else f"  n{a} --> n{b}")
    return "\n".join(lines) + "\n"


#: How long Graphviz may take to lay out a graph (the --max-nodes limit keeps real graphs well inside it).
DOT_SECONDS = 20


def render_with_graphviz(dot_source: str, output_format: str) -> bytes:
    """SVG or PNG bytes from Graphviz's ``dot`` program."""
    program = shutil.which("dot")
    if program is None:
        raise InputError("this picture needs Graphviz's dot program, which is not installed (Debian: apt-get "
                         "install graphviz); the dot format writes the graph as text instead",
                         option="format", value=output_format)
    try:
        result = subprocess.run([program, f"-T{output_format}"], input=dot_source.encode(), capture_output=True,
                                check=False, timeout=DOT_SECONDS)
    except subprocess.TimeoutExpired:
        raise EvaluationError(f"Graphviz's dot ({program}) did not finish within {DOT_SECONDS} seconds; "
                              "the dot format writes the graph as text instead") from None
    except OSError as error:
        raise InputError(f"Graphviz's dot ({program}) cannot be run: {error.strerror or error}") from None
    if result.returncode != 0:
        raise InputError(f"Graphviz could not draw the graph: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def to_svg(data: GraphData, edge_labels: bool) -> bytes:
    """The graph drawn by Graphviz as SVG."""
    return render_with_graphviz(to_dot(data, edge_labels), "svg")


def to_png(data: GraphData, edge_labels: bool) -> bytes:
    """The graph drawn by Graphviz as PNG."""
    return render_with_graphviz(to_dot(data, edge_labels), "png")


callable_module(__name__)  # adcli.graph(…) is adcli.api's
