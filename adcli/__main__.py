"""``python -m adcli`` and the ``adcli`` console script.

Everything is imported inside :func:`main`, so Ctrl-C at any moment after Python starts ends with
one line and exit code 130, never a traceback from the middle of an import.
"""

import sys


def main() -> None:
    try:
        from adcli.cli import main as run_command_line

        run_command_line()
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write("error: interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
