"""``adcli compare``: AD against SymPy and finite differences, at one point.

Why AD exists, measured on the user's own function: symbolic differentiation is exact but its
expressions swell; finite differences are easy but trade truncation error (large h) against
round-off error (small h); AD is exact to machine precision at a cost linear in the trace.

Every error is measured against a reference: the SymPy derivative evaluated with 50 significant
digits (mpmath) at the exact binary value of the point. SymPy runs under a time budget
(``sympy_timeout``); when a step runs out of time the report says which one, and every other
method still gets its row.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from adcli import complex_math, scalar
from adcli.analysis import Evaluated, evaluate_at
from adcli.errors import AdcliError, InputError
from adcli.evaluate import evaluate
from adcli.points import Value
from adcli.sweeps import reverse_sweep
from adcli.trace import Trace, compose

EPS = sys.float_info.epsilon
REFERENCE_DIGITS = 50
DEFAULT_STEPS = [10.0**-k for k in range(1, 17)]


@dataclass(frozen=True)
class Difference:
    """A finite-difference formula: its stencil, order and theoretically near-optimal step."""

    name: str
    order: str
    optimal_exponent: float  # near-optimal h = EPS ** optimal_exponent * max(1, |x|)
    estimate: Callable[[Callable[[float], float], float, float], float]  # (f, x, h) -> f'(x)


FORWARD = Difference("forward difference", "O(h)", 1 / 2, lambda f, x, h: (f(x + h) - f(x)) / h)
BACKWARD = Difference("backward difference", "O(h)", 1 / 2, lambda f, x, h: (f(x) - f(x - h)) / h)
CENTRAL = Difference("central difference", "O(h²)", 1 / 3, lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h))
FOURTH_ORDER = Difference("fourth-order central", "O(h⁴)", 1 / 5,
                          lambda f, x, h: (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h))
DIFFERENCES = [FORWARD, BACKWARD, CENTRAL, FOURTH_ORDER]
COMPLEX_STEP = "complex step"
COMPLEX_STEP_DEFAULT = 1e-20  # any tiny step works: there is no subtraction to lose digits to
MACHINE_PRECISION = 64 * EPS  # relative error of a derivative that is exact up to a few roundings


@dataclass
class MethodRow:
    """One method's derivative with respect to one input, and its error against the reference."""

    method: str
    input: str
    value: float | None
    step: float | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    note: str = ""


@dataclass
class SweepRow:
    method: str
    input: str
    step: float
    value: float | None
    abs_error: float | None
    rel_error: float | None
    regime: str = ""  # "truncation", "round-off", "best" or "machine precision"


@dataclass
class SwellRow:
    """Sizes and times of symbolic and algorithmic differentiation at one nesting depth."""

    depth: int
    trace_operations: int
    reverse_operations: int
    ad_seconds: float
    symbolic: dict[str, dict] = field(default_factory=dict)  # stage -> {"ops", "nodes", "seconds"} or {"timed_out"}


@dataclass
class Comparison:
    evaluated: Evaluated
    reference: dict[str, str | None]  # input -> 50-digit reference as text (None when SymPy timed out)
    methods: list[MethodRow]
    sweep: list[SweepRow] | None
    best_steps: list[dict] | None
    swell: list[SwellRow]
    timeouts: list[str]
    sympy_timeout: float
    failures: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # the timeouts and failures, worded for a reader
    wrt: list[str] = field(default_factory=list)  # the inputs compared (every input unless chosen)
    formulas: dict = field(default_factory=dict)  # input -> SymPy's derivative (a SymPy expression)
    simplified: bool = False  # whether the formulas are simplified (or simplifying ran out of time)

    def formula_texts(self) -> dict[str, str]:
        """SymPy's derivative per input, as SymPy prints it (``x*exp(y) - cos(x)``)."""
        return {name: str(expression) for name, expression in self.formulas.items()}

    def formula_latex(self) -> dict[str, str]:
        """SymPy's derivative per input, as LaTeX."""
        import sympy

        return {name: sympy.latex(expression) for name, expression in self.formulas.items()}

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace


class _TimedOut(Exception):
    pass


