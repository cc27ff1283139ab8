"""The lesson page played in headless Chromium: the seed example, micrograd's example from a function file and a
502-node trace. The tests open each page from disk, press its controls and read the DOM: after k steps the
highlighted node, its value and its adjoint are the trace's (``adcli trace --json``), the final adjoints are
``adcli grad``'s gradient (and, for the seed example, the hand-derived 0.5 and π/3), and the page asked for
nothing but itself (Chrome's performance log: CDP Network events).

They skip when Chromium, chromedriver or selenium is missing, unless ADCLI_REQUIRE_BROWSER=1 (CI) makes that a
failure. One browser serves the module, started with timeouts and always quit.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from browser import chromium, missing, open_page, requests
from test_lesson import ROOT, chain_file

MICROGRAD = str(ROOT / "samples" / "micrograd.py")


@pytest.fixture(scope="module")
def driver():
    why = missing()
    if why is not None:
        if os.environ.get("ADCLI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ADCLI_REQUIRE_BROWSER=1, but {why}")
        pytest.skip(why)
    with chromium() as browser:
        browser.get("about:blank")
        requests(browser)  # what the browser loaded for itself before any page
        yield browser


def adcli_json(runner, *args: str) -> dict:
    result = runner.invoke(None, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def lesson(runner, folder: Path, *args: str) -> Path:
    page = folder / "lesson.html"
    result = runner.invoke(None, ["lesson", *args, "-o", str(page), "-q"])
    assert result.exit_code == 0, result.output
    return page


def press(driver, button: str, times: int = 1) -> None:
    driver.execute_script("for (let k = 0; k < arguments[1]; k++) document.getElementById(arguments[0]).click();",
                          button, times)


def current(driver, kind: str = "current") -> dict | None:
    """The highlighted row of the Wengert table (and its node in the graph): name, numbers and shown texts."""
    return driver.execute_script("""
        const row = document.querySelector('#wengert tr.' + arguments[0]);
        if (!row) return null;
        const box = document.querySelector('g.node.' + arguments[0]);
        return {id: row.id, name: row.cells[0].textContent, value: row.dataset.value, d: row.dataset.d,
                value_text: row.querySelector('.value').textContent, d_text: row.querySelector('.d').textContent,
                box: box && [box.id, box.dataset.value, box.dataset.d, box.querySelector('text.value').textContent,
                             box.querySelector('text.d').textContent]};""", kind)


def column(driver, key: str) -> dict[str, str]:
    """Every row's number (``value`` or ``d``: the adjoint or tangent), by node name."""
    return driver.execute_script(
        "const out = {}; document.querySelectorAll('#wengert tbody tr').forEach("
        "(row) => { out[row.cells[0].textContent] = row.dataset[arguments[0]]; }); return out;", key)


def step(driver) -> int:
    return int(driver.find_element("tag name", "body").get_attribute("data-step"))


