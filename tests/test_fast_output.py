"""The bulk writers of per-node output (trace --json, the reverse-sweep text) against a plain,
node-by-node construction of the same document, written here independently of adcli's writers."""

import json
import math

import pytest

import adcli
from adcli.analysis import load, sweep_table
from adcli.output.documents import branches_json, sweep_json_text
from adcli.primitives import BY_NAME, CONST, INPUT, PRIMITIVES
from adcli.trace import Trace
from adcli.trace_text import update_statements


def plain(value):
    """The README's encoding of a number in JSON: infinities as signed strings, NaN as null."""
    if math.isnan(value):
        return None
    return value if math.isfinite(value) else "Infinity" if value > 0 else "-Infinity"


def plain_name(trace: Trace, node: int) -> str:
    if trace.op[node] == CONST:
        value = trace.literal[node]
        label = trace.literal_label.get(node)
        if label:
            return label
        return str(int(value)) if value == int(value) and abs(value) < 1e16 else repr(value)
    return f"v{sum(1 for i in range(node + 1) if trace.op[i] != CONST)}"


def plain_document(table) -> dict:
    """The trace document node by node, as the contract describes it."""
    trace, evaluated = table.trace, table.evaluated
    rows = []
    for i, code in enumerate(trace.op):
        if code == CONST:
            continue
        args = [a for a in (trace.arg0[i], trace.arg1[i]) if a != -1]
        shown = [plain_name(trace, a) for a in args]
        if code == INPUT:
            op, text, json_args = "input", trace.input_names[trace.inputs.index(i)], []
        else:
            primitive = PRIMITIVES[code]
            op = primitive.name
            if primitive.symbol is None:
                text = f"{op}({', '.join(shown)})"
            elif len(shown) == 1:
                text = primitive.symbol + shown[0]
            else:
                text = f"{shown[0]} {primitive.symbol} {shown[1]}"
            json_args = [plain(trace.literal[a]) if trace.op[a] == CONST else plain_name(trace, a) for a in args]
        row = {"name": plain_name(trace, i), "op": op, "args": json_args, "text": text,
               "value": plain(evaluated.values[i])}
        if table.tangents:
            row["tangent"] = {label: plain(t[i]) for label, t in table.tangents}
        row["adjoint"] = plain(table.adjoints[i])
        rows.append(row)
    values = [plain(evaluated.values[o]) for o in trace.outputs]
    return {"source": trace.source, "at": evaluated.at, "outputs": trace.output_names,
            "value": values[0] if len(values) == 1 else values, "adjoint_of": trace.output_names[table.output],
            "warnings": evaluated.warnings, "notes": evaluated.notes, "branches": branches_json(evaluated.branches),
            "trace": rows}


CASES = [
    ("x*exp(y)-sin(x)", {"x": 1.0, "y": 0.0}, {}),
    # several outputs, adjoints of the second, a direction and a tangent column
    ("x*y, sin(x)+y, -x/3", {"x": 2.0, "y": 3.0}, {"wrt": ["x", "y"], "direction": {"x": 1.0, "y": -2.0}, "output": 1}),
    # non-finite: sqrt'(0) = inf makes adjoints and tangents inf / nan ("Infinity" / null in JSON)
    ("sqrt(x)*2 + x^0.5 - abs(x)", {"x": 0.0}, {"wrt": ["x"]}),
    # literals everywhere: negative, one, fractional, pi, leading a partial; -0; max/min with two args
    ("-2*x + 1*y - x/1 + 1/x - (-1)*x + 0.5^x + x^y + pi*x + max(x, 2) - min(-1.5, y) + floor(x)*sign(y)",
     {"x": 1.25, "y": -0.5}, {}),
    ("floor(3*x)*x", {"x": 1.2}, {"straight_through": True}),
]


