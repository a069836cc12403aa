"""Write contracts/vectors/vectors.json: fixed keys, documents, canonical bytes, signatures.

Client authors in any language test their canonicalisation and signing against the
file, so it must come from the same code the server runs (dataex.core) and must not
drift: tests/core/test_contract_vectors.py rebuilds it in memory and compares.
Ed25519 (RFC 8032) signatures are deterministic, so the output is byte-for-byte stable.

Run: .venv/bin/python contracts/vectors/generate.py
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.canonical import MAX_SAFE_INTEGER, canonical_json
from dataex.core.registry.certificate_signing import (
    CERTIFICATE_SIGNING_PREFIX,
    certificate_signing_bytes,
    sign_certificate,
)
from dataex.core.contracts import CONTRACTS
from dataex.core.documents.encoding import b64url_encode
from dataex.core.registry.fingerprint import fingerprint, order_key
from dataex.core.log.merkle import leaf_hash
from dataex.core.registry.lifecycle import Registry
from dataex.core.registry.contracts import OpenNotice, Register, TakeForReview
from dataex.core.participants.request_auth import REQUEST_SIGNING_PREFIX, request_signing_bytes, sign_request
from dataex.core.documents.signing import SIGNING_PREFIX, key_id, public_key_bytes, signing_bytes
from dataex.core.documents.timefmt import parse_utc

OUTPUT = Path(__file__).with_name("vectors.json")
FINGERPRINT_OUTPUT = Path(__file__).with_name("fingerprint.json")

# Test keys only: their private halves are published here on purpose.
SEEDS: dict[str, bytes] = {
    "primary": bytes(range(32)),  # signs every vector
    "second": bytes(range(32, 64)),  # a trader's key: admitted, then revoked
    "third": bytes(range(64, 96)),  # the key the operator rotates to
}

# Not a known contract: documents that exercise canonicalisation beyond today's bodies.
CANONICALISATION_CONTRACT = "dataex.test.canonicalisation.v1"


def _private(name: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEEDS[name])


def _public(name: str) -> bytes:
    return public_key_bytes(_private(name))


def _key_entry(name: str) -> dict[str, str]:
    public = _public(name)
    return {
        "seed_hex": SEEDS[name].hex(),
        "public_key": b64url_encode(public),
        "public_key_hex": public.hex(),
        "public_key_sha256_hex": hashlib.sha256(public).hexdigest(),
        "key_id": key_id(public),
    }


def _document(contract: str, nonce: str, issued_at: str, body: dict[str, Any]) -> dict[str, Any]:
    """A document signed by the primary key; fields deliberately not in canonical order."""
    return {
        "contract": contract,
        "signer": key_id(_public("primary")),
        "nonce": nonce,
        "issued_at": issued_at,
        "body": body,
    }


def _vector(name: str, kind: str, description: str, document: dict[str, Any]) -> dict[str, Any]:
    canonical = canonical_json(document)
    signed = signing_bytes(document)
    return {
        "name": name,
        "kind": kind,
        "description": description,
        "key": "primary",
        "document": document,
        "canonical": canonical.decode("utf-8"),
        "canonical_hex": canonical.hex(),
        "signed_hex": signed.hex(),
        "signature": b64url_encode(_private("primary").sign(signed)),
    }


def _contract_vectors() -> list[dict[str, Any]]:
    """One coherent story: genesis, admit a trader, revoke its key, rotate the operator's."""
    pub = {name: b64url_encode(_public(name)) for name in SEEDS}
    return [
        _vector(
            "admit-genesis",
            "contract",
            "The operator admits itself: signer is the key id of body.public_key.",
            _document(
                "dataex.participant.admit.v1",
                "genesis-0001",
                "2026-11-27T12:00:00Z",
                {
                    "display_name": "Dataex Operator Ltd",
                    "legal_id": "LEI-5493001KJTIIGC8Y1R12",
                    "public_key": pub["primary"],
                    "roles": ["operator"],
                },
            ),
        ),
        _vector(
            "admit-trader-unicode",
            "contract",
            "Non-ASCII text (Chinese and an emoji outside the BMP) goes out as raw UTF-8; "
            "arrays keep their order (roles are not sorted).",
            _document(
                "dataex.participant.admit.v1",
                "3f2b9c1e-7a4d-4e8b-9c2f-1a6d5e0b7c34",
                "2026-11-27T12:00:05.250Z",
                {
                    "display_name": "深圳数据交易有限公司 📊",
                    "legal_id": "CN-USCC-91440300MA5G2X7Q1K",
                    "public_key": pub["second"],
                    "roles": ["trader", "issuer"],
                },
            ),
        ),
        _vector(
            "revoke-trader-key",
            "contract",
            "The operator revokes the trader's key.",
            _document(
                "dataex.key.revoke.v1",
                "01JDX7Q2ZK3M5N8P9R0STVWXYZ",
                "2026-11-27T12:01:00.123456Z",
                {
                    "key_id": key_id(_public("second")),
                    "reason": "Key reported compromised by its holder on 2026-11-27.",
                },
            ),
        ),
        _vector(
            "rotate-operator-key",
            "contract",
            "The operator replaces its key, signing with the old (primary) key.",
            _document(
                "dataex.key.rotate.v1",
                "op:rotate.2026-11-27_1",
                "2026-11-27T12:02:00Z",
                {"new_public_key": pub["third"]},
            ),
        ),
    ]


