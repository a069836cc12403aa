"""What dataex says about the holders of the gateway's products, kept in memory.

A snapshot is read from dataex every few seconds: the participant directory
(who owns which key, which keys are revoked), and per product its holders'
units and, for a data-licence product, its licences with their signed
documents (GET /v1/market/products/{symbol}/holders, signed by the issuer). The
latest signed checkpoint comes with it and is verified against the log key
the gateway trusts, as is every licence document's platform signature: what
the gateway admits on rests on signatures, not on the answer's transport.
When dataex cannot be reached the last snapshot serves until it is
`staleness_seconds` old; then calls are refused (503) until dataex answers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import Client
from dataex.core.documents.encoding import b64url_decode
from dataex.core.documents.signing import key_id
from dataex.core.documents.timefmt import parse_utc
from dataex.core.log.checkpoint import NoteVerifier, open_note, parse_checkpoint, parse_vkey
from dataex.core.market.licence_signing import licence_signature_valid
from dataex.core.participants.directory import KeyRecord, Participant, Participants

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Licence:
    """A licence the gateway may admit on: active, its document signed by the platform."""

    licence_id: str
    licensee: str
    valid_until: datetime
    rights: tuple[str, ...]
    delivery: str


@dataclass
class Snapshot:
    read_at: float  # time.monotonic() of the read
    read_at_utc: datetime
    seq: int  # dataex's log size when the holders were read
    checkpoint_size: int  # the verified checkpoint that came with them
    participants: Participants
    kinds: dict[str, str]  # symbol -> token | data_licence
    units: dict[tuple[str, str], int] = field(default_factory=dict)  # (symbol, holder) -> available
    licences: dict[tuple[str, str], list[Licence]] = field(default_factory=dict)
    rejected_licences: int = 0  # documents whose platform signature did not verify


def directory_from(listing: list[dict[str, Any]]) -> Participants:
    """The public directory (GET /v1/participants) as core's look-up structure."""
    participants = Participants()
    for p in listing:
        participants.by_id[p["participant_id"]] = Participant(
            p["participant_id"], p["display_name"], "", frozenset(p["roles"]),
            p["active_key_id"], p["status"])
        for k in p["keys"]:
            participants.keys[k["key_id"]] = KeyRecord(
                k["key_id"], p["participant_id"], b64url_decode(k["public_key"], field="key"),
                k["status"])
    return participants


class HolderBook:
    """The current snapshot, its age, and how to renew it."""

    def __init__(self, server: str, keys: dict[str, Ed25519PrivateKey], log_vkey: str | None,
                 staleness_seconds: int) -> None:
        self.server = server
        self.keys = keys  # symbol -> its issuer's key, which may read its holders
        self.log_vkey = log_vkey  # trusted on first use when not configured
        self.staleness = staleness_seconds
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.refreshes = 0
        self.failures = 0

    def age(self) -> float:
        return float("inf") if self.snapshot is None else time.monotonic() - self.snapshot.read_at

    def fresh(self) -> bool:
        return self.age() <= self.staleness

    def refresh(self) -> Snapshot:
        """Read and verify a new snapshot (blocking; the proxy runs it in a thread)."""
        try:
            with Client(self.server, timeout=10) as client:
                snapshot = self._read(client)
        except Exception as exc:  # unreachable, refused, or a signature that did not verify
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise
        self.snapshot, self.last_error = snapshot, None
        self.refreshes += 1
        return snapshot

    def _log_key(self, client: Client) -> NoteVerifier:
        if self.log_vkey is None:
            published = client.get("/.well-known/dataex/log-keys")["keys"]
            self.log_vkey = next(k["vkey"] for k in published if k["status"] == "active")
            log.warning("trusting the log key dataex publishes (pin it with --log-key): %s",
                        self.log_vkey)
        return parse_vkey(self.log_vkey)

    def _read(self, client: Client) -> Snapshot:
        log_key = self._log_key(client)
        participants = directory_from(client.get("/v1/participants")["participants"])
        snapshot: Snapshot | None = None
        for symbol, key in sorted(self.keys.items()):
            answer = client.signed_get(f"/v1/market/products/{symbol}/holders", key)
            if answer["checkpoint"] is None:
                raise ValueError("dataex has signed no checkpoint yet")
            opened = open_note(answer["checkpoint"], [log_key])
            size = parse_checkpoint(opened.text).size
            if snapshot is None:
                snapshot = Snapshot(time.monotonic(), datetime.now(UTC), answer["seq"], size,
                                    participants, {})
            snapshot.kinds[symbol] = answer["kind"]
            for holder in answer["holders"]:
                snapshot.units[(symbol, holder["participant_id"])] = holder["available"]
            for item in answer.get("licences", []):
                self._admit_licence(snapshot, symbol, item, log_key)
        assert snapshot is not None, "a gateway serves at least one product"
        return snapshot

    @staticmethod
    def _admit_licence(snapshot: Snapshot, symbol: str, item: dict[str, Any],
                       log_key: NoteVerifier) -> None:
        document = item["document"]
        signed = (item.get("platform_signature") is not None
                  and item.get("platform_key_id") == key_id(log_key.public_key)
                  and licence_signature_valid(document, item["platform_signature"],
                                              log_key.public_key))
        if not signed:
            snapshot.rejected_licences += 1
            return
        if item["status"] != "active" or document["symbol"] != symbol:
            return
        snapshot.licences.setdefault((symbol, document["licensee"]), []).append(Licence(
            document["licence_id"], document["licensee"], parse_utc(document["valid_until"]),
            tuple(document["rights"]), document["terms"]["delivery"]))
