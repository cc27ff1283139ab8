"""Results as plain tables, written as Markdown, LaTeX or CSV for notes and papers.

Each builder turns a result object into :class:`Tabular` tables of the same numbers the terminal
and JSON show; the writers only lay them out. Markdown and LaTeX round numbers to ``--digits``
significant digits (8, as the terminal tables, unless asked otherwise); CSV keeps every digit.

The LaTeX is a fragment for ``\\input`` into a document that loads ``booktabs`` and ``amsmath``:
one ``table`` float per table, its caption saying where the function was evaluated. Everything
is typeset, nothing is left as raw Unicode: node names as ``v_{1}``, adjoints as ``\\bar{v}_{1}``,
partials as ``\\partial f/\\partial x``, exponents as ``\\times 10^{-16}``.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from adcli.primitives import CONST

if TYPE_CHECKING:
    from adcli.analysis import Gradient

# Column kinds: how the writers typeset the text cells of a column (numbers are always numbers).
TEXT, NAME, FORMULA, CODE = "text", "name", "formula", "code"


class Label(str):
    """A header or row label: plain text for Markdown and CSV, with its own LaTeX."""

    latex: str

    def __new__(cls, text: str, latex: str) -> Label:
        label = super().__new__(cls, text)
        label.latex = latex
        return label


@dataclass
class Tabular:
    """One table: ``title`` may hold ``{subject}``, which the writers replace with the function's
    source and the point ``at`` which it was evaluated. ``kinds`` says how each column's text is
    typeset (TEXT by default); ``formulas`` are lines of the reverse sweep written after ``notes``."""

    title: str
    columns: list[str]
    rows: list[list]  # cells: str, float, int or None
    notes: list[str] = field(default_factory=list)  # lines printed after the table (Markdown, LaTeX)
    kinds: list[str] = field(default_factory=list)
    source: str = ""
    at: dict[str, float] = field(default_factory=dict)
    # the lines of the reverse sweep, worked out only by the writers that print them (not CSV)
    write_formulas: Callable[[], list[str]] | None = None
    # trace --explain: titled derivations (adcli.explain.Line sequences), written after the formulas (not CSV)
    write_derivations: Callable[[int], list[tuple[str, Sequence]]] | None = None

    @property
    def formulas(self) -> list[str]:
        return self.write_formulas() if self.write_formulas is not None else []

    def kind(self, column: int) -> str:
        return self.kinds[column] if column < len(self.kinds) else TEXT

    def numeric(self, column: int) -> bool:
        """Whether a column holds numbers (and is aligned right): any number in it makes it one,
        as does a bound written as text (``≤ 1,000``)."""
        return any(_is_number(row[column]) or isinstance(row[column], str) and _NUMBER_TEXT.fullmatch(row[column])
                   for row in self.rows)


_NUMBER_TEXT = re.compile(r"[≤≥<>~]? ?-?[\d,]*\.?\d+")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Dual(NamedTuple):
    """A cell holding a dual number ``value + tangent·ε`` (``trace --dual``)."""

    value: float
    tangent: float

    def text(self, digits: int | None) -> str:
        """``6 + 3ε``, with ``digits`` significant digits (None: every digit)."""
        value, tangent = (_cell(number, digits) for number in self)
        return f"{value} {'-' if tangent.startswith('-') else '+'} {tangent.lstrip('-')}ε"


def _cell(value, digits: int | None) -> str:
    """A cell as text: numbers with ``digits`` significant digits, or every digit (None)."""
    if value is None:
        return ""
    if isinstance(value, Dual):
        return value.text(digits)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return repr(value) if digits is None else f"{value:.{digits}g}"
    return str(value)


def _point(at: dict[str, float], digits: int) -> str:
    """Where the function was evaluated, as the terminal header says it: ``x = 1.0471976, y = 0``."""
    return ", ".join(f"{name} = {_cell(float(value), digits)}" for name, value in at.items())


def _one_line(text: str) -> str:
    """``text`` with each run of white space (newlines too) made one space."""
    return re.sub(r"\s+", " ", text)


# ---------------------------------------------------------------- Markdown
def to_markdown(tables: list[Tabular], digits: int) -> str:
    """Pipe tables under a bold title; numeric columns aligned right; notes indented as code."""
    out = []
    for table in tables:
        subject = _one_line(table.source) + (f" at {_point(table.at, digits)}" if table.at else "")
        out.append(f"**{_markdown_escape(table.title.format(subject=subject))}**\n")
        out.append("| " + " | ".join(_markdown_escape(c) for c in table.columns) + " |")
        out.append("|" + "|".join(" ---: " if table.numeric(k) else " --- " for k in range(len(table.columns)))
                   + "|")
        for row in table.rows:
            out.append("| " + " | ".join(_markdown_escape(_cell(v, digits)) for v in row) + " |")
        lines = table.notes + table.formulas
        out += [""] + [f"    {line}" for line in lines] + ([""] if lines else [])
        if table.write_derivations is not None:
            from adcli.explain import aligned

            for title, derivation in table.write_derivations(digits):
                out += [f"*{_markdown_escape(title)}:*", "", *aligned(derivation, "    "), ""]
    return "\n".join(out).rstrip() + "\n"


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


# ---------------------------------------------------------------- LaTeX
def to_latex(tables: list[Tabular], digits: int) -> str:
    """Each table as a booktabs ``tabular`` in a ``table`` float, then its notes and reverse sweep."""
    out = []
    for table in tables:
        subject = latex_code(table.source) if table.source else ""
        if table.at:
            subject += " at " + ", ".join(f"${latex_name(name)} = {latex_number(float(value), digits)}$"
                                          for name, value in table.at.items())
        before, _, after = table.title.partition("{subject}")
        kinds = [table.kind(k) for k in range(len(table.columns))]
        out += ["\\begin{table}[htbp]", "\\centering",
                f"\\caption{{{latex_text(before)}{subject}{latex_text(after)}}}",
                "\\begin{tabular}{" + "".join("r" if table.numeric(k) else "l" for k in range(len(kinds))) + "}",
                "\\toprule",
                " & ".join(_latex_cell(c, TEXT, digits) for c in table.columns) + " \\\\",
                "\\midrule"]
        out += [" & ".join(_latex_cell(v, kind, digits) for v, kind in zip(row, kinds)) + " \\\\"
                for row in table.rows]
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
        lines = [latex_text(note) for note in table.notes] + [f"${latex_formula(f)}$" for f in table.formulas]
        if lines:
            out += ["\\begin{flushleft}", " \\\\\n".join(lines), "\\end{flushleft}"]
        for title, derivation in table.write_derivations(digits) if table.write_derivations is not None else []:
            out += [f"\\noindent {latex_text(title)}:", "\\begin{align*}",
                    " \\\\\n".join(map(_latex_derivation_line, derivation)), "\\end{align*}"]
        out.append("")
    return "\n".join(out)


def _latex_derivation_line(line) -> str:
    """One line of an explained sweep (:class:`adcli.explain.Line`) as ``left &= right && \\to running``."""
    text = f"{latex_formula(line.left)} &= {latex_formula(line.right)}"
    if line.running:
        text += f" && \\to {latex_formula(line.running)}"
        if line.received > 1:
            text += f"\\ \\text{{({line.received} contributions)}}"
    return text


def _latex_cell(value, kind: str, digits: int) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, Label):
        return value.latex
    if isinstance(value, Dual):
        tangent = latex_number(value.tangent, digits)
        sign, tangent = ("-", tangent[1:]) if tangent.startswith("-") else ("+", tangent)
        return f"${latex_number(value.value, digits)} {sign} {tangent}\\varepsilon$"
    if _is_number(value):
        return f"${latex_number(value, digits)}$"
    text = str(value)
    if kind == NAME:
        return f"${latex_name(text)}$"
    if kind == FORMULA:
        return f"${latex_formula(text)}$"
    return latex_code(text) if kind == CODE else latex_text(text)


def latex_number(value: float | int, digits: int) -> str:
    """A number for LaTeX math mode with ``digits`` significant digits:
    ``1.1157872 \\times 10^{-9}``, ``-0.5``, ``\\infty``, ``\\mathrm{NaN}``; integers whole."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return r"\mathrm{NaN}"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    return _times_ten(f"{value:.{digits}g}")


