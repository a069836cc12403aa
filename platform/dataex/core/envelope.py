"""Turn request bytes into an authenticated command, in the documented order.

Order (contracts/SPEC.md): size, JSON, known contract, schema, signer known
(its key is needed to check anything more), signature, signer's key active,
role, issued_at within skew. The nonce is checked by the sequencer, which
alone knows what has been committed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from dataex.core.contracts import CONTRACTS, ENVELOPE_TYPES, Contract
from dataex.core.documents.canonical import (
    NonCanonicalValue,
    canonical_json,
    canonical_json_spliced,
)
from dataex.core.documents.encoding import b64url_decode
from dataex.core.documents.errors import (
    ClockSkew,
    DomainError,
    ForbiddenCharacter,
    MalformedJson,
    ParticipantFrozen,
    RevokedKey,
    RoleNotAllowed,
    SchemaViolation,
    UnknownContract,
    UnknownSigner,
)
from dataex.core.documents.signing import PUBLIC_KEY_BYTES, key_id, verify_canonical
from dataex.core.documents.timefmt import parse_utc
from dataex.core.participants.directory import Participants

ADMIT_CONTRACT = "dataex.participant.admit.v1"


class BodyTooLarge(DomainError):
    status = 413
    slug = "body-too-large"
    title = "The request body is too large"


@dataclass(frozen=True)
class ParsedEnvelope:
    """A well-formed envelope of a known contract; not yet authenticated."""

    contract: Contract
    envelope: dict[str, Any]  # exactly as parsed; what the signature covers
    typed: Any  # the msgspec Envelope_* instance
    canonical_document: bytes

    def canonical_envelope(self) -> bytes:
        """`canonical_json(self.envelope)`, built around the document's canonical bytes."""
        spliced = canonical_json_spliced(self.envelope, {"document": self.canonical_document})
        return canonical_json(self.envelope) if spliced is None else spliced

    @property
    def document(self) -> dict[str, Any]:
        return self.envelope["document"]  # type: ignore[no-any-return]

    @property
    def body(self) -> Any:
        return self.typed.document.body

    @property
    def signer(self) -> str:
        return self.typed.document.signer  # type: ignore[no-any-return]

    @property
    def nonce(self) -> str:
        return self.typed.document.nonce  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Command:
    """An authenticated document, ready for the sequencer."""

    parsed: ParsedEnvelope
    participant_id: str | None  # None only for the genesis self-admission
    genesis: bool = False

    @property
    def contract_name(self) -> str:
        return self.parsed.contract.name


def parse_envelope(raw: bytes, max_bytes: int) -> ParsedEnvelope:
    if len(raw) > max_bytes:
        raise BodyTooLarge(f"body is {len(raw)} bytes; the limit is {max_bytes}")
    return envelope_from_object(_strict_json(raw))


def envelope_from_object(obj: Any) -> ParsedEnvelope:
    """`parse_envelope` after the JSON: for an envelope already decoded (a logged entry's)."""
    document = obj.get("document") if isinstance(obj, dict) else None
    name = document.get("contract") if isinstance(document, dict) else None
    if not isinstance(name, str):
        raise SchemaViolation("expected an object {document: {contract, ...}, signature}")
    contract = CONTRACTS.get(name)
    if contract is None:
        raise UnknownContract(f"unknown contract {name!r}", known=sorted(CONTRACTS))
    try:
        typed = msgspec.convert(obj, ENVELOPE_TYPES[name])
        canonical = canonical_json(document)
    except msgspec.ValidationError as exc:
        raise SchemaViolation(str(exc)) from exc
    except NonCanonicalValue as exc:
        raise SchemaViolation(str(exc)) from exc
    return ParsedEnvelope(contract, obj, typed, canonical)


