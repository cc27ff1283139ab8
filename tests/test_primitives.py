"""Every entry of the primitive registry, checked independently.

The tests are parametrized over ``PRIMITIVES[2:]``, so a new primitive is covered as soon as it is
registered: its ``partials`` rule against a central finite difference of its ``evaluate`` rule, its
printed ``partial_text`` against the rule, and its SymPy counterpart against ``evaluate``. Then the
domain errors and the conventions at non-differentiable points.
"""

from __future__ import annotations

import itertools
import math

import pytest
import sympy

import adcli
from adcli import scalar as m
from adcli.errors import EvaluationError
from adcli.evaluate import evaluate
from adcli.parser import parse
from adcli.primitives import PRIMITIVES

REGISTRY = PRIMITIVES[2:]
IDS = [p.name for p in REGISTRY]
H = 1e-6

# Candidate points: none near an integer (floor jumps there), 0 (abs, relu, sign kinks), ±1 (asin) or
# a pole of tan, and pairs are far apart (max/min ties).
UNARY = [-2.3, -1.15, -0.55, -0.2, 0.3, 0.7, 0.95, 1.35, 2.4, 3.7, 5.2]
BINARY_VALUES = [-1.7, -0.6, 0.45, 1.3, 2.2]
BINARY = [(a, b) for a, b in itertools.product(BINARY_VALUES, repeat=2) if a != b]


