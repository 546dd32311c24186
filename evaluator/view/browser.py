"""Headless Chromium for the viewer's tests and benchmark: Debian's chromium and chromedriver,
driven by Selenium. Nothing is downloaded at run time: both binaries must be installed
(`bash tools/install.sh --dev`), and Selenium is pointed at them so its manager never runs."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1360,900"]


class BrowserUnavailable(Exception):
    """Chromium, chromedriver or Selenium is missing; the message says what to install."""


def _which(*names: str) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


def find() -> tuple[str, str]:
    """(chromium, chromedriver) paths, or BrowserUnavailable."""
    chromium = os.environ.get("AGENTGYM_CHROMIUM") or _which("chromium", "chromium-browser")
    driver = os.environ.get("AGENTGYM_CHROMEDRIVER") or _which("chromedriver")
    chromium, driver = (p if p and os.access(p, os.X_OK) else None for p in (chromium, driver))
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise BrowserUnavailable("selenium is not installed (pip install -r requirements.txt).") from None
    if not chromium or not driver:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if not p)
        raise BrowserUnavailable(f"{missing} not found: install Debian's chromium and chromium-driver "
                                 "(bash tools/install.sh --dev), or point AGENTGYM_CHROMIUM / AGENTGYM_CHROMEDRIVER at them.")
    return chromium, driver


class Browser:
    """One headless Chromium with a fresh profile; use as a context manager."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        chromium, driver = find()
        self.profile = tempfile.mkdtemp(prefix="agentgym-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"):
            opts.add_argument(flag)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch anything
        self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=opts)

    def open(self, path: Path, fragment: str = "") -> None:
        self.driver.get(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait_ready(self, state: str, timeout: float = 30) -> None:
        """Until the page says it rendered `state` (run, task, compare, compare-task)."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout).until(
            lambda d: d.execute_script("return document.documentElement.dataset.ready") == state)

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
