"""The expression language: a hand-written operator-precedence (shunting-yard) parser.

It never hands text to ``eval``, and it keeps its own stacks instead of recursing, so machine-made
input with 100,000 terms or 10,000 levels of nesting parses in linear time. It emits trace nodes
directly; there is no intermediate syntax tree.

Grammar, loosest binding first: ``,`` between outputs; ``+ -`` (left); ``* /`` (left); unary ``-``
and ``+``; ``^`` and ``**`` (right, so ``2^3^2`` is 512 and ``-x^2`` is ``-(x^2)``); then numbers,
names, the constants ``pi`` and ``e``, calls ``f(a, b)`` and parentheses.

The main loop works on token strings from one ``re.findall`` and keeps tuples on its operator
stack; a token's column is worked out only when there is an error to point at.
"""

from __future__ import annotations

import re

from adcli import accelerator
from adcli.errors import InputError, caret_message
from adcli.primitives import BY_NAME, CONST, CONSTANTS, FUNCTIONS, INPUT, PRIMITIVES, primitive_of
from adcli.trace import NO_ARG, Trace, constant_key

# Operators first (the commonest tokens; ``**`` before ``*``), then names, numbers, and any other
# single character, which the parser reports.
# All patterns are ASCII-only ((?a)): \d is 0-9 and \s is ASCII whitespace, as in the grammar and the
# C parser, so '1١' or a no-break space is an unexpected character, not the number 11 or a space.
_TOKEN = (r"(?a)\*\*|[-+*/^(),]|[A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?"
          r"|\.\d+(?:[eE][+-]?\d+)?|\S")
_NUMBER_START = frozenset("0123456789.")
_INFINITY = float("inf")
_NAME_NOT_CALLED = r"(?a)(?<![\w.])([A-Za-z_][A-Za-z_0-9]*)(?!\s*\(|[A-Za-z_0-9])"
_FOREIGN = r"(?a)[^\w\s.+\-*/^(),]"  # characters that cannot occur in any token
# (Patterns go through re's own cache: the C parser handles well-formed text without them, so a
# run that never needs them never compiles them.)

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

# Operator-stack entries are tuples (precedence, opcode, token index). Open parentheses and calls
# have precedence 0, so no operator reduces past them.
_BINARY = {  # token -> (precedence, opcode, right-associative)
    "+": (1, BY_NAME["add"].opcode, False),
    "-": (1, BY_NAME["sub"].opcode, False),
    "*": (2, BY_NAME["mul"].opcode, False),
    "/": (2, BY_NAME["div"].opcode, False),
    "^": (4, BY_NAME["pow"].opcode, True),
    "**": (4, BY_NAME["pow"].opcode, True),
}
_NEGATE = (3, BY_NAME["neg"].opcode)
_PAREN = -1  # the opcode slot of an open parenthesis
_CALL_OPCODES = {p.opcode: p for p in FUNCTIONS.values()}
_UNARY_OPCODES = frozenset(p.opcode for p in BY_NAME.values() if p.arity == 1)

# the fast path (the C parser, when built) parses with these same tables
accelerator.set_grammar(_BINARY, _NEGATE, {name: p.opcode for name, p in FUNCTIONS.items()},
                        [0 if p is None else p.arity for p in PRIMITIVES], CONSTANTS, INPUT, CONST)


# Formulas as people write them (issue 16): these characters are read as their ASCII meaning.
_UNICODE_OPERATORS = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u00f7": "/"}
_SUPERSCRIPTS = dict(zip("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207a\u207b",
                         "0123456789+-"))
# What to type instead of other characters that look like operators.
_UNICODE_HINTS = {
    "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\u22c5": "*", "\u2219": "*", "\u2217": "*",
    "\u2715": "*", "\u2a2f": "*", "\u2215": "/", "\u2044": "/", "\u221a": "sqrt(...)",
    "\u221e": "a finite number", "\u2264": "(comparisons are not part of the language)",
    "\u2265": "(comparisons are not part of the language)",
}


