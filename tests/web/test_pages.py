"""The pages in a real Chromium against a real demo server: signing, trading, verifying.

Each test acts as a person would (a key file chosen in a file dialog, a form
filled and submitted, a page read) and checks what the page shows against the
API. Requests are watched throughout: none may leave for another origin, and
none may carry the key file or any private key byte.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.conftest import Server

from dataex.client.sdk import build_document
from dataex.keys.files import load_key

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "contracts" / "vectors" / "vectors.json").read_text())
AXE = ROOT / "tests" / "web" / "vendor" / "axe.min.js"
PAGES = ["/", "/market", "/market/QWEN-IN-1M", "/market/TAXI-TRAJ-LIC", "/registry",
         "/registry/certificates/DX-2026-000001", "/account", "/owner", "/registrar", "/regulator"]


class Watched:
    """A browser context whose every request is kept, to check where bytes went."""

    def __init__(self, browser: Any, site: Server, width: int = 1280) -> None:
        self.site = site
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.requests: list[Any] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def goto(self, path: str) -> Any:
        self.page.goto(self.site.url + path)
        return self.page

    def load_key(self, name: str) -> None:
        """Choose the demo key file on My account, as a user picks it in the file dialog."""
        page = self.goto("/account")
        page.set_input_files("#keyfile", str(self.site.demo_key(name)))
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#who:not([hidden])")

    def foreign_requests(self) -> list[str]:
        return [r.url for r in self.requests if not r.url.startswith(self.site.url)
                and not r.url.startswith(("data:", "blob:"))]

    def sent_bytes(self) -> bytes:
        return b"".join((r.url.encode() + b"\n" + (r.post_data_buffer or b"") + b"\n"
                         + json.dumps(r.headers).encode()) for r in self.requests)


@pytest.fixture
def watched(browser: Any, site: Server) -> Iterator[Watched]:
    session = Watched(browser, site)
    yield session
    assert session.errors == []
    assert session.foreign_requests() == []
    session.context.close()


def _key_secrets(site: Server, name: str) -> list[bytes]:
    """What must never be sent: the PEM body, the raw private key, its hex."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    pem = Path(site.demo_key(name)).read_text()
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    raw = load_key(Path(site.demo_key(name))).private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    import base64

    return [body.encode(), raw, raw.hex().encode(), base64.urlsafe_b64encode(raw).rstrip(b"=")]


def test_the_page_code_reproduces_every_signing_vector(watched: Watched) -> None:
    page = watched.goto("/account")
    failures = page.evaluate((ROOT / "tests" / "web" / "check_vectors.js").read_text(), VECTORS)
    assert failures["bad"] == []
    kinds = ("vectors", "certificates", "requests")
    assert failures["counted"] == sum(len(VECTORS[k]) for k in kinds)


def test_a_trader_loads_a_key_trades_and_sees_it_without_reloading(watched: Watched) -> None:
    watched.load_key("bob")
    page = watched.page
    assert "Bob" in page.inner_text("#who-name") or "P000005" in page.inner_text("#who-name")
    page.wait_for_selector("#balances tbody tr")

    page = watched.goto("/market/QWEN-IN-1M")
    page.wait_for_selector("#live:text('live')")
    page.wait_for_selector("#mine-balance:not([hidden])")
    before = page.inner_text("#mine-balance")
    depth = httpx.get(f"{watched.site.url}/v1/market/products/QWEN-IN-1M/depth").json()
    best_ask = depth["asks"][0]
    page.select_option("#order-type", "ioc")
    page.fill("#price", f"{best_ask['price'] / 100:.2f}")
    page.fill("#quantity", "2")
    page.click("#place")
    page.wait_for_selector("#order-result.good")
    assert "2 traded" in page.inner_text("#order-result")

    # the trade arrives in the live list from the stream, and the balance moves
    trades = httpx.get(f"{watched.site.url}/v1/market/products/QWEN-IN-1M/trades?limit=1").json()
    newest = trades["trades"][0]["trade_id"]
    page.wait_for_selector(f"#trades tr[data-trade='{newest}']", timeout=10_000)
    page.wait_for_function(
        "(before) => document.querySelector('#mine-balance').textContent !== before",
        arg=before, timeout=10_000)
    assert page.url.endswith("/market/QWEN-IN-1M")  # never reloaded

    for secret in _key_secrets(watched.site, "bob"):
        assert secret not in watched.sent_bytes()


def test_a_refused_order_says_why_next_to_the_field(watched: Watched) -> None:
    watched.load_key("alice")
    page = watched.goto("/market/QWEN-IN-1M")
    page.fill("#price", "0.005")
    page.click("#place")
    assert "multiple of" in page.inner_text("#price-error")
    assert page.get_attribute("#price", "aria-invalid") == "true"
    page.fill("#price", "99999.00")  # outside the product's band: the server refuses
    page.click("#place")
    page.wait_for_selector("#order-result.bad")
    assert page.inner_text("#price-error").strip() != ""


