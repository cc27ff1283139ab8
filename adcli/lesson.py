"""The lesson page (``adcli lesson``, ``adcli trace --format html``): one self-contained HTML file
that animates the graph and both sweeps, step by step.

Every number and every sentence of the page is worked out here, by the library, and embedded in the
page as JSON; the page's script only displays precomputed steps. The values come from the
evaluated trace, the updates and their explanations from :mod:`adcli.explain` (the lines
``trace --explain`` prints), the graph's layout from Graphviz's ``dot`` when it is installed
(:func:`adcli.graph.render_with_graphviz`, with its timeout) or from :func:`layered_layout`.

A step is ``{"n": current node, "t": node receiving an adjoint (or -1), "p": phase ("f" forward,
"r" reverse), "l": [lines of text], "s": [[node, column, number, text], ...]}``: after it, ``node``
shows ``text`` in its value (column 0) or its adjoint or tangent (column 1). The page has one track of
steps per sweep: the reverse sweep (after the forward evaluation) and each tangent seed's forward
sweep. Beyond :data:`GRAPH_NODES` nodes the page draws the neighbourhood of the current node only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adcli.explain import derivations, factor_text, number_text
from adcli.output.documents import number
from adcli.points import output_labels
from adcli.primitives import CONST, INPUT, PRIMITIVES
from adcli.trace import Trace
from adcli.trace_text import bar, dot

if TYPE_CHECKING:
    from adcli.analysis import SweepTable

#: Above this many nodes the graph is drawn around the current node only (as ``adcli graph``'s limit).
GRAPH_NODES = 300
#: Without ``--wrt``, a forward sweep per input when there are at most this many inputs.
DEFAULT_SEEDS = 4
LAYOUTS = ("auto", "dot", "adcli")

# The node boxes' geometry in pixels (monospace 12 px text; the page's stylesheet agrees).
CHAR = 7.3
ROW = 17
PAD = 10
GAP_X, GAP_Y = 56, 22

PAGE = Path(__file__).with_name("lesson_page")


def lesson_html(table: SweepTable, digits: int, layout: str = "auto") -> str:
    """The lesson page of a sweep table computed with ``explain=True``: :func:`page` around
    :func:`lesson_document`."""
    return page(lesson_document(table, digits, layout))


def page(document: dict) -> str:
    """The HTML page around a lesson document: the stylesheet, script and data inline, and a
    Content-Security-Policy that allows exactly those (no network request can be made)."""
    style = (PAGE / "lesson.css").read_text(encoding="utf-8")
    script = (PAGE / "lesson.js").read_text(encoding="utf-8")
    data = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    template = (PAGE / "page.html").read_text(encoding="utf-8")
    parts = {"csp": f"default-src 'none'; script-src '{_digest(script)}'; style-src '{_digest(style)}'",
             "title": html.escape(f"adcli lesson: {document['function']}"), "style": style, "script": script,
             "data": data}
    # one pass: a part's own text (a file named {data}.py in the title) is never substituted again
    return re.sub(r"\{(csp|title|style|script|data)\}", lambda match: parts[match[1]], template)


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def lesson_document(table: SweepTable, digits: int, layout: str = "auto") -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (see the module's docstring for a step)."""
    if table.explanation is None:
        raise ValueError("a lesson needs the sweeps explained: sweep_table(..., explain=True)")
    from adcli import __version__
    from adcli.graph import GraphData, labelled_nodes

    evaluated, trace = table.evaluated, table.trace
    names = trace.names()
    input_name = trace.input_name_of()
    shown = labelled_nodes(GraphData(trace))
    output_of = dict(zip(trace.outputs, output_labels(trace)))
    nodes = []
    for i in shown:
        label = names[i] if trace.op[i] == CONST else trace.label(i, names, input_name)
        if i in output_of:
            label += f"  → {output_of[i]}"
        nodes.append({"id": i, "name": names[i], "label": label,
                      "kind": "input" if trace.op[i] == INPUT else "const" if trace.op[i] == CONST else "op",
                      "args": [a for a in trace.args(i) if trace.op[a] != CONST],
                      "line": trace.lines[i] if trace.lines is not None else 0,
                      "var": trace.variables.get(i)})
    primal = _primal_steps(table, shown, names, digits)
    titles = derivations(table, names, digits)
    tracks = [_reverse_track(table, primal, titles[0][0], names, digits)]
    for (label, updates), (title, _lines), (_, tangents) in zip(table.explanation.forward, titles[1:],
                                                                 table.tangents):
        tracks.append(_forward_track(table, primal, label, updates, tangents, title, names, digits))
    size = _node_size(nodes, digits)
    graph = None if len(nodes) > GRAPH_NODES else _layout(nodes, size, layout)
    return {
        "function": trace.source, "version": __version__,
        "heading": f"f = {trace.source}" if trace.lines is None else f"f: {trace.source}",
        "at": {name: number_text(value, digits) for name, value in evaluated.at.items()},
        "outputs": [{"name": name, "node": node, "value": number(evaluated.values[node]),
                     "text": number_text(evaluated.values[node], digits)} for node, name in output_of.items()],
        "conventions": _conventions(table),
        "warnings": evaluated.warnings, "notes": evaluated.notes,
        "nodes": nodes, "node_size": size, "graph": graph, "graph_nodes": GRAPH_NODES,
        "source_lines": _source_lines(trace), "tracks": tracks,
    }


