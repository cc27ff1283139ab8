"""Smoothing: a trace whose kinks and steps are replaced by smooth relaxations of width τ.

:func:`smooth` rewrites a recorded trace into a new one, node by node, so every command and both
modes work on the result unchanged. Each active kink or step becomes a few nodes of existing
primitives:

* ``abs(x)``    → ``sqrt(x² + τ²)``
* ``relu(x)``   → ``τ·softplus(x/τ)`` = ``τ·logsumexp(x/τ, 0)``
* ``max(x, y)`` → ``τ·logsumexp(x/τ, y/τ)``; ``min(x, y)`` → ``−τ·logsumexp(−x/τ, −y/τ)``
* ``sign(x)``   → ``tanh(x/τ)``
* ``floor(x)``  → the soft staircase ``x − 1/2 + atan(r·sin 2πx / (1 − r·cos 2πx))/π`` with
  ``r = exp(−2πτ)``: floor convolved with a Cauchy density of scale τ, so each unit step becomes
  ``atan((x − k)/τ)/π + 1/2`` (the Fourier series of the sawtooth, Abel-summed).

logsumexp is shifted so that it neither overflows nor takes the log of 0, without a branch (the
trace must hold at every point): ``τ·logsumexp(a/τ, b/τ) = M + τ·log(exp((a−M)/τ) + exp((b−M)/τ))``
for any M; M = (a + b + sqrt((a−b)² + τ²))/2 lies within τ/2 above max(a, b), so both exponents are
at most 0 and the larger is at least −1/2. The formula is exact for every M, so its derivatives of
every order do not depend on M either.

A kink whose value reaches no output (it only decides a branch or a loop count) is kept, as are
kinks of constants: smoothing them would change nothing but the recorded comparisons.
"""

from __future__ import annotations

import math

from adcli.errors import InputError
from adcli.primitives import BY_NAME, CONST, INPUT, primitive_of
from adcli.trace import NO_ARG, Trace

#: How each smoothed primitive's replacement reads in a note (x, y: its arguments).
FORMULAS = {
    "abs": "sqrt(x²+τ²)",
    "relu": "τ·softplus(x/τ)",
    "max": "τ·logsumexp(x/τ, y/τ)",
    "min": "−τ·logsumexp(−x/τ, −y/τ)",
    "sign": "tanh(x/τ)",
    "floor": "a soft staircase x − 1/2 + atan(r·sin 2πx / (1 − r·cos 2πx))/π, r = exp(−2πτ)",
}
NODES_NAMED = 3  # nodes named in a note per primitive; the rest are counted


def smooth(trace: Trace, tau: float) -> Trace:
    """A new trace computing ``trace`` with each kink or step that depends on an input and reaches an
    output replaced by its smooth relaxation of width ``tau`` (see the module docstring). Its notes
    say what was replaced; a function file's comparisons are kept, its program is not (finite
    differences then difference the smoothed function)."""
    if not (math.isfinite(tau) and tau > 0):
        raise InputError("the smoothing width must be a positive finite number", option="smooth", value=f"{tau!r}")
    if not (math.ldexp(1.0, -500) <= tau <= math.ldexp(1.0, 500)):  # τ² must neither underflow nor overflow
        raise InputError("the smoothing width must lie between 1e-150 and 1e150 (τ² is computed)", option="smooth",
                         value=f"{tau:g}")
    out = Trace(source=trace.source, notes=list(trace.notes), output_names=list(trace.output_names),
                input_names=list(trace.input_names))
    builder = _Builder(out, tau)
    active, needed = trace.active(), trace.needed()
    old_names = trace.names()
    replaced: dict[str, list[str]] = {}
    kept: list[str] = []
    mapped = [NO_ARG] * len(trace)
    for i, code in enumerate(trace.op):
        if code == INPUT:
            mapped[i] = out._append(INPUT, NO_ARG, NO_ARG)
            continue
        if code == CONST:
            mapped[i] = out.add_const(trace.literal[i], trace.literal_label.get(i))
            continue
        primitive = primitive_of(code)
        args = [mapped[a] for a in trace.args(i)]
        if primitive.name in FORMULAS and active[i]:
            if needed[i]:
                mapped[i] = getattr(builder, primitive.name)(*args)
                replaced.setdefault(primitive.name, []).append(old_names[i])
                continue
            kept.append(f"{primitive.name} at {old_names[i]}")
        mapped[i] = out.add_op(primitive, *args)
    out.inputs = [mapped[node] for node in trace.inputs]
    out.outputs = [mapped[node] for node in trace.outputs]
    out.controls = [control._replace(node=mapped[control.node],
                                     other=NO_ARG if control.other == NO_ARG else mapped[control.other])
                    for control in trace.controls]
    out.notes += _notes(replaced, kept, tau)
    return out


