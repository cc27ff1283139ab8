"""Builds the optional C hot path of the tracer (adcli/_tape.c).

Everything else is configured in pyproject.toml. Without a C compiler the build skips the extension
(``optional=True``) and adcli runs its pure-Python tracer, which gives the same traces more slowly.
"""

import sys

from setuptools import Extension, setup

# GCC and Clang: no fused multiply-add contracted from a*b + c (the batch loop must round as Python's
# floats do, even under CFLAGS=-march=native), and no assumption that a comparison may trap, which
# lets the compiler turn the batch loop's selects (adjoint + g*partial where neither is zero) into
# vector instructions. Neither changes a result.
FLAGS = [] if sys.platform == "win32" else ["-ffp-contract=off", "-fno-trapping-math"]

setup(ext_modules=[Extension("adcli._tape", ["adcli/_tape.c"], optional=True, extra_compile_args=FLAGS)])
