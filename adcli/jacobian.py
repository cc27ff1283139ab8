"""The Jacobian of several outputs, by forward mode (column by column) or reverse mode (row by row),
with what each mode costs for the function's shape: the n ≪ m / n ≫ m lesson, measured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adcli import callable_module
from adcli.analysis import Evaluated, check_finite, check_mode, check_seeds, evaluate_at, non_finite_warnings
from adcli.conventions import every_product
from adcli.points import Value
from adcli.sweeps import jacobian_rows
from adcli.trace import Trace


@dataclass
class Jacobian:
    """The m×n Jacobian by one mode, with what each mode costs for this shape."""

    evaluated: Evaluated
    mode: str
    matrix: list[list[float]]  # one row per output, one column per input
    sweeps: dict[str, int]  # mode -> sweeps it needs: forward n (one JVP each), reverse m (one VJP each)
    operations: dict[str, int]  # mode -> elementary operations its sweeps visit
    inputs: list[str]  # what the columns differentiate by: inputs, or ``u`` for a direction (J·u)
    outputs: list[tuple[str, float]]  # each row's output and value; ``u·f`` for a cotangent (uᵀJ)
    direction: dict[str, float] | None = None  # the seed of J·u (input -> tangent)
    cotangent: list[float] | None = None  # the seed of uᵀJ (a weight per output)

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace

    @property
    def cheaper(self) -> str | None:
        """The mode with fewer operations for this shape, or None when they tie."""
        forward, reverse = self.operations["forward"], self.operations["reverse"]
        return None if forward == reverse else "forward" if forward < reverse else "reverse"


def jacobian(trace: Trace, assigned: Mapping[str, Value], mode: str = "reverse", convention: str = "adcli",
             wrt: list[str] | None = None, direction: dict[str, float] | None = None,
             cotangent: list[float] | None = None) -> Jacobian:
    """Forward mode builds the Jacobian column by column, reverse mode row by row (``convention``:
    the partials at kinks, see :func:`adcli.analysis.evaluate_at`), its columns those of ``wrt``
    (default: every input). A ``direction`` u gives the one column J·u (one forward sweep), a
    ``cotangent`` u the one row uᵀJ (one reverse sweep), as :func:`adcli.analysis.gradient` does."""
    from adcli.analysis import gradient

    check_mode(mode)
    check_seeds(direction, cotangent, mode, wrt)
    names = list(trace.input_names) if wrt is None else wrt
    if direction is not None or cotangent is not None:
        seeded = gradient(trace, assigned, mode, wrt, convention=convention, direction=direction,
                          cotangent=cotangent)
        evaluated, mode = seeded.evaluated, seeded.mode
        if seeded.jvp is not None:
            names, matrix = ["u"], [[value] for value in seeded.jvp]
        else:
            matrix = [[seeded.gradients[0][name] for name in names]]
        outputs = seeded.columns
    else:
        evaluated = evaluate_at(trace, assigned, convention=convention)
        node_of = dict(zip(trace.input_names, trace.inputs))
        nodes = [node_of[name] for name in names]
        matrix = jacobian_rows(trace, evaluated.d0, evaluated.d1, nodes, mode, every_product(convention))
        evaluated.warnings.extend(non_finite_warnings(evaluated, matrix, nodes))
        check_finite(evaluated, trace.output_names, [list(zip(names, row)) for row in matrix])
        outputs = list(zip(trace.output_names, evaluated.output_values))
    sweeps = {"forward": len(names), "reverse": len(outputs)}
    operations = {m: count * trace.operation_count for m, count in sweeps.items()}
    return Jacobian(evaluated, mode, matrix, sweeps, operations, names, outputs, direction, cotangent)


callable_module(__name__)  # adcli.jacobian(…) is adcli.api's
