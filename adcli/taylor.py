"""Taylor mode: derivatives of any order along a line, by propagating univariate Taylor polynomials
through the trace (Griewank & Walther, *Evaluating Derivatives*, ch. 13).

Every node's value along x + t·u is a polynomial c0 + c1 t + … + cK t^K (mod t^(K+1)); each
primitive's Taylor rule (``Primitive.taylor``, :mod:`adcli.series`) gives a node's coefficients from
its arguments' in O(K²). The k-th directional derivative of f at x along u is k!·c_k. One forward
loop over the trace, no recursion.

:func:`sympy_check` cross-checks the orders 1 … 8 of every output against SymPy's k-th derivative at 50 digits,
with the size of SymPy's expression for each k beside the trace's (SymPy is imported there only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adcli import series
from adcli.analysis import Evaluated, evaluate_at
from adcli.errors import EvaluationError, InputError
from adcli.limits import MAX_ORDER
from adcli.points import Value
from adcli.primitives import CONST, INPUT, PRIMITIVES
from adcli.series import NoExpansion
from adcli.sweeps import product
from adcli.trace import NO_ARG, Trace

#: The orders SymPy checks by default (its k-th derivative swells quickly).
SYMPY_ORDERS = 8


@dataclass
class OrderCheck:
    """SymPy's k-th derivative of one output along the direction, beside Taylor mode's."""

    output: str  # the output's name
    order: int
    ad: float
    reference: str | None  # SymPy's value at 50 digits, as text (None: timed out or no value)
    rel_error: float | None
    sympy_ops: int | None  # the size of SymPy's k-th derivative (count_ops), None when it timed out
    sympy_seconds: float | None


@dataclass
class Taylor:
    """Taylor coefficients of every node along x + t·u, to order ``order``."""

    evaluated: Evaluated
    order: int
    direction: dict[str, float]  # u, one entry per input
    coefficients: list[list[float]]  # per node: c0 … cK
    checks: list[OrderCheck] = field(default_factory=list)
    sympy_messages: list[str] = field(default_factory=list)

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace

    def derivatives(self, output: int = 0) -> list[float]:
        """f, f', f'', …, f^(K) of output number ``output`` along u at the point: k!·c_k."""
        return [c * math.factorial(k) for k, c in enumerate(self.coefficients[self.trace.outputs[output]])]


def taylor_coefficients(trace: Trace, assigned: Mapping[str, Value], order: int,
           direction: Mapping[str, float] | None = None) -> Taylor:
    """The Taylor coefficients to ``order`` of every node of ``trace`` along the line x + t·u through
    the point ``assigned``. ``direction`` (u, input -> number, inputs left out 0) may be left out for a
    function of one input (u = 1)."""
    if not 1 <= order <= MAX_ORDER:
        raise InputError(f"give an order from 1 to {MAX_ORDER} (k! overflows a float beyond)",
                         option="order", value=str(order))
    if direction is None:
        if len(trace.inputs) != 1:
            raise InputError(f"the function has {len(trace.inputs)} inputs ({', '.join(trace.input_names)}): "
                             "give the line of the derivatives", option="direction")
        direction = {trace.input_names[0]: 1.0}
    evaluated = evaluate_at(trace, assigned)
    seed = dict.fromkeys(trace.input_names, 0.0) | dict(direction)
    node_of = dict(zip(trace.input_names, trace.inputs))
    kinks: dict[int, str] = {}
    coefficients = taylor_sweep(trace, evaluated.values, evaluated.d0, evaluated.d1,
                                {node_of[name]: u for name, u in seed.items()}, order, kinks)
    result = Taylor(evaluated, order, seed, coefficients)
    for node, how in kinks.items():
        evaluated.notes.append(f"{trace.label(node)}: {_KINK_NOTES[how]}")
    for k, output in enumerate(trace.outputs):
        if not all(map(math.isfinite, coefficients[output])):
            evaluated.warnings.append(f"{trace.output_names[k]}: some Taylor coefficients overflow (inf or nan)")
    return result


def taylor_sweep(trace: Trace, values: Sequence[float], d0: Sequence[float], d1: Sequence[float],
                 seed: Mapping[int, float], order: int, kinks: dict[int, str] | None = None) -> list[list[float]]:
    """Every node's Taylor coefficients c0 … c_order, for the input nodes' first coefficients ``seed``
    (node -> u_i); ``d0``, ``d1`` are the float partials (:func:`adcli.sweeps.linearize`).

    At a kink of a piecewise-linear primitive (abs, relu, max, min) the line may stay on one side
    (abs(x²) at 0): that side's partials give the exact series (:func:`_side_partials`); where it
    crosses (abs(x) at 0), the first derivative's convention holds at every order. ``kinks``, when
    given, gets each such node and how the line meets its kink (a key of ``_KINK_NOTES``)."""
    tail = [0.0] * order
    coefficients: list[list[float]] = []
    for i, code in enumerate(trace.op):
        if code == INPUT:
            coefficients.append([values[i], seed.get(i, 0.0), *tail[1:]])
            continue
        if code == CONST:
            coefficients.append([values[i], *tail])
            continue
        b = trace.arg1[i]
        args = [coefficients[trace.arg0[i]]] if b == NO_ARG else [coefficients[trace.arg0[i]], coefficients[b]]
        if not any(any(arg[1:]) for arg in args):  # constant along the line
            coefficients.append([values[i], *tail])
            continue
        partials = (d0[i],) if b == NO_ARG else (d0[i], d1[i])
        primitive = PRIMITIVES[code]
        assert primitive is not None and primitive.taylor is not None  # every primitive has a rule (test_registry)
        if primitive.taylor is series.linear and not primitive.discrete and primitive.sides is not None:
            arg_values = [values[a] for a in trace.args(i)]
            if any(kink(*arg_values) for kink in primitive.kinks if kink):
                side, how = _side_partials(primitive.sides(*arg_values), args)
                partials = side or partials
                if kinks is not None:
                    kinks[i] = how
        try:
            coefficients.append(primitive.taylor(values[i], partials, *args))
        except NoExpansion as why:
            if order > 1:
                infinite = not all(map(math.isfinite, partials))  # then the first derivative is a convention
                convention = f" (its first derivative: {primitive.convention})" if primitive.convention and infinite \
                    else ""
                raise EvaluationError(f"{trace.label(i)}: no Taylor coefficients of order 2 or more at this point: "
                                      f"{why}{convention}; --order 1 gives the first derivative") from None
            coefficients.append([values[i], sum(product(p, arg[1]) for p, arg in zip(partials, args))])
    return coefficients


