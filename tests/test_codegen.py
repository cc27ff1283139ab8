"""adcli codegen and adcli.codegen.generate: the emitted Python is executed here, in a fresh namespace.

Its value and gradient must equal adcli's own (adcli.gradient) and a hand-derived formula (written
next to each case) at several points; forward and reverse code must agree; the module imports only
math and names what it was derived from. The CLI part checks exit codes and the exact error text.
"""

from __future__ import annotations

import ast
import io
import json
import math
import tokenize
from pathlib import Path

import pytest

import adcli
from adcli.analysis import load
from adcli.cli import app
from adcli.codegen import generate
from adcli.parser import parse

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NEURON = str(SAMPLES / "sigmoid_neuron.py")
LOOP = str(SAMPLES / "loop.py")
BRANCH = str(SAMPLES / "branch.py")
MODES = ("reverse", "forward")


def approx(value):
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def run(runner, args):
    """Invoke adcli; it must end through an exit code, never an unhandled exception."""
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def execute(code: str) -> dict:
    """Run the generated module in a fresh namespace (nothing of adcli in it) and return the namespace."""
    namespace: dict = {}
    exec(compile(code, "<adcli codegen>", "exec"), namespace)
    return namespace


def comments(code: str) -> list[str]:
    return [token.string for token in tokenize.generate_tokens(io.StringIO(code).readline)
            if token.type == tokenize.COMMENT]


