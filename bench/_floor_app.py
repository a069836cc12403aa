"""The least a durable signed-order server can do, as a peer for bench/submit_e2e.py.

A bare ASGI app (no framework) that, per POST: decodes the JSON envelope with
msgspec, checks its Ed25519 signature over the document's bytes, queues it,
and answers 201 once the row is committed. One writer task commits whatever
is queued in one transaction (group commit, as dataex's sequencer does) with
one `COPY`. No schema, no matching, no ledger, no log: what is left of
dataex's work per order is HTTP, JSON, one signature check and one durable
row, so its rate on this machine is the ceiling any design with those four
can reach here.

Served by granian like dataex: `granian --interface asgi bench._floor_app:app`,
with FLOOR_DATABASE_URL (a libpq URL) and FLOOR_PUBLIC_KEY (base64url raw
Ed25519 public key) in the environment.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

import asyncpg
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Envelope(msgspec.Struct, frozen=True):
    document: str  # the signed bytes, as text
    signature: str  # base64url


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Writer:
    """Group commit: every queued row of a wake-up in one transaction, then the answers."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.queue: list[tuple[bytes, asyncio.Future[int]]] = []
        self.wake = asyncio.Event()
        self.next_seq = 1

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            first = self.next_seq
            self.next_seq += len(batch)
            async with self.conn.transaction():
                await self.conn.copy_records_to_table(
                    "floor_orders", records=[(first + i, doc) for i, (doc, _) in
                                             enumerate(batch)], columns=["seq", "document"])
            for i, (_, future) in enumerate(batch):
                future.set_result(first + i)

    def submit(self, document: bytes) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.queue.append((document, future))
        self.wake.set()
        return future


_state: dict[str, Any] = {}


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            conn = await asyncpg.connect(os.environ["FLOOR_DATABASE_URL"])
            await conn.execute("CREATE TABLE IF NOT EXISTS floor_orders "
                               "(seq bigint PRIMARY KEY, document bytea NOT NULL)")
            writer = Writer(conn)
            _state.update(key=Ed25519PublicKey.from_public_bytes(
                _b64(os.environ["FLOOR_PUBLIC_KEY"])), writer=writer,
                task=asyncio.create_task(writer.run()))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            _state["task"].cancel()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["method"] == "GET":
        await _answer(send, 200, b'{"status":"ok"}')
        return
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    try:
        envelope = msgspec.json.decode(b"".join(chunks), type=Envelope)
        document = envelope.document.encode()
        _state["key"].verify(_b64(envelope.signature), document)
    except (msgspec.DecodeError, InvalidSignature, ValueError):
        await _answer(send, 400, b'{"error":"bad envelope"}')
        return
    seq = await _state["writer"].submit(document)
    await _answer(send, 201, b'{"seq":%d}' % seq)
