"""The role pages in Chromium: an owner registers from local files, a registrar decides in
another browser, the certificate verifies; a regulator's dashboard shows the API's figures.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Server
from tests.web.test_pages import Watched

from dataex.core.participants.request_auth import AUTH_HEADER, sign_request
from dataex.keys.files import load_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def data_files(tmp_path: Path) -> list[Path]:
    """A few files whose bytes must never leave the browser (each holds a marker)."""
    folder = tmp_path / "asset"
    folder.mkdir()
    files = []
    for name, size in (("b.csv", 10_000), ("A.csv", 0), ("a b.csv", 70_001), ("a.csv", 3)):
        path = folder / name
        path.write_bytes(b"SECRET-ROW-" + secrets.token_hex(8).encode() + b"\n" * size)
        files.append(path)
    return files


def _session(browser: Any, site: Server, who: str) -> Watched:
    session = Watched(browser, site)
    session.load_key(who)
    return session


def _close(session: Watched) -> None:
    assert session.errors == [] and session.foreign_requests() == []
    session.context.close()


def test_an_owner_registers_a_registrar_decides_and_the_certificate_verifies(
    browser: Any, site: Server, data_files: list[Path]
) -> None:
    owner = _session(browser, site, "alice")
    page = owner.goto("/owner")
    page.set_input_files("#files", [str(p) for p in data_files])
    page.wait_for_function("document.querySelector('#fp-root').textContent.length === 64")
    in_browser = page.inner_text("#fp-root")
    by_cli = json.loads(site.cli("fingerprint", str(data_files[0].parent)).stdout)
    assert in_browser == by_cli["root"]

    page.fill("#title", "Harbour crane telemetry 2026")
    page.fill("#industry", "logistics")
    page.fill("#description", "Per-second crane telemetry from two terminals.")
    page.fill("#scenario", "maintenance forecasting")
    page.click("#register")
    page.wait_for_selector("#register-result.good")
    registration = page.inner_text("#register-result").split("Applied: ")[1].split(" ")[0]
    assert registration.startswith("R")
    sent = owner.sent_bytes()
    assert all(p.read_bytes()[:27] not in sent for p in data_files)  # no file byte sent
    _close(owner)

    registrar = _session(browser, site, "registrar")
    page = registrar.goto("/registrar")
    for step in ("Take for review", "Open notice"):
        row = page.locator("#queue tr", has_text=registration)
        row.get_by_role("button", name=step).click()
        page.wait_for_selector(f"#status.good:has-text('{step}')")
    page.locator("#queue tr", has_text=registration).get_by_role("button", name="Decide…").click()
    page.wait_for_selector("#decide:not([hidden])")
    assert registration in page.inner_text("#decide-id")
    page.click("#register")
    page.wait_for_selector("#status.good:has-text('Registered')")
    number = page.inner_text("#status").split("certificate ")[1].split(" ")[0]
    _close(registrar)

    public = Watched(browser, site)
    deadline = time.monotonic() + 40  # a checkpoint covering the decision is signed every 10 s
    while True:
        page = public.goto(f"/registry/certificates/{number}")
        page.wait_for_selector("#verdict:not(.pending)", timeout=15_000)
        if "good" in (page.get_attribute("#verdict", "class") or ""):
            break
        assert "wait for the next checkpoint" in page.inner_text("#verdict")
        assert time.monotonic() < deadline, page.inner_text("#verdict")
        time.sleep(2)
    assert page.inner_text("#verdict").startswith("Verified")
    _close(public)


def test_the_regulator_dashboard_shows_what_the_api_says(browser: Any, site: Server) -> None:
    regulator = _session(browser, site, "regulator")
    page = regulator.goto("/regulator")
    page.wait_for_selector("#status.good")
    start, end = page.input_value("#from"), page.input_value("#to")
    target = f"/v1/regulator/statistics?from={start}&to={end}"
    header = sign_request(load_key(Path(site.regulator_key)), "GET", target, int(time.time()),
                          secrets.token_urlsafe(12))
    days = httpx.get(site.url + target, headers={AUTH_HEADER: header}).json()["days"]
    shown = page.eval_on_selector_all(
        "#stats tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    expected = [[d["date"], str(d["trades"]["count"]), f"{d['trades']['turnover_fen'] / 100:,.2f}",
                 str(sum(t["traded_units"] for t in d["tokens"].values())),
                 str(sum(t["consumed_units"] for t in d["tokens"].values())),
                 str(d["new_certificates"])] for d in days]
    assert shown == expected
    assert any(int(row[1]) > 0 for row in shown)  # the demo's trades are there
    assert page.get_attribute("#csv", "href").startswith("blob:")
    _close(regulator)


def test_the_regulator_page_tells_a_trader_it_may_not_read(browser: Any, site: Server) -> None:
    trader = _session(browser, site, "bob")
    page = trader.goto("/regulator")
    page.wait_for_selector("#status.bad")
    assert "regulator" in page.inner_text("#status").lower()
    _close(trader)
