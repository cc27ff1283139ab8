"""Issue 7: checkpointing strategies (all, none, every=K, binomial=S), `adcli grad --checkpoint`,
`adcli checkpoint`, the straight-through estimator (`--ste`), and the Huber / abs samples.

Independent references used here (never adcli's own numbers):

* the gradient of a chain y <- sin(y) repeated n times is the plain-float product of cos(y_k);
  the gradient of samples/long_loop.py (n explicit Euler steps y <- y + h·sin(y)) is the plain-float
  recurrence d <- d·(1 + h·cos(y));
* the fewest recomputations with c free checkpoint slots, F(l, c), comes from a bottom-up dynamic
  programme written below (F(1, c) = 0, F(l, 0) = l(l−1)/2, F(l, c) = min over m of
  m + F(l−m, c−1) + F(m, c)); Griewank's closed form r·l − β(c+2, r−1) is written out here again,
  checked against the programme for l ≤ 300, c ≤ 8, and used for n = 10,000 and 30,000;
* straight-through and Huber derivatives are derived by hand next to the tests.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from adcli.analysis import gradient, load
from adcli.checkpoint import Strategy, min_recomputations, optimal_split, run
from adcli.cli import app
from adcli.parser import parse

ROOT = Path(__file__).resolve().parent.parent
LONG_LOOP = str(ROOT / "samples" / "long_loop.py")
HUBER = str(ROOT / "samples" / "huber.py")
ABS_LOSS = str(ROOT / "samples" / "abs_loss.py")

N = 10_000  # steps of the chain trace
X0 = 0.3
CHECKPOINT_MESSAGE = "choose all, none, every=K or binomial=S (K, S whole numbers from 1 to 1,000,000,000)"


def invoke(runner, args):
    """Invoke adcli; it must end through an exit code, never an unhandled exception or a traceback."""
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    return result


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table: the cells of each line that starts with '│'."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in output.splitlines() if line.startswith("│")]


def field(output: str, label: str) -> str:
    """The number printed after ``label`` at the start of a line of the grad table."""
    match = re.search(rf"^{re.escape(label)}\s+(\S+)\s*$", output, re.MULTILINE)
    assert match, f"no line {label!r} in:\n{output}"
    return match.group(1)


# ---------------------------------------------------------------- independent references

C_MAX = 8
L_MAX = 300


def _dp_table() -> list[list[int]]:
    """F[l][c] for 0 ≤ l ≤ L_MAX, 0 ≤ c ≤ C_MAX, bottom-up (no recursion, no adcli)."""
    table = [[0] * (C_MAX + 1) for _ in range(L_MAX + 1)]
    for length in range(L_MAX + 1):
        table[length][0] = length * (length - 1) // 2 if length >= 1 else 0
    for c in range(1, C_MAX + 1):
        for length in range(2, L_MAX + 1):
            table[length][c] = min(m + table[length - m][c - 1] + table[m][c] for m in range(1, length))
    return table


DP = _dp_table()


def beta(s: int, t: int) -> int:
    return math.comb(s + t, s)


def closed_form(steps: int, free: int) -> int:
    """Griewank's count of advances: r·l − β(c+2, r−1), r the least with β(c+1, r) ≥ l."""
    if steps <= 1:
        return 0
    r = 0
    while beta(free + 1, r) < steps:
        r += 1
    return r * steps - beta(free + 2, r - 1)


def chain_reference(x: float, n: int) -> float:
    """d/dx of sin∘…∘sin (n times) at x: the product of cos(y_k) in plain floats."""
    y, d = x, 1.0
    for _ in range(n):
        d *= math.cos(y)
        y = math.sin(y)
    return d


def euler_reference(x: float, n: int = 10_000) -> tuple[float, float]:
    """samples/long_loop.py and its derivative: y <- y + h·sin(y), d <- d·(1 + h·cos(y))."""
    h = 1.0 / n
    y, d = x, 1.0
    for _ in range(n):
        d *= 1.0 + h * math.cos(y)
        y = y + h * math.sin(y)
    return y, d


