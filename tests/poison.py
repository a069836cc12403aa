"""Poison documents: every kind of signed body found to break, or try to break, a batch.

Each is a real signed envelope (or its bytes bent after signing), as an attacker
with an admitted key would send it. The door must refuse each with its 4xx
before it reaches the sequencer. Shared by the door's tests, the e2e poison test
and bench/poison.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import build_document
from dataex.core.documents.signing import key_id, public_key_bytes

REGISTER = "dataex.registry.register.v1"
REVOKE = "dataex.key.revoke.v1"
ADMIT = "dataex.participant.admit.v1"
PLACE = "dataex.market.order.place.v1"


def application(title: str = "Bus ridership 2026") -> dict[str, Any]:
    return {
        "kind": "initial",
        "asset": {
            "title": title,
            "description": "Boardings per stop and hour.",
            "fingerprint": {"root": hashlib.sha256(title.encode()).hexdigest(),
                            "total_bytes": 1000, "file_count": 1},
            "product_form": "dataset", "industry": "transport", "scenario": "planning",
            "update_frequency": "daily", "source_type": "self_collected",
            "personal_information": False, "classification": "general",
        },
        "rights": ["holding"],
    }


def _signed(key: Ed25519PrivateKey, contract: str, body: dict[str, Any], **kw: Any) -> bytes:
    return msgspec.json.encode(build_document(contract, body, key, **kw))


def _bent(key: Ed25519PrivateKey, old: bytes, new: bytes) -> bytes:
    raw = _signed(key, REGISTER, {"registration": application("MARKER")})
    assert old in raw
    return raw.replace(old, new, 1)


@dataclass(frozen=True)
class Poison:
    name: str
    build: Callable[[Ed25519PrivateKey], bytes]
    status: int
    slug: str


def _admission(key: Ed25519PrivateKey, display_name: str) -> dict[str, Any]:
    from dataex.core.documents.encoding import b64url_encode

    return {"display_name": display_name, "legal_id": "L-" + key_id(public_key_bytes(key))[8:],
            "public_key": b64url_encode(public_key_bytes(Ed25519PrivateKey.generate())),
            "roles": ["trader"]}


POISONS: tuple[Poison, ...] = (
    Poison("NUL in a registration title",
           lambda k: _signed(k, REGISTER, {"registration": application("evil\u0000title")}),
           422, "forbidden-character"),
    Poison("NUL in an admission's display name",
           lambda k: _signed(k, ADMIT, _admission(k, "Mallory\u0000")), 422, "forbidden-character"),
    Poison("NUL in a reason",
           lambda k: _signed(k, REVOKE, {"key_id": key_id(public_key_bytes(k)),
                                         "reason": "gone\u0000"}), 422, "forbidden-character"),
    Poison("NUL in the nonce", lambda k: _signed(k, REVOKE, {"key_id": "x", "reason": "r"},
                                                 nonce="n\u0000"), 422, "forbidden-character"),
    Poison("NUL in a member name",
           lambda k: _bent(k, b'"title":"MARKER"', b'"title":"MARKER","\\u0000":1'),
           422, "forbidden-character"),
    Poison("a lone surrogate",
           lambda k: _bent(k, b'"title":"MARKER"', b'"title":"MARKER\\ud800"'),
           400, "malformed-json"),
    Poison("deep nesting",
           lambda k: _bent(k, b'"title":"MARKER"',
                           b'"title":' + b"[" * 5000 + b"]" * 5000), 400, "malformed-json"),
    Poison("invalid UTF-8", lambda k: _bent(k, b'"title":"MARKER"', b'"title":"MA\xffRKER"'),
           400, "malformed-json"),
    Poison("a duplicate member",
           lambda k: _bent(k, b'"title":"MARKER"', b'"title":"MARKER","title":"other"'),
           400, "malformed-json"),
    Poison("NaN", lambda k: _bent(k, b'"file_count":1', b'"file_count":NaN'),
           400, "malformed-json"),
    Poison("an integer over 2^64",
           lambda k: _bent(k, b'"file_count":1', b'"file_count":' + str(2**70).encode()),
           422, "schema-violation"),
    Poison("a float", lambda k: _bent(k, b'"file_count":1', b'"file_count":1.5'),
           422, "schema-violation"),
)
