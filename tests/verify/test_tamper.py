"""The tamper catalogue on a real database: each attack is caught and its seq named.

The attacker here holds the database owner's power: it disables the
append-only triggers (ALTER TABLE ... DISABLE TRIGGER USER) and rewrites rows.
The verifier reads only the export (the same lines GET /v1/audit/export
serves) and the log's public key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.chain import entry_hash
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    cosign,
    format_checkpoint,
    format_vkey,
    key_hash,
    sign_note,
)
from dataex.core.log.merkle import root
from dataex.store.database.engine import create_engine
from dataex.store.log.entries import stream_audit_lines
from dataex.store.runtime import Runtime
from dataex.verify import Report, TrustedKeys, verify_stream
from tests.market_setup import market_day

ORIGIN = "dataex.local/log"
WITNESS = "witness.example"


class Log:
    def __init__(self, runtime: Runtime, owner: AsyncEngine) -> None:
        self.runtime = runtime
        self.owner = owner
        self.log_key = Ed25519PrivateKey.generate()
        self.witness = Ed25519PrivateKey.generate()
        self.keys = TrustedKeys().add_all([
            format_vkey(ORIGIN, public_key_bytes(self.log_key)),
            format_vkey(WITNESS, public_key_bytes(self.witness), SIG_TYPE_COSIGNATURE_V1),
        ])

    async def checkpoint(self) -> int:
        """Sign the current tree as the platform's signer does, with a witness cosignature."""
        async with self.owner.begin() as conn:
            hashes = [bytes(h) for (h,) in await conn.execute(
                text("SELECT entry_hash FROM audit_entries ORDER BY seq"))]
            body = format_checkpoint(ORIGIN, len(hashes), root(hashes))
            await conn.execute(text(
                "INSERT INTO checkpoints (size, root_hash, note, signed_at) "
                "VALUES (:size, :root, :note, :at)"),
                {"size": len(hashes), "root": root(hashes),
                 "note": sign_note(body, ORIGIN, self.log_key), "at": datetime.now(UTC)})
            await conn.execute(text(
                "INSERT INTO cosignatures (size, key_hash, key_name, signature_line, received_at)"
                " VALUES (:size, :hash, :name, :line, :at)"),
                {"size": len(hashes), "name": WITNESS,
                 "hash": key_hash(WITNESS, SIG_TYPE_COSIGNATURE_V1,
                                  public_key_bytes(self.witness)),
                 "line": cosign(body, WITNESS, self.witness, 1_700_000_000),
                 "at": datetime.now(UTC)})
        return len(hashes)

    async def attack(self, *statements: str, **params: object) -> None:
        async with self.owner.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            for statement in statements:
                await conn.execute(text(statement), params)
            await conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))

    async def lines(self) -> list[str]:
        return [line.decode() async for line in stream_audit_lines(self.runtime.engine, 1)]

    async def verify(self, **kw: object) -> Report:
        return verify_stream(await self.lines(), keys=self.keys, workers=2, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def log(runtime: Runtime, database_url: str) -> object:
    await market_day(runtime)
    owner = create_engine(database_url, pool_size=1, max_overflow=0)
    subject = Log(runtime, owner)
    await subject.checkpoint()
    yield subject
    await owner.dispose()


def _fault(report: Report) -> tuple[int, str]:
    assert report.fault is not None, "the tampering went unnoticed"
    return report.fault.seq, report.fault.reason


async def test_the_untouched_log_verifies_with_its_checkpoint_and_cosignature(log: Log) -> None:
    lines = await log.lines()
    size = log.runtime.sequencer.head.seq
    checkpoint_lines = [json.loads(line) for line in lines if line.startswith('{"checkpoint"')]
    assert [c["size"] for c in checkpoint_lines] == [size]
    assert json.loads(lines[-1])["size"] == size  # right after the entry of seq == size
    assert WITNESS in checkpoint_lines[0]["checkpoint"]
    report = await log.verify(expected_size=size)
    assert report.ok, report.fault
    assert report.checkpoints_verified == 1 and sum(report.cosignatures.values()) == 1
    # A resumed export carries the checkpoints of its range only.
    resumed = [line.decode() async for line in stream_audit_lines(log.runtime.engine, size)]
    assert len(resumed) == 2 and json.loads(resumed[1])["size"] == size


async def test_an_entry_edited_in_the_database_is_named(log: Log) -> None:
    before = await log.lines()
    victim = next(json.loads(line)["seq"] for line in before if '"quantity":25' in line)
    await log.attack("UPDATE audit_entries SET entry = replace(entry, :old, :new) "
                     "WHERE seq = :seq", old='"quantity":25', new='"quantity":26', seq=victim)
    assert await log.lines() != before
    seq, reason = _fault(await log.verify())
    assert seq == victim and "does not match its entry_hash" in reason


async def test_an_edit_with_every_hash_recomputed_is_still_named(log: Log) -> None:
    """The attacker also rewrites entry_hash and the chain after it: the signature fails."""
    lines = await log.lines()
    entries = [json.loads(line) for line in lines if line.startswith('{"seq"')]
    victim = next(e for e in entries if e["entry"]["kind"] == "dataex.market.order.place.v1")
    victim["entry"]["envelope"]["document"]["body"]["price"] -= 100
    statements, prev = [], None
    for e in entries[victim["seq"] - 1:]:
        if prev is not None:
            e["entry"]["prev_hash"] = prev
        canonical = json.dumps(e["entry"], sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        prev = entry_hash(canonical.encode())
        statements.append((e["seq"], canonical, bytes.fromhex(prev)))
    async with log.owner.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        for seq, canonical, digest in statements:
            await conn.execute(text("UPDATE audit_entries SET entry = :e, entry_hash = :h "
                                    "WHERE seq = :s"), {"e": canonical, "h": digest, "s": seq})
        await conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
    seq, reason = _fault(await log.verify())
    assert seq == victim["seq"] and "signature" in reason


async def test_a_deleted_row_is_named(log: Log) -> None:
    await log.attack("DELETE FROM audit_entries WHERE seq = :seq", seq=9)
    seq, reason = _fault(await log.verify())
    assert seq == 9 and "expected entry 9, found 10" in reason


async def test_two_swapped_rows_are_named(log: Log) -> None:
    await log.attack(
        "UPDATE audit_entries SET seq = -1 WHERE seq = 7",
        "UPDATE audit_entries SET seq = 7 WHERE seq = 8",
        "UPDATE audit_entries SET seq = 8 WHERE seq = -1",
    )
    seq, reason = _fault(await log.verify())
    assert seq == 7 and "expected entry 7" in reason


async def test_rows_cut_from_the_end_are_a_truncated_log(log: Log) -> None:
    size = log.runtime.sequencer.head.seq
    await log.attack("DELETE FROM audit_entries WHERE seq > :seq", seq=size - 3)
    seq, reason = _fault(await log.verify())
    assert seq == size - 2 and "truncated" in reason