# The registry story: P000002 applies, registrar P000003 reviews, P000004 objects.
_ASSET: dict[str, Any] = {
    "title": "城市交通流量 2025 (urban traffic flow)",
    "description": "Per-minute vehicle counts from 1,200 road sensors.",
    "fingerprint": {
        "root": "6f1ed002ab5595859014ebf0951522d9a4ec3cb8f6d1cd2a37bdbc4b5cd2bc3a",
        "total_bytes": 5000000,
        "file_count": 12,
    },
    "product_form": "dataset",
    "industry": "transport",
    "scenario": "route planning",
    "update_frequency": "daily",
    "source_type": "authorised",
    "personal_information": False,
    "classification": "general",
    "authorisation_proofs": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
}
_INITIAL: dict[str, Any] = {
    "application": {
        "kind": "initial",
        "asset": _ASSET,
        "rights": ["holding", "processing_use", "product_operation"],
        "term_days": 1095,
    }
}
_REGISTERED_AT = "2026-11-27T12:05:00Z"
_DECIDED_AT = "2026-11-27T12:10:00Z"


def _certificate_document() -> dict[str, Any]:
    """What core derives for registering _INITIAL: the document the registrar signs."""
    registry = Registry()
    at, zero = parse_utc(_REGISTERED_AT), timedelta(0)
    registry.submit("P000002", msgspec.convert(_INITIAL, Register), at, zero)
    registry.take("P000003", TakeForReview("R000001"), at, zero)
    registry.open_notice("P000003", OpenNotice("R000001"), at, zero)
    (document,) = registry.preview_decision("P000003", "R000001", at, parse_utc(_DECIDED_AT))
    return document


def _certificate_vectors() -> list[dict[str, Any]]:
    document = _certificate_document()
    signed = certificate_signing_bytes(document)
    return [
        {
            "name": "certificate-initial",
            "description": "The certificate document registering the registry-register-initial "
            "application produces, signed by the registrar (here the primary key) with the "
            "certificate prefix; registry-decide-register carries this signature.",
            "key": "primary",
            "document": document,
            "canonical_hex": canonical_json(document).hex(),
            "signed_hex": signed.hex(),
            "signature": sign_certificate(document, _private("primary")),
        }
    ]