class SymbolicBudget:
    """A deadline shared by all SymPy steps; a step past it is recorded as timed out."""

    def __init__(self, seconds: float) -> None:
        if not seconds >= 0:  # also NaN
            raise InputError(f"SymPy time budget {seconds:g}: give a number of seconds ≥ 0, or inf for no limit")
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.timeouts: list[str] = []
        self.failures: list[str] = []  # steps SymPy could not do: "step: the reason"

    def run(self, step: str, work: Callable):
        """``work()``, or None when the budget runs out first or SymPy cannot do the step (it is
        then recorded in ``timeouts`` or ``failures``; every other method still runs)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timeouts.append(step)
            return None
        try:
            with _alarm(remaining):
                return work()
        except _TimedOut:
            self.timeouts.append(step)
        except MemoryError:
            raise  # out of memory is the CLI's one line, not a failure of SymPy's
        except (Exception, RecursionError) as error:  # SymPy has no derivative or value here
            self.failures.append(f"{step}: SymPy could not ({type(error).__name__}: {_first_line(error)})")
        return None

    def messages(self) -> list[str]:
        """What went wrong, one sentence per step: timeouts, then failures."""
        return [f"SymPy: '{step}' ran out of the {self.seconds:g} s budget; the other "
                "results are complete" for step in self.timeouts] + self.failures


_LONGEST_ALARM = 1e9  # seconds (about 32 years): a longer budget, inf included, is no limit at all
# An exception raised while Python runs a garbage-collection callback or a __del__ is reported and
# dropped, not propagated; so the alarm fires again every this many seconds until the block ends.
_ALARM_REPEAT = 0.05


@contextmanager
def _alarm(seconds: float):
    """Interrupt the block after ``seconds`` (SymPy is pure Python, so the signal lands promptly);
    past ``_LONGEST_ALARM``, which the platform's timer may not hold, never."""
    if not hasattr(signal, "setitimer") or seconds > _LONGEST_ALARM:  # no limit
        yield
        return

    def interrupt(signum, frame):
        raise _TimedOut

    def unraisable(report) -> None:  # the alarm dropped in a __del__: it fires again, say nothing
        if report.exc_type is not _TimedOut:
            reported(report)

    previous, reported = signal.signal(signal.SIGALRM, interrupt), sys.unraisablehook
    sys.unraisablehook = unraisable
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3), _ALARM_REPEAT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = reported


# ---------------------------------------------------------------- evaluating f near the point
def _partial_function(trace: Trace, point: list[float], k: int, m=scalar, output: int = 0) -> Callable:
    """x ↦ f(point with input k set to x): for a function file the program itself run at the moved
    point (as a user would by hand, so a branch that flips within a step shows), otherwise (and for
    complex numbers, which the program's math does not take) the recorded trace evaluated there."""
    program = trace.program
    if program is not None and m is scalar:
        def run(x):
            moved = list(point)
            moved[k] = x
            return program(moved)[output]

        return run
    node = trace.outputs[output]

    def f(x):
        moved = list(point)
        moved[k] = x
        return evaluate(trace, moved, m)[node]

    return f


def default_step(difference: Difference, x: float) -> float:
    return EPS**difference.optimal_exponent * max(1.0, abs(x))


def _representable(x: float, h: float) -> float:
    """The step as the machine takes it: (x + h) - x, which removes one source of error."""
    return (x + h) - x or h


def complex_step(trace: Trace, point: list[float], k: int, h: float) -> float:
    f = _partial_function(trace, point, k, complex_math)
    return f(complex(point[k], h)).imag / h


