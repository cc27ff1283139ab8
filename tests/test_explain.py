"""trace --explain and --dual (every update with its numbers), and the rules card (adcli rules).

References are worked out by hand next to each test. For f = x*exp(y) - sin(x) at (π/3, 0):
v1 = x, v2 = y, v3 = exp(v2) = 1, v4 = v1*v3 = π/3, v5 = sin(v1) = √3/2, v6 = v4 - v5. Reverse from
v̄6 = 1: v̄4 = 1, v̄5 = -1, then v1 receives v̄5·cos(π/3) = -0.5 and v̄4·v3 = 1, in that order (the
sweep runs v6, v5, v4), so v̄1 = 0.5; v̄3 = v̄4·v1 = π/3, v̄2 = v̄3·exp(0) = π/3.
"""

import json
import math
import re

import pytest

from adcli.primitives import operations

F = "x*exp(y)-sin(x)"
AT = "x=pi/3,y=0"


def _squeezed(text: str) -> str:
    """The text with each run of spaces before ``=`` made one (the derivations pad to align)."""
    return re.sub(r" +=", " =", text)


def test_explained_reverse_sweep_has_the_contributions_and_the_running_value(runner):
    result = runner.invoke(None, ["trace", F, "--at", AT, "--explain"])
    assert result.exit_code == 0, result.output
    text = _squeezed(result.stdout)
    assert "  v̄1 += v̄5 · cos(v1) = (-1)(0.5) = -0.5   → v̄1 = -0.5\n" in text
    assert "  v̄1 += v̄4 · v3 = (1)(1) = 1   → v̄1 = 0.5  (2 contributions)\n" in text
    assert text.index("v̄1 += v̄5") < text.index("v̄1 += v̄4")  # the order the sweep runs
    assert "  v̄5 -= v̄6 = (1)(1) = 1   → v̄5 = -1\n" in text


def test_explained_sweep_as_json_gives_each_update_as_data(runner):
    result = runner.invoke(None, ["trace", F, "--at", AT, "--explain", "--wrt", "x", "--json"])
    assert result.exit_code == 0, result.output
    explained = json.loads(result.stdout)["explained"]
    reverse = explained["reverse"]
    assert [(u["target"], u["source"]) for u in reverse] == [
        ("v4", "v6"), ("v5", "v6"), ("v1", "v5"), ("v1", "v4"), ("v3", "v4"), ("v2", "v3")]
    to_v1 = [u for u in reverse if u["target"] == "v1"]
    assert [u["statement"] for u in to_v1] == ["v̄1 += v̄5 · cos(v1)", "v̄1 += v̄4 · v3"]
    assert [u["partial"] for u in to_v1] == pytest.approx([0.5, 1.0], abs=1e-15)
    assert [u["contribution"] for u in to_v1] == pytest.approx([-0.5, 1.0], abs=1e-15)
    assert [u["running"] for u in to_v1] == pytest.approx([-0.5, 0.5], abs=1e-15)
    assert [u["count"] for u in to_v1] == [1, 2]
    assert reverse[-1]["running"] == pytest.approx(math.pi / 3, rel=1e-15)
    # forward along x: v̇3 = 0, v̇4 = 1·1 + 0·(π/3) = 1, v̇5 = cos(π/3) = 0.5, v̇6 = v̇4 - v̇5 = 0.5
    (column,) = explained["forward"]
    assert column["tangent"] == "x"
    v4 = column["updates"][1]
    assert v4["target"] == "v4" and v4["statement"] == "v̇4 = v̇1 · v3 + v̇3 · v1"
    assert v4["sources"] == ["v1", "v3"]
    assert v4["tangents"] == [1.0, 0.0]
    assert v4["partials"] == pytest.approx([1.0, math.pi / 3], rel=1e-15)
    assert v4["contributions"] == [1.0, 0.0] and v4["running"] == 1.0
    assert [u["running"] for u in column["updates"]] == pytest.approx([0.0, 1.0, 0.5, 0.5], abs=1e-15)


def test_explained_forward_sweep_in_the_terminal(runner):
    result = runner.invoke(None, ["trace", F, "--at", AT, "--explain", "--wrt", "x"])
    text = _squeezed(result.stdout)
    assert "forward sweep ∂/∂x, in the order it runs:\n" in text
    assert "  v̇4 = v̇1 · v3 + v̇3 · v1 = 1·1 + 0·1.0471976 = 1\n" in text
    assert "  v̇6 = v̇4 - v̇5 = 1·1 - 0.5·1 = 0.5\n" in text