def _times_ten(number: str) -> str:
    """``4.67e-16`` as ``4.67 \\times 10^{-16}``; a number without an exponent unchanged."""
    mantissa, e, exponent = number.lower().partition("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}" if e else number


def _subscript(text: str) -> str:
    return f"_{text}" if len(text) == 1 else f"_{{{text}}}"


def latex_name(name: str) -> str:
    """A variable for math mode: ``v_1``, ``x_1``, ``x_{12}``, ``w[0]``, ``x_{\\mathrm{max}}``,
    ``\\alpha``; longer names upright-italic as one word, ``\\mathit{rate\\_2}``."""
    parts = re.fullmatch(r"(.*?)((?:\[\d+\])*)", name)
    assert parts is not None  # (.*?) matches any name
    base, index = parts.groups()
    numbered = re.fullmatch(r"([^\W\d_])_?(\d+)", base)
    if numbered:
        return _letter(numbered[1]) + _subscript(numbered[2]) + index
    named = re.fullmatch(r"([^\W\d_])_([^\W\d_]+)", base)
    if named:
        return _letter(named[1]) + f"_{{\\mathrm{{{latex_text(named[2])}}}}}" + index
    if len(base) == 1:
        return _letter(base) + index
    return f"\\mathit{{{latex_text(base)}}}" + index


def _letter(char: str) -> str:
    """One letter in math mode: itself, or a Greek letter's command."""
    if char.isascii():
        return char
    text = latex_text(char)
    return text[len("\\ensuremath{"):-1] if text.startswith("\\ensuremath{") else f"\\text{{{text}}}"


_GREEK_CAPITALS_AS_LATIN = dict(zip(["alpha", "beta", "epsilon", "zeta", "eta", "iota", "kappa", "mu", "nu",
                                     "omicron", "rho", "tau", "chi"], "ABEZHIKMNOPTX"))
_ACCENTS = {"\u0300": "\\`", "\u0301": "\\'", "\u0302": "\\^", "\u0303": "\\~", "\u0304": "\\=", "\u0306": "\\u",
            "\u0307": "\\.", "\u0308": '\\"', "\u030a": "\\r", "\u030c": "\\v", "\u0327": "\\c"}
_SYMBOLS = {"≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "·": r"\cdot", "×": r"\times", "−": "-",
            "±": r"\pm", "∂": r"\partial", "∞": r"\infty", "→": r"\to", "∘": r"\circ", "√": r"\surd",
            "∈": r"\in", "∑": r"\sum", "∏": r"\prod", "∇": r"\nabla"}
_TEXT_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
                 "…": r"\ldots{}", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''"}


def latex_text(text: str) -> str:
    """Text that pdflatex typesets as written: its special characters escaped, accents as accent
    commands (``v̄`` as ``\\={v}``), Greek letters, super- and subscripts and math symbols as math.
    A character pdflatex has no glyph for becomes ``?``."""
    out: list[str] = []
    for char in unicodedata.normalize("NFD", _one_line(text)):
        if char.isascii():
            out.append(_TEXT_SPECIAL.get(char, char))
        elif char in _ACCENTS and out:
            out[-1] = f"{_ACCENTS[char]}{{{out[-1]}}}"
        else:
            out.append(_TEXT_SPECIAL.get(char) or _non_ascii(char))
    return "".join(out)


def _non_ascii(char: str) -> str:
    if char in _SYMBOLS:
        return f"\\ensuremath{{{_SYMBOLS[char]}}}"
    decomposition = unicodedata.decomposition(char)
    plain = unicodedata.normalize("NFKC", char)
    if decomposition.startswith(("<super>", "<sub>")) and plain.isascii():
        return f"\\text{'superscript' if decomposition.startswith('<super>') else 'subscript'}{{{plain}}}"
    greek = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (\w+)", unicodedata.name(char, ""))
    if greek:
        letter = {"lamda": "lambda"}.get(greek[2].lower(), greek[2].lower())
        if greek[1] == "SMALL":
            return "o" if letter == "omicron" else f"\\ensuremath{{\\{letter}}}"
        return _GREEK_CAPITALS_AS_LATIN.get(letter) or f"\\ensuremath{{\\{letter.capitalize()}}}"
    return "?"


def latex_code(text: str) -> str:
    """What the user typed (an expression, a file name), in typewriter type."""
    return f"\\texttt{{{latex_text(text)}}}"


_TOKEN = re.compile(r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<bar>[^\W\d_][\u0304\u0307]\w*)"
                    r"|(?P<name>[^\W\d]\w*(?:\[\d+\])*)|(?P<op>[+-]=|\S))")
