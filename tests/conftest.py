"""Shared fixtures for adcli's tests.

Reference values in these tests never come from adcli itself: they are derived by hand (the
derivation is written next to them), computed with :mod:`math` in plain loops, or computed with
SymPy at 30 digits.
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import settings
from typer.testing import CliRunner, Result

from adcli.cli import run

# Property tests draw the same examples on every run ("adcli", the default), so that CI's verdict is
# the code's, not the luck of a draw; HYPOTHESIS_PROFILE=explore draws new ones each run, to hunt.
settings.register_profile("adcli", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "adcli"))


class EntryPointRunner(CliRunner):
    """Runs a command line through adcli's own entry point (:func:`adcli.cli.run`), as the installed
    ``adcli`` does, with click's test isolation of the standard streams. (``app`` is accepted for
    CliRunner's signature; every test runs adcli's.)"""

    def invoke(self, app=None, args=(), input=None, env=None, **_) -> Result:  # type: ignore[override]
        exception: BaseException | None = None
        with self.isolation(input=input, env=env) as streams:
            try:
                code = run(list(args))
            except Exception as error:  # noqa: BLE001 - a test failure to report, never adcli's answer
                exception, code = error, 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr, output = (stream.getvalue() for stream in streams)
        if code and exception is None:
            exception = SystemExit(code)
        return Result(runner=self, stdout_bytes=stdout, stderr_bytes=stderr, output_bytes=output,
                      return_value=None, exit_code=code, exception=exception)


@pytest.fixture
def runner() -> CliRunner:
    """The entry-point runner with a wide, colourless terminal, so rich neither wraps rows nor adds escapes."""
    return EntryPointRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
