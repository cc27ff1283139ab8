"""The reference card of the derivative rules (``adcli rules [NAME]``), read from the registry.

Every field comes from a primitive's entry in :mod:`adcli.primitives` (its printed partials, the
domain and kink conditions, the convention), so the card cannot drift from the code that runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from adcli.errors import InputError
from adcli.primitives import ALIASES, BY_NAME, Primitive, operations

ARGUMENTS = ("x", "y")
_SYMBOLS = (("==", "="), ("!=", "≠"), ("<=", "≤"), (">=", "≥"))


@dataclass(eq=False, repr=False)
class Rule:
    """One primitive's card: ``call`` (``x * y``), its local partials ``(argument, partial)``, where
    it is defined, where it is not differentiable (per argument) and the convention used there."""

    name: str
    call: str
    partials: list[tuple[str, str]]
    domain: str  # "" where every real argument is allowed
    kinks: list[tuple[str, str]]  # (argument, condition) where a convention replaces the derivative
    convention: str
    discrete: bool  # piecewise constant: no gradient flows through it


def condition_text(condition: str) -> str:
    """A registry condition as the card prints it: ``x >= 0`` as ``x ≥ 0``, ``x == y`` as ``x = y``."""
    for python, shown in _SYMBOLS:
        condition = condition.replace(python, shown)
    return condition


def rule_of(primitive: Primitive) -> Rule:
    """The card of one primitive: its printed partials over ``x`` and ``y`` (its value written out
    where a partial uses it: exp' = exp(x))."""
    call = primitive.call_text(list(ARGUMENTS[:primitive.arity]))
    fields = {"x": "x", "y": "y", "out": call if primitive.symbol is None else f"({call})"}
    partials = [(argument, text.format(**fields)) for argument, text in zip(ARGUMENTS, primitive.partial_text)]
    kinks = [(argument, condition_text(text)) for argument, text in zip(ARGUMENTS, primitive.kink_text)]
    return Rule(primitive.name, call, partials, condition_text(primitive.domain_text), kinks,
                primitive.convention, primitive.discrete)


def rules(name: str | None = None) -> list[Rule]:
    """The cards of every primitive in registry order, or of the one called ``name`` (or an alias
    of it: ``ln`` is log)."""
    if name is None:
        return [rule_of(primitive) for primitive in operations()]
    primitive = BY_NAME.get(ALIASES.get(name, name))
    if primitive is None:
        from adcli.suggest import did_you_mean

        raise InputError(f"no primitive named {name!r}{did_you_mean(name, BY_NAME)} (adcli rules lists them all)")
    return [rule_of(primitive)]
