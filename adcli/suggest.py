"""'Did you mean …?' suggestions for misspelled names."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A suffix such as ``"; did you mean 'sin'?"``, or ``""`` when nothing is close."""
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
