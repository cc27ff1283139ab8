"""The optional C hot path (``adcli._tape``) against the pure-Python tracer it speeds up.

Both must record the same trace, values, notes and errors, node for node and bit for bit; the
C reverse sweep must give the same adjoints as the Python loop. The pure-Python side runs in a
subprocess with ``ADCLI_NO_ACCELERATOR=1`` (the choice is made once, at import).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

import adcli.evaluate
import adcli.primitives
import adcli.scalar
from adcli import accelerator
from adcli.errors import EvaluationError, InputError
from adcli.evaluate import evaluate
from adcli.parser import _Parser, parse
from adcli.primitives import FIRST_PRIMITIVE
from adcli.sweeps import forward_loop, linearize, reverse_sweep

ROOT = Path(__file__).resolve().parent.parent
ACCELERATED = accelerator.NATIVE
if ACCELERATED:
    from adcli import _tape as c_tape
needs_extension = pytest.mark.skipif(not ACCELERATED, reason="adcli._tape is not built or is switched off")

RECORD_ALL = """
import json, sys
from adcli import accelerator
from adcli.errors import AdcliError
from adcli.function_file import trace_function

results = []
for path in sys.argv[1:]:
    try:
        trace, _ = trace_function(path, {"x": 0.7, "y": -1.3})
        results.append({"op": list(trace.op), "arg0": list(trace.arg0), "arg1": list(trace.arg1), "outputs": trace.outputs,
                        "values": [repr(v) for v in trace.recorded_values], "notes": trace.notes,
                        "literal": sorted((node, repr(v)) for node, v in trace.literal.items())})
    except AdcliError as error:
        results.append({"error": str(error)})