def _registry_vectors() -> list[dict[str, Any]]:
    (certificate,) = _certificate_vectors()
    decide_body = {
        "registration_id": "R000001",
        "outcome": "register",
        "certificate_signatures": [
            {"number": certificate["document"]["number"], "signature": certificate["signature"]}
        ],
    }
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("registry-register-initial", "dataex.registry.register.v1",
         "An initial registration claiming all three rights; `application` is tagged by `kind`.",
         _INITIAL),
        ("registry-register-transfer", "dataex.registry.register.v1",
         "A transfer of one right of a certificate to P000004, who must accept it.",
         {"application": {"kind": "transfer", "certificate_number": "DX-2026-000001",
                          "counterparty": "P000004", "rights": ["product_operation"]}}),
        ("registry-accept-transfer", "dataex.registry.accept_transfer.v1",
         "The receiver accepts the transfer.", {"registration_id": "R000002"}),
        ("registry-withdraw", "dataex.registry.withdraw.v1",
         "The applicant withdraws; `reason` is optional.",
         {"registration_id": "R000002", "reason": "Filed by mistake."}),
        ("registry-take", "dataex.registry.take.v1",
         "A registrar takes a submitted registration for review.",
         {"registration_id": "R000001"}),
        ("registry-open-notice", "dataex.registry.open_notice.v1",
         "The registrar starts the public notice.", {"registration_id": "R000001"}),
        ("registry-object", "dataex.registry.object.v1",
         "Another participant objects during the notice, with evidence hashes.",
         {"registration_id": "R000001", "grounds": "We collected these sensor counts.",
          "evidence_hashes": [hashlib.sha256(b"contract scan").hexdigest()]}),
        ("registry-decide-objection", "dataex.registry.decide_objection.v1",
         "The registrar dismisses the objection, with reasons.",
         {"objection_id": "O000001", "outcome": "dismiss",
          "reasons": "The sensor contract names the applicant."}),
        ("registry-decide-register", "dataex.registry.decide.v1",
         "The registrar registers R000001. issued_at is the certificate's issued_at; the "
         "signature is certificate-initial's.", decide_body),
        ("registry-decide-reject", "dataex.registry.decide.v1",
         "A rejection names a reason code and text, and carries no certificate signature.",
         {"registration_id": "R000002", "outcome": "reject", "reason_code": "rights_disputed",
          "reason_text": "The objection was upheld."}),
    ]
    return [
        _vector(name, "contract", description,
                _document(contract, name, _DECIDED_AT if "decide-register" in name
                          else _REGISTERED_AT, body))
        for name, contract, description, body in cases
    ]


_MARKET_AT = "2026-11-27T12:20:00Z"


