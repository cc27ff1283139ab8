"""Evaluate a trace at a point: node values, domain errors that name the node, and warnings for
points where a derivative convention is used (abs at 0, sqrt at 0, …)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, MutableSequence, Sequence

from adcli import accelerator, scalar
from adcli.errors import EvaluationError, TracedOverflowError, TracedValueError, TracedZeroDivisionError
from adcli.primitives import CONST, FIRST_PRIMITIVE, PRIMITIVES, Primitive, functions_of, operations, primitive_of
from adcli.trace import NO_ARG, Trace, format_literal

#: From this many nodes on, long-trace work (evaluation here, linearize and the reverse sweep in
#: :mod:`adcli.sweeps`) runs in C or NumPy, whose set-up then pays for itself.
LONG_TRACE = 20_000


def evaluate(trace: Trace, point: Sequence[float], m=scalar) -> Sequence[float]:
    """The value of every node, with the inputs set to ``point`` (in input order).

    ``m`` is the math namespace: :mod:`adcli.scalar` for floats, :mod:`adcli.complex_math` for the
    complex-step method.

    Raises :class:`EvaluationError` naming the node (``v3 = log(v2): log is undefined at -1``)
    when an operation is undefined at its arguments or overflows.
    """
    op, arg0, arg1 = trace.op, trace.arg0, trace.arg1
    long = m is scalar and len(op) >= LONG_TRACE  # the boundary's loop (in C when built) over its column
    values = accelerator.long_values(len(op)) if long else [0.0] * len(op)
    for node, value in zip(trace.inputs, point, strict=True):
        values[node] = value
    for node, value in trace.literal.items():
        values[node] = value
    loop = accelerator.evaluate_long if long else evaluate_loop
    failed = loop(op, arg0, arg1, values, functions_of(m), FIRST_PRIMITIVE)
    if failed >= 0:
        raise undefined_error(trace, values, failed)
    return values


def evaluate_steps(op: Sequence[int], arg0: Sequence[int], arg1: Sequence[int], values, steps: Iterable[int],
                   apply: Callable) -> None:
    """Fill ``values`` at each node of ``steps`` in turn, from its arguments' values:
    ``values[i] = apply(i, op[i], args)``.

    The one evaluation loop of adcli: whole traces on floats (below), checkpointing (a segment at a
    time, ``values`` a dict), batches (``values`` arrays over the points) and the Hessian's replay
    (traced values) run it, each with its own ``apply``."""
    for i in steps:
        b = arg1[i]
        args = (values[arg0[i]],) if b == NO_ARG else (values[arg0[i]], values[b])
        values[i] = apply(i, op[i], args)


class _Undefined(Exception):
    def __init__(self, node: int) -> None:
        self.node = node


def evaluate_loop(op: Sequence[int], arg0: Sequence[int], arg1: Sequence[int], values: MutableSequence,
                  functions: Sequence, first: int) -> int:
    """Fill ``values`` node by node (inputs and literals already set; opcodes below ``first`` are
    skipped); return the node whose operation is undefined or overflows, or -1 when none is.

    The pure-Python evaluation loop, twin of the C extension's ``evaluate``."""

    def apply(i: int, code: int, args: tuple) -> float:
        try:
            value = functions[code](*args)
        except (ArithmeticError, ValueError):
            raise _Undefined(i) from None
        if value - value:  # inf or nan from finite arguments: an overflow
            raise _Undefined(i)
        return value

    try:
        evaluate_steps(op, arg0, arg1, values, (i for i in range(len(op)) if op[i] >= first), apply)
    except _Undefined as undefined:
        return undefined.node
    return -1


def undefined_error(trace: Trace, values: Sequence[float], node: int) -> EvaluationError:
    """The error for an operation that failed at ``node``: its domain message, nan, or an overflow."""
    primitive = primitive_of(trace.op[node])
    args = [values[a].real for a in trace.args(node)]  # .real: complex-step values report their real part
    names = trace.names()
    literal = [trace.op[a] == CONST for a in trace.args(node)]
    message = operation_message(primitive, names[node], [names[a] for a in trace.args(node)], args, literal)
    return operation_error_class(primitive, args)(message)


