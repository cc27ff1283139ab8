"""Reverse mode's memory–time trade-off: checkpointing strategies over the steps of a trace.

A step is one iteration of the main loop of a function file (the unit the theory counts: the
code before the loop and after it are a step each), or one equation of an expression's trace or of
a file without a loop. Going forward, step ``i`` turns the live state before it (the values computed
earlier and still needed later) into the state after it. Reversing step ``i`` needs the state before
it. The strategies differ in what they keep:

* ``all``: tape every value in one forward sweep, then reverse: n values stored, nothing recomputed.
* ``none``: keep only the inputs; to reverse step i, advance from the start: O(1) stored,
  n(n−1)/2 recomputed steps.
* ``every=K``: keep the state every K steps in a first sweep, then tape and reverse one segment at a
  time: about n/K + K stored, n recomputed.
* ``binomial=S``: Griewank's binomial (revolve) schedule with S checkpoint slots (the initial state
  included): the fewest recomputations any schedule with S slots can do (Griewank & Walther,
  *Evaluating Derivatives*; ACM TOMS Algorithm 799).

Every strategy computes each step's partials from the same values and accumulates adjoints in the
same order, so all give the same gradient, bit for bit.
"""

from __future__ import annotations

import bisect
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adcli import scalar
from adcli.errors import InputError
from adcli.evaluate import evaluate_steps
from adcli.limits import MAX_COUNT, parse_whole
from adcli.primitives import FIRST_PRIMITIVE, PRIMITIVES, functions_of
from adcli.sweeps import reverse_steps
from adcli.trace import Trace


@dataclass
class Strategy:
    kind: str  # "all", "none", "every" or "binomial"
    parameter: int = 0  # K or S

    @property
    def label(self) -> str:
        return self.kind if self.kind in ("all", "none") else f"{self.kind}={self.parameter}"


def parse_strategy(text: str) -> Strategy:
    """``all``, ``none``, ``every=K`` or ``binomial=S``."""
    name, _, value = text.partition("=")
    name = name.strip()
    if name in ("all", "none") and not value:
        return Strategy(name)
    number = parse_whole(value, 1, MAX_COUNT) if name in ("every", "binomial") else None
    if number is not None:
        return Strategy(name, number)
    shown = text if len(text) <= 40 else f"{text[:40]}…"
    raise InputError(f"choose all, none, every=K or binomial=S (K, S whole numbers from 1 to {MAX_COUNT:,})",
                     option="checkpoint", value=shown)


@dataclass
class Run:
    """What one strategy did: its gradient and its measured costs, next to the theory."""

    strategy: Strategy
    adjoints: list[float]
    steps: int  # n, the equations reversed
    forward_evaluations: int = 0  # every evaluation of a step, the taping ones included
    peak_stored: int = 0  # the most values held at once in checkpoints and tapes
    seconds: float = 0.0
    theory_recomputed: int = 0
    theory_stored: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def recomputed(self) -> int:
        """Step evaluations beyond one forward sweep."""
        return self.forward_evaluations - self.steps


