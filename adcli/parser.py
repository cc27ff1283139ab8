"""The expression language: a hand-written operator-precedence (shunting-yard) parser.

It never hands text to ``eval``, and it keeps its own stacks instead of recursing, so machine-made
input with 100,000 terms or 10,000 levels of nesting parses in linear time. It emits trace nodes
directly; there is no intermediate syntax tree.

Grammar, loosest binding first: ``,`` between outputs; ``+ -`` (left); ``* /`` (left); unary ``-``
and ``+``; ``^`` and ``**`` (right, so ``2^3^2`` is 512 and ``-x^2`` is ``-(x^2)``); then numbers,
names, the constants ``pi`` and ``e``, calls ``f(a, b)`` and parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adcli.errors import InputError, caret_message
from adcli.primitives import BY_NAME, CONSTANTS, FUNCTIONS, Primitive
from adcli.suggest import did_you_mean
from adcli.trace import Trace

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|[-+*/^(),]))"
)
_WHITESPACE = re.compile(r"\s*")

_HINTS = {
    ".": "attribute access is not part of the expression language",
    "[": "subscripts are not part of the expression language",
    "]": "subscripts are not part of the expression language",
    "'": "strings are not part of the expression language",
    '"': "strings are not part of the expression language",
    "=": "assignments and comparisons are not part of the expression language",
    "<": "comparisons are not part of the expression language",
    ">": "comparisons are not part of the expression language",
    ":": "lambdas and slices are not part of the expression language",
}


@dataclass(slots=True)
class _Operator:
    """An entry of the operator stack: a pending operator, an open parenthesis or an open call."""

    kind: str  # "binary", "prefix", "paren" or "call"
    position: int
    primitive: Primitive | None = None
    precedence: int = 0
    right_associative: bool = False
    argument_count: int = 0  # for calls: arguments completed so far


_BINARY = {  # token -> (primitive name, precedence, right-associative)
    "+": ("add", 1, False),
    "-": ("sub", 1, False),
    "*": ("mul", 2, False),
    "/": ("div", 2, False),
    "^": ("pow", 4, True),
    "**": ("pow", 4, True),
}
_PREFIX_PRECEDENCE = 3


def parse(source: str) -> Trace:
    """Parse an expression (several outputs separated by top-level commas) into a trace.

    Inputs are numbered in order of first appearance. Raises :class:`InputError` with the
    expression and a caret under the offending column.
    """
    return _Parser(source).run()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.trace = Trace(source=source)
        self.operands: list[int] = []
        self.operators: list[_Operator] = []
        self.input_node: dict[str, int] = {}

    def fail(self, message: str, column: int) -> InputError:
        return InputError(caret_message(f"syntax error at column {column + 1}: {message}", self.source, column))

    # ------------------------------------------------------------------ main loop
    def run(self) -> Trace:
        source = self.source
        if not source.strip():
            raise InputError("the expression is empty")
        tokens = list(self._tokens())
        self._declare_inputs(tokens)
        expect_operand = True
        output_start = 0
        index = 0
        while index < len(tokens):
            kind, text, position = tokens[index]
            index += 1
            if expect_operand:
                if kind == "name" and index < len(tokens) and tokens[index][1] == "(":
                    self._open_call(text, position)
                    index += 1  # the call's '(' is part of the call
                else:
                    expect_operand = self._operand(kind, text, position)
            elif kind == "op" and text in _BINARY:
                name, precedence, right = _BINARY[text]
                self._reduce_while(precedence, right)
                self.operators.append(_Operator("binary", position, BY_NAME[name], precedence, right))
                expect_operand = True
            elif text == ")":
                self._close(position)
            elif text == ",":
                if self._comma(position):  # a top-level comma ends one output
                    self._finish_output(output_start, position)
                    output_start = position + 1
                expect_operand = True
            else:
                previous_kind, previous, _ = tokens[index - 2]
                hint = f" (write {previous}*{text})" if previous_kind == "number" and kind == "name" else ""
                raise self.fail(f"missing operator between '{previous}' and '{text}'{hint}", position)
        if expect_operand:
            if tokens and tokens[-1][1] == ",":
                raise self.fail("an output is missing after the last ','", tokens[-1][2])
            raise self.fail("the expression ends too early", len(source.rstrip()))
        self._finish_output(output_start, len(source))
        return self.trace

    def _declare_inputs(self, tokens: list[tuple[str, str, int]]) -> None:
        """Create the input nodes first, in order of first appearance, so inputs are v1 … vn."""
        for index, (kind, text, _) in enumerate(tokens):
            if kind == "name" and text not in self.input_node and text not in CONSTANTS and text not in FUNCTIONS:
                is_call = index + 1 < len(tokens) and tokens[index + 1][1] == "("
                if not is_call:
                    self.input_node[text] = self.trace.add_input(text)

    def _tokens(self):
        source, position, end = self.source, 0, len(self.source)
        while True:
            match = _TOKEN.match(source, position)
            if match is None:
                position = _WHITESPACE.match(source, position).end()
                if position >= end:
                    return
                char = source[position]
                hint = _HINTS.get(char, f"'{char}' is not part of the expression language")
                raise self.fail(f"unexpected {char!r}: {hint}", position)
            kind = match.lastgroup
            yield kind, match.group(kind), match.start(kind)
            position = match.end()

    # ------------------------------------------------------------------ operands
    def _operand(self, kind: str, text: str, position: int) -> bool:
        """Handle a token where an operand is expected; returns whether one is still expected."""
        trace = self.trace
        if kind == "number":
            self.operands.append(trace.add_const(float(text)))
            return False
        if kind == "name":
            if text in FUNCTIONS:
                raise self.fail(f"'{text}' is a function: call it as {text}(...)", position)
            if text in CONSTANTS:
                self.operands.append(trace.add_const(CONSTANTS[text], label=text))
            else:
                self.operands.append(self.input_node[text])
            return False
        if text == "(":
            self.operators.append(_Operator("paren", position))
            return True
        if text == "-":
            self.operators.append(_Operator("prefix", position, BY_NAME["neg"], _PREFIX_PRECEDENCE, True))
            return True
        if text == "+":
            return True  # unary plus changes nothing
        if text == ")" and self.operators and self.operators[-1].kind == "call":
            call = self.operators[-1]
            if call.argument_count == 0:
                self._check_arity(call, 0)
            raise self.fail("an argument is missing after ','", position)
        raise self.fail(f"expected a number, a name or '(' but found '{text}'", position)

    def _open_call(self, name: str, position: int) -> None:
        primitive = FUNCTIONS.get(name)
        if primitive is None:
            if name in CONSTANTS or name in self.input_node:
                raise self.fail(f"'{name}' is not a function", position)
            raise self.fail(f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)}", position)
        self.operators.append(_Operator("call", position, primitive))

    # ------------------------------------------------------------------ reductions
    def _apply(self, operator: _Operator) -> None:
        primitive = operator.primitive
        if primitive.arity == 1:
            self.operands.append(self.trace.add_op(primitive, self.operands.pop()))
        else:
            b = self.operands.pop()
            a = self.operands.pop()
            self.operands.append(self.trace.add_op(primitive, a, b))

    def _reduce_while(self, precedence: int, right_associative: bool) -> None:
        operators = self.operators
        while operators and operators[-1].kind in ("binary", "prefix"):
            top = operators[-1]
            if top.precedence > precedence or (top.precedence == precedence and not right_associative):
                self._apply(operators.pop())
            else:
                break

    def _reduce_group(self) -> _Operator | None:
        """Apply pending operators down to the innermost open parenthesis or call, and return it."""
        operators = self.operators
        while operators and operators[-1].kind in ("binary", "prefix"):
            self._apply(operators.pop())
        return operators[-1] if operators else None

    def _close(self, position: int) -> None:
        group = self._reduce_group()
        if group is None:
            raise self.fail("')' has no matching '('", position)
        self.operators.pop()
        if group.kind == "call":
            self._check_arity(group, group.argument_count + 1)
            self._apply(group)

    def _comma(self, position: int) -> bool:
        """Handle a comma; returns True when it separates two outputs."""
        group = self._reduce_group()
        if group is None:
            return True
        if group.kind == "paren":
            raise self.fail("',' inside parentheses: only function calls take several arguments", position)
        group.argument_count += 1
        return False

    def _check_arity(self, call: _Operator, given: int) -> None:
        expected = call.primitive.arity
        if given != expected:
            plural = "argument" if expected == 1 else "arguments"
            raise self.fail(f"{call.primitive.name}() takes {expected} {plural}, got {given}", call.position)

    def _finish_output(self, start: int, end: int) -> None:
        group = self._reduce_group()
        if group is not None:
            what = "'('" if group.kind == "paren" else f"'{group.primitive.name}('"
            raise self.fail(f"{what} is never closed", group.position)
        node = self.operands.pop()
        self.trace.add_output(node, self.source[start:end].strip())
