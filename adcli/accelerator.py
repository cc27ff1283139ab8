"""The optional C extension :mod:`adcli._tape`: adcli's hot loops (tracing, and the evaluation,
reverse sweep and parsing of long traces and expressions) in C.

``tape`` is the extension module, or None when it was not built (no C compiler at install time) or
the environment sets ``ADCLI_NO_ACCELERATOR=1``. Either way the results are the same: the Python
code it replaces stays, and the tests run both.
"""

from __future__ import annotations

import os


def _load():
    if os.environ.get("ADCLI_NO_ACCELERATOR"):
        return None
    try:
        from adcli import _tape
    except ImportError:
        return None
    from adcli.primitives import BY_NAME

    _tape.set_opcodes({name: BY_NAME[name].opcode for name in ("add", "sub", "mul", "div", "neg", "abs")})
    return _tape


tape = _load()
