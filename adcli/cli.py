"""The ``adcli`` command line: parse options, call the library, hand the result to a renderer.

Library errors (:class:`adcli.errors.AdcliError`) become one message on stderr and the exit code
of the design contract here, and only here.
"""

from __future__ import annotations

import json
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
At = Annotated[list[str], typer.Option(
    "--at", help="Input values: x=1.047,y=0 or x=pi/3; may be repeated.", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Digits = Annotated[int, typer.Option("--digits", min=1, max=17, help="Significant digits shown in tables.")]
Func = Annotated[Optional[str], typer.Option("--func", help="The function to differentiate in a .py file.")]
SympyTimeout = Annotated[float, typer.Option(
    "--sympy-timeout", min=0.0, help="Seconds SymPy may take in all; past it, its steps are reported as timed out.")]
Wrt = Annotated[Optional[str], typer.Option("--wrt", help="Differentiate with respect to these inputs: x,y.")]


def _run(action: Callable[[], None]) -> None:
    """Run a command body, turning adcli's errors into a message on stderr and an exit code."""
    try:
        action()
    except AdcliError as error:
        sys.stderr.write(f"error: {error}\n")
        raise typer.Exit(error.exit_code) from None


def _load(source: str, at: list[str], func: str | None):
    """The trace and the point (list parameters flattened) for SRC and the --at options."""
    from adcli.analysis import load
    from adcli.points import parse_assignments

    if source == "-":
        source = sys.stdin.read().strip()
        if not source:
            raise InputError("standard input is empty: pipe an expression, e.g. echo 'x^2' | adcli grad - --at x=2")
    return load(source, parse_assignments(at), func)


def _emit_json(document: dict) -> None:
    sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")


def _rows(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 2:
        raise InputError(f"--rows {text}: give a number of rows of at least 2, or all")
    return int(text)


@app.command()
def grad(
    source: Source,
    at: At = [],  # noqa: B006 - typer needs a literal default
    mode: Annotated[str, typer.Option("--mode", help="reverse (one sweep per output) or forward (one per input).")]
    = "reverse",
    wrt: Wrt = None,
    func: Func = None,
    check: Annotated[Optional[str], typer.Option(
        "--check", help="Cross-check against sympy, fd (central difference) or both: sympy,fd.")] = None,
    sympy_timeout: SympyTimeout = 10.0,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """Value and gradient at a point."""

    def action() -> None:
        from adcli.analysis import gradient
        from adcli.points import parse_names

        trace, assigned = _load(source, at, func)
        result = gradient(trace, assigned, mode=mode, wrt=parse_names(wrt, trace))
        checks = None
        if check is not None:
            from adcli.compare import cross_check

            checks, timeouts = cross_check(result, [c.strip() for c in check.split(",") if c.strip()], sympy_timeout)
            result.evaluated.warnings.extend(f"SymPy: '{step}' ran out of the {sympy_timeout:g} s budget"
                                             for step in timeouts)
        if as_json:
            from adcli.report import checks_json, gradient_json

            document = gradient_json(result)
            if checks is not None:
                document["checks"] = checks_json(checks)
            _emit_json(document)
        else:
            from adcli.render import gradient_view, print_view

            view = gradient_view(result, digits)
            if checks is not None:
                from rich.console import Group

                from adcli.render_compare import checks_table

                view = Group(view, checks_table(checks, digits))
            print_view(view)

    _run(action)


@app.command()
def trace(
    source: Source,
    at: At = [],  # noqa: B006
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

    def action() -> None:
        from adcli.analysis import sweep_table
        from adcli.points import bind_direction, parse_assignments, parse_names

        trace, assigned = _load(source, at, func)
        shown_rows = _rows(rows)
        seed = bind_direction(trace, parse_assignments([direction], "--direction")) if direction else None
        wrt_names = parse_names(wrt, trace) if wrt else []
        table = sweep_table(trace, assigned, wrt=wrt_names, direction=seed, output=output - 1)
        if as_json:
            from adcli.report import sweep_json

            _emit_json(sweep_json(table))
        else:
            from adcli.render import print_view, sweep_view

            print_view(sweep_view(table, digits, shown_rows))

    _run(action)


@app.command()
def jacobian(
    source: Source,
    at: At = [],  # noqa: B006
    mode: Annotated[str, typer.Option("--mode", help="forward (column by column) or reverse (row by row).")]
    = "reverse",
    func: Func = None,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """The Jacobian of several outputs, and the cost of forward vs reverse mode for its shape."""

    def action() -> None:
        from adcli.analysis import jacobian as compute

        trace, assigned = _load(source, at, func)
        result = compute(trace, assigned, mode=mode)
        if as_json:
            from adcli.report import jacobian_json

            _emit_json(jacobian_json(result))
        else:
            from adcli.render import jacobian_view, print_view

            print_view(jacobian_view(result, digits))

    _run(action)


@app.command()
def hessian(
    source: Source,
    at: At = [],  # noqa: B006
    func: Func = None,
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """Second derivatives of a single-output function (forward-over-reverse AD)."""

    def action() -> None:
        from adcli.hessian import hessian as compute

        trace, assigned = _load(source, at, func)
        result = compute(trace, assigned)
        if as_json:
            from adcli.report import hessian_json

            _emit_json(hessian_json(result))
        else:
            from adcli.render import hessian_view, print_view

            print_view(hessian_view(result, digits))

    _run(action)


@app.command()
def compare(
    source: Source,
    at: At = [],  # noqa: B006
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

    def action() -> None:
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
        if as_json:
            from adcli.report import compare_json

            _emit_json(compare_json(result))
        else:
            from adcli.render import print_view
            from adcli.render_compare import comparison_view

            print_view(comparison_view(result, digits))
            if plot is not None:
                sys.stdout.write(f"wrote {plot}\n")

    _run(action)


def _parse_steps(text: str) -> list[float]:
    from adcli.points import constant_value, split_top_level

    values = [constant_value(part.strip(), f"--steps {text}") for part in split_top_level(text) if part.strip()]
    if not values or any(v <= 0 for v in values):
        raise InputError(f"--steps {text}: give positive step sizes, e.g. 1e-2,1e-4,1e-8")
    return values


def main() -> None:
    app()
