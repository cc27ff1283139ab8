"""ASCII spellings of the symbols adcli prints, for streams that cannot encode Unicode.

adcli writes ``∂f/∂x``, ``v̄1``, ``≤`` and box-drawing tables. On a terminal or pipe whose encoding
is ASCII or Latin-1 (``PYTHONIOENCODING=ascii``, ``LC_ALL=C`` without UTF-8 mode), :func:`use_on`
makes the stream spell them ``df/dx``, ``vbar1`` and ``<=`` instead of failing with UnicodeEncodeError.
"""

from __future__ import annotations

import codecs
import unicodedata
from io import TextIOBase
from typing import TextIO

HANDLER = "adcli-ascii"

SPELLINGS = {
    "∂": "d", "\u0304": "bar", "\u0307": "dot", "·": "*", "×": "x", "÷": "/", "−": "-", "≤": "<=", "≥": ">=",
    "≠": "!=", "≈": "~", "→": "->", "←": "<-", "…": "...", "ε": "eps", "∞": "inf", "π": "pi", "√": "sqrt",
    "²": "^2", "³": "^3", "¹": "^1", "⁻": "^-", "±": "+/-", "°": "deg", "Δ": "D", "∇": "grad", "θ": "theta",
    "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "•": "*", "⋅": ".",
}
_LINES = {"-": "─━═╌╍┄┅┈┉╴╶╸╺", "|": "│┃║╎╏┆┇┊┋╵╷╹╻", "#": "█▇▆▅▄▃▂▁▌▐▀░▒▓■●"}
for _spelling, _characters in _LINES.items():
    SPELLINGS.update(dict.fromkeys(_characters, _spelling))


def spell(character: str) -> str:
    """The ASCII spelling of one character: from the table, its compatibility decomposition, or '?'."""
    if character in SPELLINGS:
        return SPELLINGS[character]
    if 0x2500 <= ord(character) <= 0x257F:  # the other box-drawing characters: corners and joints
        return "+"
    decomposed = unicodedata.normalize("NFKD", character).encode("ascii", "ignore").decode()
    return decomposed or "?"


def _replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(spell(c) for c in error.object[error.start:error.end]), error.end


codecs.register_error(HANDLER, _replace)


def use_on(stream: TextIO | TextIOBase | None) -> None:
    """Have ``stream`` write ASCII spellings for what its encoding cannot hold (a no-op for UTF-8)."""
    encoding = getattr(stream, "encoding", None)
    if stream is None or not encoding or not hasattr(stream, "reconfigure"):
        return
    try:
        "∂v̄≤─".encode(encoding)
    except UnicodeEncodeError:
        stream.reconfigure(errors=HANDLER)
    except LookupError:
        pass
