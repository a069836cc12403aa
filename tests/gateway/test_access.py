"""The gateway's decision on licences and units, on snapshots made here.

The end-to-end tests cover what the demo platform can produce; these cover the
licence states it cannot produce in a test's lifetime (a licence that expired, one
for another product, one whose terms do not cover API delivery) and the token
arithmetic of reservations, unreported usage and reports dataex has not shown yet.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import gateway_headers
from dataex.core.documents.encoding import b64url_encode
from dataex.core.documents.signing import key_id, public_key_bytes
from dataex.gateway.access import DATA_LICENCE, TOKEN, Doorman, Refusal
from dataex.gateway.holders import HolderBook, Licence, Snapshot, directory_from
from dataex.gateway.journal import DONE, Journal

ORIGIN = "http://gw.test:9000"
HOLDER = "P000005"


def _snapshot(key: Ed25519PrivateKey, licences: list[Licence], units: int = 0) -> Snapshot:
    public = public_key_bytes(key)
    directory = directory_from([{
        "participant_id": HOLDER, "display_name": "Bob", "roles": ["trader"],
        "status": "active", "active_key_id": key_id(public),
        "keys": [{"key_id": key_id(public), "public_key": b64url_encode(public),
                  "status": "active"}]}])
    return Snapshot(time.monotonic(), datetime.now(UTC), seq=100, checkpoint_size=100,
                    participants=directory, kinds={"LIC": DATA_LICENCE, "TOK": TOKEN},
                    units={("TOK", HOLDER): units},
                    licences={("LIC", HOLDER): licences} if licences else {})


def _doorman(tmp_path: Path, snapshot: Snapshot) -> Doorman:
    book = HolderBook("http://dataex.test", {}, None, staleness_seconds=60)
    book.snapshot = snapshot
    return Doorman(book, Journal(tmp_path / "j.sqlite3"), public_url=ORIGIN,
                   max_skew_seconds=60, tokens_per_unit=100, required_right="processing_use")


def _admit(doorman: Doorman, key: Ed25519PrivateKey, product: str, wanted: int = 0) -> object:
    headers = {k.lower(): v for k, v in
               gateway_headers(ORIGIN + "/data", key, product=product).items()}
    return doorman.admit("GET", "/data", b"", headers, wanted)


def _licence(valid_for: timedelta, delivery: str = "api",
             rights: tuple[str, ...] = ("processing_use",)) -> Licence:
    return Licence("L000001", HOLDER, datetime.now(UTC) + valid_for, rights, delivery)


@pytest.mark.parametrize(("licences", "status", "slug"), [
    ([_licence(timedelta(days=30))], 200, None),
    ([_licence(timedelta(seconds=-1))], 402, "no-valid-licence"),  # expired
    ([], 402, "no-valid-licence"),  # none of this product (another product's does not count)
    ([_licence(timedelta(days=30), delivery="file")], 403, "outside-licence-scope"),
    ([_licence(timedelta(days=30), rights=("holding",))], 403, "outside-licence-scope"),
    ([_licence(timedelta(seconds=-1)), _licence(timedelta(days=1))], 200, None),
])
def test_licence_decisions(tmp_path: Path, licences: list[Licence], status: int,
                           slug: str | None) -> None:
    key = Ed25519PrivateKey.generate()
    doorman = _doorman(tmp_path, _snapshot(key, licences))
    if slug is None:
        _admit(doorman, key, "LIC")
        return
    with pytest.raises(Refusal) as refused:
        _admit(doorman, key, "LIC")
    assert (refused.value.status, refused.value.slug) == (status, slug)


def test_a_licence_of_another_product_admits_nothing_here(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    snapshot = _snapshot(key, [])
    snapshot.licences[("OTHER", HOLDER)] = [_licence(timedelta(days=30))]
    with pytest.raises(Refusal) as refused:
        _admit(_doorman(tmp_path, snapshot), key, "LIC")
    assert refused.value.slug == "no-valid-licence"


def test_tokens_left_count_reservations_unreported_usage_and_unshown_reports(
        tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    doorman = _doorman(tmp_path, _snapshot(key, [], units=5))  # 500 tokens
    snapshot = doorman.holders.snapshot
    assert snapshot is not None
    first = _admit(doorman, key, "TOK", wanted=200)  # held while in flight
    assert doorman.available_tokens(snapshot, "TOK", HOLDER) == 300
    doorman.journal.record_usage("TOK", HOLDER, 250, "r1")  # served: 250 unreported
    doorman.settle(first)  # type: ignore[arg-type]
    assert doorman.available_tokens(snapshot, "TOK", HOLDER) == 250
    (report,) = doorman.journal.cut_reports(100, lambda *a: {"signed": list(a)})
    assert report.units == 2  # 200 tokens burned, 50 carried
    assert doorman.available_tokens(snapshot, "TOK", HOLDER) == 250  # pending counts
    doorman.journal.settle(report.report_id, DONE, seq=150, detail=None)
    assert doorman.available_tokens(snapshot, "TOK", HOLDER) == 250  # not in seq 100's view
    newer = _snapshot(key, [], units=3)  # read after seq 150: the burn is in it
    newer.seq = 160
    assert doorman.available_tokens(newer, "TOK", HOLDER) == 250
    with pytest.raises(Refusal) as refused:
        _admit(doorman, key, "TOK", wanted=251)
    assert refused.value.slug == "not-enough-units"


def test_a_stale_snapshot_refuses_everything(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    snapshot = _snapshot(key, [_licence(timedelta(days=30))])
    snapshot.read_at -= 61
    with pytest.raises(Refusal) as refused:
        _admit(_doorman(tmp_path, snapshot), key, "LIC")
    assert (refused.value.status, refused.value.slug) == (503, "holders-unavailable")
