"""The Jacobian of several outputs, by forward mode (column by column) or reverse mode (row by row),
with what each mode costs for the function's shape: the n ≪ m / n ≫ m lesson, measured."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from adcli import callable_module
from adcli.analysis import Evaluated, check_finite, check_mode, check_seeds, evaluate_at, non_finite_warnings
from adcli.conventions import every_product
from adcli.errors import InputError
from adcli.points import Value
from adcli.sparsity import (
    AUTO_MIN_COLUMNS,
    Sparsity,
    check_sparse,
    column_colouring,
    jacobian_pattern,
    pays,
    recover_columns,
    recover_rows,
    row_colouring,
    seeds,
)
from adcli.sweeps import forward_sweep, jacobian_rows, reverse_sweep
from adcli.trace import Trace


@dataclass
class Jacobian:
    """The m×n Jacobian by one mode, with what each mode costs for this shape."""

    evaluated: Evaluated
    mode: str
    matrix: list[list[float]] | None  # one row per output, one column per input (None: computed sparse)
    sweeps: dict[str, int]  # mode -> sweeps it needs: forward n (one JVP each), reverse m (one VJP each)
    operations: dict[str, int]  # mode -> elementary operations its sweeps visit
    inputs: list[str]  # what the columns differentiate by: inputs, or ``u`` for a direction (J·u)
    outputs: list[tuple[str, float]]  # each row's output and value; ``u·f`` for a cotangent (uᵀJ)
    direction: dict[str, float] | None = None  # the seed of J·u (input -> tangent)
    cotangent: list[float] | None = None  # the seed of uᵀJ (a weight per output)
    # when computed by colours: the pattern, its colouring and the non-zeros (``matrix`` is None)
    sparsity: Sparsity | None = None

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
             cotangent: list[float] | None = None, sparse: str = "off") -> Jacobian:
    """Forward mode builds the Jacobian column by column, reverse mode row by row (``convention``:
    the partials at kinks, see :func:`adcli.analysis.evaluate_at`), its columns those of ``wrt``
    (default: every input). A ``direction`` u gives the one column J·u (one forward sweep), a
    ``cotangent`` u the one row uᵀJ (one reverse sweep), as :func:`adcli.analysis.gradient` does.

    ``sparse``: "on" reads the pattern off the trace and colours it, columns that share no row
    (forward mode) or rows that share no column (reverse mode), one sweep per colour (the result's
    ``sparsity`` holds the non-zeros, ``matrix`` is None); "auto" does so when it saves sweeps
    (:func:`adcli.sparsity.pays`); "off" never. Where a kink's partial is infinite, or under a
    framework's ``convention``, the Jacobian is computed dense."""
    from adcli.analysis import gradient

    check_mode(mode)
    check_seeds(direction, cotangent, mode, wrt)
    check_sparse(sparse)
    if sparse == "on" and (direction is not None or cotangent is not None):
        raise InputError("a sparse Jacobian is the whole matrix, and J·u or uᵀJ take one sweep already: "
                         "give a direction or a cotangent, or sparse on, not both", option="sparse", value="on")
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
        outputs = list(zip(trace.output_names, evaluated.output_values))
        sparsity = None
        if sparse != "off" and convention == "adcli" and all(map(math.isfinite, evaluated.d0)) \
                and all(map(math.isfinite, evaluated.d1)):
            sparsity = _by_colours(evaluated, nodes, mode, sparse == "on")
        if sparsity is not None:
            matrix = None
            assert sparsity.values is not None
            entries = zip(sparsity.pattern.rows, sparsity.values)
            check_finite(evaluated, trace.output_names, [[(names[j], v) for j, v in zip(row, values)]
                                                         for row, values in entries])
        else:
            matrix = jacobian_rows(trace, evaluated.d0, evaluated.d1, nodes, mode, every_product(convention))
            evaluated.warnings.extend(non_finite_warnings(evaluated, matrix, nodes))
            check_finite(evaluated, trace.output_names, [list(zip(names, row)) for row in matrix])
    sweeps = {"forward": len(names), "reverse": len(outputs)}
    operations = {m: count * trace.operation_count for m, count in sweeps.items()}
    return Jacobian(evaluated, mode, matrix, sweeps, operations, names, outputs, direction, cotangent,
                    None if matrix is not None else sparsity)


def _by_colours(evaluated: Evaluated, nodes: list[int], mode: str, always: bool) -> Sparsity | None:
    """The Jacobian by colours: its pattern, a distance-2 colouring of its columns (forward mode, one
    forward sweep per colour) or of its rows (reverse mode, one reverse sweep per colour). None when
    not ``always`` and colouring saves too few sweeps, or the function has too few inputs (forward)
    or outputs (reverse) for it to be worth reading the pattern."""
    trace = evaluated.trace
    forward = mode == "forward"
    if not always and (len(nodes) if forward else len(trace.outputs)) <= AUTO_MIN_COLUMNS:
        return None
    pattern = jacobian_pattern(trace, nodes)
    colours = column_colouring(pattern) if forward else row_colouring(pattern)
    sparsity = Sparsity(pattern, colours, "columns" if forward else "rows")
    if not always and not pays(sparsity.dense_sweeps, sparsity.colour_count):
        return None
    compressed = []
    for group in seeds(colours):
        if forward:
            tangent = forward_sweep(trace, evaluated.d0, evaluated.d1, {nodes[j]: 1.0 for j in group})
            compressed.append([tangent[o] for o in trace.outputs])
        else:
            adjoint = reverse_sweep(trace, evaluated.d0, evaluated.d1, {trace.outputs[i]: 1.0 for i in group})
            compressed.append([adjoint[node] for node in nodes])
    sparsity.values = (recover_columns if forward else recover_rows)(pattern, colours, compressed)
    return sparsity


callable_module(__name__)  # adcli.jacobian(…) is adcli.api's
