"""Derivative conventions at kinks and edges: adcli's own, those of PyTorch, JAX and autograd, and
the one-sided choices ``left``, ``right`` and ``mid``.

Where an operation is not differentiable (abs at 0, a max tie, sqrt at 0 …) a derivative is a
choice. The registry (:mod:`adcli.primitives`) holds, per primitive, the one-sided derivatives there
(``sides``) and what each framework uses (``peers``, measured by ``benchmarks/conventions.py``). This
module applies a chosen convention to a trace's local partials and words what was chosen:

- ``adcli`` (the default): each primitive's own rule, and a zero adjoint or zero partial carries
  nothing, so 0·inf never happens.
- ``pytorch``, ``jax``, ``autograd``: that framework's partial at each kink, and the sweeps take
  every product as the frameworks do, so an infinite partial times a zero adjoint gives nan.
  :func:`explain_non_finite` then says which node made a gradient nan or infinite.
- ``left``, ``right``, ``mid``: the one-sided derivative at each kink, or their mean (where a side
  is undefined, outside the domain, the other side's).
"""

from __future__ import annotations

import math
from collections.abc import MutableSequence, Sequence

from adcli import scalar
from adcli.errors import InputError
from adcli.primitives import PRIMITIVES, Primitive, operations
from adcli.trace import Trace, format_literal

#: The frameworks whose conventions adcli reproduces, by the name ``convention`` takes.
PEERS = {"pytorch": "PyTorch", "jax": "JAX", "autograd": "autograd"}
SIDES = ("left", "right", "mid")
CONVENTIONS = ("adcli", *PEERS, *SIDES)


def check_convention(convention: str) -> None:
    """Refuse an unknown convention."""
    if convention not in CONVENTIONS:
        raise InputError(f"convention {convention!r}: choose one of {', '.join(CONVENTIONS)}")


def every_product(convention: str) -> bool:
    """Whether the sweeps multiply along every edge, 0·inf giving nan (the frameworks' way)."""
    return convention in PEERS


def at_kink(primitive: Primitive, args: Sequence[float]) -> bool:
    """Whether any partial of ``primitive`` is a convention at ``args``."""
    return any(kink is not None and kink(*args) for kink in primitive.kinks)


def partials_under(convention: str, primitive: Primitive, args: Sequence[float], partials: tuple,
                   builtin: bool = False) -> tuple:
    """The partials ``convention`` uses at a kink, from adcli's ``partials`` there. ``builtin``: the
    node is Python's builtin max or min (a function file), whose tie goes to the first argument."""
    if convention in PEERS:
        if builtin and primitive.builtin_tie is not None:
            return primitive.builtin_tie
        peer = primitive.peers.get(convention)
        return partials if peer is None else tuple(peer(partials, *args))
    if convention in SIDES and primitive.sides is not None:
        return tuple(partial if sides is None else _side(convention, sides, partial)
                     for partial, sides in zip(partials, primitive.sides(*args)))
    return partials


def _side(convention: str, sides: tuple, default: float) -> float:
    left, right = sides
    if left is None or right is None:  # one side only (the other is outside the domain), or none
        return default if left is None and right is None else (right if left is None else left)
    return {"left": left, "right": right}.get(convention, (left + right) / 2)


def _is_builtin(trace: Trace) -> bool:
    return trace.program is not None  # a function file: max and min are Python's builtins


def apply_convention(trace: Trace, values: Sequence[float], d0: MutableSequence[float],
                     d1: MutableSequence[float], convention: str) -> None:
    """Replace the partials of every node at a kink by those ``convention`` uses (one pass)."""
    if convention == "adcli":
        return
    watched = {p.opcode for p in operations() if p.kinks}
    builtin = _is_builtin(trace)
    for i, code in enumerate(trace.op):
        if code not in watched:
            continue
        primitive = PRIMITIVES[code]
        assert primitive is not None
        args = [values[a] for a in trace.args(i)]
        if at_kink(primitive, args):
            chosen = partials_under(convention, primitive, args, (d0[i], d1[i])[:primitive.arity], builtin)
            d0[i] = chosen[0]
            if primitive.arity == 2:
                d1[i] = chosen[1]


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else format_literal(value)


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(_number(v) for v in values)


