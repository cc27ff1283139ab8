"""The ``adcli`` command line: parse options, call the library, hand the result to a renderer.

Library errors (:class:`adcli.errors.AdcliError`) become one message on stderr and the exit code
of the design contract here, and only here. Heavy modules (rich's tables, SymPy, matplotlib) are
imported inside the commands that use them, to keep start-up fast.
"""


import functools
import sys
from collections.abc import Callable
from typing import Annotated, Optional

import typer

try:  # typer 0.28 carries its own copy of click
    from typer._click.exceptions import ClickException
    from typer._click.types import ParamType
except ImportError:  # pragma: no cover - typer < 0.28 uses click itself
    from click.exceptions import ClickException
    from click.types import ParamType

from adcli.errors import AdcliError, InputError
from adcli.limits import MAX_COUNT, MAX_GRAPH_NODES, MAX_NEST, MAX_ROWS, parse_whole


class WholeNumber(ParamType):
    """An integer option read with :func:`adcli.limits.parse_whole`: ASCII digits, within bounds."""

    name = "integer"

    def __init__(self, minimum: int, maximum: int) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value, param, ctx) -> int:
        """The option's value, or click's usage error naming the bounds."""
        number = value if isinstance(value, int) else parse_whole(str(value), self.minimum, self.maximum)
        if number is None:
            shown = value if len(str(value)) <= 30 else f"{str(value)[:30]}…"
            self.fail(f"{shown}: give a whole number from {self.minimum:,} to {self.maximum:,}", param, ctx)
        return number


APP_SETTINGS = dict(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Automatic differentiation you can read: Wengert lists, forward and reverse mode.",
)
app = typer.Typer(**APP_SETTINGS)

Source = Annotated[str, typer.Argument(
    help="An expression such as \"x*exp(y)-sin(x)\" (outputs separated by commas), a .py file, or - for stdin.",
    show_default=False)]
At = Annotated[Optional[list[str]], typer.Option(
    "--at", help="Input values: x=1.047,y=0 or x=pi/3 or w=[1,2]; may be repeated.", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Digits = Annotated[Optional[int], typer.Option(
    "--digits", click_type=WholeNumber(1, 17), help="Significant digits shown (tables: 8; markdown, latex: all).")]
TABLE_DIGITS = 8
FORMATS = ("table", "json", "markdown", "latex", "csv")
OutputFormat = Annotated[str, typer.Option("--format", help="table, json, markdown, latex or csv.")]
Func = Annotated[Optional[str], typer.Option("--func", help="The function to differentiate in a .py file.")]
Mode = Annotated[str, typer.Option("--mode", help="reverse (one sweep per output) or forward (one per input).")]
Ste = Annotated[bool, typer.Option(
    "--ste", help="Straight-through estimator: floor and sign pass gradients as if their derivative were 1.")]
SympyTimeout = Annotated[float, typer.Option(
    "--sympy-timeout", min=0.0,
    help="Seconds SymPy may take in all (inf: no limit); past it, its steps are reported as timed out.")]


def _print_version(wanted: bool) -> None:
    if wanted:
        from adcli import __version__

        sys.stdout.write(f"adcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print adcli's version and exit.")] = False) -> None:
    """Options before the command."""


