"""Value and gradient at many points at once: the trace is recorded once, then evaluated and swept
backwards at every point (:func:`adcli.accelerator.sweep_points`): in the C extension, the whole
trace and its reverse sweep on a block of points at a time, with the float path's arithmetic
(:func:`sweep_points_native`); without it, every node becomes a NumPy array over the points and the
reverse sweep runs once, on arrays (:func:`sweep_points_numpy`).

A recorded trace is valid at other points only when no branch depended on the input. For a function
file whose path did (``if x > 0``), :func:`gradient_at_points` groups the points by the path they
take: the trace recorded at one point is evaluated at all the others, and the points where every
comparison it recorded comes out the same (and every count is the same) follow its path; the first
point that does not is traced next, and so on, so there is one trace per distinct path. Points where
the function is undefined (log of a negative number) get NaN, and a warning counts them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from adcli import accelerator, vector_math
from adcli.branches import RELATIONS
from adcli.conventions import kink_detail
from adcli.errors import EvaluationError, InputError
from adcli.evaluate import evaluate_steps
from adcli.limits import MAX_POINTS
from adcli.points import PointRange, Value, range_points
from adcli.primitives import BY_NAME, CONST, FIRST_PRIMITIVE, PRIMITIVES, functions_of, operations
from adcli.sweeps import is_zero, reverse_steps
from adcli.trace import NO_ARG, Trace, format_literal
from adcli.vectorized import Reuse, apply_partials

if TYPE_CHECKING:
    from adcli.source import Source


def gradient_at_points(source: Source | str, assigned: Mapping[str, Value], points_file: str | None,
                       func: str | None = None) -> Batch:
    """Value and gradient of SRC at every point of the --at ranges and the --points file.

    A function file is traced at the first point; if its path depended on the input, the points
    are grouped by the path they take (:func:`evaluate_paths`).
    """
    from adcli.analysis import load

    columns: dict[str, np.ndarray | float] = {}
    if points_file:
        columns.update(read_points(points_file))
    for name, value in assigned.items():
        if name in columns:
            raise InputError(f"{name} is also a column of the points file", option="at", value=name)
        if isinstance(value, list):
            raise InputError("list parameters cannot be combined with ranges of points", option="at", value=name)
        columns[name] = range_points(value) if isinstance(value, PointRange) else value
    first: dict[str, Value] = {name: float(np.ravel(v)[0]) for name, v in columns.items()}
    trace, _ = load(source, first, func)
    if (trace.notes or trace.controls) and trace.recorded_values is not None:
        return evaluate_paths(trace, columns, lambda point: load(source, dict(point), func)[0])
    return evaluate_batch(trace, columns)


def read_points(path: str) -> dict[str, np.ndarray]:
    """A CSV file with a header row naming inputs, then one point per row (at most ``MAX_POINTS``).
    Blank lines are skipped; an error names the line of the file where the row starts."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets write a BOM
            lines, rows = _numbered_rows(path, csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise _points_error(path, None, f"cannot read the file ({error})") from None
    if len(rows) < 2:
        raise _points_error(path, None, "expected a header row naming the inputs and at least one point")
    header = [cell.strip() for cell in rows[0]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise _points_error(path, None, f"the header names {', '.join(repeated)} more than once")
    for number, row in zip(lines[1:], rows[1:]):
        if len(row) != len(header):
            raise _points_error(path, number, f"every row needs {len(header)} values, "
                             "one per column of the header")
    try:
        data = np.array([[float(cell) for cell in row] for row in rows[1:]], dtype=float)
    except ValueError:
        bad = next(number for number, row in zip(lines[1:], rows[1:]) if not _all_numbers(row))
        raise _points_error(path, bad, "every cell must be a number") from None
    if not np.isfinite(data).all():
        line = lines[1 + int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])]
        raise _points_error(path, line, "every cell must be a finite number")
    if data.ndim != 2 or data.shape[1] != len(header):
        raise _points_error(path, None, f"every row needs {len(header)} values, one per column of the header")
    return {name: data[:, k] for k, name in enumerate(header)}


