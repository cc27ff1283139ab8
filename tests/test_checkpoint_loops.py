"""Checkpointing by loop iteration (issue 13, item 10): for a function file, a checkpointing step is
one iteration of the loop in its body (the code before and after it a step each), not one equation;
the run moves the progress bar towards the step evaluations it will do.

References by hand: the file below computes y0 = 2x, then y <- y*x + 1 four times, then 3y, so
f(x) = 3(2x^5 + x^3 + x^2 + x + 1) and f'(x) = 3(10x^4 + 3x^2 + 2x + 1): 10.125 at x = 0.5.
Its steps: the prologue (1 equation), 4 iterations (2 each), the epilogue (1): 6 steps, so `none`
recomputes 6·5/2 = 15 of them and evaluates 15 + 6 = 21.
"""

from __future__ import annotations

import json

import pytest

from adcli.analysis import load
from adcli.checkpoint import Strategy, run, step_edges
from adcli.cli import app
from adcli.primitives import FIRST_PRIMITIVE

LOOP = '''def f(x):
    y = x * 2
    for _ in range(4):
        y = y * x + 1
    return y * 3
'''

NESTED = '''def f(x):
    y = x
    for _ in range(3):
        for _ in range(2):
            y = y * x
    return y
'''


@pytest.fixture
def loop_file(tmp_path):
    path = tmp_path / "loop4.py"
    path.write_text(LOOP, encoding="utf-8")
    return str(path)


def _equations(trace):
    return [i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE]


def test_steps_are_the_iterations_of_the_loop(loop_file):
    trace, _ = load(loop_file, {"x": 0.5}, iterations=True)
    assert trace.loop_lines == [3]
    assert step_edges(trace, _equations(trace)) == [0, 1, 3, 5, 7, 9, 10]


def test_a_nested_loop_is_part_of_an_iteration_of_the_outer_one(tmp_path):
    path = tmp_path / "nested.py"
    path.write_text(NESTED, encoding="utf-8")
    trace, _ = load(str(path), {"x": 0.5}, iterations=True)
    assert trace.loop_lines == [3]
    assert step_edges(trace, _equations(trace)) == [0, 2, 4, 6]  # 3 outer iterations of 2 multiplications


def test_iterations_are_followed_only_when_asked(loop_file):
    trace, _ = load(loop_file, {"x": 0.5})
    assert trace.iterations == [] and trace.loop_lines == []


def test_an_expression_steps_by_equation():
    trace, _ = load("sin(x)*x + x", {"x": 0.5})
    assert step_edges(trace, _equations(trace)) == [0, 1, 2, 3]


@pytest.mark.parametrize("strategy, recomputed, peak", [
    (Strategy("all"), 0, 10),  # every value of the 10 equations
    (Strategy("none"), 15, 2),  # one step's tape at a time: an iteration's 2 values
    (Strategy("every", 2), 6, None),
    (Strategy("binomial", 2), None, None),
])
def test_every_strategy_over_iterations_gives_the_hand_derivative(loop_file, strategy, recomputed, peak):
    trace, point = load(loop_file, {"x": 0.5}, iterations=True)
    result = run(trace, [point["x"]], strategy)
    assert result.steps == 6
    assert result.adjoints[trace.inputs[0]] == 10.125
    if recomputed is not None:
        assert result.recomputed == recomputed
    if peak is not None:
        assert result.peak_stored == peak


def test_grad_checkpoint_none_note_and_progress(runner, loop_file, monkeypatch):
    calls = []
    monkeypatch.setattr("adcli.progress.report", lambda what, done, total: calls.append((what, done, total)))
    result = runner.invoke(app, ["grad", loop_file, "--at", "x=0.5", "--checkpoint", "none", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["gradient"] == {"x": 10.125}
    assert ("checkpointing none: at most 2 values stored at once (storing all: 10), 15 steps recomputed "
            "(a step: one iteration of the loop at line 3)") in document["notes"]
    assert calls[-1] == ("checkpointing none, steps evaluated", 21, 21)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)


def test_report_fills_the_running_bar(monkeypatch):
    """progress.report turns the pulsing bar into a count: completed, total and the words shown."""
    import threading

    from adcli import progress

    class Bar:
        task_ids = [0]
        updates: list = []

        def update(self, task, **fields):
            self.updates.append((task, fields))

    bar = Bar()
    monkeypatch.setattr(progress, "_running", {"lock": threading.Lock(), "description": "adcli grad", "bar": bar})
    progress.report("checkpointing none, steps evaluated", 21, 21)
    assert bar.updates == [(0, {"completed": 21, "total": 21,
                                "description": "adcli grad: checkpointing none, steps evaluated 21 of 21"})]
    progress.report("steps", 1, 1000)
    progress.report("steps", 2, 1000)  # the same half percent as 1 of 1,000: not drawn again
    assert [fields["completed"] for _, fields in bar.updates] == [21, 1]