def test_a_halted_product_refuses_orders_with_a_clear_message(watched: Watched) -> None:
    site = watched.site
    watched.load_key("bob")
    page = watched.goto("/market/QWEN-OUT-1M")
    page.wait_for_selector("#live:text('live')")
    halt = build_document("dataex.market.product.halt.v1",
                          {"symbol": "QWEN-OUT-1M", "reason": "surveillance review"},
                          load_key(Path(site.regulator_key)))
    assert httpx.post(f"{site.url}/v1/documents", json=halt).status_code == 201
    page.wait_for_selector("#status:text('halted')", timeout=10_000)  # from the stream
    page.fill("#quantity", "1")
    page.click("#place")
    page.wait_for_selector("#order-result.bad")
    message = page.inner_text("#order-result")
    assert "halted" in message.lower(), message
    resume = build_document("dataex.market.product.resume.v1", {"symbol": "QWEN-OUT-1M"},
                            load_key(Path(site.regulator_key)))
    assert httpx.post(f"{site.url}/v1/documents", json=resume).status_code == 201


def test_a_certificate_verifies_in_the_page(watched: Watched) -> None:
    page = watched.goto("/registry/certificates/DX-2026-000001")
    page.wait_for_selector("#verdict.good", timeout=15_000)
    assert page.inner_text("#verdict").startswith("Verified")
    assert page.locator("#checks li.ok").count() == 9


def test_a_tampered_proof_shows_not_verified_and_why(watched: Watched) -> None:
    def tamper(route: Any) -> None:
        answer = route.fetch()
        proof = answer.json()
        first = proof["proof"][0]
        proof["proof"][0] = ("0" if first[0] != "0" else "1") + first[1:]
        route.fulfill(response=answer, body=json.dumps(proof))

    watched.page.route("**/v1/audit/proof/inclusion*", tamper)
    page = watched.goto("/registry/certificates/DX-2026-000001")
    page.wait_for_selector("#verdict.bad", timeout=15_000)
    verdict = page.inner_text("#verdict")
    assert verdict.startswith("Not verified") and "inclusion proof" in verdict, verdict


def test_a_tampered_registrar_signature_is_caught(watched: Watched) -> None:
    def tamper(route: Any) -> None:
        answer = route.fetch()
        claim = answer.json()
        claim["document"]["holder"] = "P000005"
        route.fulfill(response=answer, body=json.dumps(claim))

    watched.page.route("**/v1/registry/certificates/*/verify", tamper)
    page = watched.goto("/registry/certificates/DX-2026-000001")
    page.wait_for_selector("#verdict.bad", timeout=15_000)
    assert "registrar's signature" in page.inner_text("#verdict")


def test_no_page_has_a_serious_accessibility_violation(watched: Watched) -> None:
    found = {}
    for path in PAGES:
        page = watched.goto(path)
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => (await axe.run()).violations.map("
                               "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        if serious:
            found[path] = serious
    assert found == {}


def test_every_page_at_desktop_and_phone_width(browser: Any, site: Server,
                                               screenshots: Path) -> None:
    for width, label in ((1280, "desktop"), (390, "phone")):
        session = Watched(browser, site, width)
        for path in [*PAGES, "/schema"]:
            page = session.goto(path)
            page.wait_for_load_state("networkidle")
            time.sleep(0.3)
            # nothing wider than the screen but tables, which scroll in their own box
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if path != "/schema":
                assert overflow <= 1, (path, label, overflow)
            name = path.strip("/").replace("/", "_") or "home"
            page.screenshot(path=str(screenshots / f"{name}-{label}.png"), full_page=True)
        assert session.errors == [] and session.foreign_requests() == []
        session.context.close()
    assert len(list(screenshots.glob("*.png"))) >= 2 * (len(PAGES) + 1)


def test_the_account_checks_licences_and_lists_token_consumption(watched: Watched) -> None:
    site = watched.site
    consume = build_document("dataex.market.consume.v1", {
        "symbol": "QWEN-IN-1M", "holder": "P000005", "units": 1,
        "usage_reference": "web-test-usage"}, load_key(Path(site.demo_key("issuer"))))
    assert httpx.post(f"{site.url}/v1/documents", json=consume).status_code == 201
    watched.load_key("bob")
    page = watched.page
    page.wait_for_selector("#consumption tbody tr")
    assert "web-test-usage" in page.inner_text("#consumption")
    page.wait_for_function(
        "[...document.querySelectorAll('.licence-check')].every(e => e.textContent.includes('✓'))"
        " && document.querySelectorAll('.licence-check').length > 0")
    assert page.locator(".licence-check").count() == 2  # the demo's two licences of bob