# ---------------------------------------------------------------- the comparison
def compare(trace: Trace, assigned: Mapping[str, Value], sweep_steps: list[float] | None = None,
            nest: int = 1, sympy_timeout: float = 10.0, smooth: float | None = None,
            wrt: list[str] | None = None) -> Comparison:
    """Every method's derivative at the point, its error against a 50-digit SymPy reference, the
    finite-difference step sweep (when ``sweep_steps`` is given) and the swell table up to ``nest``;
    SymPy's derivative itself, simplified when the budget allows. ``wrt``: the inputs compared
    (checked names, :func:`adcli.points.check_inputs`; default every input).
    With ``smooth`` (a width τ), rows for the derivative of the smoothed trace
    (:func:`adcli.smoothing.smooth`) and for the straight-through estimator follow the true ones."""
    if len(trace.outputs) != 1:
        raise InputError(f"compare needs a single output; the function has {len(trace.outputs)}")
    if nest < 1:
        raise InputError("give a depth of at least 1", option="nest", value=str(nest))
    if nest > 1 and (len(trace.inputs) != 1):
        raise InputError(f"nesting composes f with itself, which needs one input; the function has "
                         f"{len(trace.inputs)}")
    budget = SymbolicBudget(sympy_timeout)
    evaluated = evaluate_at(trace, assigned)
    names = trace.input_names
    point = [evaluated.at[name] for name in names]

    symbolic = _symbolic_derivatives(trace, budget)
    reference = _references(symbolic, point, budget)
    methods = _ad_rows(evaluated) + _sympy_rows(symbolic, names, point, budget) + _difference_rows(trace, point)
    if smooth is not None:
        methods += _estimator_rows(evaluated, assigned, smooth)
    chosen = set(names if wrt is None else wrt)
    methods = [row for row in methods if row.input in chosen]
    for row in methods:
        _measure(row, reference.get(row.input))
    evaluated.warnings.extend(_explain_differences(evaluated, methods))
    sweep = best = None
    if sweep_steps is not None:
        sweep = [row for row in _sweep(trace, point, sweep_steps, reference) if row.input in chosen]
        best = _best_steps(sweep, point, names)
    simplified: dict[int, list] = {}
    swell = _swell(trace, nest, budget, first=symbolic, simplified=simplified)
    as_text = {name: (None if value is None else _mp_text(value)) for name, value in reference.items()
               if name in chosen}
    derivatives = simplified.get(1) or (symbolic[2] if symbolic is not None else [])
    formulas = {name: d for name, d in zip(names, derivatives) if name in chosen}
    return Comparison(evaluated, as_text, methods, sweep, best, swell, budget.timeouts, sympy_timeout,
                      budget.failures, budget.messages(), [name for name in names if name in chosen], formulas,
                      1 in simplified)


def _ad_rows(evaluated: Evaluated) -> list[MethodRow]:
    trace = evaluated.trace
    adjoint = evaluated.reverse(0)
    rows = []
    for name in trace.input_names:
        tangent = evaluated.forward({name: 1.0})[trace.outputs[0]]
        rows.append(MethodRow("forward-mode AD", name, tangent))
    rows += [MethodRow("reverse-mode AD", name, adjoint[node]) for name, node in zip(trace.input_names, trace.inputs)]
    return rows


def _estimator_rows(evaluated: Evaluated, assigned: Mapping[str, Value], tau: float) -> list[MethodRow]:
    """Reverse-mode rows of two estimates at a kink or step: the derivative of the smoothed trace
    (whose notes join ``evaluated``'s) and the straight-through estimator (derivative of floor and
    sign taken as 1)."""
    from adcli.smoothing import smooth

    trace = evaluated.trace
    smoothed = evaluate_at(smooth(trace, tau), assigned)
    straight = evaluate_at(trace, assigned, straight_through=True)
    evaluated.notes.extend(smoothed.trace.notes[len(trace.notes):])
    rows = []
    for method, estimate in ((f"smoothed AD (τ = {tau:g})", smoothed), ("straight-through estimator", straight)):
        adjoint = estimate.reverse(0)
        rows += [MethodRow(method, name, adjoint[node]) for name, node in zip(estimate.trace.input_names,
                                                                             estimate.trace.inputs)]
    return rows


def _difference_rows(trace: Trace, point: list[float]) -> list[MethodRow]:
    rows = []
    for difference in DIFFERENCES:
        for k, name in enumerate(trace.input_names):
            h = _representable(point[k], default_step(difference, point[k]))
            rows.append(_difference_row(difference.name, name, h,
                                        partial(difference.estimate, _partial_function(trace, point, k), point[k], h)))
    for k, name in enumerate(trace.input_names):
        h = COMPLEX_STEP_DEFAULT * max(1.0, abs(point[k]))
        rows.append(_difference_row(COMPLEX_STEP, name, h, partial(complex_step, trace, point, k, h)))
        if trace.program is not None and not rows[-1].note:
            rows[-1].note = "of the recorded path (the program's math takes no complex numbers)"
    return rows