_FUNCTIONS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\log", "sinh": r"\sinh",
              "cosh": r"\cosh", "tanh": r"\tanh", "asin": r"\arcsin", "acos": r"\arccos", "atan": r"\arctan",
              "min": r"\min", "max": r"\max"}
_DELIMITED = {"sqrt": (r"\sqrt{", "}"), "abs": (r"\lvert ", r"\rvert "), "floor": (r"\lfloor ", r"\rfloor ")}
_OPERATORS = {"*": r" \cdot ", "·": r" \cdot ", "+=": r" \mathrel{+}= ", "-=": r" \mathrel{-}= ", "+": " + ",
              "-": " - ", "/": " / ", ",": ", ", "=": " = "}
_CONSTANTS = {"pi": r"\pi", "inf": r"\infty", "nan": r"\mathrm{NaN}"}


def latex_formula(text: str) -> str:
    """An operation or adjoint update as adcli prints it (``v1 * v3``, ``v̄1 += v̄5 · cos(v1)``,
    ``v13 ^ (v2 - 1)``) in math mode: ``\\bar{v}_1 \\mathrel{+}= \\bar{v}_5 \\cdot \\cos(v_1)``.

    Calls of sqrt, abs and floor become their delimiters and a parenthesised exponent a braced one;
    one pass with a stack of closing delimiters, so the braces always balance."""
    tokens = [(match.lastgroup, match[match.lastgroup]) for match in _TOKEN.finditer(text) if match.lastgroup]
    out: list[str] = []
    closers: list[str] = []
    exponent = False  # after ^: the next atom or parenthesised group is the exponent
    for k, (kind, value) in enumerate(tokens):
        called = k + 1 < len(tokens) and tokens[k + 1] == ("op", "(")
        if kind == "name" and called:
            out.append(_FUNCTIONS.get(value) or _DELIMITED.get(value, ("",))[0]
                       or f"\\operatorname{{{latex_text(value)}}}")
            continue
        if value == "(":
            previous_kind, previous = tokens[k - 1] if k else ("", "")
            opener, closer = "(", ")"
            if previous_kind == "name" and previous in _DELIMITED:
                opener, closer = "", _DELIMITED[previous][1]  # the name printed the opening delimiter
            if exponent:
                opener, closer = ("", "}") if previous == "^" else (opener, closer + "}")
                exponent = False
            out.append(opener)
            closers.append(closer)
        elif value == ")":
            out.append(closers.pop() if closers else ")")
        elif value == "^":
            out.append("^{")
            exponent = True
        elif kind == "op":
            out.append(_OPERATORS.get(value) or (value if value in "<>!?:;.'|[]" else f"\\text{{{latex_text(value)}}}"))
        else:
            if kind == "number":
                out.append(_times_ten(value))
            elif kind == "bar":
                accent = "bar" if value[1] == "\u0304" else "dot"
                out.append(f"\\{accent}{{{_letter(value[0])}}}" + (_subscript(value[2:]) if value[2:] else ""))
            else:
                out.append(_CONSTANTS.get(value) or latex_name(value))
            if exponent:
                out.append("}")
                exponent = False
    out += ["}"] * exponent + closers[::-1]
    return re.sub(r" +", " ", "".join(out)).strip()


