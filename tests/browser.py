"""Headless Chromium for the lesson page's tests (Debian's chromium and chromedriver, driven by selenium).

Run as a script it writes the README's screenshot: ``python tests/browser.py docs/lesson.png`` (the
seed example at the end of the reverse sweep).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("ADCLI_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ADCLI_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Seconds a page may take to load and chromedriver to answer.
TIMEOUT = 20
#: Chromium's switches: headless, and nothing that talks to the network on its own.
SWITCHES = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1"]


def missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for program in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(program) and os.access(program, os.X_OK)):
            return f"{program} is missing (Debian: apt-get install chromium chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1440, height: int = 1000) -> Iterator:
    """A headless Chromium with a new empty profile, quit (and its profile removed) however the block ends."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="adcli-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for switch in [*SWITCHES, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(switch)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER, service_args=["--log-level=OFF"]), options=options)
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requests(driver) -> list[str]:
    """The URLs the page asked for since the last call (Chrome's performance log: CDP Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def open_page(driver, path: Path) -> None:
    """Open a page from disk and wait for its script to have shown step 0 (``body[data-step]``)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, TIMEOUT).until(lambda d: d.find_element("tag name", "body").get_attribute("data-step"))


def screenshot(out: Path) -> None:
    """The seed example's lesson at the end of the reverse sweep, as a PNG of the page."""
    from adcli.cli import run

    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "lesson.html"
        code = run(["lesson", "x*exp(y)-sin(x)", "--at", "x=pi/3,y=0", "-o", str(page), "-q"])
        if code:
            raise SystemExit(code)
        with chromium(1280, 900) as driver:
            open_page(driver, page)
            driver.find_element("id", "last").click()  # the gradient, after the last update
            bottom = driver.execute_script("return document.querySelector('main').getBoundingClientRect().bottom")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1280, "height": int(bottom) + 16, "deviceScaleFactor": 1, "mobile": False})
            driver.save_screenshot(str(out))

if __name__ == "__main__":
    screenshot(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/lesson.png"))
