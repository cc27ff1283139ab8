"""The Jacobian of several outputs, by forward mode (column by column) or reverse mode (row by row),
with what each mode costs for the function's shape: the n ≪ m / n ≫ m lesson, measured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adcli import callable_module
from adcli.analysis import Evaluated, check_finite, check_mode, evaluate_at, non_finite_warnings
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

    @property
    def trace(self) -> Trace:
        return self.evaluated.trace

    @property
    def cheaper(self) -> str | None:
        """The mode with fewer operations for this shape, or None when they tie."""
        forward, reverse = self.operations["forward"], self.operations["reverse"]
        return None if forward == reverse else "forward" if forward < reverse else "reverse"


def jacobian(trace: Trace, assigned: Mapping[str, Value], mode: str = "reverse", convention: str = "adcli") -> Jacobian:
    """Forward mode builds the Jacobian column by column, reverse mode row by row (``convention``:
    the partials at kinks, see :func:`adcli.analysis.evaluate_at`)."""
    check_mode(mode)
    evaluated = evaluate_at(trace, assigned, convention=convention)
    outputs, names = trace.outputs, trace.input_names
    matrix = jacobian_rows(trace, evaluated.d0, evaluated.d1, trace.inputs, mode, every_product(convention))
    evaluated.warnings.extend(non_finite_warnings(evaluated, matrix, trace.inputs))
    check_finite(evaluated, trace.output_names, [list(zip(names, row)) for row in matrix])
    sweeps = {"forward": len(names), "reverse": len(outputs)}
    operations = {m: count * trace.operation_count for m, count in sweeps.items()}
    return Jacobian(evaluated, mode, matrix, sweeps, operations)


callable_module(__name__)  # adcli.jacobian(…) is adcli.api's
