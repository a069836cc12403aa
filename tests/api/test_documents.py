"""POST /v1/documents over HTTP: every bad input is a 4xx problem+json that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from dataex.core.documents.encoding import b64url_encode
from dataex.core.state import snapshot
from tests.factories import ADMIT, REVOKE, ROTATE, Actor, encode, now, signed_headers
from tests.platform_setup import admit, submit, with_operator

PROBLEM = "application/problem+json"


async def _log_size(api: Any) -> int:
    return int((await api.get("/v1/audit/entries", params={"limit": 1})).json()["size"])


@pytest.fixture
async def world(runtime):  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    trader = await admit(runtime, operator, "trader", ["trader"])
    revoked = await admit(runtime, operator, "revoked", ["trader"])
    await submit(runtime, operator.sign(REVOKE, {"key_id": revoked.key_id, "reason": "test"}))
    return {"operator": operator, "trader": trader, "revoked": revoked, "runtime": runtime}


async def test_a_good_document_is_committed_and_answered_201(api, world) -> None:  # type: ignore[no-untyped-def]
    envelope = world["operator"].sign(ADMIT, Actor.new("carol").admission(["trader"]))
    response = await api.post("/v1/documents", content=encode(envelope))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["seq"] == 5 and receipt["events"][0]["participant_id"] == "P000004"
    target = f"/v1/audit/entries/{receipt['seq']}"
    entry = (await api.get(target, headers=signed_headers(world["operator"], target))).json()
    assert entry["entry_hash"] == receipt["entry_hash"]
    assert entry["entry"]["envelope"] == envelope


async def test_the_same_document_again_returns_the_first_response(api, world) -> None:  # type: ignore[no-untyped-def]
    envelope = world["operator"].sign(ADMIT, Actor.new("carol").admission(["trader"]))
    first = await api.post("/v1/documents", content=encode(envelope))
    again = await api.post("/v1/documents", content=encode(envelope))
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["dataex-replayed"] == "true"
    assert await _log_size(api) == 5


def _resign(actor: Actor, envelope: dict[str, Any]) -> dict[str, Any]:
    from dataex.core.documents.signing import sign_document

    return sign_document(envelope["document"], actor.key)


def _flip_trailing_bits(signature: str) -> str:
    # Same length and alphabet, but the last character carries non-zero unused bits.
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return signature[:-1] + alphabet[alphabet.index(last) ^ 1]


Case = Callable[[dict[str, Any]], bytes]

BAD_INPUTS: dict[str, tuple[Case, int, str]] = {
    "malformed JSON": (lambda w: b'{"document": {', 400, "malformed-json"),
    "invalid UTF-8": (lambda w: b'{"document": "\xff"}', 400, "malformed-json"),
    "duplicate member": (lambda w: b'{"document": {}, "document": {}}', 400, "malformed-json"),
    "oversized body": (lambda w: b" " * (70 * 1024), 413, "body-too-large"),
    "unknown contract": (
        lambda w: encode(w["operator"].sign("dataex.nothing.v1", {})), 422, "unknown-contract"),
    "schema violation": (
        lambda w: encode(w["operator"].sign(ADMIT, {"display_name": "x"})), 422,
        "schema-violation"),
    "bad base64": (
        lambda w: encode({**(e := w["operator"].sign(ADMIT, Actor.new("x").admission(["trader"]))),
                          "signature": _flip_trailing_bits(e["signature"])}),
        400, "bad-encoding"),
    "wrong signature": (
        lambda w: encode({**w["operator"].sign(ADMIT, Actor.new("x").admission(["trader"])),
                          "signature": w["operator"].sign(ADMIT, {})["signature"]}),
        401, "bad-signature"),
    "signature by another key": (
        lambda w: encode(_resign(w["trader"], w["operator"].sign(
            ADMIT, Actor.new("x").admission(["trader"])))),
        401, "bad-signature"),
    "unknown signer": (
        lambda w: encode(Actor.new("stranger").sign(ROTATE, {
            "new_public_key": Actor.new("y").public_key})), 401, "unknown-signer"),
    "revoked key": (
        lambda w: encode(w["revoked"].sign(ROTATE, {"new_public_key": Actor.new("y").public_key})),
        401, "revoked-key"),
    "missing role": (
        lambda w: encode(w["trader"].sign(ADMIT, Actor.new("x").admission(["trader"]))),
        403, "role-not-allowed"),
    "issued_at too old": (
        lambda w: encode(w["operator"].sign(ADMIT, Actor.new("x").admission(["trader"]),
                                            issued_at=now() - timedelta(hours=1))),
        422, "clock-skew"),
    "issued_at in the future": (
        lambda w: encode(w["operator"].sign(ADMIT, Actor.new("x").admission(["trader"]),
                                            issued_at=now() + timedelta(hours=1))),
        422, "clock-skew"),
    "replayed nonce, other document": (
        lambda w: encode(w["operator"].sign(ADMIT, Actor.new("x").admission(["trader"]),
                                            nonce=w["used_nonce"])),
        409, "nonce-reused"),
    "weak public key": (
        lambda w: encode(w["operator"].sign(ADMIT, {
            **Actor.new("x").admission(["trader"]),
            "public_key": b64url_encode(b"\x01" + b"\x00" * 31)})),
        422, "weak-key"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
async def test_bad_input_is_a_problem_and_changes_nothing(api, world, case: str) -> None:  # type: ignore[no-untyped-def]
    runtime = world["runtime"]
    used = world["operator"].sign(ADMIT, Actor.new("n").admission(["trader"]), nonce="used-1")
    assert (await api.post("/v1/documents", content=encode(used))).status_code == 201
    world["used_nonce"] = "used-1"
    size, state = await _log_size(api), snapshot(runtime.sequencer.state)

    make, status, slug = BAD_INPUTS[case]
    response = await api.post("/v1/documents", content=make(world))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["type"] == f"/problems/{slug}"
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert await _log_size(api) == size
    assert snapshot(runtime.sequencer.state) == state
    assert (await api.get(f"/problems/{slug}")).status_code == 200


@pytest.fixture
async def controller_only(runtime):  # type: ignore[no-untyped-def]
    """A client on the same app and runtime whose POSTs skip `SubmitFastPath` (the controller)."""
    import httpx

    from dataex.api.app import create_app
    from dataex.api.documents import SubmitFastPath

    app = create_app(runtime=runtime)
    outer = app.asgi_handler  # request ids, logs, metrics and hygiene wrap it
    while not isinstance(outer.inner, SubmitFastPath):
        outer = outer.inner
    outer.inner = outer.inner.inner
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dataex.test") as client:
        yield client


SAME_ID = {"x-request-id": "compare-1"}  # both answers echo it, in the header and problem body


def _same_answer(fast: Any, controller: Any) -> None:
    assert fast.status_code == controller.status_code
    assert fast.content == controller.content
    assert dict(fast.headers) == dict(controller.headers)


async def test_the_fast_path_answers_a_new_and_a_repeated_document_as_the_controller(  # type: ignore[no-untyped-def]
        api, controller_only, world) -> None:
    first = world["operator"].sign(ADMIT, Actor.new("carol").admission(["trader"]))
    second = world["operator"].sign(ADMIT, Actor.new("dave").admission(["trader"]))
    by_fast = await api.post("/v1/documents", content=encode(first))
    by_controller = await controller_only.post("/v1/documents", content=encode(second))
    assert by_fast.status_code == by_controller.status_code == 201
    assert by_fast.headers.keys() == by_controller.headers.keys()
    assert by_controller.json()["seq"] == by_fast.json()["seq"] + 1
    for envelope in (first, second):  # the replayed receipts: same bytes and headers both ways
        _same_answer(await api.post("/v1/documents", content=encode(envelope), headers=SAME_ID),
                     await controller_only.post("/v1/documents", content=encode(envelope),
                                                headers=SAME_ID))
    assert await _log_size(api) == 6


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
async def test_the_fast_path_refuses_as_the_controller_does(  # type: ignore[no-untyped-def]
        api, controller_only, world, case: str) -> None:
    used = world["operator"].sign(ADMIT, Actor.new("n").admission(["trader"]), nonce="used-1")
    assert (await api.post("/v1/documents", content=encode(used))).status_code == 201
    world["used_nonce"] = "used-1"
    body = BAD_INPUTS[case][0](world)
    _same_answer(await api.post("/v1/documents", content=body, headers=SAME_ID),
                 await controller_only.post("/v1/documents", content=body, headers=SAME_ID))


async def test_a_body_sent_in_chunks_is_read_whole_and_an_oversized_one_refused(  # type: ignore[no-untyped-def]
        api, world) -> None:
    raw = encode(world["operator"].sign(ADMIT, Actor.new("carol").admission(["trader"])))

    async def chunks(data: bytes, size: int):  # type: ignore[no-untyped-def]
        for start in range(0, len(data), size):
            yield data[start:start + size]

    accepted = await api.post("/v1/documents", content=chunks(raw, 100))
    assert accepted.status_code == 201, accepted.text
    too_big = await api.post("/v1/documents", content=chunks(raw + b" " * (70 * 1024), 4096))
    assert too_big.status_code == 413 and too_big.json()["type"] == "/problems/body-too-large"
    assert await _log_size(api) == 5
