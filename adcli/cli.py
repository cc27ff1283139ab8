"""The ``adcli`` command line: parse options, call the library, hand the result to a renderer.

Library errors (:class:`adcli.errors.AdcliError`) become one message on stderr and the exit code
of the design contract here, and only here. Heavy modules (rich's tables, SymPy, matplotlib) are
imported inside the commands that use them, to keep start-up fast.
"""


import functools
import math
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

import typer

from adcli.errors import AdcliError, InputError, OutputError
from adcli.limits import MAX_COUNT, MAX_GRAPH_NODES, MAX_NEST, MAX_ORDER, MAX_ROWS, parse_whole
from adcli.output import formats

if TYPE_CHECKING:
    from adcli.source import Source
    from adcli.trace import Trace


def whole_number(minimum: int, maximum: int) -> Callable[[str | int], int]:
    """An option parser (typer's ``parser=``) reading :func:`adcli.limits.parse_whole`: ASCII digits, within bounds.

    A value out of bounds raises :class:`typer.BadParameter`, which click words as a usage error naming the option.
    """
    def parse(value: str | int) -> int:
        number = value if isinstance(value, int) else parse_whole(str(value), minimum, maximum)
        if number is None:
            shown = value if len(str(value)) <= 30 else f"{str(value)[:30]}…"
            raise typer.BadParameter(f"{shown}: give a whole number from {minimum:,} to {maximum:,}")
        return number

    return parse


class AppSettings(TypedDict):
    """The keyword arguments every :class:`typer.Typer` of adcli is built with."""

    no_args_is_help: bool
    pretty_exceptions_enable: bool
    rich_markup_mode: Literal["markdown", "rich"] | None
    context_settings: dict[str, list[str]]
    help: str


APP_SETTINGS = AppSettings(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Automatic differentiation you can read: Wengert lists, forward and reverse mode.",
)
app = typer.Typer(**APP_SETTINGS)

Src = Annotated[str, typer.Argument(
    metavar="SRC", show_default=False,
    help="An expression such as \"x*exp(y)-sin(x)\" (outputs separated by commas); - to read one from standard "
         "input; or a .py file, which is run as Python to trace its function (run only files you trust).")]
At = Annotated[list[str] | None, typer.Option(
    "--at", metavar="NAME=VALUE", show_default=False,
    help="Input values: x=1.047,y=0 or x=pi/3 or w=[1,2], or w=@w.txt for a list read from a file (numbers "
         "separated by commas, blanks or newlines, or a JSON array); may be repeated.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table (short for --format json).")]
Digits = Annotated[int | None, typer.Option(
    "--digits", metavar="N", parser=whole_number(1, 17),
    help="Significant digits shown (default 8; csv and json keep every digit).")]
TABLE_DIGITS = 8


def FormatOption(kind: str) -> Any:  # noqa: N802 - a type, named like one
    """``--format`` with the choices :data:`adcli.output.WRITERS` gives ``kind``."""
    choices = formats(kind)
    return Annotated[Literal[choices] | None, typer.Option(  # type: ignore[valid-type]
        "--format", show_default=False,
        help=f"How to write the result (default: {choices[0]}, or from the -o file's suffix).")]


Output = Annotated[str | None, typer.Option(
    "-o", "--output", metavar="FILE", show_default=False,
    help="Write the result to FILE instead of standard output, in the format its suffix names (.txt for a table, "
         ".json, .md, .tex, .csv; graph: .dot, .mmd, .svg, .png; jacobian, hessian, plot: .svg, .png; codegen: .py).")]
Func = Annotated[str | None, typer.Option(
    "--func", metavar="NAME", help="The function to differentiate in a .py file.")]
NumpyArrays = Annotated[bool, typer.Option(
    "--numpy", help="Pass list values (--at w=[…]) to a .py file's function as NumPy arrays.")]
Mode = Annotated[Literal["reverse", "forward"], typer.Option(
    "--mode", help="reverse: one sweep per output; forward: one per input.")]
Ste = Annotated[bool, typer.Option(
    "--ste", help="Straight-through estimator: floor and sign pass gradients as if their derivative were 1.")]
Convention = Annotated[Literal["adcli", "pytorch", "jax", "autograd", "left", "right", "mid"], typer.Option(
    "--convention", help="The derivative at kinks (abs at 0, max ties, sqrt at 0 …): adcli's; PyTorch's, JAX's "
    "or autograd's (as measured, with their nan from 0·inf); the left or right one-sided derivative, or their mean.")]
Optimize = Annotated[bool, typer.Option(
    "--optimize", help="Optimise the trace first: fold constants, share common subexpressions, drop dead "
                       "nodes and exact identities (x*1, x-0); a note says what each pass removed.")]
Quiet = Annotated[bool, typer.Option(
    "-q", "--quiet", help="No warnings or notes on stderr (JSON, CSV, Markdown and LaTeX still carry them).")]
Smooth = Annotated[str | None, typer.Option(
    "--smooth", metavar="TAU", show_default=False,
    help="Replace each kink or step (abs, relu, max, min, sign, floor) by a smooth relaxation of width TAU.")]
Direction = Annotated[str | None, typer.Option(
    "--direction", metavar="NAME=VALUE", show_default=False,
    help="Seed forward mode with this direction u and give J·u: x=1,y=2, a list's entry w[0]=1 or a whole "
         "list w=[1,0,0] (inputs left out: 0).")]
Cotangent = Annotated[str | None, typer.Option(
    "--cotangent", metavar="NAME=VALUE", show_default=False,
    help="Seed the reverse sweep with weights u on the outputs and give uᵀJ: f=1 for one output, "
         "f[0]=1,f[1]=2 or f=[1,2] for several (outputs left out: 0).")]