print(json.dumps({"accelerated": accelerator.NATIVE, "results": results}))
"""


def record_all(paths: list[Path], accelerated: bool) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "ADCLI_NO_ACCELERATOR"}
    if not accelerated:
        env["ADCLI_NO_ACCELERATOR"] = "1"
    done = subprocess.run([sys.executable, "-c", RECORD_ALL, *map(str, paths)], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    output = json.loads(done.stdout)
    assert output["accelerated"] is accelerated
    return output["results"]


TRACED = ["v0", "v1"]
PLAIN = ["0.0", "-0.0", "1", "2", "0.5", "True", "1e308", "-3", "2.5", "10**400"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / {b}", "{a} ** {b}", "max({a}, {b})"]
UNARY = ["-{a}", "+{a}", "abs({a})", "math.sin({a})", "math.log({a})", "math.sqrt({a})", "math.exp({a})",
         "math.tanh({a})", "math.floor({a})", "math.acos({a})"]


def random_program(rng: random.Random) -> str:
    """A straight-line function of x and y mixing traced values, ints, floats, signed zeros and
    operations that fail (log of a negative, division by zero, overflow)."""
    names = list(TRACED)
    lines = ["import math", "", "", "def f(x, y):", "    v0, v1 = x, y"]
    for k in range(2, 2 + rng.randint(1, 10)):
        if rng.random() < 0.4:
            form, a, b = rng.choice(UNARY), rng.choice(names), ""
        else:
            form, a, b = rng.choice(BINARY), rng.choice(names + PLAIN), rng.choice(names + PLAIN)
            if a not in names and b not in names:
                a = rng.choice(names)
        lines.append(f"    v{k} = {form.format(a=a, b=b)}")
        names.append(f"v{k}")
    lines.append(f"    return {names[-1]}, {rng.choice(names)}")
    return "\n".join(lines) + "\n"


HAND_WRITTEN = {
    "chain.py": "from math import sin\n\n\ndef f(x, y):\n    for _ in range(200):\n        x = sin(x) * 1.1 + x * 0.5\n"
                "    return x\n",
    "reflected.py": "def f(x, y):\n    return 2 - x, 3 / y, True * x, 0.5 + y, -0.0 * x, x - -0.0\n",
    "branches.py": "def f(x, y):\n    if x > y:\n        return x * y\n    return x + y\n",
    "loop_branch.py": "def f(x, y):\n    while x < 5:\n        x = x * 2\n    return x\n",
    "divide_by_zero.py": "def f(x, y):\n    return x / (y - y)\n",
    "overflow.py": "import math\n\n\ndef f(x, y):\n    return math.exp(x * 1e3)\n",
    "huge_int.py": "def f(x, y):\n    return x * 10**400\n",
    "list_as_number.py": "import math\n\n\ndef f(w, x=1.0, y=2.0):\n    return math.sin(w)\n",
    "escape.py": "def f(x, y):\n    return float(x) * y\n",
    "copies.py": "import copy\nimport math\n\n\ndef f(x, y):\n    names = [g.__name__ for g in (math.sin, math.exp)]\n"
                 "    assert names == ['sin', 'exp']\n    return copy.copy(x) * 2 + copy.deepcopy([y])[0]\n",
    "caught.py": "def f(x, y):\n    try:\n        r = 1.0 / (y - y)\n    except ZeroDivisionError:\n        r = 2.0\n"
                 "    try:\n        r = r + x / 0.0\n    except ArithmeticError:\n        pass\n    return r * x\n",
    "nan_constant.py": "def f(x, y):\n    return x + float('nan')\n",
    "hand_built.py": "def f(x, y):\n    return x + type(x)(1.0, 10**6)\n",
    "numpy_scalars.py": "import numpy as np\n\n\ndef f(x, y):\n    return x * 0.5 + x * np.float32(0.5) + y * np.float64(0.25)\n",
    # x ** y: C's fast path (a positive base) and the Python path it hands the rest to
    "powers.py": "def f(x, y):\n    return x ** y + 2 ** x + x ** 2.5 + pow(x, 3) + (-x) ** 2 + (x - x) ** 2 + 10 ** -x"
                 " + (-x) ** 3 + (-x) ** -2 + (x - x) ** 0 + (-0.0 * x) ** 3\n",
    "pow_negative_base.py": "def f(x, y):\n    return (-x) ** 0.5\n",
    "pow_zero_base.py": "def f(x, y):\n    return (x - x) ** -1\n",
    "pow_overflow.py": "def f(x, y):\n    return (x + 1e10) ** 400\n",
    "pow_modulo.py": "def f(x, y):\n    return pow(x, 2, 5)\n",
    "pow_huge_int.py": "def f(x, y):\n    return x ** 10**400\n",
    "pow_list.py": "def f(x, y):\n    return x ** [y]\n",
}


def test_the_extension_is_built_where_a_c_compiler_is() -> None:
    if os.environ.get("ADCLI_NO_ACCELERATOR"):
        pytest.skip("switched off by ADCLI_NO_ACCELERATOR")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: adcli runs its pure-Python tracer")
    assert ACCELERATED, "a C compiler is on PATH, yet `pip install` did not build adcli._tape"


@needs_extension
def test_both_tracers_record_the_same_trace_values_and_errors(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    sources = dict(HAND_WRITTEN)
    sources.update({f"random_{k}.py": random_program(rng) for k in range(300)})
    paths = []
    for name, source in sources.items():
        path = tmp_path / name
        path.write_text(source)
        paths.append(path)
    fast, slow = record_all(paths, accelerated=True), record_all(paths, accelerated=False)
    for path, a, b in zip(paths, fast, slow):
        assert a == b, f"{path.name} differs:\n{path.read_text()}"
    errors = [r["error"] for r in fast if "error" in r]
    # The set covers both outcomes, and the failures name the node, as the Python path does.
    assert 50 < len(errors) < 250
    assert any("log is undefined" in e for e in errors)
    by_name = dict(zip(sources, fast))
    assert by_name["divide_by_zero.py"]["error"].endswith("line 2: v4 = v1 / v3: division by zero (v3 = 0)")
    assert "line 2: return float(x) * y: float(x) turns a traced value" in by_name["escape.py"]["error"]
    x, y = 0.7, -1.3
    powers = by_name["powers.py"]
    assert [powers["values"][o] for o in powers["outputs"]] == [repr(x ** y + 2 ** x + x ** 2.5 + pow(x, 3) + (-x) ** 2
                                                                     + 0.0 ** 2 + 10 ** -x + (-x) ** 3 + (-x) ** -2
                                                                     + 0.0 ** 0 + (-0.0) ** 3)]
    assert by_name["pow_negative_base.py"]["error"].endswith("pow is undefined at base -0.7, exponent 0.5")
    assert by_name["pow_overflow.py"]["error"].endswith("overflow, 10000000000.7 ^ 400 is too large for a float")
    assert "pow(x, y, mod) turns a traced value into a plain number" in by_name["pow_modulo.py"]["error"]
    assert by_name["pow_list.py"]["error"].endswith("TypeError: pow() of a traced value and a list")
    reflected = by_name["reflected.py"]
    assert [reflected["values"][o] for o in reflected["outputs"]] == [
        repr(2 - 0.7), repr(3 / -1.3), "0.7", repr(0.5 + -1.3), "-0.0", "0.7"]


@needs_extension
@pytest.mark.parametrize("seed", range(40))
def test_the_c_sweeps_give_the_python_adjoints_and_tangents_bit_for_bit(seed: int) -> None:
    rng = random.Random(seed)
    terms = []
    for _ in range(rng.randint(1, 30)):
        a, b = rng.choice("xyz"), rng.choice(["x", "y", "z", "0", "2.5"])
        terms.append(rng.choice([f"sin({a})*{b}", f"sqrt({a})*{b}", f"abs({a}-{b})", f"{a}^{b}",
                                 f"exp({a})/(1+{b})", f"max({a},{b})", f"tanh({a}*{b})"]))
    trace = parse("+".join(terms))
    # Defined everywhere here; zeros bring infinite partials (sqrt at 0), kinks and ties.
    at = {"x": rng.choice([0.0, 0.3]), "y": rng.choice([0.0, 2.0]), "z": rng.choice([1.0, 0.5])}
    values = evaluate(trace, [at[name] for name in trace.input_names])
    d0, d1 = linearize(trace, values)
    seed_adjoints = {trace.outputs[0]: 1.0}
    python = reverse_sweep(trace, d0, d1, seed_adjoints)  # short trace: the Python loop
    c = c_tape.reverse_sweep(trace.op, trace.arg0, trace.arg1, array("d", d0), array("d", d1),
                                       seed_adjoints, FIRST_PRIMITIVE)
    assert [repr(v) for v in c] == [repr(v) for v in python]
    # the forward sweep, seeded with a tangent per input (-0.0 and inf among them)
    tangents = {node: rng.choice([1.0, -0.0, 2.5, math.inf]) for node in trace.inputs}
    python = forward_loop(trace.op, trace.arg0, trace.arg1, d0, d1, tangents, FIRST_PRIMITIVE)
    c = c_tape.forward_sweep(trace.op, trace.arg0, trace.arg1, d0, d1, tangents, FIRST_PRIMITIVE)
    assert [repr(v) for v in c] == [repr(v) for v in python]


@needs_extension
@pytest.mark.parametrize("seed", range(40))
def test_the_c_evaluation_gives_the_python_values_bit_for_bit(seed: int, monkeypatch) -> None:
    rng = random.Random(seed)
    terms = []
    for _ in range(rng.randint(1, 12)):
        a, b = rng.choice("xyz"), rng.choice(["x", "y", "z", "0", "2.5", "-1"])
        terms.append(rng.choice([f"sin({a})*{b}", f"log({a})-{b}", f"{a}/{b}", f"{a}^{b}", f"sigmoid({a})*{b}",
                                 f"exp({a}*{b}*300)", f"max({a},{b})", f"floor({a}-{b})", f"sign({a})",
                                 f"acos({a})", f"-abs({a}-{b})", f"relu({a})+tanh({b})"]))
    trace = parse("+".join(terms))
    point = [rng.choice([0.0, 0.3, 0.7, 2.0, -1.2]) for _ in trace.inputs]

    def outcome():
        try:
            return [repr(v) for v in evaluate(trace, point)]
        except EvaluationError as error:
            return str(error)

    monkeypatch.setattr(adcli.evaluate, "LONG_TRACE", 10**12)
    python = outcome()
    monkeypatch.setattr(adcli.evaluate, "LONG_TRACE", 0)
    assert outcome() == python


@needs_extension
def test_the_c_sweeps_refuse_a_malformed_trace() -> None:
    def columns(op, arg0, arg1, d0, d1):
        return array("b", op), array("q", arg0), array("q", arg1), array("d", d0), array("d", d1)

    for sweep in (c_tape.reverse_sweep, c_tape.forward_sweep):
        name = sweep.__name__
        with pytest.raises(ValueError, match=f"{name}: a node refers to a later node"):
            sweep(*columns([0, 3], [-1, 1], [-1, -1], [0.0, 1.0], [0.0, 0.0]), {1: 1.0}, FIRST_PRIMITIVE)
        with pytest.raises(ValueError, match=f"{name}: the columns differ in length"):
            sweep(*columns([0], [-1, 0], [-1], [0.0], [0.0]), {}, FIRST_PRIMITIVE)
        with pytest.raises(ValueError, match=f"{name}: a seed names no node"):
            sweep(*columns([0], [-1], [-1], [0.0], [0.0]), {5: 1.0}, FIRST_PRIMITIVE)
        with pytest.raises(TypeError, match="d0 must be a column of 8-byte floats"):
            sweep(array("b", [0]), array("q", [-1]), array("q", [-1]), array("q", [0]), array("d", [0.0]), {},
                  FIRST_PRIMITIVE)


# ---------------------------------------------------------------- the C expression parser
def fields(trace) -> tuple:
    return (list(trace.op), list(trace.arg0), list(trace.arg1), trace.literal, trace.literal_label, trace.inputs,
            trace.input_names, trace.outputs, trace.output_names, trace._const_cache)


def random_expression(rng: random.Random, depth: int = 0) -> str:
    """A well-formed expression with every construct of the language, spaced at random."""
    space = rng.choice(["", "", " ", "\t"])
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(["x", "y", "z_1", "pi", "e", "2", "0", "0.5", "3.", ".25", "1e3", "2.5E-2", "7"])
    kind = rng.randrange(5)
    if kind == 0:
        op = rng.choice(["+", "-", "*", "/", "^", "**"])
        return f"{random_expression(rng, depth + 1)}{space}{op}{space}{random_expression(rng, depth + 1)}"
    if kind == 1:
        return f"{rng.choice(['-', '+', '--'])}{random_expression(rng, depth + 1)}"
    if kind == 2:
        return f"({space}{random_expression(rng, depth + 1)}{space})"
    if kind == 3:
        name = rng.choice(["sin", "exp", "log", "sqrt", "tanh", "abs", "sigmoid", "floor"])
        return f"{name}{space}({random_expression(rng, depth + 1)})"
    name = rng.choice(["max", "min", "pow"])
    return f"{name}({random_expression(rng, depth + 1)},{space}{random_expression(rng, depth + 1)})"


@needs_extension
def test_the_c_parser_builds_the_python_parsers_trace() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        text = ", ".join(random_expression(rng) for _ in range(rng.choice([1, 1, 2, 3])))
        fast = c_tape.parse(text)
        assert fast is not None, text
        assert fields(parse(text)) == fields(_Parser(text).run()), text


SOUP = ["x", "y", "sin", "max", "pi", "e", "(", ")", ",", "+", "-", "*", "/", "^", "**", "2", "0", "1.5e3", ".5",
        "3.", "1e400", " ", "2x", ".", "é", "[", "sin (", "1e", "1e+", "٣", "0x1p3", "_", "log(-1)"]


@needs_extension
def test_the_c_parser_leaves_every_mistake_to_the_python_parser() -> None:
    """On random token soup the C parser either builds the Python parser's trace or declines
    (returns None), and it declines exactly where the Python parser reports an error."""
    rng = random.Random(12)
    built = declined = 0
    for _ in range(20000):
        text = "".join(rng.choice(SOUP) for _ in range(rng.randint(1, 10)))
        fast = c_tape.parse(text)
        try:
            reference = _Parser(text).run()
        except InputError:
            assert fast is None, text
            declined += 1
            continue
        if text.isascii():
            assert fast is not None, text
        if fast is not None:
            assert fields(parse(text)) == fields(reference), text
            built += 1
    assert built > 1000 and declined > 10000


# Digits of other scripts and whitespace outside ASCII (issue 11, item 21): the grammar's digits and
# spaces are ASCII (the C parser's too: " \t\n\r\f\v"), so '1١' is not 11 and a no-break space no space.
FOREIGN = ["\u0661", "\u0663", "\u0968", "\uff11", "\U0001d7d9", "\u00a0", "\u2003", "\u3000", "\u2028",
           "\x85", "\u1680", "\x1c"]


@needs_extension
def test_both_parsers_refuse_a_foreign_digit_or_space_anywhere() -> None:
    """Into expressions both parsers build, one such character at a random place: the C parser
    declines, and the Python parser's error puts its caret under that character."""
    rng = random.Random(13)
    for _ in range(3000):
        text = random_expression(rng)
        where = rng.randint(0, len(text))
        char = rng.choice(FOREIGN)
        spoiled = text[:where] + char + text[where:]
        assert c_tape.parse(spoiled) is None, spoiled
        with pytest.raises(InputError) as raised:
            _Parser(spoiled).run()
        assert str(raised.value).startswith(f"syntax error at column {where + 1}: unexpected {char!r}: "), spoiled
        *_, shown, caret = str(raised.value).split("\n")
        assert shown[caret.index("^")] == (char if char.isprintable() else "\N{REPLACEMENT CHARACTER}"), spoiled


