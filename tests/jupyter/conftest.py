"""Fixtures for the Jupyter tests: a real JupyterLab per module, Chromium via Playwright."""
from __future__ import annotations

import importlib.util
import shutil

import pytest
from lab_util import Lab

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def need_jupyterlab() -> None:
    for mod in ("jupyterlab", "jupyter_lsp", "jupyter_server"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed (pip install -e '.[jupyter]')")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    need_jupyterlab()
    server = Lab(tmp_path_factory.mktemp("lab")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright (Python package) is not installed")
    chromium = shutil.which("chromium") or (CHROMIUM if shutil.which(CHROMIUM) else None)
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