def _market_vectors() -> list[dict[str, Any]]:
    """One document per market contract: a token product from listing to trading."""
    terms = {"purpose": "Route planning research", "scope": "Internal analytics only.",
             "duration_days": 365, "territory": "CN", "exclusivity": "non_exclusive",
             "sublicensable": False, "delivery": "api"}
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("market-deposit", "dataex.market.deposit.v1",
         "The operator credits 1,000.00 CNY (in fen) to P000004 from the bank rail.",
         {"participant_id": "P000004", "amount": 100000, "bank_reference": "ICBC-20261127-0001"}),
        ("market-withdraw", "dataex.market.withdraw.v1",
         "The operator pays 200.00 CNY of P000004's available cash out.",
         {"participant_id": "P000004", "amount": 20000}),
        ("market-define-token", "dataex.market.product.define_token.v1",
         "An issuer defines a token product; fees left out take the platform defaults.",
         {"symbol": "QWEN-IN-1M", "model_id": "qwen3-max", "unit_label": "1M input tokens",
          "valid_from": "2026-11-27T00:00:00Z", "valid_until": "2027-11-27T00:00:00Z",
          "tick_size": 1, "lot_size": 1, "min_price": 100, "max_price": 100000}),
        ("market-list-licence", "dataex.market.product.list_licence.v1",
         "The holder of DX-2026-000001 lists a data-licence product with its terms.",
         {"symbol": "TRAFFIC-LIC", "certificate_number": "DX-2026-000001",
          "licence_template_id": "standard@1", "terms": terms, "tick_size": 100,
          "lot_size": 1, "min_price": 10000, "max_price": 10000000}),
        ("market-approve", "dataex.market.product.approve.v1",
         "The operator lists a pending product, setting its fees.",
         {"symbol": "QWEN-IN-1M", "maker_fee_bps": 5, "taker_fee_bps": 10}),
        ("market-halt", "dataex.market.product.halt.v1", "Trading stops.",
         {"symbol": "QWEN-IN-1M", "reason": "Regulator inquiry."}),
        ("market-resume", "dataex.market.product.resume.v1", "Trading resumes.",
         {"symbol": "QWEN-IN-1M"}),
        ("market-delist", "dataex.market.product.delist.v1", "Final; open orders end.",
         {"symbol": "QWEN-IN-1M", "reason": "Model retired."}),
        ("market-mint", "dataex.market.mint.v1", "The issuer mints 1,000 units to itself.",
         {"symbol": "QWEN-IN-1M", "quantity": 1000}),
        ("market-licence-issue", "dataex.market.licence.issue.v1",
         "The lister issues 5 licence units to itself.", {"symbol": "TRAFFIC-LIC", "quantity": 5}),
        ("market-consume", "dataex.market.consume.v1",
         "The issuer reports that P000004 used 10 units, which are burnt.",
         {"symbol": "QWEN-IN-1M", "holder": "P000004", "units": 10,
          "usage_reference": "usage-2026-11-27"}),
        ("market-place", "dataex.market.order.place.v1",
         "A limit buy of 10 units at 5.00 CNY; stp left out means cancel_newest.",
         {"client_order_ref": "c-0001", "symbol": "QWEN-IN-1M", "side": "buy",
          "order_type": "limit", "price": 500, "quantity": 10}),
        ("market-cancel", "dataex.market.order.cancel.v1", "The owner cancels its order.",
         {"order_id": "O000001"}),
        ("market-reduce", "dataex.market.order.reduce.v1",
         "The owner lowers the remaining quantity to 4, keeping time priority.",
         {"order_id": "O000001", "new_quantity": 4}),
    ]
    return [
        _vector(name, "contract", description, _document(contract, name, _MARKET_AT, body))
        for name, contract, description, body in cases
    ]


_SUPERVISION_AT = "2026-11-27T12:30:00Z"


def _supervision_vectors() -> list[dict[str, Any]]:
    """One document per regulator contract (freeze, unfreeze, link, unlink)."""
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("regulator-freeze", "dataex.regulator.participant.freeze.v1",
         "A regulator freezes P000004: its documents are refused, its open orders end.",
         {"participant_id": "P000004", "reason": "Suspected spoofing; inquiry 2026-17."}),
        ("regulator-unfreeze", "dataex.regulator.participant.unfreeze.v1",
         "A regulator lets P000004 act again.",
         {"participant_id": "P000004", "reason": "Inquiry 2026-17 closed."}),
        ("regulator-link", "dataex.regulator.participant.link.v1",
         "A regulator declares P000004 and P000005 linked (shared beneficial owner).",
         {"participant_id": "P000004", "linked_participant_id": "P000005",
          "basis": "Same beneficial owner per filing 2026-118."}),
        ("regulator-unlink", "dataex.regulator.participant.unlink.v1",
         "A regulator removes the link.",
         {"participant_id": "P000004", "linked_participant_id": "P000005",
          "reason": "Ownership ended."}),
    ]
    return [
        _vector(name, "contract", description, _document(contract, name, _SUPERVISION_AT, body))
        for name, contract, description, body in cases
    ]


# RFC 8785 §3.2.3: members sort by UTF-16 code units, so U+1F600 (D83D DE00) sorts
# before U+FB33 although its code point (and UTF-8) is larger.
_UTF16_KEYS: dict[str, str] = {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\U0001f600": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis",
}

