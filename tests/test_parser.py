"""The expression language: precedence, associativity, outputs, inputs, constants, the text form of
the trace, and the exact text of every syntax error."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from adcli import InputError, parse
from adcli.evaluate import evaluate


def values_of(source: str, **at: float) -> list[float]:
    """The value of each output of ``source`` with the inputs set from ``at``."""
    trace = parse(source)
    values = evaluate(trace, [at[name] for name in trace.input_names])
    return [values[node] for node in trace.outputs]


def value_of(source: str, **at: float) -> float:
    (value,) = values_of(source, **at)
    return value


def syntax_error(source: str) -> str:
    with pytest.raises(InputError) as caught:
        parse(source)
    return str(caught.value)


# ---------------------------------------------------------------- precedence and associativity

@pytest.mark.parametrize(
    ("source", "at", "expected"),
    [
        ("-x^2", {"x": 3.0}, -9.0),  # -(x^2), not (-x)^2
        ("(-x)^2", {"x": 3.0}, 9.0),
        ("-2^2", {}, -4.0),
        ("2^3^2", {}, 512.0),  # 2^(3^2) = 2^9, right-associative
        ("(2^3)^2", {}, 64.0),
        ("2**3**2", {}, 512.0),  # ** is the same operator as ^
        ("2^-1", {}, 0.5),  # unary minus in an exponent
        ("2^-1^2", {}, 0.5),  # 2^(-(1^2))
        ("2*-3", {}, -6.0),
        ("--2", {}, 2.0),
        ("+2", {}, 2.0),
        ("8-3-2", {}, 3.0),  # (8-3)-2, left-associative
        ("64/4/2", {}, 8.0),  # (64/4)/2
        ("x-y-z", {"x": 10.0, "y": 3.0, "z": 2.0}, 5.0),
        ("x/y/z", {"x": 64.0, "y": 4.0, "z": 2.0}, 8.0),
        ("2+3*4", {}, 14.0),
        ("2*3+4", {}, 10.0),
        ("2*3^2", {}, 18.0),
        ("2^3*2", {}, 16.0),
        ("12/2*3", {}, 18.0),  # (12/2)*3
        ("1-2+3", {}, 2.0),  # (1-2)+3
        ("pow(2, 3)", {}, 8.0),
        (".5 + 2. + 1E3 + 1.5e-3", {}, 1002.5015),
    ],
)
def test_precedence_and_associativity(source, at, expected):
    """Operators bind as in mathematics."""
    assert value_of(source, **at) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(("power", "star"), [("x^y", "x**y"), ("2^x^y", "2**x**y"), ("-x^2", "-x**2")])
def test_double_star_is_caret(power, star):
    """`**` and `^` give the same trace."""
    assert parse(power).text() == parse(star).text()


def test_unary_minus_binds_looser_than_power_in_trace():
    """-x^2 squares first, then negates."""
    assert parse("-x^2").text() == "v1 = x\nv2 = v1 ^ 2\nv3 = -v2\nreturn v3"


def test_left_associative_subtraction_in_trace():
    """x-y-z is (x-y)-z."""
    assert parse("x-y-z").text() == "v1 = x\nv2 = y\nv3 = z\nv4 = v1 - v2\nv5 = v4 - v3\nreturn v5"


# ---------------------------------------------------------------- outputs, inputs, constants

def test_several_outputs_at_top_level_commas():
    """Top-level commas separate outputs; each output keeps its own source text as its name."""
    trace = parse("x*y, sin(x)+y")
    assert trace.output_names == ["x*y", "sin(x)+y"]
    x, y = 0.5, 2.0
    assert values_of("x*y, sin(x)+y", x=x, y=y) == pytest.approx([x * y, math.sin(x) + y], rel=1e-15)


def test_commas_inside_calls_are_arguments():
    """The comma in max(x, y) separates arguments, not outputs."""
    trace = parse("max(x, y), x")
    assert trace.output_names == ["max(x, y)", "x"]
    assert values_of("max(x, y), x", x=1.0, y=4.0) == [4.0, 1.0]


@pytest.mark.parametrize(
    ("source", "inputs"),
    [
        ("b*a+c*a", ["b", "a", "c"]),
        ("y + x*y", ["y", "x"]),
        ("x1+x_2+_a", ["x1", "x_2", "_a"]),
        ("sin(t) + exp(s) + t", ["t", "s"]),
        ("pi*r^2 + e", ["r"]),  # pi and e are constants, not inputs
        ("2+3", []),
    ],
)
def test_inputs_numbered_by_first_appearance(source, inputs):
    """Inputs are v1, v2, … in order of first appearance; function names and constants are not inputs."""
    trace = parse(source)
    assert trace.input_names == inputs
    assert trace.text().splitlines()[: len(inputs)] == [f"v{k + 1} = {name}" for k, name in enumerate(inputs)]


@pytest.mark.parametrize(("source", "expected"), [("pi", math.pi), ("e", math.e), ("2*pi", 2 * math.pi),
                                                  ("e^2", math.e**2), ("sin(pi/2)", 1.0)])
def test_constants(source, expected):
    """pi and e are the mathematical constants."""
    assert value_of(source) == pytest.approx(expected, rel=1e-15)


# ---------------------------------------------------------------- the text form

def test_text_form_of_the_lesson_example():
    """The Wengert list of x*exp(y)-sin(x), one equation per line."""
    assert parse("x*exp(y)-sin(x)").text() == (
        "v1 = x\n"
        "v2 = y\n"
        "v3 = exp(v2)\n"
        "v4 = v1 * v3\n"
        "v5 = sin(v1)\n"
        "v6 = v4 - v5\n"
        "return v6"
    )


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("2*x", "v1 = x\nv2 = 2 * v1\nreturn v2"),
        ("x^2 + 3*x", "v1 = x\nv2 = v1 ^ 2\nv3 = 3 * v1\nv4 = v2 + v3\nreturn v4"),
        ("0.5*x - 1.5e-3", "v1 = x\nv2 = 0.5 * v1\nv3 = v2 - 0.0015\nreturn v3"),
        ("2*pi*x", "v1 = x\nv2 = 2 * pi\nv3 = v2 * v1\nreturn v3"),
        ("x*e", "v1 = x\nv2 = v1 * e\nreturn v2"),
        ("x*y, sin(x)+y", "v1 = x\nv2 = y\nv3 = v1 * v2\nv4 = sin(v1)\nv5 = v4 + v2\nreturn v3, v5"),
        ("pow(x, 3)", "v1 = x\nv2 = v1 ^ 3\nreturn v2"),
        ("max(x, 0)", "v1 = x\nv2 = max(v1, 0)\nreturn v2"),
    ],
)
def test_text_form_prints_constants_as_literals(source, text):
    """Constants are not numbered nodes: they print as literals inside the equations."""
    assert parse(source).text() == text


# ---------------------------------------------------------------- syntax errors

@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("2x",
         "syntax error at column 2: missing operator between '2' and 'x' (write 2*x)\n  2x\n   ^"),
        ("x y",
         "syntax error at column 3: missing operator between 'x' and 'y' (write x*y)\n  x y\n    ^"),
        ("sn(x)",
         "syntax error at column 1: unknown function 'sn'; did you mean 'sin'?\n  sn(x)\n  ^"),
        ("x + exq(y)",
         "syntax error at column 5: unknown function 'exq'; did you mean 'exp'?\n  x + exq(y)\n      ^"),
        ("x.real",
         "syntax error at column 2: unexpected '.': attribute access is not part of the expression language"
         "\n  x.real\n   ^"),
        ('"a"+x',
         "syntax error at column 1: unexpected '\"': strings are not part of the expression language"
         "\n  \"a\"+x\n  ^"),
        ("__import__('os')",
         "syntax error at column 12: unexpected \"'\": strings are not part of the expression language"
         "\n  __import__('os')\n             ^"),
        ("__import__(x)",
         "syntax error at column 1: unknown function '__import__'\n  __import__(x)\n  ^"),
        ("lambda x: x",
         "syntax error at column 9: unexpected ':': lambdas and slices are not part of the expression language"
         "\n  lambda x: x\n          ^"),
        ("w[0]",
         "syntax error at column 2: unexpected '[': subscripts are not part of the expression language"
         "\n  w[0]\n   ^"),
        ("x = 1",
         "syntax error at column 3: unexpected '=': assignments and comparisons are not part of the "
         "expression language\n  x = 1\n    ^"),
        ("sin(x, y)",
         "syntax error at column 1: sin() takes 1 argument, got 2\n  sin(x, y)\n  ^"),
        ("sin()",
         "syntax error at column 1: sin() takes 1 argument, got 0\n  sin()\n  ^"),
        ("max(x)",
         "syntax error at column 1: max() takes 2 arguments, got 1\n  max(x)\n  ^"),
        ("x + max(x, y, z)",
         "syntax error at column 5: max() takes 2 arguments, got 3\n  x + max(x, y, z)\n      ^"),
        ("pow(x)",
         "syntax error at column 1: pow() takes 2 arguments, got 1\n  pow(x)\n  ^"),
        ("(x+1",
         "syntax error at column 1: '(' is never closed\n  (x+1\n  ^"),
        ("x + (y * 2",
         "syntax error at column 5: '(' is never closed\n  x + (y * 2\n      ^"),
        ("sin(x",
         "syntax error at column 1: 'sin(' is never closed\n  sin(x\n  ^"),
        ("x+1)",
         "syntax error at column 4: ')' has no matching '('\n  x+1)\n     ^"),
        ("x+",
         "syntax error at column 3: the expression ends too early\n  x+\n    ^"),
        ("x*",
         "syntax error at column 3: the expression ends too early\n  x*\n    ^"),
        ("x**",
         "syntax error at column 4: the expression ends too early\n  x**\n     ^"),
        ("*x",
         "syntax error at column 1: expected a number, a name or '(' but found '*'\n  *x\n  ^"),
        ("x,",
         "syntax error at column 2: an output is missing after the last ','\n  x,\n   ^"),
        ("(x, y)",
         "syntax error at column 3: ',' inside parentheses: only function calls take several arguments"
         "\n  (x, y)\n    ^"),
        ("sin",
         "syntax error at column 1: 'sin' is a function: write sin(...)\n  sin\n  ^"),
        ("pi(x)",
         "syntax error at column 1: 'pi' is not a function\n  pi(x)\n  ^"),
    ],
)
def test_syntax_error_messages(source, message):
    """Every syntax error names the column and puts a caret under it."""
    assert syntax_error(source) == message


@pytest.mark.parametrize("source", ["", "   ", "\n\t"])
def test_empty_input(source):
    """Empty input has nothing to point at: a plain message."""
    assert syntax_error(source) == "the expression is empty"


def test_caret_points_at_the_column_in_a_long_expression():
    """A long expression is cut to a window, and the caret still sits under the offending character."""
    source = "x+" * 100 + "2y"  # the missing operator is between '2' and 'y', at 0-based column 201
    message = syntax_error(source)
    first, shown, caret = message.split("\n")
    assert first == "syntax error at column 202: missing operator between '2' and 'y' (write 2*y)"
    assert shown.startswith("  …") and len(shown) < 100
    assert caret.strip() == "^"
    assert shown[caret.index("^")] == "y"


def test_rejected_constructs_are_never_executed(tmp_path: Path):
    """Python in an expression is a syntax error and has no side effect."""
    marker = tmp_path / "pwned"
    with pytest.raises(InputError):
        parse(f"__import__('os').system('touch {marker}')")
    assert not marker.exists()
