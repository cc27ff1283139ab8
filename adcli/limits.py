"""The largest sizes adcli accepts from the command line, and the one way it reads a whole number
from text. Each option's help and error message state its maximum."""

from __future__ import annotations

MAX_POINTS = 10_000_000  # a range in --at, or the rows of a --points file: 8 bytes a point per node
MAX_NEST = 100  # compare --nest: f composed with itself up to this many times
MAX_GRAPH_NODES = 100_000  # graph --max-nodes: Graphviz takes minutes well before this
MAX_ROWS = 10_000_000  # trace --rows (all shows every row)
MAX_COUNT = 1_000_000_000  # any other count: checkpoint every=K and binomial=S

#: The highest order of Taylor mode (adcli taylor --order): k! overflows a float past 170.
MAX_ORDER = 170

def parse_whole(text: str, minimum: int, maximum: int) -> int | None:
    """The whole number ``text`` spells in ASCII digits (spaces around allowed) when it lies in
    [minimum, maximum]; None otherwise. Every integer adcli reads from text goes through here:
    ``int()`` alone accepts other scripts' digits (``'١'``) and fails with ValueError on ``'²'`` or
    on more than 4,300 digits."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()):
        return None
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return None
    value = int(digits)
    return value if minimum <= value <= maximum else None