# ---------------------------------------------------------------- steps
def _cell(node: int, column: int, value: float, digits: int) -> list:
    return [node, column, number(value), number_text(value, digits)]


def _primal_steps(table: SweepTable, shown: list[int], names: list[str], digits: int) -> list[dict]:
    """One step per node in trace order: its value from its arguments' (``v4 = v1 * v3 = 2 * 3 = 6``)."""
    trace, values = table.trace, table.evaluated.values
    input_name = trace.input_name_of()
    steps = []
    for i in shown:
        code = trace.op[i]
        value = number_text(values[i], digits)
        if code == INPUT:
            line = f"{names[i]} = {input_name[i]} = {value}   (input)"
        elif code == CONST:
            line = f"{names[i]} is a constant"
        else:
            primitive = PRIMITIVES[code]
            assert primitive is not None
            as_text = factor_text if primitive.symbol is not None else number_text  # an operator's factor: (-1)
            arguments = [names[a] if trace.op[a] == CONST else as_text(values[a], digits) for a in trace.args(i)]
            line = f"{trace.label(i, names, input_name)} = {primitive.call_text(arguments)} = {value}"
        steps.append({"n": i, "t": -1, "p": "f", "l": [line], "s": [_cell(i, 0, values[i], digits)]})
    return steps


def _reverse_track(table: SweepTable, primal: list[dict], title: str, names: list[str], digits: int) -> dict:
    """The forward evaluation, then the reverse sweep: the seed, each update (a fan-out node's
    contributions one at a time, then their sum), and the gradient."""
    from adcli.explain import reverse_line

    trace = table.trace
    assert table.explanation is not None
    updates = table.explanation.reverse
    seeds = dict(table.seeds)
    total = dict.fromkeys(seeds, 1)
    for update in updates:
        total[update.target] = total.get(update.target, 0) + 1
    terms: dict[int, list[float]] = {node: [weight] for node, weight in seeds.items()}
    of = _differentiated(table)
    seed_lines = [f"{bar(names[node])} = {number_text(weight, digits)}   (the seed: ∂{of}/∂{names[node]})"
                  for node, weight in seeds.items()]
    steps = [{"n": next(iter(seeds), -1), "t": -1, "p": "r", "l": [title, *seed_lines],
              "s": [_cell(node, 1, weight, digits) for node, weight in seeds.items()]}]
    for update in updates:
        target = update.target
        terms.setdefault(target, []).append(update.contribution)
        lines = [reverse_line(update, names, digits).text()]
        if len(terms[target]) == total[target] > 1:
            shown = terms[target] if len(terms[target]) <= 8 else [*terms[target][:3], math.nan, *terms[target][-3:]]
            summed = " + ".join("…" if math.isnan(t) else factor_text(t, digits) for t in shown)
            lines.append(f"{bar(names[target])} = {summed} = {number_text(update.running, digits)}   "
                         f"(the sum of its {total[target]} contributions)")
        steps.append({"n": update.source, "t": target, "p": "r", "l": lines,
                      "s": [_cell(target, 1, update.running, digits)]})
    gradient = ", ".join(f"∂{of}/∂{name} = {bar(names[node])} = {number_text(table.adjoints[node], digits)}"
                         for node, name in zip(trace.inputs, trace.input_names))
    steps.append({"n": -1, "t": -1, "p": "r", "l": [f"the reverse sweep is done: {gradient}"], "s": []})
    return {"label": f"reverse mode: adjoints v̄ = ∂{of}/∂v", "column": "adjoint", "symbol": "v̄",
            "reverse_start": len(primal), "steps": [*primal, *steps]}