def command(function: Callable) -> Callable:
    """Register a command whose adcli errors become a message on stderr and the contract's exit code."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        from adcli.progress import progress

        try:
            with progress(f"adcli {function.__name__}"):
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


def _format(name: str, as_json: bool, allowed: tuple[str, ...] = FORMATS) -> str:
    """The --format value (``--json`` is short for ``--format json``), checked against ``allowed``."""
    if as_json:
        if name not in ("table", "json"):
            raise InputError(f"--json and --format {name} disagree: choose one")
        return "json"
    if name not in allowed:
        raise InputError(f"--format {name}: choose {', '.join(allowed[:-1])} or {allowed[-1]}")
    return name


def _emit(output_format: str, document: Callable[[], dict], view: Callable[[], object],
          tables: Callable[[], list] | None = None, digits: int | None = None) -> None:
    """Print the result in the chosen format; only that rendering is built."""
    if output_format == "json":
        import json

        data = document()
        # Indented JSON is for reading; past ~10,000 rows it is for programs, and the compact form
        # is written by json's C encoder, several times faster.
        large = sum(len(v) for v in data.values() if isinstance(v, list)) > 10_000
        sys.stdout.write(json.dumps(data, allow_nan=False, **({"separators": (",", ":")} if large else {"indent": 2}))
                         + "\n")
    elif output_format == "table":
        from rich.console import Console

        Console(emoji=False).print(view())
    else:
        from adcli.tables import write

        sys.stdout.write(write(tables(), output_format, digits))


def _show(kind: str, args: tuple, output_format: str, as_json: bool, digits: int | None, **view_options) -> None:
    """Render a result with the writers named after ``kind``: ``report.<kind>_json``,
    ``render.<kind>_view`` and ``tables.<kind>_tables``."""
    _emit(_format(output_format, as_json),
          lambda: getattr(_module("report"), f"{kind}_json")(*args),
          lambda: getattr(_module("render"), f"{kind}_view")(*args, digits or TABLE_DIGITS, **view_options),
          lambda: getattr(_module("tables"), f"{kind}_tables")(*args), digits)


def _module(name: str):
    """An adcli module imported only when a result is rendered with it (start-up stays fast)."""
    import importlib

    return importlib.import_module(f"adcli.{name}")



def _check_plot(path: str | None) -> None:
    """Fail before any work on a --plot file that cannot be written (or without matplotlib)."""
    if path is not None:
        from adcli.plot import check_plot_file

        check_plot_file(path)


def _rows(text: str) -> int | None:
    if text == "all":
        return None
    rows = parse_whole(text, 2, MAX_ROWS)
    if rows is None:
        raise InputError(f"--rows {text}: give a number of rows from 2 to {MAX_ROWS:,}, or all")
    return rows


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
        "--format", help="table, json, markdown, latex or csv (csv: one row per point, every digit).")] = "table",
    checkpoint: Annotated[Optional[str], typer.Option(
        "--checkpoint", help=f"Reverse with checkpoints: all, none, every=K or binomial=S (K, S up to {MAX_COUNT:,}).")] = None,
    ste: Ste = False,
    sympy_timeout: Annotated[Optional[float], typer.Option(
        "--sympy-timeout", min=0.0, help="Seconds SymPy may take for --check sympy (default 10; inf: no limit).")]
    = None,
    as_json: Json = False,
    digits: Digits = None,
) -> None:
    """Value and gradient at a point, or at many (--at x=0:1:1001, --points file.csv)."""
    from adcli.analysis import gradient
    from adcli.points import is_batch, parse_assignments, parse_names

    output_format = _format(output_format, as_json)
    assigned = parse_assignments(at or [])
    if is_batch(assigned, points):
        if wrt is not None or check is not None or mode != "reverse" or checkpoint or ste:
            raise InputError("--wrt, --check, --mode, --checkpoint and --ste apply to one point; "
                             "a batch gives the full gradient")
        from adcli.batch import gradient_at_points

        batch = gradient_at_points(_source_text(source), assigned, points, func)
        if output_format in ("markdown", "latex"):
            raise InputError(f"--format {output_format}: a batch of points is written as table, json or csv")
        if output_format == "csv":
            sys.stdout.write(_module("report").batch_csv(batch))
        else:
            _emit(output_format, lambda: _module("report").batch_json(batch),
                  lambda: _module("render").batch_view(batch, digits or TABLE_DIGITS))
        return
    trace, assigned = _load(source, at, func)
    result = gradient(trace, assigned, mode=mode, wrt=parse_names(wrt, trace), straight_through=ste)
    if checkpoint is not None:
        if mode != "reverse" or ste:
            raise InputError("--checkpoint reverses the trace: it goes with reverse mode and without --ste")
        from adcli.checkpoint import parse_strategy, reverse_with

        reverse_with(result, parse_strategy(checkpoint))
    checks = None
    if sympy_timeout is not None and check is None:
        raise InputError("--sympy-timeout limits --check sympy; add --check sympy or leave it out")
    if check is not None:
        from adcli.compare import cross_check

        checks, problems = cross_check(result, _names(check), 10.0 if sympy_timeout is None else sympy_timeout)
        result.evaluated.warnings.extend(problems)

    def document() -> dict:
        doc = _module("report").gradient_json(result)
        if checks is not None:
            doc["checks"] = _module("report").checks_json(checks)
        return doc

    def view():
        from rich.console import Group

        table = _module("render").gradient_view(result, digits or TABLE_DIGITS)
        if checks is None:
            return table
        from adcli.render_compare import checks_table

        return Group(table, checks_table(checks, digits or TABLE_DIGITS))

    if output_format == "csv":
        sys.stdout.write(_module("report").gradient_csv(result))
    else:
        _emit(output_format, document, view, lambda: _module("tables").gradient_tables(result), digits)


@command
def trace(
    source: Source,
    at: At = None,
    wrt: Annotated[Optional[str], typer.Option(
        "--wrt", help="Add a tangent column seeded on each of these inputs: x or x,y.")] = None,
    direction: Annotated[Optional[str], typer.Option(
        "--direction", help="Add a tangent column for this input direction: x=1,y=2.")] = None,
    output: Annotated[int, typer.Option("--output", click_type=WholeNumber(1, MAX_COUNT),
                                        help="Which output's adjoints to show.")] = 1,
    rows: Annotated[str, typer.Option(
        "--rows", help=f"Rows shown of a long trace: a number up to {MAX_ROWS:,}, or all.")] = "40",
    func: Func = None,
    ste: Ste = False,
    output_format: OutputFormat = "table",
    as_json: Json = False,
    digits: Digits = None,
) -> None:
    """The Wengert table: every node's value, tangent and adjoint, and the reverse sweep."""
    from adcli.analysis import sweep_table
    from adcli.points import bind_direction, parse_assignments, parse_names

    trace, assigned = _load(source, at, func)
    shown_rows = _rows(rows)
    seed = bind_direction(trace, parse_assignments([direction], "--direction")) if direction else None
    table = sweep_table(trace, assigned, wrt=parse_names(wrt, trace) if wrt else [], direction=seed,
                        output=output - 1, straight_through=ste)
    _show("sweep", (table,), output_format, as_json, digits, rows=shown_rows)


