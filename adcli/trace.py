"""The trace (Wengert list): plain data, like JAX's jaxpr.

A trace is a numbered list of nodes. Node ``i`` is an input, a constant, or a primitive applied to
earlier nodes; it is stored column-wise in flat parallel arrays (``op``, ``arg0``, ``arg1``, typed
``array.array`` columns) so that evaluation, forward and reverse sweeps are short loops without
recursion, large traces cost 17 bytes a node (25 with the values a recording keeps), and NumPy
reads the columns without a copy. Constants are nodes too (their value sits in ``literal``) but
print as literals: ``v2 = 2 * v1``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from adcli import callable_module
from adcli.primitives import CONST, INPUT, PRIMITIVES, Primitive, operations

if TYPE_CHECKING:
    from adcli.optimize import Optimization

NO_ARG = -1

#: array.array type codes of the columns op, arg0, arg1 and of a trace's values: 25 bytes a node.
COLUMN_TYPES = "bqqd"


class Control(NamedTuple):
    """A comparison (``if x > 0``, ``while n < x``) or a count (``range(math.floor(x))``) of a
    function file that a traced value decided: its line, the node compared and what it was compared
    with (a node, or ``constant`` when ``other`` is NO_ARG)."""

    line: int
    text: str
    node: int
    other: int
    constant: float
    is_count: bool  # a whole number used as a count or an index, not a comparison
    relation: str = ""  # the comparison's operator as the program applied it (node relation other), "" unknown
    outcome: bool = True  # what the comparison gave at the recording point


@dataclass(eq=False, repr=False)
class Trace:
    """Inputs, ordered equations and outputs of one recorded computation."""

    source: str = ""
    op: array = field(default_factory=lambda: array(COLUMN_TYPES[0]))  # opcode per node (INPUT, CONST or a primitive)
    arg0: array = field(default_factory=lambda: array(COLUMN_TYPES[1]))  # first argument node, or NO_ARG
    arg1: array = field(default_factory=lambda: array(COLUMN_TYPES[2]))  # second argument node, or NO_ARG
    literal: dict[int, float] = field(default_factory=dict)  # value of each constant node
    literal_label: dict[int, str] = field(default_factory=dict)  # 'pi' for named constants
    inputs: list[int] = field(default_factory=list)  # node of each input, in input order
    input_names: list[str] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the recording depended on (branches taken)
    controls: list[Control] = field(default_factory=list)  # function files: the comparisons and counts
    # function files: the program itself, run on plain numbers (the flattened point -> every output)
    program: Callable[[list[float]], list[float]] | None = field(default=None, repr=False)
    # function files: the node at which each pass through a loop header of the function's body began
    # (one iteration of its main loop each, the loop's end last), and those loops' lines
    iterations: list[int] = field(default_factory=list)
    loop_lines: list[int] = field(default_factory=list)
    # function files traced with their sources: the file line of each node (0: none) and the name of
    # the variable the code assigned it to, where it did (``q = x + y`` on line 2: line 2, "q")
    lines: array | None = field(default=None, repr=False)
    variables: dict[int, str] = field(default_factory=dict)
    recorded_at: list[float] | None = None  # a traced function's point, whose values are recorded_values
    recorded_values: array | None = field(default=None, repr=False)
    optimization: Optimization | None = None  # an optimised trace's: what adcli.optimize removed
    _const_cache: dict = field(default_factory=dict, repr=False)  # constant value -> its node

    # ------------------------------------------------------------------ building
    def add_input(self, name: str) -> int:
        node = self._append(INPUT, NO_ARG, NO_ARG)
        self.inputs.append(node)
        self.input_names.append(name)
        return node

    def add_const(self, value: float, label: str | None = None) -> int:
        """A constant node; equal constants share one node (except signed zeros, kept apart)."""
        key = constant_key(value)
        if label is None and key in self._const_cache:
            return self._const_cache[key]
        node = self._append(CONST, NO_ARG, NO_ARG)
        self.literal[node] = value
        if label is None:
            self._const_cache[key] = node
        else:
            self.literal_label[node] = label
        return node

    def add_op(self, primitive: Primitive, a: int, b: int = NO_ARG) -> int:
        """An operation node: ``primitive`` applied to nodes ``a`` (and ``b``)."""
        return self._append(primitive.opcode, a, b)

    def add_output(self, node: int, name: str) -> None:
        self.outputs.append(node)
        self.output_names.append(name)

    def _append(self, opcode: int, a: int, b: int) -> int:
        self.op.append(opcode)
        self.arg0.append(a)
        self.arg1.append(b)
        return len(self.op) - 1

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.op)

    @property
    def operation_count(self) -> int:
        """Number of elementary operations (nodes that are neither inputs nor constants)."""
        return len(self.op) - len(self.inputs) - len(self.literal)

    def args(self, node: int) -> tuple[int, ...]:
        a, b = self.arg0[node], self.arg1[node]
        return () if a == NO_ARG else (a,) if b == NO_ARG else (a, b)

    def primitive(self, node: int) -> Primitive | None:
        return PRIMITIVES[self.op[node]]

    def active(self) -> list[bool]:
        """Per node: does its value depend on an input? (Constants and their combinations do not.)"""
        op, arg0, arg1 = self.op, self.arg0, self.arg1
        flags = [False] * len(op)
        for i, code in enumerate(op):
            if code == INPUT:
                flags[i] = True
            elif code != CONST:
                b = arg1[i]
                flags[i] = flags[arg0[i]] or (b != NO_ARG and flags[b])
        return flags

    def needed(self, outputs: Iterable[int] | None = None) -> list[bool]:
        """Per node: does an output (of ``outputs``, default all) depend on it? (A value used only to
        decide a branch does not.)"""
        flags = [False] * len(self.op)
        for o in self.outputs if outputs is None else outputs:
            flags[o] = True
        arg0, arg1 = self.arg0, self.arg1
        for i in range(len(self.op) - 1, -1, -1):
            if flags[i] and arg0[i] != NO_ARG:
                flags[arg0[i]] = True
                if arg1[i] != NO_ARG:
                    flags[arg1[i]] = True
        return flags

    # ------------------------------------------------------------------ printing
    def names(self, prefix: str = "v") -> list[str]:
        """How each node prints: ``v1``, ``v2`` … for inputs and operations, the literal for constants
        (with ``prefix=""``, the numbers ``1``, ``2`` … of the ``v``).

        Built in runs between constants (``"v{}".format`` mapped over a range), not node by node:
        long traces hold few constants, and this runs in their per-node output."""
        numbered = (prefix + "{}").format
        names: list[str] = []
        counter = 1
        for node in sorted(self.literal):
            run = node - len(names)
            names += map(numbered, range(counter, counter + run))
            counter += run
            names.append(self.literal_label.get(node) or format_literal(self.literal[node]))
        names += map(numbered, range(counter, counter + len(self.op) - len(names)))
        return names

    def equation_text(self, node: int, names: list[str], input_name: dict[int, str]) -> str:
        """The right-hand side of a node's equation: ``x`` for an input, ``sin(v1)`` for an operation."""
        code = self.op[node]
        if code == INPUT:
            return input_name[node]
        primitive = PRIMITIVES[code]
        return primitive.call_text([names[a] for a in self.args(node)])

    def equation_texts(self, names: list[str]) -> list[str]:
        """:meth:`equation_text` of every node at once (a constant's is its literal): one template
        per opcode formatted in a list comprehension, for the per-node output of long traces."""
        templates = ["", ""] + [primitive.call_template for primitive in operations()]
        texts = [templates[code].format(names[a], names[b]) for code, a, b in zip(self.op, self.arg0, self.arg1)]
        for node, name in zip(self.inputs, self.input_names):
            texts[node] = name
        for node in self.literal:
            texts[node] = names[node]
        return texts

    def label(self, node: int, names: list[str] | None = None, input_name: dict[int, str] | None = None) -> str:
        """A node as messages name it: ``v3 = log(v2)``. (``names`` and ``input_name`` save working
        them out again when labelling many nodes.)"""
        names = self.names() if names is None else names
        input_name = self.input_name_of() if input_name is None else input_name
        return f"{names[node]} = {self.equation_text(node, names, input_name)}"

    def source_of(self, node: int) -> str:
        """Where a node of a function file came from: ``2: q`` (line and variable), ``2`` (a line
        whose code named no variable for it), or "" (no line known: an expression)."""
        line = self.lines[node] if self.lines is not None else 0
        if not line:
            return ""
        variable = self.variables.get(node)
        return f"{line}: {variable}" if variable else str(line)

    def input_name_of(self) -> dict[int, str]:
        return dict(zip(self.inputs, self.input_names))

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        from adcli.api import trace_html

        return trace_html(self)

    def text(self) -> str:
        """The Wengert list as text, one equation per line, then the outputs."""
        names = self.names()
        input_name = self.input_name_of()
        lines = [self.label(i, names, input_name)
                 for i, code in enumerate(self.op) if code != CONST]
        lines.append("return " + ", ".join(names[o] for o in self.outputs))
        return "\n".join(lines)