@pytest.mark.parametrize(("text", "column"), [("1\u0661", 2), ("2\u0663", 2), ("1e\u0661", 3), ("1.\u0661", 3),
                                              ("x\u00a0+1", 2), ("x\u2003*2", 2), ("x\u3000", 2)])
def test_the_python_parser_reads_ascii_digits_and_spaces_only(text, column) -> None:
    """Without the extension, too: '1١' used to read as 11 and a no-break space as a space."""
    with pytest.raises(InputError) as raised:
        _Parser(text).run()
    char = text[column - 1]
    shown = text.replace(char, char if char.isprintable() else "\N{REPLACEMENT CHARACTER}")
    assert str(raised.value) == (f"syntax error at column {column}: unexpected {char!r}: {char!r} is not part of "
                                 f"the expression language\n  {shown}\n  {' ' * (column - 1)}^")


@needs_extension
def test_the_c_parser_declines_and_the_python_parser_words_the_error() -> None:
    assert c_tape.parse("x*\u0663") is None  # non-ASCII: always the Python parser's
    with pytest.raises(InputError, match="column 3: unexpected '\u0663': '\u0663' is not part of the expression"):
        parse("x*\u0663")
    assert c_tape.parse("x*1e400") is None
    with pytest.raises(InputError, match="the number 1e400 is too large for a float"):
        parse("x*1e400")