class _Machine:
    """Evaluates and reverses steps of a trace, counting evaluations and stored values.

    A state maps node → value for the values still needed; inputs and constants are always at
    hand (in ``base``) and are not counted as stored.
    """

    def __init__(self, trace: Trace, values_at_inputs: dict[int, float], output: int) -> None:
        self.trace = trace
        functions = functions_of(scalar)
        self.apply = lambda i, code, args: functions[code](*args)
        self.equations = [i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE]
        #: where each step begins, as a position in ``equations`` (the last entry: their count)
        self.edges = step_edges(trace, self.equations)
        last_use = [-1] * len(trace)
        for position, i in enumerate(self.equations):
            for a in trace.args(i):
                last_use[a] = position
        last_use[output] = len(self.equations)  # the output stays live to the end
        self.base = {**trace.literal, **values_at_inputs}
        for node in self.base:
            last_use[node] = len(self.equations)  # inputs and constants are always at hand
        self.last_use = last_use
        live = self.width = 0  # the most computed values alive at once between two steps
        edges, k = self.edges, 1
        for position, i in enumerate(self.equations):
            live += 1 - sum(1 for a in set(trace.args(i)) if trace.op[a] >= FIRST_PRIMITIVE and last_use[a] == position)
            if position + 1 == edges[k]:
                self.width = max(self.width, live)
                k += 1
        self.adjoint = [0.0] * len(trace)
        self.adjoint[output] = 1.0
        self.evaluations = 0
        self.on_step: Callable[[int], None] | None = None  # told how many steps each evaluation ran
        self.stored = 0  # values held in checkpoints and tapes now
        self.peak = 0

    def _hold(self, count: int) -> None:
        self.stored += count
        self.peak = max(self.peak, self.stored)

    def start_state(self) -> dict[int, float]:
        return dict(self.base)

    def live_count(self, state: dict[int, float]) -> int:
        return len(state) - len(self.base)

    def advance(self, state: dict[int, float], start: int, stop: int) -> dict[int, float]:
        """The live state after steps start … stop−1, from the live state before them."""
        values = self.evaluate(state, start, stop)
        end, last_use = self.edges[stop], self.last_use
        return {node: value for node, value in values.items() if last_use[node] >= end}

    def evaluate(self, state: dict[int, float], start: int, stop: int) -> dict[int, float]:
        """``state`` with the values of steps start … stop−1 added."""
        state = dict(state)
        trace = self.trace
        evaluate_steps(trace.op, trace.arg0, trace.arg1, state,
                       self.equations[self.edges[start]:self.edges[stop]], self.apply)
        self.evaluations += stop - start
        if self.on_step is not None:
            self.on_step(stop - start)
        return state

    def reverse_segment(self, state: dict[int, float], start: int, stop: int) -> None:
        """Tape steps start … stop−1 from the state before them (holding each of their values), then reverse them."""
        taped = self.evaluate(state, start, stop)
        first, end = self.edges[start], self.edges[stop]
        self._hold(end - first)
        trace = self.trace

        def partials_at(i: int) -> tuple:
            return PRIMITIVES[trace.op[i]].partials(scalar, *(taped[a] for a in trace.args(i)), taped[i])

        reverse_steps(trace.arg0, trace.arg1, reversed(self.equations[first:end]), partials_at, self.adjoint)
        self.stored -= end - first


def step_edges(trace: Trace, equations: list[int]) -> list[int]:
    """Where each checkpointing step begins, as positions in ``equations`` (the trace's operation
    nodes, in order), then their count: at every iteration of a function file's main loop (and at
    its start and end), else at every equation."""
    n = len(equations)
    if not trace.iterations:
        return list(range(n + 1))
    starts = {bisect.bisect_left(equations, node) for node in trace.iterations}
    return sorted(starts.union((0, n)))


def step_unit(trace: Trace) -> str:
    """What one checkpointing step of ``trace`` is, in words."""
    if not trace.iterations:
        return "one equation"
    lines = ", ".join(map(str, trace.loop_lines))
    return f"one iteration of the loop at line{'s' if len(trace.loop_lines) > 1 else ''} {lines}"


def run(trace: Trace, point: list[float], strategy: Strategy, output: int = 0,
        on_step: Callable[[int], None] | None = None) -> Run:
    """Reverse the trace with ``strategy``; the adjoints equal those of a plain reverse sweep.
    ``on_step`` is told how many steps each evaluation ran (for a progress bar)."""
    machine = _Machine(trace, dict(zip(trace.inputs, point)), trace.outputs[output])
    machine.on_step = on_step
    n = len(machine.edges) - 1
    began = time.perf_counter()
    start_state = machine.start_state()
    if n == 0:
        pass  # no operation to reverse: the output is an input or a constant
    elif strategy.kind == "all":
        machine.reverse_segment(start_state, 0, n)
    elif strategy.kind == "none":
        for position in range(n - 1, -1, -1):
            machine.reverse_segment(machine.advance(start_state, 0, position), position, position + 1)
    elif strategy.kind == "every":
        _every(machine, strategy.parameter, n, start_state)
    else:
        _revolve(machine, strategy.parameter, n, start_state)
    result = Run(strategy, machine.adjoint, n, machine.evaluations, machine.peak, time.perf_counter() - began)
    edges = machine.edges
    largest = max((b - a for a, b in zip(edges, edges[1:])), default=1)
    result.theory_recomputed, result.theory_stored = theory(strategy, n, machine.width, largest, edges[-1])
    return result