def authenticate(
    parsed: ParsedEnvelope,
    participants: Participants,
    *,
    now: datetime,
    max_skew: timedelta,
    allow_genesis: bool = False,
    verified_key: bytes | None = None,
) -> Command:
    """Check signature, signer, role and time against the current participants."""
    command = authenticate_signer(
        parsed, participants, allow_genesis=allow_genesis, verified_key=verified_key
    )
    _check_skew(parsed, now, max_skew)
    return command


def authenticate_signer(
    parsed: ParsedEnvelope,
    participants: Participants,
    *,
    allow_genesis: bool = False,
    verified_key: bytes | None = None,
) -> Command:
    """Everything `authenticate` checks except the clock.

    Replaying a log needs exactly this: the documents were on time when they
    were accepted, and a replay must not depend on when it runs.

    ``verified_key``: the caller already ran `verify_canonical` on this
    document under this public key (the server does it on worker threads); the
    signature is checked again unless it is exactly the signer's key.
    """
    public_key, genesis = signer_public_key(parsed, participants, allow_genesis=allow_genesis)
    if genesis or verified_key != public_key:
        verify_canonical(parsed.canonical_document, parsed.envelope["signature"], public_key)
    return authorize_signer(parsed, participants, genesis=genesis)


def signer_public_key(
    parsed: ParsedEnvelope, participants: Participants, *, allow_genesis: bool = False
) -> tuple[bytes, bool]:
    """The key the signature must verify under, and whether this is the genesis admission.

    Split from `authenticate_signer` so that the offline verifier can check a
    whole log's signatures in other processes: it replays with this and
    `authorize_signer`, in the same order, and verifies the signature apart.
    """
    record = participants.keys.get(parsed.signer)
    if record is not None:
        return record.public_key, False
    if allow_genesis and _is_genesis(parsed, participants):
        return b64url_decode(parsed.body.public_key, length=PUBLIC_KEY_BYTES), True
    raise UnknownSigner(f"signer {parsed.signer} is not an admitted key")


def authorize_signer(
    parsed: ParsedEnvelope, participants: Participants, *, genesis: bool = False
) -> Command:
    """After the signature: key active and role allowed (nothing to check for genesis)."""
    if genesis:
        return Command(parsed, None, genesis=True)
    return Command(parsed, _authorize(parsed, participants))


def recheck_signer(command: Command, participants: Participants) -> None:
    """Re-check key status and role at sequencing time, without the signature.

    The request was authenticated against the state it saw; a revocation or a
    rotation committed in between must still stop it.
    """
    _authorize(command.parsed, participants)


def _authorize(parsed: ParsedEnvelope, participants: Participants) -> str:
    """Signer admitted, key active, role allowed: return the participant id."""
    record = participants.keys.get(parsed.signer)
    if record is None:
        raise UnknownSigner(f"signer {parsed.signer} is not an admitted key")
    if record.status != "active":
        raise RevokedKey(f"key {parsed.signer} is {record.status}")
    participant = participants.by_id[record.participant_id]
    if participant.status == "frozen":
        raise ParticipantFrozen(
            f"participant {participant.participant_id} is frozen by a regulator",
            participant_id=participant.participant_id,
        )
    if participant.status != "active":
        raise RevokedKey(f"participant {participant.participant_id} is {participant.status}")
    allowed = parsed.contract.roles
    if allowed is not None and not (allowed & participant.roles):
        raise RoleNotAllowed(
            f"{parsed.contract.name} needs one of the roles {sorted(allowed)}; "
            f"{participant.participant_id} has {sorted(participant.roles)}"
        )
    return participant.participant_id


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise MalformedJson(f"member name {name!r} appears twice in one object")
        obj[name] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not JSON")


_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()
_FAST_NESTING = 200  # at most this many '[' and '{' bytes in a body for the fast parser
# Deepest nesting of arrays and objects a body may have. The deepest contract
# nests 5 levels; anything far deeper is refused before it can cost recursion.
MAX_NESTING = 32