# ---------------------------------------------------------------- found in review
def test_a_nul_byte_or_a_lone_surrogate_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(InputError, match="column 3: unexpected '\\\\x00'"):
        parse("(x\x00 1)")
    with pytest.raises(InputError, match="column 3: unexpected '\\\\udcff'"):
        parse("x+\udcff")


@needs_extension
@pytest.mark.parametrize("op, first_primitive", [([0, -3], FIRST_PRIMITIVE), ([0, -3], -5), ([0, 100], FIRST_PRIMITIVE)])
def test_the_c_evaluation_refuses_a_negative_or_unknown_opcode(op, first_primitive) -> None:
    """Called directly, a negative opcode once read before the function list (ASan: use after free)."""
    functions = adcli.primitives.functions_of(adcli.scalar)
    with pytest.raises(ValueError, match="evaluate: "):
        c_tape.evaluate(array("b", op), array("q", [-1, 0]), array("q", [-1, -1]), array("d", [1.0, 0.0]),
                                  functions, first_primitive)


@needs_extension
def test_the_c_tape_refuses_a_var_of_a_node_it_does_not_have() -> None:
    from adcli.tracer import Var

    tape = c_tape.Tape()
    tape.push(0, -1, -1, 1.0)
    with pytest.raises(IndexError, match="no such node"):
        c_tape.VarBase.__new__(Var, 1.0, 10**6, tape)
    with pytest.raises(IndexError, match="no such node"):
        c_tape.VarBase.__new__(Var, 1.0, -1, tape)