def imported_modules(code: str) -> list[str]:
    """Every module the code imports; ``from m import n`` is reported as ``from m``."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(f"from {node.module}")
    return found


# ---------------------------------------------------------------- expressions and their hand derivatives

def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def lesson(x, y):
    """f = x e^y - sin x;  f_x = e^y - cos x;  f_y = x e^y."""
    return x * math.exp(y) - math.sin(x), (math.exp(y) - math.cos(x), x * math.exp(y))


def elementary(x, y):
    """f = x^3 / sqrt(y) + s(xy) - tanh(x/y) + atan(y) asin(x/4) + log(x+y), s the logistic sigmoid.

    f_x = 3x^2/sqrt(y) + s(1-s) y - sech^2(x/y) / y + atan(y) / (4 sqrt(1 - x^2/16)) + 1/(x+y)
    f_y = -x^3 / (2 y^(3/2)) + s(1-s) x + sech^2(x/y) x / y^2 + asin(x/4) / (1 + y^2) + 1/(x+y)
    """
    s = sigmoid(x * y)
    sech2 = 1.0 / math.cosh(x / y) ** 2
    value = x ** 3 / math.sqrt(y) + s - math.tanh(x / y) + math.atan(y) * math.asin(x / 4) + math.log(x + y)
    fx = (3 * x ** 2 / math.sqrt(y) + s * (1 - s) * y - sech2 / y
          + math.atan(y) / (4 * math.sqrt(1 - x ** 2 / 16)) + 1 / (x + y))
    fy = (-x ** 3 / (2 * y ** 1.5) + s * (1 - s) * x + sech2 * x / y ** 2
          + math.asin(x / 4) / (1 + y ** 2) + 1 / (x + y))
    return value, (fx, fy)


def powers(x, y):
    """f = x^y + 2^x - x^(-2) (x > 0);  f_x = y x^(y-1) + 2^x ln 2 + 2 x^(-3);  f_y = x^y ln x."""
    value = x ** y + 2 ** x - x ** -2
    return value, (y * x ** (y - 1) + 2 ** x * math.log(2) + 2 * x ** -3, x ** y * math.log(x))


def kinks(x, y):
    """f = max(x,y) min(x,2y) + |x-y| + relu(y-x), away from every tie, piece by piece:

    max: d/dx = [x>y], d/dy = [y>x];  min(x,2y): d/dx = [x<2y], d/dy = 2[2y<x];
    |x-y|: d/dx = sign(x-y), d/dy = -sign(x-y);  relu(y-x): d/dx = -[y>x], d/dy = [y>x].
    """
    big, small = max(x, y), min(x, 2 * y)
    big_x, big_y = (1.0, 0.0) if x > y else (0.0, 1.0)
    small_x, small_y = (1.0, 0.0) if x < 2 * y else (0.0, 2.0)
    sign = 1.0 if x > y else -1.0
    ramp = 1.0 if y > x else 0.0
    value = big * small + abs(x - y) + max(y - x, 0.0)
    fx = big_x * small + big * small_x + sign - ramp
    fy = big_y * small + big * small_y - sign + ramp
    return value, (fx, fy)


def constants(x, y):
    """f = pi x^2 + e^y - y/pi + e sin(pi x / 6);  f_x = 2 pi x + e cos(pi x/6) pi/6;  f_y = e^y - 1/pi."""
    value = math.pi * x ** 2 + math.e ** y - y / math.pi + math.e * math.sin(math.pi * x / 6)
    return value, (2 * math.pi * x + math.e * math.cos(math.pi * x / 6) * math.pi / 6, math.e ** y - 1 / math.pi)


EXPRESSIONS = {
    "lesson": ("x*exp(y)-sin(x)", lesson, [(math.pi / 3, 0.0), (1.0, 0.0), (-0.7, 1.3), (2.5, -0.4)]),
    "elementary": ("pow(x,3)/sqrt(y) + sigmoid(x*y) - tanh(x/y) + atan(y)*asin(x/4) + log(x+y)", elementary,
                   [(1.0, 2.0), (-1.5, 3.0), (0.5, 0.25), (3.2, 1.7)]),
    "powers": ("x^y + 2**x - x^(-2)", powers, [(1.5, 2.0), (0.7, -1.3), (3.0, 0.5)]),
    "kinks": ("max(x,y)*min(x,2*y) + abs(x-y) + relu(y-x)", kinks,
              [(3.0, 1.0), (1.0, 3.0), (1.5, 1.0), (-2.0, -0.5), (-0.5, -2.0)]),
    "constants": ("pi*x^2 + e^y - y/pi + e*sin(pi*x/6)", constants, [(1.0, 0.0), (-0.4, 1.2), (2.5, -0.8)]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(EXPRESSIONS))
def test_expression_code_matches_adcli_and_hand_derivative(case, mode):
    """f_grad(x, y) of the emitted module = adcli.gradient = the hand-derived formula, at every point."""
    expression, reference, points = EXPRESSIONS[case]
    trace = adcli.parse(expression)
    assert trace.input_names == ["x", "y"]  # order of first appearance: f_grad(x, y)
    namespace = execute(generate(trace, mode, "f"))
    for x, y in points:
        value, gradient = namespace["f_grad"](x, y)
        expected_value, expected_gradient = reference(x, y)
        assert value == approx(expected_value), (x, y)
        assert gradient == approx(expected_gradient), (x, y)
        ours = adcli.gradient(trace, {"x": x, "y": y})
        assert value == approx(ours.evaluated.output_values[0]), (x, y)
        assert gradient == approx((ours.gradients[0]["x"], ours.gradients[0]["y"])), (x, y)


def test_elementary_reference_agrees_with_sympy():
    """The hand derivation of the 'elementary' case, checked once against SymPy's derivative."""
    sympy = pytest.importorskip("sympy")
    x, y = sympy.symbols("x y")
    f = (x ** 3 / sympy.sqrt(y) + 1 / (1 + sympy.exp(-x * y)) - sympy.tanh(x / y)
         + sympy.atan(y) * sympy.asin(x / 4) + sympy.log(x + y))
    for px, py in EXPRESSIONS["elementary"][2]:
        at = {x: px, y: py}
        _, (fx, fy) = elementary(px, py)
        assert fx == pytest.approx(float(sympy.diff(f, x).evalf(30, subs=at)), rel=1e-13)
        assert fy == pytest.approx(float(sympy.diff(f, y).evalf(30, subs=at)), rel=1e-13)


@pytest.mark.parametrize("case", list(EXPRESSIONS))
def test_forward_and_reverse_code_agree(case):
    """The forward module (one JVP per input) and the reverse module give the same value and gradient,
    and the forward JVP along (1, 2) is the gradient dotted with (1, 2)."""
    expression, _, points = EXPRESSIONS[case]
    trace = adcli.parse(expression)
    reverse = execute(generate(trace, "reverse", "f"))
    forward = execute(generate(trace, "forward", "f"))
    for x, y in points:
        value_r, gradient_r = reverse["f_grad"](x, y)
        value_f, gradient_f = forward["f_grad"](x, y)
        assert value_f == approx(value_r)
        assert gradient_f == approx(gradient_r)
        value_j, directional = forward["f_jvp"](x, y, 1.0, 2.0)
        assert value_j == approx(value_r)
        assert directional == approx(gradient_r[0] + 2 * gradient_r[1])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(EXPRESSIONS))