_BY_NAME = {d.name: d for d in DIFFERENCES}
_ORDER = {FORWARD.name: 1, BACKWARD.name: 1, CENTRAL.name: 2, FOURTH_ORDER.name: 4}
_REACH = {FORWARD.name: 1, BACKWARD.name: 1, CENTRAL.name: 1, FOURTH_ORDER.name: 2}  # steps from x


def error_bound(method: str, f: Callable[[float], float], x: float, h: float, estimate: float) -> float:
    """The difference's own error bound at step h: its truncation error estimated from the same
    formula at 2h (Richardson: |D(h) − D(2h)| / (2^p − 1) for order p), plus round-off (a few ε·|f|/h),
    times 10 for safety; inf when f is not defined at 2h."""
    try:
        coarse = _BY_NAME[method].estimate(f, x, 2 * h)
        value = f(x)
    except (AdcliError, ArithmeticError, ValueError):
        return math.inf
    truncation = abs(estimate - coarse) / (2 ** _ORDER[method] - 1)
    return 10 * (truncation + 4 * EPS * max(1.0, abs(value)) / h + 4 * EPS * abs(estimate))


def disagreement(evaluated: Evaluated, name: str, ad: float, method: str, estimate: float, h: float,
                 f: Callable[[float], float]) -> tuple[str, str] | None:
    """When a finite difference and AD differ by more than the difference's own error bound
    (:func:`error_bound`), why: (a short note for its row, the full sentence). The reasons are the
    comparisons and kinks of the trace that flip within the step's reach (linearised distance,
    :mod:`adcli.branches`); None when they agree."""
    gap = estimate - ad
    if not abs(gap) > 4 * EPS * max(1.0, abs(ad)):
        return None
    bound = error_bound(method, f, evaluated.at[name], h, estimate)
    if not abs(gap) > bound:
        return None
    reach = _REACH[method] * h
    inside = sorted(((point.distances[name], k, point) for k, point in enumerate(evaluated.branches)
                     if point.distances.get(name, math.inf) <= reach), key=lambda item: item[:2])
    said = (f"the {method} of ∂/∂{name} (h = {h:.3g}) differs from AD by {gap:.3g}, "
            f"more than its error bound {bound:.2g}")
    if not inside:
        return ("no branch or kink within the step",
                f"{said}; no comparison or kink of the recorded path flips within the step, so the program "
                "is not smooth at this scale (or takes another path there)")
    reasons = [f"{'the branch ' if point.kind == 'branch' else 'the kink of '}{point.where} flips at "
               f"|Δ{name}| ≈ {distance:.3g}" for distance, _, point in inside]
    first = inside[0][2]
    short = "a branch flips within the step" if first.kind == "branch" else "a kink within the step"
    return (f"{short}: {first.where}",
            f"{said}: within the step {'; '.join(reasons)}; AD differentiates the path that ran, the difference "
            "quotient straddles the change")


def _explain_differences(evaluated: Evaluated, rows: list[MethodRow]) -> list[str]:
    """Mark each difference row that disagrees with AD and say why (one sentence per input, for the
    central difference, the one ``grad --check fd`` uses)."""
    trace = evaluated.trace
    ad = {row.input: row.value for row in rows if row.method == "reverse-mode AD"}
    point = [evaluated.at[name] for name in trace.input_names]
    sentences = []
    for row in rows:
        exact = ad.get(row.input)
        if row.method in _REACH and row.value is not None and exact is not None and row.step:
            f = _partial_function(trace, point, trace.input_names.index(row.input))
            found = disagreement(evaluated, row.input, exact, row.method, row.value, row.step, f)
            if found is not None:
                row.note = row.note or found[0]
                if row.method == CENTRAL.name:
                    sentences.append(found[1])
    return sentences


def _difference_row(method: str, name: str, h: float, estimate: Callable[[], float]) -> MethodRow:
    try:
        return MethodRow(method, name, estimate(), step=h)
    except (AdcliError, ArithmeticError, ValueError) as error:
        return MethodRow(method, name, None, step=h, note=f"f is not defined near the point ({_first_line(error)})")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