def test_a_traced_value_used_after_its_recording_is_an_error_not_a_crash() -> None:
    """A function file can keep a traced value (an atexit hook, a global) and use it later."""
    from adcli.trace import Trace
    from adcli.tracer import Recorder

    stale = Recorder(Trace()).input("x", 1.0)
    with pytest.raises(RuntimeError, match="used outside its recording"):
        stale + 1
    with pytest.raises(RuntimeError, match="used outside its recording"):
        2.5 * stale
    with pytest.raises(RuntimeError, match="used outside its recording"):
        stale < 1  # noqa: B015 - the comparison is what raises
    with pytest.raises(RuntimeError, match="used outside its recording"):
        stale ** 2
    with pytest.raises(RuntimeError, match="used outside its recording"):
        2 ** stale


def test_integer_inputs_are_traced_as_floats(tmp_path: Path) -> None:
    from adcli.function_file import trace_function

    path = tmp_path / "power.py"
    path.write_text("def f(x):\n    return x * x * x * x\n")
    trace, _ = trace_function(str(path), {"x": 12345679})
    x = 12345679.0
    assert trace.recorded_values[trace.outputs[0]] == x * x * x * x


def only_the_boundary_chooses(package: Path) -> list[str]:
    """The modules of ``package``, other than the boundary, that mention the C extension, its switch or
    whether it was chosen."""
    mention = re.compile(r"\b_tape\b|ADCLI_NO_ACCELERATOR|\bNATIVE\b|accelerator\.tape\b")
    return sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                  if path.name != "accelerator.py" and mention.search(path.read_text(encoding="utf-8")))


