"""The console entry point (``adcli`` / ``python -m adcli``): click's own usage checks give one line
on stderr and exit 2, like adcli's errors; --version; only the command being run is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import adcli

SCRIPT = Path(sys.executable).with_name("adcli")  # the console script pip installed beside this Python


def adcli_run(*args: str) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.skip("the adcli console script is not installed beside this Python")
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True)


@pytest.mark.parametrize(("args", "message"), [
    (["grad", "--at", "x=1"], "error: Missing argument 'SRC' (see 'adcli grad --help')"),
    (["grad", "x", "--at"], "error: Option '--at' requires an argument (see 'adcli grad --help')"),
    (["grad", "x", "--bogus"], "error: No such option: --bogus (see 'adcli grad --help')"),
    (["gard", "x"], "error: No such command 'gard'. Did you mean 'grad'? (see 'adcli --help')"),
    (["hessian", "x", "--at", "x=1", "--digits", "40"],
     "error: Invalid value for '--digits': 40: give a whole number from 1 to 17 (see 'adcli hessian --help')"),
    (["grad", "x", "-k", "--at", "x=1"], "error: No such option: -k (see 'adcli grad --help'); "
                                         "for the expression -k, give its inputs: adcli grad -k --at k=…"),
    (["grad", "-k", "--at", "x=1"], "error: No such option: -k (see 'adcli grad --help'); "
                                    "for the expression -k, give its inputs: adcli grad -k --at k=…"),
    # rules takes a primitive's name, not an expression: -q there is a mistyped option, nothing else
    (["rules", "-q"], "error: No such option: -q (see 'adcli rules --help')"),
    (["rules", "-q", "sqrt"], "error: No such option: -q (see 'adcli rules --help')"),
    (["grad", "-x^2 +", "--at", "x=1"], "error: syntax error at column 7: the expression ends too early\n  -x^2 +\n"
                                        "        ^"),
    (["grad", "x", "--att", "x=1"],
     "error: No such option: --att (Possible options: --at, --format, --output) (see 'adcli grad --help')"),
])
def test_usage_mistakes_are_one_line_and_exit_2(args, message):
    done = adcli_run(*args)
    assert done.returncode == 2
    assert done.stderr == message + "\n"
    assert done.stdout == ""


def test_an_expression_that_starts_with_minus_after_double_dash():
    done = adcli_run("grad", "--at", "x=3", "--json", "--", "-x^2")
    assert done.returncode == 0, done.stderr
    assert '"value": -9.0' in done.stdout and '"x": -6.0' in done.stdout


def test_adcli_errors_keep_exit_codes_through_the_entry_point():
    assert adcli_run("grad", "log(x)", "--at", "x=-1").returncode == 1
    assert adcli_run("grad", "2x", "--at", "x=1").returncode == 2


def test_version_and_help_exit_0():
    done = adcli_run("--version")
    assert (done.returncode, done.stdout) == (0, f"adcli {adcli.__version__}\n")
    done = adcli_run("--help")
    assert done.returncode == 0 and "grad" in done.stdout and "checkpoint" in done.stdout
    done = adcli_run("grad", "--help")
    assert done.returncode == 0 and "Usage: adcli grad [OPTIONS]" in done.stdout


def test_no_arguments_shows_the_help_only():
    done = adcli_run()
    assert done.returncode == 2
    assert "Usage: adcli [OPTIONS] COMMAND" in done.stdout + done.stderr
    assert "error:" not in done.stderr