def _differentiated(table: SweepTable) -> str:
    """What the adjoints differentiate: ``f`` (or ``f[1]``), or ``u·f`` for a cotangent on several outputs."""
    return "u·f" if table.adjoint_of is None else output_labels(table.trace)[table.output]


def _forward_track(table: SweepTable, primal: list[dict], label: str, updates: list, tangents: Sequence[float],
                   title: str, names: list[str], digits: int) -> dict:
    """Forward mode for one tangent seed: each node's value and tangent together, in trace order."""
    from adcli.explain import forward_line

    trace = table.trace
    update_of = {update.node: update for update in updates}
    input_name = trace.input_name_of()
    column = f"({label})" if "=" in label else f"∂/∂{label}"
    steps = []
    for k, step in enumerate(primal):
        i = step["n"]
        if trace.op[i] == INPUT:
            seed = number_text(tangents[i], digits)
            tangent = f"{dot(names[i])} = {seed}   (the seed: {dot(input_name[i])} = {seed})"
        elif i in update_of:
            tangent = forward_line(update_of[i], names, digits).text()
        else:
            tangent = ""
        lines = ([title] if k == 0 else []) + step["l"] + ([tangent] if tangent else [])
        cells = step["s"] + ([] if trace.op[i] == CONST else [_cell(i, 1, tangents[i], digits)])
        steps.append({**step, "l": lines, "s": cells})
    by = f"∂/∂u (u: {label})" if "=" in label else f"∂/∂{label}"
    result = ", ".join(f"{by.replace('∂/', f'∂{name}/', 1)} = {dot(names[node])} = "
                       f"{number_text(tangents[node], digits)}"
                       for node, name in zip(trace.outputs, output_labels(trace)))
    steps.append({"n": -1, "t": -1, "p": "f", "l": [f"the forward sweep is done: {result}"], "s": []})
    return {"label": f"forward mode: tangents {column}" if "=" not in label else f"forward mode: direction {label}",
            "column": "tangent", "symbol": "v̇", "reverse_start": -1, "steps": steps}


def _conventions(table: SweepTable) -> list[str]:
    from adcli.conventions import PEERS

    convention = table.evaluated.convention
    said = ["v̄ (adjoint) = ∂f/∂v: the reverse sweep seeds the output's adjoint with 1, walks the trace backwards "
            "and adds adjoint · local partial into each argument's adjoint (+= : a node used twice receives "
            "two contributions).",
            "v̇ (tangent) = ∂v/∂x: the forward sweep seeds an input's tangent with 1 and sums each argument's "
            "tangent · local partial."]
    if convention in PEERS:
        said.append(f"Kinks (abs at 0, max ties …) take {PEERS[convention]}'s derivative, and every product is "
                    "taken as it takes them (0·∞ gives nan).")
    else:
        said.append(f"Kinks (abs at 0, max ties …) take the {convention} convention (see 'adcli rules'); a zero "
                    "adjoint or zero partial contributes nothing, so 0·∞ is 0.")
    if table.straight_through:
        said.append("Straight-through estimator: floor and sign pass adjoints as if their derivative were 1.")
    return said


def _source_lines(trace: Trace) -> list[str] | None:
    """A function file's lines (None for an expression, or when the file cannot be read again)."""
    if trace.lines is None:
        return None
    try:
        return Path(trace.source).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------- layout
def _node_size(nodes: list[dict], digits: int) -> dict[str, float]:
    """One box size for every node: its widest label, or a row ``adjoint`` and a number of ``digits``."""
    characters = max([len("adjoint ") + digits + 7, *(len(node["label"]) for node in nodes)])
    return {"w": round(characters * CHAR + 2 * PAD, 1), "h": 3 * ROW + PAD}