def test_module_imports_only_math_and_names_its_expression(case, mode):
    expression = EXPRESSIONS[case][0]
    code = generate(adcli.parse(expression), mode, "f")
    assert imported_modules(code) == ["math"]
    assert any(expression in comment for comment in comments(code)), code
    assert any(f"{mode} mode" in comment for comment in comments(code)), code


def test_lesson_code_at_pi_over_3():
    """At x = pi/3, y = 0: value pi/3 - sqrt(3)/2, gradient (1 - cos(pi/3), pi/3) = (0.5, pi/3)."""
    namespace = execute(generate(adcli.parse("x*exp(y)-sin(x)"), "reverse", "lesson"))
    value, (dx, dy) = namespace["lesson_grad"](math.pi / 3, 0.0)
    assert value == approx(math.pi / 3 - math.sqrt(3) / 2)
    assert dx == approx(0.5)
    assert dy == approx(math.pi / 3)


# ---------------------------------------------------------------- function files

def neuron_reference(w, x):
    """s = sigmoid(w0 x0 + w1 x1 + w2); ds/dw = s(1-s) (x0, x1, 1); ds/dx = s(1-s) (w0, w1)."""
    s = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    d = s * (1 - s)
    return s, (d * x[0], d * x[1], d, d * w[0], d * w[1])


NEURON_POINTS = [([2.0, -3.0, -3.0], [-1.0, -2.0]), ([1.0, 0.5, -2.0], [0.3, -1.0]),
                 ([-0.25, 4.0, 0.75], [2.0, 0.125]), ([0.0, 0.0, 0.0], [5.0, -5.0])]


def flat(w, x) -> dict:
    return {"w[0]": w[0], "w[1]": w[1], "w[2]": w[2], "x[0]": x[0], "x[1]": x[1]}


@pytest.mark.parametrize("mode", MODES)
def test_neuron_code_with_list_parameters(mode):
    """samples/sigmoid_neuron.py traced at w=[2,-3,-3], x=[-1,-2]: neuron_grad(w, x) takes the lists and
    returns the gradient in input order w[0], w[1], w[2], x[0], x[1]. The neuron has no branch, so the
    code holds at every point: it equals adcli's gradient there and the hand formula."""
    trace, _ = load(NEURON, {"w": [2, -3, -3], "x": [-1, -2]})
    assert trace.input_names == ["w[0]", "w[1]", "w[2]", "x[0]", "x[1]"]
    code = generate(trace, mode, "neuron")
    assert imported_modules(code) == ["math"]
    assert any("sigmoid_neuron.py" in comment for comment in comments(code)), code
    namespace = execute(code)
    for w, x in NEURON_POINTS:
        value, gradient = namespace["neuron_grad"](w, x)
        expected_value, expected_gradient = neuron_reference(w, x)
        assert value == approx(expected_value)
        assert gradient == approx(expected_gradient)
        ours = adcli.gradient(trace, flat(w, x))
        assert value == approx(ours.evaluated.output_values[0])
        assert gradient == approx(tuple(ours.gradients[0][name] for name in trace.input_names))


def test_neuron_at_the_recording_point():
    """The classic numbers (CS231n): z = 1, s = sigmoid(1) = 0.7311, s(1-s) = 0.1966;
    grad w = (-0.1966, -0.3932, 0.1966), grad x = (0.3932, -0.5898)."""
    trace, _ = load(NEURON, {"w": [2, -3, -3], "x": [-1, -2]})
    value, gradient = execute(generate(trace, "reverse", "neuron"))["neuron_grad"]([2, -3, -3], [-1, -2])
    d = sigmoid(1) * (1 - sigmoid(1))
    assert value == approx(sigmoid(1))
    assert gradient == approx((-d, -2 * d, d, 2 * d, -3 * d))
    assert [round(g, 4) for g in gradient] == [-0.1966, -0.3932, 0.1966, 0.3932, -0.5898]


