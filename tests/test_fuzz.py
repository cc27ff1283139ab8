"""Random input never crashes adcli: every failure is an AdcliError with a message, and generated
code agrees with the sweeps. (Both properties found real bugs when first run.)"""

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adcli
from adcli.cli_arguments import parse_assignments
from adcli.codegen import generate
from adcli.errors import AdcliError, EvaluationError
from adcli.hessian import hessian

PIECES = list("xy+-*/^(),.0123456789e ") + ["sin", "log", "max", "pi", "**", "sqrt", "abs", "[", "]", "'",
                                             "=", "floor", "sigmoid", "pow", "tanh", "\u0661", "\u00a0", "\u2028"]
SMOOTH = list("xy+-*/()0123456789 ") + ["sin", "exp", "tanh", "atan", "cos", "sigmoid", "pi", "sqrt", "log"]


def _text(pieces):
    return st.lists(st.sampled_from(pieces), min_size=0, max_size=14).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text(PIECES), st.floats(-3, 3), st.floats(-3, 3))
def test_any_text_either_differentiates_or_raises_an_adcli_error(source, x, y):
    try:
        trace = adcli.parse(source)
        point = dict(zip(trace.input_names, (x, y, 1.0, 2.0)))
        if len(point) == len(trace.input_names):
            adcli.gradient(trace, point)
            adcli.gradient(trace, point, mode="forward")
            if len(trace.outputs) == 1:
                hessian(trace, point)
    except AdcliError as error:
        _assert_one_error_message(error)


def _assert_one_error_message(error: AdcliError) -> None:
    """What the CLI prints after ``error: ``: a first line with words, and an exit code of the contract."""
    first_line = str(error).split("\n", 1)[0]
    assert first_line.strip() == first_line and any(c.isalpha() for c in first_line), repr(str(error))
    assert error.exit_code == (1 if isinstance(error, EvaluationError) else 2), (type(error), str(error))


@settings(max_examples=300, deadline=None)
@given(_text(list("xyw=,[]:0123456789.pie-+/ ²١\u00a0")))
def test_any_at_option_parses_or_raises_an_adcli_error(text):
    try:
        parse_assignments([text])
    except AdcliError as error:
        _assert_one_error_message(error)
        assert error.exit_code == 2  # --at is input: never "cannot evaluate"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_text(SMOOTH), st.floats(0.2, 2.0), st.floats(0.2, 2.0))
def test_generated_code_gives_the_gradient_of_the_sweeps(source, x, y):
    try:
        trace = adcli.parse(source)
        assume(len(trace.outputs) == 1 and 1 <= len(trace.inputs) <= 2)
        point = dict(zip(trace.input_names, (x, y)))
        reference = adcli.gradient(trace, point)
    except AdcliError:
        assume(False)
    for mode in ("reverse", "forward"):
        namespace: dict = {}
        exec(generate(trace, mode), namespace)  # noqa: S102 - the code under test
        value, gradient = namespace["f_grad"](*point.values())
        assert math.isclose(value, reference.evaluated.output_values[0], rel_tol=1e-12, abs_tol=1e-12)
        for got, name in zip(gradient, trace.input_names):
            assert math.isclose(got, reference.gradients[0][name], rel_tol=1e-9, abs_tol=1e-9)
