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
    as_json: Json = False,
    digits: Digits = 8,
) -> None:
    """Value and gradient at a point."""

    def action() -> None:
        from adcli.analysis import gradient
        from adcli.points import parse_names

        trace, assigned = _load(source, at, func)
        result = gradient(trace, assigned, mode=mode, wrt=parse_names(wrt, trace))
        if as_json:
            from adcli.report import gradient_json

            _emit_json(gradient_json(result))
        else:
            from adcli.render import gradient_view, print_view

            print_view(gradient_view(result, digits))

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


def main() -> None:
    app()
