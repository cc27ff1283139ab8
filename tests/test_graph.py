"""adcli graph: DOT and Mermaid text parsed back into a graph (nodes, edges, labels), SVG and PNG drawn by
Graphviz when its dot program is installed, and the exact error messages.

Reference numbers are derived by hand: for f = (a+b)(b+1) at a=2, b=1 the trace is v1 = a, v2 = b,
v3 = v1 + v2 = 3, v4 = v2 + 1 = 2, v5 = v3 * v4 = 6; adjoints v̄5 = 1, v̄3 = v4 = 2, v̄4 = v3 = 3,
v̄1 = v̄3 = 2, v̄2 = v̄3 + v̄4 = 5 (df/da = b+1 = 2, df/db = (b+1) + (a+b) = 5).
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import adcli.graph
from adcli.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NEURON = str(SAMPLES / "sigmoid_neuron.py")
BRANCH = str(SAMPLES / "branch.py")
EXAMPLE = "(a+b)*(b+1)"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def run(runner, args):
    """Invoke adcli; it must end through an exit code, never an unhandled exception."""
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


@dataclass
class Graph:
    nodes: dict[str, list[str]] = field(default_factory=dict)  # id -> label lines
    shapes: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str | None]] = field(default_factory=list)  # (from, to, label)

    def node(self, first_line: str) -> list[str]:
        """The label lines of the one node whose label starts with ``first_line``."""
        found = [lines for lines in self.nodes.values() if lines[0] == first_line]
        assert len(found) == 1, (first_line, self.nodes)
        return found[0]

    def id_of(self, first_line: str) -> str:
        (found,) = [key for key, lines in self.nodes.items() if lines[0] == first_line]
        return found

    def check_dag(self) -> None:
        """Every edge joins declared nodes, and the edges have no cycle (Kahn's algorithm)."""
        for a, b, _ in self.edges:
            assert a in self.nodes and b in self.nodes, (a, b)
        indegree = {key: 0 for key in self.nodes}
        for _, b, _ in self.edges:
            indegree[b] += 1
        ready = [key for key, d in indegree.items() if d == 0]
        seen = 0
        while ready:
            key = ready.pop()
            seen += 1
            for a, b, _ in self.edges:
                if a == key:
                    indegree[b] -= 1
                    if indegree[b] == 0:
                        ready.append(b)
        assert seen == len(self.nodes), "the graph has a cycle"


_QUOTED = r'"((?:[^"\\]|\\.)*)"'
DOT_NODE = re.compile(rf"^\s*(\w+)\s*\[\s*label={_QUOTED}(?:\s*,\s*shape=(\w+))?\s*\];?\s*$")
DOT_EDGE = re.compile(rf"^\s*(\w+)\s*->\s*(\w+)(?:\s*\[\s*label={_QUOTED}\s*\])?\s*;?\s*$")


def _unescape_dot(text: str) -> str:
    return re.sub(r'\\(.)', lambda m: m.group(1), text)


def parse_dot(text: str) -> Graph:
    """A small DOT reader for adcli's output: ``id [label="…", shape=…];`` and ``a -> b [label="…"];``."""
    lines = text.strip().splitlines()
    assert re.fullmatch(r"digraph \w+ \{", lines[0]) and lines[-1] == "}", text
    graph = Graph()
    for line in lines[1:-1]:
        if match := DOT_NODE.match(line):
            key, label, shape = match.groups()
            assert key not in graph.nodes, f"node {key} declared twice"
            graph.nodes[key] = [_unescape_dot(part) for part in label.split("\\n")]
            graph.shapes[key] = shape
        elif match := DOT_EDGE.match(line):
            a, b, label = match.groups()
            graph.edges.append((a, b, None if label is None else _unescape_dot(label)))
        else:
            assert re.fullmatch(r"\s*(rankdir=\w+|(node|edge|graph) \[.*\]);", line), f"unparsed DOT line: {line!r}"
    graph.check_dag()
    return graph


MERMAID_NODE = re.compile(r'^\s*(\w+)(\["|\("|\{\{")(.*)("\]|"\)|"\}\})\s*$')
MERMAID_EDGE = re.compile(r'^\s*(\w+)\s*-->(?:\|"(.*)"\|)?\s*(\w+)\s*$')
MERMAID_SHAPES = {'["': "box", '("': "round", '{{"': "hexagon"}


def parse_mermaid(text: str) -> Graph:
    lines = text.strip().splitlines()
    assert lines[0] == "flowchart LR", text
    graph = Graph()
    for line in lines[1:]:
        if match := MERMAID_EDGE.match(line):
            a, label, b = match.groups()
            graph.edges.append((a, b, label))
        elif match := MERMAID_NODE.match(line):
            key, opening, label, _ = match.groups()
            graph.nodes[key] = label.split("<br/>")
            graph.shapes[key] = MERMAID_SHAPES[opening]
        else:
            pytest.fail(f"unparsed Mermaid line: {line!r}")
    graph.check_dag()
    return graph


def graph_of(runner, args, parser=parse_dot) -> Graph:
    result = run(runner, ["graph", *args])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return parser(result.stdout)


def data_edges(graph: Graph) -> list[tuple[str, str, str | None]]:
    return [edge for edge in graph.edges if not edge[1].startswith("out")]


# ---------------------------------------------------------------- DOT

def test_dot_structure(runner):
    """(a+b)*(b+1): 2 inputs (boxes) + 3 operations + 1 output node; 5 data edges + 1 to the output.
    The constant 1 is folded into the label of v4, not drawn as a node."""
    graph = graph_of(runner, [EXAMPLE])
    assert len(graph.nodes) == 6
    assert sorted(graph.shapes.values()) == ["box", "box", "doubleoctagon", "ellipse", "ellipse", "ellipse"]
    assert sorted(lines[0] for lines in graph.nodes.values()) == sorted(
        ["v1 = a", "v2 = b", "v3 = v1 + v2", "v4 = v2 + 1", "v5 = v3 * v4", EXAMPLE])
    assert len(graph.edges) == 6
    assert len(data_edges(graph)) == 5
    node = graph.id_of
    assert sorted((a, b) for a, b, _ in graph.edges) == sorted([
        (node("v1 = a"), node("v3 = v1 + v2")), (node("v2 = b"), node("v3 = v1 + v2")),
        (node("v2 = b"), node("v4 = v2 + 1")), (node("v3 = v1 + v2"), node("v5 = v3 * v4")),
        (node("v4 = v2 + 1"), node("v5 = v3 * v4")), (node("v5 = v3 * v4"), node(EXAMPLE))])
    # without --at: structure only, no numbers, no edge labels
    assert all(len(lines) == 1 for lines in graph.nodes.values())
    assert all(label is None for _, _, label in graph.edges)


def test_dot_values_and_adjoints(runner):
    """With --at a=2,b=1 every node carries its value and adjoint (hand-derived, see the module doc)."""
    graph = graph_of(runner, [EXAMPLE, "--at", "a=2,b=1"])
    assert len(graph.nodes) == 6 and len(graph.edges) == 6
    assert graph.node("v1 = a") == ["v1 = a", "value 2", "adjoint 2"]
    assert graph.node("v2 = b") == ["v2 = b", "value 1", "adjoint 5"]
    assert graph.node("v3 = v1 + v2") == ["v3 = v1 + v2", "value 3", "adjoint 2"]
    assert graph.node("v4 = v2 + 1") == ["v4 = v2 + 1", "value 2", "adjoint 3"]
    assert graph.node("v5 = v3 * v4") == ["v5 = v3 * v4", "value 6", "adjoint 1"]
    assert graph.node(EXAMPLE) == [EXAMPLE]


def test_dot_tangents_with_wrt(runner):
    """--wrt a seeds a: tangents a 1, b 0, v3 1, v4 0, v5 = v4 * 1 + v3 * 0 = 2 = df/da."""
    graph = graph_of(runner, [EXAMPLE, "--at", "a=2,b=1", "--wrt", "a"])
    tangents = {lines[0]: [line for line in lines if line.startswith("tangent ")]
                for lines in graph.nodes.values()}
    assert tangents == {"v1 = a": ["tangent 1"], "v2 = b": ["tangent 0"], "v3 = v1 + v2": ["tangent 1"],
                        "v4 = v2 + 1": ["tangent 0"], "v5 = v3 * v4": ["tangent 2"], EXAMPLE: []}


def _edge_labels(graph: Graph) -> dict[tuple[str, str], str | None]:
    first = {key: lines[0].split(" = ")[0] if " = " in lines[0] else "out" for key, lines in graph.nodes.items()}
    return {(first[a], first[b]): label for a, b, label in graph.edges}


def test_dot_edge_partials_at_a_point(runner):
    """--edges --at a=2,b=1: d(v1+v2)/dv1 = d(v1+v2)/dv2 = d(v2+1)/dv2 = 1, d(v3 v4)/dv3 = v4 = 2,
    d(v3 v4)/dv4 = v3 = 3; the edge to the output node has no label."""
    graph = graph_of(runner, [EXAMPLE, "--at", "a=2,b=1", "--edges"])
    assert _edge_labels(graph) == {("v1", "v3"): "1", ("v2", "v3"): "1", ("v2", "v4"): "1",
                                   ("v3", "v5"): "2", ("v4", "v5"): "3", ("v5", "out"): None}


def test_dot_edge_partials_printed_without_point(runner):
    """--edges without --at: the printed partial (v4 and v3 for the product)."""
    graph = graph_of(runner, [EXAMPLE, "--edges"])
    assert _edge_labels(graph) == {("v1", "v3"): "1", ("v2", "v3"): "1", ("v2", "v4"): "1",
                                   ("v3", "v5"): "v4", ("v4", "v5"): "v3", ("v5", "out"): None}


def test_dot_function_file_with_lists(runner):
    """samples/sigmoid_neuron.py at w=[2,-3,-3], x=[-1,-2]: 5 inputs; operations w0*x0, w1*x1, +, +w2,
    neg, exp, 1+, 1/ (8); 1 output: 14 nodes. Edges: 2+2+2+2 (binary ops) + 1+1 (neg, exp) + 1+1
    (1+v, 1/v: the constant is no edge) + 1 to the output = 13. z = 1, s = sigmoid(1) = 0.7311;
    adjoint of w[0] = s(1-s) x0 = -0.1966, of x[1] = s(1-s) w1 = -0.5898 (4 significant digits)."""
    graph = graph_of(runner, [NEURON, "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]"])
    assert len(graph.nodes) == 14
    assert len(graph.edges) == 13 and len(data_edges(graph)) == 12
    assert list(graph.shapes.values()).count("box") == 5
    assert graph.node("v1 = w[0]") == ["v1 = w[0]", "value 2", "adjoint -0.1966"]
    assert graph.node("v5 = x[1]") == ["v5 = x[1]", "value -2", "adjoint -0.5898"]
    outputs = [key for key, shape in graph.shapes.items() if shape == "doubleoctagon"]
    assert len(outputs) == 1
    (source,) = [a for a, b, _ in graph.edges if b == outputs[0]]
    assert graph.nodes[source][1:] == ["line 7", "value 0.7311", "adjoint 1"]  # return 1 / (1 + exp(-z))


def test_dot_digits(runner):
    """--digits 2: pi/3 = 1.047… is shown as 1; the adjoint of y, x e^y = pi/3, too."""
    graph = graph_of(runner, ["x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "--digits", "2"])
    assert graph.node("v1 = x") == ["v1 = x", "value 1", "adjoint 0.5"]
    assert graph.node("v2 = y") == ["v2 = y", "value 0", "adjoint 1"]


# ---------------------------------------------------------------- Mermaid

def test_mermaid_same_graph(runner):
    """--format mermaid: a 'flowchart LR' with the same 6 nodes and 5 + 1 edges as the DOT output."""
    dot = graph_of(runner, [EXAMPLE, "--at", "a=2,b=1", "--edges"])
    mermaid = graph_of(runner, [EXAMPLE, "--at", "a=2,b=1", "--edges", "--format", "mermaid"], parse_mermaid)
    assert len(mermaid.nodes) == 6
    assert len(mermaid.edges) == 6 and len(data_edges(mermaid)) == 5
    assert mermaid.nodes == dot.nodes
    assert sorted(mermaid.shapes.values()) == ["box", "box", "hexagon", "round", "round", "round"]
    assert _edge_labels(mermaid) == _edge_labels(dot)
    assert mermaid.node("v2 = b") == ["v2 = b", "value 1", "adjoint 5"]


def test_mermaid_structure_only(runner):
    mermaid = graph_of(runner, [EXAMPLE, "--format", "mermaid"], parse_mermaid)
    assert len(mermaid.nodes) == 6 and len(mermaid.edges) == 6
    assert all(len(lines) == 1 for lines in mermaid.nodes.values())


def test_output_file_format_from_extension(runner, tmp_path):
    """-o graph.dot writes DOT, -o graph.mmd writes Mermaid; 'wrote …' goes to stderr."""
    for name, parser in (("graph.dot", parse_dot), ("graph.mmd", parse_mermaid)):
        path = tmp_path / name
        result = run(runner, ["graph", EXAMPLE, "--at", "a=2,b=1", "-o", str(path)])
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert result.stderr == f"wrote {path}\n"
        graph = parser(path.read_text())
        assert len(graph.nodes) == 6 and len(graph.edges) == 6


# ---------------------------------------------------------------- Graphviz

def svg_texts(path: Path) -> list[str]:
    """The text of every <text> element of an SVG file (parsed as XML)."""
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return ["".join(element.itertext()) for element in root.iter("{http://www.w3.org/2000/svg}text")]


@needs_dot
def test_svg_contains_every_node_label(runner, tmp_path):
    """adcli graph "x*exp(y)-sin(x)" --at x=pi/3,y=0 -o graph.svg: every line of every node label is
    text in the SVG. Hand values: v1 = pi/3 = 1.047, adjoint e^0 - cos(pi/3) = 0.5; v2 = 0, adjoint
    x e^y = 1.047; v6 = pi/3 - sqrt(3)/2 = 0.1812."""
    path = tmp_path / "graph.svg"
    result = run(runner, ["graph", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {path}\n"
    dot = graph_of(runner, ["x*exp(y)-sin(x)", "--at", "x=pi/3,y=0"])
    texts = svg_texts(path)
    expected = [line for lines in dot.nodes.values() for line in lines]
    assert len(dot.nodes) == 7
    for line in expected:
        assert line in texts, (line, texts)
    for line in ("v1 = x", "value 1.047", "adjoint 0.5", "v2 = y", "adjoint 1.047", "value 0.1812",
                 "x*exp(y)-sin(x)"):
        assert line in texts


@needs_dot
def test_svg_to_stdout_with_format(runner):
    result = run(runner, ["graph", EXAMPLE, "--at", "a=2,b=1", "--format", "svg"])
    assert result.exit_code == 0, result.output
    root = ElementTree.fromstring(result.stdout.encode())
    texts = ["".join(e.itertext()) for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"v1 = a", "adjoint 5", "v5 = v3 * v4", "value 6", EXAMPLE} <= set(texts)


@needs_dot
def test_png_of_the_neuron(runner, tmp_path):
    """The issue's example: adcli graph samples/sigmoid_neuron.py --at … -o neuron.png."""
    path = tmp_path / "neuron.png"
    result = run(runner, ["graph", NEURON, "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {path}\n"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


@pytest.mark.parametrize("args", [["-o", "graph.svg"], ["--format", "svg"], ["-o", "g.png"]])
def test_missing_dot_suggests_format_dot(runner, tmp_path, monkeypatch, args):
    """Without Graphviz: exit 2, one message that says what is missing and suggests --format dot."""
    monkeypatch.setattr(adcli.graph.shutil, "which", lambda name: None)
    args = [str(tmp_path / a) if a.endswith((".svg", ".png")) else a for a in args]
    result = run(runner, ["graph", EXAMPLE, "--at", "a=2,b=1", *args])
    assert result.exit_code == 2
    kind = "png" if args[-1].endswith(".png") else "svg"
    assert result.stderr == (f"error: --format {kind}: this picture needs Graphviz's dot program, which is not "
                             "installed (Debian: apt-get install graphviz); the dot format writes the graph as text "
                             "instead\n")
    assert "the dot format writes the graph as text" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- size and errors

def test_max_nodes(runner):
    """(a+b)*(b+1) has 6 nodes: --max-nodes 6 draws it, --max-nodes 5 refuses with exit 2."""
    assert run(runner, ["graph", EXAMPLE, "--max-nodes", "6"]).exit_code == 0
    result = run(runner, ["graph", EXAMPLE, "--max-nodes", "5"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("error: --max-nodes 5: the graph has 6 nodes, more than a picture can show readably "
                             "(5); the trace's table shows any length, or raise the limit\n")


def test_default_limit_is_300(runner):
    """sin(2x) + … + sin(120x): 1 input + 119 products + 119 sines + 118 sums + 1 output = 358 nodes."""
    expression = "+".join(f"sin({k}*x)" for k in range(2, 121))
    result = run(runner, ["graph", expression, "--at", "x=0.1"])
    assert result.exit_code == 2
    assert result.stderr == ("error: --max-nodes 300: the graph has 358 nodes, more than a picture can show "
                             "readably (300); the trace's table shows any length, or raise the limit\n")
    graph = graph_of(runner, [expression, "--max-nodes", "400"])
    assert len(graph.nodes) == 358
    assert len(graph.edges) == 119 * 2 + 118 * 2 + 1  # mul: x only (k is a constant); sin: 1; add: 2; output


@pytest.mark.parametrize(("args", "message"), [
    ([BRANCH], f"error: {BRANCH}: a function file is traced by running it, so give its inputs with --at\n"),
    ([EXAMPLE, "--format", "png"], "error: --format png writes an image: name the file with -o graph.png\n"),
    ([EXAMPLE, "--wrt", "a"], "error: a tangent needs a point: give one with --at\n"),
    ([EXAMPLE, "--format", "gif"], "error: Invalid value for '--format': 'gif' is not one of 'dot', 'mermaid', "
                                   "'svg', 'png', 'json' (see 'adcli graph --help')\n"),
    ([EXAMPLE, "-o", "graph.txt"], "error: -o graph.txt: the suffix names table, which a graph is not written as; use one of .json, .dot, .gv, "
                                    ".mmd, .svg, .png or give --format\n"),
])
def test_graph_errors(runner, args, message):
    result = run(runner, ["graph", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == message


def test_graph_json_carries_numbers_and_partials(runner):
    """x*y+1 at (2, 3), by hand: v3 = x·y = 6, v4 = 7; adjoints x̄ = y = 3, ȳ = x = 2; the edge
    partials ∂v3/∂x = y = 3, ∂v3/∂y = x = 2, ∂v4/∂v3 = 1."""
    result = runner.invoke(None, ["graph", "x*y+1", "--at", "x=2,y=3", "--json", "--edges"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [(n["name"], n["op"], n["text"], n["value"], n["adjoint"]) for n in document["nodes"]] == [
        ("v1", "input", "x", 2.0, 3.0), ("v2", "input", "y", 3.0, 2.0),
        ("v3", "mul", "v1 * v2", 6.0, 1.0), ("v4", "add", "v3 + 1", 7.0, 1.0)]
    assert document["edges"] == [{"from": "v1", "to": "v3", "partial": 3.0}, {"from": "v2", "to": "v3", "partial": 2.0},
                                 {"from": "v3", "to": "v4", "partial": 1.0}]
    assert document["outputs"] == [{"name": "x*y+1", "node": "v4"}]


def test_graph_json_without_a_point_gives_the_rules(runner):
    result = runner.invoke(None, ["graph", "sin(x)*x", "--json"])
    assert result.exit_code == 0, result.stderr
    edges = json.loads(result.stdout)["edges"]
    assert edges == [{"from": "v1", "to": "v2", "partial": "cos(v1)"}, {"from": "v2", "to": "v3", "partial": "v1"},
                     {"from": "v1", "to": "v3", "partial": "v2"}]