def operation_message(primitive: Primitive, name: str, arg_names: list[str], args: list[float],
                      literal: list[bool]) -> str:
    """Why ``name = primitive(args)`` has no finite value: ``v3 = log(v2): log is undefined at -1``.

    ``literal`` tells, per argument, whether it is a constant (printed as itself) or a computed node."""
    where = f"{name} = {primitive.call_text(arg_names)}"
    shown = primitive.call_text([format_literal(a) for a in args])
    if any(math.isnan(a) for a in args):
        return f"{where}: not a number (nan) in {shown}"
    if primitive.domain is not None and not primitive.domain(*args):
        fields = {}
        for key, arg_name, value, is_literal in zip("xy", arg_names, args, literal):
            fields[key] = format_literal(value)
            # "{y_where}" reads " (v2 = 0)" for a computed argument, nothing for a literal one
            fields[f"{key}_where"] = "" if is_literal else f" ({arg_name} = {format_literal(value)})"
        return f"{where}: {primitive.domain_message.format(**fields)}"
    if any(math.isinf(a) for a in args):
        return f"{where}: infinite, {shown} has an infinite argument"
    return f"{where}: overflow, {shown} is too large for a float"


def operation_error_class(primitive: Primitive, args: list[float]) -> type[EvaluationError]:
    """The error class for an operation without a finite value, derived from the builtin Python raises
    on the same floats (ZeroDivisionError for 1/0, ValueError for log(-1), OverflowError for exp(1000));
    a nan result is a ValueError and an inf one an OverflowError."""
    try:
        value = primitive.evaluate(scalar, *args)
    except ZeroDivisionError:
        return TracedZeroDivisionError
    except OverflowError:
        return TracedOverflowError
    except (ArithmeticError, ValueError):
        return TracedValueError
    return TracedValueError if math.isnan(value) else TracedOverflowError


def derivative_overflow_error(trace: Trace, values: Sequence[float], node: int) -> EvaluationError:
    """The error for a node whose local derivative is too large for a float (1/x at 1e-200)."""
    names = trace.names()
    where = trace.label(node, names)
    at = ", ".join(f"{names[a]} = {format_literal(values[a])}" for a in trace.args(node) if trace.op[a] != CONST)
    return EvaluationError(f"{where}: overflow, its derivative at {at} is too large for a float")


def convention_warnings(trace: Trace, values: Sequence[float], d0: Sequence[float], d1: Sequence[float],
                        skip_discrete: bool = False) -> list[str]:
    """One warning per node whose derivative is a convention at this point, and per discrete node
    (floor, sign) that an input reaches: its zero derivative stops the gradient there.
    A kink's warning gives its one-sided derivatives, the partials used (``d0``, ``d1``) and which
    frameworks use the same (:func:`adcli.conventions.kink_detail`).
    ``skip_discrete`` leaves discrete nodes to the straight-through estimator's own notes."""
    from adcli.conventions import kink_detail

    watched = {p.opcode for p in operations() if p.kinks}
    opcodes = bytes(trace.op)
    if not any(bytes((code,)) in opcodes for code in watched):  # the common case, a byte search each
        return []
    nodes = [i for i, code in enumerate(trace.op) if code in watched]
    warnings = []
    active, needed, names, input_name = trace.active(), trace.needed(), trace.names(), trace.input_name_of()
    for i in nodes:
        if not needed[i]:
            continue  # it only decided a branch: its derivative reaches no output
        primitive = PRIMITIVES[trace.op[i]]
        if skip_discrete and primitive.discrete:
            continue
        args_nodes = trace.args(i)
        args = [values[a] for a in args_nodes]
        if any(kink(*args) and active[a] for kink, a in zip(primitive.kinks, args_nodes) if kink):
            shown = ", ".join(format_literal(a) for a in args)
            used = (d0[i], d1[i])[:primitive.arity]
            arg_names = [names[a] if active[a] else None for a in args_nodes]  # a constant has no sides
            detail = kink_detail(primitive, args, values[i], arg_names, used, trace.program is not None)
            warnings.append(f"{trace.label(i, names, input_name)}: {primitive.name} is not differentiable at "
                            f"{shown}{detail}")
        elif primitive.discrete and active[i]:
            warnings.append(f"{trace.label(i, names, input_name)}: {primitive.name} is piecewise constant, "
                            "its derivative is 0, so no gradient flows through this node")
    return warnings