def check_page(driver, page: Path, trace: dict, gradient: dict, forward_steps: int, reverse_steps: list[int]) -> None:
    """The checks every page passes (see the module's docstring)."""
    open_page(driver, page)
    rows = trace["trace"]
    by_name = {row["name"]: row for row in rows}
    # the forward evaluation: after k steps the k-th node is highlighted, with the trace's value
    press(driver, "next", forward_steps)
    assert step(driver) == forward_steps - 1
    shown = current(driver)
    row = rows[forward_steps - 1]
    assert shown["name"] == row["name"] and float(shown["value"]) == row["value"]
    assert float(shown["value_text"]) == pytest.approx(row["value"], rel=1e-5)  # 6 digits shown
    assert shown["box"][0] == shown["id"].replace("row-", "node-")  # the same node in the graph
    assert shown["box"][1] == shown["value"] and shown["box"][3] == f"value {shown['value_text']}"
    # the reverse sweep: the node being reversed has its complete adjoint, the trace's
    press(driver, "reverse")
    for k in reverse_steps:
        press(driver, "first")
        press(driver, "reverse")
        press(driver, "next", k)
        shown = current(driver)
        assert float(shown["d"]) == by_name[shown["name"]]["adjoint"], (k, shown)
        assert shown["box"] is not None and shown["box"][2] == shown["d"]
        assert (current(driver, "receiving") is not None) == (k > 0)  # the argument it adds into (not at the seed)
    # the end: every adjoint the trace's, the inputs' adcli grad's gradient
    press(driver, "last")
    adjoints = column(driver, "d")
    assert {name: float(d) for name, d in adjoints.items()} == {row["name"]: row["adjoint"] for row in rows}
    inputs = rows[:len(gradient["gradient"])]
    assert [float(adjoints[row["name"]]) for row in inputs] == list(gradient["gradient"].values())
    # back, and the keyboard
    last = step(driver)
    press(driver, "back")
    assert step(driver) == last - 1
    body = driver.find_element("tag name", "body")
    body.send_keys("\ue012")  # ArrowLeft
    assert step(driver) == last - 2
    body.send_keys("\ue014", "\ue014")  # ArrowRight twice
    assert step(driver) == last
    # nothing was asked of the network: the page itself, and browser-internal chrome:// pages at most
    assert [url for url in requests(driver) if not url.startswith("chrome://")] == [page.resolve().as_uri()]
    assert [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_seed_example(driver, runner, tmp_path):
    args = ("x*exp(y)-sin(x)", "--at", "x=pi/3,y=0")
    page = lesson(runner, tmp_path, *args)
    trace, gradient = adcli_json(runner, "trace", *args), adcli_json(runner, "grad", *args)
    check_page(driver, page, trace, gradient, forward_steps=4, reverse_steps=[0, 1, 2, 3, 4, 5, 6])
    # by hand: ∂f/∂x = 1 - cos(π/3) = 0.5, ∂f/∂y = π/3
    press(driver, "last")
    adjoints = column(driver, "d")
    assert float(adjoints["v1"]) == pytest.approx(0.5, abs=1e-15) and float(adjoints["v2"]) == math.pi / 3
    # v̄1's second contribution (from v4 = v1 * v3), then the sum of both
    press(driver, "reverse")
    press(driver, "next", 4)
    assert current(driver)["name"] == "v4" and current(driver, "receiving")["d_text"] == "0.5"
    assert "v̄1 = (-0.5) + 1 = 0.5   (the sum of its 2 contributions)" in driver.find_element("id", "explain").text
    assert driver.execute_script("return document.getElementById('edge-0-3').classList.contains('active')")
    # screen readers: the graph is named, the explained step is announced as it changes
    assert driver.execute_script("return [document.querySelector('#graph svg').getAttribute('aria-label'),"
                                 "document.getElementById('explain').getAttribute('aria-live')]") == [
        "the computational graph", "polite"]
    # forward mode seeded on x: the output's tangent is ∂f/∂x
    driver.execute_script("const s = document.getElementById('track'); s.value = '1';"
                          "s.dispatchEvent(new Event('change'));")
    assert step(driver) == -1 and driver.find_element("id", "column-head").text == "tangent v̇"
    press(driver, "last")
    assert float(column(driver, "d")["v6"]) == gradient["gradient"]["x"]
    # printing shows the final state (of the forward sweep on x: 6 nodes, then the result), without the controls
    press(driver, "first")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    assert step(driver) == 6 and not driver.find_element("css selector", "nav.controls").is_displayed()
    driver.execute_script("window.dispatchEvent(new Event('afterprint'))")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert step(driver) == -1 and driver.find_element("css selector", "nav.controls").is_displayed()
    # play, then pause
    press(driver, "first")
    press(driver, "play")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 5).until(lambda d: step(d) >= 1)
    press(driver, "play")
    assert driver.find_element("id", "play").text == "▶ play"


