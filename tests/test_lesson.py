"""adcli lesson and trace --format html: the page's data, its self-containedness, the layouts, the errors,
and that a plain install ships the page's files. (tests/test_lesson_browser.py plays the pages in Chromium.)

Reference numbers are derived by hand: f = x·exp(y) - sin(x) at (π/3, 0) is π/3 - sin(π/3) = π/3 - √3/2;
∂f/∂x = exp(y) - cos(x) = 1 - 1/2 = 0.5 (the adjoint of x receives two contributions, -cos(π/3) = -0.5
through sin and exp(0) = 1 through the product); ∂f/∂y = x·exp(y) = π/3.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adcli.lesson import GRAPH_NODES

ROOT = Path(__file__).resolve().parent.parent
SEED = ["lesson", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0"]


def page_data(page: str) -> dict:
    """The JSON the page embeds (its script only shows it)."""
    match = re.search(r'<script type="application/json" id="lesson-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))


def chain_file(folder: Path, steps: int) -> Path:
    """A function file of 3·steps + 1 nodes: y <- y + 0.01·sin(y), ``steps`` times."""
    path = folder / "chain.py"
    path.write_text(f"from math import sin\n\n\ndef f(x):\n    y = x\n    for _ in range({steps}):\n"
                    "        y = y + 0.01 * sin(y)\n    return y\n")
    return path


def test_seed_example_page_holds_every_step(runner, tmp_path):
    out = tmp_path / "lesson.html"
    result = runner.invoke(None, [*SEED, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == f"wrote {out}\n"
    data = page_data(out.read_text(encoding="utf-8"))
    assert [node["label"] for node in data["nodes"]] == ["v1 = x", "v2 = y", "v3 = exp(v2)", "v4 = v1 * v3",
                                                          "v5 = sin(v1)", "v6 = v4 - v5  → f"]
    reverse, forward_x, forward_y = data["tracks"]
    assert (reverse["reverse_start"], len(reverse["steps"])) == (6, 6 + 1 + 6 + 1)  # values, seed, updates, done
    assert reverse["steps"][3]["l"] == ["v4 = v1 * v3 = 1.0472 * 1 = 1.0472"]
    assert reverse["steps"][3]["s"] == [[3, 0, math.pi / 3, "1.0472"]]
    fan_out = reverse["steps"][6 + 4]  # the 4th update: v̄1's second contribution, then the sum of both
    assert (fan_out["n"], fan_out["t"]) == (3, 0)  # from v4 into v1
    assert fan_out["l"][1] == "v̄1 = (-0.5) + 1 = 0.5   (the sum of its 2 contributions)"
    assert fan_out["s"][0][2] == pytest.approx(0.5, abs=1e-15)
    assert reverse["steps"][-1]["l"] == ["the reverse sweep is done: ∂f/∂x = v̄1 = 0.5, ∂f/∂y = v̄2 = 1.0472"]
    assert (forward_x["label"], forward_y["label"]) == ("forward mode: tangents ∂/∂x", "forward mode: tangents ∂/∂y")
    assert forward_x["steps"][-1]["l"] == ["the forward sweep is done: ∂f/∂x = v̇6 = 0.5"]
    assert forward_y["steps"][-1]["s"] == [] and forward_y["steps"][-2]["s"][1][2] == math.pi / 3
    assert data["outputs"][0]["value"] == pytest.approx(math.pi / 3 - math.sqrt(3) / 2, rel=1e-15)
    assert data["at"] == {"x": "1.0472", "y": "0"} and data["source_lines"] is None


def test_page_is_self_contained(runner, tmp_path):
    out = tmp_path / "lesson.html"
    assert runner.invoke(None, [*SEED, "-o", str(out)]).exit_code == 0
    page = out.read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp is not None and csp.group(1).startswith("default-src 'none'; script-src 'sha256-")
    # no element that loads, no URL but SVG's namespace name (a name, never fetched)
    assert re.search(r"<(link|img|iframe|object|embed)\b|\bsrc\s*=|@import|url\((?!#)|https?://(?!www\.w3\.org/2000/svg')",
                     page) is None


def test_markup_in_names_and_source_stays_text(runner, tmp_path):
    """A function file whose path and source hold markup and the page's own placeholders: the page keeps
    exactly its two script elements, its title is the escaped path, and the data holds the texts verbatim."""
    folder = tmp_path / "d<script>alert(1)<"
    folder.mkdir()
    path = tmp_path / "d<script>alert(1)</script>{data}{script}.py"  # (the folder's name ends with '<')
    source = ['"""</script><script>alert("doc")</script> & <!-- {title} {style} {csp}"""', "", "",
              "def f(x, y):", "    u = x * y  # </script><img src=x onerror=alert(2)>", "    return u + x"]
    path.write_text("\n".join(source) + "\n", encoding="utf-8")
    out = tmp_path / "lesson.html"
    result = runner.invoke(None, ["lesson", str(path), "--at", "x=2,y=3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert (page.count("<script"), page.count("</script>"), page.count("<img"), page.count("<!--")) == (2, 2, 0, 0)
    escaped = str(path).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert re.findall(r"<title>(.*)</title>", page) == [f"adcli lesson: {escaped}"]
    data = page_data(page)
    assert data["function"] == str(path) and data["source_lines"] == source
    assert data["tracks"][0]["steps"][-1]["l"] == ["the reverse sweep is done: ∂f/∂x = v̄1 = 4, ∂f/∂y = v̄2 = 2"]


def test_function_file_page_has_its_source_and_lines(runner, tmp_path):
    out = tmp_path / "micrograd.html"
    result = runner.invoke(None, ["lesson", str(ROOT / "samples" / "micrograd.py"), "--at", "a=-4,b=2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["source_lines"][3] == "def g(a, b):"  # line 4
    assert [(node["line"], node["var"]) for node in data["nodes"][:3]] == [(4, "a"), (4, "b"), (5, "c")]
    # micrograd's README: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773
    assert f"{data['outputs'][0]['value']:.4f}" == "24.7041"
    assert data["tracks"][0]["steps"][-1]["l"] == ["the reverse sweep is done: ∂f/∂a = v̄1 = 138.834, ∂f/∂b = v̄2 = 645.577"]


def test_trace_format_html_is_the_lesson(runner, tmp_path):
    result = runner.invoke(None, ["trace", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "--format", "html", "--digits", "3"])
    assert result.exit_code == 0, result.output
    data = page_data(result.stdout)
    assert len(data["tracks"]) == 1  # trace's tangent columns: none without --wrt
    assert data["tracks"][0]["steps"][3]["l"] == ["v4 = v1 * v3 = 1.05 * 1 = 1.05"]
    out = tmp_path / "trace.html"
    assert runner.invoke(None, ["trace", "x*y", "--at", "x=2,y=3", "--wrt", "y", "-o", str(out)]).exit_code == 0
    assert [track["label"] for track in page_data(out.read_text(encoding="utf-8"))["tracks"]] == [
        "reverse mode: adjoints v̄ = ∂f/∂v", "forward mode: tangents ∂/∂y"]


def test_own_layered_layout_puts_inputs_first(runner, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no Graphviz: auto lays the graph out itself
    data = page_data(runner.invoke(None, [*SEED]).stdout)
    graph = data["graph"]
    assert graph["by"] == "adcli's layered layout (Graphviz's dot is not installed)"
    x = {int(node): centre[0] for node, centre in graph["centres"].items()}
    assert x[0] == x[1] < x[2] < x[3] < x[5] and x[4] == x[2]  # columns: inputs; exp, sin; product; difference
    assert sorted((a, b) for a, b, _ in graph["edges"]) == [(0, 3), (0, 4), (1, 2), (2, 3), (3, 5), (4, 5)]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_layout(runner):
    graph = page_data(runner.invoke(None, [*SEED, "--layout", "dot"]).stdout)["graph"]
    assert graph["by"] == "Graphviz's dot" and len(graph["edges"]) == 6
    assert graph["centres"]["0"][0] == graph["centres"]["1"][0] < graph["centres"]["5"][0]  # inputs ranked first


def test_layout_dot_without_graphviz_is_an_error(runner, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = runner.invoke(None, [*SEED, "--layout", "dot"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("error: --layout dot: Graphviz's dot is not installed (Debian: apt-get install graphviz); "
                             "--layout adcli lays the graph out without it\n")


def test_errors_are_the_usual_ones_and_write_nothing(runner, tmp_path):
    out = tmp_path / "lesson.html"
    cases = [(["x*exp(y", "--at", "x=1,y=0"], 2,
              "error: syntax error at column 3: 'exp(' is never closed\n  x*exp(y\n    ^\n"),
             (["log(x)", "--at", "x=-1"], 1, "error: v2 = log(v1): log is undefined at -1\n"),
             (["x*y", "--at", "x=1"], 2, "error: --at y=…: no value for input 'y'\n"),
             (["x*y", "--at", "x=1,y=2", "--wrt", "z"], 2, None)]
    for args, code, message in cases:
        result = runner.invoke(None, ["lesson", *args, "-o", str(out)])
        assert (result.exit_code, result.stdout) == (code, "")
        assert result.stderr == message if message else result.stderr.startswith("error: ")
    assert list(tmp_path.iterdir()) == []
    missing = tmp_path / "no" / "lesson.html"
    result = runner.invoke(None, [*SEED, "-o", str(missing)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: -o {missing}: cannot write the file (No such file or directory)\n"
    assert list(tmp_path.iterdir()) == []


def test_long_traces_collapse_the_graph(runner, tmp_path):
    """500 and 5,000 nodes: no graph layout (the page draws the neighbourhood); size and time measured."""
    sizes = {}
    for steps in (167, 1667):
        out = tmp_path / f"chain{steps}.html"
        start = time.perf_counter()
        result = runner.invoke(None, ["lesson", str(chain_file(tmp_path, steps)), "--at", "x=0.3", "-o", str(out)])
        seconds = time.perf_counter() - start
        assert result.exit_code == 0, result.output
        data = page_data(out.read_text(encoding="utf-8"))
        assert len(data["nodes"]) == 3 * steps + 1 > GRAPH_NODES and data["graph"] is None
        # the derivative of the loop by hand: y_{k+1} = y_k + 0.01 sin(y_k), so dy/dx = Π (1 + 0.01 cos(y_k))
        y, derivative = 0.3, 1.0
        for _ in range(steps):
            y, derivative = y + 0.01 * math.sin(y), derivative * (1 + 0.01 * math.cos(y))
        assert data["tracks"][0]["steps"][-2]["s"][0][2] == pytest.approx(derivative, rel=1e-13)
        sizes[steps] = (out.stat().st_size, seconds)
    assert sizes[167][0] < 600_000 and sizes[1667][0] < 6_000_000  # measured: 0.36 MB and 3.7 MB
    assert sizes[1667][1] < 20


def test_plain_install_ships_the_page(tmp_path):
    """What a plain ``pip install .`` installs (setuptools' build_py, into a temporary folder) holds the
    page's template, script and stylesheet."""
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)], cwd=ROOT, check=True,
                   timeout=300, capture_output=True)
    page = tmp_path / "adcli" / "lesson_page"
    assert sorted(path.name for path in page.iterdir()) == ["lesson.css", "lesson.js", "page.html"]


