"""The trace as text beyond its equations: the adjoint updates of the reverse sweep.

``v̄1 += v̄5 · cos(v1)`` is built from each primitive's printed partial (``partial_text`` in the
registry), one template per kind of node, so millions of statements cost a few C-level maps. The
terminal table, Markdown, LaTeX and the JSON of ``adcli trace`` all print these same statements.
"""

from __future__ import annotations

from adcli.primitives import CONST, PRIMITIVES, Primitive
from adcli.trace import Trace

BAR = "\u0304"  # combining macron
DOT = "\u0307"  # combining dot above


def bar(name: str) -> str:
    """The adjoint's name: v̄1 for v1."""
    return name[0] + BAR + name[1:]


def dot(name: str) -> str:
    """The tangent's name: v̇1 for v1."""
    return name[0] + DOT + name[1:]


def update_statements(trace: Trace, limit_rows: range | None = None, straight_through: bool = False) -> list[str]:
    """The reverse sweep as adjoint updates in the order they run: ``v̄1 += v̄5 · cos(v1)``.

    One statement per argument that is not a constant; ``limit_rows`` restricts them to the
    statements of some nodes (counted in run order, last node first) to keep long traces cheap.
    With ``straight_through``, discrete primitives pass their adjoint on unchanged (partial 1).
    """
    nodes = [i for i in range(len(trace) - 1, -1, -1) if trace.op[i] > CONST]
    chosen = nodes if limit_rows is None else [nodes[k] for k in limit_rows]
    columns = NodeColumns(trace, chosen)
    parts = columns.format(UpdateTemplates(straight_through, "\n"))
    return "\n".join(filter(None, parts)).split("\n") if any(parts) else []


class NodeColumns:
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


class UpdateTemplates(dict):
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
        for position in range(primitive.arity):
            if (literal_x, literal_y)[position] is None:
                partial = printed_partial(primitive, position, fields, self.straight_through)
                line = update_text(f"v{BAR}{{{position}}}", f"v{BAR}{{2}}", partial)
                lines.append(_json_inside(line) if self.escape else line)
        template = self[key] = self.separator.join(lines)
        return template


def printed_partial(primitive: Primitive, position: int, fields: dict[str, str], straight_through: bool) -> str:
    """The partial of ``primitive`` by its argument ``position`` as printed, over the names in
    ``fields`` (``x``, ``y``, ``out``); with ``straight_through``, a discrete primitive's is 1."""
    return "1" if straight_through and primitive.discrete else primitive.partial_text[position].format(**fields)


def update_text(target: str, source: str, partial: str) -> str:
    """``target += source · partial`` for the adjoint names ``target`` and ``source``, simplified:
    ``-=`` for a negative partial, no ``· 1``, a sum in parentheses."""
    negative, rhs = term_text(source, partial)
    return f"{target} {'-=' if negative else '+='} {rhs}"


def term_text(factor: str, partial: str) -> tuple[bool, str]:
    """``factor · partial`` simplified (no ``· 1``, ``/`` for ``1 / …``, a sum in parentheses), and
    whether it is subtracted (a negative partial, its sign taken out)."""
    negative = partial.startswith("-")
    if negative:
        partial = partial[1:]
    if partial == "1":
        return negative, factor
    if partial.startswith("1 / "):
        return negative, f"{factor} / {partial[4:]}"
    if " + " in partial or " - " in partial:
        return negative, f"{factor} · ({partial})"
    return negative, f"{factor} · {partial}"


def _json_inside(text: str) -> str:
    """``text`` as the inside of a JSON string (escaped as json.dumps escapes it)."""
    import json

    return json.dumps(text)[1:-1]