def test_neuron_forward_jvp_takes_list_tangents():
    """neuron_jvp(w, x, w_dot, x_dot): the directional derivative is the gradient dotted with the direction."""
    trace, _ = load(NEURON, {"w": [2, -3, -3], "x": [-1, -2]})
    namespace = execute(generate(trace, "forward", "neuron"))
    w, x = [1.0, 0.5, -2.0], [0.3, -1.0]
    w_dot, x_dot = [0.5, -1.0, 2.0], [3.0, 0.25]
    value, directional = namespace["neuron_jvp"](w, x, w_dot, x_dot)
    expected_value, gradient = neuron_reference(w, x)
    assert value == approx(expected_value)
    assert directional == approx(sum(g * t for g, t in zip(gradient, w_dot + x_dot)))


def loop_reference(x):
    """y0 = x, y_{k+1} = y_k^2 + x (5 steps);  dy_{k+1}/dx = 2 y_k dy_k/dx + 1, dy0/dx = 1."""
    y, dy = x, 1.0
    for _ in range(5):
        y, dy = y * y + x, 2 * y * dy + 1
    return y, dy


@pytest.mark.parametrize("mode", MODES)
def test_loop_file_code(mode):
    """samples/loop.py (no branch on the input) traced at x = 0.3; its code holds at other points."""
    trace, _ = load(LOOP, {"x": 0.3})
    code = generate(trace, mode, "f")
    assert imported_modules(code) == ["math"]
    assert not any("traced" in comment for comment in comments(code))  # no branch, no path caveat
    namespace = execute(code)
    for x in (0.3, -0.5, 0.7, 1.1, -1.25):
        value, (dx,) = namespace["f_grad"](x)
        expected_value, expected_dx = loop_reference(x)
        assert value == approx(expected_value)
        assert dx == approx(expected_dx)
        ours = adcli.gradient(trace, {"x": x})
        assert value == approx(ours.evaluated.output_values[0])
        assert dx == approx(ours.gradients[0]["x"])


def test_loop_forward_and_reverse_agree():
    trace, _ = load(LOOP, {"x": 0.3})
    reverse = execute(generate(trace, "reverse", "f"))["f_grad"]
    forward = execute(generate(trace, "forward", "f"))["f_grad"]
    for x in (0.3, -0.5, 1.1):
        assert forward(x)[0] == approx(reverse(x)[0])
        assert forward(x)[1] == approx(reverse(x)[1])


@pytest.mark.parametrize(("at", "path_value", "path_derivative"),
                         [(2.0, lambda x: x * x, lambda x: 2 * x), (-2.0, lambda x: -x, lambda x: -1.0)])
@pytest.mark.parametrize("mode", MODES)
def test_branch_file_is_the_code_of_the_traced_path(mode, at, path_value, path_derivative):
    """samples/branch.py: f = x*x if x > 0 else -x. The code is that of the path taken at --at, a comment
    says so and quotes the branch note; it computes that path at the points that take it, and raises
    Retrace (a ValueError naming the line) at those where the other branch would run."""
    trace, _ = load(BRANCH, {"x": at})
    taken = "true" if at > 0 else "false"
    note = f"line 5: if x > 0: took the {taken} branch; the derivative is that of the path that ran"
    assert trace.notes == [note]
    code = generate(trace, mode, "f")
    notes = comments(code)
    assert any("traced" in comment and "path" in comment for comment in notes), code
    assert any(note in comment for comment in notes), code
    assert imported_modules(code) == ["math"]
    namespace = execute(code)
    for x in (3.0, 0.5, -3.0, -0.5):
        if (x > 0) != (at > 0):
            with pytest.raises(ValueError) as raised:
                namespace["f_grad"](x)
            assert type(raised.value).__name__ == "Retrace"
            assert str(raised.value) == (f"this code was generated at the path where line 5, `if x > 0`, was {taken}; "
                                         f"at x={x!r} the program takes another path: trace it again")
            continue
        value, (dx,) = namespace["f_grad"](x)
        assert value == approx(path_value(x))
        assert dx == approx(path_derivative(x))
        ours = adcli.gradient(trace, {"x": x})
        assert (value, dx) == (approx(ours.evaluated.output_values[0]), approx(ours.gradients[0]["x"]))


# ---------------------------------------------------------------- the command line

