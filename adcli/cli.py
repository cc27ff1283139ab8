"""The ``adcli`` command line: parse options, call the library, hand the result to a renderer.

Library errors (:class:`adcli.errors.AdcliError`) become one message on stderr and the exit code
of the design contract here, and only here. Heavy modules (rich's tables, SymPy, matplotlib) are
imported inside the commands that use them, to keep start-up fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Optional

import typer

from adcli.errors import AdcliError, InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Automatic differentiation you can read: Wengert lists, forward and reverse mode.",
)

Source = Annotated[str, typer.Argument(
    help="An expression such as \"x*exp(y)-sin(x)\" (outputs separated by commas), a .py file, or - for stdin.",
    show_default=False)]
At = Annotated[Optional[list[str]], typer.Option(
    "--at", help="Input values: x=1.047,y=0 or x=pi/3 or w=[1,2]; may be repeated.", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Digits = Annotated[int, typer.Option("--digits", min=1, max=17, help="Significant digits shown in tables.")]
Func = Annotated[Optional[str], typer.Option("--func", help="The function to differentiate in a .py file.")]
Mode = Annotated[str, typer.Option("--mode", help="reverse (one sweep per output) or forward (one per input).")]
SympyTimeout = Annotated[float, typer.Option(
    "--sympy-timeout", min=0.0, help="Seconds SymPy may take in all; past it, its steps are reported as timed out.")]


def command(function: Callable) -> Callable:
    """Register a command whose adcli errors become a message on stderr and the contract's exit code."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except AdcliError as error:
            sys.stderr.write(f"error: {error}\n")
            raise typer.Exit(error.exit_code) from None

    return app.command()(run)


def _source_text(source: str) -> str:
    """SRC itself, or the expression read from standard input for ``-``."""
    if source == "-":
        source = sys.stdin.read().strip()
        if not source:
            raise InputError("standard input is empty: pipe an expression, e.g. echo 'x^2' | adcli grad - --at x=2")
    return source


def _load(source: str, at: list[str] | None, func: str | None):
    """The trace and the point (list parameters flattened) for SRC and the --at options."""
    from adcli.analysis import load
    from adcli.points import parse_assignments

    return load(_source_text(source), parse_assignments(at or []), func)


def _format(name: str, as_json: bool, allowed: tuple[str, ...]) -> str:
    """The --format value (``--json`` is short for ``--format json``), checked against ``allowed``."""
    if as_json:
        if name not in ("table", "json"):
            raise InputError(f"--json and --format {name} disagree: choose one")
        return "json"
    if name not in allowed:
        raise InputError(f"--format {name}: choose {', '.join(allowed[:-1])} or {allowed[-1]}")
    return name


def _emit(as_json: bool, document: Callable[[], dict], view: Callable[[], object]) -> None:
    """Print the result as JSON or as rich tables; only the chosen one is built."""
    if as_json:
        import json

        sys.stdout.write(json.dumps(document(), indent=2, allow_nan=False) + "\n")
    else:
        from rich.console import Console

        Console().print(view())


def _render():
    import adcli.render

    return adcli.render


