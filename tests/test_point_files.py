"""A list input read from a file: ``--at x=@x.txt`` (issue 17: a 100,000-entry point does not fit on
a command line). The file holds numbers separated by commas, blanks or newlines, or a JSON array;
every mistake is one message naming the option, the file and the entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adcli.cli import app

ROSENBROCK = """def f(x):
    s = 0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s
"""


@pytest.fixture
def rosenbrock(tmp_path: Path) -> Path:
    path = tmp_path / "rosenbrock.py"
    path.write_text(ROSENBROCK)
    return path


@pytest.mark.parametrize("text", ["1.2 1.2\n1.2\n", "[1.2, 1.2, 1.2]", "1.2,1.2,\n 1.2"])
def test_a_list_read_from_a_file_is_the_list_given_inline(runner, rosenbrock, tmp_path, text):
    point = tmp_path / "x.txt"
    point.write_text(text)
    result = runner.invoke(app, ["hessian", str(rosenbrock), "--at", f"x=@{point}", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # at x = (1.2, 1.2, 1.2), by hand: ∂f/∂x0 = -400·1.2·(1.2 - 1.44) - 2(1 - 1.2) = 115.6,
    # H00 = 1200·1.44 - 400·1.2 + 2 = 1250, H01 = -400·1.2 = -480, H11 = 200 + 1250 = 1450
    assert document["gradient"]["x[0]"] == pytest.approx(115.6, rel=1e-12)
    assert document["hessian"][0][:2] == pytest.approx([1250, -480], rel=1e-12)
    assert document["hessian"][1][1] == pytest.approx(1450, rel=1e-12)


@pytest.mark.parametrize(("content", "at", "message"), [
    (None, "x=@{missing}", "error: --at x=@{missing}: cannot read {missing}: No such file or directory\n"),
    ("1 2 zz", "x=@{file}", "error: --at x=@{file}: entry 3 of {file}, 'zz', is not a number\n"),
    ("1 inf", "x=@{file}", "error: --at x=@{file}: entry 2 of {file}, 'inf', is not a finite number\n"),
    (None, "x=@", "error: --at x=@: name a file after '@', e.g. x=@x.txt\n"),
])
def test_a_bad_point_file_is_one_message(runner, rosenbrock, tmp_path, content, at, message):
    file, missing = tmp_path / "x.txt", tmp_path / "missing.txt"
    if content is not None:
        file.write_text(content)
    at = at.format(file=file, missing=missing)
    result = runner.invoke(app, ["hessian", str(rosenbrock), "--at", at])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == message.format(file=file, missing=missing)


def test_an_input_named_as_python_allows(runner, tmp_path):
    """Python parameters may be named α and β; --at takes such names (by hand: ∂(αβ)/∂α = β = 3)."""
    path = tmp_path / "greek.py"
    path.write_text("def f(α, β):\n    return α * β\n", encoding="utf-8")
    result = runner.invoke(app, ["grad", str(path), "--at", "α=2,β=3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradient"] == {"α": 3.0, "β": 2.0}
    result = runner.invoke(app, ["grad", str(path), "--at", "1α=2"])
    assert (result.exit_code, result.stderr) == (2, "error: --at 1α=2: expected name=value, e.g. --at x=1.5\n")