@pytest.mark.parametrize("mode", MODES)
def test_cli_codegen_lesson(runner, mode):
    """adcli codegen "x*exp(y)-sin(x)" --mode …: exit 0, Python that compiles, and runs correctly."""
    result = run(runner, ["codegen", "x*exp(y)-sin(x)", "--mode", mode])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    code = result.stdout
    compile(code, "<stdout>", "exec")
    assert imported_modules(code) == ["math"]
    assert any("x*exp(y)-sin(x)" in comment for comment in comments(code))
    namespace = execute(code)
    assert "f_grad" in namespace
    for x, y in EXPRESSIONS["lesson"][2]:
        value, gradient = namespace["f_grad"](x, y)
        expected_value, expected_gradient = lesson(x, y)
        assert value == approx(expected_value)
        assert gradient == approx(expected_gradient)


def test_cli_codegen_name_prefix(runner):
    code = run(runner, ["codegen", "x*exp(y)-sin(x)", "--mode", "forward", "--name", "lesson"]).stdout
    namespace = execute(code)
    assert callable(namespace["lesson_grad"]) and callable(namespace["lesson_jvp"])
    assert "f_grad" not in namespace


def test_cli_codegen_function_file(runner):
    """The issue's neuron, through the CLI: --at gives the lists; the code takes w and x."""
    result = run(runner, ["codegen", NEURON, "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]", "--name", "neuron"])
    assert result.exit_code == 0, result.output
    namespace = execute(result.stdout)
    for w, x in NEURON_POINTS:
        value, gradient = namespace["neuron_grad"](w, x)
        expected_value, expected_gradient = neuron_reference(w, x)
        assert value == approx(expected_value)
        assert gradient == approx(expected_gradient)


def test_cli_codegen_constants(runner):
    """Named constants pi and e in an expression: exit 0 and correct code."""
    result = run(runner, ["codegen", "pi*x^2 + e^y - y/pi + e*sin(pi*x/6)"])
    assert result.exit_code == 0, result.output
    value, gradient = execute(result.stdout)["f_grad"](1.0, 0.0)
    assert (value, gradient) == (approx(constants(1.0, 0.0)[0]), approx(constants(1.0, 0.0)[1]))


