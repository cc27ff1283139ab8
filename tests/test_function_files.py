"""Function files: the samples with hand-checked values, tracing real Python, and every error.

References never come from adcli: they are derived by hand (the derivation sits next to them),
computed with :mod:`math` in plain loops, or computed with SymPy.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
import sympy

import adcli
from adcli.analysis import load
from adcli.cli import app
from adcli.errors import InputError
from adcli.primitives import BY_NAME

MODES = ["reverse", "forward"]
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample(name: str) -> str:
    return str(SAMPLES / name)


def write(directory: Path, name: str, text: str) -> str:
    """A throwaway function file; returns its path as a string."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def grad(path: str, at: dict, mode: str = "reverse", func: str | None = None) -> adcli.Gradient:
    trace, point = load(path, at, func)
    return adcli.gradient(trace, point, mode=mode)


def invoke(runner, *args: str):
    """Run the CLI; whatever happens, no Python traceback reaches the user."""
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def sigma(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# ================================================================ the samples, checked by hand

# sigmoid_neuron.py: f = s(z), z = w0 x0 + w1 x1 + w2, s(z) = 1/(1+e^-z).
# At w = [2, -3, -3], x = [-1, -2]: z = -2 + 6 - 3 = 1, so f = s(1) = 0.7310585786...
# ds/dz = s(1-s).  df/dw0 = x0 s' = -s',  df/dw1 = x1 s' = -2 s',  df/dw2 = 1 * s' = s',
#                  df/dx0 = w0 s' = 2 s',  df/dx1 = w1 s' = -3 s'.
S1 = sigma(1.0)
DS1 = S1 * (1 - S1)
NEURON_GRADIENT = {"w[0]": -1 * DS1, "w[1]": -2 * DS1, "w[2]": 1 * DS1, "x[0]": 2 * DS1, "x[1]": -3 * DS1}


@pytest.mark.parametrize("mode", MODES)
def test_sigmoid_neuron(mode):
    result = grad(sample("sigmoid_neuron.py"), {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]}, mode)
    assert result.trace.input_names == ["w[0]", "w[1]", "w[2]", "x[0]", "x[1]"]
    assert result.trace.output_names == ["neuron"]
    assert result.evaluated.output_values == [pytest.approx(S1, rel=1e-14)]
    assert S1 == pytest.approx(0.7311, abs=1e-4)
    assert list(result.gradients[0]) == list(NEURON_GRADIENT)
    for name, expected in NEURON_GRADIENT.items():
        assert result.gradients[0][name] == pytest.approx(expected, rel=1e-13), name
    assert result.evaluated.warnings == []