def _notes(replaced: dict[str, list[str]], kept: list[str], tau: float) -> list[str]:
    """What :func:`smooth` replaced, one note per primitive, and what it kept."""
    notes = []
    for name, nodes in replaced.items():
        shown = ", ".join(nodes[:NODES_NAMED])
        more = f" and {len(nodes) - NODES_NAMED:,} more" if len(nodes) > NODES_NAMED else ""
        notes.append(f"{name} at {shown}{more} replaced by {FORMULAS[name]}, τ = {tau:g}")
    if kept:
        notes.append(f"smoothing kept {', '.join(kept[:NODES_NAMED])}"
                     f"{f' and {len(kept) - NODES_NAMED:,} more' if len(kept) > NODES_NAMED else ''}: "
                     "it only decides control flow (a branch or a loop count), so no derivative passes through it")
    if not replaced and not kept:
        notes.append(f"smoothing: no kink or step ({', '.join(FORMULAS)}) depends on an input; nothing replaced")
    return notes


class _Builder:
    """Appends the nodes of each smooth relaxation to a trace (arguments and results are nodes)."""

    def __init__(self, trace: Trace, tau: float) -> None:
        self.trace, self.tau = trace, tau

    def _op(self, name: str, a: int, b: int = NO_ARG) -> int:
        return self.trace.add_op(BY_NAME[name], a, b)

    def _const(self, value: float) -> int:
        return self.trace.add_const(value)

    def abs(self, x: int) -> int:
        """sqrt(x² + τ²)."""
        return self._op("sqrt", self._op("add", self._op("mul", x, x), self._const(self.tau * self.tau)))

    def relu(self, x: int) -> int:
        """τ·softplus(x/τ) = τ·logsumexp(x/τ, 0)."""
        return self._logsumexp(x, self._const(0.0), 1)

    def max(self, x: int, y: int) -> int:
        """τ·logsumexp(x/τ, y/τ)."""
        return self._logsumexp(x, y, 1)

    def min(self, x: int, y: int) -> int:
        """−τ·logsumexp(−x/τ, −y/τ)."""
        return self._logsumexp(x, y, -1)

    def sign(self, x: int) -> int:
        """tanh(x/τ)."""
        return self._op("tanh", self._op("div", x, self._const(self.tau)))

    def floor(self, x: int) -> int:
        """x − 1/2 + atan(r·sin θ / (1 − r·cos θ))/π with θ = 2πx and r = exp(−2πτ)."""
        op, const = self._op, self._const
        theta = op("mul", const(2 * math.pi), x)
        r = const(math.exp(-2 * math.pi * self.tau))
        ratio = op("div", op("mul", r, op("sin", theta)), op("sub", const(1.0), op("mul", r, op("cos", theta))))
        return op("add", op("sub", x, const(0.5)), op("div", op("atan", ratio), const(math.pi)))

    def _logsumexp(self, a: int, b: int, s: int) -> int:
        """τ·logsumexp(a/τ, b/τ) for s = 1, −τ·logsumexp(−a/τ, −b/τ) for s = −1, shifted by the
        smooth M = (a + b + s·sqrt((a − b)² + τ²))/2 (module docstring)."""
        op, tau = self._op, self._const(self.tau)
        spread = self.abs(op("sub", a, b))
        shift = op("mul", self._const(0.5), op("add" if s > 0 else "sub", op("add", a, b), spread))

        def weight(v: int) -> int:  # exp(s·(v − M)/τ) ≤ 1
            return op("exp", op("div", op("sub", v, shift) if s > 0 else op("sub", shift, v), tau))

        total = op("mul", tau, op("log", op("add", weight(a), weight(b))))
        return op("add" if s > 0 else "sub", shift, total)