# ---------------------------------------------------------------- SymPy
def _symbolic_derivatives(trace: Trace, budget: SymbolicBudget, step: str = "differentiate with SymPy"):
    """(symbols, expression, unsimplified derivatives, seconds) or None when SymPy ran out of time."""
    def work():
        import sympy

        from adcli.sympy_bridge import symbols_of, to_sympy

        started = time.perf_counter()
        symbols = symbols_of(trace)
        expression = to_sympy(trace, symbols)[0]
        derivatives = [sympy.diff(expression, s) for s in symbols]
        return symbols, expression, derivatives, time.perf_counter() - started

    return budget.run(step, work)


def _references(symbolic, point: list[float], budget: SymbolicBudget) -> dict:
    """Each partial derivative at the exact point, with 50 significant digits (an mpmath number)."""
    if symbolic is None:
        return {}
    symbols, _, derivatives, _ = symbolic
    names = [str(s) for s in symbols]

    def work():
        import sympy

        # the point's exact binary values: approximate ones would turn the exact 0 of 1 - x^2 at x = 1
        # (acos') into a tiny number and a finite "reference"
        at = {s: sympy.Rational(v) for s, v in zip(symbols, point)}
        return {name: _to_mpf(d.subs(at).evalf(REFERENCE_DIGITS)) for name, d in zip(names, derivatives)}

    return budget.run("evaluate the SymPy reference with 50 digits", work) or {}


def _to_mpf(value):
    import mpmath

    mpmath.mp.dps = REFERENCE_DIGITS + 10
    if not value.is_number or not value.is_real or not value.is_finite:
        return None
    return mpmath.mpf(value)


def _mp_text(value) -> str:
    import mpmath

    return mpmath.nstr(value, REFERENCE_DIGITS, strip_zeros=False)


def _sympy_rows(symbolic, names: list[str], point: list[float], budget: SymbolicBudget) -> list[MethodRow]:
    if symbolic is None:
        return [MethodRow("SymPy", name, None, note="timed out") for name in names]
    symbols, _, derivatives, _ = symbolic

    def work():
        rows = []
        for name, derivative in zip(names, derivatives):
            value = _float_value(symbols, derivative, point)
            note = "" if value is not None else "SymPy's derivative has no float value here"
            rows.append(MethodRow("SymPy", name, value, note=note))
        return rows

    rows = budget.run("evaluate SymPy's derivative in floats", work)
    return rows if rows is not None else [MethodRow("SymPy", name, None, note="timed out") for name in names]


def _heaviside(x, at_zero=0.5):
    return 1.0 if x > 0 else 0.0 if x < 0 else at_zero


_SYMPY_FLOAT_FUNCTIONS = {"Heaviside": _heaviside, "sign": lambda x: float((x > 0) - (x < 0)),
                          "Max": max, "Min": min, "floor": math.floor}


def _measure(row, reference) -> None:
    """Fill in the absolute and relative error of ``row.value`` against the mpmath ``reference``."""
    if row.value is None or reference is None:
        return
    import mpmath

    error = abs(mpmath.mpf(row.value) - reference)
    row.abs_error = float(error)
    row.rel_error = float(error / abs(reference)) if reference != 0 else None


# ---------------------------------------------------------------- the step sweep
def _sweep(trace: Trace, point: list[float], steps: list[float], reference: dict) -> list[SweepRow]:
    rows = []
    for k, name in enumerate(trace.input_names):
        f = _partial_function(trace, point, k)
        for difference in DIFFERENCES:
            for h in steps:
                rows.append(_sweep_row(difference.name, name, h,
                                       partial(difference.estimate, f, point[k], _representable(point[k], h))))
        for h in steps:
            rows.append(_sweep_row(COMPLEX_STEP, name, h, partial(complex_step, trace, point, k, h)))
    for row in rows:
        _measure(row, reference.get(row.input))
    _label_regimes(rows)
    return rows


def _sweep_row(method: str, name: str, h: float, estimate: Callable[[], float]) -> SweepRow:
    try:
        value = estimate()
    except (AdcliError, ArithmeticError, ValueError):
        value = None
    return SweepRow(method, name, h, value, None, None)