@pytest.mark.parametrize(("args", "message"), [
    (["x*exp(y)-sin(x)", "--mode", "sideways"],
     "error: Invalid value for '--mode': 'sideways' is not one of 'reverse', 'forward' (see 'adcli codegen --help')\n"),
    (["x*exp(y)-sin(x)", "--name", "1bad"], "error: --name 1bad: the name must be a Python identifier\n"),
    (["x*exp(y)-sin(x)", "--at", "x=1,y=0"],
     "error: --at: code for an expression holds at every point; --at is for function files\n"),
    ([BRANCH], f"error: {BRANCH}: a function file is traced by running it, so give its inputs with --at\n"),
    (["x*y, sin(x)+y"], "error: codegen writes the gradient of one output; the function has 2\n"),
])
def test_cli_codegen_errors(runner, args, message):
    result = run(runner, ["codegen", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == message


@pytest.mark.parametrize(("source", "x", "expected"), [
    ("0**x", 1.0, 0.0),           # d(0^x)/dx = 0^x·log 0 is taken as 0 where the base is not positive
    ("sqrt(x)", 0.0, math.inf),    # sqrt'(0) = inf, not a ZeroDivisionError in the generated code
    ("asin(x)", 1.0, math.inf),    # asin'(1) = inf
    ("acos(x)", -1.0, -math.inf),  # acos'(-1) = -inf
    ("x**0.5", 0.0, math.inf),     # d(x^y)/dx = inf at x = 0 for 0 < y < 1
])
def test_generated_code_follows_the_conventions_at_kinks(source, x, expected):
    """Found by the fuzz test (0**x at x = 1 raised 'math domain error' in the generated code)."""
    for mode in ("reverse", "forward"):
        namespace: dict = {}
        exec(generate(parse(source), mode), namespace)  # noqa: S102 - the code under test
        assert namespace["f_grad"](x)[1][0] == expected



def test_generated_relu_keeps_the_sign_rules_of_the_float_path():
    """relu(x) is ``x if x > 0 else 0.0`` (adcli.scalar, the sweeps): at -0 it is +0 and at a NaN
    it is 0 (``0 > nan`` is false). The generated ``max(x, 0.0)`` gave -0.0 and NaN: Python's max
    keeps its first argument at a tie and where no comparison holds."""
    for mode in ("reverse", "forward"):
        namespace: dict = {}
        exec(generate(parse("relu(x)"), mode), namespace)  # noqa: S102 - the code under test
        value = namespace["f_grad"](-0.0)[0]
        assert (value, math.copysign(1.0, value)) == (0.0, 1.0)
        assert namespace["f_grad"](math.nan)[0] == 0.0
        assert namespace["f_grad"](2.5) == (2.5, (1.0,))

def test_codegen_json_says_what_the_code_computes(runner):
    result = runner.invoke(None, ["codegen", "x*exp(y)", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["functions"] == {"f_grad(x, y)": "(value, gradient) of x*exp(y) by reverse-mode AD"}
    assert (document["mode"], document["inputs"]) == ("reverse", ["x", "y"])
    namespace: dict = {}
    exec(document["code"], namespace)  # noqa: S102 - the code under test
    value, gradient = namespace["f_grad"](2.0, 0.0)  # x·e^y at (2, 0): value 2, gradient (e^0, x·e^0) = (1, 2)
    assert (value, tuple(gradient)) == (2.0, (1.0, 2.0))


# ---------------------------------------------------------------- issue 11, item 17: SRC in comments
MALICIOUS_DIR = 'd\nimport os\nX = 1\n#"""\\'


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_newline_in_a_file_path_stays_inside_the_comment(runner, tmp_path, mode):
    """A directory named 'd⏎import os⏎X = 1⏎#\"\"\"\\': the generated module compiles, defines only
    math and the mode's functions, and still computes d/dx x*x = 2x = 6 at x = 3 (by hand)."""
    folder = tmp_path / MALICIOUS_DIR
    folder.mkdir()
    path = folder / "f.py"
    path.write_text("def f(x):\n    return x*x\n")
    result = run(runner, ["codegen", str(path), "--at", "x=2", "--mode", mode])
    assert result.exit_code == 0, result.stderr
    shown = f'{tmp_path}/d\\nimport os\\nX = 1\\n#\\"\\"\\"\\\\/f.py'
    assert result.stdout.splitlines()[0] == f"# Generated by adcli ({mode} mode) from: the function in {shown}"
    namespace: dict = {}
    exec(compile(result.stdout, "generated.py", "exec"), namespace)  # noqa: S102 - the code under test
    functions = ["f_grad", "math"] if mode == "reverse" else ["f_grad", "f_jvp", "math"]
    assert sorted(k for k in namespace if k != "__builtins__") == functions
    assert namespace["f_grad"](3.0) == (9.0, (6.0,))
    documented = namespace["f_grad" if mode == "reverse" else "f_jvp"]
    assert documented.__doc__.count("import os") == 1  # the text, now inside the docstring


def test_a_line_break_in_an_expression_is_escaped_in_the_comment():
    """Expressions with a newline, \\r or \\f between x and + 1 parse as x + 1; the comment stays one line."""
    for source, shown in (("x\n+ 1", "x\\n+ 1"), ("x\r+ 1", "x\\r+ 1"), ("x\x0c+ 1", "x\\x0c+ 1")):
        code = generate(adcli.parse(source), "reverse")
        assert code.splitlines()[0] == f"# Generated by adcli (reverse mode) from: {shown}"
        assert code.splitlines()[1] == "import math"
        namespace: dict = {}
        exec(compile(code, "generated.py", "exec"), namespace)  # noqa: S102 - the code under test
        assert namespace["f_grad"](2.0) == (3.0, (1.0,))


@pytest.mark.parametrize("source, x, expected", [
    # by hand: tanh'(x) = 4 e^(-2x) / (1 + e^(-2x))^2, sigmoid'(x) = e^(-x) / (1 + e^(-x))^2,
    # atan'(x) = 1 / (1 + x^2), asin'(x) = 1 / sqrt((1 - x)(1 + x)); values by mpmath at 50 digits
    ("tanh(x)", 20.0, 1.6993417021166355e-17),
    ("sigmoid(x)", 40.0, 4.248354255291589e-18),
    ("atan(x)", 2e154, 2.499999999999997e-309),
    ("asin(x)", 1 - 2**-53, 67108864.0),
])
def test_generated_code_keeps_saturated_derivatives(source, x, expected):
    """The generated derivative code uses the same accurate rules as adcli (1 - tanh(x)^2 would be 0)."""
    from adcli import parse
    from adcli.codegen import generate

    value, (derivative,) = execute(generate(parse(source), "reverse"))["f_grad"](x)
    assert derivative == pytest.approx(expected, rel=4e-16, abs=math.ulp(expected))  # subnormal: 5e-324
