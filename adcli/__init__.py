"""adcli: automatic differentiation you can read.

An expression is parsed into a trace (a Wengert list); forward mode propagates tangents along it
and reverse mode propagates adjoints back. The library works without the CLI::

    >>> import adcli
    >>> trace = adcli.parse("x*exp(y) - sin(x)")
    >>> result = adcli.gradient(trace, {"x": 1.0, "y": 0.0})
    >>> round(result.gradients[0]["y"], 12)
    1.0
"""

from adcli.analysis import Evaluated, Gradient, SweepTable, evaluate_at, gradient, sweep_table
from adcli.errors import AdcliError, EvaluationError, InputError
from adcli.parser import parse
from adcli.trace import Trace

__all__ = ["AdcliError", "EvaluationError", "Evaluated", "Gradient", "InputError", "SweepTable", "Trace",
           "evaluate_at", "gradient", "parse", "sweep_table"]
__version__ = "0.1.0"