@command
def jacobian(
    source: Source,
    at: At = None,
    mode: Mode = "reverse",
    func: Func = None,
    output_format: OutputFormat = "table",
    as_json: Json = False,
    digits: Digits = None,
) -> None:
    """The Jacobian of several outputs, and the cost of forward vs reverse mode for its shape."""
    from adcli.jacobian import jacobian as compute

    trace, assigned = _load(source, at, func)
    result = compute(trace, assigned, mode=mode)
    _show("jacobian", (result,), output_format, as_json, digits)


@command
def hessian(
    source: Source,
    at: At = None,
    func: Func = None,
    output_format: OutputFormat = "table",
    as_json: Json = False,
    digits: Digits = None,
) -> None:
    """Second derivatives of a single-output function (forward-over-reverse AD)."""
    from adcli.hessian import hessian as compute

    trace, assigned = _load(source, at, func)
    result = compute(trace, assigned)
    _show("hessian", (result,), output_format, as_json, digits)


@command
def compare(
    source: Source,
    at: At = None,
    func: Func = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Sweep the finite-difference step h from 1e-1 to 1e-16.")]
    = False,
    steps: Annotated[Optional[str], typer.Option(
        "--steps", help="The steps of the sweep, e.g. 1e-2,1e-4,1e-8 (implies --sweep).")] = None,
    nest: Annotated[int, typer.Option("--nest", click_type=WholeNumber(1, MAX_NEST),
                                      help=f"Compose f with itself 1…K times to show swell (K ≤ {MAX_NEST}).")] = 1,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="Also draw the sweep / swell into this .png, .svg or .pdf file (needs matplotlib).")] = None,
    sympy_timeout: SympyTimeout = 10.0,
    output_format: OutputFormat = "table",
    as_json: Json = False,
    digits: Digits = None,
) -> None:
    """AD vs SymPy vs finite differences: errors, step sweep, expression swell."""
    from adcli.compare import DEFAULT_STEPS
    from adcli.compare import compare as compute

    _check_plot(plot)
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

        shown = comparison_view(result, digits or TABLE_DIGITS)
        return shown if plot is None else Group(shown, Text(f"wrote {plot}"))

    _emit(_format(output_format, as_json), lambda: _module("report").compare_json(result), view,
          lambda: _module("tables").compare_tables(result), digits)


