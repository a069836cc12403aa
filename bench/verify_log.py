"""Build a realistic signed audit log straight through core/, without a server.

Used by bench/verify.py (and its tests, at a small size). Every entry is what
the sequencer would have logged: a document signed by a pre-generated key,
authenticated and applied with core.state.apply at a synthetic clock (1 ms a
command), chained with core.audit.build_entry, written as an export line.
Checkpoint notes, signed by a generated log key, follow every
`checkpoint_every` entries and the last one, as the export endpoint emits them.

The mix: participant admissions, products defined, approved and minted,
deposits, limit orders (about one in five marketable, so orders both cross
and rest), cancels of resting orders, and occasional mints. A command the
rules refuse (a sell without units, a cancel of an order filled meanwhile) is
dropped, as the sequencer drops it: only accepted commands are logged.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import build_document
from dataex.core.documents.encoding import b64url_encode
from dataex.core.documents.errors import DomainError
from dataex.core.documents.signing import public_key_bytes
from dataex.core.documents.timefmt import format_utc
from dataex.core.envelope import authorize_signer, envelope_from_object, signer_public_key
from dataex.core.log.chain import GENESIS_PREV_HASH, build_entry
from dataex.core.log.checkpoint import format_checkpoint, format_vkey, sign_note
from dataex.core.log.merkle import CompactRange
from dataex.core.market.contracts import APPROVE, CANCEL, DEFINE_TOKEN, DEPOSIT, MINT, PLACE
from dataex.core.state import PlatformState, apply

ADMIT = "dataex.participant.admit.v1"
ORIGIN = "bench.dataex.local/log"
START = datetime(2026, 1, 1, tzinfo=UTC)
SYMBOLS = ("QWEN-IN-1M", "QWEN-OUT-1M", "DSV3-IN-1M", "KIMI-IN-1M")
MID = 5_000


@dataclass
class _Actor:
    key: Ed25519PrivateKey
    participant_id: str = ""
    live: list[str] = field(default_factory=list)  # order ids believed resting


@dataclass
class BuiltLog:
    entries: int
    checkpoints: int
    log_vkey: str


class _Writer:
    def __init__(self, out: IO[bytes], log_key: Ed25519PrivateKey, checkpoint_every: int) -> None:
        self.out = out
        self.state = PlatformState()
        self.seq = 0
        self.prev_hash = GENESIS_PREV_HASH
        self.tree = CompactRange()
        self.log_key = log_key
        self.checkpoint_every = checkpoint_every
        self.checkpoints = 0

    def submit(self, actor: _Actor, contract: str, body: dict[str, Any]) -> list[Any] | None:
        """Sign, authenticate and apply like the sequencer; log it, or drop a refused one."""
        now = START + timedelta(milliseconds=self.seq)
        envelope = build_document(contract, body, actor.key, nonce=f"n{self.seq}", issued_at=now)
        parsed = envelope_from_object(envelope)
        try:
            # We signed it ourselves: the sequencer's checks, less the Ed25519 verify.
            _, genesis = signer_public_key(parsed, self.state.participants,
                                           allow_genesis=self.seq == 0)
            command = authorize_signer(parsed, self.state.participants, genesis=genesis)
            events = apply(self.state, command, now)
        except DomainError:
            return None
        self.seq += 1
        _entry, canonical, digest = build_entry(
            seq=self.seq, time=format_utc(now), kind=contract, signer=parsed.signer,
            participant_id=command.participant_id, envelope=parsed.envelope, events=events,
            prev_hash=self.prev_hash,
        )
        self.prev_hash = digest
        self.tree.append(bytes.fromhex(digest))
        self.out.write(b'{"seq":%d,"entry_hash":"%s","entry":%s}\n'
                       % (self.seq, digest.encode(), canonical))
        if self.seq % self.checkpoint_every == 0:
            self.checkpoint()
        return events

    def checkpoint(self) -> None:
        note = sign_note(format_checkpoint(ORIGIN, self.seq, self.tree.root()), ORIGIN,
                         self.log_key)
        self.out.write(msgspec.json.encode({"checkpoint": note, "size": self.seq}) + b"\n")
        self.checkpoints += 1


def _admission(actor: _Actor, name: str, roles: list[str]) -> dict[str, Any]:
    return {"display_name": name, "legal_id": f"{name}-legal",
            "public_key": b64url_encode(public_key_bytes(actor.key)), "roles": roles}


def _key(rng: random.Random) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))


def build_log(
    path: Path,
    entries: int,
    *,
    traders: int = 200,
    seed: int = 1,
    checkpoint_every: int = 10_000,
    log_key_seed: int = 0,
    diverge_at: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> BuiltLog:
    """Write an export of `entries` entries to `path`; return what it holds.

    Deterministic: the same arguments give the same bytes (keys come from the
    seeds). `diverge_at` re-seeds the order flow from that seq on, which
    gives a fork: the same log up to diverge_at - 1, another valid log after.
    """
    rng = random.Random(seed)
    log_key = _key(random.Random(f"log-key-{log_key_seed}"))
    with path.open("wb") as out:
        w = _Writer(out, log_key, checkpoint_every)
        operator = _Actor(_key(rng))
        events = w.submit(operator, ADMIT, _admission(operator, "operator", ["operator"]))
        assert events is not None
        operator.participant_id = events[0]["participant_id"]
        people: list[_Actor] = []
        for i in range(traders):
            person = _Actor(_key(rng))
            roles = ["issuer", "trader"] if i < len(SYMBOLS) else ["trader"]
            events = w.submit(operator, ADMIT, _admission(person, f"p{i}", roles))
            assert events is not None
            person.participant_id = events[0]["participant_id"]
            people.append(person)
        for issuer, symbol in zip(people, SYMBOLS, strict=False):
            token = {"symbol": symbol, "model_id": symbol.lower(), "unit_label": "1M tokens",
                     "valid_from": format_utc(START - timedelta(days=1)),
                     "valid_until": format_utc(START + timedelta(days=3650)),
                     "tick_size": 1, "lot_size": 1, "min_price": 1, "max_price": 1_000_000}
            for actor, contract, body in ((issuer, DEFINE_TOKEN, token),
                                          (operator, APPROVE, {"symbol": symbol}),
                                          (issuer, MINT, {"symbol": symbol,
                                                          "quantity": 10_000_000})):
                assert w.submit(actor, contract, body) is not None, contract
        for person in people:
            w.submit(operator, DEPOSIT, {"participant_id": person.participant_id,
                                         "amount": 10**12})
        refs = 0
        while w.seq < entries:
            if diverge_at is not None and w.seq + 1 >= diverge_at:
                rng = random.Random(f"fork-{seed}")
                diverge_at = None
            r = rng.random()
            person = rng.choice(people)
            if r < 0.30 and person.live:
                order_id = person.live.pop(rng.randrange(len(person.live)))
                w.submit(person, CANCEL, {"order_id": order_id})
            elif r < 0.32:
                w.submit(operator, DEPOSIT, {"participant_id": person.participant_id,
                                             "amount": rng.randint(1_000, 1_000_000)})
            elif r < 0.33:
                index = rng.randrange(len(SYMBOLS))
                w.submit(people[index], MINT, {"symbol": SYMBOLS[index], "quantity": 100_000})
            else:
                side = "buy" if rng.random() < 0.5 else "sell"
                sign = 1 if side == "buy" else -1
                if rng.random() < 0.2:  # marketable: crosses the spread
                    price = MID + sign * rng.randint(0, 20)
                else:
                    price = MID - sign * rng.randint(1, 200)
                refs += 1
                events = w.submit(person, PLACE, {
                    "client_order_ref": f"c{refs}", "symbol": rng.choice(SYMBOLS),
                    "side": side, "order_type": "limit", "price": price,
                    "quantity": rng.randint(1, 50)})
                if events is not None and any(e["type"] == "order.rested" for e in events):
                    person.live.append(events[0]["order_id"])
                    if len(person.live) > 50:  # keep the books a realistic depth
                        w.submit(person, CANCEL, {"order_id": person.live.pop(0)})
            if progress is not None:
                progress(w.seq)
        if w.seq % checkpoint_every:
            w.checkpoint()
    return BuiltLog(w.seq, w.checkpoints, format_vkey(ORIGIN, public_key_bytes(log_key)))
