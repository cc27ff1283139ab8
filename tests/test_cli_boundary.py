"""The command line's boundary with the world: what SRC names, standard input and output that are
closed, full or not UTF-8, Ctrl-C, a Graphviz that hangs, and the conventions of its options
(-h, -V, a leading minus, -o FILE). Each failure is one line on stderr and the contract's exit code.

These run the installed console script in a subprocess, because what they test (closed file
descriptors, signals, the terminal's encoding) belongs to a real process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("adcli")
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def adcli(*args: str, cwd: Path | None = None, env: dict | None = None, **options) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=60, **options)


# ---------------------------------------------------------------- what SRC names
def test_standard_input_is_never_run_as_a_file(tmp_path):
    """echo /path/to/any.py | adcli grad - : the text is an expression, and 'a.py' is not a valid one.
    The file would have written a marker if it had run."""
    marker = tmp_path / "ran"
    program = tmp_path / "evil.py"
    program.write_text(f"open({str(marker)!r}, 'w').write('ran')\ndef f(x):\n    return x\n")
    done = adcli("grad", "-", "--at", "x=1", input=f"{program}\n")
    assert done.returncode == 2
    assert done.stderr.startswith("error: syntax error at column 1")
    assert done.stdout == ""
    assert not marker.exists()


def test_help_says_a_py_source_is_run():
    for command in ("grad", "trace", "jacobian", "hessian", "compare", "graph", "codegen", "checkpoint"):
        done = adcli(command, "--help")
        assert done.returncode == 0
        flat = " ".join(done.stdout.split())
        assert "a .py file, which is run as Python" in flat, command


def test_a_file_named_like_an_input_does_not_shadow_the_expression(tmp_path):
    (tmp_path / "x").write_text("not python\n")
    done = adcli("grad", "x", "--at", "x=3", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"] == {"x": 1.0}


@pytest.mark.parametrize(("source", "message"), [
    ("samples/loop", "error: samples/loop: no such file (did you mean samples/loop.py?)\n"),
    ("samples", "error: samples: is a directory; give a .py file or an expression\n"),
    ("samples/", "error: samples/: is a directory; give a .py file or an expression\n"),
    ("./f.py", "error: ./f.py: no such file\n"),
    ("model.py", "error: model.py: no such file\n"),
])
def test_paths_are_paths(source, message):
    done = adcli("grad", source, "--at", "x=1", cwd=SAMPLES.parent)
    assert done.returncode == 2
    assert done.stderr == message


def test_a_folder_named_like_a_given_input_does_not_shadow_the_expression(tmp_path):
    (tmp_path / "x").mkdir()
    done = adcli("grad", "x*x", "--at", "x=3", "--json", cwd=tmp_path)
    assert json.loads(done.stdout)["gradient"] == {"x": 6.0}
    done = adcli("grad", "x", "--at", "x=3", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"] == {"x": 1.0}


def test_division_is_not_a_path(tmp_path):
    done = adcli("grad", "x/y", "--at", "x=1,y=2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"] == {"x": 0.5, "y": -0.25}


# ---------------------------------------------------------------- standard streams
def test_standard_input_closed():
    done = adcli("grad", "-", "--at", "x=1", stdin=None, preexec_fn=lambda: os.close(0))
    assert done.returncode == 2
    assert done.stderr == "error: standard input is closed: pipe an expression, e.g. echo 'x^2' | adcli grad - --at x=2\n"


@pytest.mark.parametrize("extra", [[], ["--json"], ["--format", "csv"], ["--format", "markdown"]])
def test_standard_output_closed(extra):
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    done = subprocess.run([str(SCRIPT), "grad", "x*y", "--at", "x=1,y=2", *extra], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1), timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("error: standard output is closed, so the result cannot be written; "
                           "give -o FILE to write it to a file\n")


def test_codegen_to_closed_standard_output():
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    done = subprocess.run([str(SCRIPT), "codegen", "x*y"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, preexec_fn=lambda: os.close(1), timeout=60)
    assert (done.returncode, done.stderr.count("\n"), "Traceback" in done.stderr) == (1, 1, False)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("extra", [[], ["--json"], ["--format", "csv"]])
def test_a_full_disk_is_one_line(extra):
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(SCRIPT), "grad", "x*y", "--at", "x=1,y=2", *extra], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == "error: cannot write to standard output: No space left on device\n"


def test_a_reader_that_goes_away_is_not_an_error():
    """adcli … | head -1: the pipe closes early; adcli stops quietly (no traceback, no message)."""
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    done = subprocess.run(f"'{SCRIPT}' trace 'sin(x)' --at x=1 --rows all | head -c 10 >/dev/null; "
                          "echo \"${PIPESTATUS[0]}\"", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, timeout=60)
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr
    assert done.stdout.strip() in ("0", "141")


def test_an_ascii_terminal_gets_ascii_spellings():
    """PYTHONIOENCODING=ascii: ∂/∂x is written d/dx and v̄ vbar, instead of a UnicodeEncodeError."""
    done = adcli("grad", "x*y", "--at", "x=1,y=2", env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "d/dx   2" in done.stdout and "d/dy   1" in done.stdout
    done = adcli("trace", "x*y", "--at", "x=1,y=2", env={"PYTHONIOENCODING": "ascii", "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    assert "vbar1 += vbar3 * v2" in done.stdout
    done.stdout.encode("ascii")  # every character made it through as ASCII


def test_an_ascii_terminal_draws_the_sparsity_pattern_with_dots():
    """The spy picture's empty blocks are spelled '.', not '*' (the ASCII spelling of the product dot,
    which read as entries); a non-zero is '#'. By hand: x*y + sin(z) has ∂²/∂x∂y, ∂²/∂y∂x and ∂²/∂z²."""
    done = adcli("hessian", "x*y + sin(z)", "--at", "x=1,y=2,z=0.5", "--sparse", "on",
                 env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "star colouring: 2 colours\n.#.\n#..\n..#\n3 sweeps -> 2 sweeps\n" in done.stdout
    done.stdout.encode("ascii")


def test_an_ascii_terminal_gets_ascii_errors():
    done = adcli("grad", "θ+x", "--at", "x=1", env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    done.stderr.encode("ascii")


# ---------------------------------------------------------------- Ctrl-C
def test_interrupted_while_working_is_one_line_and_130(tmp_path):
    program = tmp_path / "slow.py"
    program.write_text("import time\ndef f(x):\n    time.sleep(30)\n    return x\n")
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    process = subprocess.Popen([str(SCRIPT), "grad", str(program), "--at", "x=1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert (process.returncode, stdout, stderr) == (130, "", "error: interrupted\n")


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06, 0.1])
def test_interrupted_while_starting_never_shows_a_traceback(delay):
    """Ctrl-C during start-up: once Python runs adcli's code, exit 130 with one line. (Before that,
    the interpreter itself is still starting, and what it says about the signal is Python's own.)"""
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    process = subprocess.Popen([str(SCRIPT), "grad", "x", "--at", "x=1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    if stderr.startswith("Fatal Python error: init_import_site") or (
            "Traceback" in stderr and ", in main" not in stderr and "adcli/cli.py" not in stderr):
        return  # Python was still starting, or importing the package and its entry module: no adcli code yet
    assert process.returncode in (0, 130, -signal.SIGINT), stderr
    assert stderr == ("error: interrupted\n" if process.returncode == 130 else ""), (process.returncode, stderr)


# ---------------------------------------------------------------- Graphviz, bounded
def test_a_dot_that_hangs_is_stopped(tmp_path, monkeypatch, runner):
    """In-process, with the bound lowered from its 20 seconds to 1 to keep the test short."""
    from adcli import graph

    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(graph, "DOT_SECONDS", 1)
    started = time.monotonic()
    result = runner.invoke(None, ["graph", "x*y", "--format", "svg"])
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    assert result.stderr == (f"error: Graphviz's dot ({fake}) did not finish within 1 seconds; "
                             "the dot format writes the graph as text instead\n")


def test_a_dot_that_cannot_run(tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/nonexistent/interpreter\n")
    fake.chmod(0o755)
    done = adcli("graph", "x*y", "--format", "svg", env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert done.returncode == 2
    assert done.stderr == f"error: Graphviz's dot ({fake}) cannot be run: No such file or directory\n"


# ---------------------------------------------------------------- conventions of the options
@pytest.mark.parametrize(("args", "value", "gradient"), [
    (["grad", "-x^2 + y", "--at", "x=1,y=2"], 1.0, {"x": -2.0, "y": 1.0}),
    (["grad", "-x", "--at", "x=3"], -3.0, {"x": -1.0}),
    (["grad", "--at", "x=3", "-x^2"], -9.0, {"x": -6.0}),
    (["grad", "--at", "x=3", "--", "-x^2"], -9.0, {"x": -6.0}),
])
def test_a_leading_minus_is_an_expression(args, value, gradient):
    done = adcli("grad", "--json", *args[1:])
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["value"], document["gradient"]) == (value, gradient)


@pytest.mark.parametrize("command", ["codegen", "graph"])
def test_a_leading_minus_without_a_point(command):
    """codegen and graph take no --at for an expression, so -x is the expression."""
    done = adcli(command, "-x")
    assert done.returncode == 0, done.stderr
    assert "v2 = -v1" in done.stdout  # the Wengert list of -x: one negation of the input


def test_compare_with_a_leading_minus():
    done = adcli("compare", "-(y)", "--at", "y=1", "--json", "--sympy-timeout", "5")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["value"] == -1.0  # -(y) at y = 1
    assert [row["value"] for row in document["methods"] if row["method"] == "reverse-mode AD"] == [-1.0]


def test_short_help_and_version():
    done = adcli("grad", "-h")
    assert done.returncode == 0 and done.stdout.startswith("Usage: adcli grad [OPTIONS] SRC\n")
    assert "Examples:\n    adcli grad " in done.stdout
    assert "--mode [reverse|forward]" in done.stdout or "--mode <reverse|forward>" in done.stdout
    assert "<str>" not in done.stdout and "{" not in done.stdout.splitlines()[0]
    done = adcli("-V")
    assert done.returncode == 0 and done.stdout.startswith("adcli ")


def test_a_command_without_arguments_prints_its_help():
    done = adcli("trace")
    assert done.stdout.startswith("Usage: adcli trace [OPTIONS] SRC\n")
    assert done.stderr == ""


def test_shell_completion_is_offered():
    done = adcli("--help")
    assert "--install-completion" in done.stdout and "--show-completion" in done.stdout


@pytest.mark.parametrize(("suffix", "check"), [
    (".json", lambda text: json.loads(text)["gradient"] == {"x": 2.0, "y": 1.0}),
    (".csv", lambda text: text.splitlines() == ["x,y,value,d/dx,d/dy", "1.0,2.0,2.0,2.0,1.0"]),
    (".md", lambda text: "| value | 2 |" in text),
    (".tex", lambda text: "\\begin{tabular}" in text),
    (".txt", lambda text: "value" in text and "\x1b" not in text),
])
def test_output_file_with_its_format_from_the_suffix(tmp_path, suffix, check):
    target = tmp_path / f"result{suffix}"
    done = adcli("grad", "x*y", "--at", "x=1,y=2", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"wrote {target}\n"
    assert check(target.read_text())


def test_output_file_that_cannot_be_written_leaves_nothing(tmp_path):
    target = tmp_path / "missing-folder" / "result.json"
    done = adcli("grad", "x*y", "--at", "x=1,y=2", "-o", str(target))
    assert done.returncode == 1
    assert done.stderr == f"error: -o {target}: cannot write the file (No such file or directory)\n"
    done = adcli("grad", "x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "result.xyz"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: -o {tmp_path / 'result.xyz'}: the suffix does not say the format")
    assert list(tmp_path.iterdir()) == []


def test_codegen_writes_a_file(tmp_path):
    target = tmp_path / "grad.py"
    done = adcli("codegen", "x*y", "-o", str(target))
    assert done.returncode == 0, done.stderr
    namespace: dict = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)  # noqa: S102 - code adcli generated
    assert namespace["f_grad"](3.0, 4.0) == (12.0, (4.0, 3.0))  # x·y at (3, 4): value 12, gradient (y, x)


def test_output_file_through_a_link_and_into_a_device(tmp_path):
    """-o follows a link (the link stays a link) and keeps the mode of the file it replaces; a device is
    written into, not replaced: /dev/full gives the disk-full line."""
    target = tmp_path / "target.json"
    target.write_text("{}")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    done = adcli("grad", "x*y", "--at", "x=1,y=2", "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and json.loads(target.read_text())["value"] == 2.0
    assert target.stat().st_mode & 0o777 == 0o600
    if os.path.exists("/dev/full"):
        done = adcli("grad", "x*y", "--at", "x=1,y=2", "--json", "-o", "/dev/full")
        assert (done.returncode, done.stderr) == (1, "error: -o /dev/full: cannot write the file "
                                                     "(No space left on device)\n")
        assert not os.path.isfile("/dev/full")  # still the device


@pytest.mark.parametrize("args", [["grad", "-h"], ["-h"], ["grad"], ["-V"]])
def test_help_and_version_to_a_closed_output(args):
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    done = subprocess.run([str(SCRIPT), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: os.close(1), timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("error: standard output is closed, so the result cannot be written; "
                           "give -o FILE to write it to a file\n")


def test_columns_zero_is_taken_as_unset():
    done = adcli("jacobian", "x*y, sin(x)", "--at", "x=1,y=2", env={"COLUMNS": "0"})
    assert done.returncode == 0 and "0.84147098" in done.stdout  # sin(1), not lost


def test_a_bom_on_standard_input_is_no_character():
    done = adcli("grad", "-", "--at", "x=1", "--json", input="\ufeffx*2")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"] == {"x": 2.0}


def test_a_division_beside_a_folder_is_a_division(tmp_path):
    (tmp_path / "x2").mkdir()
    done = adcli("grad", "x2/y", "--at", "x2=1,y=2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gradient"] == {"x2": 0.5, "y": -0.25}