# Non-canonical JSON text of the string-escapes document: a parser must read it into
# the same document (escapes, \/ and an escaped surrogate pair, whitespace, key order).
_ESCAPES_TEXT = (
    '{ "body": { "text": "quote \\" backslash \\\\ slash \\/ tab \\t newline \\n '
    "cr \\r bs \\b ff \\f soh \\u0001 us \\u001F del \\u007f ls \\u2028 "
    'e-acute \\u00E9 emoji \\uD83D\\uDE00" },\n'
    '  "signer": "SIGNER", "nonce": "escapes-1", "issued_at": "2026-11-27T12:03:00Z",\n'
    '  "contract": "' + CANONICALISATION_CONTRACT + '" }'
)


def _canonicalisation_vectors() -> list[dict[str, Any]]:
    """Shapes today's bodies do not reach: a server answers these with unknown-contract."""
    escapes = _document(
        CANONICALISATION_CONTRACT,
        "escapes-1",
        "2026-11-27T12:03:00Z",
        {
            "text": 'quote " backslash \\ slash / tab \t newline \n cr \r bs \b ff \f '
            "soh \u0001 us \u001f del \u007f ls \u2028 e-acute é emoji 😀"
        },
    )
    escapes_vector = _vector(
        "string-escapes",
        "canonicalisation",
        'Only \\" and \\\\ and \\b \\f \\n \\r \\t and lowercase \\u00xx (other controls) are '
        "escaped; '/', DEL and U+2028 are not. document_text is a non-canonical spelling that "
        "must parse to the same document. (U+0000 is escaped the same way by JCS, but no dataex "
        "document may hold it: see negative vector nul-in-a-string.)",
        escapes,
    )
    escapes_vector["document_text"] = _ESCAPES_TEXT.replace("SIGNER", escapes["signer"])
    return [
        _vector(
            "utf16-key-order",
            "canonicalisation",
            "Object members sort by UTF-16 code units (RFC 8785 §3.2.3), not by code point "
            "or UTF-8 bytes.",
            _document(CANONICALISATION_CONTRACT, "utf16-1", "2026-11-27T12:03:00Z", _UTF16_KEYS),
        ),
        escapes_vector,
        _vector(
            "nested-integers",
            "canonicalisation",
            "Nested objects sort at every level; integers at ±(2^53-1) are the largest "
            "allowed; true, false, null and empty containers.",
            _document(
                CANONICALISATION_CONTRACT,
                "nested-1",
                "2026-11-27T12:03:00Z",
                {
                    "z": {"b": [1, {"y": MAX_SAFE_INTEGER, "x": -MAX_SAFE_INTEGER}], "a": 0},
                    "amounts": [MAX_SAFE_INTEGER - 1, -1, 100, 0],
                    "flags": {"t": True, "f": False, "n": None},
                    "empty_object": {},
                    "empty_array": [],
                },
            ),
        ),
    ]


