"""The README's promises: its commands are the ones CI runs, and its examples run as shown.

Each ```console block is run in a scratch directory that holds `samples/`: `$ adcli ...` lines run
adcli's entry point, `$ cat FILE` and `$ printf ... > FILE` run in the shell. Shown output is
compared with what the command wrote: `error:`, `warning:`, `note:` and `wrote ...` lines (and
everything after an `error:` line) with standard error, the rest with standard output. A command
shown in full must print exactly that; one whose output has a `...` line must print the shown
lines in that order. JSON shown in full must parse to the same object."""

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from conftest import EntryPointRunner

from adcli.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
STDERR_LINE = re.compile(r"(error|warning|note): |wrote \S+$")


def _shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)


def test_first_two_blocks_install_run_and_test():
    install_and_run, install_and_test = _shell_blocks()[:2]
    assert "pip install" in install_and_run and "adcli grad" in install_and_run
    assert "pytest" in install_and_test


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _shell_blocks()[1] in ci_lines


def test_readme_names_no_document_a_user_does_not_have():
    for private in (r"design\.md", r"\bissue \d+", r"\bcontract\b", r"\bsession\b"):
        assert not re.search(private, README, flags=re.I), private


def _console_blocks() -> list[list[tuple[str, str]]]:
    """Each ```console block as its (command, shown output) pairs."""
    blocks = []
    for block in re.findall(r"```console\n(.*?)\n```", README, flags=re.S):
        examples = []
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
        blocks.append(examples)
    return blocks


def _split_shown(output: str) -> tuple[list[str], list[str]]:
    """The shown lines that belong to standard output and to standard error."""
    stdout, stderr = [], []
    after_error = False
    for line in output.splitlines():
        after_error = after_error or line.startswith("error: ")
        (stderr if after_error or STDERR_LINE.match(line) else stdout).append(line.rstrip())
    return stdout, stderr


def _assert_shows(printed: str, shown: list[str], where: str) -> None:
    """`printed` is exactly `shown`, or, when `shown` has `...` lines, holds its other lines in order."""
    lines = [line.rstrip() for line in printed.splitlines()]
    if "..." not in shown:
        assert lines == shown, where
        return
    position = 0
    text = "\n".join(lines)
    for line in shown:
        if line == "...":
            continue
        found = text.find(line, position)
        assert found >= 0, (where, line)
        position = found + len(line)


def _run(command: str) -> tuple[int, str, str]:
    """Run one shown command in the current directory: (exit code, stdout, stderr)."""
    words = shlex.split(command)
    if words[0] == "adcli":
        result = EntryPointRunner().invoke(app, words[1:])
        return result.exit_code, result.stdout, result.stderr
    assert words[0] in ("cat", "printf"), f"the README shows a command the test cannot check: {command}"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("block", _console_blocks(), ids=lambda block: block[0][0][:50])
def test_readme_example_prints_what_the_readme_shows(block, monkeypatch, tmp_path):
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    for command, output in block:
        code, stdout, stderr = _run(command)
        shown_out, shown_err = _split_shown(output)
        if shown_out[:1] == ["{"] and "..." not in shown_out:
            assert json.loads(stdout) == json.loads("\n".join(shown_out)), command
        else:
            _assert_shows(stdout, shown_out, command)
        _assert_shows(stderr, shown_err, command)
        shows_error = any(line.startswith("error: ") for line in shown_err)
        assert (code != 0) == shows_error, (command, code)