def _layout(nodes: list[dict], size: dict[str, float], layout: str) -> dict[str, Any]:
    """Node centres and edge paths, by Graphviz's dot (``layout`` dot, or auto when dot is installed)
    or by :func:`layered_layout` (``adcli``, or auto without dot or when dot fails)."""
    import shutil

    from adcli.errors import AdcliError, InputError

    if layout == "dot" and not shutil.which("dot"):
        raise InputError("Graphviz's dot is not installed (Debian: apt-get install graphviz); --layout adcli lays "
                         "the graph out without it", option="layout", value="dot")
    note = ""
    if layout == "dot" or (layout == "auto" and shutil.which("dot")):
        try:
            return graphviz_layout(nodes, size)
        except AdcliError as error:
            if layout == "dot":
                raise
            note = f" ({error})"
    elif layout == "auto":
        note = " (Graphviz's dot is not installed)"
    placed = layered_layout(nodes, size)
    placed["by"] += note
    return placed


def graphviz_layout(nodes: list[dict], size: dict[str, float]) -> dict[str, Any]:
    """Graphviz's layout (``dot -Tplain``, left to right) of boxes of ``size``: centres and splines in pixels."""
    from adcli.graph import render_with_graphviz

    inches = f'width={size["w"] / 72:.3f}, height={size["h"] / 72:.3f}'
    lines = ["digraph lesson {", "  rankdir=LR; nodesep=0.25; ranksep=0.45;",
             f'  node [shape=box, fixedsize=true, label="", {inches}];']
    lines += [f"  n{node['id']};" for node in nodes]
    inputs = " ".join(f"n{node['id']};" for node in nodes if node["kind"] == "input")
    lines += [f"  {{rank=min; {inputs}}}"] if inputs else []  # the inputs in the first column
    lines += [f"  n{a} -> n{node['id']};" for node in nodes for a in node["args"]]
    plain = render_with_graphviz("\n".join(lines) + "\n}\n", "plain").decode()
    centres: dict[int, list[float]] = {}
    paths: list[list] = []
    height = width = 0.0
    for row in plain.splitlines():
        fields = row.split()
        if fields[0] == "graph":
            width, height = float(fields[2]) * 72, float(fields[3]) * 72
        elif fields[0] == "node":
            centres[int(fields[1][1:])] = [round(float(fields[2]) * 72, 1), round(height - float(fields[3]) * 72, 1)]
        elif fields[0] == "edge":
            count = int(fields[3])
            points = [(float(fields[4 + 2 * k]) * 72, height - float(fields[5 + 2 * k]) * 72) for k in range(count)]
            d = f"M{points[0][0]:.1f},{points[0][1]:.1f} C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in points[1:])
            paths.append([int(fields[1][1:]), int(fields[2][1:]), d])
    return {"by": "Graphviz's dot", "width": round(width, 1), "height": round(height, 1), "centres": centres,
            "edges": paths}


def layered_layout(nodes: list[dict], size: dict[str, float]) -> dict[str, Any]:
    """adcli's own layout, left to right: a node's column is one past its deepest argument's; within a
    column nodes are ordered by the mean row of their arguments (one pass, no recursion)."""
    column: dict[int, int] = {}
    for node in nodes:  # (in trace order: arguments come first)
        column[node["id"]] = 1 + max((column[a] for a in node["args"]), default=-1)
    columns: list[list[dict]] = [[] for _ in range(max(column.values(), default=-1) + 1)]
    for node in nodes:
        columns[column[node["id"]]].append(node)
    row: dict[int, float] = {}
    for members in columns:
        members.sort(key=lambda node: sum(row[a] for a in node["args"]) / len(node["args"]) if node["args"] else 0)
        for k, node in enumerate(members):
            row[node["id"]] = k
    w, h = size["w"], size["h"]
    tallest = max((len(members) for members in columns), default=0)
    height = tallest * (h + GAP_Y) + GAP_Y
    centres = {}
    for c, members in enumerate(columns):
        top = (height - len(members) * (h + GAP_Y) + GAP_Y) / 2
        for k, node in enumerate(members):
            centres[node["id"]] = [round(GAP_X / 2 + c * (w + GAP_X) + w / 2, 1),
                                   round(top + k * (h + GAP_Y) + h / 2, 1)]
    paths = []
    for node in nodes:
        x1, y1 = centres[node["id"]]
        for a in node["args"]:
            x0, y0 = centres[a]
            start, end = x0 + w / 2, x1 - w / 2 - 6
            middle = (start + end) / 2
            paths.append([a, node["id"], f"M{start:.1f},{y0:.1f} C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} "
                                         f"{end:.1f},{y1:.1f}"])
    return {"by": "adcli's layered layout", "width": round(len(columns) * (w + GAP_X), 1), "height": round(height, 1),
            "centres": centres, "edges": paths}
