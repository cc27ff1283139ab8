"""Builds the optional C hot path of the tracer (adcli/_tape.c).

Everything else is configured in pyproject.toml. Without a C compiler the build skips the extension
(``optional=True``) and adcli runs its pure-Python tracer, which gives the same traces more slowly.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("adcli._tape", ["adcli/_tape.c"], optional=True)])