def _negative_vectors(positive: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inputs a conforming client must refuse, each tied to the problem the server returns."""
    by_name = {v["name"]: v for v in positive}
    primary = _private("primary")

    trader = by_name["admit-trader-unicode"]
    tampered = json.loads(json.dumps(trader["document"]))
    tampered["body"]["roles"] = ["trader", "issuer", "operator"]

    genesis = by_name["admit-genesis"]
    unprefixed = primary.sign(canonical_json(genesis["document"]))

    sig = genesis["signature"]
    # 64 bytes need 86 characters whose last 4 bits are padding; a lenient decoder
    # ignores them, so flipping one of them must still be refused.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    trailing = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]

    return [*_door_vectors(trader), *[
        {
            "name": "float-refused",
            "description": "A float is not a dataex number: canonicalisation must refuse it.",
            "expect": "refused",
            "problem": "schema-violation",
            "document": _document(
                CANONICALISATION_CONTRACT, "float-1", "2026-11-27T12:04:00Z", {"price": 1.5}
            ),
        },
        {
            "name": "unsafe-integer-refused",
            "description": "2^53 is outside ±(2^53-1): canonicalisation must refuse it.",
            "expect": "refused",
            "problem": "schema-violation",
            "document": _document(
                CANONICALISATION_CONTRACT,
                "int-1",
                "2026-11-27T12:04:00Z",
                {"amount": MAX_SAFE_INTEGER + 1},
            ),
        },
        {
            "name": "tampered-document",
            "description": "admit-trader-unicode with 'operator' added to roles, carrying the "
            "original signature: verification must fail.",
            "expect": "bad-signature",
            "problem": "bad-signature",
            "derived_from": "admit-trader-unicode",
            "key": "primary",
            "document": tampered,
            "signature": trader["signature"],
        },
        {
            "name": "signature-without-prefix",
            "description": "admit-genesis signed over the canonical bytes without the "
            "'dataex-document-v1\\n' prefix: verification must fail.",
            "expect": "bad-signature",
            "problem": "bad-signature",
            "derived_from": "admit-genesis",
            "key": "primary",
            "document": genesis["document"],
            "signature": b64url_encode(unprefixed),
        },
        {
            "name": "signature-nonzero-trailing-bits",
            "description": "admit-genesis's signature with a padding bit of the last character "
            "set; it decodes leniently to the same 64 bytes but is not strict base64url.",
            "expect": "bad-encoding",
            "problem": "bad-encoding",
            "derived_from": "admit-genesis",
            "key": "primary",
            "document": genesis["document"],
            "signature": trailing,
        },
    ]]


def _door_vectors(trader: dict[str, Any]) -> list[dict[str, Any]]:
    """Whole request bodies the server refuses before anything else (SPEC section 6, step 2).

    Each is a correctly signed envelope whose JSON holds what no document may
    carry, so only the server's door (not a client's canonicaliser) refuses it.
    """
    primary = _private("primary")

    def signed_body(document: dict[str, Any]) -> str:
        envelope = {"document": document,
                    "signature": b64url_encode(primary.sign(signing_bytes(document)))}
        return json.dumps(envelope, ensure_ascii=True, separators=(",", ":"))

    nul_name = json.loads(json.dumps(trader["document"]))
    nul_name["body"]["display_name"] = "Mallory\u0000"
    nul_member = json.loads(json.dumps(trader["document"]))
    nul_member["body"]["\u0000"] = 1
    plain = signed_body(trader["document"])
    name = json.dumps(trader["document"]["body"]["display_name"], ensure_ascii=True)
    assert name in plain
    surrogate = plain.replace(name, name[:-1] + '\\ud800"', 1)
    deep = plain.replace(name, "[" * 32 + "]" * 32, 1)

    def door(name: str, description: str, body: str, status: int, problem: str) -> dict[str, Any]:
        return {"name": name, "description": description, "expect": "refused-at-door",
                "status": status, "problem": problem, "body_text": body}

    return [
        door("nul-in-a-string", "A signed envelope whose display_name holds U+0000 "
             "(JSON \\u0000): no string of a document may.",
             signed_body(nul_name), 422, "forbidden-character"),
        door("nul-in-a-member-name", "A member name holding U+0000.",
             signed_body(nul_member), 422, "forbidden-character"),
        door("lone-surrogate", "A string ending in the escape \\ud800 with no low surrogate: "
             "not I-JSON.", surrogate, 400, "malformed-json"),
        door("nesting-too-deep", "A value nested 32 arrays deep inside the body (the limit "
             "is 32 levels in the whole envelope).", deep, 400, "malformed-json"),
    ]


def _request_vectors() -> list[dict[str, Any]]:
    """Signed requests (SPEC section 12): the bytes signed and the Dataex-Auth header."""
    primary = _private("primary")
    cases = [
        ("get-own-orders", "GET", "/v1/market/me/orders?status=open", 1764244800,
         "n0nce-0000000001", b""),
        ("get-entry", "GET", "/v1/audit/entries/42", 1764244801, "AAAAAAAAAAAAAAAAAAAAAA", b""),
        ("post-with-body", "POST", "/v1/anything", 1764244802, "body-nonce-123456",
         b'{"a":1}'),
    ]
    out = []
    for name, method, target, stamp, nonce, body in cases:
        signed = request_signing_bytes(method, target, stamp, nonce, body)
        out.append({
            "name": name, "key": "primary", "method": method, "target": target,
            "timestamp": stamp, "nonce": nonce, "body_hex": body.hex(),
            "signed_text": signed.decode("utf-8"), "signed_hex": signed.hex(),
            "header": sign_request(primary, method, target, stamp, nonce, body),
        })
    return out


def build_vectors() -> dict[str, Any]:
    """The whole vectors file as a JSON value; pure and deterministic."""
    positive = (
        _contract_vectors() + _registry_vectors() + _market_vectors()
        + _supervision_vectors() + _canonicalisation_vectors()
    )
    return {
        "about": "dataex signing test vectors; see contracts/SPEC.md and README.md here. "
        "Generated by contracts/vectors/generate.py; do not edit by hand.",
        "signing_prefix": SIGNING_PREFIX.decode("ascii"),
        "signing_prefix_hex": SIGNING_PREFIX.hex(),
        "max_safe_integer": MAX_SAFE_INTEGER,
        "contracts": sorted(CONTRACTS),
        "keys": {name: _key_entry(name) for name in SEEDS},
        "vectors": positive,
        "negative": _negative_vectors(positive),
        "certificate_signing_prefix": CERTIFICATE_SIGNING_PREFIX.decode("ascii"),
        "certificate_signing_prefix_hex": CERTIFICATE_SIGNING_PREFIX.hex(),
        "certificates": _certificate_vectors(),
        "request_signing_prefix": REQUEST_SIGNING_PREFIX,
        "requests": _request_vectors(),
    }


# A small tree that exercises the ordering rule: upper case sorts before lower case,
# "a.txt" (0x2E) before "a/..." (0x2F), "a b" (space) first, non-ASCII last, and an
# empty file still counts as a leaf.
FINGERPRINT_TREE: dict[str, bytes] = {
    "data/2025-01.csv": b"sensor,count\nS1,17\nS2,4\n",
    "data/2025-02.csv": b"sensor,count\nS1,21\n",
    "README.md": b"# Urban traffic flow\n",
    "a.txt": b"a",
    "a/b.txt": b"b",
    "a b.txt": b"",
    "数据/说明.txt": "传感器计数".encode(),
}


def build_fingerprint_vectors() -> dict[str, Any]:
    files = sorted(FINGERPRINT_TREE.items(), key=lambda item: order_key(item[0]))
    leaves = []
    for path, content in files:
        digest = hashlib.sha256(content).digest()
        leaves.append({
            "path": path,
            "path_utf8_hex": order_key(path).hex(),
            "content_hex": content.hex(),
            "size": len(content),
            "sha256": digest.hex(),
            "leaf_hash": leaf_hash(digest).hex(),
        })
    result = fingerprint(
        (path, hashlib.sha256(content).digest(), len(content))
        for path, content in FINGERPRINT_TREE.items()
    )
    single = b"one file"
    return {
        "about": "dataex fingerprint test vectors; the rule is contracts/FINGERPRINT.md. "
        "Generated by contracts/vectors/generate.py; do not edit by hand.",
        "tree": {"files_in_order": leaves, "fingerprint": result},
        "single_file": {
            "path": "report.pdf",
            "content_hex": single.hex(),
            "fingerprint": fingerprint([("report.pdf", hashlib.sha256(single).digest(),
                                         len(single))]),
        },
    }


def render(vectors: dict[str, Any]) -> str:
    """The exact file text: 2-space indent, raw UTF-8, insertion order kept, final newline."""
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(build_vectors()), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    FINGERPRINT_OUTPUT.write_text(render(build_fingerprint_vectors()), encoding="utf-8")
    print(f"wrote {FINGERPRINT_OUTPUT}")
