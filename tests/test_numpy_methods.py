"""Methods on traced values (``x.exp()``) and NumPy in function files (ufuncs, object arrays, --numpy).

References are hand derivatives evaluated with :mod:`math`, or mpmath at 30 digits on plain numbers.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import mpmath
import pytest

import adcli
from adcli.analysis import load
from adcli.cli import app


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def gradient(path: str, at: dict, arrays: bool = False) -> adcli.Gradient:
    trace, point = load(path, at, None, False, arrays)
    return adcli.gradient(trace, point)


def test_methods_are_the_primitives(tmp_path):
    path = write(tmp_path, "methods.py", """
        def f(x):
            return x.exp() + x.log() + x.sin() + x.cos() + x.tanh() + x.sigmoid() + x.relu() + x.sqrt() + x.abs() + x**3
        """)
    x = 0.7
    s = 1 / (1 + math.exp(-x))
    expected = (math.exp(x) + 1 / x + math.cos(x) - math.sin(x) + 1 - math.tanh(x) ** 2 + s * (1 - s) + 1
                + 0.5 / math.sqrt(x) + 1 + 3 * x**2)
    result = gradient(path, {"x": x})
    assert result.gradients[0]["x"] == pytest.approx(expected, rel=1e-14)
    text = result.trace.text()
    for call in ("exp(x)", "log(x)", "sin(x)", "cos(x)", "tanh(x)", "sigmoid(x)", "relu(x)", "sqrt(x)", "abs(x)"):
        assert f"= {call.replace('(x)', '(v1)')}\n" in text, call


def test_numpy_ufuncs_on_a_traced_scalar_record_primitives(tmp_path):
    path = write(tmp_path, "ufuncs.py", """
        import numpy as np

        def f(x):
            return np.sin(x) * np.exp(x) + np.tanh(x) + np.maximum(x, 0) + np.sqrt(x) + 2.0 * np.float64(3) * x
        """)
    x = 0.4
    expected = (math.cos(x) * math.exp(x) + math.sin(x) * math.exp(x) + 1 - math.tanh(x) ** 2 + 1
                + 0.5 / math.sqrt(x) + 6)
    result = gradient(path, {"x": x})
    assert result.gradients[0]["x"] == pytest.approx(expected, rel=1e-14)
    text = result.trace.text()
    assert text == ("v1 = x\nv2 = sin(v1)\nv3 = exp(v1)\nv4 = v2 * v3\nv5 = tanh(v1)\nv6 = v4 + v5\nv7 = max(v1, 0)\n"
                    "v8 = v6 + v7\nv9 = sqrt(v1)\nv10 = v8 + v9\nv11 = 6 * v1\nv12 = v10 + v11\nreturn v12")
    assert "branch" not in " ".join(result.evaluated.notes)  # np.maximum is the primitive, not a comparison


def test_object_arrays_dot_matmul_sum(tmp_path):
    path = write(tmp_path, "dot.py", """
        import numpy as np

        def f(w: np.ndarray, x: np.ndarray):
            return np.dot(w, x) + w @ x + np.sum(np.exp(w))
        """)
    w, x = [0.5, -1.0, 2.0], [3.0, 0.25, -0.5]
    result = gradient(path, {"w": w, "x": x})
    # d/dw_i = 2 x_i + exp(w_i), d/dx_i = 2 w_i
    expected = {**{f"w[{i}]": 2 * x[i] + math.exp(w[i]) for i in range(3)}, **{f"x[{i}]": 2 * w[i] for i in range(3)}}
    assert result.gradients[0] == pytest.approx(expected, rel=1e-15)


NETWORK_NUMPY = """
    import numpy as np

    def f(w1, w2, x):
        h = np.tanh(w1.reshape(3, 2) @ x)
        h = np.maximum(h, 0)
        return np.sum(np.exp(w2 * h)) + np.dot(w2, h)
    """
NETWORK_LISTS = """
    import math

    def f(w1, w2, x):
        h = [math.tanh(w1[2 * i] * x[0] + w1[2 * i + 1] * x[1]) for i in range(3)]
        h = [max(v, 0) for v in h]
        return sum(math.exp(a * b) for a, b in zip(w2, h)) + sum(a * b for a, b in zip(w2, h))
    """
POINT = {"w1": [0.5, -1.0, 0.25, 0.75, -0.5, 0.3], "w2": [1.5, -2.0, 0.7], "x": [0.9, -0.4]}


def _network_reference() -> dict[str, float]:
    """The network's gradient by mpmath's numerical differentiation at 30 digits, on plain numbers."""
    names = [f"{name}[{k}]" for name, values in POINT.items() for k in range(len(values))]
    flat = [mpmath.mpf(v) for values in POINT.values() for v in values]

    def network(*p):
        w1, w2, x = p[:6], p[6:9], p[9:]
        h = [max(mpmath.tanh(w1[2 * i] * x[0] + w1[2 * i + 1] * x[1]), 0) for i in range(3)]
        return sum(mpmath.exp(a * b) + a * b for a, b in zip(w2, h))

    with mpmath.workdps(30):
        return {name: float(mpmath.diff(lambda t, k=k: network(*flat[:k], t, *flat[k + 1:]), flat[k]))
                for k, name in enumerate(names)}


def test_two_layer_network_numpy_equals_lists(tmp_path, runner):
    numpy_file = write(tmp_path, "net_np.py", NETWORK_NUMPY)
    lists = gradient(write(tmp_path, "net_lists.py", NETWORK_LISTS), POINT).gradients[0]
    arrays = gradient(numpy_file, POINT, arrays=True).gradients[0]
    assert arrays == pytest.approx(lists, rel=1e-15, abs=1e-15)
    assert arrays == pytest.approx(_network_reference(), rel=1e-12, abs=1e-14)
    at = ",".join(f"{k}=[{','.join(map(str, v))}]" for k, v in POINT.items())
    shown = runner.invoke(app, ["grad", numpy_file, "--numpy", "--at", at, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["gradient"] == pytest.approx(lists, rel=1e-15, abs=1e-15)
    without = runner.invoke(app, ["grad", numpy_file, "--at", at])
    assert without.exit_code == 2
    assert without.stderr == (f"error: {numpy_file}, line 4 (h = np.tanh(w1.reshape(3, 2) @ x)): AttributeError: "
                              "'TracedList' object has no attribute 'reshape'\n")


def test_an_array_result_is_several_outputs(tmp_path, runner):
    path = write(tmp_path, "outs.py", """
        import numpy as np

        def f(w: np.ndarray):
            return np.sin(w) * 2
        """)
    shown = runner.invoke(app, ["jacobian", path, "--at", "w=[0.5,1]", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)["jacobian"]
    assert rows[0] == pytest.approx([2 * math.cos(0.5), 0], rel=1e-15)
    assert rows[1] == pytest.approx([0, 2 * math.cos(1)], rel=1e-15)


@pytest.mark.parametrize("body", ["np.cbrt(x)", "np.sum(np.cbrt(np.array([x, x])))"])
def test_an_unknown_ufunc_names_itself_and_the_line(tmp_path, runner, body):
    path = write(tmp_path, "cbrt.py", f"""
        import numpy as np

        def f(x):
            return {body}
        """)
    shown = runner.invoke(app, ["grad", path, "--at", "x=0.5"])
    assert shown.exit_code == 2 and shown.stdout == ""
    assert shown.stderr.startswith(f"error: {path}, line 4: return {body}: numpy.cbrt is not differentiable by "
                                   "adcli; supported: ")
    assert "maximum" in shown.stderr and shown.stderr.count("\n") == 1


def test_numpy_with_a_number_parameter_and_finite_differences(tmp_path, runner):
    """--numpy turns the list w into an array and leaves the number x a number, also where --check fd
    runs the program itself. By hand: f = (x + 1) Σw², ∂f/∂w_i = 2 w_i (x + 1) = 6, 12, 18, ∂f/∂x = 14."""
    path = write(tmp_path, "npf.py", """
        import numpy as np


        def f(w, x=1.0):
            return np.sum(w * w) * x + w @ w
    """)
    result = runner.invoke(app, ["grad", path, "--numpy", "--at", "w=[1,2,3],x=2", "--check", "fd", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["gradient"] == {"w[0]": 6.0, "w[1]": 12.0, "w[2]": 18.0, "x": 14.0}
    assert [check["fd"] for check in document["checks"]] == pytest.approx([6, 12, 18, 14], rel=1e-8)
