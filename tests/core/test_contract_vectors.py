"""The published signing vectors agree with the server's code, and cannot drift from it.

Client authors trust contracts/vectors/vectors.json and contracts/SPEC.md as the
definition of signing; these tests tie both to dataex.core so a change on either
side fails here first.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataex.core.contracts import CONTRACTS, AdmitParticipant
from dataex.core.documents import errors
from dataex.core.documents.canonical import NonCanonicalValue, canonical_json
from dataex.core.documents.encoding import b64url_decode
from dataex.core.documents.signing import SIGNING_PREFIX, key_id, public_key_bytes, verify_signature
from dataex.core.envelope import BodyTooLarge, parse_envelope
from dataex.core.registry.certificate_signing import (
    CERTIFICATE_SIGNING_PREFIX,
    certificate_signature_valid,
    certificate_signing_bytes,
)
from tests.factories import Actor

ROOT = Path(__file__).resolve().parents[2]
VECTORS_DIR = ROOT / "contracts" / "vectors"
SPEC = ROOT / "contracts" / "SPEC.md"


def _load_generator() -> ModuleType:
    path = VECTORS_DIR / "generate.py"
    spec = importlib.util.spec_from_file_location("dataex_vectors_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _load_generator()
FILE: dict[str, Any] = json.loads((VECTORS_DIR / "vectors.json").read_text(encoding="utf-8"))
KEYS: dict[str, dict[str, str]] = FILE["keys"]
VECTORS: list[dict[str, Any]] = FILE["vectors"]
NEGATIVE: list[dict[str, Any]] = FILE["negative"]
BY_NAME = {v["name"]: v for v in VECTORS}


def _public_key(name: str) -> bytes:
    return b64url_decode(KEYS[name]["public_key"], length=32)


# (b) no drift -------------------------------------------------------------------------


def test_committed_file_equals_regenerated_vectors() -> None:
    committed = (VECTORS_DIR / "vectors.json").read_text(encoding="utf-8")
    regenerated = GENERATOR.render(GENERATOR.build_vectors())
    assert committed == regenerated, "vectors.json is stale: run contracts/vectors/generate.py"


def test_build_vectors_is_deterministic() -> None:
    assert GENERATOR.build_vectors() == GENERATOR.build_vectors()


# (a) keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KEYS))
def test_key_entry_matches_seed(name: str) -> None:
    entry = KEYS[name]
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(entry["seed_hex"]))
    public = public_key_bytes(private)
    assert entry["public_key_hex"] == public.hex()
    assert len(entry["public_key"]) == 43
    assert b64url_decode(entry["public_key"], length=32) == public
    assert entry["key_id"] == key_id(public)
    # The key id written out by hand from the SHA-256, as SPEC.md describes it.
    digest16 = bytes.fromhex(entry["public_key_sha256_hex"])[:16]
    assert entry["key_id"] == "ed25519:" + base64.urlsafe_b64encode(digest16).decode().rstrip("=")


def test_primary_key_is_the_documented_seed() -> None:
    assert bytes.fromhex(KEYS["primary"]["seed_hex"]) == bytes(range(32))
    assert FILE["signing_prefix"].encode("ascii") == SIGNING_PREFIX
    assert bytes.fromhex(FILE["signing_prefix_hex"]) == SIGNING_PREFIX


# (a) positive vectors -----------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_canonical_and_signed_bytes(vector: dict[str, Any]) -> None:
    canonical = canonical_json(vector["document"])
    assert canonical.hex() == vector["canonical_hex"]
    assert canonical == vector["canonical"].encode("utf-8")
    assert bytes.fromhex(vector["signed_hex"]) == SIGNING_PREFIX + canonical


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_signature_verifies(vector: dict[str, Any]) -> None:
    assert len(vector["signature"]) == 86
    verify_signature(vector["document"], vector["signature"], _public_key(vector["key"]))
    assert vector["document"]["signer"] == KEYS[vector["key"]]["key_id"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_signature_is_the_deterministic_ed25519_signature(vector: dict[str, Any]) -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(KEYS[vector["key"]]["seed_hex"]))
    expected = private.sign(bytes.fromhex(vector["signed_hex"]))
    assert b64url_decode(vector["signature"], length=64) == expected


def test_canonical_form_is_not_the_file_spelling() -> None:
    """Vectors only test a canonicaliser if their documents are not already canonical."""
    for vector in VECTORS:
        compact = json.dumps(vector["document"], ensure_ascii=False, separators=(",", ":"))
        assert compact.encode("utf-8") != bytes.fromhex(vector["canonical_hex"]), vector["name"]


def test_required_coverage_is_present() -> None:
    documents = [v for v in VECTORS if v["kind"] == "contract"]
    assert {v["document"]["contract"] for v in documents} == set(CONTRACTS)
    canonicals = [v["canonical"] for v in VECTORS]
    assert any("数据" in c and "📊" in c for c in canonicals)
    assert any(str(2**53 - 1) in c and str(-(2**53 - 1)) in c for c in canonicals)
    # UTF-16 order differs from code-point order only if some key sits above U+FFFF
    # and another in U+E000..U+FFFF; check the vector really has that pair in that order.
    body = BY_NAME["utf16-key-order"]["canonical"]
    assert body.index("\U0001f600") < body.index("\ufb33")


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v["kind"] == "contract"], ids=lambda v: v["name"]
)
def test_contract_vectors_pass_the_server_parser(vector: dict[str, Any]) -> None:
    """A client sending the vector as JSON gets past size, JSON, contract and schema."""
    raw = json.dumps({"document": vector["document"], "signature": vector["signature"]}).encode()
    parsed = parse_envelope(raw, max_bytes=64 * 1024)
    assert parsed.contract.name == vector["document"]["contract"]
    assert parsed.canonical_document.hex() == vector["canonical_hex"]
    with pytest.raises(BodyTooLarge):
        parse_envelope(raw, max_bytes=len(raw) - 1)


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v["kind"] == "canonicalisation"], ids=lambda v: v["name"]
)
def test_canonicalisation_vectors_name_no_contract(vector: dict[str, Any]) -> None:
    assert vector["document"]["contract"] not in CONTRACTS
    raw = json.dumps({"document": vector["document"], "signature": vector["signature"]}).encode()
    with pytest.raises(errors.UnknownContract):
        parse_envelope(raw, max_bytes=64 * 1024)


def test_document_text_parses_to_the_same_canonical_bytes() -> None:
    with_text = [v for v in VECTORS if "document_text" in v]
    assert with_text
    for vector in with_text:
        parsed = msgspec.json.decode(vector["document_text"].encode("utf-8"))
        assert parsed == vector["document"]
        assert canonical_json(parsed).hex() == vector["canonical_hex"]


# (a) negative vectors -----------------------------------------------------------------


def _negatives(expect: str) -> list[dict[str, Any]]:
    found = [n for n in NEGATIVE if n["expect"] == expect]
    assert found, f"no negative vector expects {expect}"
    return found


def test_every_negative_vector_is_checked() -> None:
    assert {n["expect"] for n in NEGATIVE} == {"refused", "bad-signature", "bad-encoding",
                                               "refused-at-door"}


@pytest.mark.parametrize("vector", _negatives("refused-at-door"), ids=lambda v: v["name"])
def test_bodies_the_door_refuses(vector: dict[str, Any]) -> None:
    from dataex.core.envelope import parse_envelope

    with pytest.raises(errors.DomainError) as caught:
        parse_envelope(vector["body_text"].encode("utf-8"), 1 << 20)
    assert (caught.value.status, caught.value.slug) == (vector["status"], vector["problem"])


@pytest.mark.parametrize("vector", _negatives("refused"), ids=lambda v: v["name"])
def test_refused_documents(vector: dict[str, Any]) -> None:
    with pytest.raises(NonCanonicalValue):
        canonical_json(vector["document"])
    assert vector["problem"] == errors.SchemaViolation.slug


@pytest.mark.parametrize("vector", _negatives("bad-signature"), ids=lambda v: v["name"])
def test_bad_signatures_fail(vector: dict[str, Any]) -> None:
    public = _public_key(vector["key"])
    with pytest.raises(errors.BadSignature):
        verify_signature(vector["document"], vector["signature"], public)
    assert vector["problem"] == errors.BadSignature.slug


def test_tampered_signature_is_the_original_one() -> None:
    """The tampered vector fails because of the edit, not because its signature is junk."""
    (tampered,) = [n for n in NEGATIVE if n["name"] == "tampered-document"]
    original = BY_NAME[tampered["derived_from"]]
    assert tampered["signature"] == original["signature"]
    assert tampered["document"] != original["document"]
    verify_signature(original["document"], tampered["signature"], _public_key(tampered["key"]))


def test_unprefixed_signature_signs_the_bare_canonical_bytes() -> None:
    """So a client that forgets the prefix reproduces exactly this signature."""
    (vector,) = [n for n in NEGATIVE if n["name"] == "signature-without-prefix"]
    raw = b64url_decode(vector["signature"], length=64)
    Ed25519PublicKey.from_public_bytes(_public_key(vector["key"])).verify(
        raw, canonical_json(vector["document"])
    )


@pytest.mark.parametrize("vector", _negatives("bad-encoding"), ids=lambda v: v["name"])
def test_bad_encodings_are_refused(vector: dict[str, Any]) -> None:
    original = BY_NAME[vector["derived_from"]]
    lenient = base64.urlsafe_b64decode(vector["signature"] + "==")
    assert lenient == b64url_decode(original["signature"], length=64)
    with pytest.raises(errors.BadEncoding):
        verify_signature(vector["document"], vector["signature"], _public_key(vector["key"]))
    assert vector["problem"] == errors.BadEncoding.slug


# (b2) signed requests ------------------------------------------------------------------


@pytest.mark.parametrize("vector", FILE["requests"], ids=lambda v: v["name"])
def test_signed_request_vectors_verify_and_are_accepted_once(vector: dict[str, Any]) -> None:
    from dataex.core.participants.directory import Participants
    from dataex.core.participants.request_auth import (
        ReplayedRequest,
        ReplayGuard,
        authenticate_request,
        request_signing_bytes,
    )

    body = bytes.fromhex(vector["body_hex"])
    signed = request_signing_bytes(vector["method"], vector["target"], vector["timestamp"],
                                   vector["nonce"], body)
    assert signed.hex() == vector["signed_hex"] and signed.decode() == vector["signed_text"]
    people = Participants()
    admitted = Actor.new("v")
    admitted.key = _private_key(vector["key"])
    people.admit(msgspec.convert(admitted.admission(["trader"]), AdmitParticipant))
    guard = ReplayGuard(300)
    args = (vector["header"], vector["method"], vector["target"], body, people)
    assert authenticate_request(*args, now=vector["timestamp"], max_skew_seconds=300,
                                replay_guard=guard) == "P000001"
    with pytest.raises(ReplayedRequest):  # the same header a second time
        authenticate_request(*args, now=vector["timestamp"] + 1, max_skew_seconds=300,
                             replay_guard=guard)


def _private_key(name: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(FILE["keys"][name]["seed_hex"]))


# (c) SPEC.md --------------------------------------------------------------------------


def _spec() -> str:
    return SPEC.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_contract_is_in_the_spec(name: str) -> None:
    assert f"`{name}`" in _spec()


def _server_problems() -> list[tuple[str, int]]:
    """(slug, status) of every DomainError the served app can raise.

    Computed in a fresh interpreter that imports only the app, so the answer is
    what a running server knows, not whatever else this test session imported.
    """
    code = (
        "import json\n"
        "import dataex.api.app\n"
        "from dataex.api.problems import _subclasses\n"
        "from dataex.core.documents.errors import DomainError\n"
        "print(json.dumps(sorted({(c.slug, c.status) for c in _subclasses(DomainError)})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return [(slug, status) for slug, status in json.loads(out.stdout)]


SERVER_PROBLEMS = _server_problems()


def test_the_problem_list_sees_every_area() -> None:
    slugs = {slug for slug, _ in SERVER_PROBLEMS}
    assert {BodyTooLarge.slug, errors.NotFound.slug, "weak-key", "certificate-signature"} <= slugs


@pytest.mark.parametrize("problem", SERVER_PROBLEMS, ids=lambda p: p[0])
def test_every_problem_slug_is_in_the_spec_with_its_status(problem: tuple[str, int]) -> None:
    slug, status = problem
    row = re.compile(rf"^\|\s*`{re.escape(slug)}`\s*\|\s*{status}\s*\|", re.M)
    assert row.search(_spec()), f"SPEC.md has no row `{slug}` | {status} |"


def test_spec_states_the_signing_prefix() -> None:
    assert SIGNING_PREFIX.hex() in _spec()
    assert CERTIFICATE_SIGNING_PREFIX.hex() in _spec()


# (d) certificates ---------------------------------------------------------------------

CERTIFICATES: list[dict[str, Any]] = FILE["certificates"]


def test_certificate_prefix_is_published() -> None:
    assert FILE["certificate_signing_prefix"].encode("ascii") == CERTIFICATE_SIGNING_PREFIX
    assert bytes.fromhex(FILE["certificate_signing_prefix_hex"]) == CERTIFICATE_SIGNING_PREFIX


@pytest.mark.parametrize("vector", CERTIFICATES, ids=lambda v: v["name"])
def test_certificate_signature_verifies_over_the_prefixed_document(vector: dict[str, Any]) -> None:
    document = vector["document"]
    assert canonical_json(document).hex() == vector["canonical_hex"]
    assert bytes.fromhex(vector["signed_hex"]) == certificate_signing_bytes(document)
    public = _public_key(vector["key"])
    assert certificate_signature_valid(document, vector["signature"], public)
    # Not valid as a document signature, nor over the document without its prefix.
    with pytest.raises(errors.BadSignature):
        verify_signature(document, vector["signature"], public)
    tampered = {**document, "holder": "P999999"}
    assert not certificate_signature_valid(tampered, vector["signature"], public)


def test_the_decide_vector_carries_the_certificate_signature() -> None:
    (certificate,) = CERTIFICATES
    decide = BY_NAME["registry-decide-register"]["document"]
    assert decide["body"]["certificate_signatures"] == [
        {"number": certificate["document"]["number"], "signature": certificate["signature"]}
    ]
    assert certificate["document"]["issued_at"].startswith(decide["issued_at"][:-1])
