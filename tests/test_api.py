"""The Python API (adcli.grad, value_and_grad, jacobian, hessian, trace, Value, Jupyter display).

References: hand derivatives, micrograd's published numbers for its README example, Python's own output.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

import adcli
from adcli import Value


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_grad_prints_a_tuple_per_parameter():
    shown = run_python("import adcli; print(adcli.grad(lambda x, y: x*y + 1)(2.0, 3.0))")
    assert (shown.stdout, shown.stderr, shown.returncode) == ("(3.0, 2.0)\n", "", 0)


def test_the_api_needs_neither_typer_nor_rich_and_import_is_cheap():
    shown = run_python("import sys; sys.modules['typer'] = sys.modules['rich'] = None\n"
                       "import adcli\n"
                       "heavy = [m for m in ('numpy', 'sympy', 'typer', 'rich') if sys.modules.get(m)]\n"
                       "print(heavy, adcli.grad(lambda x: (x * x).exp())(1.0))")
    assert shown.stdout == f"[] {2 * math.exp(1.0)!r}\n", shown.stderr


def test_wrt_shapes_and_value_and_grad():
    def f(x, w, v):
        return x * (w[0] * w[1]).tanh() + np.dot(v, v)

    value, (dx, dw, dv) = adcli.value_and_grad(f)(2.0, [0.5, 3.0], np.array([1.0, -2.0]))
    t = math.tanh(1.5)
    assert value == pytest.approx(2 * t + 5, rel=1e-15)
    assert dx == pytest.approx(t, rel=1e-15)
    assert dw == pytest.approx([2 * (1 - t * t) * 3.0, 2 * (1 - t * t) * 0.5], rel=1e-14)
    assert isinstance(dv, np.ndarray) and list(dv) == [2.0, -4.0]
    assert adcli.grad(f, wrt="x")(2.0, [0.5, 3.0], np.array([1.0, -2.0])) == pytest.approx(t, rel=1e-15)


def test_jacobian_hessian_and_trace():
    assert adcli.jacobian(lambda x, y: [x * y, x.sin() + y])(2.0, 3.0) == [[3.0, 2.0], [math.cos(2.0), 1.0]]
    assert adcli.hessian(lambda x, y: x * x * y)(2.0, 3.0) == [[6.0, 4.0], [4.0, 0.0]]  # [[2y, 2x], [2x, 0]]
    trace = adcli.trace(lambda x, y: x * y.exp() - np.sin(x), x=1.0, y=0.0)
    assert str(trace) == "v1 = x\nv2 = y\nv3 = exp(v2)\nv4 = v1 * v3\nv5 = sin(v1)\nv6 = v4 - v5\nreturn v6"
    assert adcli.trace.Trace is adcli.Trace  # adcli.trace stays the module too


def test_grad_of_several_outputs_is_an_error():
    with pytest.raises(adcli.InputError, match="^grad needs a function with one output; it has 2"):
        adcli.grad(lambda x: [x, x])(1.0)


def test_micrograd_readme_example():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    assert f"{g.data:.4f}" == "24.7041"
    g.backward()
    assert (f"{a.grad:.4f}", f"{b.grad:.4f}") == ("138.8338", "645.5773")
    assert g.grad == 1.0 and repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"


def test_value_needs_no_recursion_on_a_deep_graph():
    x = Value(0.5)
    y = x
    for _ in range(50_000):
        y = (y * 1.0).tanh() + 0.0  # d/dy tanh(y) = 1 - tanh(y)^2, multiplied along the chain
    y.backward()
    expected, v = 1.0, 0.5
    for _ in range(50_000):
        expected *= 1 - math.tanh(v) ** 2
        v = math.tanh(v)
    assert x.grad == pytest.approx(expected, rel=1e-9)


def test_jupyter_display(monkeypatch):
    trace = adcli.trace(lambda x: x.exp(), x=0.0)
    assert trace._repr_html_() == ("<table><tr><th>node</th><th>operation</th></tr>"
                                   "<tr><td><code>v1</code></td><td><code>x</code></td></tr>"
                                   "<tr><td><code>v2</code></td><td><code>exp(v1)</code></td></tr></table>"
                                   "<p><code>return v2</code></p>")
    gradients = adcli.grad(lambda x, y: x * y)(2.0, 3.0)
    assert gradients._repr_html_() == ("<table><tr><th>input</th><th>gradient</th></tr>"
                                       "<tr><td>∂/∂x</td><td>3.0</td></tr><tr><td>∂/∂y</td><td>2.0</td></tr></table>")
    monkeypatch.setattr("shutil.which", lambda name: None)
    picture = adcli.graph(trace)
    assert picture._repr_svg_() is None
    assert picture._repr_markdown_().startswith("```mermaid\nflowchart LR\n")


def test_code_without_source_text_is_named_by_its_line_alone():
    """Code typed at the interpreter has no readable line: the error says ``line 1``, not ``line 1: :``."""
    namespace: dict = {}
    exec(compile("def f(x):\n    return float(x)\n", "<stdin>", "exec"), namespace)  # noqa: S102
    with pytest.raises(adcli.InputError) as error:
        adcli.grad(namespace["f"])(0.5)
    assert str(error.value) == ("line 2: float(x) turns a traced value into a plain number, which would lose its "
                                "derivative; compute with the value itself")


def test_an_argument_that_is_not_a_number_is_an_input_error():
    with pytest.raises(adcli.InputError, match=r"^<lambda>\(\): every argument must be a number, or a list or "
                                               r"array of numbers$"):
        adcli.grad(lambda x: x * x)("a")


@pytest.mark.parametrize("make", [adcli.grad, adcli.compile], ids=["grad", "compile"])
def test_star_parameters_and_strings_are_one_clear_error(make):
    def f(*xs):
        return xs[0] * xs[1]

    with pytest.raises(adcli.InputError) as error:
        make(f)(2.0, 3.0)
    assert str(error.value) == ("f(): adcli names each input after its parameter, and *xs names none; write the "
                                "parameters out (f(x, y)) or take a list (f(xs) called with [2.0, 3.0])")

    def square(x):
        return x * x

    with pytest.raises(adcli.InputError) as error:
        make(square)("a")
    assert str(error.value) == "square(): every argument must be a number, or a list or array of numbers"


@pytest.mark.parametrize(("compute", "kind", "message"), [
    (lambda: adcli.Value(-2) ** 0.5, ValueError, "pow is undefined at base -2, exponent 0.5"),
    (lambda: adcli.Value(0.0).log(), ValueError, "log is undefined at 0"),
    (lambda: adcli.Value(1.0) / 0, ZeroDivisionError, "division by zero"),
    (lambda: adcli.Value(800.0).exp(), OverflowError, "overflow, exp(800) is too large for a float"),
])
def test_a_value_without_a_real_result_is_the_python_error_with_adcli_s_reason(compute, kind, message):
    """As Python's floats raise (math.pow(-2, 0.5) a ValueError, 1 / 0.0 a ZeroDivisionError, math.exp(800)
    an OverflowError), and an adcli EvaluationError, with the reason adcli gives everywhere."""
    with pytest.raises(kind) as error:
        compute()
    assert isinstance(error.value, adcli.EvaluationError)
    assert str(error.value) == message