def _ascii_spelling(source: str) -> tuple[str, list[int]]:
    """``source`` with −, ×, ·, ÷, superscripts (x², x⁻¹), π and |x| in their ASCII spelling
    (-, *, *, /, x^2, x^-1, pi, abs(x)), and for each column of the result, the column of ``source``
    it comes from (errors point into the text as typed). Any other character is kept, for the
    parser to reject with a hint."""
    out: list[str] = []
    columns: list[int] = []

    def emit(text: str, column: int) -> None:
        out.append(text)
        columns.extend([column] * len(text))

    i, n = 0, len(source)
    open_bars = 0
    while i < n:
        char = source[i]
        if char in _UNICODE_OPERATORS:
            emit(_UNICODE_OPERATORS[char], i)
        elif char in _SUPERSCRIPTS:
            j = i
            while j < n and source[j] in _SUPERSCRIPTS:
                j += 1
            emit("^(" if j - i > 1 else "^", i)
            for k in range(i, j):
                emit(_SUPERSCRIPTS[source[k]], k)
            if j - i > 1:
                emit(")", j - 1)
            i = j
            continue
        elif char == "\u03c0":  # π: a space keeps it apart from a neighbouring name or number
            before = " " if out and (out[-1][-1:].isalnum() or out[-1][-1:] == "_") else ""
            after = " " if i + 1 < n and (source[i + 1].isalnum() or source[i + 1] == "_") else ""
            emit(f"{before}pi{after}", i)
        elif char == "|":  # an opening bar where an operand is expected or none is open (2|x|), else closing
            previous = "".join(out).rstrip()
            opening = (not previous or previous[-1] in "+-*/^(," or not open_bars and "|" in source[i + 1:])
            open_bars += 1 if opening else -1
            apart = " " if opening and out and (out[-1][-1:].isalnum() or out[-1][-1:] == "_") else ""
            emit(apart + "abs(" if opening else ")", i)
        else:
            emit(char, i)
        i += 1
    return "".join(out), columns


def _unicode_hint(char: str) -> str:
    """What to type instead of a character outside the language, for the error message."""
    import unicodedata

    name = unicodedata.name(char, "")
    instead = _UNICODE_HINTS.get(char)
    if instead is None and name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
        letter = name.split("LETTER ", 1)[1].lower()
        instead = letter if name.startswith("GREEK SMALL") else letter.capitalize()
    if instead is None:
        return f"{char!r}: {char!r} is not part of the expression language"
    return f"{char!r}: type {instead} instead ({char!r} is U+{ord(char):04X} {name})"


def parse(source: str) -> Trace:
    """Parse an expression (several outputs separated by top-level commas) into a trace.

    Inputs are numbered in order of first appearance. Raises :class:`InputError` with the
    expression and a caret under the offending column.

    With the C extension, a well-formed expression is parsed by the same loop in C; anything else
    comes here, and the Python parser below finds and words the mistake.
    """
    fast = accelerator.parse_fast(source)
    return _Parser(source).run() if fast is None else _trace_from(source, *fast)


def _trace_from(source: str, columns, literal, literal_label, inputs, input_names, outputs, output_names) -> Trace:
    """The trace the C parser built, in the Python parser's form."""
    trace = Trace(source=source, literal=literal, literal_label=literal_label, inputs=inputs,
                  input_names=input_names, outputs=outputs, output_names=output_names)
    trace.op, trace.arg0, trace.arg1, _ = columns
    trace._const_cache = {constant_key(v): node for node, v in literal.items() if node not in literal_label}
    return trace