_KINK_NOTES = {
    "crosses": "the line crosses its kink here, so its Taylor coefficients of every order follow the first "
               "derivative's convention",
    "stays": "the line touches its kink here and stays on one side of it, so its Taylor coefficients are that side's",
    "agrees": "the line runs along its kink to this order, where both sides give the same Taylor coefficients",
}


def _side_partials(sides: tuple, args: list[list[float]]) -> tuple[tuple | None, str]:
    """At a kink: the partials of the side the line stays on for small t ≠ 0 (None: keep the
    convention's), and how the line meets the kink (a key of ``_KINK_NOTES``).

    The kink is where the argument (or the difference of the two) is 0; its series along the line is
    c_k t^k + …, with c_k its first non-zero coefficient: for an even k it keeps the sign of c_k on
    both sides of t = 0, and that side's partials give the exact series; for an odd k it changes sign
    there, a kink along the line too. With no non-zero coefficient to this order, every side and the
    convention give the same series. ``sides`` is the registry's: per argument, (left, right) partials."""
    switching = args[0] if len(args) == 1 else [a - b for a, b in zip(*args)]
    k = next((k for k in range(1, len(switching)) if switching[k]), None)
    if k is None:
        return None, "agrees"
    if k % 2:
        return None, "crosses"
    above = switching[k] > 0  # the argument above its kink (the first above the second)
    if len(args) == 1:
        return (sides[0][1] if above else sides[0][0],), "stays"
    return ((sides[0][1], sides[1][0]) if above else (sides[0][0], sides[1][1])), "stays"


def sympy_check(result: Taylor, seconds: float, orders: int = SYMPY_ORDERS) -> None:
    """Fill ``result.checks``: SymPy's k-th derivative of every output along u at 50 digits, for
    k = 1 … min(order, ``orders``), each with its size, within ``seconds`` in all."""
    from adcli.compare import REFERENCE_DIGITS, SymbolicBudget

    budget = SymbolicBudget(seconds)
    trace = result.trace
    state: dict = {}

    def start():
        import sympy

        from adcli.sympy_bridge import symbols_of, to_sympy

        symbols = symbols_of(trace)
        t = sympy.Symbol("t", real=True)
        line = {s: s + sympy.Rational(result.direction[str(s)]) * t
                for s in symbols if result.direction[str(s)]}
        point = result.evaluated.at.values()
        state.update(t=t, outputs=[f.subs(line, simultaneous=True) for f in to_sympy(trace, symbols)],
                     at={s: sympy.Float(v, REFERENCE_DIGITS + 10) for s, v in zip(symbols, point)})

    budget.run("build SymPy's expression", start)
    if "t" not in state:
        result.sympy_messages = budget.messages()
        return
    for index, name in enumerate(trace.output_names):
        if not _check_output(result, index, name, state, budget, min(result.order, orders)):
            break
    result.sympy_messages = budget.messages()


def _check_output(result: Taylor, index: int, name: str, state: dict, budget, orders: int) -> bool:
    """SymPy's derivatives of output ``index`` to order ``orders`` into ``result.checks``; False when
    the budget ran out."""
    from adcli.compare import REFERENCE_DIGITS

    ad = result.derivatives(index)
    current = state["outputs"][index]
    for k in range(1, orders + 1):
        def step():
            import mpmath
            import sympy

            nonlocal current
            began = time.perf_counter()
            current = sympy.diff(current, state["t"])
            derivative = current.subs(state["t"], 0)
            size = int(sympy.count_ops(derivative))
            spent = time.perf_counter() - began
            value = derivative.evalf(REFERENCE_DIGITS, subs=state["at"])
            if not (value.is_number and value.is_real and value.is_finite):
                return size, spent, None
            mpmath.mp.dps = REFERENCE_DIGITS + 10
            return size, spent, mpmath.mpf(value)

        subject = f" of {name}" if len(result.trace.outputs) > 1 else ""
        done = budget.run(f"the derivative of order {k}{subject}", step)
        if done is None:
            result.checks.append(OrderCheck(name, k, ad[k], None, None, None, None))
            return False
        size, spent, reference = done
        error = None if reference is None else _relative_error(ad[k], reference)
        text = None if reference is None else _mp_text(reference)
        result.checks.append(OrderCheck(name, k, ad[k], text, error, size, spent))
    return True


def _relative_error(value: float, reference) -> float:
    import mpmath

    if not math.isfinite(value):
        return math.inf
    difference = abs(mpmath.mpf(value) - reference)
    return float(difference / abs(reference)) if reference else float(difference)


def _mp_text(value) -> str:
    import mpmath

    return mpmath.nstr(value, 50, strip_zeros=False)