WrtNames = Annotated[str | None, typer.Option(
    "--wrt", metavar="NAMES", show_default=False,
    help="Differentiate with respect to these inputs: x,y, or w for every entry of the list w.")]
Sparse = Annotated[Literal["auto", "on", "off"], typer.Option(
    "--sparse", help="Read the sparsity pattern off the trace, colour it and take one sweep per colour: on, off, "
    "or auto (when it saves sweeps: more than 20 columns and fewer colours than half of them).")]
SympyTimeout = Annotated[float, typer.Option(
    "--sympy-timeout", metavar="SECONDS", min=0.0,
    help="Seconds SymPy may take in all (inf: no limit); past it, its steps are reported as timed out.")]


def write(content: str) -> None:
    from adcli.output import write as write_output

    write_output(content)


def _print_version(wanted: bool) -> None:
    if wanted:
        from adcli import __version__

        write(f"adcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "-V", "--version", callback=_print_version, is_eager=True, help="Print adcli's version and exit.")] = False,
             ) -> None:
    """Options before the command."""


class _Command(typer.core.TyperCommand):
    """A command whose usage line reads ``adcli grad [OPTIONS] SRC`` (typer would write ``{SRC}``)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece.removeprefix("{").removesuffix("}") for piece in super().collect_usage_pieces(ctx)]


def command(*examples: str, no_args_is_help: bool = True) -> Callable[[Callable], Callable]:
    """Register a command, with ``examples`` at the end of its help; adcli errors become a message on
    stderr and the contract's exit code (Ctrl-C: typer's exit code 130, which :func:`run` words).
    Without arguments it prints its help, unless ``no_args_is_help`` is False (it runs)."""

    def register(function: Callable) -> Callable:
        @functools.wraps(function)
        def run(*args, **kwargs):
            from adcli.progress import progress

            try:
                with progress(f"adcli {function.__name__}"):
                    return function(*args, **kwargs)
            except AdcliError as error:
                _fail(cli_words(error), error.exit_code)
            except MemoryError:
                _fail("out of memory: the computation needs more memory than this machine has", 1)

        # \b keeps click from re-wrapping the examples into one paragraph.
        epilog = "\b\nExamples:\n" + "\n".join(f"  adcli {function.__name__} {example}".rstrip()
                                                 for example in examples)
        return app.command(cls=_Command, epilog=epilog, no_args_is_help=no_args_is_help)(run)

    return register


def _fail(message: str, code: int) -> None:
    """Say ``message`` on stderr (if there is one) and exit with ``code``."""
    if sys.stderr is not None:
        sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def _source(source: str, at: list[str] | None = None) -> "Source":
    """SRC resolved (the names given values by ``at`` stay expressions beside a folder of that name);
    ``-`` reads an expression from standard input, which never names a file."""
    from adcli.cli_arguments import split_top_level
    from adcli.source import expression, resolve

    if source != "-":
        given = {part.partition("=")[0].strip() for spec in at or [] for part in split_top_level(spec)}
        return resolve(source, given)
    example = "echo 'x^2' | adcli grad - --at x=2"
    if sys.stdin is None:
        raise InputError(f"standard input is closed: pipe an expression, e.g. {example}")
    if sys.stdin.isatty() and sys.stderr is not None:
        sys.stderr.write("reading an expression from standard input (end it with Ctrl-D)\n")
    try:
        text = sys.stdin.read().lstrip("\ufeff").strip()  # (a BOM from a Windows editor is no character)
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"standard input cannot be read ({error})") from None
    if not text:
        raise InputError(f"standard input is empty: pipe an expression, e.g. {example}")
    return expression(text)


def _load(source: str, at: list[str] | None, func: str | None, iterations: bool = False, arrays: bool = False,
          sources: bool = False):
    """The trace and the point (list parameters flattened) for SRC and the --at options (``iterations``:
    for checkpointing, where each iteration of a function file's main loop began; ``arrays``: --numpy;
    ``sources``: the file line and variable of each node of a function file)."""
    return _load_source(_source(source, at), at, func, iterations, arrays, sources)


def _load_source(source: "Source", at: list[str] | None, func: str | None, iterations: bool = False,
                 arrays: bool = False, sources: bool = False):
    from adcli.analysis import load
    from adcli.cli_arguments import parse_assignments

    return load(source, parse_assignments(at or []), func, iterations, arrays, sources)


def _show(kind: str, args: tuple, chosen: str, digits: int | None = None, output: str | None = None,
          quiet: bool = False, **view_options) -> None:
    """Write ``kind``'s result (``args``) in the ``chosen`` format to standard output or the file
    ``output``. Its warnings and notes go to stderr (unless ``quiet``), except where the format
    carries them to standard output itself (JSON, CSV, Markdown, LaTeX)."""
    from adcli import output as out

    said = out.notices(args[0])
    content = out.render(kind, chosen, args, digits or TABLE_DIGITS, said, **view_options)
    out.write(out.as_text(content, output), output)
    if said and not quiet and (chosen not in out.CARRY_NOTICES or output is not None) and sys.stderr is not None:
        sys.stderr.write("".join(line + "\n" for line in said))


def _optimized(trace: "Trace", optimize: bool) -> "Trace":
    """``--optimize``: the trace after adcli's optimisation passes (itself without the option)."""
    if not optimize:
        return trace
    from adcli.optimize import optimize as run

    return run(trace)


def _choose(kind: str, output_format: str | None, as_json: bool = False, output: str | None = None) -> str:
    from adcli.output import choose

    return choose(kind, output_format, as_json, output)