def to_csv(tables: list[Tabular]) -> str:
    """The first table as CSV, every digit kept (other tables have other columns)."""
    table = tables[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(zip(*map(_csv_column, zip(*table.rows))))
    return buffer.getvalue()


def _csv_column(column: tuple) -> list[str]:
    """A column's cells as :func:`_cell` writes them with every digit; text and finite floats
    without a call per cell (a trace's table has millions)."""
    return [v if type(v) is str else repr(v) if type(v) is float and v - v == 0 else _cell(v, None) for v in column]


def write(tables: list[Tabular], output_format: str, digits: int, notices: Sequence[str] = ()) -> str:
    """The tables in ``output_format`` (markdown, latex or csv), numbers to ``digits`` (not in CSV),
    and the run's ``notices`` (``warning: …``, ``note: …`` lines): a quoted block after the Markdown
    tables, a list after the LaTeX ones, ``#`` comment lines before the CSV header."""
    if output_format == "markdown":
        return to_markdown(tables, digits) + "".join(f"\n> {_markdown_escape(line)}\n" for line in notices)
    if output_format == "latex":
        block = ["\\begin{itemize}", *(f"\\item {latex_text(line)}" for line in notices), "\\end{itemize}", ""]
        return to_latex(tables, digits) + ("\n".join(block) if notices else "")
    return csv_comments(notices) + to_csv(tables)


def csv_comments(notices: Sequence[str]) -> str:
    """Notices as CSV comment lines (``# warning: …``), which pandas reads with ``comment="#"``."""
    return "".join(f"# {' '.join(line.split())}\n" for line in notices)


# ---------------------------------------------------------------- builders
def _partial(name: str, of: str = "f") -> Label:
    """The label of a partial derivative: d/dx in Markdown and CSV, ∂f/∂x in LaTeX (∂/∂x with
    ``of=""``, where the column or the row names the output)."""
    return Label(f"d/d{name}", f"$\\partial {of}/\\partial {latex_name(name)}$" if of else
                 f"$\\partial/\\partial {latex_name(name)}$")


def _source(trace) -> str:
    return trace.source.strip()


def sweep_tables(table) -> list[Tabular]:
    """The Wengert table: one row per input and operation; the reverse sweep as formulas after it."""
    from adcli.trace_text import update_statements

    trace, evaluated = table.trace, table.evaluated
    names = trace.names()
    texts = trace.equation_texts(names)
    kind = "dual number" if table.dual else "tangent"
    tangents = [Label(f"{kind} {label}", f"{kind} ${latex_formula(label)}$") for label, _ in table.tangents]
    adjoint = "adjoint" if len(trace.outputs) == 1 else f"adjoint of {table.adjoint_of or 'u·f'}"
    nodes = [i for i, code in enumerate(trace.op) if code != CONST]
    sources = [[trace.source_of(i) for i in nodes]] if trace.lines is not None else []
    columns = ["node", *(["source"] if sources else []), "operation", "value", *tangents, adjoint]
    tangent_columns = [list(map(Dual, evaluated.values, t)) if table.dual else t for _, t in table.tangents]
    cells = [list(map(column.__getitem__, nodes))  # column by column: long traces have millions of rows
             for column in (names, texts, evaluated.values, *tangent_columns, table.adjoints)]
    rows = list(map(list, zip(cells[0], *sources, *cells[1:])))
    explained = table.explanation is not None  # the explained reverse sweep replaces its bare formulas
    notes = [] if explained else ["reverse sweep, in the order it runs:"]
    return [Tabular("Wengert list of {subject}", columns, rows, notes,
                    kinds=[NAME, *([TEXT] if sources else []), FORMULA], source=_source(trace), at=evaluated.at,
                    write_formulas=None if explained else
                    lambda: update_statements(trace, straight_through=table.straight_through),
                    write_derivations=_derivations(table, names) if explained else None)]


def _derivations(table, names: list[str]) -> Callable[[int], list[tuple[str, Sequence]]]:
    """``trace --explain``'s derivations, worked out with the digits a writer asks for."""
    from adcli.explain import derivations

    return lambda digits: derivations(table, names, digits)


def gradient_tables(result) -> list[Tabular]:
    trace, evaluated = result.trace, result.evaluated
    several = len(result.columns) > 1
    columns = ["", *(Label(name, latex_code(name)) if several else Label(name, f"${latex_formula(name)}$")
                     for name, _ in result.columns)]
    rows = [["value", *(value for _, value in result.columns)]]
    rows += [[_partial(name, "" if several else result.columns[0][0]), *(g[name] for g in result.gradients)]
             for name in result.wrt]
    if result.jvp is not None:
        rows.append([Label("J·u", "$J u$"), *result.jvp])
    title = f"Value and gradient of {{subject}} ({result.mode} mode)"
    tables = [Tabular(title, columns, rows, source=_source(trace), at=evaluated.at)]
    if result.checks is not None:
        check_columns = ["output", "input", "AD", "SymPy", "SymPy − AD", "central difference", "step",
                         "difference − AD", "note"]
        check_rows = [[c.output, c.input, c.ad, c.sympy, None if c.sympy is None else c.sympy - c.ad, c.fd, c.fd_step,
                       None if c.fd is None else c.fd - c.ad, c.note] for c in result.checks]
        tables.append(Tabular("Cross-checks of {subject}", check_columns, check_rows, source=_source(trace),
                              at=evaluated.at))
    return tables


def jacobian_tables(result) -> list[Tabular]:
    trace, evaluated = result.trace, result.evaluated
    if result.sparsity is not None:
        from adcli.output.sparse import sparse_tables

        return sparse_tables(result.sparsity, "Jacobian of {subject}: non-zeros", trace.output_names, result.inputs,
                             ["output", "input", "derivative"], _source(trace), evaluated.at)
    columns = ["output", "value", *(_partial(name, "") for name in result.inputs)]
    rows = [[name, value, *row] for (name, value), row in zip(result.outputs, result.matrix)]
    costs = [[mode, result.sweeps[mode], result.operations[mode]] for mode in ("forward", "reverse")]
    return [Tabular(f"Jacobian of {{subject}} ({result.mode} mode)", columns, rows, kinds=[CODE],
                    source=_source(trace), at=evaluated.at),
            Tabular("Cost for this shape", ["mode", "sweeps", "operations"], costs)]


def hessian_tables(result) -> list[Tabular]:
    names = result.names
    if result.sparsity is not None:
        from adcli.output.sparse import sparse_tables

        return sparse_tables(result.sparsity, "Hessian of {subject}: non-zeros", names, names,
                             ["row", "column", "second derivative"], _source(result.trace), result.evaluated.at)
    rows = [[name, *row] for name, row in zip(names, result.matrix)]
    columns = ["", *(Label(name, f"${latex_name(name)}$") for name in names)]
    return [Tabular("Hessian of {subject}", columns, rows, kinds=[NAME], source=_source(result.trace),
                    at=result.evaluated.at)]


def compare_tables(comparison) -> list[Tabular]:
    methods = [[row.method, row.input, row.value, row.step, row.abs_error, row.rel_error, row.note]
               for row in comparison.methods]
    tables = [Tabular("Derivatives of {subject} by every method",
                      ["method", "input", "derivative", Label("step h", "step $h$"), "abs error", "rel error", "note"],
                      methods, kinds=[TEXT, NAME], source=_source(comparison.trace), at=comparison.evaluated.at)]
    if comparison.formulas:
        latex = comparison.formula_latex()
        formulas = [[name, Label(text, f"${latex[name]}$")] for name, text in comparison.formula_texts().items()]
        how = "simplified" if comparison.simplified else "not simplified: simplify ran out of time"
        tables.append(Tabular(f"SymPy's derivative ({how})", ["input", "derivative"], formulas, kinds=[NAME, CODE]))
    if comparison.sweep:
        rows = [[row.method, row.input, row.step, row.value, row.abs_error, row.rel_error, row.regime]
                for row in comparison.sweep]
        tables.append(Tabular("Step sweep", ["method", "input", Label("h", "$h$"), "derivative", "abs error",
                                             "rel error", "regime"], rows, kinds=[TEXT, NAME]))
    swell = []
    for row in comparison.swell:
        sizes = [row.symbolic.get(stage, {}) for stage in ("derivative", "simplify", "cse")]
        swell.append([row.depth, row.trace_operations, row.reverse_operations,
                      *(s.get("ops", "timed out" if s.get("timed_out") else None) for s in sizes)])
    tables.append(Tabular("Expression swell", ["depth", "trace ops", "reverse ops", "SymPy ops",
                                               "simplified ops", "cse ops"], swell))
    return tables


def checkpoint_tables(evaluated, runs) -> list[Tabular]:
    trace = evaluated.trace
    columns = ["strategy", "peak stored", "stored (theory)", "recomputed", "recomputed (theory)", "seconds",
               *(_partial(name) for name in trace.input_names)]
    rows = []
    for r in runs:
        gradient = [r.adjoints[node] for node in trace.inputs] if r.adjoints else [None] * len(trace.inputs)
        measured = [r.peak_stored, r.recomputed, r.seconds] if r.adjoints else [None, None, None]
        rows.append([r.strategy.label, measured[0], r.theory_stored, measured[1], r.theory_recomputed, measured[2],
                     *gradient])
    notes = [f"{r.strategy.label}: {note}" for r in runs for note in r.notes]
    return [Tabular("Checkpointing strategies for {subject}", columns, rows, notes, source=_source(trace),
                    at=evaluated.at)]


# ---------------------------------------------------------------- CSV of gradients
def gradient_csv(result: Gradient) -> str:
    """The gradient at one point as CSV: the inputs, the value and each partial derivative; the
    cross-checks of ``--check``, if any, as comment lines before it (every digit)."""
    evaluated = result.evaluated
    checks = "".join(
        f"# check d({c.output})/d{c.input}: AD {c.ad!r}"
        + (f", SymPy {c.sympy!r}" if c.sympy is not None else "")
        + (f", central difference {c.fd!r} (step {c.fd_step!r})" if c.fd is not None else "")
        + (f"; {c.note}" if c.note else "") + "\n" for c in result.checks or [])
    gradients = [{name: [g] for name, g in gradient.items()} for gradient in result.gradients]
    if result.jvp is not None:
        gradients = [{"u": [value]} for value in result.jvp]
    return checks + _gradient_csv({name: [value] for name, value in evaluated.at.items()},
                                  [name for name, _ in result.columns],
                                  [[value] for _, value in result.columns], gradients)


def _gradient_csv(inputs: dict[str, list], output_names: list[str], values: list[list],
                  gradients: list[dict[str, list]]) -> str:
    """One row per point: the inputs, then each output and its partial derivatives (every digit)."""
    several = len(output_names) > 1
    header, columns = list(inputs), list(inputs.values())
    for k, name in enumerate(output_names):
        label = name if several else "value"
        header.append(label)
        columns.append(values[k])
        for input_name, partial in gradients[k].items():
            header.append(f"d({label})/d{input_name}" if several else f"d/d{input_name}")
            columns.append(partial)
    return "\n".join([",".join(header), *(",".join(map(repr, row)) for row in zip(*columns))]) + "\n"


def batch_csv(batch) -> str:
    """One row per point of a batch, as :func:`gradient_csv` writes one point."""
    return _gradient_csv(batch.inputs(),
                         batch.trace.output_names, [v.tolist() for v in batch.values],
                         [{name: g.tolist() for name, g in gradient.items()} for gradient in batch.gradients])


RULES_COLUMNS = ("primitive", "local partials", "domain", "not differentiable at", "convention there")


def rules_rows(rules: list) -> list[list]:
    """The reference card's rows: the call, ``∂/∂x = …`` per argument, the domain ("all reals"
    where any argument is allowed), the non-differentiable points per argument, the convention."""
    def by_argument(pairs: list[tuple[str, str]], prefix: str) -> str:
        return "; ".join(f"{prefix}{argument}: {text}" if prefix else f"{text}" for argument, text in pairs)

    rows = []
    for rule in rules:
        kinks = list(dict.fromkeys(text for _, text in rule.kinks))  # min, max: the same tie for both arguments
        kinked = by_argument(rule.kinks, "∂/∂") if len(kinks) > 1 else (kinks[0] if kinks else "none")
        convention = rule.convention + (" (discrete: no gradient flows through it)" if rule.discrete else "")
        partials = Label(by_argument(rule.partials, "∂/∂"), "; ".join(
            f"$\\partial/\\partial {argument} = {latex_formula(text)}$" for argument, text in rule.partials))
        rows.append([rule.call, partials, rule.domain or "all reals", kinked, convention or "—"])
    return rows


def rules_tables(rules: list) -> list[Tabular]:
    """The reference card as one table."""
    return [Tabular("Derivative rules of adcli's primitives", list(RULES_COLUMNS), rules_rows(rules),
                    kinds=[FORMULA, TEXT, TEXT, TEXT, TEXT])]