def constant_key(value: float):
    """The key under which equal constants share a node: 0.0 == -0.0, yet they differ."""
    return value if value else (value, math.copysign(1.0, value))


def format_literal(value: float) -> str:
    """A constant as it reads best: ``2`` rather than ``2.0``, ``0.5``, ``1e-08``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return "-0" if math.copysign(1.0, value) < 0 and value == 0 else str(int(value))
    return repr(value)


def compose(trace: Trace, depth: int) -> Trace:
    """f∘f∘…∘f (``depth`` times) of a one-input, one-output trace, built node by node so the
    result grows linearly with the depth."""
    nested = Trace(source=f"{trace.source} nested {depth} times")
    current = nested.add_input(trace.input_names[0])
    for _ in range(depth):
        mapped = [NO_ARG] * len(trace)
        for i, code in enumerate(trace.op):
            if code == INPUT:
                mapped[i] = current
            elif code == CONST:
                mapped[i] = nested.add_const(trace.literal[i], trace.literal_label.get(i))
            else:
                b = trace.arg1[i]
                mapped[i] = nested.add_op(PRIMITIVES[code], mapped[trace.arg0[i]], NO_ARG if b == NO_ARG else mapped[b])
        current = mapped[trace.outputs[0]]
    nested.add_output(current, trace.output_names[0])
    return nested


callable_module(__name__)  # adcli.trace(…) is adcli.api's
