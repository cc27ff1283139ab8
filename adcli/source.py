"""What SRC names: an expression, or the path of a function file.

An expression is only ever parsed; a function file is run as Python. So the line between the two is
drawn strictly: SRC is a path when it ends in ``.py``, or when it looks like a path (no characters
beyond those of file names, a ``/`` in it) and names something on disk or sits in a folder that
exists. Everything else, including the name of an existing file without a separator (``x``), is an
expression (a file name that is not one, ``model.txt``, is told it must end in .py). Text read from
standard input is always an expression.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from adcli.errors import InputError

_PATH_PUNCTUATION = frozenset("/._~+-")


class Source:
    """SRC resolved: the expression text, or a function file's path (``is_file``). (A plain class:
    it is made on every run, and a dataclass costs a millisecond of start-up to define.)"""

    __slots__ = ("text", "is_file")

    def __init__(self, text: str, is_file: bool = False) -> None:
        self.text, self.is_file = text, is_file

    def __str__(self) -> str:
        return self.text


def expression(text: str) -> Source:
    """Text that is an expression whatever it looks like (standard input)."""
    return Source(text, is_file=False)


def resolve(text: str, given: Collection[str] = ()) -> Source:
    """SRC as the user typed it: a function file's path, or an expression.

    A path-like SRC that is a folder, or whose file does not exist, is an error here rather than an
    expression whose inputs are ``samples`` and ``loop``; so is the bare name of a folder, unless
    it is one of the input names ``given`` a value (``x`` stays an expression beside a folder ``x``).
    """
    if not _looks_like_path(text):
        if os.path.isfile(text) and not _parses(text):
            raise InputError(f"{text}: a function file must be a Python file ending in .py")
        if text not in given and os.path.isdir(text):
            raise InputError(f"{text}: is a directory; give a .py file or an expression")
        return expression(text)
    if os.path.isdir(text):
        raise InputError(f"{text}: is a directory; give a .py file or an expression")
    if not os.path.exists(text):
        if os.path.isfile(text + ".py"):
            raise InputError(f"{text}: no such file (did you mean {text}.py?)")
        if not text.endswith(".py") and not text.startswith(("/", "./", "../")) and _parses(text):
            return expression(text)  # x2/y beside a folder x2: a division after all
        raise InputError(f"{text}: no such file")
    return Source(text, is_file=True)


def _parses(text: str) -> bool:
    from adcli.parser import parse

    try:
        parse(text)
    except InputError:
        return False
    return True


def _looks_like_path(text: str) -> bool:
    if text.endswith(".py"):
        return True
    if "\n" in text:
        return False
    if "/" not in text or not all(c.isalnum() or c in _PATH_PUNCTUATION for c in text):
        return False
    return text.startswith(("/", "./", "../")) or os.path.exists(text) or os.path.isdir(os.path.dirname(text))
