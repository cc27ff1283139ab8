"""Second derivatives by forward-over-reverse: the reverse sweep is itself recorded as a trace
(its adjoints are traced values), and forward mode over that gradient trace gives the Hessian
column by column. Exact AD at every step, no finite differences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adcli.analysis import Evaluated, evaluate_at
from adcli.errors import InputError
from adcli.points import Value
from adcli.primitives import FIRST_PRIMITIVE, primitive_of
from adcli.sweeps import is_zero, jacobian_rows, linearize, reverse_steps
from adcli.trace import Trace
from adcli.tracer import Recorder, Var, recording, replay, traced_namespace


@dataclass
class Hessian:
    evaluated: Evaluated
    gradient: list[float]
    matrix: list[list[float]]  # n×n, matrix[i][j] = ∂²f/∂x_i∂x_j
    gradient_trace: Trace  # the recorded reverse sweep, whose Jacobian is the Hessian

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace


def gradient_trace(trace: Trace, values: Sequence[float]) -> tuple[Trace, Sequence[float]]:
    """A trace whose outputs are the gradient of ``trace``'s single output, and its node values.

    The reverse sweep runs on traced values, so recording it records every adjoint's computation."""
    recorder = Recorder(Trace(source=trace.source), note_branches=False)
    with recording(recorder):
        node = replay(trace, values, recorder)

        def partials_at(i: int) -> tuple:
            args = trace.args(i)
            partials = primitive_of(trace.op[i]).partials(traced_namespace, *(node[a] for a in args), node[i])
            # a constant needs no adjoint: its zero partial keeps the sweep from recording one
            return tuple(p if isinstance(node[a], Var) else 0.0 for a, p in zip(args, partials))

        adjoint: list = [0.0] * len(trace)
        adjoint[trace.outputs[0]] = 1.0
        steps = (i for i in range(len(trace) - 1, -1, -1) if trace.op[i] >= FIRST_PRIMITIVE)
        reverse_steps(trace.arg0, trace.arg1, steps, partials_at, adjoint, _times, _add_to)
        for name, input_node in zip(trace.input_names, trace.inputs):
            g = adjoint[input_node]
            output = g.node if isinstance(g, Var) else recorder.constant(g)
            assert output is not None  # an adjoint is a traced value or a number
            recorder.trace.add_output(output, f"∂f/∂{name}")
    return recorder.trace, recorder.values


def _times(g, partial):
    """``g * partial``, without recording a product by a plain 1."""
    return partial if _is_one(g) else g if _is_one(partial) else g * partial


def _add_to(adjoint: list, node: int, contribution) -> None:
    """``adjoint[node] += contribution``, without recording a sum with a plain 0."""
    adjoint[node] = contribution if is_zero(adjoint[node]) else adjoint[node] + contribution


def _is_one(value) -> bool:
    return not isinstance(value, Var) and value == 1


def hessian(trace: Trace, assigned: dict[str, Value]) -> Hessian:
    """The Hessian of a single-output function at a point."""
    if len(trace.outputs) != 1:
        raise InputError(f"the Hessian needs a single output; the function has {len(trace.outputs)} "
                         "(use adcli jacobian for several outputs)")
    evaluated = evaluate_at(trace, assigned)
    grad_trace, values = gradient_trace(trace, evaluated.values)
    d0, d1 = linearize(grad_trace, values)
    matrix = jacobian_rows(grad_trace, d0, d1, grad_trace.inputs, "forward")  # one JVP per input
    gradient = [values[o] for o in grad_trace.outputs]
    return Hessian(evaluated, gradient, matrix, grad_trace)
