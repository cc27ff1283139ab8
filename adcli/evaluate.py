"""Evaluate a trace at a point: node values, domain errors that name the node, and warnings for
points where a derivative convention is used (abs at 0, sqrt at 0, …)."""

from __future__ import annotations

from collections.abc import Sequence

from adcli import scalar
from adcli.errors import EvaluationError
from adcli.primitives import FIRST_PRIMITIVE, PRIMITIVES
from adcli.trace import NO_ARG, Trace, format_literal


def evaluate(trace: Trace, point: Sequence[float]) -> list[float]:
    """The value of every node, with the inputs set to ``point`` (in input order).

    Raises :class:`EvaluationError` naming the node (``v3 = log(v2): log is undefined at -1``)
    when an operation is undefined at its arguments or overflows.
    """
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    values = [0.0] * len(op)
    for node, value in zip(trace.inputs, point, strict=True):
        values[node] = value
    for node, value in trace.literal.items():
        values[node] = value
    primitives, m = PRIMITIVES, scalar
    for i, code in enumerate(op):
        if code < FIRST_PRIMITIVE:
            continue
        evaluate_rule = primitives[code].evaluate
        b = arg1[i]
        try:
            if b == NO_ARG:
                value = evaluate_rule(m, values[arg0[i]])
            else:
                value = evaluate_rule(m, values[arg0[i]], values[b])
        except (ArithmeticError, ValueError):
            raise undefined_error(trace, values, i) from None
        if value - value != 0:  # inf or nan from finite arguments: an overflow
            raise undefined_error(trace, values, i)
        values[i] = value
    return values


def undefined_error(trace: Trace, values: list[float], node: int) -> EvaluationError:
    """The error for an operation that failed at ``node``: its domain message, or an overflow."""
    primitive = trace.primitive(node)
    args = [values[a] for a in trace.args(node)]
    names = trace.names()
    where = f"{names[node]} = {trace.equation_text(node, names, trace.input_name_of())}"
    if primitive.domain is not None and not primitive.domain(*args):
        fields = {"x": format_literal(args[0]), "x_name": names[trace.arg0[node]]}
        if len(args) == 2:
            fields |= {"y": format_literal(args[1]), "y_name": names[trace.arg1[node]]}
        return EvaluationError(f"{where}: {primitive.domain_message.format(**fields)}")
    shown = ", ".join(format_literal(a) for a in args)
    return EvaluationError(f"{where}: overflow, {primitive.name}({shown}) is too large for a float")


def convention_warnings(trace: Trace, values: list[float]) -> list[str]:
    """One warning per node evaluated at a point where its derivative is a convention."""
    names = None
    active = None
    warnings = []
    for i, code in enumerate(trace.op):
        if code < FIRST_PRIMITIVE or not PRIMITIVES[code].kinks:
            continue
        primitive = PRIMITIVES[code]
        if active is None:
            active, names, input_name = trace.active(), trace.names(), trace.input_name_of()
        args_nodes = trace.args(i)
        args = [values[a] for a in args_nodes]
        if any(kink(*args) and active[a] for kink, a in zip(primitive.kinks, args_nodes) if kink):
            shown = ", ".join(format_literal(a) for a in args)
            warnings.append(f"{names[i]} = {trace.equation_text(i, names, input_name)}: "
                            f"{primitive.name} is not differentiable at {shown}; used {primitive.convention}")
    return warnings