def _points_error(path: str, line: int | None, message: str) -> InputError:
    """An error in the points file ``path`` (at ``line``)."""
    return InputError(message, option="points", value=path if line is None else f"{path}, line {line}")


def _numbered_rows(path: str, reader) -> tuple[list[int], list[list[str]]]:
    """The rows that are not blank, each with the line of the file it starts on; a row past
    ``MAX_POINTS`` points or a cell past the csv module's field size limit is an InputError."""
    lines: list[int] = []
    rows: list[list[str]] = []
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(rows) > MAX_POINTS:
                    raise _points_error(path, start, f"a file holds at most {MAX_POINTS:,} points")
                lines.append(start)
                rows.append(row)
            start = reader.line_num + 1
    except csv.Error as error:
        raise _points_error(path, start, f"cannot read the row as CSV ({error})") from None
    return lines, rows


def _all_numbers(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


@dataclass
class BatchPath:
    """One path through a function file: the trace recorded on it and the points (positions) that take it."""

    trace: Trace
    indices: np.ndarray


@dataclass
class Batch:
    """Outputs and gradients at every point (arrays of one entry per point)."""

    trace: Trace
    points: dict[str, np.ndarray]
    values: list[np.ndarray]  # per output
    gradients: list[dict[str, np.ndarray]]  # per output: input -> partial derivatives
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the paths the points took through a function file
    paths: list[BatchPath] = field(default_factory=list)  # empty: one trace, valid at every point
    conventions: np.ndarray | None = None  # per point: was a derivative convention used (abs at 0 …)
    kink_changes: np.ndarray | None = None  # per gap between neighbouring points: did a kink node cross its kink

    @property
    def count(self) -> int:
        return len(next(iter(self.points.values()))) if self.points else 1

    def inputs(self) -> dict[str, list[float]]:
        """Each input's value at every point (an input held constant is repeated)."""
        return {name: np.broadcast_to(np.asarray(values, dtype=float), (self.count,)).tolist()
                for name, values in self.points.items()}


def batch_gradient(trace: Trace, columns: dict[str, np.ndarray | float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Value and gradient of a single-output trace at every point (a convenience for scripts)."""
    batch = evaluate_batch(trace, columns)
    return batch.values[0], batch.gradients[0]


def evaluate_batch(trace: Trace, columns: dict[str, np.ndarray | float]) -> Batch:
    """Value and gradient of every output at every point; ``columns`` maps each input to its values.

    A trace whose path depended on the input is refused (:func:`evaluate_paths` groups the points by path)."""
    if trace.notes or trace.controls:
        raise InputError("one trace is not valid at every point: the path it recorded depended on the input ("
                         + "; ".join(_path_text(trace)) + "); evaluate the points one at a time")
    points, count = _point_columns(trace, columns)
    return _evaluate_points(trace, points, count)


def _point_columns(trace: Trace, columns: dict[str, np.ndarray | float]) -> tuple[dict[str, np.ndarray], int]:
    """Each input's values (an array, or a 0-d array for an input held constant) and the number of points."""
    missing = [name for name in trace.input_names if name not in columns]
    if missing:
        raise InputError(f"no values for {', '.join(missing)} (nor a column of the points file)", option="at",
                         value=",".join(f"{name}=…" for name in missing))
    extra = [name for name in columns if name not in trace.input_names]
    if extra:
        inputs = ", ".join(trace.input_names)
        raise InputError(f"{', '.join(extra)}: not an input of the function (its inputs: {inputs})")
    points = {name: np.asarray(columns[name], dtype=float) for name in trace.input_names}
    lengths = {len(v) for v in points.values() if v.ndim}
    if len(lengths) > 1:
        raise InputError(f"the inputs have different numbers of points ({', '.join(map(str, sorted(lengths)))})")
    return points, max(lengths, default=1)


def _evaluate_points(trace: Trace, points: dict[str, np.ndarray], count: int) -> Batch:
    """:func:`evaluate_batch` on checked columns, whatever path the trace recorded."""
    values, undefined, gradients = accelerator.sweep_points(trace, points, count, _kept_nodes(trace))
    warnings = [_undefined_warning(trace, node, hits, first, what, points) for node, hits, first, what in undefined]
    said, conventions = _convention_warnings(trace, values, points)
    outputs = [np.broadcast_to(np.asarray(values[o], dtype=float), (count,)) for o in trace.outputs]
    return Batch(trace, points, outputs, gradients, warnings + said, conventions=conventions,
                 kink_changes=_kink_changes(trace, values, count))


#: What :func:`sweep_points_numpy` and :func:`sweep_points_native` return: each node's values (at
#: least the outputs' and the kept nodes'; None for another), the undefined nodes as (node, how many
#: points, the first of them, "value" or "derivative": its value is undefined or overflows, or a
#: partial the sweep uses overflows there), and per output each input's partial derivatives (NaN
#: where the output has no value, or its derivative overflows).
Sweep = tuple[list, list[tuple[int, int, int, str]], list[dict[str, np.ndarray]]]


def _kept_nodes(trace: Trace) -> list[int]:
    """The operations whose values the warnings and kink checks read: the kinks and their arguments."""
    from adcli.branches import KINKS

    codes = {p.opcode for p in operations() if p.kinks} | {BY_NAME[name].opcode for name in KINKS}
    kept = {node for i, code in enumerate(trace.op) if code in codes for node in (i, *trace.args(i))}
    return sorted(node for node in kept if trace.op[node] >= FIRST_PRIMITIVE)


def sweep_points_native(kernel: Callable, trace: Trace, points: dict[str, np.ndarray], count: int,
                        kept: list[int]) -> Sweep:
    """Value and gradient at every point through the C extension's loop over blocks of points
    (``kernel``, bound by :mod:`adcli.accelerator`); the NumPy twin where a primitive has no kernel."""
    leaves: list = [None] * len(trace)
    for name, node in zip(trace.input_names, trace.inputs):
        column = points[name]
        leaves[node] = np.ascontiguousarray(column, dtype=float) if column.ndim else float(column)
    for node, value in trace.literal.items():
        leaves[node] = float(value)
    stored = {node: np.empty(count) for node in (*trace.outputs, *kept) if trace.op[node] >= FIRST_PRIMITIVE}
    gradients = [{name: np.empty(count) for name in trace.input_names} for _ in trace.outputs]
    columns = (np.asarray(trace.op, dtype=np.int8), np.asarray(trace.arg0, dtype=np.int64),
               np.asarray(trace.arg1, dtype=np.int64))

    def run(start: int, stop: int) -> list | None:
        """The kernel on points start … stop - 1 (views of every column: no copies)."""
        def part(column):
            return column[start:stop] if isinstance(column, np.ndarray) else column

        found = kernel(*columns, [part(leaf) for leaf in leaves], stop - start, list(trace.outputs),
                       [(node, column[start:stop]) for node, column in stored.items()],
                       [[(node, gradient[name][start:stop]) for name, node in zip(trace.input_names, trace.inputs)]
                        for gradient in gradients], FIRST_PRIMITIVE)
        return None if found is None else [(node, n, first + start, what) for node, n, first, what in found]

    undefined = _on_every_core(run, count)
    if undefined is None:
        return sweep_points_numpy(trace, points, count, kept)
    values: list = [stored.get(node) for node in range(len(trace))]
    for name, node in zip(trace.input_names, trace.inputs):
        values[node] = points[name]
    for node, value in trace.literal.items():
        values[node] = value
    return values, undefined, gradients


#: Points per thread at least: below this, starting a thread costs more than it saves.
POINTS_PER_THREAD = 65_536


def usable_cores() -> int:
    """How many cores this process may run on."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _on_every_core(run: Callable[[int, int], list | None], count: int) -> list | None:
    """``run(start, stop)`` over the points 0 … count - 1 cut into one contiguous range per core this
    process may use (the C loop releases the GIL, so the ranges run at once); the undefined values
    found, merged per node: (node, count, first point). None when the kernel declined (a primitive
    without a C kernel)."""
    threads = max(1, min(usable_cores(), count // POINTS_PER_THREAD))
    if threads == 1:
        return run(0, count)
    from concurrent.futures import ThreadPoolExecutor

    bounds = [count * k // threads for k in range(threads + 1)]
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(run, bounds[:-1], bounds[1:]))
    if any(part is None for part in parts):
        return None
    merged: dict[tuple[int, str], tuple[int, int]] = {}
    for part in parts:  # in order of the points: the first point of a node is the earliest range's
        for node, n, first, what in part or []:
            total, earliest = merged.get((node, what), (0, first))
            merged[node, what] = (total + n, earliest)
    return sorted(((node, n, first, what) for (node, what), (n, first) in merged.items()), key=_report_order)


def _report_order(entry: tuple) -> tuple:
    """The order of the undefined-point reports, (node, …, what): by node, a value's before a derivative's."""
    return entry[0], entry[-1] != "value"


def sweep_points_numpy(trace: Trace, points: dict[str, np.ndarray], count: int, kept: list[int]) -> Sweep:
    """Value and gradient at every point with NumPy, a node at a time over all the points (the
    reference, and the twin of :func:`sweep_points_native`); ``kept`` is not needed: every node's
    values are returned."""
    values, undefined = _evaluate(trace, points)
    partials = _linearize(trace, values)
    active = trace.active()
    overflows = _overflowing_partials(trace, values, partials, active)
    gradients, reported = [], set()
    for output in trace.outputs:
        undefined_here = ~np.isfinite(np.asarray(values[output], dtype=float))
        gradient = _reverse(trace, partials, output, points, zero_times_inf=False)
        if any(np.isnan(partial[~np.broadcast_to(undefined_here, partial.shape)]).any()
               for partial in gradient.values()):
            gradient = _reverse(trace, partials, output, points, zero_times_inf=True)
        reached = trace.needed([output])  # a node flagged is active: reached as the C loop reaches it
        for node, mask in overflows.items():
            if reached[node]:
                undefined_here = undefined_here | mask
                reported.add(node)
        for partial in gradient.values():  # no derivative where there is no value, or it overflows
            partial[np.broadcast_to(undefined_here, partial.shape)] = np.nan
        gradients.append(gradient)
    found = [(node, mask, "value") for node, mask in undefined]
    found += [(node, overflows[node], "derivative") for node in sorted(reported)]
    counted = [(node, int(np.count_nonzero(mask)), int(np.flatnonzero(mask)[0]) if np.ndim(mask) else 0, what)
               for node, mask, what in sorted(found, key=_report_order)]
    return values, counted, gradients


# ---------------------------------------------------------------- points grouped by path
def evaluate_paths(trace: Trace, columns: dict[str, np.ndarray | float],
                   retrace: Callable[[dict[str, float]], Trace]) -> Batch:
    """Value and gradient at every point of a function file whose path depends on the input.

    ``trace`` was recorded at the first point; ``retrace(point)`` records the file at another. The
    trace is evaluated at the points not yet placed, and those where every comparison it recorded
    orders its two sides the same way (and every count is the same number) take its path; the
    first point that does not is traced next. Traces with the same equations are one path. Each
    round costs one evaluation of a trace at the points left, so n points on p paths cost at most
    p evaluations of n points. A point where the file cannot be evaluated gets NaN and a warning.
    """
    points, count = _point_columns(trace, columns)
    remaining = np.arange(count)
    paths: dict[tuple, BatchPath] = {}
    failed: list[tuple[int, str]] = []
    current: Trace | None = trace
    while remaining.size:
        if current is None:
            try:
                current = retrace(_point_at(points, int(remaining[0])))
            except EvaluationError as error:
                failed.append((int(remaining[0]), str(error)))
                remaining = remaining[1:]
                continue
        if current.output_names != trace.output_names:
            raise InputError(f"the function returns {_outputs_text(trace)} at {_at_text(points, 0)} but "
                             f"{_outputs_text(current)} at {_at_text(points, int(remaining[0]))}; "
                             "a batch needs the same outputs at every point")
        values, _ = _evaluate(current, _subset(points, remaining))
        same = _on_path(current, values, remaining.size)
        same[0] = True  # the point it was recorded at
        key = (bytes(current.op), bytes(current.arg0), bytes(current.arg1),
               tuple((k, repr(v)) for k, v in current.literal.items()), tuple(current.notes))
        if key in paths:
            paths[key].indices = np.concatenate((paths[key].indices, remaining[same]))
        else:
            paths[key] = BatchPath(current, remaining[same])
        remaining, current = remaining[~same], None
    return _merge_paths(trace, points, count, sorted(paths.values(), key=lambda path: int(path.indices.min())),
                        failed)


def _merge_paths(trace: Trace, points: dict[str, np.ndarray], count: int, paths: list[BatchPath],
                 failed: list[tuple[int, str]]) -> Batch:
    """Each path's batch, evaluated at its points, placed back in the order of the points."""
    values = [np.full(count, np.nan) for _ in trace.outputs]
    gradients = [{name: np.full(count, np.nan) for name in trace.input_names} for _ in trace.outputs]
    conventions = np.zeros(count, dtype=bool)
    kink_changes = np.zeros(max(count - 1, 0), dtype=bool)
    warnings: list[str] = []
    notes = [f"the path through the file depends on the input: the {count:,} points take {len(paths)} paths, "
             "each traced once and evaluated at its points" if len(paths) != 1 else
             f"the path through the file depends on the input, but the {count:,} points take one path, "
             "traced once and evaluated at each of them"]
    for k, path in enumerate(paths):
        indices = path.indices = np.sort(path.indices)
        part = _evaluate_points(path.trace, _subset(points, indices), len(indices))
        for output, value in enumerate(part.values):
            values[output][indices] = value
            for name, partial in part.gradients[output].items():
                gradients[output][name][indices] = partial
        assert part.conventions is not None and part.kink_changes is not None
        conventions[indices] = part.conventions
        neighbours = np.flatnonzero(np.diff(indices) == 1)
        kink_changes[indices[neighbours]] |= part.kink_changes[neighbours]
        warnings += [f"path {k + 1}: {warning}" for warning in part.warnings]
        taken = "; ".join(note.removesuffix("; the derivative is that of the path that ran")
                          for note in _path_text(path.trace))
        notes.append(f"path {k + 1}, {len(indices):,} point{'s' if len(indices) != 1 else ''} "
                     f"(the first: {_at_text(points, int(indices[0]))}): {taken}")
    if failed:
        where, message = failed[0]
        warnings.append(f"the function cannot be evaluated at {len(failed):,} of the {count:,} points "
                        f"(the first: {_at_text(points, where)}: {message}); their results are NaN")
    return Batch(trace, points, values, gradients, warnings, notes, paths, conventions, kink_changes)


def _path_text(trace: Trace) -> list[str]:
    """What decided a trace's path: its branch notes, then each line that used a traced count."""
    recorded, said, counts = trace.recorded_values, set(), []
    for control in trace.controls:
        if control.is_count and control.line not in said and recorded is not None:
            said.add(control.line)
            counts.append(f"line {control.line}: {control.text.rstrip(':')} counted {recorded[control.node]:g}")
    return trace.notes + counts


def _on_path(trace: Trace, values: list, count: int) -> np.ndarray:
    """Per point: does every comparison the trace recorded come out as it did when recorded (or,
    recorded without its operator, order its sides the same way), and every count
    (``range(math.floor(x))``) have the recorded value? Element by element what
    :func:`adcli.branches.departure` asks of one point."""
    recorded = trace.recorded_values
    assert recorded is not None
    same = np.ones(count, dtype=bool)
    with np.errstate(all="ignore"):
        for control in trace.controls:
            node, other = control.node, control.other
            if control.is_count:
                same &= np.asarray(values[node]) == recorded[node]
                continue
            b, recorded_b = ((values[other], recorded[other]) if other != NO_ARG
                             else (control.constant, control.constant))
            if control.relation:
                same &= RELATIONS[control.relation](np.asarray(values[node]), b) == control.outcome
            else:
                same &= _order(values[node], b) == _order(recorded[node], recorded_b)
    return same


def _order(a, b):
    """-1, 0 or 1 as ``a`` is below, equal to or above ``b``; 2 where they are unordered (NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    return np.where(a == b, 0, np.where(a > b, 1, np.where(a < b, -1, 2)))


def _subset(points: dict[str, np.ndarray], indices: np.ndarray) -> dict[str, np.ndarray]:
    return {name: v[indices] if v.ndim else v for name, v in points.items()}


def _point_at(points: dict[str, np.ndarray], index: int) -> dict[str, float]:
    return {name: float(v[index] if v.ndim else v) for name, v in points.items()}


def _at_text(points: dict[str, np.ndarray], index: int) -> str:
    return ", ".join(f"{name}={format_literal(value)}" for name, value in _point_at(points, index).items())


def _outputs_text(trace: Trace) -> str:
    return f"{len(trace.outputs)} output{'s' if len(trace.outputs) != 1 else ''} ({', '.join(trace.output_names)})"


def _evaluate(trace: Trace, points: dict[str, np.ndarray]):
    """Every node's values (arrays, or floats for constants); NaN where an operation is undefined."""
    functions = functions_of(vector_math)
    values: list = [None] * len(trace)
    for name, node in zip(trace.input_names, trace.inputs):
        values[node] = points[name]
    for node, value in trace.literal.items():
        values[node] = value
    undefined = []

    def apply(i: int, code: int, args: tuple):
        result = functions[code](*args)
        if not np.isfinite(result).all():  # one cheap pass; the mask only when needed
            bad = ~np.isfinite(result)
            for a in args:
                bad &= np.isfinite(a)  # only where this operation failed, not its arguments
            if np.any(bad):
                undefined.append((i, bad))
                result = np.where(bad, np.nan, result)  # undefined, not a number such as -inf
        return result

    with np.errstate(all="ignore"):
        evaluate_steps(trace.op, trace.arg0, trace.arg1, values, _operations(trace), apply)
    return values, undefined


def _operations(trace: Trace) -> list[int]:
    return [i for i, code in enumerate(trace.op) if code >= FIRST_PRIMITIVE]


def _linearize(trace: Trace, values: list) -> list[tuple]:
    """Every node's partials at every point; a constant argument's partial is 0 (it needs no adjoint)."""
    partials: list[tuple] = [()] * len(trace)
    m = Reuse(trace, values)
    for i in _operations(trace):
        args = [np.asarray(values[a], dtype=float) for a in trace.args(i)]
        rule = apply_partials(trace.op[i], args, np.asarray(values[i], dtype=float), m)
        partials[i] = tuple(0.0 if trace.op[a] == CONST else partial for a, partial in zip(trace.args(i), rule))
    return partials


def _overflowing_partials(trace: Trace, values: list, partials: list[tuple],
                          active: list[bool]) -> dict[int, np.ndarray]:
    """Per node: where a partial the sweep uses (of an argument that depends on an input) is infinite
    or NaN though its arguments and value are finite, and it is not the primitive's convention at a
    kink (sqrt'(0) = inf): an overflow, which one point at a time refuses (:func:`adcli.sweeps.linearize`).
    ``active``: per node, whether it depends on an input (:meth:`Trace.active`)."""
    found = {}
    with np.errstate(all="ignore"):
        for i in _operations(trace):
            primitive = PRIMITIVES[trace.op[i]]
            args = [np.asarray(values[a], dtype=float) for a in trace.args(i)]
            bad = np.zeros((), dtype=bool)
            for k, (a, partial) in enumerate(zip(trace.args(i), partials[i])):
                if not active[a] or np.isfinite(partial).all():
                    continue
                here = ~np.isfinite(partial)
                if primitive.kinks and primitive.kinks[k] is not None:
                    shape = np.broadcast_shapes(*(arg.shape for arg in args), np.shape(partial))
                    here &= ~_kink_mask(primitive.kinks[k], [np.broadcast_to(arg, shape) for arg in args])
                bad = bad | here
            if np.any(bad):
                finite = np.isfinite(np.asarray(values[i], dtype=float))
                for arg in args:
                    finite = finite & np.isfinite(arg)
                bad = bad & finite
                if np.any(bad):
                    found[i] = bad
    return found


class _ArrayAdjoints:
    """Adjoint arithmetic on arrays over the points, for :func:`adcli.sweeps.reverse_steps`.

    Adjoints accumulate in place into arrays the sweep allocated itself (``owned``); an adjoint that
    is another node's array (add passes its adjoint through unchanged) is copied before it is added to.

    With ``zero_times_inf``, an infinite partial (a convention such as sqrt'(0), or an overflow)
    times a zero adjoint gives 0, as the float sweeps do, instead of NaN; so does a zero partial
    times an infinite adjoint (relu'(0) under sqrt'(0) in sqrt(relu(x))). Checking every partial for
    that costs a pass over each, so :func:`evaluate_batch` sweeps without it first and again with
    it only if a gradient has a NaN where the output has a value: NaN survives every later product
    and sum, so a NaN that reaches no input did not matter.
    """

    def __init__(self, size: int, zero_times_inf: bool) -> None:
        self.owned = [False] * size
        self.zero_times_inf = zero_times_inf
        self.fresh = None  # the last product, an array no node holds yet

    def times(self, g, partial):
        if isinstance(partial, float) and partial in (1.0, -1.0):  # add, sub, neg: no product
            product = g if partial == 1.0 else -g
        else:
            product = g * partial
            if self.zero_times_inf and not (np.isfinite(partial).all() and np.isfinite(g).all()):
                product = np.where((np.asarray(g) == 0) | (np.asarray(partial) == 0), 0.0, product)
        self.fresh = product if product is not g else None
        return product

    def add_to(self, adjoint: list, node: int, contribution) -> None:
        fresh, self.fresh = contribution is self.fresh, None
        if is_zero(adjoint[node]):
            adjoint[node], self.owned[node] = contribution, fresh
        elif self.owned[node]:
            adjoint[node] += contribution
        else:
            adjoint[node], self.owned[node] = adjoint[node] + contribution, True


def _reverse(trace: Trace, partials: list[tuple], output: int, points: dict,
             zero_times_inf: bool) -> dict[str, np.ndarray]:
    """One reverse sweep on arrays (see :class:`_ArrayAdjoints`): the adjoint of every input at every point."""
    adjoint: list = [0.0] * len(trace)
    adjoint[output] = 1.0
    arithmetic = _ArrayAdjoints(len(trace), zero_times_inf)
    with np.errstate(all="ignore"):
        reverse_steps(trace.arg0, trace.arg1, reversed(_operations(trace)), partials.__getitem__, adjoint,
                      arithmetic.times, arithmetic.add_to)
    count = max((len(v) for v in points.values() if np.ndim(v)), default=1)
    # + 0.0: a zero partial adds nothing in the float sweep, whose adjoints start at +0 and so are
    # never -0; here a -0 product may be added, and only the sign of a zero can differ
    return {name: np.broadcast_to(adjoint[node], (count,)).astype(float, copy=True) + 0.0
            for name, node in zip(trace.input_names, trace.inputs)}


def _undefined_warning(trace: Trace, node: int, count: int, first: int, what: str, points: dict) -> str:
    """Node ``node`` is undefined (``what``: "value"), or its derivative overflows ("derivative"), at
    ``count`` points, the first at position ``first``."""
    names = trace.names()
    where = trace.label(node, names)
    at = ", ".join(f"{name}={format_literal(float(np.asarray(v)[first] if np.ndim(v) else v))}"
                   for name, v in points.items())
    points_text = f"{count:,} point{'s' if count != 1 else ''} (the first: {at})"
    if what == "derivative":
        return f"{where}: its derivative overflows at {points_text}; their derivatives are NaN"
    name = PRIMITIVES[trace.op[node]].name
    return f"{where}: {name} is undefined or overflows at {points_text}; their results are NaN"


def _convention_warnings(trace: Trace, values: list, points: dict) -> tuple[list[str], np.ndarray]:
    """For each node whose derivative is a convention at some of the points (abs at 0, a max tie):
    which convention, at how many points, and the first of them; and per point, whether any was used."""
    count = max((len(v) for v in points.values() if np.ndim(v)), default=1)
    used = np.zeros(count, dtype=bool)
    watched = {p.opcode for p in operations() if p.kinks and not p.discrete}
    if not watched.intersection(trace.op):
        return [], used
    active, needed, names, input_name = trace.active(), trace.needed(), trace.names(), trace.input_name_of()
    warnings = []
    for i, code in enumerate(trace.op):
        if code not in watched or not needed[i]:
            continue
        primitive = PRIMITIVES[code]
        args_nodes = trace.args(i)
        args = [np.broadcast_to(np.asarray(values[a], dtype=float), (count,)) for a in args_nodes]
        mask = np.zeros(count, dtype=bool)
        for kink, a in zip(primitive.kinks, args_nodes):
            if kink is not None and active[a]:
                mask |= _kink_mask(kink, args)
        mask &= np.isfinite(np.broadcast_to(values[i], (count,)))  # undefined points have their own warning
        used |= mask
        hits = int(np.count_nonzero(mask))
        if hits:
            first = int(np.flatnonzero(mask)[0])
            at = ", ".join(f"{name}={format_literal(float(np.broadcast_to(v, (count,))[first]))}"
                           for name, v in points.items())
            there = [float(arg[first]) for arg in args]
            out = float(np.broadcast_to(values[i], (count,))[first])
            arg_names = [names[a] if active[a] else None for a in args_nodes]
            detail = kink_detail(primitive, there, out, arg_names, None, trace.program is not None)
            warnings.append(f"{trace.label(i, names, input_name)}: {primitive.name} is not "
                            f"differentiable at {hits:,} of the {count:,} points (the first: {at}{detail})")
    return warnings, used


def _kink_mask(kink: Callable[..., bool], args: list[np.ndarray]) -> np.ndarray:
    """Where the kink predicate ``kink`` holds at each point: applied to the arrays at once when it is
    written with comparisons and arithmetic only (``x == 0``), else point by point."""
    try:
        with np.errstate(all="ignore"):
            mask = kink(*args)
        if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == args[0].shape:
            return mask
    except (TypeError, ValueError):  # math.floor of an array; `and` of two arrays
        pass
    return np.asarray(np.frompyfunc(kink, len(args), 1)(*args)).astype(bool)  # 0-d arrays give a bool


def _kink_changes(trace: Trace, values: list, count: int) -> np.ndarray:
    """Per gap between neighbouring points: does a kink node (abs, relu, sign, max, min) that the
    output needs change sides strictly between them, or a floor change its value?"""
    from adcli.branches import KINKS

    changes = np.zeros(max(count - 1, 0), dtype=bool)
    codes = {BY_NAME[name].opcode for name in KINKS}
    if count < 2 or not codes.intersection(trace.op):
        return changes
    active, needed, floor = trace.active(), trace.needed(), BY_NAME["floor"].opcode
    with np.errstate(all="ignore"):
        for i, code in enumerate(trace.op):
            if code not in codes or not (active[i] and needed[i]):
                continue
            a, b = trace.arg0[i], trace.arg1[i]
            side = np.broadcast_to(np.asarray(values[i] if code == floor else
                                              np.sign(values[a] - (values[b] if b != NO_ARG else 0.0)), dtype=float),
                                   (count,))
            changes |= (side[1:] != side[:-1]) if code == floor else (side[1:] * side[:-1] < 0)
    return changes