def _label_regimes(rows: list[SweepRow]) -> None:
    """Steps larger than the best one are truncation-dominated, smaller ones round-off-dominated.

    The complex step subtracts nothing, so it has no round-off regime: once its truncation error is
    below machine precision (a few roundings, ``MACHINE_PRECISION``) it stays there.
    """
    groups: dict[tuple[str, str], list[SweepRow]] = {}
    for row in rows:
        groups.setdefault((row.method, row.input), []).append(row)
    for (method, _), group in groups.items():
        measured = [row for row in group if row.abs_error is not None]
        if not measured:
            continue
        best = min(measured, key=_abs_error)
        for row in measured:
            if method == COMPLEX_STEP and row.rel_error is not None and row.rel_error <= MACHINE_PRECISION:
                row.regime = "machine precision"
            elif row is best:
                row.regime = "best"
            else:
                row.regime = "truncation" if row.step > best.step else "round-off"


def _abs_error(row: SweepRow) -> float:
    """The error measured at ``row`` (for rows that have one)."""
    assert row.abs_error is not None
    return row.abs_error


def _best_steps(rows: list[SweepRow], point: list[float], names: list[str]) -> list[dict]:
    """Per formula and input: the measured best step next to the theoretical near-optimal one."""
    summary = []
    for k, name in enumerate(names):
        for difference in DIFFERENCES:
            measured = [r for r in rows if r.method == difference.name and r.input == name and r.abs_error is not None]
            if not measured:
                continue
            best = min(measured, key=_abs_error)
            summary.append({"method": difference.name, "input": name, "order": difference.order,
                            "best_step": best.step, "best_abs_error": best.abs_error,
                            "theoretical_step": default_step(difference, point[k])})
    return summary


# ---------------------------------------------------------------- expression swell
def _swell(trace: Trace, depth: int, budget: SymbolicBudget, first,
           simplified: dict[int, list] | None = None) -> list[SwellRow]:
    """One row per depth. The cheap, essential sizes (the derivative, its cse) come first for every
    depth; simplify, the expensive stage, gets what is left of the budget. A stage that timed out is
    not tried again at a greater depth, where it could only take longer. ``simplified`` receives the
    simplified derivatives of each depth that simplify finished."""
    traces = [trace if k == 1 else compose(trace, k) for k in range(1, depth + 1)]
    rows = [SwellRow(k, t.operation_count, reverse_operation_count(t), _time_ad(t)) for k, t in enumerate(traces, 1)]
    derivatives: dict[int, list] = {}
    for row, nested in zip(rows, traces):
        symbolic = first if row.depth == 1 and first is not None else \
            _symbolic_derivatives(nested, budget, f"differentiate with SymPy at depth {row.depth}")
        sizes = None if symbolic is None else \
            budget.run(f"measure the derivative at depth {row.depth}", lambda d=symbolic[2]: _sizes(d))
        if sizes is None:
            row.symbolic["derivative"] = {"timed_out": True}
            break
        derivatives[row.depth] = symbolic[2]
        row.symbolic["derivative"] = {**sizes, "seconds": symbolic[3]}
    for stage, transform in (("cse", _cse_sizes), ("simplify", _simplified)):
        for row in rows:
            if row.depth not in derivatives:
                break
            began = time.perf_counter()
            results: list = []
            sizes = budget.run(f"{stage} at depth {row.depth}",
                               lambda t=transform, d=derivatives[row.depth], into=results: t(d, into))
            if sizes is not None and stage == "simplify" and simplified is not None:
                simplified[row.depth] = results
            if sizes is None:
                row.symbolic[stage] = {"timed_out": True}
                break
            row.symbolic[stage] = {**sizes, "seconds": time.perf_counter() - began}
    return rows


def _time_ad(trace: Trace) -> float:
    """Seconds for value and full gradient by reverse mode at an interior point of the domain."""
    from adcli.sweeps import linearize

    point = [0.5] * len(trace.inputs)
    began = time.perf_counter()
    try:
        values = evaluate(trace, point)
        d0, d1 = linearize(trace, values)
        reverse_sweep(trace, d0, d1, {trace.outputs[0]: 1.0})
    except AdcliError:
        return float("nan")
    return time.perf_counter() - began