def test_the_equals_signs_line_up(runner):
    lines = runner.invoke(None, ["trace", F, "--at", AT, "--explain"]).stdout.splitlines()
    updates = [line.replace("\u0304", "") for line in lines if line.startswith("  v")]
    assert len(updates) == 6
    assert len({line.index(" = ") for line in updates}) == 1


def test_a_node_used_twice_and_a_literal_argument(runner):
    # x*x at 3: v̄1 receives v̄2·v1 = 3 twice (6 in all); x^2 at 3: 2·3^1 = 6 from one update, and the
    # literal 2 gets none
    text = _squeezed(runner.invoke(None, ["trace", "x*x", "--at", "x=3", "--explain"]).stdout)
    assert "  v̄1 += v̄2 · v1 = (1)(3) = 3   → v̄1 = 3\n" in text
    assert "  v̄1 += v̄2 · v1 = (1)(3) = 3   → v̄1 = 6  (2 contributions)\n" in text
    result = runner.invoke(None, ["trace", "x^2", "--at", "x=3", "--explain", "--json"])
    (update,) = json.loads(result.stdout)["explained"]["reverse"]
    assert update["statement"] == "v̄1 += v̄2 · (2 * v1^(2 - 1))"
    assert (update["partial"], update["contribution"], update["running"]) == (6.0, 6.0, 6.0)


def test_dual_view_of_the_seed_example(runner):
    # (2 + 1ε)(3 + 0ε) = 6 + (1·3 + 2·0)ε = 6 + 3ε
    result = runner.invoke(None, ["trace", "x*y", "--at", "x=2,y=3", "--wrt", "x", "--dual", "--explain"])
    assert result.exit_code == 0, result.output
    assert re.search(r"│ v3 +│ v1 \* v2 +│ +6 │ +6 \+ 3ε │", result.stdout)
    assert "dual number ∂/∂x" in result.stdout
    assert "  v3 = v1 * v2 = (2 + 1ε) * (3 + 0ε) = 6 + (1·3 + 0·2)ε = 6 + 3ε\n" in result.stdout


def test_dual_without_wrt_seeds_each_input(runner):
    # along y: (2 + 0ε)(3 + 1ε) = 6 + 2ε
    result = runner.invoke(None, ["trace", "x*y", "--at", "x=2,y=3", "--dual"])
    assert result.exit_code == 0, result.output
    assert re.search(r"│ +6 \+ 3ε │ +6 \+ 2ε │", result.stdout)


def test_dual_with_a_negative_tangent(runner):
    # cos(0 + 1ε) = 1 - sin(0)ε: tangent -0, then sin: d cos(x)/dx at π/2 is -1: 6.1e-17 - 1ε
    result = runner.invoke(None, ["trace", "cos(x)", "--at", "x=pi/2", "--dual"])
    assert "6.123234e-17 - 1ε" in result.stdout


def test_long_traces_elide_the_explanation_like_the_table(runner):
    result = runner.invoke(None, ["trace", "samples/long_loop.py", "--at", "x=0.3", "--rows", "4", "--explain",
                                  "--wrt", "x"])
    assert result.exit_code == 0, result.output
    sections = result.stdout.split("sweep")[1:]
    assert len(sections) == 2  # reverse, forward
    for section in sections:
        updates = [line for line in section.splitlines() if line.startswith("  v")]
        assert len(updates) == 4
        assert re.search(r"… [\d,]+ updates not shown \(--rows all\) …", section)