@command
def graph(
    source: Source,
    at: At = None,
    output: Annotated[Optional[str], typer.Option("-o", "--output", help="Write to this file (.dot, .mmd, .svg, .png).")]
    = None,
    output_format: Annotated[Optional[str], typer.Option(
        "--format", help="dot, mermaid, svg or png (svg and png need Graphviz); default: from -o, else dot.")] = None,
    edges: Annotated[bool, typer.Option("--edges", help="Label each edge with its local partial derivative.")]
    = False,
    wrt: Annotated[Optional[str], typer.Option("--wrt", help="Show the tangent seeded on this input.")] = None,
    max_nodes: Annotated[int, typer.Option("--max-nodes", click_type=WholeNumber(1, MAX_GRAPH_NODES),
                                           help=f"Refuse larger graphs (at most {MAX_GRAPH_NODES:,}).")] = 300,
    func: Func = None,
    digits: Annotated[int, typer.Option("--digits", click_type=WholeNumber(1, 17),
                                        help="Significant digits in labels (1 to 17).")] = 4,
) -> None:
    """The computational graph as a picture, with values and adjoints when --at is given."""
    from adcli.graph import GraphData, check_size, format_for, render_with_graphviz, to_dot, to_mermaid
    from adcli.parser import parse
    from adcli.points import parse_names

    chosen = format_for(output, output_format)
    if chosen == "png" and output is None:
        raise InputError("--format png writes an image: name the file with -o graph.png")
    text = _source_text(source)
    if at:
        trace, assigned = _load(text, at, func)
    elif text.endswith(".py"):
        raise InputError(f"{text}: a function file is traced by running it, so give its inputs with --at")
    else:
        trace, assigned = parse(text), None
    data = GraphData(trace, digits=digits)
    check_size(data, max_nodes)
    if assigned is not None:
        from adcli.analysis import evaluate_at

        evaluated = evaluate_at(trace, assigned)
        data.values, data.partials = evaluated.values, (evaluated.d0, evaluated.d1)
        data.adjoints = evaluated.reverse(0)
        if wrt is not None:
            names = parse_names(wrt, trace)
            if len(names) != 1:
                raise InputError(f"--wrt {wrt}: a graph shows one tangent; name one input")
            data.tangents = evaluated.forward({names[0]: 1.0})
    elif wrt is not None:
        raise InputError("--wrt shows tangents, which need a point: add --at")
    dot_text = to_dot(data, edges)
    content: str | bytes = to_mermaid(data, edges) if chosen == "mermaid" else dot_text
    if chosen in ("svg", "png"):
        content = render_with_graphviz(dot_text, chosen)
    if output is None:
        sys.stdout.write(content if isinstance(content, str) else content.decode())
        return
    try:
        with open(output, "wb") as handle:
            handle.write(content.encode() if isinstance(content, str) else content)
    except OSError as error:
        raise InputError(f"-o {output}: cannot write the file ({error.strerror or error})") from None
    sys.stderr.write(f"wrote {output}\n")


