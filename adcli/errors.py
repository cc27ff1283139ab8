"""adcli's exception types. The library raises them; only the CLI turns them into exit codes.

Exit codes follow the design contract: 2 for invalid input, 1 for a function that cannot be
evaluated or differentiated at the requested point.
"""

from __future__ import annotations


class AdcliError(Exception):
    """Base class: ``str(error)`` is the complete message a user of the library sees.

    An error about one argument of a library function carries its name (``option``: ``"points"``,
    ``"wrt"``) and the text given for it (``value``); ``str(error)`` then reads ``value: message``,
    and the CLI names its own option instead (``--points value: message``)."""

    exit_code = 2

    def __init__(self, message: object = "", *, option: str | None = None, value: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option
        self.value = value

    def __str__(self) -> str:
        return f"{self.value}: {self.message}" if self.value is not None else str(self.message)


class InputError(AdcliError):
    """The input is invalid: syntax, unknown name, missing or extra value, unreadable file."""

    exit_code = 2


class EvaluationError(AdcliError):
    """The function cannot be evaluated or differentiated at the point (log(-1), 1/0, overflow)."""

    exit_code = 1


class Retrace(EvaluationError, ValueError):
    """A point takes another path through a function file than the one a trace was recorded on
    (``if x > 0`` comes out the other way), so that trace, and code generated from it, does not hold
    there: trace the function again at the point. (Generated code, which imports only :mod:`math`,
    defines its own ``Retrace``, a ValueError with the same message.)"""


class TracedZeroDivisionError(EvaluationError, ZeroDivisionError):
    """An operation on traced values divided by zero; ``except ZeroDivisionError`` catches it, as in Python."""


class TracedValueError(EvaluationError, ValueError):
    """An operation on traced values is undefined at its arguments (log(-1)) or gives nan; a ValueError, as
    math's "math domain error" is."""


class TracedOverflowError(EvaluationError, OverflowError):
    """An operation on traced values overflows, or a number is too large for a float; an OverflowError."""


def caret_message(message: str, text: str, column: int, width: int = 72) -> str:
    """``message`` followed by ``text`` with a caret under ``column`` (0-based); tabs and newlines
    show as spaces, other unprintable characters as U+FFFD, so the message stays one line of text.

    Long texts are cut to a window around the column so the caret stays readable.
    """
    flat = text.replace("\n", " ").replace("\t", " ")
    if not flat.isprintable():  # a line or paragraph separator, \r, a no-break space …: one mark each,
        flat = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in flat)  # so one line
    start = max(0, min(column - width // 2, len(flat) - width))
    end = start + width
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    shown = prefix + flat[start:end] + suffix
    caret_at = len(prefix) + column - start
    return f"{message}\n  {shown}\n  {' ' * caret_at}^"


class OutputError(AdcliError):
    """The result could not be written: standard output closed, a full disk, an unwritable file."""

    exit_code = 1
