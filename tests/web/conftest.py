"""A demo server and Debian's Chromium for the page tests (Playwright drives it).

Playwright's own browser download is not used: the tests launch the system's
chromium (`apt-get install chromium`, which .ci/run does when it is missing);
without it they skip, saying how to install it. Screenshots of every page
go to DATAEX_SCREENSHOTS (default: a temporary folder), as test artefacts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import Server, demo_server

CHROMIUM = os.environ.get("DATAEX_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    """`dataex serve --demo` on its own embedded PostgreSQL, for one test module."""
    with demo_server("dataex-web-") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium: `sudo apt-get install chromium` (or set DATAEX_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("DATAEX_SCREENSHOTS") or tempfile.mkdtemp(prefix="dataex-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