def test_json_is_the_pages_data(runner, tmp_path):
    result = runner.invoke(None, [*SEED, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == page_data(runner.invoke(None, SEED).stdout)
    result = runner.invoke(None, [*SEED, "-o", str(tmp_path / "lesson.txt")])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"error: -o {tmp_path / 'lesson.txt'}: the suffix names table, which this lesson result "
                             "is not written as; use one of .json, .html, .htm or give --format\n")


@pytest.mark.parametrize("args, name", [(["lesson", "x*y", "--at", "x=2,y=3"], "lesson"),
                                        (["trace", "x*y", "--at", "x=2,y=3", "--format", "html"], "trace")])
def test_page_is_not_printed_on_a_terminal(args, name):
    """Standard output a terminal (a pseudo-terminal here): an error, exit code 2, no HTML."""
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "adcli", *args], stdout=follower, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, timeout=60, cwd=ROOT)
        os.close(follower)
        follower = -1
        printed = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # (Linux: EIO once the terminal's last writer is gone)
                break
            if not chunk:
                break
            printed += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert (result.returncode, printed) == (2, b"")
    assert result.stderr.decode() == (f"error: the lesson is an HTML page: name the file with -o {name}.html "
                                      "(or redirect standard output)\n")


def test_lesson_takes_a_cotangent_and_a_direction(runner):
    """f = (xy, x + y) at (2, 3), by hand: uᵀJ for u = (1, 1) is (y + 1, x + 1) = (4, 3); J·u for
    u = (1, 1) is (y + x, 2) = (5, 2)."""
    result = runner.invoke(None, ["lesson", "x*y, x+y", "--at", "x=2,y=3", "--cotangent", "f[0]=1,f[1]=1",
                                  "--direction", "x=1,y=1", "--json"])
    assert result.exit_code == 0, result.output
    tracks = {track["label"]: track for track in json.loads(result.stdout)["tracks"]}
    reverse = tracks["reverse mode: adjoints v̄ = ∂u·f/∂v"]["steps"][-1]["l"]
    assert reverse == ["the reverse sweep is done: ∂u·f/∂x = v̄1 = 4, ∂u·f/∂y = v̄2 = 3"]
    forward = tracks["forward mode: direction x=1,y=1"]["steps"][-1]["l"]
    assert forward == ["the forward sweep is done: ∂f[0]/∂u (u: x=1,y=1) = v̇3 = 5, ∂f[1]/∂u (u: x=1,y=1) = v̇4 = 2"]