@pytest.mark.parametrize("source, point, options", CASES)
def test_trace_json_equals_plain_construction(source, point, options):
    table = sweep_table(adcli.parse(source), point, **options)
    text = sweep_json_text(table)
    document = json.loads(text)
    assert document["trace"] == plain_document(table)["trace"]
    assert {k: v for k, v in document.items() if k not in ("trace", "reverse_sweep")} == \
        {k: v for k, v in plain_document(table).items() if k != "trace"}
    assert document["reverse_sweep"] == update_statements(table.trace, straight_through=table.straight_through)
    # exactly what json.dumps writes (compact, ASCII, no NaN): valid JSON by Python's own rules
    assert text == json.dumps(document, separators=(",", ":"), allow_nan=False)


def test_trace_json_of_a_function_file_with_list_input(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("import math\n\ndef f(w, x):\n    s = 0.0\n    for k in range(3):\n"
                    "        s = s + w[k] * math.tanh(x * (k - 1))\n    return s, s * math.pi\n")
    trace, point = load(str(path), {"w": [2.0, -3.0, 0.5], "x": 0.25})
    table = sweep_table(trace, point, wrt=["x"])
    document = json.loads(sweep_json_text(table))
    assert document["trace"] == plain_document(table)["trace"]
    assert [row["text"] for row in document["trace"][:4]] == ["w[0]", "w[1]", "w[2]", "x"]


def literal_trace() -> Trace:
    """μ·(-2) + 1·μ and sqrt(μ), recorded by hand: literals -2 and 1 lead partials, μ is not ASCII."""
    trace = Trace(source="f")
    mu = trace.add_input("μ")
    first = trace.add_op(BY_NAME["mul"], trace.add_const(-2.0), mu)
    second = trace.add_op(BY_NAME["mul"], trace.add_const(1.0), mu)
    trace.add_output(trace.add_op(BY_NAME["add"], first, second), "f")
    trace.add_output(trace.add_op(BY_NAME["sqrt"], mu), "g")
    return trace


def test_literals_non_finite_values_and_escaped_names():
    """At μ = 0 the adjoint of μ for g = sqrt(μ) is inf (sqrt'(0) = inf), written "Infinity"; 'μ' is
    escaped as json.dumps escapes it; the literal -2 is a number in args."""
    table = sweep_table(literal_trace(), {"μ": 0.0}, output=1)
    text = sweep_json_text(table)
    assert '"text":"\\u03bc"' in text
    document = json.loads(text)
    assert document["trace"] == plain_document(table)["trace"]
    assert document["trace"][0]["adjoint"] == "Infinity"
    assert document["trace"][1]["args"] == [-2.0, "v1"] and document["trace"][1]["text"] == "-2 * v1"


def test_update_statements_by_hand():
    """x*exp(y) - sin(x): v6 = v4 - v5, v5 = sin(v1), v4 = v1 * v3, v3 = exp(v2); and literals that
    lead a partial: -2 makes a -=, 1 disappears."""
    assert update_statements(adcli.parse("x*exp(y)-sin(x)")) == [
        "v̄4 += v̄6", "v̄5 -= v̄6", "v̄1 += v̄5 · cos(v1)", "v̄1 += v̄4 · v3", "v̄3 += v̄4 · v1", "v̄2 += v̄3 · v3"]
    assert update_statements(literal_trace()) == ["v̄1 += v̄5 · 0.5 / v5",
                                                  "v̄2 += v̄4", "v̄3 += v̄4", "v̄1 += v̄3", "v̄1 -= v̄2 · 2"]


def test_grad_json_has_counts_and_no_trace():
    from conftest import EntryPointRunner

    from adcli.cli import app

    result = EntryPointRunner().invoke(app, ["grad", "x*exp(y)-sin(x)", "--at", "x=1,y=0", "--json"])
    document = json.loads(result.stdout)
    assert set(document) == {"source", "mode", "at", "outputs", "value", "gradient", "sweeps", "operations",
                             "warnings", "notes", "branches"}
    assert (document["operations"], document["sweeps"]) == (4, 1)  # exp, *, sin, -
    assert document["gradient"] == {"x": 1 - math.cos(1.0), "y": 1.0}
