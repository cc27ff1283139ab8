"""Shared fixtures for adcli's tests.

Reference values in these tests never come from adcli itself: they are derived by hand (the
derivation is written next to them), computed with :mod:`math` in plain loops, or computed with
SymPy at 30 digits.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    """A CliRunner with a wide, colourless terminal, so rich neither wraps rows nor adds escapes."""
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
