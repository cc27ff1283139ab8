"""Function files and the tracer under hostile or unusual programs (issue 11, items 5, 10, 11, 18, 19).

References come from Python's own behaviour (which exception a float operation raises, what a
program that skips a line records) and from derivatives worked out by hand next to each test.
Run with and without the C extension (``ADCLI_NO_ACCELERATOR=1``): .ci/run runs the whole suite both ways.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import pytest

from adcli.errors import EvaluationError, TracedOverflowError, TracedValueError, TracedZeroDivisionError
from adcli.function_file import trace_function
from adcli.trace import Trace
from adcli.tracer import EscapeError, Recorder, recording, traced_math, traced_max


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(runner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(None, list(args))
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


# ================================================================ item 5: errors the file catches

CAUGHT = """
    def f(x):
        try:
            r = 1.0 / (x - 1.0)
        except ZeroDivisionError:
            r = 0.0
        return r + x * x
"""


@pytest.mark.parametrize("x, value, derivative", [
    (1.0, 1.0, 2.0),          # r = 0: f = x^2, f' = 2x = 2
    (3.0, 9.5, 5.75),         # r = 1/(x-1) = 0.5: f = 0.5 + 9, f' = -1/(x-1)^2 + 2x = -0.25 + 6
])
def test_a_caught_division_by_zero_goes_on_as_python_does(runner, in_tmp, x, value, derivative):
    write(in_tmp, "caught.py", CAUGHT)
    code, stdout, stderr = run(runner, "grad", "caught.py", "--at", f"x={x}", "--json")
    assert (code, stderr) == (0, "")
    result = json.loads(stdout)
    assert result["value"] == value
    assert result["gradient"] == {"x": derivative}


def test_the_failed_node_is_dropped_as_if_it_never_ran(in_tmp):
    """The trace of the caught division equals that of the same program without the division."""
    write(in_tmp, "caught.py", CAUGHT)
    write(in_tmp, "skipped.py", """
        def f(x):
            unused = x - 1.0
            r = 0.0
            return r + x * x
    """)
    caught, _ = trace_function("caught.py", {"x": 1.0})
    skipped, _ = trace_function("skipped.py", {"x": 1.0})
    assert caught.text() == skipped.text() == "v1 = x\nv2 = v1 - 1\nv3 = v1 * v1\nv4 = 0 + v3\nreturn v4"
    assert list(caught.recorded_values) == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_a_constant_recorded_only_for_the_failed_operation_is_dropped_too(in_tmp):
    write(in_tmp, "const.py", """
        def f(x):
            try:
                return x / 0.0
            except ZeroDivisionError:
                return x
    """)
    trace, _ = trace_function("const.py", {"x": 2.0})
    assert trace.text() == "v1 = x\nreturn v1"
    assert trace.literal == {}


@pytest.mark.parametrize("expression, x, builtin, ours", [
    ("1.0 / (x - x)", 1.0, ZeroDivisionError, TracedZeroDivisionError),
    ("(x - x) ** -1.0", 1.0, ZeroDivisionError, TracedZeroDivisionError),
    ("math.log(x)", -1.0, ValueError, TracedValueError),
    ("math.sqrt(x)", -1.0, ValueError, TracedValueError),
    ("math.acos(x)", 2.0, ValueError, TracedValueError),
    ("math.exp(x)", 1000.0, OverflowError, TracedOverflowError),
    ("x ** 400.0", 1e10, OverflowError, TracedOverflowError),
])
def test_the_error_a_file_catches_has_pythons_class(in_tmp, expression, x, builtin, ours):
    """The class Python raises on the same floats (checked here on plain floats) catches adcli's error,
    which is also an EvaluationError when nothing catches it."""
    with pytest.raises(builtin):
        eval(expression, {"math": math, "x": x})  # noqa: S307 - the reference: Python itself
    write(in_tmp, "catches.py", f"""
        import math


        def f(x):
            try:
                return {expression}
            except {builtin.__name__}:
                return x
    """)
    trace, _ = trace_function("catches.py", {"x": x})
    assert trace.text() in ("v1 = x\nreturn v1", "v1 = x\nv2 = v1 - v1\nreturn v1")
    write(in_tmp, "raises.py", f"""
        import math


        def f(x):
            return {expression}
    """)
    with pytest.raises(ours) as raised:
        trace_function("raises.py", {"x": x})
    assert isinstance(raised.value, builtin) and isinstance(raised.value, EvaluationError)
    assert str(raised.value).startswith("raises.py, line 5: v")


def test_an_uncaught_error_still_names_the_file_line_and_node(runner, in_tmp):
    write(in_tmp, "uncaught.py", """
        def f(x):
            try:
                r = 1.0 / (x - 1.0)
            except ValueError:
                r = 0.0
            return r
    """)
    assert run(runner, "grad", "uncaught.py", "--at", "x=1") == (
        1, "", "error: uncaught.py, line 3: v3 = 1 / v2: division by zero (v2 = 0)\n")


def test_many_caught_errors_leave_a_short_trace(in_tmp):
    """Each caught failure drops its node: 2,000 failures leave none of them on the tape."""
    write(in_tmp, "loop.py", """
        def f(x):
            total = x
            for k in range(2000):
                try:
                    total = total + 1.0 / (x - x)
                except ZeroDivisionError:
                    pass
            return total
    """)
    trace, _ = trace_function("loop.py", {"x": 1.0})
    # x, then x - x once per iteration (it ran), never a division
    assert len(trace) == 1 + 2000
    assert trace.text().count("/") == 0


# ================================================================ item 10: non-finite results

@pytest.mark.parametrize("body, message", [
    ("return 10**400", "f() returned an integer of about 401 digits; overflow, it is too large for a float"),
    ("return float('nan')", "f() returned nan, which is not a number (nan)"),
    ("return float('inf')", "f() returned inf, which is infinite (an overflow)"),
    ("return x, -math.inf", "f() returned -inf, which is infinite (an overflow)"),
])
def test_a_result_that_is_not_a_finite_float_is_exit_1(runner, in_tmp, body, message):
    write(in_tmp, "result.py", f"""
        import math


        def f(x):
            {body}
    """)
    assert run(runner, "grad", "result.py", "--at", "x=1") == (1, "", f"error: result.py: {message}\n")


def test_the_largest_int_below_overflow_is_a_result():
    """2**1024 - 2**970 is the first int float() refuses (it rounds up to 2**1024)."""
    with pytest.raises(OverflowError):
        float(2**1024 - 2**970)
    assert float(2**1024 - 2**970 - 1) == sys.float_info.max


@pytest.mark.parametrize("body, message", [
    ("return x + float('nan')", "line 5: v2 = v1 + nan: not a number (nan) in 1 + nan"),
    ("return x * math.inf", "line 5: v2 = v1 * inf: infinite, 1 * inf has an infinite argument"),
    ("return x * 10**400", "line 5: return x * 10**400: overflow, an integer of about 401 digits is too large "
                           "for a float"),
    ("return math.exp(x * 1000)", "line 5: v3 = exp(v2): overflow, exp(1000) is too large for a float"),
])
def test_nan_inf_and_overflow_each_have_their_word(runner, in_tmp, body, message):
    (in_tmp / "word.py").write_text(f"import math\n\n\ndef f(x):\n    {body}\n", encoding="utf-8")
    assert run(runner, "grad", "word.py", "--at", "x=1") == (1, "", f"error: word.py, {message}\n")


def test_min_from_infinity_still_works(in_tmp):
    """A plain inf constant is fine when the result is finite: min(inf, x) = x."""
    write(in_tmp, "best.py", """
        import math


        def f(x):
            best = math.inf
            for k in range(3):
                best = min(best, x + k)
            return best
    """)
    trace, point = trace_function("best.py", {"x": 2.0})
    assert trace.recorded_values[trace.outputs[0]] == 2.0


# ================================================================ item 11: foreign traced values

def test_a_traced_value_built_by_hand_is_one_line_exit_2(runner, in_tmp):
    write(in_tmp, "hand.py", """
        def f(x):
            return x + type(x)(1.0, 10**6)
    """)
    assert run(runner, "grad", "hand.py", "--at", "x=1") == (
        2, "", "error: hand.py, line 2: return x + type(x)(1.0, 10**6): a traced value cannot be built by hand; "
               "compute it from the parameters\n")


@pytest.mark.parametrize("use", [
    lambda old, new: old + new, lambda old, new: new * old, lambda old, new: old - 1.0, lambda old, new: 2.0 / old,
    lambda old, new: -old, lambda old, new: abs(old), lambda old, new: traced_math.sin(old),
    lambda old, new: old ** 2, lambda old, new: traced_max(old, new),
])
def test_a_traced_value_of_another_recording_is_refused(use):
    """Node 0 exists in both recordings: without the check the trace would silently use the wrong one."""
    first = Recorder(Trace())
    with recording(first):
        old = first.input("x", 1.0) * 3.0
    second = Recorder(Trace())
    new = second.input("y", 2.0)
    with recording(second):
        new = new * 1.0
        with pytest.raises(EscapeError, match="a traced value from another recording"):
            use(old, new)
    assert second.trace.text() == "v1 = y\nv2 = v1 * 1\nreturn "


def test_a_traced_value_kept_from_an_earlier_run_is_refused(runner, in_tmp, monkeypatch):
    """The file keeps x in a module that outlives a run (sys here); the second run must not use it."""
    monkeypatch.setattr(sys, "adcli_test_kept", [], raising=False)
    write(in_tmp, "keep.py", """
        import sys


        def f(x):
            kept = sys.adcli_test_kept
            kept.append(x)
            return x * kept[0]
    """)
    assert run(runner, "grad", "keep.py", "--at", "x=3")[0] == 0
    code, stdout, stderr = run(runner, "grad", "keep.py", "--at", "x=3")
    assert (code, stdout) == (2, "")
    assert stderr.startswith("error: keep.py, line 7: return x * kept[0]: a traced value from another recording")


# ================================================================ item 18: exits and settings

@pytest.mark.parametrize("where, call, line, shown", [
    ("top", "sys.exit(7)", 2, "sys.exit(7)"),
    ("function", "sys.exit(7)", 5, "sys.exit(7)"),
    ("function", "sys.exit()", 5, "sys.exit()"),
    ("top", "raise SystemExit('bye')", 2, "sys.exit('bye')"),
])
def test_a_file_that_exits_is_one_line_exit_1(runner, in_tmp, where, call, line, shown):
    top, body = (call, "return x") if where == "top" else ("pass", call)
    (in_tmp / "exits.py").write_text(f"import sys\n{top}\n\ndef f(x):\n    {body}\n", encoding="utf-8")
    assert run(runner, "grad", "exits.py", "--at", "x=1") == (
        1, "", f"error: exits.py, line {line}: the file called {shown}; a function file must not exit\n")


def test_interpreter_settings_the_file_changes_are_restored(runner, in_tmp):
    limit, streams, path, cwd = sys.getrecursionlimit(), (sys.stdin, sys.stdout, sys.stderr), list(sys.path), Path.cwd()
    (in_tmp / "sub").mkdir()
    write(in_tmp, "settings.py", """
        import io
        import os
        import sys

        sys.setrecursionlimit(60)
        sys.stdout = io.StringIO()
        sys.stderr = io.StringIO()
        sys.stdin = io.StringIO()
        sys.path.insert(0, "nowhere")
        os.chdir("sub")


        def f(x):
            return x * x
    """)
    code, stdout, stderr = run(runner, "grad", "settings.py", "--at", "x=3", "--json")
    assert (code, stderr) == (0, "")
    assert json.loads(stdout)["gradient"] == {"x": 6.0}  # d(x^2)/dx = 2x
    assert sys.getrecursionlimit() == limit
    assert (sys.stdin, sys.stdout, sys.stderr) == streams
    assert sys.path == path and Path.cwd() == cwd


def test_a_higher_recursion_limit_holds_while_the_function_runs(in_tmp):
    """As under python: the file raises the limit for its own deep recursion."""
    write(in_tmp, "deep.py", """
        import sys

        sys.setrecursionlimit(5000)


        def g(x, n):
            return x if n == 0 else g(x, n - 1) + 0.0


        def f(x):
            return g(x, 2000)
    """)
    before = sys.getrecursionlimit()
    trace, _ = trace_function("deep.py", {"x": 1.5})
    assert trace.recorded_values[trace.outputs[0]] == 1.5
    assert sys.getrecursionlimit() == before


# ================================================================ item 19: encodings

@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfdef f(x):\n    return x * x\n",
    b"# -*- coding: latin-1 -*-\ndef f(x):\n    label = '\xe9t\xe9'\n    assert len(label) == 3\n    return x * x\n",
])
def test_a_bom_or_a_coding_line_is_read_as_python_does(runner, in_tmp, data):
    (in_tmp / "encoded.py").write_bytes(data)
    code, stdout, stderr = run(runner, "grad", "encoded.py", "--at", "x=3", "--json")
    assert (code, stderr) == (0, "")
    assert json.loads(stdout)["gradient"] == {"x": 6.0}  # d(x^2)/dx = 2x


@pytest.mark.parametrize("data, reason", [
    (b"def f(x):\n    return x  # \xe9\n", "'utf-8' codec can't decode byte 0xe9 in position 26: invalid continuation byte"),
    (b"# coding: nonsense\ndef f(x):\n    return x\n", "unknown encoding: nonsense"),
])
def test_a_file_python_cannot_decode_is_refused(runner, in_tmp, data, reason):
    """python refuses both (checked here with compile's file reader); adcli says why, exit 2."""
    (in_tmp / "bad.py").write_bytes(data)
    import subprocess
    assert subprocess.run([sys.executable, "bad.py"], capture_output=True).returncode == 1
    assert run(runner, "grad", "bad.py", "--at", "x=1") == (2, "", f"error: bad.py: cannot read the file ({reason})\n")


def test_a_nul_byte_is_one_line(runner, in_tmp):
    (in_tmp / "nul.py").write_bytes(b"def f(x):\n    return x\x00\n")
    code, stdout, stderr = run(runner, "grad", "nul.py", "--at", "x=1")
    assert (code, stdout) == (2, "")
    assert stderr.startswith("error: nul.py") and "null bytes" in stderr and stderr.count("\n") == 1