def test_no_module_but_the_boundary_mentions_the_c_extension(tmp_path: Path) -> None:
    assert only_the_boundary_chooses(ROOT / "adcli") == []
    (tmp_path / "sweeps.py").write_text("from adcli import _tape\n", encoding="utf-8")  # the check can fail
    (tmp_path / "tracer.py").write_text("os.environ.get('ADCLI_NO_ACCELERATOR')\n", encoding="utf-8")
    (tmp_path / "parser.py").write_text("if accelerator.NATIVE:\n    pass\n", encoding="utf-8")
    (tmp_path / "accelerator.py").write_text("from adcli import _tape\n", encoding="utf-8")
    assert only_the_boundary_chooses(tmp_path) == ["parser.py", "sweeps.py", "tracer.py"]


def test_the_boundary_exports_the_chosen_twin_of_each_hot_loop() -> None:
    import adcli.evaluate
    import adcli.sweeps
    import adcli.tracer

    chosen = {name: getattr(accelerator, name) for name in
              ("evaluate_long", "reverse_long", "forward_long", "Tape", "VarBase", "activate", "configure", "Unary")}
    if ACCELERATED:
        assert chosen == {"evaluate_long": c_tape.evaluate, "reverse_long": c_tape.reverse_sweep,
                          "forward_long": c_tape.forward_sweep,
                          "Tape": c_tape.Tape, "VarBase": c_tape.VarBase, "activate": c_tape.activate,
                          "configure": c_tape.configure, "Unary": c_tape.Unary}
        assert accelerator.parse_fast("x*2") is not None
    else:
        assert chosen == {"evaluate_long": adcli.evaluate.evaluate_loop, "reverse_long": adcli.sweeps.reverse_loop,
                          "forward_long": adcli.sweeps.forward_loop,
                          "Tape": adcli.tracer.ListTape, "VarBase": adcli.tracer.PythonVarBase,
                          "activate": adcli.tracer.activate_list_tape,
                          "configure": adcli.tracer.define_python_operators, "Unary": adcli.tracer.python_unary}
        assert accelerator.parse_fast("x*2") is None
    assert issubclass(adcli.tracer.Var, chosen["VarBase"])


@needs_extension
def test_use_switches_the_hot_loops_and_the_parser_inside_one_process() -> None:
    """accelerator.use(False) runs the same long expression through the Python parser, evaluation
    loop and reverse sweep; both sides give the same trace, values and adjoints, bit for bit."""
    import adcli.sweeps

    text = "+".join(f"sin(x)*{k}+x*0.5" for k in range(5_000))
    results = []
    try:
        for native in (True, False):
            assert accelerator.use(native) is native
            assert (accelerator.parse_fast(text) is not None) is native
            expected_loop = c_tape.reverse_sweep if native else adcli.sweeps.reverse_loop
            assert accelerator.reverse_long is expected_loop
            trace = parse(text)
            assert len(trace) >= adcli.evaluate.LONG_TRACE
            values = evaluate(trace, [0.3])
            d0, d1 = linearize(trace, values)
            adjoints = reverse_sweep(trace, d0, d1, {trace.outputs[0]: 1.0})
            results.append((bytes(trace.op), list(trace.arg0), list(values), list(adjoints)))
    finally:
        accelerator.use(True)
    assert results[0] == results[1]
    assert results[0][3][0] == pytest.approx(sum(math.cos(0.3) * k + 0.5 for k in range(5_000)), rel=1e-12)  # by hand
