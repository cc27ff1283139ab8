"""Everything adcli writes: one table of writers per result kind, and where the result goes.

:data:`WRITERS` is the one place that says which formats each kind of result has and which
function writes each; the command line builds its ``--format`` choices and help from it, and an
unknown format is an error, never a fallback. The writers live in this package's modules, one job
each, imported only when a result is written in their format (start-up stays fast):

- :mod:`~adcli.output.terminal` and :mod:`~adcli.output.terminal_compare`: rich views for a
  terminal (``table``), laid out by :mod:`~adcli.output.fit_table` so that no number is ever cut;
- :mod:`~adcli.output.documents`: the JSON documents (``json``);
- :mod:`~adcli.output.tabular`: Markdown, LaTeX and CSV (``markdown``, ``latex``, ``csv``);
- :mod:`~adcli.output.textchart` and :mod:`~adcli.output.plot`: charts in the terminal and in files;
- :mod:`~adcli.output.ascii`: ASCII spellings for streams that cannot encode Unicode.

A writer takes the result's parts (``args``) and returns text, bytes, a list of text pieces (a
long JSON document), or a rich renderable (``table``). :func:`write` sends it to standard output
or to a file, whole or not at all; the result's warnings and notes go to stderr in table mode and
travel inside every other format.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence

from adcli.errors import InputError, OutputError

#: Per result kind, per format: the writer, as "module:function" under adcli. Markdown and LaTeX
#: write the kind's plain tables (``tabular:<kind>_tables``); so does CSV unless named here.
WRITERS: dict[str, dict[str, str]] = {
    "gradient": {"table": "output.terminal:gradient_view", "json": "output.documents:gradient_json",
                 "markdown": "output.tabular:gradient_tables", "latex": "output.tabular:gradient_tables",
                 "csv": "output.tabular:gradient_csv"},
    "batch": {"table": "output.terminal:batch_view", "json": "output.documents:batch_json",
              "csv": "output.tabular:batch_csv"},
    "sweep": {"table": "output.terminal:sweep_view", "json": "output.documents:sweep_json_chunks",
              "markdown": "output.tabular:sweep_tables", "latex": "output.tabular:sweep_tables",
              "csv": "output.tabular:sweep_tables", "html": "lesson:lesson_html"},
    "jacobian": {"table": "output.terminal:jacobian_view", "json": "output.documents:jacobian_json",
                 "markdown": "output.tabular:jacobian_tables", "latex": "output.tabular:jacobian_tables",
                 "csv": "output.tabular:jacobian_tables", "png": "output.plot:pattern_png",
                 "svg": "output.plot:pattern_svg"},
    "hessian": {"table": "output.terminal:hessian_view", "json": "output.documents:hessian_json",
                "markdown": "output.tabular:hessian_tables", "latex": "output.tabular:hessian_tables",
                "csv": "output.tabular:hessian_tables", "png": "output.plot:pattern_png",
                "svg": "output.plot:pattern_svg"},
    "taylor": {"table": "output.higher_order:taylor_view", "json": "output.higher_order:taylor_json",
               "markdown": "output.higher_order:taylor_tables", "latex": "output.higher_order:taylor_tables",
               "csv": "output.higher_order:taylor_tables"},
    "hvp": {"table": "output.higher_order:hvp_view", "json": "output.higher_order:hvp_json",
            "markdown": "output.higher_order:hvp_tables", "latex": "output.higher_order:hvp_tables",
            "csv": "output.higher_order:hvp_tables"},
    "compare": {"table": "output.terminal_compare:comparison_view", "json": "output.documents:compare_json",
                "markdown": "output.tabular:compare_tables", "latex": "output.tabular:compare_tables",
                "csv": "output.tabular:compare_tables"},
    "checkpoint": {"table": "output.terminal:checkpoint_view", "json": "output.documents:checkpoint_json",
                   "markdown": "output.tabular:checkpoint_tables", "latex": "output.tabular:checkpoint_tables",
                   "csv": "output.tabular:checkpoint_tables"},
    "graph": {"dot": "graph:to_dot", "mermaid": "graph:to_mermaid", "svg": "graph:to_svg", "png": "graph:to_png",
              "json": "output.documents:graph_json"},
    "codegen": {"python": "codegen:generate", "json": "output.documents:codegen_json"},
    "rules": {"table": "output.terminal:rules_view", "json": "output.documents:rules_json",
              "markdown": "output.tabular:rules_tables", "latex": "output.tabular:rules_tables"},
    "lesson": {"html": "lesson:lesson_html", "json": "lesson:lesson_document"},
    "plot": {"table": "output.textchart:curve_chart", "json": "output.documents:curve_json",
             "png": "output.plot:curve_png", "svg": "output.plot:curve_svg"},
}

#: The format an ``-o`` file's suffix names.
SUFFIXES = {".txt": "table", ".json": "json", ".md": "markdown", ".tex": "latex", ".csv": "csv", ".dot": "dot",
            ".gv": "dot", ".mmd": "mermaid", ".svg": "svg", ".png": "png", ".py": "python",
            ".html": "html", ".htm": "html"}
#: The format that prints rich text for a terminal.
TERMINAL = "table"
#: Formats whose documents carry a result's warnings and notes (the others leave them to stderr).
CARRY_NOTICES = ("json", "markdown", "latex", "csv")
#: Formats whose writer returns tables for :func:`~adcli.output.tabular.write` to lay out.
TABULAR = ("markdown", "latex", "csv")


def plural(count: int, word: str) -> str:
    """``1 sweep``, ``2,000 sweeps``: a count and its word, plural unless the count is 1."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def formats(kind: str) -> tuple[str, ...]:
    """The formats a kind of result can be written in, the default first."""
    return tuple(WRITERS[kind])