def _strict_json(raw: bytes) -> Any:
    """I-JSON (RFC 7493), as RFC 8785 requires: UTF-8, no duplicate names, no NaN.

    A parser that kept the first of two duplicate names would see another
    document than the one whose signature we checked, so duplicates are refused.

    Speed: msgspec decodes in C but keeps the last of duplicate names, so its
    value is taken only when it provably has none: without a \\u escape in the
    body, a ':' byte is either a member's separator or a ':' inside a string,
    and the strings come out unchanged; re-encoding the value writes one ':'
    per member it kept and the same strings, so it has as many ':' as the body
    exactly when no member was dropped. Anything else (an escape, an error,
    a duplicate, NaN, deep nesting) takes the reference parser below, which
    gives the answer and the error it always gave, after checking every
    string (`_refuse_unholdable`): only a body with a \\u escape can hold
    U+0000 or a lone surrogate, since raw control characters and surrogates
    are not valid JSON or UTF-8 to either parser.
    """
    # Deep nesting too: near the recursion limit the two parsers give up at
    # slightly different depths, and there the reference parser's answer stands.
    # Fewer brackets than MAX_NESTING cannot nest too deep, so the walk of
    # `_refuse_unholdable` is skipped for every ordinary document.
    brackets = raw.count(b"[") + raw.count(b"{")
    if b"\\u" not in raw and brackets < _FAST_NESTING:
        try:
            value = _decoder.decode(raw)
            if _encoder.encode(value).count(b":") == raw.count(b":"):
                return value if brackets < MAX_NESTING else _refuse_unholdable(value)
        except (msgspec.MsgspecError, ValueError, RecursionError):  # bad UTF-8 is a ValueError
            pass
    return _reference_json(raw)


def _reference_json(raw: bytes) -> Any:
    """The parser whose answer is the rule: I-JSON, then `_refuse_unholdable`."""
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedJson(f"body nests deeper than {MAX_NESTING} levels") from exc
    return _refuse_unholdable(value)


def _refuse_unholdable(value: Any) -> Any:
    """Refuse what no document may carry: deep nesting, U+0000, lone surrogates.

    U+0000 is valid JSON but PostgreSQL text cannot hold it, so one such
    string made a whole group-commit batch fail. A lone surrogate is not
    I-JSON (RFC 7493) and has no UTF-8 form at all. Walked without recursion.
    """
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            _check_string(node, path)
        elif isinstance(node, dict | list):
            if depth >= MAX_NESTING:
                raise MalformedJson(f"body nests deeper than {MAX_NESTING} levels at {path}")
            if isinstance(node, dict):
                for name, child in node.items():
                    _check_string(name, f"{path} (a member name)")
                    stack.append((child, f"{path}.{name}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))
    return value


def _check_string(text: str, path: str) -> None:
    if "\x00" in text:
        raise ForbiddenCharacter(f"{path} holds U+0000; no string of a document may")
    if _SURROGATE.search(text):
        raise MalformedJson(f"{path} holds a lone surrogate: the body is not I-JSON (RFC 7493)")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _is_genesis(parsed: ParsedEnvelope, participants: Participants) -> bool:
    return (
        not participants.by_id
        and parsed.contract.name == ADMIT_CONTRACT
        and "operator" in parsed.body.roles
        and key_id(b64url_decode(parsed.body.public_key, length=PUBLIC_KEY_BYTES))
        == parsed.signer
    )


def _check_skew(parsed: ParsedEnvelope, now: datetime, max_skew: timedelta) -> None:
    try:
        issued = parse_utc(parsed.typed.document.issued_at)
    except ValueError as exc:
        raise SchemaViolation(f"issued_at is not a real time: {exc}") from exc
    if abs(issued - now) > max_skew:
        raise ClockSkew(
            f"issued_at {parsed.typed.document.issued_at} is more than "
            f"{int(max_skew.total_seconds())} s from the server's time"
        )