def test_markdown_and_latex_write_an_aligned_derivation(runner):
    markdown = runner.invoke(None, ["trace", F, "--at", AT, "--explain", "--format", "markdown"]).stdout
    assert "    v̄1 += v̄5 · cos(v1) = (-1)(0.5) = -0.5   → v̄1 = -0.5\n" in markdown
    assert "    v̄4 += v̄6           = (1)(1) = 1   → v̄4 = 1\n" in markdown
    latex = runner.invoke(None, ["trace", F, "--at", AT, "--explain", "--wrt", "x", "--format", "latex"]).stdout
    assert ("\\bar{v}_1 \\mathrel{+}= \\bar{v}_4 \\cdot v_3 &= (1)(1) = 1 && \\to \\bar{v}_1 = 0.5"
            "\\ \\text{(2 contributions)} \\\\\n") in latex
    assert "\\dot{v}_5 = \\dot{v}_1 \\cdot \\cos(v_1) &= 1 \\cdot 0.5 = 0.5 \\\\\n" in latex
    assert latex.count("\\begin{align*}") == latex.count("\\end{align*}") == 2
    # the explained reverse sweep replaces the bare one (each update once, not twice)
    assert markdown.count("v̄1 += v̄5 · cos(v1)") == 1 and "reverse sweep, in the order it runs:" not in markdown
    assert latex.count("\\bar{v}_1 \\mathrel{+}= \\bar{v}_5 \\cdot \\cos(v_1)") == 1


def test_explain_is_the_same_table(runner):
    plain = json.loads(runner.invoke(None, ["trace", F, "--at", AT, "--wrt", "x,y", "--json"]).stdout)
    explained = json.loads(runner.invoke(None, ["trace", F, "--at", AT, "--wrt", "x,y", "--json", "--explain"]).stdout)
    assert explained.pop("explained")
    assert explained == plain


def test_a_long_explained_trace_writes_only_the_lines_it_shows(runner, monkeypatch):
    """x*x + x*x + … (1,000 terms): 1,999 operations, 2·1,000 + 2·999 = 3,998 reverse updates. With
    --rows 4 the terminal shows 4 lines of each sweep and writes no others (it wrote all, then elided)."""
    import adcli.explain

    written = []
    for name in ("reverse_line", "forward_line"):
        real = getattr(adcli.explain, name)
        monkeypatch.setattr(adcli.explain, name,
                            lambda *args, real=real, **kwargs: written.append(1) or real(*args, **kwargs))
    result = runner.invoke(None, ["trace", "+".join(["x*x"] * 1000), "--at", "x=3", "--explain", "--wrt", "x",
                                  "--rows", "4"])
    assert result.exit_code == 0, result.output
    assert "  … 3,994 updates not shown (--rows all) …\n" in result.stdout
    assert "  … 1,995 updates not shown (--rows all) …\n" in result.stdout
    assert len(written) == 8
    assert "→ v̄1 = 6000  (2000 contributions)" in result.stdout  # d/dx 1000·x² = 2000·3


