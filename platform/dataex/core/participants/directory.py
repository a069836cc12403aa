"""Participants, their roles and keys: who may sign what.

A participant keeps its id for life; its keys change. A key is `active` until
it is `rotated` out by its holder or `revoked` by the operator, and then it
signs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataex.core.documents.encoding import b64url_decode
from dataex.core.documents.errors import Conflict, InvalidState, NotFound, SchemaViolation
from dataex.core.documents.keys import check_public_key
from dataex.core.documents.signing import PUBLIC_KEY_BYTES, key_id
from dataex.core.participants.contracts import AdmitParticipant, RevokeKey, RotateKey

Event = dict[str, object]


@dataclass
class Participant:
    participant_id: str
    display_name: str
    legal_id: str
    roles: frozenset[str]
    active_key_id: str
    status: str = "active"


@dataclass
class KeyRecord:
    key_id: str
    participant_id: str
    public_key: bytes
    status: str = "active"  # active | rotated | revoked


@dataclass
class Participants:
    """All participants and keys, keyed for the two look-ups verification needs."""

    by_id: dict[str, Participant] = field(default_factory=dict)
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    legal_ids: set[str] = field(default_factory=set)

    def next_id(self) -> str:
        return f"P{len(self.by_id) + 1:06d}"

    def admit(self, body: AdmitParticipant) -> list[Event]:
        if len(set(body.roles)) != len(body.roles):
            raise SchemaViolation("roles must not repeat")
        raw = b64url_decode(body.public_key, field="public_key", length=PUBLIC_KEY_BYTES)
        check_public_key(raw, "public_key")
        kid = key_id(raw)
        if kid in self.keys:
            raise Conflict(f"key {kid} is already registered")
        if body.legal_id in self.legal_ids:
            raise Conflict(f"a participant with legal_id {body.legal_id!r} is already admitted")
        pid = self.next_id()
        roles = sorted(body.roles)
        self.by_id[pid] = Participant(pid, body.display_name, body.legal_id, frozenset(roles), kid)
        self.keys[kid] = KeyRecord(kid, pid, raw)
        self.legal_ids.add(body.legal_id)
        return [
            {
                "type": "participant.admitted",
                "participant_id": pid,
                "key_id": kid,
                "public_key": body.public_key,
                "display_name": body.display_name,
                "legal_id": body.legal_id,
                "roles": roles,
            }
        ]

    def rotate(self, signer_key_id: str, body: RotateKey) -> list[Event]:
        old = self.keys[signer_key_id]
        raw = b64url_decode(body.new_public_key, field="new_public_key", length=PUBLIC_KEY_BYTES)
        check_public_key(raw, "new_public_key")
        kid = key_id(raw)
        if kid in self.keys:
            raise Conflict(f"key {kid} is already registered")
        old.status = "rotated"
        self.keys[kid] = KeyRecord(kid, old.participant_id, raw)
        self.by_id[old.participant_id].active_key_id = kid
        return [
            {
                "type": "key.rotated",
                "participant_id": old.participant_id,
                "old_key_id": signer_key_id,
                "new_key_id": kid,
                "new_public_key": body.new_public_key,
            }
        ]

    def revoke(self, body: RevokeKey) -> list[Event]:
        record = self.keys.get(body.key_id)
        if record is None:
            raise NotFound(f"key {body.key_id} is not registered")
        if record.status != "active":
            raise InvalidState(f"key {body.key_id} is already {record.status}")
        record.status = "revoked"
        return [
            {
                "type": "key.revoked",
                "participant_id": record.participant_id,
                "key_id": body.key_id,
                "reason": body.reason,
            }
        ]