def choose(kind: str, requested: str | None, as_json: bool = False, path: str | None = None) -> str:
    """The format to write ``kind`` in: ``--format``, else ``--json``, else ``path``'s suffix, else the default."""
    allowed = formats(kind)
    if as_json:
        if requested not in (None, "json"):
            raise InputError(f"--json and --format {requested} disagree: choose one")
        requested = "json"
    if requested is None and path is not None:
        requested = SUFFIXES.get(os.path.splitext(path)[1].lower())
        if requested not in allowed:
            suffixes = [suffix for suffix, name in SUFFIXES.items() if name in allowed]
            said = ("does not say the format" if requested is None
                    else f"names {requested}, which {_kind_words(kind)} is not written as")
            raise InputError(f"-o {path}: the suffix {said}; use one of {', '.join(suffixes)} or give --format")
    chosen = requested or allowed[0]
    if chosen not in allowed:
        raise InputError(f"--format {chosen}: {_kind_words(kind)} is written as {_listing(allowed)}")
    return chosen


def _kind_words(kind: str) -> str:
    return {"batch": "a batch of points", "graph": "a graph", "codegen": "code",
            "plot": "a plot", "rules": "the rules card"}.get(kind, f"this {kind} result")


def _listing(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def writer(kind: str, output_format: str) -> Callable:
    """The function that writes ``kind`` in ``output_format`` (imported now)."""
    module, _, function = WRITERS[kind][output_format].partition(":")
    return getattr(importlib.import_module(f"adcli.{module}"), function)


def render(kind: str, output_format: str, args: tuple, digits: int, notices: Sequence[str] = (),
           **view_options) -> str | bytes | list[str] | object:
    """``kind``'s result (``args``) in ``output_format``: text, bytes, JSON pieces, or a rich renderable.

    ``digits`` rounds the numbers of tables, Markdown and LaTeX; ``notices`` (``warning: …`` lines)
    go into Markdown, LaTeX and CSV (JSON documents carry their own); ``view_options`` go to the
    terminal view (``rows=`` for long traces).
    """
    write = writer(kind, output_format)
    if output_format == TERMINAL:
        return write(*args, digits, **view_options)
    if output_format in TABULAR and WRITERS[kind][output_format].endswith("_tables"):
        from adcli.output.tabular import write as write_tables

        return write_tables(write(*args), output_format, digits, list(notices))
    if output_format == "csv":
        from adcli.output.tabular import csv_comments

        return csv_comments(list(notices)) + write(*args)
    return write(*args)


def notices(result) -> list[str]:
    """A result's warnings and notes as the lines adcli writes: ``warning: …``, ``note: …``."""
    evaluated = getattr(result, "evaluated", result)
    optimization = getattr(getattr(result, "trace", result), "optimization", None)  # (an optimised trace's)
    return ([f"warning: {w}" for w in getattr(evaluated, "warnings", [])]
            + [f"note: {n}" for n in getattr(evaluated, "notes", [])]
            + ([f"note: optimised: {optimization}"] if optimization is not None else []))


# ---------------------------------------------------------------- where it goes
class ClosedOutput(io.TextIOBase):
    """Standard output when the process started with it closed (``adcli … >&-``): writing to it,
    help and version included, is the one-line error, not silence."""

    error = OutputError("standard output is closed, so the result cannot be written; "
                        "give -o FILE to write it to a file")

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise self.error

    def isatty(self) -> bool:
        return False

#: Compact JSON pieces longer than this (a long trace: well past 10,000 rows) are written as they
#: are; shorter ones are read back and written by :func:`json_text`'s rule.
COMPACT_JSON_BYTES = 2_000_000


def as_text(content, path: str | None) -> str | bytes | list[str]:
    """A rendered result as what is written: a rich renderable becomes the text a terminal (or, for
    a file, a plain wide page) shows; a JSON document becomes text (indented, or compact when long)."""
    if isinstance(content, list):  # compact JSON in pieces, from a bulk writer (trace --json)
        if sum(map(len, content)) > COMPACT_JSON_BYTES:
            return [*content, "\n"]
        import json

        content = json.loads("".join(content))
    if isinstance(content, (str, bytes)):
        return content
    if isinstance(content, dict):
        return json_text(content)
    return _terminal_text(content, to_file=path is not None)


def json_text(document: dict) -> str:
    """A JSON document as text: indented to read; past ~10,000 rows compact, for programs (and several
    times faster, written by json's C encoder)."""
    import json

    large = sum(len(v) for v in document.values() if isinstance(v, list)) > 10_000
    return json.dumps(document, allow_nan=False, **({"separators": (",", ":")} if large else {"indent": 2})) + "\n"


def _terminal_text(renderable: object, to_file: bool) -> str:
    """A rich renderable rendered into a buffer, so that a stream that fails fails in one place; the
    buffer carries standard output's encoding, so rich draws ASCII boxes where it must."""
    from adcli.output.fit_table import make_console

    class Buffer(io.StringIO):
        encoding = "utf-8" if to_file else (getattr(sys.stdout, "encoding", None) or "utf-8")

    terminal = not to_file and sys.stdout is not None and sys.stdout.isatty()
    buffer = Buffer()
    make_console(buffer, terminal, columns=None if to_file else os.environ.get("COLUMNS")).print(renderable)
    return buffer.getvalue()


def write(content: str | bytes | list[str], path: str | None = None) -> None:
    """The result, to the file ``path`` (whole or not at all) or to standard output. A list is
    written piece by piece (a long JSON document is never joined into one string)."""
    pieces = content if isinstance(content, list) else [content]
    if path is not None:
        _write_file(path, pieces)
        if sys.stderr is not None:
            sys.stderr.write(f"wrote {path}\n")
        return
    stream = sys.stdout
    if stream is None:
        raise ClosedOutput.error
    try:
        for piece in pieces:
            if isinstance(piece, bytes):
                stream.flush()
                stream.buffer.write(piece)
            else:
                stream.write(piece)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write to standard output: {error.strerror or error}") from None


def _write_file(path: str, pieces: Sequence[str | bytes]) -> None:
    """Write ``pieces`` to ``path``. A regular file (or a new one) is written through a temporary
    file beside it and renamed into place, so a failure leaves no half file, and it keeps the mode
    of the file it replaces; a link is followed; anything else (``/dev/stdout``, a pipe) is written
    directly."""
    import stat
    import tempfile

    temporary = None
    try:
        try:
            existing = os.stat(path)
        except FileNotFoundError:
            existing = None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            with open(path, "wb") as stream:
                _write_pieces(stream, pieces)
            return
        target = os.path.realpath(path)
        handle, temporary = tempfile.mkstemp(prefix=".adcli-", dir=os.path.dirname(target))
        with os.fdopen(handle, "wb") as stream:
            _write_pieces(stream, pieces)
        if existing is not None:
            mode = stat.S_IMODE(existing.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        raise OutputError(f"-o {path}: cannot write the file ({error.strerror or error})") from None


def _write_pieces(stream, pieces: Sequence[str | bytes]) -> None:
    for piece in pieces:
        stream.write(piece.encode() if isinstance(piece, str) else piece)
