"""Checkpoints, proofs, tiles and proof files over HTTP, checked with core.merkle alone."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from dataex.bootstrap.genesis import ensure_keys
from dataex.cli.main import cli
from dataex.core.documents.errors import UnknownSigner
from dataex.core.log import merkle
from dataex.core.log.checkpoint import open_note, parse_checkpoint, parse_vkey
from dataex.core.log.tlog_proof import parse_tlog_proof, verify_tlog_proof
from dataex.store.log.checkpointer import InconsistentTree
from dataex.store.tables import checkpoints
from tests.factories import signed_headers
from tests.merkle_setup import grow_log, leaf_hashes


async def _vkeys(api) -> list[str]:  # type: ignore[no-untyped-def]
    body = (await api.get("/.well-known/dataex/log-keys")).json()
    return [k["vkey"] for k in body["keys"]]


async def _checkpointed(runtime, api, leaves: int, operator=None):  # type: ignore[no-untyped-def]
    operator = await grow_log(runtime, leaves - runtime.sequencer.head.seq, operator)
    stored = await runtime.checkpointer.checkpoint()
    assert stored is not None and stored.size == leaves
    return operator


def _problem(response, status: int, slug: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == f"/problems/{slug}"


async def test_inclusion_and_consistency_proofs_verify_for_every_entry(runtime, api) -> None:  # type: ignore[no-untyped-def]
    ensure_keys(runtime.settings)
    operator = None
    sizes = (10, 256, 300)
    for size in sizes:
        operator = await _checkpointed(runtime, api, size, operator)
    leaves = await leaf_hashes(runtime)
    for size in sizes:
        root = merkle.root(leaves[:size])
        for seq in range(1, size + 1):
            body = (await api.get("/v1/audit/proof/inclusion",
                                  params={"seq": seq, "size": size})).json()
            assert body["leaf_hash"] == leaves[seq - 1].hex() and body["root"] == root.hex()
            assert (body["seq"], body["leaf_index"], body["tree_size"]) == (seq, seq - 1, size)
            proof = [bytes.fromhex(h) for h in body["proof"]]
            assert merkle.verify_inclusion(leaves[seq - 1], seq - 1, size, proof, root)
    latest = (await api.get("/v1/audit/proof/inclusion", params={"seq": 7})).json()
    assert latest["tree_size"] == 300  # the latest checkpoint by default
    for old in (0, 1, 2, 9, 10, 128, 255, 256, 257, 299, 300):
        for new in (10, 256, 257, 300):
            if old > new:
                continue
            body = (await api.get("/v1/audit/proof/consistency",
                                  params={"old": old, "new": new})).json()
            assert body["old_root"] == merkle.root(leaves[:old]).hex()
            assert body["new_root"] == merkle.root(leaves[:new]).hex()
            assert merkle.verify_consistency(
                old, new, merkle.root(leaves[:old]), merkle.root(leaves[:new]),
                [bytes.fromhex(h) for h in body["proof"]],
            )


async def test_tiles_are_the_rfc9162_hashes(runtime, api) -> None:  # type: ignore[no-untyped-def]
    await grow_log(runtime, 300)
    leaves = await leaf_hashes(runtime)
    full = await api.get("/v1/audit/tile/0/000")
    assert full.status_code == 200 and full.content == b"".join(leaves[:256])
    assert full.headers["content-type"] == "application/octet-stream"
    assert "immutable" in full.headers["cache-control"]
    partial = await api.get("/v1/audit/tile/0/001.p/44")
    assert partial.content == b"".join(leaves[256:300])
    level1 = await api.get("/v1/audit/tile/1/000.p/1")
    assert level1.content == merkle.root(leaves[:256])
    for beyond in ("0/001", "0/001.p/45", "1/000", "1/000.p/2", "2/000.p/1", "0/x001/000"):
        _problem(await api.get(f"/v1/audit/tile/{beyond}"), 404, "beyond-tree")
    for bad in ("0/1", "00/000", "0/000.p/256", "0/000.p/0", "64/000", "0/x000/001", "x/000"):
        _problem(await api.get(f"/v1/audit/tile/{bad}"), 400, "malformed-tile-path")


async def test_checkpoints_are_signed_kept_and_consistent(runtime, api) -> None:  # type: ignore[no-untyped-def]
    ensure_keys(runtime.settings)
    _problem(await api.get("/v1/audit/checkpoint"), 404, "not-found")
    operator = await _checkpointed(runtime, api, 5)
    assert (await runtime.checkpointer.checkpoint()).size == 5  # no growth, no new checkpoint
    await _checkpointed(runtime, api, 260, operator)
    (vkey,) = await _vkeys(api)
    verifier = parse_vkey(vkey)
    assert verifier.name == runtime.settings.log_origin
    latest = await api.get("/v1/audit/checkpoint")
    assert latest.headers["content-type"].startswith("text/plain")
    opened = open_note(latest.text, [verifier])
    checkpoint = parse_checkpoint(opened.text)
    leaves = await leaf_hashes(runtime)
    assert (checkpoint.origin, checkpoint.size) == (runtime.settings.log_origin, 260)
    assert checkpoint.root == merkle.root(leaves)
    at5 = await api.get("/v1/audit/checkpoints/5")
    assert parse_checkpoint(open_note(at5.text, [verifier]).text).root == merkle.root(leaves[:5])
    _problem(await api.get("/v1/audit/checkpoints/6"), 404, "not-found")
    listing = (await api.get("/v1/audit/checkpoints", params={"from_size": 0})).json()
    assert [c["size"] for c in listing["checkpoints"]] == [5, 260]
    assert listing["checkpoints"][1]["root"] == merkle.root(leaves).hex()
    assert listing["checkpoints"][0]["note"] == at5.text


async def test_the_checkpointer_refuses_to_sign_over_a_fork(runtime) -> None:  # type: ignore[no-untyped-def]
    ensure_keys(runtime.settings)
    await grow_log(runtime, 20)
    async with runtime.engine.begin() as conn:  # a checkpoint of another history
        await conn.execute(insert(checkpoints).values(
            size=10, root_hash=b"\x07" * 32, note="forged\n", signed_at=runtime.sequencer.clock()
        ))
    with pytest.raises(InconsistentTree):
        await runtime.checkpointer.checkpoint()


async def test_rotation_signs_with_both_keys_then_the_new_one(runtime, api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ensure_keys(runtime.settings)
    monkeypatch.setenv("DATAEX_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("DATAEX_LOG_ORIGIN", runtime.settings.log_origin)
    operator = await _checkpointed(runtime, api, 3)
    (old,) = await _vkeys(api)
    started = CliRunner().invoke(cli, ["keys", "rotate-log"])
    assert started.exit_code == 0, started.output
    new = json.loads(started.output)["next"]
    listed = (await api.get("/.well-known/dataex/log-keys")).json()["keys"]
    assert listed == [{"vkey": old, "status": "active"}, {"vkey": new, "status": "next"}]
    operator = await _checkpointed(runtime, api, 4, operator)
    both = (await api.get("/v1/audit/checkpoint")).text
    for vkey in (old, new):  # each key alone verifies the note
        opened = open_note(both, [parse_vkey(vkey)])
        assert len(opened.verified) == 1 and len(opened.unverified) == 1

    finished = CliRunner().invoke(cli, ["keys", "finish-log-rotation"])
    assert finished.exit_code == 0, finished.output
    listed = (await api.get("/.well-known/dataex/log-keys")).json()["keys"]
    assert listed == [{"vkey": new, "status": "active"}, {"vkey": old, "status": "retired"}]
    await _checkpointed(runtime, api, 5, operator)
    only_new = (await api.get("/v1/audit/checkpoint")).text
    assert len(open_note(only_new, [parse_vkey(new)]).verified) == 1
    with pytest.raises(UnknownSigner):
        open_note(only_new, [parse_vkey(old)])
    # the older checkpoints still verify with the retired key
    assert open_note((await api.get("/v1/audit/checkpoints/3")).text, [parse_vkey(old)])
    again = CliRunner().invoke(cli, ["keys", "finish-log-rotation"])
    assert again.exit_code != 0 and "no rotation under way" in again.output


async def test_a_proof_file_verifies_offline_with_the_cli(runtime, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ensure_keys(runtime.settings)
    operator = await _checkpointed(runtime, api, 40)
    (vkey,) = await _vkeys(api)

    async def entry(seq: int) -> str:  # the operator signed every entry: it may read them
        target = f"/v1/audit/entries/{seq}"
        return (await api.get(target, headers=signed_headers(operator, target))).text

    response = await api.get("/v1/audit/proof-file/17")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert text.startswith("c2sp.org/tlog-proof@v1\nindex 16\n")
    leaves = await leaf_hashes(runtime)
    parsed, checkpoint = verify_tlog_proof(text, leaves[16], [parse_vkey(vkey)])
    assert (parsed.index, checkpoint.size) == (16, 40)
    assert parse_tlog_proof(text).note == (await api.get("/v1/audit/checkpoints/40")).text

    proof_file, entry_file = tmp_path / "17.tlog-proof", tmp_path / "17.json"
    proof_file.write_text(text)
    entry_file.write_text(await entry(17))
    ok = CliRunner().invoke(cli, ["audit", "verify-proof", str(proof_file), "--log-key", vkey,
                                  "--entry", str(entry_file)])
    assert ok.exit_code == 0, ok.output
    assert f"ok: entry 17 (leaf {leaves[16].hex()})" in ok.output
    entry_file.write_text(await entry(18))  # the wrong entry
    wrong = CliRunner().invoke(cli, ["audit", "verify-proof", str(proof_file), "--log-key", vkey,
                                     "--entry", str(entry_file)])
    assert wrong.exit_code == 2 and "FAIL" in wrong.output
    tampered = tmp_path / "tampered.tlog-proof"
    tampered.write_text(text.replace("\n40\n", "\n41\n"))  # the signed size, edited
    bad_sig = CliRunner().invoke(cli, ["audit", "verify-proof", str(tampered), "--log-key", vkey,
                                       "--leaf-hash", leaves[16].hex()])
    assert bad_sig.exit_code == 2 and "FAIL" in bad_sig.output


async def test_bad_proof_requests_are_4xx_problems(runtime, api) -> None:  # type: ignore[no-untyped-def]
    ensure_keys(runtime.settings)
    _problem(await api.get("/v1/audit/proof/inclusion", params={"seq": 1}), 404, "not-found")
    await _checkpointed(runtime, api, 12)
    get = api.get
    _problem(await get("/v1/audit/proof/inclusion", params={"seq": 13, "size": 12}), 400,
             "bad-tree-range")
    _problem(await get("/v1/audit/proof/inclusion", params={"seq": 5, "size": 4}), 400,
             "bad-tree-range")
    _problem(await get("/v1/audit/proof/inclusion", params={"seq": 1, "size": 13}), 404,
             "beyond-tree")
    _problem(await get("/v1/audit/proof/inclusion", params={"seq": 0}), 400, "bad-request")
    _problem(await get("/v1/audit/proof/inclusion", params={"seq": "x"}), 400, "bad-request")
    _problem(await get("/v1/audit/proof/consistency", params={"old": 5, "new": 4}), 400,
             "bad-tree-range")
    _problem(await get("/v1/audit/proof/consistency", params={"old": 5, "new": 13}), 404,
             "beyond-tree")
    _problem(await get("/v1/audit/proof-file/13"), 400, "bad-tree-range")
    _problem(await get("/v1/audit/proof-file/3", params={"size": 11}), 404, "not-found")


async def test_the_background_task_checkpoints_a_growing_log(settings) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import dataclasses

    from dataex.store.runtime import open_runtime

    ensure_keys(settings)
    runtime = await open_runtime(dataclasses.replace(settings, checkpoint_interval_seconds=1))
    try:
        operator = await grow_log(runtime, 3)
        sizes = []
        for _ in range(100):  # up to 10 s on a loaded machine; usually about 1 s
            latest = await runtime.checkpointer.latest()
            if latest is not None and latest.size == 3:
                break
            await asyncio.sleep(0.1)
        sizes.append(latest.size if latest else None)
        await grow_log(runtime, 2, operator)
        for _ in range(100):
            latest = await runtime.checkpointer.latest()
            if latest is not None and latest.size == 5:
                break
            await asyncio.sleep(0.1)
        sizes.append(latest.size if latest else None)
        assert sizes == [3, 5]
    finally:
        await runtime.close()


async def test_checkpoint_notes_are_short_lived_and_tiles_immutable(runtime, api) -> None:  # type: ignore[no-untyped-def]
    """A witness may cosign a checkpoint after it was served: its note is not cached for long."""
    ensure_keys(runtime.settings)
    await _checkpointed(runtime, api, 256)
    for path in ("/v1/audit/checkpoint", "/v1/audit/checkpoints/256", "/v1/audit/proof-file/3",
                 "/v1/audit/proof-file/3?size=256"):
        response = await api.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=5", path
    tile = await api.get("/v1/audit/tile/0/000")
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_the_inclusion_fast_path_answers_as_the_controller_does(runtime, api) -> None:  # type: ignore[no-untyped-def]
    """Plain queries skip the framework; others (here an extra parameter) take the controller."""
    ensure_keys(runtime.settings)
    await _checkpointed(runtime, api, 300)
    pairs = (("seq=7", "seq=7&x=1"), ("seq=300&size=300", "x=&size=300&seq=300"),
             ("size=257&seq=1", "seq=1&size=257&seq=1"), ("seq=256", "seq=256&x"))
    for number, (fast, slow) in enumerate(pairs):
        same_id = {"x-request-id": f"compare-{number}"}  # both echo it
        quick = await api.get(f"/v1/audit/proof/inclusion?{fast}", headers=same_id)
        framework = await api.get(f"/v1/audit/proof/inclusion?{slow}", headers=same_id)
        assert quick.status_code == framework.status_code == 200
        assert quick.content == framework.content
        assert quick.headers == framework.headers
    for bad, status, slug in (("seq=301", 400, "bad-tree-range"),
                              ("seq=1&size=301", 404, "beyond-tree"),
                              ("seq=07", 400, "bad-request"), ("seq=-1", 400, "bad-request")):
        _problem(await api.get(f"/v1/audit/proof/inclusion?{bad}"), status, slug)