def reverse_operation_count(trace: Trace) -> int:
    """Elementary operations of one reverse sweep: one multiply-add per argument of each operation."""
    from adcli.primitives import CONST, INPUT

    count = 0
    for i, code in enumerate(trace.op):
        if code not in (INPUT, CONST):
            count += sum(1 for a in trace.args(i) if trace.op[a] != CONST)
    return count


def _sizes(expressions) -> dict:
    import sympy

    return {"ops": int(sum(sympy.count_ops(e) for e in expressions)),
            "nodes": sum(sum(1 for _ in sympy.preorder_traversal(e)) for e in expressions)}


def _simplified(derivatives, into: list) -> dict:
    """The sizes of the simplified ``derivatives``, which are appended to ``into`` (to keep them)."""
    import sympy

    into.extend(sympy.simplify(d) for d in derivatives)
    return _sizes(into)


def _cse_sizes(derivatives, _into: list | None = None) -> dict:
    import sympy

    replacements, reduced = sympy.cse(derivatives)
    return _sizes([value for _, value in replacements] + list(reduced))



# ---------------------------------------------------------------- grad --check
CHECKS = ("sympy", "fd")


@dataclass
class CheckRow:
    """AD's partial derivative next to SymPy's and a central difference's, for grad --check."""

    output: str
    input: str
    ad: float
    sympy: float | None = None
    fd: float | None = None
    fd_step: float | None = None
    note: str = ""


def cross_check(result, checks: list[str], sympy_timeout: float = 10.0) -> tuple[list[CheckRow], list[str]]:
    """Rows for ``grad --check sympy,fd``: each partial by AD, SymPy (floats) and a central difference."""
    unknown = [c for c in checks if c not in CHECKS]
    if unknown or not checks:
        raise InputError(f"choose from {', '.join(CHECKS)}", option="check", value=",".join(checks))
    trace, evaluated = result.trace, result.evaluated
    names = trace.input_names
    point = [evaluated.at[name] for name in names]
    budget = SymbolicBudget(sympy_timeout)
    symbolic = None
    if "sympy" in checks:
        symbolic = budget.run("differentiate with SymPy", lambda: _all_output_derivatives(trace))
    rows, explanations = [], []
    for k, (output, gradient) in enumerate(zip(trace.output_names, result.gradients)):
        for name in result.wrt:
            j = names.index(name)
            row = CheckRow(output, name, gradient[name])
            if "sympy" in checks:
                row.sympy = None if symbolic is None else budget.run(
                    "evaluate SymPy's derivative in floats", lambda d=symbolic[1][k][j]: _float_value(
                        symbolic[0], d, point))
                if row.sympy is None:
                    row.note = "SymPy timed out" if budget.timeouts else "SymPy's derivative has no float value here"
            if "fd" in checks:
                row.fd_step = _representable(point[j], default_step(CENTRAL, point[j]))
                f = _partial_function(trace, point, j, output=k)
                try:
                    row.fd = CENTRAL.estimate(f, point[j], row.fd_step)
                except (AdcliError, ArithmeticError, ValueError):
                    row.note = "f is not defined within one step of the point"
                else:
                    found = disagreement(evaluated, name, row.ad, CENTRAL.name, row.fd, row.fd_step, f)
                    if found is not None:
                        row.note = found[0]
                        explanations.append(found[1])
            rows.append(row)
    return rows, budget.messages() + explanations


def _all_output_derivatives(trace: Trace):
    import sympy

    from adcli.sympy_bridge import symbols_of, to_sympy

    symbols = symbols_of(trace)
    return symbols, [[sympy.diff(e, s) for s in symbols] for e in to_sympy(trace, symbols)]


def _float_value(symbols, derivative, point: list[float]) -> float | None:
    import sympy

    try:
        function = sympy.lambdify(symbols, derivative, modules=[_SYMPY_FLOAT_FUNCTIONS, "math"])
        value = float(function(*point))
    except MemoryError:
        raise
    except Exception:  # SymPy's derivative has no float value here (DiracDelta, an unevaluated floor')
        return None
    return value if math.isfinite(value) else None