def _every(machine: _Machine, k: int, n: int, state: dict[int, float]) -> None:
    """Uniform checkpoints: a first sweep keeps the state every k steps; segments reverse one by one."""
    starts = list(range(0, n, k))
    checkpoints = {}
    for position in starts:
        checkpoints[position] = state
        machine._hold(machine.live_count(state))
        state = machine.advance(state, position, min(position + k, n))
    for position in reversed(starts):
        state = checkpoints.pop(position)
        machine.reverse_segment(state, position, min(position + k, n))
        machine.stored -= machine.live_count(state)


def _revolve(machine: _Machine, slots: int, n: int, start: dict[int, float]) -> None:
    """Griewank's binomial schedule, with an explicit stack instead of recursion.

    To reverse steps [a, b) from the stored state before a with c free slots: advance to the
    optimal split m, store that state in a slot, reverse [m, b) with c − 1 free slots, release the
    slot, then reverse [a, m) with the c free slots.
    """
    stack: list[tuple] = [("reverse", 0, n, slots - 1, start)]
    while stack:
        item = stack.pop()
        if item[0] == "release":
            machine.stored -= item[1]
            continue
        _, a, b, free, state = item
        if b - a == 1:
            machine.reverse_segment(state, a, b)
        elif free == 0:  # no slot left: advance from the start of the range for every step
            for position in range(b - 1, a - 1, -1):
                machine.reverse_segment(machine.advance(state, a, position), position, position + 1)
        else:
            m = a + optimal_split(b - a, free)
            split_state = machine.advance(state, a, m)
            machine._hold(machine.live_count(split_state))
            stack.append(("reverse", a, m, free, state))  # last: the earlier steps
            stack.append(("release", machine.live_count(split_state)))
            stack.append(("reverse", m, b, free - 1, split_state))  # first: the later steps


def binomial(s: int, t: int) -> int:
    return math.comb(s + t, s)


@functools.cache
def min_recomputations(steps: int, free: int) -> int:
    """F(l, c): the fewest step advances that reverse ``steps`` steps from their stored start state
    with ``free`` more checkpoint slots (Griewank's closed form: r·l − β(c+2, r−1), with r the least
    repetition number such that β(c+1, r) ≥ l)."""
    if steps <= 1:
        return 0
    r = 0
    while binomial(free + 1, r) < steps:
        r += 1
    return r * steps - binomial(free + 2, r - 1)


def optimal_split(steps: int, free: int) -> int:
    """Where to place the first checkpoint when reversing ``steps`` steps with ``free`` slots.

    With r the repetition number of (steps, free), an optimal schedule reverses the right part with
    r repetitions and one slot fewer, and the left part with r − 1 repetitions, which holds for
    β(c+1, r−2) < m ≤ β(c+1, r−1) and β(c, r−1) < l − m ≤ β(c, r); the least such m is taken.
    (A test checks m + F(l−m, c−1) + F(m, c) = F(l, c) against the dynamic programme.)
    """
    r = 0
    while binomial(free + 1, r) < steps:
        r += 1
    left_least = binomial(free + 1, r - 2) + 1 if r >= 2 else 1
    return min(max(left_least, steps - binomial(free, r), 1), steps - 1)