def _rows(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 2:
        raise InputError(f"--rows {text}: give a number of rows of at least 2, or all")
    return int(text)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@command
def grad(
    source: Source,
    at: At = None,
    mode: Mode = "reverse",
    wrt: Annotated[Optional[str], typer.Option("--wrt", help="Differentiate with respect to these inputs: x,y.")]
    = None,
    func: Func = None,
    check: Annotated[Optional[str], typer.Option(
        "--check", help="Cross-check against sympy, fd (central difference) or both: sympy,fd.")] = None,
    points: Annotated[Optional[str], typer.Option(
        "--points", help="A CSV file of points: a header row naming the inputs, then one point per row.")] = None,
    output_format: Annotated[str, typer.Option(
        "--format", help="table, json or csv (csv: one row per point, every digit).")] = "table",
    sympy_timeout: SympyTimeout = 10.0,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """Value and gradient at a point, or at many (--at x=0:1:1001, --points file.csv)."""
    from adcli import report
    from adcli.analysis import gradient
    from adcli.points import is_batch, parse_assignments, parse_names

    output_format = _format(output_format, as_json, ("table", "json", "csv"))
    assigned = parse_assignments(at or [])
    if is_batch(assigned, points):
        if wrt is not None or check is not None or mode != "reverse":
            raise InputError("--wrt, --check and --mode apply to one point; a batch gives the full gradient")
        from adcli.batch import gradient_at_points

        batch = gradient_at_points(_source_text(source), assigned, points, func)
        if output_format == "csv":
            sys.stdout.write(report.batch_csv(batch))
        else:
            _emit(output_format == "json", lambda: report.batch_json(batch), lambda: _render().batch_view(batch, digits))
        return
    trace, assigned = _load(source, at, func)
    result = gradient(trace, assigned, mode=mode, wrt=parse_names(wrt, trace))
    checks = None
    if check is not None:
        from adcli.compare import cross_check

        checks, timeouts = cross_check(result, _names(check), sympy_timeout)
        result.evaluated.warnings.extend(f"SymPy: '{step}' ran out of the {sympy_timeout:g} s budget"
                                         for step in timeouts)

    def document() -> dict:
        doc = report.gradient_json(result)
        if checks is not None:
            doc["checks"] = report.checks_json(checks)
        return doc

    def view():
        from rich.console import Group

        table = _render().gradient_view(result, digits)
        if checks is None:
            return table
        from adcli.render_compare import checks_table

        return Group(table, checks_table(checks, digits))

    if output_format == "csv":
        sys.stdout.write(report.gradient_csv(result))
    else:
        _emit(output_format == "json", document, view)


@command
def trace(
    source: Source,
    at: At = None,
    wrt: Annotated[Optional[str], typer.Option(
        "--wrt", help="Add a tangent column seeded on each of these inputs: x or x,y.")] = None,
    direction: Annotated[Optional[str], typer.Option(
        "--direction", help="Add a tangent column for this input direction: x=1,y=2.")] = None,
    output: Annotated[int, typer.Option("--output", min=1, help="Which output's adjoints to show.")] = 1,
    rows: Annotated[str, typer.Option("--rows", help="Rows shown of a long trace: a number, or all.")] = "40",
    func: Func = None,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """The Wengert table: every node's value, tangent and adjoint, and the reverse sweep."""
    from adcli import report
    from adcli.analysis import sweep_table
    from adcli.points import bind_direction, parse_assignments, parse_names

    trace, assigned = _load(source, at, func)
    shown_rows = _rows(rows)
    seed = bind_direction(trace, parse_assignments([direction], "--direction")) if direction else None
    table = sweep_table(trace, assigned, wrt=parse_names(wrt, trace) if wrt else [], direction=seed,
                        output=output - 1)
    _emit(as_json, lambda: report.sweep_json(table), lambda: _render().sweep_view(table, digits, shown_rows))


@command
def jacobian(
    source: Source,
    at: At = None,
    mode: Mode = "reverse",
    func: Func = None,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """The Jacobian of several outputs, and the cost of forward vs reverse mode for its shape."""
    from adcli import report
    from adcli.jacobian import jacobian as compute

    trace, assigned = _load(source, at, func)
    result = compute(trace, assigned, mode=mode)
    _emit(as_json, lambda: report.jacobian_json(result), lambda: _render().jacobian_view(result, digits))


@command
def hessian(
    source: Source,
    at: At = None,
    func: Func = None,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """Second derivatives of a single-output function (forward-over-reverse AD)."""
    from adcli import report
    from adcli.hessian import hessian as compute

    trace, assigned = _load(source, at, func)
    result = compute(trace, assigned)
    _emit(as_json, lambda: report.hessian_json(result), lambda: _render().hessian_view(result, digits))


@command
def compare(
    source: Source,
    at: At = None,
    func: Func = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Sweep the finite-difference step h from 1e-1 to 1e-16.")]
    = False,
    steps: Annotated[Optional[str], typer.Option(
        "--steps", help="The steps of the sweep, e.g. 1e-2,1e-4,1e-8 (implies --sweep).")] = None,
    nest: Annotated[int, typer.Option("--nest", min=1, help="Compose f with itself 1…K times to show swell.")] = 1,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="Also draw the sweep / swell into this .png, .svg or .pdf file (needs matplotlib).")] = None,
    sympy_timeout: SympyTimeout = 10.0,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """AD vs SymPy vs finite differences: errors, step sweep, expression swell."""
    from adcli import report
    from adcli.compare import DEFAULT_STEPS
    from adcli.compare import compare as compute

    if plot is not None:
        from adcli.plot import check_plot_file

        check_plot_file(plot)
    trace, assigned = _load(source, at, func)
    sweep_steps = _parse_steps(steps) if steps is not None else DEFAULT_STEPS if sweep else None
    result = compute(trace, assigned, sweep_steps=sweep_steps, nest=nest, sympy_timeout=sympy_timeout)
    if plot is not None:
        from adcli.plot import plot_comparison

        plot_comparison(result, plot)

    def view():
        from rich.console import Group
        from rich.text import Text

        from adcli.render_compare import comparison_view

        tables = comparison_view(result, digits)
        return tables if plot is None else Group(tables, Text(f"wrote {plot}"))

    _emit(as_json, lambda: report.compare_json(result), view)


def _parse_steps(text: str) -> list[float]:
    from adcli.points import constant_value

    values = [constant_value(part, f"--steps {text}") for part in _names(text)]
    if not values or any(v <= 0 for v in values):
        raise InputError(f"--steps {text}: give positive step sizes, e.g. 1e-2,1e-4,1e-8")
    return values


def main() -> None:
    app()