def test_sigmoid_neuron_cli(runner):
    """The issue's first command, as JSON: the same hand-derived gradient, keyed by list entry."""
    result = invoke(runner, "grad", sample("sigmoid_neuron.py"), "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]",
                    "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["at"] == {"w[0]": 2.0, "w[1]": -3.0, "w[2]": -3.0, "x[0]": -1.0, "x[1]": -2.0}
    assert document["value"] == pytest.approx(S1, rel=1e-14)
    assert document["gradient"] == {k: pytest.approx(v, rel=1e-13) for k, v in NEURON_GRADIENT.items()}


def loop_reference(x: float) -> tuple[float, float]:
    """y <- y*y + x five times, with the derivative recurrence dy <- 2 y dy + 1 (y0 = x, dy0 = 1)."""
    y, dy = x, 1.0
    for _ in range(5):
        y, dy = y * y + x, 2 * y * dy + 1
    return y, dy


@pytest.mark.parametrize("mode", MODES)
def test_loop(mode):
    value, derivative = loop_reference(0.5)
    result = grad(sample("loop.py"), {"x": 0.5}, mode)
    assert result.evaluated.output_values == [pytest.approx(value, rel=1e-14)]
    assert result.gradients == [{"x": pytest.approx(derivative, rel=1e-13)}]
    # The trace is the unrolled loop: five iterations of one multiply and one add.
    assert result.trace.operation_count == 10
    # range(5) does not depend on x: nothing to warn about.
    assert result.evaluated.warnings == []


def test_loop_through_trace_command(runner):
    """`adcli trace samples/loop.py --at x=0.5`: the adjoint of the input is the derivative."""
    value, derivative = loop_reference(0.5)
    result = invoke(runner, "trace", sample("loop.py"), "--at", "x=0.5", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["value"] == pytest.approx(value, rel=1e-14)
    first = document["trace"][0]
    assert (first["op"], first["text"], first["value"]) == ("input", "x", 0.5)
    assert first["adjoint"] == pytest.approx(derivative, rel=1e-13)


# branch.py: x > 0 -> x*x (derivative 2x), else -x (derivative -1).
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("x", "value", "derivative", "outcome"), [
    (2.0, 4.0, 4.0, "true"),      # 2*2 = 4, 2x = 4
    (0.5, 0.25, 1.0, "true"),     # 0.25, 2x = 1
    (-2.0, 2.0, -1.0, "false"),   # -(-2) = 2, -1
    (0.0, 0.0, -1.0, "false"),    # 0 > 0 is false: -x, -1
])
def test_branch(x, value, derivative, outcome, mode):
    result = grad(sample("branch.py"), {"x": x}, mode)
    assert result.evaluated.output_values == [value]
    assert result.gradients == [{"x": derivative}]
    # the margin of x > 0 is x, its slope 1: the path holds for |Δx| < |x| (on the boundary at 0)
    holds = f"this trace holds for |Δx| < {abs(x):g}: line 5, if x > 0" if x else \
        "this trace is on the boundary of its path along x: line 5, if x > 0 has margin 0"
    assert result.evaluated.notes == [
        f"line 5: if x > 0: took the {outcome} branch; the derivative is that of the path that ran", holds]


def test_branch_warning_in_cli_json(runner):
    result = invoke(runner, "grad", sample("branch.py"), "--at", "x=3", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["value"] == 9.0
    assert document["gradient"] == {"x": 6.0}
    assert document["notes"] == [
        "line 5: if x > 0: took the true branch; the derivative is that of the path that ran",
        "this trace holds for |Δx| < 3: line 5, if x > 0"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("x", [1.3, -0.7, 2.0])
def test_recursive(x, mode):
    """power(x, 5) by repeated squaring is x^5; its derivative is 5 x^4."""
    result = grad(sample("recursive.py"), {"x": x}, mode)
    assert result.evaluated.output_values == [pytest.approx(x**5, rel=1e-14)]
    assert result.gradients == [{"x": pytest.approx(5 * x**4, rel=1e-14)}]
    assert result.evaluated.warnings == []  # the recursion depends on n, not on x


def _math_builtins_sympy():
    x, y = sympy.symbols("x y", real=True)
    f = sympy.Max(x * y, sympy.Abs(x - y)) + sympy.sin(x) * sympy.exp(-y) + sympy.sqrt(x * x + y * y)
    return x, y, f


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("x0", "y0"), [
    (1.2, 0.7),   # x*y = 0.84 > |x-y| = 0.5: max takes x*y
    (3.0, 0.5),   # x*y = 1.5 < |x-y| = 2.5: max takes abs(x-y), x > y
    (0.4, 2.5),   # x*y = 1.0 < |x-y| = 2.1: max takes abs(x-y), x < y
])
def test_math_builtins_against_sympy(x0, y0, mode):
    x, y, f = _math_builtins_sympy()
    at = {x: x0, y: y0}
    result = grad(sample("math_builtins.py"), {"x": x0, "y": y0}, mode)
    assert result.evaluated.output_values == [pytest.approx(float(f.subs(at).evalf(30)), rel=1e-14)]
    assert result.gradients[0]["x"] == pytest.approx(float(sympy.diff(f, x).subs(at).evalf(30)), rel=1e-13)
    assert result.gradients[0]["y"] == pytest.approx(float(sympy.diff(f, y).subs(at).evalf(30)), rel=1e-13)


@pytest.mark.parametrize("mode", MODES)
def test_polar_is_vector_valued(mode):
    """(r cos t, r sin t): rows (cos t, -r sin t) and (sin t, r cos t)."""
    r, t = 2.0, 0.3
    result = grad(sample("polar.py"), {"r": r, "theta": t}, mode)
    assert result.trace.output_names == ["polar[0]", "polar[1]"]
    assert result.evaluated.output_values == pytest.approx([r * math.cos(t), r * math.sin(t)], rel=1e-15)
    assert result.gradients == [
        {"r": pytest.approx(math.cos(t), rel=1e-15), "theta": pytest.approx(-r * math.sin(t), rel=1e-15)},
        {"r": pytest.approx(math.sin(t), rel=1e-15), "theta": pytest.approx(r * math.cos(t), rel=1e-15)},
    ]


# ================================================================ tracing ordinary Python


@pytest.mark.parametrize("mode", MODES)
def test_while_loop_on_a_traced_value(tmp_path, mode):
    """Doubling until >= 10 from 1.5: 1.5, 3, 6, 12 -- three doublings, so f = 8x, f' = 8."""
    path = write(tmp_path, "doubling.py", """
        def f(x):
            while x < 10:
                x = x * 2
            return x
    """)
    result = grad(path, {"x": 1.5}, mode)
    assert result.evaluated.output_values == [12.0]
    assert result.gradients == [{"x": 8.0}]
    assert result.evaluated.notes == [
        "line 2: while x < 10: was evaluated 4 times (3 true, 1 false); the derivative is that of the path that ran",
        # margins 1.5·2^k − 10 with slopes 2^k (k = 0..3): distances 8.5, 3.5, 1, 0.25
        "this trace holds for |Δx| < 0.25: line 2, while x < 10"]


@pytest.mark.parametrize("mode", MODES)
def test_for_loop_helper_and_augmented_assignment(tmp_path, mode):
    """total = sum_{k=1..3} k * sq(x) = 6 x^2; at 0.5: 1.5, derivative 12 x = 6."""
    path = write(tmp_path, "helper.py", """
        def sq(t):
            return t * t


        def f(x):
            total = 0
            for k in range(1, 4):
                total += k * sq(x)
            return total
    """)
    result = grad(path, {"x": 0.5}, mode)
    assert result.evaluated.output_values == [1.5]
    assert result.gradients == [{"x": 6.0}]
    assert result.evaluated.warnings == []


@pytest.mark.parametrize("mode", MODES)
def test_recursion_whose_depth_depends_on_the_input(tmp_path, mode):
    """At 3: 1 + f(1.5) = 2 + f(0.75) = 2 + 0.75^2 = 2.5625; on this path f = 2 + (x/4)^2, f' = x/8 = 0.375."""
    path = write(tmp_path, "halving.py", """
        def f(x):
            if x < 1:
                return x * x
            return 1 + f(x / 2)
    """)
    result = grad(path, {"x": 3.0}, mode)
    assert result.evaluated.output_values == [2.5625]
    assert result.gradients == [{"x": 0.375}]
    assert result.evaluated.notes == [
        "line 2: if x < 1: was evaluated 3 times (1 true, 2 false); the derivative is that of the path that ran",
        # x/2^k − 1 for k = 0..2 (margins 2, 0.5, −0.25), slopes 1/2^k: distances 2, 1, 1
        "this trace holds for |Δx| < 1: line 2, if x < 1"]


COMPARISONS = """
    def f(x, y):
        total = 0
        if x >= y:
            total += x * y
        if x <= y:
            total += x + y
        if x == y:
            total += 100 * x
        if x != y:
            total -= y
        return total
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("x", "y", "value", "gradient"), [
    # x > y: x*y - y = 3*2 - 2 = 4; d/dx = y = 2, d/dy = x - 1 = 2
    (3.0, 2.0, 4.0, {"x": 2.0, "y": 2.0}),
    # x < y: x + y - y = x = 1; d/dx = 1, d/dy = 0
    (1.0, 2.0, 1.0, {"x": 1.0, "y": 0.0}),
    # x == y: x*y + x + y + 100x = 4 + 4 + 200 = 208; d/dx = y + 1 + 100 = 103, d/dy = x + 1 = 3
    (2.0, 2.0, 208.0, {"x": 103.0, "y": 3.0}),
])
def test_comparisons(tmp_path, x, y, value, gradient, mode):
    path = write(tmp_path, "compare.py", COMPARISONS)
    result = grad(path, {"x": x, "y": y}, mode)
    assert result.evaluated.output_values == [value]
    assert result.gradients == [gradient]


@pytest.mark.parametrize("mode", MODES)
def test_builtins_abs_max_min_pow_sum(tmp_path, mode):
    """At w = [-1.5, 2, 0.5]:
    abs(w0) = 1.5, max(w) = 2, min(w1, w2) = 0.5, pow(w0, 3) = -3.375, pow(2, w1) = 4, sum(w) = 1
    -> f = 5.625.
    df/dw0 = sign(w0) + 3 w0^2 + 1 = -1 + 6.75 + 1 = 6.75          (max and min do not pick w0)
    df/dw1 = 1 (max picks w1) + 2^w1 ln 2 + 1 = 2 + 4 ln 2         (min picks w2)
    df/dw2 = 1 (min picks w2) + 1 = 2
    """
    path = write(tmp_path, "builtins_.py", """
        def f(w):
            return abs(w[0]) + max(w) + min(w[1], w[2]) + pow(w[0], 3) + pow(2, w[1]) + sum(w)
    """)
    result = grad(path, {"w": [-1.5, 2.0, 0.5]}, mode)
    assert result.evaluated.output_values == [pytest.approx(5.625, rel=1e-15)]
    assert result.gradients == [{"w[0]": pytest.approx(6.75, rel=1e-15),
                                 "w[1]": pytest.approx(2 + 4 * math.log(2), rel=1e-15),
                                 "w[2]": pytest.approx(2.0, rel=1e-15)}]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("header, call", [
    ("import math", "math.sin(x) * math.exp(x)"),
    ("from math import sin, exp", "sin(x) * exp(x)"),
    ("import math as m", "m.sin(x) * m.exp(x)"),
])
def test_math_both_spellings(tmp_path, header, call, mode):
    """f = sin(x) e^x, f' = (cos x + sin x) e^x; the file imports nothing from adcli."""
    path = write(tmp_path, "spelling.py", f"{header}\n\n\ndef f(x):\n    return {call}\n")
    x = 0.8
    result = grad(path, {"x": x}, mode)
    assert result.evaluated.output_values == [pytest.approx(math.sin(x) * math.exp(x), rel=1e-15)]
    assert result.gradients == [{"x": pytest.approx((math.cos(x) + math.sin(x)) * math.exp(x), rel=1e-15)}]


def test_math_on_plain_numbers_still_works(tmp_path):
    """Constants computed with math at import time and inside the function stay plain numbers."""
    path = write(tmp_path, "consts.py", """
        import math

        SCALE = math.sqrt(4.0)


        def f(x):
            return SCALE * x + math.cos(0.0) + math.erf(0.0)
    """)
    result = grad(path, {"x": 3.0})
    assert result.evaluated.output_values == [7.0]  # 2*3 + 1 + 0
    assert result.gradients == [{"x": 2.0}]


@pytest.mark.parametrize("mode", MODES)
def test_floor_has_zero_derivative_with_a_warning(tmp_path, mode):
    """floor(x) + x at 2: value 4; floor' = 0 by convention, so f' = 1, with a warning on the node."""
    path = write(tmp_path, "floor_.py", """
        import math


        def f(x):
            return math.floor(x) + x
    """)
    result = grad(path, {"x": 2.0}, mode)
    assert result.evaluated.output_values == [4.0]
    assert result.gradients == [{"x": 1.0}]
    assert result.evaluated.warnings == [
        "v2 = floor(v1): floor is not differentiable at 2: left inf, right 0; used 0, as PyTorch, JAX and autograd"]


# ---------------------------------------------------------------- which function is differentiated

TWO_FUNCTIONS = """
    def g(x):
        return x * x


    def h(x):
        return x * x * x
"""


def test_function_chosen_by_func(tmp_path):
    """--func h: x^3 at 2 is 8, derivative 3x^2 = 12; --func g: 4 and 4."""
    path = write(tmp_path, "two.py", TWO_FUNCTIONS)
    assert grad(path, {"x": 2.0}, func="h").gradients == [{"x": 12.0}]
    assert grad(path, {"x": 2.0}, func="g").gradients == [{"x": 4.0}]
    assert grad(path, {"x": 2.0}, func="h").trace.output_names == ["h"]


def test_only_function_is_chosen(tmp_path):
    path = write(tmp_path, "only.py", """
        def cube(x):
            return x * x * x
    """)
    result = grad(path, {"x": 2.0})
    assert result.trace.output_names == ["cube"]
    assert result.gradients == [{"x": 12.0}]


def test_function_named_f_is_chosen(tmp_path):
    """recursive.py defines power and f: f is differentiated (x^5, 5x^4 = 80 at 2)."""
    result = grad(sample("recursive.py"), {"x": 2.0})
    assert result.trace.output_names == ["f"]
    assert result.gradients == [{"x": 80.0}]


def test_functions_imported_from_math_are_not_candidates(tmp_path):
    """`from math import sin` puts sin in the namespace; the only function defined here is still g."""
    path = write(tmp_path, "imports.py", """
        from math import sin, cos


        def g(x):
            return sin(x)
    """)
    result = grad(path, {"x": 0.0})
    assert result.trace.output_names == ["g"]
    assert result.gradients == [{"x": 1.0}]


def test_several_functions_without_f_list_the_candidates(tmp_path):
    path = write(tmp_path, "two.py", TWO_FUNCTIONS)
    with pytest.raises(InputError) as error:
        load(path, {"x": 1.0})
    assert str(error.value) == f"{path}: the file defines several functions (g, h); choose one"


def test_cli_several_functions(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "two.py", TWO_FUNCTIONS)
    result = invoke(runner, "grad", "two.py", "--at", "x=1")
    assert result.exit_code == 2
    assert result.stderr == "error: two.py: the file defines several functions (g, h); choose one with --func\n"
    assert result.stdout == ""


def test_cli_func_picks_the_function(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "two.py", TWO_FUNCTIONS)
    result = invoke(runner, "grad", "two.py", "--at", "x=2", "--func", "h", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["value"], document["gradient"]) == (8.0, {"x": 12.0})


def test_cli_unknown_func_lists_the_functions(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "two.py", TWO_FUNCTIONS)
    result = invoke(runner, "grad", "two.py", "--at", "x=1", "--func", "k")
    assert result.exit_code == 2
    assert result.stderr == "error: two.py: no function named 'k' (functions defined: g, h)\n"


def test_cli_file_without_functions(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "empty.py", "X = 1\n")
    result = invoke(runner, "grad", "empty.py", "--at", "x=1")
    assert result.exit_code == 2
    assert result.stderr == "error: empty.py: the file defines no function to differentiate\n"


def test_cli_func_with_an_expression(runner):
    result = invoke(runner, "grad", "x*y", "--at", "x=1,y=2", "--func", "f")
    assert result.exit_code == 2
    assert result.stderr == "error: --func f: a function is chosen by name in a .py file; the source is an expression\n"


# ================================================================ errors through the CLI


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run in tmp_path so files are named as a user types them (relative), and messages are exact."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_of(runner, *args: str) -> tuple[int, str]:
    result = invoke(runner, *args)
    assert result.stdout == ""
    return result.exit_code, result.stderr


def test_file_not_found(runner, in_tmp):
    assert error_of(runner, "grad", "missing.py", "--at", "x=1") == (2, "error: missing.py: no such file\n")


def test_file_not_found_absolute(runner, tmp_path):
    path = str(tmp_path / "missing.py")
    assert error_of(runner, "hessian", path, "--at", "x=1") == (2, f"error: {path}: no such file\n")


def test_existing_file_that_is_not_py(runner, in_tmp):
    """The issue lists 'not .py' as an error of its own. An existing file that does not end in .py must
    get an error naming the file and saying a function file ends in .py -- not a parse error of the
    path as if it were an expression ("unexpected '.': attribute access ..." at column 6)."""
    write(in_tmp, "model.txt", """
        def f(x):
            return x * x
    """)
    code, stderr = error_of(runner, "grad", "model.txt", "--at", "x=1")
    assert code == 2
    first_line = stderr.splitlines()[0]
    assert first_line.startswith("error: model.txt: ")
    assert ".py" in first_line


def test_syntax_error_with_line_and_column(runner, in_tmp):
    """`return x +* 2`: Python reports line 2, column 15 (the '*'); the caret sits under it."""
    write(in_tmp, "syntax.py", """
        def f(x):
            return x +* 2
    """)
    assert error_of(runner, "grad", "syntax.py", "--at", "x=1") == (2, (
        "error: syntax.py, line 2, column 15: syntax error: invalid syntax\n"
        "      return x +* 2\n"
        "                ^\n"))


def test_function_raises_in_a_helper(runner, in_tmp):
    """The user's own line (in the helper, where it raised) and message; exit 2."""
    write(in_tmp, "raises.py", """
        def helper(x):
            raise RuntimeError("radius must be positive")


        def f(x):
            return helper(x) + x
    """)
    assert error_of(runner, "grad", "raises.py", "--at", "x=1") == (
        2, 'error: raises.py, line 2 (raise RuntimeError("radius must be positive")): '
           "RuntimeError: radius must be positive\n")


def test_function_raises_value_error(runner, in_tmp):
    """A ValueError from the user's code means the function cannot be evaluated at that point: exit 1."""
    write(in_tmp, "domain.py", """
        def f(x):
            if x < 0:
                raise ValueError("x must be non-negative")
            return x
    """)
    assert error_of(runner, "grad", "domain.py", "--at", "x=-1") == (
        1, 'error: domain.py, line 3 (raise ValueError("x must be non-negative")): '
           "ValueError: x must be non-negative\n")


def test_file_raises_at_import(runner, in_tmp):
    write(in_tmp, "top.py", """
        LIMIT = {}["missing"]


        def f(x):
            return x
    """)
    assert error_of(runner, "grad", "top.py", "--at", "x=1") == (
        2, "error: top.py, line 1 (LIMIT = {}[\"missing\"]): KeyError: 'missing'\n")


def test_division_by_zero_on_a_traced_value(runner, in_tmp):
    """1/(x - x): cannot be evaluated at any point; the node, the file line, exit 1."""
    write(in_tmp, "zero.py", """
        def f(x):
            return 1 / (x - x)
    """)
    assert error_of(runner, "grad", "zero.py", "--at", "x=1") == (
        1, "error: zero.py, line 2: v3 = 1 / v2: division by zero (v2 = 0)\n")


def test_log_of_a_negative_traced_value(runner, in_tmp):
    write(in_tmp, "logneg.py", """
        import math


        def f(x):
            return math.log(x)
    """)
    assert error_of(runner, "grad", "logneg.py", "--at", "x=-1") == (
        1, "error: logneg.py, line 5: v2 = log(v1): log is undefined at -1\n")


SQUARE = """
    def f(x):
        return x * x
"""


def test_missing_at_name(runner, in_tmp):
    write(in_tmp, "square.py", SQUARE)
    assert error_of(runner, "grad", "square.py") == (2, "error: --at x=…: no value for parameter x of f()\n")


def test_missing_at_names(runner, in_tmp):
    write(in_tmp, "three.py", """
        def f(x, y, z):
            return x * y * z
    """)
    assert error_of(runner, "grad", "three.py", "--at", "y=1") == (
        2, "error: --at x=…,z=…: no value for parameters x, z of f()\n")


def test_extra_at_name(runner, in_tmp):
    write(in_tmp, "square.py", SQUARE)
    assert error_of(runner, "grad", "square.py", "--at", "x=1,y=2") == (
        2, "error: --at y: f() has no parameter 'y' (its parameters: x)\n")


def test_list_for_a_scalar_parameter(runner, in_tmp):
    write(in_tmp, "square.py", SQUARE)
    assert error_of(runner, "grad", "square.py", "--at", "x=[1,2]") == (
        2, "error: square.py, line 2: return x * x: a list parameter is used as a number; "
           "give a single number (name=value) if the parameter is a number\n")


@pytest.mark.parametrize(("body", "line_text"), [
    ("return math.sin(x)", "return math.sin(x)"),
    ("return x if x > 0 else -x", "return x if x > 0 else -x"),
])
def test_list_for_a_scalar_parameter_outside_arithmetic(runner, in_tmp, body, line_text):
    """A list given for a number must get the same clear message whatever the number is used for --
    not Python's TypeError naming adcli's internal TracedList class."""
    write(in_tmp, "scalar.py", f"import math\n\n\ndef f(x):\n    {body}\n")
    assert error_of(runner, "grad", "scalar.py", "--at", "x=[1,2]") == (
        2, f"error: scalar.py, line 5: {line_text}: a list parameter is used as a number; "
           "give a single number (name=value) if the parameter is a number\n")


@pytest.mark.parametrize(("name", "body"), [("indexed.py", "return w[0] * w[1]"), ("summed.py", "return sum(w)")])
def test_scalar_for_a_list_parameter(runner, in_tmp, name, body):
    write(in_tmp, name, f"def f(w):\n    {body}\n")
    assert error_of(runner, "grad", name, "--at", "w=3") == (
        2, f"error: {name}, line 2: {body}: a single number is used as a list; "
           "give a list (name=[…]) if the parameter is a list\n")


def test_return_value_not_a_number(runner, in_tmp):
    write(in_tmp, "text.py", """
        def f(x):
            return "hello"
    """)
    assert error_of(runner, "grad", "text.py", "--at", "x=1") == (
        2, "error: text.py: f() returned str; return a number or a flat list or tuple of numbers\n")


def test_return_list_with_a_non_number(runner, in_tmp):
    write(in_tmp, "mixed.py", """
        def f(x):
            return [x, "two"]
    """)
    assert error_of(runner, "grad", "mixed.py", "--at", "x=1") == (
        2, "error: mixed.py: f() returned str; return a number or a flat list or tuple of numbers\n")


def test_return_nested_list(runner, in_tmp):
    write(in_tmp, "nested.py", """
        def f(x, y):
            return [x, [y, x]]
    """)
    assert error_of(runner, "jacobian", "nested.py", "--at", "x=1,y=2") == (
        2, "error: nested.py: f() returned a nested list; nested lists are out of scope, "
           "return a number or a flat list of numbers\n")


def test_return_empty_tuple(runner, in_tmp):
    write(in_tmp, "empty_.py", """
        def f(x):
            return ()
    """)
    assert error_of(runner, "grad", "empty_.py", "--at", "x=1") == (
        2, "error: empty_.py: f() returned an empty tuple; return numbers\n")


LOSES = "turns a traced value into a plain number, which would lose its derivative; compute with the value itself"
WHOLE = ("turns a traced value into a plain number, which would lose its derivative; for a whole number (a count, "
         "an index), use math.floor(x) or math.ceil(x), which adcli records")


ESCAPES = [
    ("y = float(x)", "float(x)", LOSES),
    ("y = x * int(x)", "int(x)", WHOLE),
    ("y = round(x)", "round(x)", WHOLE),
    ('y = f"{x:.3f}"', "formatting a traced value", LOSES),
    ('y = f"{x}"', "formatting a traced value", LOSES),
    ("y = str(x)", "str(x) or print(x)", LOSES),
    ("print(x)", "str(x) or print(x)", LOSES),
    ("for i in range(int(x)):", "int(x)", WHOLE),  # one colon before the message, not the line's own too
]


@pytest.mark.parametrize(("line", "what", "why"), ESCAPES)
def test_traced_value_escapes(runner, in_tmp, line, what, why):
    """Each escape is an error at the file's line (line 4 here), never a silent zero; exit 2."""
    name = f"escape_{ESCAPES.index((line, what, why))}.py"  # a fresh name each: see test_edited_file_*
    body = f"{line}\n        pass" if line.endswith(":") else line
    write(in_tmp, name, f"import math\ndef f(x):\n    y = x\n    {body}\n    return x * 2\n")
    assert error_of(runner, "grad", name, "--at", "x=1.5") == (
        2, f"error: {name}, line 4: {line.rstrip(':')}: {what} {why}\n")


def test_unsupported_math_function(runner, in_tmp):
    """gcd is no primitive; the message lists what is: math's name of every primitive of the
    registry math also has (atan2 and hypot of two arguments too), and the special cases ceil, fabs,
    log (with a base) and pow."""
    write(in_tmp, "gcd_.py", """
        import math


        def f(x):
            return math.gcd(x, 2)
    """)
    supported = sorted({p.name for p in BY_NAME.values() if hasattr(math, p.name)}
                       | {"ceil", "fabs", "log", "pow"})
    assert {"exp", "floor", "log", "sqrt", "tanh", "atan2", "hypot"} <= set(supported)
    assert error_of(runner, "grad", "gcd_.py", "--at", "x=0.5") == (
        2, "error: gcd_.py, line 5: return math.gcd(x, 2): math.gcd is not differentiable by adcli; supported: "
           f"{', '.join(supported)}\n")


@pytest.mark.parametrize("command", ["grad", "trace", "jacobian", "hessian"])
def test_every_command_reports_file_errors(runner, in_tmp, command):
    """The same escape error from each command that accepts a file."""
    name = f"escape_{command}.py"
    write(in_tmp, name, "def f(x):\n    return float(x)\n")
    assert error_of(runner, command, name, "--at", "x=1") == (
        2, f"error: {name}, line 2: return float(x): float(x) {LOSES}\n")


# ---------------------------------------------------------------- a file edited between two runs


def test_edited_file_shows_its_current_line(tmp_path):
    """In a notebook, a user fixes one line, breaks another and runs again: the message must quote the
    line as it is now (line 3, `return round(y)`), not a cached copy of the file from the first run."""
    path = write(tmp_path, "edited.py", "def f(x):\n    y = float(x)\n    return y\n")
    with pytest.raises(InputError) as first:
        load(path, {"x": 1.0})
    assert str(first.value) == f"{path}, line 2: y = float(x): float(x) {LOSES}"
    write(tmp_path, "edited.py", "def f(x):\n    y = x * 2\n    return round(y)\n")
    with pytest.raises(InputError) as second:
        load(path, {"x": 1.0})
    assert str(second.value) == f"{path}, line 3: return round(y): round(x) {WHOLE}"


def test_edited_file_branch_note_shows_its_current_line(tmp_path):
    path = write(tmp_path, "edited_branch.py", "def f(x):\n    if x > 0:\n        return x\n    return -x\n")
    trace, point = load(path, {"x": 1.0})
    assert adcli.evaluate_at(trace, point).notes == [
        "line 2: if x > 0: took the true branch; the derivative is that of the path that ran"]
    write(tmp_path, "edited_branch.py", "def f(x):\n    if x >= 10:\n        return x\n    return -x\n")
    trace, point = load(path, {"x": 1.0})
    assert adcli.evaluate_at(trace, point).notes == [
        "line 2: if x >= 10: took the false branch; the derivative is that of the path that ran"]
