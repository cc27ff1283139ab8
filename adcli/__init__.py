"""adcli: automatic differentiation you can read.

An expression is parsed into a trace (a Wengert list); forward mode propagates tangents along it
and reverse mode propagates adjoints back. The library works without the CLI::

    >>> import adcli
    >>> trace = adcli.parse("x*exp(y) - sin(x)")
    >>> result = adcli.gradient(trace, {"x": 1.0, "y": 0.0})
    >>> round(result.gradients[0]["y"], 12)
    1.0

The names below are imported when first used, so ``import adcli`` (and the start of the command
line, which can then catch Ctrl-C from its first moment) costs almost nothing.
"""

from __future__ import annotations

import sys  # (built in: importing it costs nothing)
import types  # (imported by Python's own start-up)

TYPE_CHECKING = False  # (not typing's: this module imports nothing, so Ctrl-C finds adcli's handler sooner)

__version__ = "0.1.0"

_HOMES = {
    "Evaluated": "adcli.analysis", "Gradient": "adcli.analysis", "SweepTable": "adcli.analysis",
    "evaluate_at": "adcli.analysis", "gradient": "adcli.analysis", "sweep_table": "adcli.analysis",
    "AdcliError": "adcli.errors", "EvaluationError": "adcli.errors", "InputError": "adcli.errors",
    "Retrace": "adcli.errors",
    "parse": "adcli.parser", "smooth": "adcli.smoothing", "Trace": "adcli.trace",
    "grad": "adcli.api", "value_and_grad": "adcli.api", "Value": "adcli.api", "Gradients": "adcli.api",
    "compile": "adcli.api",
    "hessian_vector_product": "adcli.hessian", "taylor_coefficients": "adcli.taylor",
}
__all__ = ["AdcliError", "EvaluationError", "Evaluated", "Gradient", "Gradients", "InputError", "Retrace",
           "SweepTable", "Trace", "Value", "compile", "evaluate_at", "grad", "gradient", "hessian_vector_product",
           "parse", "smooth", "sweep_table", "taylor_coefficients",
           "value_and_grad"]  # the keys of _HOMES (a test checks)
#: The API functions that share their name with a module (``adcli.trace(f, x=1.0)``, ``adcli.jacobian(f)``):
#: the name is the module, which, called, is the function of :mod:`adcli.api`.
_CALLABLE_MODULES = ("trace", "jacobian", "hessian", "graph")

if TYPE_CHECKING:
    from adcli.analysis import Evaluated, Gradient, SweepTable, evaluate_at, gradient, sweep_table
    from adcli.api import Gradients, Value, compile, grad, value_and_grad
    from adcli.errors import AdcliError, EvaluationError, InputError, Retrace
    from adcli.hessian import hessian_vector_product
    from adcli.parser import parse
    from adcli.smoothing import smooth
    from adcli.taylor import taylor_coefficients
    from adcli.trace import Trace


class CallableModule(types.ModuleType):
    """A module of adcli that, called, runs the API function of its name (``adcli.jacobian(f)``)."""

    def __call__(self, *args, **kwargs):
        from adcli import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


def callable_module(name: str) -> None:
    """Make the module ``name`` (one of ``_CALLABLE_MODULES``) callable as its API function."""
    sys.modules[name].__class__ = CallableModule


def __getattr__(name: str):
    if name in _CALLABLE_MODULES:
        import importlib

        return importlib.import_module(f"adcli.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'adcli' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES, *_CALLABLE_MODULES})
