"""--format latex is a fragment a paper can \\input: it compiles with pdflatex in a document that
loads booktabs and amsmath, for every command that offers it, and it is typeset (no raw Unicode,
``\\bar{v}_1``, ``\\partial f/\\partial x``, ``\\times 10^{-9}``, 8 significant digits).

The compile tests need pdflatex (Debian's texlive-latex-base and texlive-latex-recommended, which
.ci/run installs); without it they are skipped. The expected strings below are written by hand.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import mpmath
import pytest
import typer.main

from adcli.cli import app
from adcli.output.tabular import latex_formula, latex_name, latex_number, latex_text

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NEURON = str(SAMPLES / "sigmoid_neuron.py")
PDFLATEX = shutil.which("pdflatex")
DOCUMENT = ("\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{amsmath}\n\\begin{document}\n"
            "\\input{result}\n\\end{document}\n")

# Every command that offers --format latex, with inputs that stress the typesetting: names with
# underscores and brackets, exponents, several outputs, tangent columns, ≤ bounds, the step sweep.
COMMANDS = {
    "grad": ["grad", "x_1^2*exp(y) - sin(x_1), tanh(x_1+y)", "--at", "x_1=pi/3,y=0"],
    "trace": ["trace", "x_1^2*sqrt(y) + abs(x_1)^(y-1) - floor(y)/max(x_1,y) + 1e-3*atan(y)", "--at",
              "x_1=0.5,y=2", "--wrt", "x_1,y"],
    "jacobian": ["jacobian", "exp(-a*b*c)*1e-3, a*b*c*d*1e5, tanh(a+b+c+d)", "--at", "a=1.1,b=2.2,c=3.3,d=4.4"],
    "hessian": ["hessian", "x_1^2*y + sin(y)", "--at", "x_1=2,y=3"],
    "hvp": ["hvp", "x_1^2*y + sin(y)", "--at", "x_1=2,y=3", "--direction", "x_1=1,y=-1"],
    "taylor": ["taylor", "exp(sin(x_1))", "--at", "x_1=0.5", "--order", "3", "--check", "sympy"],
    "compare": ["compare", "x*exp(y)-sin(x)", "--at", "x=1,y=0", "--steps", "1e-2,1e-8"],
    "checkpoint": ["checkpoint", "sin(x)^2", "--at", "x=1", "--strategies", "all,every=2,binomial=2"],
    "rules": ["rules"],
}
MORE = {
    "trace of a function file": ["trace", NEURON, "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]", "--wrt", "w[0],x[1]"],
    "grad of a function file": ["grad", NEURON, "--at", "w=[2,-3,-3]", "--at", "x=[-1,-2]"],
    "explained trace": ["trace", "x_1^2*sqrt(y) + abs(x_1)^(y-1) - max(x_1,y)", "--at", "x_1=0.5,y=2",
                        "--wrt", "x_1", "--direction", "x_1=1,y=-2", "--explain"],
    "explained dual trace": ["trace", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "--dual", "--explain"],
}


def latex_of(runner, args: list[str]) -> str:
    result = runner.invoke(app, [*args, "--format", "latex"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_command_with_latex_is_compiled():
    commands = typer.main.get_command(app).commands
    offering = {name for name, command in commands.items() for param in command.params
                if "--format" in param.opts and "latex" in getattr(param.type, "choices", ())}
    assert offering == set(COMMANDS)


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (.ci/run installs it)")
@pytest.mark.parametrize("case", [*COMMANDS, *MORE])
def test_latex_compiles_with_pdflatex(runner, tmp_path, case):
    text = latex_of(runner, {**COMMANDS, **MORE}[case])
    assert text.isascii(), [char for char in text if not char.isascii()]
    (tmp_path / "result.tex").write_text(text)
    (tmp_path / "paper.tex").write_text(DOCUMENT)
    done = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert (tmp_path / "paper.pdf").stat().st_size > 0
    assert "Missing character" not in log


# ---------------------------------------------------------------- what the LaTeX says

def test_grad_partials_point_and_digits(runner):
    """x_1^2 at x_1 = 3: f = 9, df/dx_1 = 2 x_1 = 6; the caption names the point."""
    text = latex_of(runner, ["grad", "x_1^2", "--at", "x_1=3"])
    assert "\\caption{Value and gradient of \\texttt{x\\_1\\textasciicircum{}2} at $x_1 = 3$ (reverse mode)}" in text
    assert "value & $9$ \\\\\n$\\partial f/\\partial x_1$ & $6$ \\\\\n" in text
    assert "d/dx" not in text
    assert "\\begin{tabular}{lr}\n\\toprule\n & $f$ \\\\\n\\midrule\n" in text


def test_jacobian_exponents_and_right_alignment(runner):
    """d tanh(s)/da = sech(s)^2 at s = a+b+c+d = 11: 1.1157872e-09 to 8 digits (mpmath)."""
    expected = mpmath.nstr(mpmath.sech(mpmath.mpf(11)) ** 2, 8, min_fixed=0, max_fixed=0)
    assert expected == "1.1157872e-9"
    text = latex_of(runner, COMMANDS["jacobian"])
    assert "\\begin{tabular}{lrrrrr}" in text
    assert "\\texttt{tanh(a+b+c+d)} & $1$ & " + " & ".join(["$1.1157872 \\times 10^{-9}$"] * 4) + " \\\\" in text
    assert "output & value & $\\partial/\\partial a$ & $\\partial/\\partial b$" in text


def test_digits_option_changes_latex_digits(runner):
    """--digits 3: sech(11)^2 = 1.1157872…e-9 -> 1.12e-9."""
    result = runner.invoke(app, [*COMMANDS["jacobian"], "--format", "latex", "--digits", "3"])
    assert "$1.12 \\times 10^{-9}$" in result.stdout


def test_checkpoint_bounds_are_typeset(runner):
    text = latex_of(runner, COMMANDS["checkpoint"])
    assert "every=2 & $2$ & \\ensuremath{\\le} 2 & $2$ & $2$" in text
    assert "$\\partial f/\\partial x$" in text


# ---------------------------------------------------------------- the formatting functions

@pytest.mark.parametrize(("value", "digits", "expected"), [
    (1.115787240379973e-09, 8, "1.1157872 \\times 10^{-9}"),
    (-4.67e-16, 8, "-4.67 \\times 10^{-16}"),
    (1e20, 8, "1 \\times 10^{20}"),
    (123456789.0, 8, "1.2345679 \\times 10^{8}"),
    (-0.5, 8, "-0.5"),
    (2.0, 8, "2"),
    (3513840.0000000005, 8, "3513840"),
    (1.0471975511965976, 3, "1.05"),
    (float("inf"), 8, "\\infty"),
    (float("-inf"), 8, "-\\infty"),
    (float("nan"), 8, "\\mathrm{NaN}"),
    (52, 8, "52"),
    (-3, 8, "-3"),
])
def test_latex_number(value, digits, expected):
    assert latex_number(value, digits) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("a_b & 50% #1 {c} $", "a\\_b \\& 50\\% \\#1 \\{c\\} \\$"),
    ("x^2 ~ \\", "x\\textasciicircum{}2 \\textasciitilde{} \\textbackslash{}"),
    ("a < b | c > d", "a \\textless{} b \\textbar{} c \\textgreater{} d"),
    ("≤ 1,000", "\\ensuremath{\\le} 1,000"),
    ("v̄1 · cos(v1)", "\\={v}1 \\ensuremath{\\cdot} cos(v1)"),
    ("O(h²)", "O(h\\textsuperscript{2})"),
    ("α and Ω", "\\ensuremath{\\alpha} and \\ensuremath{\\Omega}"),
    ("café", "caf\\'{e}"),
    ("two\nlines", "two lines"),
    ("⊕", "?"),
])
def test_latex_text(text, expected):
    assert latex_text(text) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("x", "x"),
    ("x_1", "x_1"),
    ("v12", "v_{12}"),
    ("w[0]", "w[0]"),
    ("x_12[3]", "x_{12}[3]"),
    ("x_max", "x_{\\mathrm{max}}"),
    ("rate", "\\mathit{rate}"),
    ("learning_rate_2", "\\mathit{learning\\_rate\\_2}"),
    ("α", "\\alpha"),
])
def test_latex_name(name, expected):
    assert latex_name(name) == expected


@pytest.mark.parametrize(("formula", "expected"), [
    ("v1 * v3", "v_1 \\cdot v_3"),
    ("-v9", "- v_9"),
    ("exp(v10)", "\\exp(v_{10})"),
    ("v̄1 += v̄5 · cos(v1)", "\\bar{v}_1 \\mathrel{+}= \\bar{v}_5 \\cdot \\cos(v_1)"),
    ("v̄12 -= v̄13 · v13 / v12", "\\bar{v}_{12} \\mathrel{-}= \\bar{v}_{13} \\cdot v_{13} / v_{12}"),
    ("v2 * v1^(v2 - 1)", "v_2 \\cdot v_1^{v_2 - 1}"),
    ("v1 ^ -3", "v_1^{ - 3}"),
    ("1 / sqrt(1 - v1^2)", "1 / \\sqrt{1 - v_1^{2}}"),
    ("abs(v1) + floor(v2)", "\\lvert v_1\\rvert + \\lfloor v_2\\rfloor"),
    ("(sign(v2 - v1) + 1) / 2", "(\\operatorname{sign}(v_2 - v_1) + 1) / 2"),
    ("v1 * 1e-08", "v_1 \\cdot 1 \\times 10^{-8}"),
    ("w[0] * x_1", "w[0] \\cdot x_1"),
    ("x=1,y=-2", "x = 1, y = - 2"),
    ("pi * v1", "\\pi \\cdot v_1"),
    ("a & b % c", "a\\text{\\&}b\\text{\\%}c"),
    ("sqrt(v1^(", "\\sqrt{v_1^{}}"),
])
def test_latex_formula(formula, expected):
    assert latex_formula(formula) == expected