def _evaluate(primitive, args):
    """The primitive's value, or None where it is undefined (domain or math error)."""
    if primitive.domain is not None and not primitive.domain(*args):
        return None
    try:
        value = primitive.evaluate(m, *args)
    except (ArithmeticError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _at_kink(primitive, args):
    return any(kink is not None and kink(*args) for kink in primitive.kinks)


def _stencil(args):
    """The point and the points of the central difference around it."""
    yield args
    for i in range(len(args)):
        for sign in (1, -1):
            moved = list(args)
            moved[i] += sign * H
            yield tuple(moved)


def smooth_points(primitive):
    """Candidate points where the primitive and its central difference stencil are defined and smooth."""
    candidates = [(x,) for x in UNARY] if primitive.arity == 1 else BINARY
    return [args for args in candidates
            if all(_evaluate(primitive, p) is not None and not _at_kink(primitive, p) for p in _stencil(args))]


def _partials(primitive, args):
    out = primitive.evaluate(m, *args)
    return out, primitive.partials(m, *args, out)


@pytest.mark.parametrize("primitive", REGISTRY, ids=IDS)
def test_enough_smooth_points(primitive):
    """Each primitive is checked at several points (a new primitive whose domain excludes them all fails here)."""
    assert len(smooth_points(primitive)) >= 4


@pytest.mark.parametrize("primitive", REGISTRY, ids=IDS)
def test_partials_match_central_difference(primitive):
    """partials(x) == (f(x+h) - f(x-h)) / 2h, argument by argument, at every smooth point."""
    for args in smooth_points(primitive):
        out, partials = _partials(primitive, args)
        assert len(partials) == primitive.arity
        for i in range(primitive.arity):
            up, down = list(args), list(args)
            up[i] += H
            down[i] -= H
            difference = (primitive.evaluate(m, *up) - primitive.evaluate(m, *down)) / (2 * H)
            # truncation ~ h^2 f'''/6, round-off ~ eps |f| / h
            tolerance = 1e-6 * max(1.0, abs(difference)) + 1e-9 * max(1.0, abs(out))
            assert abs(partials[i] - difference) <= tolerance, (primitive.name, args, i, partials[i], difference)


def _template_cases():
    for primitive in REGISTRY:
        for i, template in enumerate(primitive.partial_text):
            yield pytest.param(primitive, i, template, id=f"{primitive.name}-{i}",
                               marks=pytest.mark.skip("Iverson bracket") if "[" in template else ())


@pytest.mark.parametrize(("primitive", "index", "template"), list(_template_cases()))
def test_partial_text_agrees_with_rule(primitive, index, template):
    """The printed partial (``cos({x})``), with numbers filled in, parses and evaluates to the rule's value."""
    for args in smooth_points(primitive):
        out, partials = _partials(primitive, args)
        fields = {"x": f"({args[0]!r})", "y": f"({args[-1]!r})", "out": f"({out!r})"}
        trace = parse(template.format(**fields))
        assert trace.input_names == []
        printed = evaluate(trace, [])[trace.outputs[0]]
        assert printed == pytest.approx(partials[index], rel=1e-12, abs=1e-300), (template, args)


@pytest.mark.parametrize("primitive", REGISTRY, ids=IDS)
def test_sympy_counterpart_value(primitive):
    """The SymPy counterpart, evaluated at 30 digits at the point, equals ``evaluate``."""
    symbols = sympy.symbols("a b", real=True)[: primitive.arity]
    expression = primitive.sympy(sympy, *symbols)
    for args in smooth_points(primitive):
        reference = expression.evalf(30, subs={s: sympy.Float(v, 30) for s, v in zip(symbols, args)})
        assert primitive.evaluate(m, *args) == pytest.approx(float(reference), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("primitive", REGISTRY, ids=IDS)
def test_partials_match_sympy_derivative(primitive):
    """The partials rule equals SymPy's derivative of the SymPy counterpart (a second, exact reference)."""
    symbols = sympy.symbols("a b", real=True)[: primitive.arity]
    expression = primitive.sympy(sympy, *symbols)
    derivatives = [sympy.diff(expression, s) for s in symbols]
    if any(d.has(sympy.Derivative) for d in derivatives):
        pytest.skip(f"SymPy leaves d/dx {expression} unevaluated (the finite-difference test covers it)")
    for args in smooth_points(primitive):
        subs = {s: sympy.Float(v, 30) for s, v in zip(symbols, args)}
        _, partials = _partials(primitive, args)
        for partial, derivative in zip(partials, derivatives):
            assert partial == pytest.approx(float(derivative.evalf(30, subs=subs)), rel=1e-13, abs=1e-300)


# ---------------------------------------------------------------- domain errors

@pytest.mark.parametrize(
    ("source", "at", "message"),
    [
        ("log(x-2)", {"x": 1}, "v3 = log(v2): log is undefined at -1"),
        ("log(x)", {"x": -1}, "v2 = log(v1): log is undefined at -1"),
        ("log(x)", {"x": 0}, "v2 = log(v1): log is undefined at 0"),
        ("sqrt(x)", {"x": -1}, "v2 = sqrt(v1): sqrt is undefined at -1"),
        ("1/x", {"x": 0}, "v2 = 1 / v1: division by zero (v1 = 0)"),
        ("x/(y-1)", {"x": 1, "y": 1}, "v4 = v1 / v3: division by zero (v3 = 0)"),
        ("asin(x)", {"x": 2}, "v2 = asin(v1): asin is undefined at 2 (outside [-1, 1])"),
        ("acos(x)", {"x": -2}, "v2 = acos(v1): acos is undefined at -2 (outside [-1, 1])"),
        ("exp(x)", {"x": 1000}, "v2 = exp(v1): overflow, exp(1000) is too large for a float"),
        ("sinh(x)", {"x": 1000}, "v2 = sinh(v1): overflow, sinh(1000) is too large for a float"),
        ("x^y", {"x": 10, "y": 400}, "v3 = v1 ^ v2: overflow, 10 ^ 400 is too large for a float"),
        ("x^y", {"x": -8, "y": 0.5}, "v3 = v1 ^ v2: pow is undefined at base -8, exponent 0.5"),
        ("x^-1", {"x": 0}, "v3 = v1 ^ v2: pow is undefined at base 0, exponent -1"),
    ],
)
def test_domain_errors_name_the_node(source, at, message):
    """An undefined operation raises EvaluationError (exit code 1) naming the node and the argument."""
    with pytest.raises(EvaluationError) as caught:
        adcli.evaluate_at(parse(source), at)
    assert str(caught.value) == message
    assert caught.value.exit_code == 1


def test_division_by_a_literal_zero_reads_well():
    """1/0 names the node; it must not print a confusing '(0 = 0)' for the literal divisor."""
    with pytest.raises(EvaluationError) as caught:
        adcli.evaluate_at(parse("1/0 + x"), {"x": 1})
    message = str(caught.value)
    assert message.startswith("v2 = 1 / 0: division by zero")
    assert "(0 = 0)" not in message


def test_overflow_of_an_operator_is_written_in_the_expression_language():
    """x*y overflowing names the node; the operation is shown as the user wrote it, not as 'mul(…)'."""
    with pytest.raises(EvaluationError) as caught:
        adcli.evaluate_at(parse("x*y"), {"x": 1e200, "y": 1e200})
    message = str(caught.value)
    assert message.startswith("v3 = v1 * v2: overflow")
    assert "mul(" not in message


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_derivative_overflow_is_an_evaluation_error(mode):
    """1/x at 1e-200 has the value 1e200 but the derivative -1e400 overflows: exit code 1 naming the node,
    not a silent -inf (the design file: 'cannot be … differentiated at that point (… overflow)')."""
    with pytest.raises(EvaluationError) as caught:
        adcli.gradient(parse("1/x"), {"x": 1e-200}, mode=mode)
    # The literal numerator is not a node: the message names only v1 (no "at 1 = 1, v1 = …").
    assert str(caught.value) == "v2 = 1 / v1: overflow, its derivative at v1 = 1e-200 is too large for a float"


# ---------------------------------------------------------------- conventions at non-differentiable points

@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    ("source", "at", "gradient", "warning"),
    [
        ("abs(x)", {"x": 0}, {"x": 0.0},
         "v2 = abs(v1): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1)"),
        ("relu(x)", {"x": 0}, {"x": 0.0},
         "v2 = relu(v1): relu is not differentiable at 0: left 0, right 1, ∂ = [0, 1]; used 0, as PyTorch and JAX (autograd: 0.5)"),
        ("3*abs(x-1)", {"x": 1}, {"x": 0.0},
         "v3 = abs(v2): abs is not differentiable at 0: left -1, right 1, ∂ = [-1, 1]; used 0, as PyTorch and autograd (JAX: 1)"),
        ("max(x, y)", {"x": 1, "y": 1}, {"x": 0.5, "y": 0.5},
         "v3 = max(v1, v2): max is not differentiable at 1, 1: ∂/∂v1: left 0, right 1, ∂ = [0, 1]; "
         "∂/∂v2: left 0, right 1, ∂ = [0, 1]; used 0.5, 0.5, as PyTorch, JAX and autograd"),
        ("min(x, y)", {"x": -2, "y": -2}, {"x": 0.5, "y": 0.5},
         "v3 = min(v1, v2): min is not differentiable at -2, -2: ∂/∂v1: left 1, right 0, ∂ = [0, 1]; "
         "∂/∂v2: left 1, right 0, ∂ = [0, 1]; used 0.5, 0.5, as PyTorch, JAX and autograd"),
        ("sqrt(x)", {"x": 0}, {"x": math.inf},
         "v2 = sqrt(v1): sqrt is not differentiable at 0: left undefined, right inf; used inf, as PyTorch, JAX and autograd"),
        ("floor(x)", {"x": 2}, {"x": 0.0},
         "v2 = floor(v1): floor is not differentiable at 2: left inf, right 0; used 0, as PyTorch, JAX and autograd"),
        ("sign(x)", {"x": 0}, {"x": 0.0},
         "v2 = sign(v1): sign is not differentiable at 0: left inf, right inf; used 0, as PyTorch, JAX and autograd"),
    ],
)
def test_convention_at_non_differentiable_point(source, at, gradient, warning, mode):
    """A kink gives a result, the documented convention, and a warning naming the node."""
    result = adcli.gradient(parse(source), at, mode=mode)
    assert result.gradients[0] == gradient
    assert result.evaluated.warnings == [warning]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_max_of_a_value_with_itself(mode):
    """max(x, x) = x: the two halves of the tie add up to the true derivative 1."""
    assert adcli.gradient(parse("max(x, x)"), {"x": 2.0}, mode=mode).gradients[0] == {"x": 1.0}


def test_no_warning_for_a_kink_of_a_constant():
    """abs(0) does not depend on an input, so its convention never enters a derivative: no warning."""
    result = adcli.gradient(parse("abs(0) + x"), {"x": 1.0})
    assert result.gradients[0] == {"x": 1.0}
    assert result.evaluated.warnings == []


def test_no_warning_away_from_kinks():
    """abs, relu, max at ordinary points: exact derivatives, no warnings."""
    # d/dx [abs(x) + relu(x) + max(x, y)] at x=-2, y=1 is -1 + 0 + 0; d/dy is 1
    result = adcli.gradient(parse("abs(x) + relu(x) + max(x, y)"), {"x": -2.0, "y": 1.0})
    assert result.gradients[0] == {"x": -1.0, "y": 1.0}
    assert result.evaluated.warnings == []


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_overflowing_power_partial_is_an_evaluation_error(mode):
    """x^-1 at 1e-200 is 1e200, but its partial -1 * x^-2 = -1e400 overflows: an EvaluationError
    naming the node, never a raw OverflowError (which the CLI would print as a traceback)."""
    with pytest.raises(EvaluationError) as caught:
        adcli.gradient(parse("x^-1"), {"x": 1e-200}, mode=mode)
    assert str(caught.value) == (
        "v3 = v1 ^ v2: overflow, its derivative at v1 = 1e-200, v2 = -1 is too large for a float")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_overflowing_log_partial_is_an_evaluation_error(mode):
    """log(x) at the smallest subnormal is -744.44, but 1/x overflows."""
    with pytest.raises(EvaluationError) as caught:
        adcli.gradient(parse("log(x)"), {"x": 5e-324}, mode=mode)
    assert str(caught.value) == "v2 = log(v1): overflow, its derivative at v1 = 5e-324 is too large for a float"


def test_primitive_of_an_opcode_and_the_operations_after_the_leaves() -> None:
    from adcli.primitives import BY_NAME, CONST, INPUT, operations, primitive_of

    assert primitive_of(BY_NAME["sin"].opcode) is BY_NAME["sin"]
    assert [p.name for p in operations()] == list(BY_NAME)  # every primitive, in opcode order
    assert [p.opcode for p in operations()] == list(range(2, 2 + len(BY_NAME)))
    for leaf in (INPUT, CONST):
        with pytest.raises(ValueError, match=f"^opcode {leaf} is a leaf"):
            primitive_of(leaf)
