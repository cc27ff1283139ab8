"""The README's promises: its commands are the ones CI runs, and its examples run as shown."""

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import EntryPointRunner

from adcli.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)


def test_first_two_blocks_install_run_and_test():
    install_and_run, install_and_test = _shell_blocks()[:2]
    assert "pip install" in install_and_run and "adcli grad" in install_and_run
    assert "pytest" in install_and_test


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _shell_blocks()[1] in ci_lines


def _console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for each `$ adcli ...` example shown in full in the README."""
    examples = []
    for block in re.findall(r"```console\n(.*?)\n```", README, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


@pytest.mark.parametrize("command,output", _console_examples(), ids=lambda v: v[:40] if isinstance(v, str) else "")
def test_readme_example_prints_what_the_readme_shows(command, output, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    args = shlex.split(command)[1:]
    result = EntryPointRunner().invoke(app, args)
    shown = result.stdout + result.stderr
    for line in output.splitlines():
        if line.strip() in ("...", "") or line.startswith("  ...") or line.startswith("{"):
            continue
        # JSON in the README is abbreviated onto fewer lines; compare its key/value pairs by text.
        if re.match(r'\s+"', line):
            for pair in re.findall(r'"\w+": [^,{}]+|"\w+": \{[^}]*\}', line):
                key = pair.split(":")[0]
                assert key in shown, (command, key)
            continue
        assert line.rstrip() in shown, (command, line)