@command
def codegen(
    source: Source,
    at: At = None,
    mode: Mode = "reverse",
    name: Annotated[str, typer.Option("--name", help="Prefix of the generated functions (NAME_grad).")] = "f",
    func: Func = None,
) -> None:
    """Python source for the value and gradient: forward (JVP) or reverse (adjoint) statements."""
    from adcli.codegen import generate
    from adcli.parser import parse

    if not name.isidentifier():
        raise InputError(f"--name {name}: the name must be a Python identifier")
    text = _source_text(source)
    if text.endswith(".py"):
        if not at:
            raise InputError(f"{text}: a function file is traced by running it, so give its inputs with --at")
        trace, _ = _load(text, at, func)
    else:
        if at:
            raise InputError("--at: code for an expression holds at every point; --at is for function files")
        trace = parse(text)
    sys.stdout.write(generate(trace, mode, name))


@command
def checkpoint(
    source: Source,
    at: At = None,
    strategies: Annotated[Optional[str], typer.Option(
        "--strategies", help=f"Which to run, e.g. all,every=10,binomial=5 (K, S up to {MAX_COUNT:,}; "
                             "default: a few of each).")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="Draw stored values against recomputed steps into this .png, .svg or .pdf file.")] = None,
    func: Func = None,
    output_format: OutputFormat = "table",
    as_json: Json = False,
    digits: Digits = None,
) -> None:
    """Checkpointing strategies side by side: memory, recomputation, time, and the same gradient."""
    from adcli.analysis import evaluate_at
    from adcli.checkpoint import compare_strategies, default_strategies, parse_strategy

    _check_plot(plot)
    trace, assigned = _load(source, at, func)
    if len(trace.outputs) != 1:
        raise InputError(f"checkpoint reverses one output; the function has {len(trace.outputs)}")
    evaluated = evaluate_at(trace, assigned)
    chosen = [parse_strategy(text) for text in _names(strategies)] if strategies else \
        default_strategies(trace.operation_count)
    runs = compare_strategies(trace, [evaluated.at[name] for name in trace.input_names], chosen,
                              forced=strategies is not None)
    if plot is not None:
        from adcli.plot import plot_checkpoints

        plot_checkpoints(runs, plot)
    _show("checkpoint", (evaluated, runs), output_format, as_json, digits)


def _parse_steps(text: str) -> list[float]:
    from adcli.points import constant_value

    values = [constant_value(part, f"--steps {text}") for part in _names(text)]
    if not values or any(v <= 0 for v in values):
        raise InputError(f"--steps {text}: give positive step sizes, e.g. 1e-2,1e-4,1e-8")
    return values


def main() -> None:
    """The console entry point: run one command; a usage mistake is one line on stderr, exit 2.

    Typer turns every registered command into a click command on each run, about a millisecond
    apiece; when the first argument names a command, only that one is built (its usage line and
    help are the same). Anything else (``--help``, a misspelt command) gets the whole app.
    """
    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    chosen = [info for info in app.registered_commands if info.callback.__name__ == wanted]
    target = app
    if chosen:
        target = typer.Typer(**APP_SETTINGS)
        target.registered_commands = chosen
        target.callback()(lambda: None)  # a group of one, so the command's name stays the first argument
    try:
        code = target(standalone_mode=False)
    except ClickException as error:  # click's own checks: a missing argument, an unknown option …
        message = usage_message(error, f"adcli {wanted}" if chosen else "adcli")
        if message:  # (no arguments at all: the help is the answer, and it has been printed)
            sys.stderr.write(f"error: {message}\n")
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def usage_message(error: ClickException, command: str) -> str:
    """Click's message in one line, with where to look (and the fix for an expression that starts with -)."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else command
    message = " ".join(error.format_message().split()).removesuffix(".")
    if not message:
        return ""
    option = getattr(error, "option_name", "") or ""
    if option.startswith("-") and not option.startswith("--") and command != "adcli":
        return (f"{message}; an expression that starts with '-' goes after the options and '--': "
                f"{command} --at x=1 -- \"-x^2\"")
    return f"{message} (see '{command} --help')"