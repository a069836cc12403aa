"""Bodies of the participant directory's signed documents and who may sign each."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from dataex.core.documents.contract import (
    Body,
    Contract,
    KeyId,
    LongText,
    PublicKey,
    Role,
    ShortText,
)


class AdmitParticipant(Body, frozen=True):
    display_name: ShortText
    legal_id: Annotated[str, Meta(min_length=1, max_length=100)]
    public_key: PublicKey
    roles: Annotated[list[Role], Meta(min_length=1, max_length=5)]


class RotateKey(Body, frozen=True):
    new_public_key: PublicKey


class RevokeKey(Body, frozen=True):
    key_id: KeyId
    reason: LongText


PARTICIPANT_CONTRACTS: tuple[Contract, ...] = (
    Contract(
        "dataex.participant.admit.v1",
        AdmitParticipant,
        frozenset({"operator"}),
        "The operator admits a participant with a key and roles "
        "(the very first one is the operator admitting itself).",
    ),
    Contract(
        "dataex.key.rotate.v1",
        RotateKey,
        None,
        "A participant replaces its key; signed by the old key.",
    ),
    Contract(
        "dataex.key.revoke.v1",
        RevokeKey,
        frozenset({"operator"}),
        "The operator revokes a participant's key.",
    ),
)
