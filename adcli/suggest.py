"""'Did you mean …?' suggestions for misspelled names."""

from __future__ import annotations

from collections.abc import Iterable

#: The names people mean by other spellings of the expression language's functions (NumPy's, …).
SYNONYMS: dict[str, str] = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "arsinh": "asinh", "arcosh": "acosh", "artanh": "atanh",
    "fabs": "abs", "absolute": "abs", "power": "pow", "maximum": "max", "minimum": "min", "expit": "sigmoid",
    "logistic": "sigmoid", "lg": "log10", "ld": "log2", "lb": "log2", "sgn": "sign", "signum": "sign",
}


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A suffix such as ``"; did you mean 'sin'?"``, or ``""`` when nothing is close."""
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