def _check_plot(path: str | None) -> None:
    """Fail before any work on a --plot file that cannot be written (or without matplotlib)."""
    if path is not None:
        from adcli.output.plot import check_plot_file

        check_plot_file(path)


def _smooth_width(text: str | None) -> float | None:
    """``--smooth TAU``: a positive finite number, or None when the option is not given."""
    if text is None:
        return None
    try:
        tau = float(text)
    except ValueError:
        tau = math.nan
    if not (math.isfinite(tau) and tau > 0):
        raise InputError(f"--smooth {text}: give the smoothing width as a positive finite number, e.g. --smooth 0.01")
    return tau


def _smoothed(trace, text: str | None):
    """``trace`` with its kinks and steps smoothed (``--smooth TAU``), or itself without the option."""
    tau = _smooth_width(text)
    if tau is None:
        return trace
    from adcli.smoothing import smooth

    return smooth(trace, tau)


def _rows(text: str) -> int | None:
    if text == "all":
        return None
    rows = parse_whole(text, 2, MAX_ROWS)
    if rows is None:
        raise InputError(f"--rows {text}: give a number of rows from 2 to {MAX_ROWS:,}, or all")
    return rows


def _wrt(text: str | None) -> list[str] | None:
    """The inputs named by ``--wrt`` (None: all of them)."""
    return None if text is None else _names(text)


def _seeds(trace, direction: str | None, cotangent: str | None) -> tuple[dict[str, float] | None,
                                                                          list[float] | None]:
    """``--direction`` and ``--cotangent`` bound to the trace's inputs and outputs (None: not given)."""
    from adcli.cli_arguments import parse_assignments
    from adcli.points import bind_cotangent, bind_direction

    return (None if direction is None else bind_direction(trace, parse_assignments([direction], "--direction", True)),
            None if cotangent is None else bind_cotangent(trace, parse_assignments([cotangent], "--cotangent", True)))


def _names(text: str) -> list[str]:
    """The names of a comma-separated list (``--wrt x,y``, ``--check sympy,fd``)."""
    from adcli.cli_arguments import split_names

    return split_names(text)




@command('"x*exp(y)-sin(x)" --at x=pi/3,y=0',
         '"x*y, x+y" --at x=2,y=3 --mode forward --json',
         'samples/loop.py --at x=0.5 --check sympy,fd',
         '"sin(x)" --at x=0:3.14:5 --format csv -o derivative.csv')
def grad(
    source: Src,
    at: At = None,
    mode: Mode = "reverse",
    wrt: WrtNames = None,
    direction: Direction = None,
    cotangent: Cotangent = None,
    func: Func = None,
    arrays: NumpyArrays = False,
    check: Annotated[str | None, typer.Option(
        "--check", metavar="METHODS", help="Cross-check against sympy, fd (central difference) or both: sympy,fd.")]
    = None,
    points: Annotated[str | None, typer.Option(
        "--points", metavar="FILE",
        help="A CSV file of points: a header row naming the inputs, then one point per row.")] = None,
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", metavar="STRATEGY",
        help=f"Reverse with checkpoints: all, none, every=K or binomial=S (K, S up to {MAX_COUNT:,}).")] = None,
    ste: Ste = False,
    smooth: Smooth = None,
    convention: Convention = "adcli",
    sympy_timeout: Annotated[float | None, typer.Option(
        "--sympy-timeout", metavar="SECONDS", min=0.0,
        help="Seconds SymPy may take for --check sympy (default 10; inf: no limit).")] = None,
    output_format: FormatOption("gradient") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """Value and gradient at a point, or at many (--at x=0:1:1001, --points file.csv)."""
    from adcli.analysis import gradient
    from adcli.cli_arguments import is_batch, parse_assignments
    from adcli.points import check_inputs

    assigned = parse_assignments(at or [])
    batch_wanted = is_batch(assigned, points)
    chosen = _choose("batch" if batch_wanted else "gradient", output_format, as_json, output)
    if batch_wanted:
        if smooth is not None:
            raise InputError("--smooth applies to one point; a batch gives the true gradient "
                             "(give one point, or leave --smooth out)")
        if wrt is not None or check is not None or mode != "reverse" or checkpoint or ste or convention != "adcli" \
                or direction is not None or cotangent is not None:
            raise InputError("--wrt, --direction, --cotangent, --check, --mode, --checkpoint, --ste and --convention "
                             "apply to one point; a batch gives the full gradient")
        from adcli.batch import gradient_at_points

        batch = gradient_at_points(_source(source, at), assigned, points, func)
        _show("batch", (batch,), chosen, digits, output, quiet)
        return
    trace, assigned = _load(source, at, func, iterations=checkpoint is not None, arrays=arrays)
    trace = _smoothed(trace, smooth)
    if checkpoint is not None and (mode != "reverse" or ste or convention != "adcli"):
        raise InputError("--checkpoint reverses the trace: it goes with reverse mode, without --ste and --convention")
    seed, weights = _seeds(trace, direction, cotangent)
    if (seed is not None or weights is not None) and (checkpoint is not None or check is not None):
        raise InputError("--direction and --cotangent give one product; --check and --checkpoint go with the "
                         "full gradient")
    result = gradient(trace, assigned, mode=mode, wrt=None if wrt is None else check_inputs(trace, _wrt(wrt)),
                      straight_through=ste, convention=convention, direction=seed, cotangent=weights)
    if checkpoint is not None:
        from adcli.checkpoint import parse_strategy, reverse_with

        reverse_with(result, parse_strategy(checkpoint))
    checks = None
    _check_seconds(sympy_timeout)
    if sympy_timeout is not None and check is None:
        raise InputError("--sympy-timeout limits --check sympy; add --check sympy or leave it out")
    if check is not None:
        from adcli.compare import cross_check

        checks, problems = cross_check(result, _names(check), 10.0 if sympy_timeout is None else sympy_timeout)
        result.evaluated.warnings.extend(problems)
    result.checks = checks
    _show("gradient", (result,), chosen, digits, output, quiet)