def test_closed_form_in_this_file_matches_the_dynamic_programme():
    """The β-formula used below for n = 10,000 is itself checked against the programme."""
    for length in range(1, L_MAX + 1):
        for c in range(C_MAX + 1):
            assert closed_form(length, c) == DP[length][c], (length, c)
    # A few values by hand: one slot is n(n−1)/2; 3 steps with one free slot: advance 1, store,
    # reverse [1,3) with no free slot (1 advance), reverse [0,1) (0) -> 2.
    assert DP[10][0] == 45
    assert DP[3][1] == 2


def test_min_recomputations_equals_the_dynamic_programme():
    for length in range(1, L_MAX + 1):
        for c in range(C_MAX + 1):
            assert min_recomputations(length, c) == DP[length][c], (length, c)


def test_optimal_split_is_an_optimal_first_checkpoint():
    for length in range(2, L_MAX + 1):
        for c in range(1, C_MAX + 1):
            m = optimal_split(length, c)
            assert 1 <= m <= length - 1, (length, c, m)
            assert m + DP[length - m][c - 1] + DP[m][c] == DP[length][c], (length, c, m)


# ---------------------------------------------------------------- the 10,000-step chain

@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A function file whose loop records exactly one equation per iteration: n = 10,000 steps."""
    path = tmp_path_factory.mktemp("chain") / "chain.py"
    path.write_text("from math import sin\n\n\ndef f(x):\n    y = x\n"
                    f"    for _ in range({N}):\n        y = sin(y)\n    return y\n")
    trace, point = load(str(path), {"x": X0})
    assert trace.operation_count == N
    assert len(trace.inputs) == 1 and len(trace.outputs) == 1
    return trace


@pytest.fixture(scope="module")
def chain_all(chain):
    return run(chain, [X0], Strategy("all"))


CHAIN_STRATEGIES = [Strategy("all"), Strategy("none"),
                    Strategy("every", 1), Strategy("every", 7), Strategy("every", 100),
                    Strategy("every", 10_000), Strategy("every", 12_345),
                    Strategy("binomial", 2), Strategy("binomial", 3), Strategy("binomial", 10),
                    Strategy("binomial", 50)]


@pytest.mark.parametrize("strategy", CHAIN_STRATEGIES, ids=lambda s: s.label)
def test_every_strategy_on_10000_steps(chain, chain_all, strategy):
    # `none` recomputes n(n−1)/2 = 49,995,000 steps: about 15–20 s here, under the 30 s limit, so it
    # runs at the full n = 10,000 like the others.
    x_node = chain.inputs[0]
    result = run(chain, [X0], strategy)
    assert result.steps == N
    # Same gradient as storing everything, bit for bit, and as the plain-float product of cosines.
    assert result.adjoints[x_node] == chain_all.adjoints[x_node]
    assert result.adjoints[x_node] == pytest.approx(chain_reference(X0, N), rel=1e-12, abs=0)
    # Recomputation count and stored-value peak against the theory (state width w = 1).
    w = 1
    if strategy.kind == "all":
        assert result.recomputed == 0
        assert result.peak_stored == N
    elif strategy.kind == "none":
        assert result.recomputed == N * (N - 1) // 2 == 49_995_000
        assert result.peak_stored == 1
    elif strategy.kind == "every":
        k = strategy.parameter
        assert result.recomputed == N
        assert result.peak_stored <= (math.ceil(N / min(k, N)) - 1) * w + min(k, N)
        if k <= N:
            assert abs(result.peak_stored - (N / k + k)) <= 2
    else:
        s = strategy.parameter
        expected = closed_form(N, s - 1)
        assert result.recomputed == expected
        assert result.theory_recomputed == expected
        assert result.peak_stored <= (s - 1) * w + 1
    assert result.theory_recomputed == result.recomputed


def test_all_equals_the_plain_reverse_sweep(chain, chain_all):
    plain = gradient(chain, {"x": X0})
    assert plain.gradients[0]["x"] == chain_all.adjoints[chain.inputs[0]]


def test_binomial_known_counts_at_10000():
    """Hand-checkable corner of the β-formula: S = 2 (one free slot) on 10,000 steps.
    r = 140 is the least r with β(2, r) = (r+1)(r+2)/2 ≥ 10,000 (β(2,139) = 9,870, β(2,140) = 10,011);
    F = 140·10,000 − β(3, 139) = 1,400,000 − C(142, 3) = 1,400,000 − 467,180 = 932,820."""
    assert beta(2, 139) == 9_870 and beta(2, 140) == 10_011
    assert closed_form(N, 1) == 932_820
    assert min_recomputations(N, 1) == 932_820


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 8, 13, 21, 34, 55, 89, 144, 233, 300])
def test_binomial_schedule_is_optimal_on_short_chains(length):
    """The revolve schedule actually run does F(l, S−1) advances, the programme's optimum."""
    trace = parse("sin(" * length + "x" + ")" * length)
    assert trace.operation_count == length
    x_node = trace.inputs[0]
    reference = run(trace, [X0], Strategy("all")).adjoints[x_node]
    assert reference == pytest.approx(chain_reference(X0, length), rel=1e-13, abs=0)
    for s in range(1, C_MAX + 2):
        result = run(trace, [X0], Strategy("binomial", s))
        assert result.recomputed == DP[length][s - 1], (length, s)
        assert result.peak_stored <= s
        assert result.adjoints[x_node] == reference
    for k in (1, 2, 3, 7, length, length + 1):
        result = run(trace, [X0], Strategy("every", k))
        assert result.recomputed == length
        assert result.adjoints[x_node] == reference