def kink_detail(primitive: Primitive, args: Sequence[float], out: float, arg_names: Sequence[str | None],
                used: Sequence[float] | None = None, builtin: bool = False) -> str:
    """What a kink warning says after "not differentiable at …" (``out`` is the node's value): the
    one-sided derivatives and the subdifferential of each argument whose partial is a convention,
    the partials used (default: adcli's), and which frameworks use the same. An argument named None
    (a constant) gets no sides of its own
    (``left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1)``)."""
    parts = []
    for k, sides in enumerate(primitive.sides(*args) if primitive.sides else ()):
        if sides is None or arg_names[k] is None:
            continue
        left, right = ("undefined" if s is None else _number(s) for s in sides)
        text = f"left {left}, right {right}"
        if sides[0] is not None and sides[1] is not None and math.isfinite(sides[0]) and math.isfinite(sides[1]):
            low, high = sorted(sides)
            text += f", ∂ = [{_number(low)}, {_number(high)}]"
        parts.append(text if primitive.arity == 1 else f"∂/∂{arg_names[k]}: {text}")
    own = tuple(primitive.partials(scalar, *args, out))  # adcli's rule, from which the frameworks' differ
    ours = own if used is None else tuple(used)
    agree: list[str] = []
    differ: dict[str, list[str]] = {}
    for name, title in PEERS.items():
        theirs = partials_under(name, primitive, args, own, builtin)
        if _numbers(theirs) == _numbers(ours):
            agree.append(title)
        else:
            differ.setdefault(_numbers(theirs), []).append(title)
    who = f"as {_joined(agree)}" if agree else "unlike every framework measured"
    if differ:
        who += " (" + "; ".join(f"{_joined(titles)}: {values}" for values, titles in differ.items()) + ")"
    sides_text = f": {'; '.join(parts)}" if parts else ""
    return f"{sides_text}; used {_numbers(ours)}, {who}"


def _joined(titles: list[str]) -> str:
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def explain_non_finite(trace: Trace, values: Sequence[float], d0: Sequence[float], d1: Sequence[float],
                       output: int, inputs: Sequence[int], who: str, ours: Sequence[float] | None = None) -> str | None:
    """Why the gradient of output number ``output`` (at the input nodes ``inputs``) has a nan or an
    infinite entry when the reverse sweep takes every product, as the frameworks ``who`` do: each
    node whose product made a nan (0·inf, or a nan partial), and the first that made an inf.
    ``with PyTorch this gradient is nan: v3 = sqrt(v2) has an infinite partial at 0 and its adjoint is 0``.
    None when every entry is finite, or when it equals ``ours`` (the gradient adcli gave, if given)."""
    from adcli.sweeps import reverse_steps

    names, input_name = trace.names(), trace.input_name_of()
    adjoint = [0.0] * len(trace.op)
    seed = trace.outputs[output]
    adjoint[seed] = 1.0
    reached = bytearray(len(trace.op))
    reached[seed] = 1
    nans: list[str] = []
    infs: list[str] = []
    active = trace.active()
    last: list = [0, 0.0, 0.0]  # the node being swept, and the adjoint and partial of the last product

    def partials_at(i: int) -> tuple:
        last[0] = i
        return d0[i], d1[i]

    def times(g: float, partial: float) -> float:
        last[1:] = g, partial
        return g * partial

    def add_to(adjoint: list[float], a: int, product: float) -> None:
        adjoint[a] += product
        i, g, partial = last
        if math.isfinite(product) or not active[a]:
            return  # a constant's adjoint reaches no input
        where, at = trace.label(i, names, input_name), _numbers([values[b] for b in trace.args(i)])
        wrt = "" if trace.arg1[i] < 0 else f" (∂/∂{names[a]})"
        if math.isnan(partial) and not math.isnan(g):
            nans.append(f"{where} has a nan partial{wrt} at {at}")
        elif math.isinf(partial) and g == 0:
            nans.append(f"{where} has an infinite partial{wrt} at {at} and its adjoint is 0")
        elif partial == 0 and math.isinf(g):
            nans.append(f"{where} has partial 0{wrt} and its adjoint is {_number(g)}, and 0·inf is nan")
        elif math.isinf(partial) and math.isfinite(g) and not infs:
            infs.append(f"{where} has an infinite partial{wrt} at {at}")

    steps = (i for i in range(len(trace.op) - 1, -1, -1) if PRIMITIVES[trace.op[i]] is not None)
    reverse_steps(trace.arg0, trace.arg1, steps, partials_at, adjoint, times, add_to, reached=reached)
    gradient = [adjoint[node] for node in inputs]
    if all(math.isfinite(g) for g in gradient) or (ours is not None and _numbers(gradient) == _numbers(ours)):
        return None
    if any(math.isnan(g) for g in gradient) and nans:
        origin = f" (the inf: {infs[0]})" if infs and any("0·inf" in text for text in nans) else ""
        return f"with {who} this gradient is nan: {'; '.join(nans)}{origin}"
    if infs:
        return f"with {who} this gradient is infinite: {infs[0]}"
    return None