class _Parser:
    def __init__(self, source: str) -> None:
        self.typed = source  # the text as typed; self.source is its ASCII spelling
        self._typed_columns: list[int] | None = None
        if not source.isascii() or "|" in source:
            source, self._typed_columns = _ascii_spelling(source)
        self.source = source
        self.tokens: list[str] = re.findall(_TOKEN, source)
        self.trace = Trace(source=source)
        self._columns: list[int] | None = None

    # ------------------------------------------------------------------ columns and errors
    def column(self, index: int) -> int:
        """The 0-based column of token ``index`` (the end of the text for index = len(tokens))."""
        if index >= len(self.tokens):
            return len(self.source.rstrip())
        if self._columns is None:  # worked out once, only for errors and several outputs
            self._columns = [match.start() for match in re.finditer(_TOKEN, self.source)]
        return self._columns[index]

    def fail(self, message: str, index: int) -> InputError:
        return self.fail_at(message, self.column(index))

    def fail_at(self, message: str, column: int) -> InputError:
        """The error at ``column`` of the ASCII spelling, shown under the text as typed."""
        if self._typed_columns is not None:
            column = self._typed_columns[column] if column < len(self._typed_columns) else len(self.typed.rstrip())
            if self.typed[column:column + 1] == "|":  # a bar of |x|, read as abs( or )
                message = message.replace("'abs(' is never closed", "'|' is never closed").replace(
                    "')' has no matching '('", "'|' has no matching '|'")
                message = re.sub(r"and 'abs'(?: \(write (.*)\*abs\))?$",
                                 lambda m: "and '|'" + (f" (write {m[1]}*|...|)" if m[1] else ""), message)
            if self.typed[:column].rstrip().endswith("|"):  # after a closing bar, read as ')'
                message = message.replace("between ')'", "between '|'")
        return InputError(caret_message(f"syntax error at column {column + 1}: {message}", self.typed, column))

    def _check_characters(self) -> None:
        """Reject the first character that has no place anywhere in the language (quotes, brackets …)."""
        bad = re.search(_FOREIGN, self.source)
        if bad is not None:
            char = bad.group()
            if not char.isascii():
                raise self.fail_at(f"unexpected {_unicode_hint(char)}", bad.start())
            hint = _HINTS.get(char, f"{char!r} is not part of the expression language")
            raise self.fail_at(f"unexpected {char!r}: {hint}", bad.start())

    # ------------------------------------------------------------------ main loop
    def run(self) -> Trace:
        tokens, trace = self.tokens, self.trace
        if not tokens:
            raise InputError("the expression is empty")
        self._check_characters()
        inputs = self._declare_inputs()
        operands: list[int] = []
        operators: list[tuple] = []
        call_arguments: list[int] = []  # completed arguments of each open call, innermost last
        binary, negate, paren, unary = _BINARY, _NEGATE, _PAREN, _UNARY_OPCODES
        ops = trace.op
        push_op, push_arg0, push_arg1 = ops.append, trace.arg0.append, trace.arg1.append
        expect_operand = True
        output_start = 0  # token index where the current output begins
        count = len(tokens)
        i = 0
        while i < count:
            token = tokens[i]
            if expect_operand:
                node = inputs.get(token)
                if node is not None:
                    operands.append(node)
                    expect_operand = False
                elif token[0] in _NUMBER_START and token != ".":  # a lone '.' is not a number
                    value = float(token)
                    if value == _INFINITY:
                        raise self.fail(f"the number {token} is too large for a float", i)
                    operands.append(trace.add_const(value))
                    expect_operand = False
                elif token == "(":
                    operators.append((0, paren, i))
                elif token == "-":
                    operators.append((*negate, i))
                elif token == "+":
                    pass  # unary plus changes nothing
                elif i + 1 < count and tokens[i + 1] == "(":
                    operators.append((0, self._function(token, i).opcode, i))
                    call_arguments.append(0)
                    i += 1  # the call's '(' is part of the call
                elif token in CONSTANTS:
                    operands.append(trace.add_const(CONSTANTS[token], label=token))
                    expect_operand = False
                else:
                    raise self._unexpected_operand(token, i, operators)
            else:
                entry = binary.get(token)
                if entry is not None:
                    precedence, code, right = entry
                    while operators and (operators[-1][0] > precedence or
                                         (operators[-1][0] == precedence and not right)):
                        top = operators.pop()[1]  # apply it (the hot path of self._apply, inlined)
                        push_op(top)
                        if top in unary:
                            push_arg0(operands[-1])
                            push_arg1(NO_ARG)
                        else:
                            push_arg1(operands.pop())
                            push_arg0(operands[-1])
                        operands[-1] = len(ops) - 1
                    operators.append((precedence, code, i))
                    expect_operand = True
                elif token == ")":
                    self._close(i, operands, operators, call_arguments)
                elif token == ",":
                    if self._comma(i, operands, operators, call_arguments):  # it ends an output
                        self._finish_output(output_start, i, operands, operators)
                        output_start = i + 1
                    expect_operand = True
                else:
                    raise self._missing_operator(i)
            i += 1
        if expect_operand:
            if tokens[-1] == ",":
                raise self.fail("an output is missing after the last ','", count - 1)
            if token not in "+-*/^(" and token != "**" and not token[0].isalnum():
                raise self._unexpected_operand(token, count - 1, operators)
            raise self.fail("the expression ends too early", count)
        self._finish_output(output_start, count, operands, operators)
        return trace

    def _declare_inputs(self) -> dict[str, int]:
        """Create the input nodes first, in order of first appearance, so inputs are v1 … vn."""
        names = dict.fromkeys(re.findall(_NAME_NOT_CALLED, self.source))  # ordered, duplicates dropped
        return {name: self.trace.add_input(name) for name in names if name not in CONSTANTS and name not in FUNCTIONS}

    # ------------------------------------------------------------------ reductions
    def _apply(self, code: int, operands: list[int]) -> None:
        if code in _UNARY_OPCODES:
            operands[-1] = self.trace.add_op(primitive_of(code), operands[-1])
        else:
            b = operands.pop()
            operands[-1] = self.trace.add_op(primitive_of(code), operands[-1], b)

    def _reduce_group(self, operands: list[int], operators: list[tuple]) -> tuple | None:
        """Apply pending operators down to the innermost open parenthesis or call, and return it."""
        while operators and operators[-1][0] > 0:
            self._apply(operators.pop()[1], operands)
        return operators[-1] if operators else None

    def _close(self, i: int, operands, operators, call_arguments) -> None:
        group = self._reduce_group(operands, operators)
        if group is None:
            raise self.fail("')' has no matching '('", i)
        operators.pop()
        if group[1] != _PAREN:
            self._check_arity(group, call_arguments.pop() + 1)
            self._apply(group[1], operands)

    def _comma(self, i: int, operands, operators, call_arguments) -> bool:
        """Handle a comma; returns True when it separates two outputs."""
        group = self._reduce_group(operands, operators)
        if group is None:
            return True
        if group[1] == _PAREN:
            raise self.fail("',' inside parentheses: only function calls take several arguments", i)
        call_arguments[-1] += 1
        return False

    def _finish_output(self, start: int, end: int, operands, operators) -> None:
        group = self._reduce_group(operands, operators)
        if group is not None:
            what = "'('" if group[1] == _PAREN else f"'{self.tokens[group[2]]}('"
            raise self.fail(f"{what} is never closed", group[2])
        begin = self.column(start) if start else 0
        stop = self.column(end) if end < len(self.tokens) else len(self.source)
        self.trace.add_output(operands.pop(), self.source[begin:stop].strip())

    # ------------------------------------------------------------------ messages
    def _function(self, name: str, i: int):
        primitive = FUNCTIONS.get(name)
        if primitive is None:
            if name in CONSTANTS:
                raise self.fail(f"'{name}' is not a function", i)
            if not (name[0].isalpha() or name[0] == "_"):
                raise self._unexpected_operand(name, i, [])
            from adcli.suggest import SYNONYMS, did_you_mean

            meant = SYNONYMS.get(name)
            hint = f"; write {meant}(...)" if meant else did_you_mean(name, FUNCTIONS)
            raise self.fail(f"unknown function '{name}'{hint}", i)
        return primitive

    def _check_arity(self, call: tuple, given: int) -> None:
        primitive = _CALL_OPCODES[call[1]]
        if given != primitive.arity:
            plural = "argument" if primitive.arity == 1 else "arguments"
            raise self.fail(f"{primitive.name}() takes {primitive.arity} {plural}, got {given}", call[2])

    def _unexpected_operand(self, token: str, i: int, operators: list[tuple]) -> InputError:
        if token in FUNCTIONS:
            following = self.tokens[i + 1] if i + 1 < len(self.tokens) else ""
            argument = following if following and (following[0].isalnum() or following[0] in "_.") else "..."
            return self.fail(f"'{token}' is a function: write {token}({argument})", i)
        if token == ")" and operators and operators[-1][1] != _PAREN and operators[-1][0] == 0:
            if self.tokens[i - 1] == "(":
                return self.fail(f"{_CALL_OPCODES[operators[-1][1]].name}() takes "
                                 f"{_CALL_OPCODES[operators[-1][1]].arity} argument"
                                 f"{'' if _CALL_OPCODES[operators[-1][1]].arity == 1 else 's'}, got 0",
                                 operators[-1][2])
            return self.fail("an argument is missing after ','", i)
        if len(token) == 1 and not token.isalnum() and token not in "+-*/^(),":
            hint = _HINTS.get(token, f"{token!r} is not part of the expression language")
            return self.fail(f"unexpected {token!r}: {hint}", i)
        return self.fail(f"expected a number, a name or '(' but found '{token}'", i)

    def _missing_operator(self, i: int) -> InputError:
        token, previous = self.tokens[i], self.tokens[i - 1]
        if len(token) == 1 and not token.isalnum() and token not in "+-*/^(),_":
            hint = _HINTS.get(token, f"{token!r} is not part of the expression language")
            return self.fail(f"unexpected {token!r}: {hint}", i)
        operand = previous[0] in _NUMBER_START or previous[0].isalpha() or previous[0] == "_"
        hint = f" (write {previous}*{token})" if operand and (token[0].isalnum() or token[0] == "_") else ""
        return self.fail(f"missing operator between '{previous}' and '{token}'{hint}", i)
