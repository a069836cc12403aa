"""The read side over HTTP: health, OpenAPI, the audit log and participants."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import signed_headers
from tests.platform_setup import admit, with_operator


async def test_health_says_ready_with_the_log_size(api, runtime) -> None:  # type: ignore[no-untyped-def]
    assert (await api.get("/health/live")).json() == {"status": "ok"}
    await with_operator(runtime)
    ready = await api.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "role": "writer", "database": True,
                            "sequencer": True, "log_size": 1}


async def test_ready_is_503_when_the_sequencer_is_stopped(api, runtime) -> None:  # type: ignore[no-untyped-def]
    await runtime.sequencer.stop()
    response = await api.get("/health/ready")
    assert response.status_code == 503 and response.json()["sequencer"] is False


async def test_audit_entries_page_in_order_and_export_as_json_lines(api, runtime) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    regulator = await admit(runtime, operator, "r", ["regulator"])
    for name in ("a", "b", "c"):
        await admit(runtime, operator, name, ["trader"])

    async def read(target: str) -> Any:
        return await api.get(target, headers=signed_headers(regulator, target))

    page = (await read("/v1/audit/entries?from=2&limit=2")).json()
    assert page["size"] == 5 and [e["seq"] for e in page["entries"]] == [2, 3]
    assert page["entries"][1]["entry"]["prev_hash"] == page["entries"][0]["entry_hash"]

    export = await read("/v1/audit/export?from=4")
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [line["seq"] for line in lines] == [4, 5]
    one = (await read("/v1/audit/entries/4")).json()
    assert lines[0] == one


async def test_bad_read_parameters_are_problems(api, runtime) -> None:  # type: ignore[no-untyped-def]
    for path, params, status in [
        ("/v1/audit/entries", {"limit": 0}, 400),
        ("/v1/audit/entries", {"from": "x"}, 400),
        ("/v1/audit/entries/999", {}, 404),
        ("/v1/participants", {"role": "king"}, 422),
        ("/v1/participants/P999999", {}, 404),
        ("/v1/contracts/dataex.nothing.v1", {}, 422),
        ("/problems/no-such-problem", {}, 404),
    ]:
        response = await api.get(path, params=params)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_participants_show_roles_and_key_history(api, runtime) -> None:  # type: ignore[no-untyped-def]
    operator = await with_operator(runtime)
    alice = await admit(runtime, operator, "alice", ["trader", "issuer"])
    traders = (await api.get("/v1/participants", params={"role": "trader"})).json()
    assert [p["participant_id"] for p in traders["participants"]] == [alice.participant_id]
    shown = (await api.get(f"/v1/participants/{alice.participant_id}")).json()
    assert shown["roles"] == ["issuer", "trader"]
    assert shown["keys"] == [{"key_id": alice.key_id, "public_key": alice.public_key,
                              "status": "active", "added_seq": 2}]


async def test_targets_with_nul_or_broken_utf8_are_400_problems(api, runtime) -> None:  # type: ignore[no-untyped-def]
    for target in ("/v1/market/products/%00", "/v1/registry/registrations?text=%00",
                   "/v1/registry/certificates?text=%FF%FE", "/v1/audit/entries?from=1%00",
                   "/v1/participants/P%C3"):
        response = await api.get(target)
        assert response.status_code == 400, (target, response.text)
        assert response.json()["type"] == "/problems/bad-request"
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_integers_beyond_64_bits_are_400_not_500(api, runtime) -> None:  # type: ignore[no-untyped-def]
    huge = str(2**70)
    for target in (f"/v1/audit/entries/{huge}", f"/v1/audit/entries?from={huge}",
                   f"/v1/audit/proof/inclusion?seq={huge}", f"/v1/audit/checkpoints/{huge}",
                   f"/v1/audit/proof-file/{huge}", f"/v1/market/me/orders?offset={huge}"):
        response = await api.get(target)
        assert response.status_code == 400, (target, response.text)