# ---------------------------------------------------------------- adcli grad --checkpoint

LOOP_N = 10_000  # samples/long_loop.py: 10,000 iterations of sin, mul, add: a step is one iteration


def test_long_loop_plain_gradient_matches_the_euler_recurrence(runner):
    result = invoke(runner, ["grad", LONG_LOOP, "--at", "x=0.3", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    value, derivative = euler_reference(0.3)
    assert doc["value"] == pytest.approx(value, rel=1e-13)
    assert doc["gradient"]["x"] == pytest.approx(derivative, rel=1e-12)


@pytest.mark.parametrize(("spec", "bound", "recomputed"), [  # a step holds 3 values, 1 (y) lives between steps
    ("every=100", (LOOP_N // 100 - 1) * 1 + 100 * 3, LOOP_N),
    ("binomial=10", (10 - 1) * 1 + 3, closed_form(LOOP_N, 9)),
])
def test_grad_checkpoint_same_digits_and_a_cost_line(runner, spec, bound, recomputed):
    plain = invoke(runner, ["grad", LONG_LOOP, "--at", "x=0.3"])
    checked = invoke(runner, ["grad", LONG_LOOP, "--at", "x=0.3", "--checkpoint", spec])
    assert plain.exit_code == 0 and checked.exit_code == 0, checked.stderr
    assert field(checked.stdout, "∂/∂x") == field(plain.stdout, "∂/∂x") == "2.3788235"
    assert field(checked.stdout, "value") == field(plain.stdout, "value")
    match = re.fullmatch(rf"note: checkpointing {re.escape(spec)}: at most ([\d,]+) values stored at once "
                         rf"\(storing all: 30,000\), ([\d,]+) steps recomputed "
                         rf"\(a step: one iteration of the loop at line 8\)\n", checked.stderr)
    assert match, checked.stderr  # a note on stderr, not a warning
    peak, count = (int(group.replace(",", "")) for group in match.groups())
    assert 3 <= peak <= bound
    assert count == recomputed
    # JSON: the gradient is the same float, bit for bit.
    plain_doc = json.loads(invoke(runner, ["grad", LONG_LOOP, "--at", "x=0.3", "--json"]).stdout)
    checked_doc = json.loads(invoke(runner, ["grad", LONG_LOOP, "--at", "x=0.3", "--json",
                                             "--checkpoint", spec]).stdout)
    assert checked_doc["gradient"] == plain_doc["gradient"]
    assert checked_doc["value"] == plain_doc["value"]


@pytest.mark.parametrize("spec", ["bogus", "every=0", "binomial=0", "every=x", "every=-3", "all=2"])
def test_grad_checkpoint_bad_strategy(runner, spec):
    result = invoke(runner, ["grad", "x*x", "--at", "x=2", "--checkpoint", spec])
    assert result.exit_code == 2
    assert result.stderr == f"error: --checkpoint {spec}: {CHECKPOINT_MESSAGE}\n"
    assert result.stdout == ""


@pytest.mark.parametrize("extra", [["--mode", "forward"], ["--ste"]])
def test_grad_checkpoint_rejected_with_forward_mode_or_ste(runner, extra):
    result = invoke(runner, ["grad", "floor(3*x)*x", "--at", "x=1.2", "--checkpoint", "every=2", *extra])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --checkpoint")
    assert "reverse mode" in result.stderr and "--ste" in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------- adcli checkpoint

DEFAULT_LABELS = ["all", "none", "every=10", "every=100", "every=173",  # 173 = round(√30,000)
                  "binomial=2", "binomial=5", "binomial=10", "binomial=20"]


def theory_recomputed(label: str, n: int) -> int:
    if label == "all":
        return 0
    if label == "none":
        return n * (n - 1) // 2
    kind, _, value = label.partition("=")
    return n if kind == "every" else closed_form(n, int(value) - 1)


def test_checkpoint_table_default_strategies(runner):
    result = invoke(runner, ["checkpoint", LONG_LOOP, "--at", "x=0.3"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "reversing 10,000 steps (each one iteration of the loop at line 8)" in out
    rows = table_rows(out)
    assert [row[0] for row in rows] == DEFAULT_LABELS
    for row in rows:
        label = row[0]
        expected = f"{theory_recomputed(label, LOOP_N):,}"
        if label == "none":
            assert row[1] == "—" and row[3] == "—" and row[5] == "skipped"
            assert row[4] == expected == "49,995,000"
            continue
        assert row[3] == row[4] == expected, row  # measured recomputation = theory
        peak = int(row[1].replace(",", ""))
        if label == "all":
            assert peak == 3 * LOOP_N  # every value of every iteration
        elif label.startswith("every"):  # checkpoints hold y (1 value); a taped iteration 3
            k = int(label.split("=")[1])
            assert peak <= (math.ceil(LOOP_N / k) - 1) * 1 + 3 * k
        else:
            s = int(label.split("=")[1])
            assert peak <= (s - 1) * 1 + 3
    assert "none: skipped: it would recompute 49,995,000 steps (name it among the strategies to run it)" in out
    assert "every strategy gives the same gradient, bit for bit: ∂f/∂x = 2.3788235" in out


def test_checkpoint_chosen_strategies(runner):
    result = invoke(runner, ["checkpoint", LONG_LOOP, "--at", "x=0.3", "--strategies", "all,every=10,binomial=5"])
    assert result.exit_code == 0, result.stderr
    rows = table_rows(result.stdout)
    assert [row[0] for row in rows] == ["all", "every=10", "binomial=5"]
    assert [row[3] for row in rows] == ["0", "10,000", f"{closed_form(LOOP_N, 4):,}"]
    assert rows[0][1] == "30,000"
    assert "bit for bit" in result.stdout


def test_checkpoint_json(runner):
    result = invoke(runner, ["checkpoint", LONG_LOOP, "--at", "x=0.3", "--strategies", "all,every=10,binomial=5",
                             "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    rows = doc["strategies"]
    assert [row["strategy"] for row in rows] == ["all", "every=10", "binomial=5"]
    _, derivative = euler_reference(0.3)
    gradients = set()
    for row in rows:
        assert row["theory_recomputed"] == theory_recomputed(row["strategy"], LOOP_N)
        assert row["recomputed"] == row["theory_recomputed"]
        assert isinstance(row["peak_stored"], int)
        gradients.add(row["gradient"]["x"])
        assert row["gradient"]["x"] == pytest.approx(derivative, rel=1e-12)
    assert len(gradients) == 1  # bit for bit
    assert rows[0]["peak_stored"] == 3 * LOOP_N  # storing all: 3 values an iteration
    assert rows[1]["peak_stored"] <= (LOOP_N // 10 - 1) * 2 + 10
    assert rows[2]["peak_stored"] <= (5 - 1) * 2 + 1
    plain = json.loads(invoke(runner, ["grad", LONG_LOOP, "--at", "x=0.3", "--json"]).stdout)
    assert gradients == {plain["gradient"]["x"]}


def test_checkpoint_plot_writes_a_png(runner, tmp_path):
    out = tmp_path / "out.png"
    result = invoke(runner, ["checkpoint", LONG_LOOP, "--at", "x=0.3", "--strategies", "all,every=10,binomial=5",
                             "--plot", str(out)])
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_checkpoint_plot_bad_extension(runner, tmp_path):
    out = tmp_path / "out.txt"
    result = invoke(runner, ["checkpoint", LONG_LOOP, "--at", "x=0.3", "--plot", str(out)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --plot")
    assert not out.exists()


def test_checkpoint_several_outputs_rejected(runner):
    result = invoke(runner, ["checkpoint", "x*y, x", "--at", "x=1,y=2"])
    assert result.exit_code == 2
    assert result.stderr == "error: checkpoint reverses one output; the function has 2\n"


def test_checkpoint_bad_strategy(runner):
    result = invoke(runner, ["checkpoint", "sin(x)", "--at", "x=1", "--strategies", "all,every=0"])
    assert result.exit_code == 2
    assert result.stderr == f"error: --checkpoint every=0: {CHECKPOINT_MESSAGE}\n"


# ---------------------------------------------------------------- --ste

# f(x) = floor(3x)·x at x = 1.2: v1 = x, v2 = 3·v1 = 3.6, v3 = floor(v2) = 3, v4 = v3·v1.
# True derivative almost everywhere: floor' = 0, so f' = floor(3x) = 3.
# Straight-through (floor' := 1): f' = floor(3x) + x·3·1 = 3 + 3.6 = 6.6.
STE_VALUE = 3.0 + 1.2 * 3.0
FLOOR_NODE = "v3 = floor(v2)"


def test_ste_floor_gives_the_straight_through_value(runner):
    result = invoke(runner, ["grad", "floor(3*x)*x", "--at", "x=1.2", "--ste", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["gradient"]["x"] == pytest.approx(6.6, abs=1e-12)
    assert doc["gradient"]["x"] == pytest.approx(STE_VALUE, abs=1e-12)
    assert doc["value"] == pytest.approx(3.6, abs=1e-12)
    assert any(FLOOR_NODE in w and "straight-through" in w for w in doc["warnings"]), doc["warnings"]
    table = invoke(runner, ["grad", "floor(3*x)*x", "--at", "x=1.2", "--ste"])
    assert field(table.stdout, "∂/∂x") == "6.6"
    assert re.search(r"warning: straight-through estimator: .*v3 = floor\(v2\)", table.stderr), table.stderr


def test_without_ste_floor_stops_the_gradient(runner):
    result = invoke(runner, ["grad", "floor(3*x)*x", "--at", "x=1.2", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["gradient"]["x"] == 3.0
    assert any(FLOOR_NODE in w and "no gradient flows" in w for w in doc["warnings"]), doc["warnings"]
    assert not any("straight-through" in w for w in doc["warnings"])
    table = invoke(runner, ["grad", "floor(3*x)*x", "--at", "x=1.2"])
    assert field(table.stdout, "∂/∂x") == "3"
    assert "no gradient flows through this node" in table.stderr


def test_ste_without_a_discrete_node_says_so(runner):
    result = invoke(runner, ["grad", "x*x", "--at", "x=1.2", "--ste", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["gradient"]["x"] == pytest.approx(2.4, abs=1e-15)
    assert doc["warnings"] == ["straight-through estimator: no discrete node (floor, sign) depends on an input; the gradient is unchanged"]


def test_trace_ste_adjoints(runner):
    """Adjoints by hand: v̄4 = 1, v̄3 = v1 = 1.2, v̄2 = v̄3·1 = 1.2 (straight through),
    v̄1 = v̄4·v3 + v̄2·3 = 3 + 3.6 = 6.6."""
    result = invoke(runner, ["trace", "floor(3*x)*x", "--at", "x=1.2", "--ste", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    adjoint = {row["name"]: row["adjoint"] for row in doc["trace"]}
    assert adjoint["v4"] == 1.0
    assert adjoint["v3"] == pytest.approx(1.2, abs=1e-15)
    assert adjoint["v2"] == pytest.approx(1.2, abs=1e-15)
    assert adjoint["v1"] == pytest.approx(6.6, abs=1e-12)
    assert any(FLOOR_NODE in w for w in doc["warnings"])
    plain = json.loads(invoke(runner, ["trace", "floor(3*x)*x", "--at", "x=1.2", "--json"]).stdout)
    plain_adjoint = {row["name"]: row["adjoint"] for row in plain["trace"]}
    assert plain_adjoint["v2"] == 0.0 and plain_adjoint["v1"] == 3.0


def test_trace_ste_update_statement_uses_the_straight_through_partial(runner):
    """The printed adjoint update for the floor node must be the one the sweep ran: with --ste the
    local partial is 1, so 'v̄2 += v̄3 · 0' would contradict the adjoint 1.2 shown for v2."""
    result = invoke(runner, ["trace", "floor(3*x)*x", "--at", "x=1.2", "--ste", "--json"])
    doc = json.loads(result.stdout)
    floor_updates = [s for s in doc["reverse_sweep"] if s.startswith("v̄2 += v̄3")]
    assert floor_updates == ["v̄2 += v̄3"]  # a partial of 1 prints as a plain pass-through, as for +, doc["reverse_sweep"]


def test_ste_sign(runner):
    """sign(x)·x at x = −2: true derivative sign(x) = −1; straight through sign(x) + x·1 = −3."""
    ste = json.loads(invoke(runner, ["grad", "sign(x)*x", "--at", "x=-2", "--ste", "--json"]).stdout)
    assert ste["gradient"]["x"] == -3.0
    assert any("v2 = sign(v1)" in w and "straight-through" in w for w in ste["warnings"]), ste["warnings"]
    plain = json.loads(invoke(runner, ["grad", "sign(x)*x", "--at", "x=-2", "--json"]).stdout)
    assert plain["gradient"]["x"] == -1.0
    assert any("v2 = sign(v1)" in w and "no gradient flows" in w for w in plain["warnings"]), plain["warnings"]


# ---------------------------------------------------------------- Huber vs abs

def huber_by_hand(r: float) -> tuple[float, float]:
    """Huber with delta = 1: 0.5 r² and r for |r| ≤ 1; |r| − 0.5 and sign(r) beyond."""
    if abs(r) <= 1.0:
        return 0.5 * r * r, r
    return abs(r) - 0.5, math.copysign(1.0, r)


def _convention_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "not differentiable" in w or "convention" in w or "'(0)" in w]


@pytest.mark.parametrize("r", [1.0, 1.0 + 1e-9, 1.0 - 1e-9, -1.0, -1.0 - 1e-9, -1.0 + 1e-9, 0.5, 3.0])
def test_huber_is_c1_at_delta(runner, r):
    result = invoke(runner, ["grad", HUBER, "--at", f"r={r!r}", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    value, derivative = huber_by_hand(r)
    assert doc["value"] == pytest.approx(value, abs=1e-15)
    assert doc["gradient"]["r"] == pytest.approx(derivative, abs=1e-15)
    if abs(abs(r) - 1.0) <= 1e-9:
        assert doc["gradient"]["r"] == pytest.approx(math.copysign(1.0, r), abs=2e-9)  # both sides meet
    assert _convention_warnings(doc["warnings"]) == []


def test_huber_at_zero_needs_no_convention(runner):
    """At r = 0 only the branch test evaluates abs(0); that node does not reach the output, so no
    convention is applied to the derivative and none should be reported."""
    doc = json.loads(invoke(runner, ["grad", HUBER, "--at", "r=0", "--json"]).stdout)
    assert doc["value"] == 0.0 and doc["gradient"]["r"] == 0.0
    assert _convention_warnings(doc["warnings"]) == []


def test_abs_loss_at_zero_uses_the_convention(runner):
    result = invoke(runner, ["grad", ABS_LOSS, "--at", "r=0", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["value"] == 0.0
    assert doc["gradient"]["r"] == 0.0
    assert any("abs(v1)" in w and "used 0," in w for w in doc["warnings"]), doc["warnings"]
    # Away from 0, abs needs no convention: the derivative is the sign.
    away = json.loads(invoke(runner, ["grad", ABS_LOSS, "--at", "r=-0.25", "--json"]).stdout)
    assert away["gradient"]["r"] == -1.0 and _convention_warnings(away["warnings"]) == []
