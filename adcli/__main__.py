"""``python -m adcli`` and the ``adcli`` console script.

Ctrl-C at any moment after Python starts ends with one line and exit code 130, never a traceback:
while the command line's modules load, an interrupt stops the process at once (an import cut in
the middle can leave Python's import machinery raising other errors); once they have loaded, it
is an ordinary KeyboardInterrupt, which the command line turns into the same line. Once the command
has ended and its output is flushed, Ctrl-C is ignored while Python shuts down.
"""

import sys


def _interrupted_while_loading(signum, frame) -> None:
    import os

    if sys.stderr is not None:
        sys.stderr.write("error: interrupted\n")
        sys.stderr.flush()
    os._exit(130)


def _flush_then_ignore_interrupts() -> None:
    """The command has ended (its errors said): write out what is buffered, then let Ctrl-C no longer
    stop the process, so that an interrupt while Python shuts down can neither lose the output nor
    end the process without a word."""
    import signal

    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed or full: the command line has said so already
            pass
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def main() -> None:
    try:
        import signal

        previous = signal.getsignal(signal.SIGINT)
        if previous is not signal.SIG_IGN:  # (a shell's background job ignores Ctrl-C; so do we)
            signal.signal(signal.SIGINT, _interrupted_while_loading)
        try:
            from adcli.cli import main as run_command_line
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            run_command_line()
        finally:
            _flush_then_ignore_interrupts()
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write("error: interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