def test_micrograd_function_file(driver, runner, tmp_path):
    args = (MICROGRAD, "--at", "a=-4,b=2")
    page = lesson(runner, tmp_path, *args)
    trace, gradient = adcli_json(runner, "trace", *args), adcli_json(runner, "grad", *args)
    assert f"{gradient['gradient']['a']:.4f}" == "138.8338"  # micrograd's README
    check_page(driver, page, trace, gradient, forward_steps=9, reverse_steps=[0, 5, 17, 30])
    # the source line of the current node is highlighted: v9 is c += 1 + c + (-a) on line 8
    press(driver, "first")
    press(driver, "next", 9)
    assert current(driver)["name"] == "v9"
    line = driver.find_element("css selector", "#source .line.current")
    assert line.get_attribute("id") == "src-8" and line.text.endswith("c += 1 + c + (-a)")
    assert driver.find_element("id", "source-title").text == MICROGRAD  # the path as spelt (not upper-cased)


def test_502_node_trace(driver, runner, tmp_path):
    args = (str(chain_file(tmp_path, 167)), "--at", "x=0.3")
    page = lesson(runner, tmp_path, *args)
    trace, gradient = adcli_json(runner, "trace", *args), adcli_json(runner, "grad", *args)
    check_page(driver, page, trace, gradient, forward_steps=250, reverse_steps=[0, 1, 300, 667])
    caption = driver.find_element("id", "graph-caption").text
    assert caption.startswith("502 nodes, more than 300: the graph shows the current node")
    assert len(driver.find_elements("css selector", "#graph g.node")) <= 1 + 6 + 6 + 6


def row_in_view(driver) -> bool:
    """Whether the highlighted row shows inside the table's scrolled box, below its sticky head."""
    return driver.execute_script("""
        const row = document.querySelector('#wengert tr.current').getBoundingClientRect();
        const box = document.getElementById('table-scroll').getBoundingClientRect();
        const head = document.querySelector('#wengert thead').getBoundingClientRect();
        return row.top >= head.bottom - 1 && row.bottom <= box.bottom + 1;""")


def test_table_follows_the_current_row_in_a_narrow_window(driver, runner, tmp_path):
    """One column (the table far down the page): the current row is scrolled into the table's view."""
    page = lesson(runner, tmp_path, str(chain_file(tmp_path, 167)), "--at", "x=0.3")
    driver.set_window_size(600, 1000)
    try:
        open_page(driver, page)
        for steps in (250, 100, 100):  # (the forward evaluation: 502 steps)
            press(driver, "next", steps)
            assert current(driver)["name"] == f"v{step(driver) + 1}" and row_in_view(driver), steps
        press(driver, "reverse")
        press(driver, "next", 300)
        assert row_in_view(driver)
    finally:
        driver.set_window_size(1440, 1000)


def test_a_longer_trace_has_a_window_of_rows(driver, runner, tmp_path):
    """3,334 nodes: the table holds 1,000 rows around the current node, recentred as it moves; the numbers
    shown are the trace's and the inputs' final adjoint adcli grad's."""
    args = (str(chain_file(tmp_path, 1111)), "--at", "x=0.3")
    page = lesson(runner, tmp_path, *args)
    trace, gradient = adcli_json(runner, "trace", *args), adcli_json(runner, "grad", *args)
    rows = trace["trace"]
    assert len(rows) == 3334
    open_page(driver, page)
    count = "return document.querySelectorAll('#wengert tbody tr').length"
    assert driver.execute_script(count) == 1000
    assert driver.find_element("id", "table-caption").text == "rows 1–1000 of 3334: the table follows the current node."
    press(driver, "next", 2000)
    shown = current(driver)
    assert shown["name"] == rows[1999]["name"] == "v2000" and float(shown["value"]) == rows[1999]["value"]
    assert driver.execute_script(count) == 1000 and row_in_view(driver)
    assert driver.find_element("id", "table-caption").text.startswith("rows 1201–2200 of 3334")  # (recentred at v1700)
    press(driver, "last")  # the reverse sweep ends at the input: the table is back at its first rows
    assert column(driver, "d")["v1"] == str(gradient["gradient"]["x"]) == str(rows[0]["adjoint"])
    assert driver.execute_script(count) == 1000