# ---------------------------------------------------------------- adcli rules
def test_rules_of_one_primitive_as_json(runner):
    result = runner.invoke(None, ["rules", "sqrt", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"rules": [{
        "name": "sqrt", "call": "sqrt(x)", "partials": {"x": "0.5 / sqrt(x)"}, "domain": "x ≥ 0",
        "non_differentiable": {"x": "x = 0"}, "convention": "sqrt'(0) = inf", "discrete": False}]}


def test_rules_lists_every_primitive(runner):
    result = runner.invoke(None, ["rules", "--json"])
    rules = json.loads(result.stdout)["rules"]
    assert [r["name"] for r in rules] == [p.name for p in operations()]
    by_name = {r["name"]: r for r in rules}
    assert by_name["mul"]["partials"] == {"x": "y", "y": "x"}
    assert by_name["div"]["domain"] == "y ≠ 0"
    assert by_name["exp"]["partials"] == {"x": "exp(x)"} and by_name["exp"]["domain"] is None
    assert by_name["floor"]["discrete"] is True


def test_rules_in_the_terminal_markdown_and_latex(runner):
    table = runner.invoke(None, ["rules", "abs"]).stdout
    assert re.search(r"│ abs\(x\) +│ ∂/∂x: sign\(x\) +│ all reals +│ x = 0 +│ abs'\(0\) = 0 +│", table)
    markdown = runner.invoke(None, ["rules", "max", "--format", "markdown"]).stdout
    assert ("| max(x, y) | ∂/∂x: (sign(x - y) + 1) / 2; ∂/∂y: (sign(y - x) + 1) / 2 | all reals | x = y "
            "| 1/2 for each argument at a tie (the gradient is split evenly) |") in markdown
    latex = runner.invoke(None, ["rules", "sin", "--format", "latex"]).stdout
    assert "$\\sin(x)$ & $\\partial/\\partial x = \\cos(x)$ & all reals & none & --- \\\\" in latex


def test_rules_of_an_alias_is_the_card_of_its_primitive(runner):
    """ln(x) is accepted in formulas as log(x): its card is log's, d/dx ln x = 1/x for x > 0."""
    result = runner.invoke(None, ["rules", "ln", "--json"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"rules": [{
        "name": "log", "call": "log(x)", "partials": {"x": "1 / x"}, "domain": "x > 0",
        "non_differentiable": {}, "convention": None, "discrete": False}]}


def test_rules_of_an_unknown_name(runner):
    result = runner.invoke(None, ["rules", "sinn"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "error: no primitive named 'sinn'; did you mean 'sin'? (adcli rules lists them all)\n"


POINTS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.parametrize("primitive", [p for p in operations() if p.domain or p.kinks], ids=lambda p: p.name)
def test_the_card_says_what_the_registry_checks(primitive):
    """The printed domain and kink conditions agree with the predicates the evaluator and sweeps use."""
    args = [(x,) for x in POINTS] if primitive.arity == 1 else [(x, y) for x in POINTS for y in POINTS]
    for point in args:
        names = {"x": point[0], "y": point[-1], "floor": math.floor}
        if primitive.domain is not None:
            assert eval(primitive.domain_text, {}, names) == primitive.domain(*point), point  # noqa: S307
        assert len(primitive.kink_text) == len(primitive.kinks)
        for text, kink in zip(primitive.kink_text, primitive.kinks):
            assert eval(text, {}, names) == bool(kink(*point)), point  # noqa: S307


def test_a_subtracted_partial_shows_its_sign_taken_out(runner):
    # cos'(x) = -sin(x); at x = -1: -sin(-1) = sin(1) = 0.84147098 (8 digits), printed as -= v̄2 · sin(v1)
    text = _squeezed(runner.invoke(None, ["trace", "cos(x)", "--at", "x=-1", "--wrt", "x", "--explain"]).stdout)
    assert "  v̄1 -= v̄2 · sin(v1) = (1)(-0.84147098) = -0.84147098   → v̄1 = 0.84147098\n" in text
    assert "  v̇2 = -v̇1 · sin(v1) = -1·(-0.84147098) = 0.84147098\n" in text


@pytest.mark.parametrize("output_format, rows", [
    ("markdown", ["| v1 | x | 2 | 2 + 1ε | -3 |", "| v2 | y | -3 | -3 + 0ε | 2 |", "| v3 | v1 \\* v2 | -6 | -6 - 3ε | 1 |"]),
    ("latex", ["$v_1$ & $x$ & $2$ & $2 + 1\\varepsilon$ & $-3$ \\\\",
               "$v_3$ & $v_1 \\cdot v_2$ & $-6$ & $-6 - 3\\varepsilon$ & $1$ \\\\"]),
    ("csv", ["node,operation,value,dual number x,adjoint", "v3,v1 * v2,-6.0,-6.0 - 3.0ε,1.0"]),
])
def test_dual_numbers_reach_every_table_format(runner, output_format, rows):
    """x*y at (2, -3) seeded on x, by hand: v3 = (2 + 1ε)(-3 + 0ε) = -6 + (1·(-3) + 0·2)ε = -6 - 3ε."""
    result = runner.invoke(None, ["trace", "x*y", "--at", "x=2,y=-3", "--wrt", "x", "--dual", "--format", output_format])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for row in rows:
        assert row in lines


def test_a_partial_at_a_kink_is_named_not_written_as_its_formula(runner):
    """Under JAX's convention abs'(0) = 1, though sign(0) = 0: the update names abs' and shows the 1
    used (JAX's documented choice, measured in benchmarks/conventions.py)."""
    result = runner.invoke(None, ["trace", "abs(x)", "--at", "x=0", "--explain", "--convention", "jax"])
    assert result.exit_code == 0, result.output
    assert "  v̄1 += v̄2 · abs'(v1) = (1)(1) = 1   → v̄1 = 1\n" in result.stdout
    # away from the kink the formula is printed: sign(v1) at x = 2 is 1
    result = runner.invoke(None, ["trace", "abs(x)", "--at", "x=2", "--explain", "--convention", "jax"])
    assert "  v̄1 += v̄2 · sign(v1) = (1)(1) = 1   → v̄1 = 1\n" in result.stdout
