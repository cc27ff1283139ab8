"""Reverse mode's memory–time trade-off: checkpointing strategies over the steps of a trace.

A step is one equation of the trace. Going forward, step ``i`` turns the live state before it (the
values computed earlier and still needed later) into the state after it. Reversing step ``i`` needs
the state before it. The strategies differ in what they keep:

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

import functools
import math
import time
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
    raise InputError(f"--checkpoint {shown}: choose all, none, every=K or binomial=S "
                     f"(K, S whole numbers from 1 to {MAX_COUNT:,})")


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
        self.steps = [i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE]
        last_use = [-1] * len(trace)
        for position, i in enumerate(self.steps):
            for a in trace.args(i):
                last_use[a] = position
        last_use[output] = len(self.steps)  # the output stays live to the end
        # Per step, the computed values it is the last to use: they leave the live state after it.
        self.dying = [[a for a in set(trace.args(i)) if trace.op[a] >= FIRST_PRIMITIVE and last_use[a] == position]
                      for position, i in enumerate(self.steps)]
        self.base = {**trace.literal, **values_at_inputs}
        live = self.width = 0  # the most computed values alive at once between two steps
        for dying in self.dying:
            live += 1 - len(dying)
            self.width = max(self.width, live)
        self.adjoint = [0.0] * len(trace)
        self.adjoint[output] = 1.0
        self.evaluations = 0
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
        state = self.evaluate(state, start, stop)
        for dying in self.dying[start:stop]:
            for node in dying:
                del state[node]
        return state

    def evaluate(self, state: dict[int, float], start: int, stop: int) -> dict[int, float]:
        """``state`` with the values of steps start … stop−1 added."""
        state = dict(state)
        trace = self.trace
        evaluate_steps(trace.op, trace.arg0, trace.arg1, state, self.steps[start:stop], self.apply)
        self.evaluations += stop - start
        return state

    def reverse_segment(self, state: dict[int, float], start: int, stop: int) -> None:
        """Tape steps start … stop−1 from the state before them, then reverse them."""
        taped = self.evaluate(state, start, stop)
        self._hold(stop - start)
        trace = self.trace

        def partials_at(i: int) -> tuple:
            return PRIMITIVES[trace.op[i]].partials(scalar, *(taped[a] for a in trace.args(i)), taped[i])

        reverse_steps(trace.arg0, trace.arg1, reversed(self.steps[start:stop]), partials_at, self.adjoint)
        self.stored -= stop - start


def run(trace: Trace, point: list[float], strategy: Strategy, output: int = 0) -> Run:
    """Reverse the trace with ``strategy``; the adjoints equal those of a plain reverse sweep."""
    machine = _Machine(trace, dict(zip(trace.inputs, point)), trace.outputs[output])
    n = len(machine.steps)
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
    result.theory_recomputed, result.theory_stored = theory(strategy, n, machine.width)
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


def theory(strategy: Strategy, n: int, width: int = 1) -> tuple[int, str]:
    """The recomputed steps and the values stored that the model predicts for ``strategy``, for n
    steps whose live state never holds more than ``width`` values."""
    if strategy.kind == "all":
        return 0, f"{n:,}"
    if strategy.kind == "none":
        return n * (n - 1) // 2, "1"
    if strategy.kind == "every":
        k = max(1, min(strategy.parameter, n))
        return n, f"≤ {(math.ceil(n / k) - 1) * width + k:,}"
    s = strategy.parameter
    return min_recomputations(n, s - 1), f"≤ {(s - 1) * width + 1:,}"


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
    steps = sum(1 for code in trace.op if code >= FIRST_PRIMITIVE)
    for strategy in strategies:
        recomputed, stored = theory(strategy, steps)  # the width does not change whether to skip
        if not forced and recomputed > NONE_LIMIT:
            skipped = Run(strategy, [], steps, theory_recomputed=recomputed, theory_stored=stored)
            skipped.notes.append(
                f"skipped: it would recompute {recomputed:,} steps (name it in --strategies to run it)")
            runs.append(skipped)
            continue
        runs.append(run(trace, point, strategy))
    return runs


def reverse_with(result, strategy: Strategy) -> Run | None:
    """Recompute a reverse-mode :class:`~adcli.analysis.Gradient` with ``strategy``: its gradients
    (and the adjoints it shows) become the checkpointed ones, and a note says what the strategy
    cost. Returns the first output's run, without its adjoints; only gradient rows are kept."""
    trace, evaluated = result.trace, result.evaluated
    point = [evaluated.at[name] for name in trace.input_names]
    nodes = [dict(zip(trace.input_names, trace.inputs))[name] for name in result.wrt]
    first = None
    for output in range(len(trace.outputs)):
        reversed_run = run(trace, point, strategy, output)
        result.gradients[output] = dict(zip(result.wrt, (reversed_run.adjoints[node] for node in nodes)))
        reversed_run.adjoints = []
        first = first or reversed_run
    result.reverse_output = lambda output: run(trace, point, strategy, output).adjoints
    if first is not None:
        evaluated.notes.append(
            f"checkpointing {strategy.label}: at most {first.peak_stored:,} values stored at once "
            f"(storing all: {first.steps:,}), {first.recomputed:,} steps recomputed")
    return first