@command('"x*exp(y)-sin(x)" --at x=pi/3,y=0 --wrt x',
         '"x*y, x+y" --at x=2,y=3 --cotangent "f[0]=1,f[1]=1" --direction x=1,y=1',
         'samples/long_loop.py --at x=0.3 --rows 10',
         '"x*y" --at x=2,y=3 --wrt x --dual --explain')
def trace(
    source: Src,
    at: At = None,
    wrt: Annotated[str | None, typer.Option(
        "--wrt", metavar="NAMES",
        help="Add a tangent column seeded on each of these inputs: x or x,y (w: each entry of the list w).")] = None,
    direction: Annotated[str | None, typer.Option(
        "--direction", metavar="NAME=VALUE",
        help="Add a tangent column for this input direction u (J·u): x=1,y=2, w[0]=1 or w=[1,0,0].")] = None,
    cotangent: Annotated[str | None, typer.Option(
        "--cotangent", metavar="NAME=VALUE",
        help="Seed the adjoints with weights u on the outputs (uᵀJ): f[1]=1 shows the second output's, "
             "f[0]=1,f[1]=1 their sum's (default: the first output's).")] = None,
    rows: Annotated[str, typer.Option(
        "--rows", metavar="N", help=f"Rows shown of a long trace: a number up to {MAX_ROWS:,}, or all.")] = "40",
    explain: Annotated[bool, typer.Option(
        "--explain", help="Every update of the sweeps with its numbers and the running value, in the order they run.")]
    = False,
    dual: Annotated[bool, typer.Option(
        "--dual", help="Forward mode as dual numbers, value + tangent·ε (every input in turn without --wrt).")] = False,
    func: Func = None,
    arrays: NumpyArrays = False,
    ste: Ste = False,
    smooth: Smooth = None,
    convention: Convention = "adcli",
    optimize: Optimize = False,
    output_format: FormatOption("sweep") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """The Wengert table: every node's value, tangent and adjoint, and the reverse sweep."""
    from adcli.analysis import sweep_table
    from adcli.points import check_inputs

    chosen = _choose("sweep", output_format, as_json, output)
    _no_page_on_terminal(chosen, output, "trace")
    trace, assigned = _load(source, at, func, arrays=arrays, sources=True)
    trace = _optimized(_smoothed(trace, smooth), optimize)
    shown_rows = _rows(rows)
    seed, weights = _seeds(trace, direction, cotangent)
    table = sweep_table(trace, assigned, wrt=check_inputs(trace, _wrt(wrt)) if wrt else [], direction=seed,
                        straight_through=ste, convention=convention, cotangent=weights,
                        explain=explain or chosen == "html", dual=dual)  # (the lesson page explains every step)
    args = (table, digits or TABLE_DIGITS) if chosen == "html" else (table,)  # (the page writes numbers as text)
    _show("sweep", args, chosen, digits, output, quiet, rows=shown_rows)


@command('"x*y, x+y, sin(x*y)" --at x=2,y=3',
         '"exp(-a*b*c)*1e-3, a*b*c*d*1e5" --at a=1.1,b=2.2,c=3.3,d=4.4 --mode forward --json')
def jacobian(
    source: Src,
    at: At = None,
    mode: Mode = "reverse",
    wrt: WrtNames = None,
    direction: Direction = None,
    cotangent: Cotangent = None,
    func: Func = None,
    arrays: NumpyArrays = False,
    smooth: Smooth = None,
    convention: Convention = "adcli",
    sparse: Sparse = "auto",
    output_format: FormatOption("jacobian") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """The Jacobian of several outputs, and the cost of forward vs reverse mode for its shape."""
    from adcli.jacobian import jacobian as compute
    from adcli.points import check_inputs

    chosen = _choose("jacobian", output_format, as_json, output)
    _check_picture(chosen, output, "adcli jacobian", "pattern.png")
    trace, assigned = _load(source, at, func, arrays=arrays)
    trace = _smoothed(trace, smooth)
    seed, weights = _seeds(trace, direction, cotangent)
    result = compute(trace, assigned, mode=mode, convention=convention,
                     wrt=None if wrt is None else check_inputs(trace, _wrt(wrt)), direction=seed, cotangent=weights,
                     sparse="off" if sparse == "auto" and (seed is not None or weights is not None) else sparse)
    _show("jacobian", (result,), chosen, digits, output, quiet)


@command('"x^2*y + sin(y)" --at x=1,y=2',
         '"(1-x)^2 + 100*(y-x^2)^2" --at x=1,y=1 --format latex -o rosenbrock.tex')
def hessian(
    source: Src,
    at: At = None,
    wrt: WrtNames = None,
    func: Func = None,
    arrays: NumpyArrays = False,
    smooth: Smooth = None,
    sparse: Sparse = "auto",
    output_format: FormatOption("hessian") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """Second derivatives of a single-output function (forward-over-reverse AD)."""
    from adcli.hessian import hessian as compute
    from adcli.points import check_inputs

    chosen = _choose("hessian", output_format, as_json, output)
    _check_picture(chosen, output, "adcli hessian", "pattern.png")
    trace, assigned = _load(source, at, func, arrays=arrays)
    trace = _smoothed(trace, smooth)
    result = compute(trace, assigned, None if wrt is None else check_inputs(trace, _wrt(wrt)), sparse)
    _show("hessian", (result,), chosen, digits, output, quiet)


@command('"exp(sin(x))" --at x=0.5 --order 10 --check sympy',
         '"1/(1-x)" --at x=0 --order 50 --json',
         '"x*y^2 + sin(x)" --at x=1,y=2 --direction x=1,y=-1 --order 4')
def taylor(
    source: Src,
    at: At = None,
    order: Annotated[int, typer.Option(
        "--order", metavar="K", parser=whole_number(1, MAX_ORDER),
        help=f"The highest order: Taylor coefficients c0 … cK and derivatives f', …, f^(K) (K ≤ {MAX_ORDER}).")] = 4,
    direction: Annotated[str | None, typer.Option(
        "--direction", metavar="NAME=VALUE", show_default=False,
        help="The line x + t·u along which to differentiate: x=1,y=2 or w=[1,0,0] (inputs left out: 0); "
             "needed with several inputs.")] = None,
    check: Annotated[str | None, typer.Option(
        "--check", metavar="sympy",
        help="Cross-check the orders up to 8 with SymPy's k-th derivative at 50 digits, with its size.")] = None,
    sympy_timeout: SympyTimeout = 10.0,
    func: Func = None,
    arrays: NumpyArrays = False,
    output_format: FormatOption("taylor") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """Derivatives of any order along a line: each node's Taylor coefficients (Taylor mode, O(K²) per operation)."""
    from adcli.taylor import sympy_check, taylor_coefficients

    chosen = _choose("taylor", output_format, as_json, output)
    if check not in (None, "sympy"):
        raise InputError(f"--check {check}: Taylor mode is checked with sympy (finite differences of high order "
                         "are hopeless)")
    _check_seconds(sympy_timeout)
    trace, assigned = _load(source, at, func, arrays=arrays)
    result = taylor_coefficients(trace, assigned, order, _seeds(trace, direction, None)[0])
    if check is not None:
        sympy_check(result, sympy_timeout)
    _show("taylor", (result,), chosen, digits, output, quiet)


@command('"(1-x)^2 + 100*(y-x^2)^2" --at x=1.5,y=0.5 --direction x=1,y=2',
         '"x*y^2 + sin(x)*y" --at x=1,y=2 --direction x=1 --json')
def hvp(
    source: Src,
    at: At = None,
    direction: Annotated[str, typer.Option(
        "--direction", metavar="NAME=VALUE", show_default=False,
        help="The vector v of H·v: x=1,y=2, w[0]=1 or w=[1,0,0] (inputs left out: 0).")] = "",
    func: Func = None,
    arrays: NumpyArrays = False,
    output_format: FormatOption("hvp") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """The Hessian-vector product H·v of a single-output function: one forward-over-reverse sweep, any n."""
    from adcli.hessian import hessian_vector_product

    chosen = _choose("hvp", output_format, as_json, output)
    if not direction:
        raise InputError("give the vector v of H·v with --direction, e.g. --direction x=1,y=0")
    trace, assigned = _load(source, at, func, arrays=arrays)
    seed = _seeds(trace, direction, None)[0]
    assert seed is not None  # a direction was given
    _show("hvp", (hessian_vector_product(trace, assigned, seed),), chosen, digits, output, quiet)


@command('"sin(x)*cos(x)*exp(x)" --at x=1',
         '"sin(x)*cos(x)*exp(x)" --at x=1 --sweep',
         '"sin(x)" --at x=0.5 --nest 6')
def compare(
    source: Src,
    at: At = None,
    wrt: WrtNames = None,
    func: Func = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Sweep the finite-difference step h from 1e-1 to 1e-16.")]
    = False,
    steps: Annotated[str | None, typer.Option(
        "--steps", metavar="H,H,…", help="The steps of the sweep, e.g. 1e-2,1e-4,1e-8 (implies --sweep).")] = None,
    nest: Annotated[int, typer.Option(
        "--nest", metavar="K", parser=whole_number(1, MAX_NEST),
        help=f"Compose f with itself 1…K times to show swell (K ≤ {MAX_NEST}).")] = 1,
    plot: Annotated[str | None, typer.Option(
        "--plot", metavar="FILE",
        help="Also draw the sweep / swell into this .png, .svg or .pdf file (needs matplotlib).")]
    = None,
    sympy_timeout: SympyTimeout = 10.0,
    smooth: Smooth = None,
    output_format: FormatOption("compare") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """AD vs SymPy vs finite differences: errors, step sweep, expression swell."""
    from adcli.compare import DEFAULT_STEPS
    from adcli.compare import compare as compute

    chosen = _choose("compare", output_format, as_json, output)
    _check_plot(plot)
    trace, assigned = _load(source, at, func)
    sweep_steps = _parse_steps(steps) if steps is not None else DEFAULT_STEPS if sweep else None
    _check_seconds(sympy_timeout)
    from adcli.points import check_inputs

    result = compute(trace, assigned, sweep_steps=sweep_steps, nest=nest, sympy_timeout=sympy_timeout,
                     smooth=_smooth_width(smooth), wrt=None if wrt is None else check_inputs(trace, _wrt(wrt)))
    if plot is not None:
        from adcli.output.plot import plot_comparison

        plot_comparison(result, plot)
        if sys.stderr is not None:
            sys.stderr.write(f"wrote {plot}\n")

    _show("compare", (result,), chosen, digits, output, quiet)


def _no_page_on_terminal(chosen: str, output: str | None, name: str) -> None:
    """Refuse to print the lesson page (HTML) on a terminal: it is meant for a file."""
    if chosen == "html" and output is None and sys.stdout is not None and sys.stdout.isatty():
        raise InputError(f"the lesson is an HTML page: name the file with -o {name}.html (or redirect standard output)")


@command('"x*exp(y)-sin(x)" --at x=pi/3,y=0 -o lesson.html',
         'samples/micrograd.py --at a=-4,b=2 -o micrograd.html')
def lesson(
    source: Src,
    at: At = None,
    wrt: Annotated[str | None, typer.Option(
        "--wrt", metavar="NAMES", show_default=False,
        help="The tangent seeds offered for forward mode: x,y (default: each input, when there are at most 4).")]
    = None,
    layout: Annotated[Literal["auto", "dot", "adcli"], typer.Option(
        "--layout", help="Who lays the graph out: Graphviz's dot, adcli's layered layout, or auto (dot when "
        "installed).")] = "auto",
    direction: Direction = None,
    cotangent: Cotangent = None,
    func: Func = None,
    arrays: NumpyArrays = False,
    ste: Ste = False,
    convention: Convention = "adcli",
    output_format: FormatOption("lesson") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Annotated[int, typer.Option(
        "--digits", metavar="N", parser=whole_number(1, 17), help="Significant digits shown (1 to 17).")] = 6,
    quiet: Quiet = False,
) -> None:
    """A self-contained HTML page that plays the graph and both sweeps step by step (opens from disk); --json:
    its steps as data."""
    from adcli.analysis import sweep_table
    from adcli.lesson import DEFAULT_SEEDS
    from adcli.points import check_inputs

    chosen = _choose("lesson", output_format, as_json, output)
    _no_page_on_terminal(chosen, output, "lesson")
    trace, assigned = _load(source, at, func, arrays=arrays, sources=True)
    seeds = check_inputs(trace, _wrt(wrt)) if wrt else trace.input_names if len(trace.inputs) <= DEFAULT_SEEDS else []
    seed, weights = _seeds(trace, direction, cotangent)
    table = sweep_table(trace, assigned, wrt=list(seeds), direction=seed, straight_through=ste, convention=convention,
                        cotangent=weights, explain=True)
    _show("lesson", (table, digits, layout), chosen, digits, output, quiet)


@command('"x*exp(y)-sin(x)" --at x=pi/3,y=0 -o graph.svg',
         '"x*exp(y)-sin(x)" --format mermaid --edges')
def graph(
    source: Src,
    at: At = None,
    output: Output = None,
    output_format: FormatOption("graph") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    edges: Annotated[bool, typer.Option("--edges", help="Label each edge with its local partial derivative.")]
    = False,
    wrt: Annotated[str | None, typer.Option(
        "--wrt", metavar="NAMES",
        help="Show the tangent seeded with 1 on these inputs: x, or w for every entry of the list w.")] = None,
    max_nodes: Annotated[int, typer.Option(
        "--max-nodes", metavar="N", parser=whole_number(1, MAX_GRAPH_NODES),
        help=f"Refuse larger graphs (at most {MAX_GRAPH_NODES:,}).")] = 300,
    func: Func = None,
    digits: Annotated[int, typer.Option(
        "--digits", metavar="N", parser=whole_number(1, 17), help="Significant digits in labels (1 to 17).")] = 4,
    quiet: Quiet = False,
) -> None:
    """The computational graph as a picture, with values and adjoints when --at is given."""
    from adcli.graph import graph_data
    from adcli.parser import parse

    chosen = _choose("graph", output_format, as_json, output)
    if chosen == "png" and output is None:
        raise InputError("--format png writes an image: name the file with -o graph.png")
    src = _source(source, at)
    if at:
        trace, assigned = _load_source(src, at, func, sources=True)
    elif src.is_file:
        raise InputError(f"{src}: a function file is traced by running it, so give its inputs with --at")
    else:
        trace, assigned = parse(src.text), None
    data = graph_data(trace, assigned, _wrt(wrt), digits, max_nodes)
    _show("graph", (data, edges), chosen, output=output, quiet=quiet)


@command('"x*exp(y)-sin(x)" --mode forward',
         'samples/loop.py --at x=0.5 --name loop -o loop_grad.py',
         '"x*(2+3)+sin(x)*sin(x)" --optimize', '"x*exp(y)-sin(x)" --target numpy -o f_grad.py')
def codegen(
    source: Src,
    at: At = None,
    mode: Mode = "reverse",
    name: Annotated[str, typer.Option(
        "--name", metavar="NAME", help="Prefix of the generated functions (NAME_grad).")] = "f",
    wrt: WrtNames = None,
    func: Func = None,
    optimize: Optimize = False,
    target: Annotated[Literal["python", "numpy"], typer.Option(
        "--target", help="python: straight-line code for one point (imports math); numpy: vectorised over "
                         "arrays of points, NaN where undefined, as the batch mode (reverse mode only).")] = "python",
    output_format: FormatOption("codegen") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """Python source for the value and gradient: forward (JVP) or reverse (adjoint) statements."""
    from adcli.parser import parse

    chosen = _choose("codegen", output_format, as_json, output)
    if not name.isidentifier():
        raise InputError(f"--name {name}: the name must be a Python identifier")
    src = _source(source, at)
    if src.is_file:
        if not at:
            raise InputError(f"{src}: a function file is traced by running it, so give its inputs with --at")
        trace, _ = _load_source(src, at, func, sources=True)
    else:
        if at:
            raise InputError("--at: code for an expression holds at every point; --at is for function files")
        trace = parse(src.text)
    trace = _optimized(trace, optimize)
    from adcli.points import check_inputs

    wrt_names = None if wrt is None else check_inputs(trace, _wrt(wrt))
    _show("codegen", (trace, mode, name, wrt_names, target), chosen,
          output=output, quiet=quiet)


@command('', 'sqrt', 'abs --json', '--format latex -o rules.tex', no_args_is_help=False)
def rules(
    name: Annotated[str | None, typer.Argument(
        metavar="[NAME]", show_default=False, help="One primitive (sin, pow, abs …); all of them without it.")] = None,
    output_format: FormatOption("rules") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
) -> None:
    """The derivative rule of every primitive: local partials, domain, non-differentiable points and convention."""
    from adcli.rules import rules as cards

    chosen = _choose("rules", output_format, as_json, output)
    _show("rules", (cards(name),), chosen, output=output)


@command('"sin(x)^2" --at x=1 --strategies all,every=2,binomial=2',
         'samples/long_loop.py --at x=0.3 --plot checkpoints.png')
def checkpoint(
    source: Src,
    at: At = None,
    strategies: Annotated[str | None, typer.Option(
        "--strategies", metavar="LIST",
        help=f"Which to run, e.g. all,every=10,binomial=5 (K, S up to {MAX_COUNT:,}; default: a few of each).")]
    = None,
    plot: Annotated[str | None, typer.Option(
        "--plot", metavar="FILE",
        help="Draw stored values against recomputed steps into this .png, .svg or .pdf file.")]
    = None,
    func: Func = None,
    output_format: FormatOption("checkpoint") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """Checkpointing strategies side by side: memory, recomputation, time, and the same gradient."""
    from adcli.analysis import evaluate_at
    from adcli.checkpoint import compare_strategies, default_strategies, parse_strategy

    chosen = _choose("checkpoint", output_format, as_json, output)
    _check_plot(plot)
    trace, assigned = _load(source, at, func, iterations=True)
    if len(trace.outputs) != 1:
        raise InputError(f"checkpoint reverses one output; the function has {len(trace.outputs)}")
    evaluated = evaluate_at(trace, assigned)
    picked = [parse_strategy(text) for text in _names(strategies)] if strategies else \
        default_strategies(trace.operation_count)
    runs = compare_strategies(trace, [evaluated.at[name] for name in trace.input_names], picked,
                              forced=strategies is not None)
    if plot is not None:
        from adcli.output.plot import plot_checkpoints

        plot_checkpoints(runs, plot)
    _show("checkpoint", (evaluated, runs), chosen, digits, output, quiet)


@command('samples/branch.py --at x=-2:2:401',
         '"abs(x)*y" --at x=-1:1:201,y=2 -o abs.png',
         'samples/huber.py --at r=-3:3:601 --json')
def plot(
    source: Src,
    at: At = None,
    func: Func = None,
    output_format: FormatOption("plot") = None,  # type: ignore[valid-type]
    as_json: Json = False,
    output: Output = None,
    digits: Digits = None,
    quiet: Quiet = False,
) -> None:
    """f and its derivative over a range (--at x=-2:2:401), marking kinks, branch changes and conventions."""
    from adcli.cli_arguments import parse_assignments
    from adcli.curve import curve

    chosen = _choose("plot", output_format, as_json, output)
    _check_picture(chosen, output, "adcli plot", "f.png")
    result = curve(_source(source, at), parse_assignments(at or []), func)
    _show("plot", (result,), chosen, digits, output, quiet)


def _check_picture(chosen: str, output: str | None, command: str, example: str) -> None:
    """Before any work: a PNG needs a file, and a picture matplotlib (``chosen`` is the format)."""
    if chosen not in ("png", "svg"):
        return
    if chosen == "png" and output is None:
        raise InputError(f"--format png writes an image: name the file with -o {example}")
    from adcli.output.plot import check_matplotlib

    check_matplotlib(f"{command} --format {chosen}")


def _check_seconds(seconds: float | None) -> None:
    """``--sympy-timeout``: a number of seconds ≥ 0, or inf (click's range lets NaN through)."""
    if seconds is not None and not seconds >= 0:
        raise InputError(f"--sympy-timeout {seconds:g}: give a number of seconds ≥ 0, or inf for no limit")


def _parse_steps(text: str) -> list[float]:
    from adcli.cli_arguments import constant_value

    values = [constant_value(part, f"--steps {text}") for part in _names(text)]
    if not values or any(v <= 0 for v in values):
        raise InputError(f"--steps {text}: give positive step sizes, e.g. 1e-2,1e-4,1e-8")
    return values


def main() -> None:
    """The console entry point (``adcli``, ``python -m adcli``)."""
    raise SystemExit(run(sys.argv[1:]))


def run(arguments: list[str]) -> int:
    """Run one command line; return its exit code. A usage mistake is one line on stderr, exit 2.

    Typer turns every registered command into a click command on each run, about a millisecond
    apiece; when the first argument names a command, only that one is built (its usage line and
    help are the same). Anything else (``--help``, a misspelt command) gets the whole app.
    """
    from adcli.output import ClosedOutput, ascii

    if sys.stdout is None:  # started with standard output closed: every write, help included, says so
        sys.stdout = ClosedOutput()
    ascii.use_on(sys.stdout)
    ascii.use_on(sys.stderr)
    wanted = arguments[0] if arguments else None
    chosen = [info for info in app.registered_commands if getattr(info.callback, "__name__", None) == wanted]
    target = app
    if chosen:
        target = typer.Typer(**APP_SETTINGS)
        target.registered_commands = chosen
        target.callback()(lambda: None)  # a group of one, so the command's name stays the first argument
    group = typer.main.get_command(target)
    if chosen:
        assert wanted is not None and isinstance(group, typer.core.TyperGroup)  # a group of one, built above
        arguments = [wanted, *source_last(group.commands[wanted], arguments[1:])]
    try:
        code = group.main(args=arguments, prog_name="adcli", standalone_mode=False)
        if code == INTERRUPTED:  # typer returns it for a Ctrl-C it caught, in a command or reading its options
            return _interrupted()
    except typer.TyperException as error:  # click's own checks: a missing argument, an unknown option …
        if type(error).__name__ == "NoArgsIsHelpError":  # a command given no arguments: its help
            try:
                write(error.format_message() + "\n")
            except AdcliError as failure:
                return _said(failure)
            return error.exit_code
        message = usage_message(error, f"adcli {wanted}" if chosen else "adcli")
        if message and sys.stderr is not None:  # (no arguments at all: the help has been printed)
            sys.stderr.write(f"error: {message}\n")
        return error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return _interrupted()
    except AdcliError as error:  # from an eager option, or help written to a closed standard output
        return _said(error)
    except OSError as error:  # help written to a full disk (click's own echo)
        return _said(OutputError(f"cannot write to standard output: {error.strerror or error}"))
    except BrokenPipeError:  # the reader went away (adcli trace … | head): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code if isinstance(code, int) else 0


#: The exit code of an interrupted run (Ctrl-C: 128 + SIGINT, as shells report it).
INTERRUPTED = 130


def _interrupted() -> int:
    """Say that the run was interrupted; its exit code."""
    if sys.stderr is not None:
        sys.stderr.write("error: interrupted\n")
    return INTERRUPTED


def _said(error: AdcliError) -> int:
    """Say ``error`` on stderr; its exit code."""
    if sys.stderr is not None:
        sys.stderr.write(f"error: {cli_words(error)}\n")
    return error.exit_code


def cli_words(error: AdcliError) -> str:
    """``error``'s message in the CLI's words: the library argument it concerns (``option``) is named
    as the option that gives it, before the value given (``--points data.csv: …``), or after an
    error that asks for one (``…; choose one with --func``)."""
    if error.option is None:
        return str(error)
    flag = "--" + error.option.replace("_", "-")
    return f"{error.message} with {flag}" if error.value is None else f"{flag} {error.value}: {error.message}"


#: Commands that differentiate at a point (--at): there, -q with no value for q is a mistyped option.
POINT_COMMANDS = ("grad", "trace", "jacobian", "hessian", "hvp", "taylor", "compare", "checkpoint", "plot")

#: Commands that take no SRC (``rules NAME``): there, -q is only ever a mistyped option, never an expression.
NO_SOURCE_COMMANDS = ("rules",)


def source_last(command, arguments: list[str]) -> list[str]:
    """``arguments`` with an expression that starts with ``-`` moved behind ``--``, so click reads it as SRC.

    The rule: an argument that starts with a single ``-``, is not an option of ``command``, and
    parses as an expression is SRC, when no other argument is. (``adcli grad -x^2 --at x=3``.)
    """
    from adcli.errors import AdcliError as ParseError
    from adcli.parser import parse

    if "--" in arguments or command.name in NO_SOURCE_COMMANDS:
        return arguments
    takes_value: dict[str, bool] = dict.fromkeys(APP_SETTINGS["context_settings"]["help_option_names"], False)
    for parameter in command.params:
        for name in (*getattr(parameter, "opts", ()), *getattr(parameter, "secondary_opts", ())):
            if name.startswith("-"):
                takes_value[name] = not getattr(parameter, "is_flag", False) and not getattr(parameter, "count", False)
    positional, candidate = [], None
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        name = argument.split("=", 1)[0]
        if name in takes_value:
            index += 2 if takes_value[name] and "=" not in argument else 1
            continue
        if argument.startswith("-") and argument not in ("-", "--"):
            if candidate is None and not argument.startswith("--"):
                candidate = index
        else:
            positional.append(index)
        index += 1
    if positional or candidate is None:
        return arguments
    text = arguments[candidate]
    if re.fullmatch(r"-[A-Za-z]\w*", text):  # -q: a mistyped option, or the expression -q?
        try:
            parse(text)
        except ParseError:
            return arguments
        if not _assigned(text[1:], arguments) and command.name in POINT_COMMANDS:
            return arguments  # no value for q: a mistyped option (the error says how to mean -q)
    return [*arguments[:candidate], *arguments[candidate + 1:], "--", text]  # the parser words any mistake


def _assigned(name: str, arguments: list[str]) -> bool:
    """Whether some ``--at`` among ``arguments`` gives ``name`` a value."""
    values = [value for option, value in zip(arguments, arguments[1:]) if option == "--at"]
    values += [argument.removeprefix("--at=") for argument in arguments if argument.startswith("--at=")]
    return any(re.match(rf"\s*{re.escape(name)}\s*=", part) for value in values for part in value.split(","))


def usage_message(error: typer.TyperException, command: str) -> str:
    """Click's message in one line, with where to look (and the fix for an expression that starts with -)."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else command
    message = " ".join(error.format_message().split()).removesuffix(".")
    if not message:
        return ""
    option = getattr(error, "option_name", "") or ""
    if re.fullmatch(r"-[A-Za-z]\w*", option) and command.split()[-1] not in NO_SOURCE_COMMANDS:
        return (f"{message} (see '{command} --help'); for the expression {option}, give its inputs: "
                f"{command} {option} --at {option[1:]}=…")
    return f"{message} (see '{command} --help')"