def theory(strategy: Strategy, n: int, width: int = 1, step_values: int = 1,
           values: int | None = None) -> tuple[int, str]:
    """The recomputed steps and the values stored that the model predicts for ``strategy``, for n
    steps whose live state never holds more than ``width`` values, a step computing at most
    ``step_values`` values (1 for an equation) and all of them ``values`` (default n)."""
    if strategy.kind == "all":
        return 0, f"{n if values is None else values:,}"
    if strategy.kind == "none":
        return n * (n - 1) // 2, f"{step_values:,}"
    if strategy.kind == "every":
        k = max(1, min(strategy.parameter, n))
        return n, f"≤ {(math.ceil(n / k) - 1) * width + k * step_values:,}"
    s = strategy.parameter
    return min_recomputations(n, s - 1), f"≤ {(s - 1) * width + step_values:,}"


def default_strategies(n: int) -> list[Strategy]:
    """A few of each kind, sized for ``n`` steps."""
    root = max(1, round(math.sqrt(n)))
    everys = sorted({k for k in (10, root, 100) if 1 <= k <= n})
    return [Strategy("all"), Strategy("none"), *(Strategy("every", k) for k in everys),
            *(Strategy("binomial", s) for s in (2, 5, 10, 20))]


NONE_LIMIT = 20_000_000  # recomputed steps: above this, "none" is skipped unless asked for by name


def compare_strategies(trace: Trace, point: list[float], strategies: list[Strategy], forced: bool = False) -> list[Run]:
    """Run every strategy on the same trace; ``none`` is skipped when it would take too long."""
    runs = []
    steps = len(step_edges(trace, [i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE])) - 1
    for strategy in strategies:
        recomputed, stored = theory(strategy, steps)  # the width does not change whether to skip
        if not forced and recomputed > NONE_LIMIT:
            skipped = Run(strategy, [], steps, theory_recomputed=recomputed, theory_stored=stored)
            skipped.notes.append(
                f"skipped: it would recompute {recomputed:,} steps (name it among the strategies to run it)")
            runs.append(skipped)
            continue
        runs.append(run(trace, point, strategy, on_step=_progress(strategy, recomputed + steps)))
    return runs


def _progress(strategy: Strategy, total: int) -> Callable[[int], None]:
    """A counter of evaluated steps that moves the progress bar (:func:`adcli.progress.report`) towards ``total``."""
    from adcli import progress

    what, done = f"checkpointing {strategy.label}, steps evaluated", 0

    def count(steps: int) -> None:
        nonlocal done
        done += steps
        progress.report(what, done, total)

    return count


def reverse_with(result, strategy: Strategy) -> Run | None:
    """Recompute a reverse-mode :class:`~adcli.analysis.Gradient` with ``strategy``: its gradients
    (and the adjoints it shows) become the checkpointed ones, and a note says what the strategy
    cost. Returns the first output's run, without its adjoints; only gradient rows are kept."""
    trace, evaluated = result.trace, result.evaluated
    point = [evaluated.at[name] for name in trace.input_names]
    nodes = [dict(zip(trace.input_names, trace.inputs))[name] for name in result.wrt]
    first = None
    steps = len(step_edges(trace, [i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE])) - 1
    for output in range(len(trace.outputs)):
        total = theory(strategy, steps)[0] + steps
        reversed_run = run(trace, point, strategy, output, _progress(strategy, total))
        result.gradients[output] = dict(zip(result.wrt, (reversed_run.adjoints[node] for node in nodes)))
        reversed_run.adjoints = []
        first = first or reversed_run
    result.reverse_output = lambda output: run(trace, point, strategy, output).adjoints
    if first is not None:
        unit = f" (a step: {step_unit(trace)})" if trace.iterations else ""
        evaluated.notes.append(
            f"checkpointing {strategy.label}: at most {first.peak_stored:,} values stored at once "
            f"(storing all: {trace.operation_count:,}), {first.recomputed:,} steps recomputed{unit}")
    return first
