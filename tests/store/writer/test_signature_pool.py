"""Signatures checked on worker threads give each document its own verdict, as on the loop."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import BadSignature, DomainError
from dataex.core.documents.signing import public_key_bytes, sign_document, verify_canonical
from dataex.store.writer.signature_pool import SignaturePool


def _signed(key: Ed25519PrivateKey, n: int) -> tuple[bytes, str]:
    envelope = sign_document({"contract": "x", "nonce": str(n), "body": {"n": n}}, key)
    return canonical_json(envelope["document"]), envelope["signature"]


@pytest.mark.parametrize("threads", [1, 2])
async def test_a_crowd_of_checks_gets_the_same_verdicts_as_verify_canonical(threads: int) -> None:
    signer, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    good_key = public_key_bytes(signer)
    checks = []
    for n in range(300):
        canonical, signature = _signed(signer if n % 3 else other, n)
        if n % 7 == 0:
            signature = "not base64url!"
        checks.append((canonical, signature, good_key))
    pool = SignaturePool(threads)
    try:
        outcomes = await asyncio.gather(*(pool.verify(*c) for c in checks), return_exceptions=True)
    finally:
        pool.close()
    for check, outcome in zip(checks, outcomes, strict=True):
        try:
            verify_canonical(*check)
            expected: type[BaseException] | None = None
        except DomainError as error:
            expected = type(error)
        assert (None if outcome is None else type(outcome)) is expected
    assert sum(isinstance(o, BadSignature) for o in outcomes) > 50
    assert outcomes.count(None) > 150


async def test_the_server_path_with_verify_threads_commits_good_documents_and_refuses_forged(  # type: ignore[no-untyped-def]
    settings,
) -> None:
    """DATAEX_VERIFY_THREADS > 0: Sequencer.accept checks on threads, same answers as inline."""
    import dataclasses

    import msgspec

    from dataex.core.envelope import parse_envelope
    from dataex.store.runtime import open_runtime
    from tests.factories import ADMIT, Actor
    from tests.platform_setup import with_operator

    runtime = await open_runtime(dataclasses.replace(settings, verify_threads=2))
    try:
        assert runtime.sequencer.signatures is not None
        operator = await with_operator(runtime)
        good = [operator.sign(ADMIT, Actor.new(f"g{i}").admission(["trader"])) for i in range(40)]
        forged = [dict(e, signature=operator.sign(ADMIT, {})["signature"]) for e in good[:5]]
        unknown = Actor.new("stranger").sign(ADMIT, Actor.new("x").admission(["trader"]))

        async def accept(envelope: dict) -> object:  # type: ignore[type-arg]
            parsed = parse_envelope(msgspec.json.encode(envelope), 1 << 16)
            return await runtime.sequencer.accept(parsed, max_skew=settings.max_clock_skew)

        outcomes = await asyncio.gather(*(accept(e) for e in [*good[5:], *forged, unknown]),
                                        return_exceptions=True)
        assert all(not isinstance(o, BaseException) for o in outcomes[:35])
        assert [type(o) for o in outcomes[35:40]] == [BadSignature] * 5
        assert type(outcomes[40]).__name__ == "UnknownSigner"
        assert runtime.sequencer.head.seq == 36  # the operator and the 35 good admissions
    finally:
        await runtime.close()
