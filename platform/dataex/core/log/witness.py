"""A checkpoint witness (c2sp.org/tlog-witness), as pure decisions.

A witness remembers, per log, the largest checkpoint it has verified (origin,
size, root). Shown a newer checkpoint and a consistency proof from that size,
it cosigns (c2sp.org/tlog-cosignature, cosignature/v1) only if the log's key
signed it and the proof shows the old tree is a prefix of the new one. A log
that forks, rewrites or rolls back therefore cannot get a cosignature for both
histories from the same witness.

`add_checkpoint` is the one decision; the HTTP endpoint (logs that push,
POST /add-checkpoint) and `dataex witness follow` (a witness that pulls) both
call it, and persist the returned state before releasing the cosignature.
The errors carry the HTTP statuses the tlog-witness spec prescribes.

`accept_cosignatures` is the log's side: which cosignature lines posted to
it are by an admitted regulator's key and verify, so it may store and serve
them.

`reconcile_log_keys` decides which log keys a following witness trusts: it
pins them on first use and adopts a new key only from a checkpoint that a
pinned key also signed (a rotation), never from the key listing alone.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.errors import BadSignature, DomainError, UnknownSigner
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    MalformedNote,
    NoteSignature,
    NoteVerifier,
    OpenedNote,
    cosign,
    key_hash,
    open_note,
    parse_checkpoint,
    parse_note,
    verify_cosignature,
)
from dataex.core.log.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency

__all__ = [
    "MAX_PROOF_LINES",
    "AcceptedCosignature",
    "AddCheckpoint",
    "BadAddCheckpoint",
    "BadCosignature",
    "CheckpointMismatch",
    "CheckpointNotTrusted",
    "Cosigned",
    "InconsistentCheckpoint",
    "KeyChange",
    "LogKeysChanged",
    "OldSizeMismatch",
    "UnknownLog",
    "UnknownWitness",
    "WitnessKey",
    "WitnessState",
    "accept_cosignatures",
    "add_checkpoint",
    "format_add_checkpoint",
    "format_size_body",
    "parse_add_checkpoint",
    "reconcile_log_keys",
]

# tlog-witness: a client MUST NOT send more than 63 consistency proof lines.
MAX_PROOF_LINES = 63
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,19})")


class BadAddCheckpoint(DomainError):
    """The add-checkpoint body is malformed, or its old size exceeds the checkpoint size."""

    status = 400
    slug = "bad-add-checkpoint"
    title = "The add-checkpoint request is malformed"


class UnknownLog(DomainError):
    status = 404
    slug = "unknown-log"
    title = "The witness does not follow a log with this origin"


class CheckpointNotTrusted(DomainError):
    """No valid signature by a trusted log key (or a trusted key's signature that fails)."""

    status = 403
    slug = "checkpoint-not-trusted"
    title = "The checkpoint is not signed by a trusted log key"


class OldSizeMismatch(DomainError):
    """The request's old size is not the witness's size; `current_size` tells the client."""

    status = 409
    slug = "old-size-mismatch"
    title = "The old size is not the size the witness last cosigned"

    def __init__(self, detail: str, current_size: int) -> None:
        super().__init__(detail, current_size=current_size)
        self.current_size = current_size


class InconsistentCheckpoint(DomainError):
    """The proof does not show the witnessed tree is a prefix of the new one: a fork."""

    status = 422
    slug = "inconsistent-checkpoint"
    title = "The checkpoint is not consistent with the witnessed tree"


class LogKeysChanged(DomainError):
    """The log's pinned keys changed without a checkpoint signed by old and new keys."""

    status = 403
    slug = "log-keys-changed"
    title = "The log's keys changed without a signed rotation"


@dataclass(frozen=True)
class WitnessState:
    """What a witness knows of one log: its origin, trusted keys, and the tree it cosigned."""

    origin: str
    log_keys: tuple[NoteVerifier, ...]
    size: int = 0
    root: bytes = EMPTY_ROOT

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValueError("a witness state needs a one-line origin")
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise ValueError("a witness state needs a size >= 0 and a 32-byte root")
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise ValueError("the empty tree has the empty root")
        if any(k.sig_type != SIG_TYPE_ED25519 for k in self.log_keys):
            raise ValueError("log keys are Ed25519 note keys (type 0x01)")


@dataclass(frozen=True)
class AddCheckpoint:
    """A tlog-witness add-checkpoint request: old size, consistency proof, signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed note: checkpoint text, blank line, signature lines


@dataclass(frozen=True)
class Cosigned:
    """A verified checkpoint: the state to persist first, then the cosignature to release."""

    state: WitnessState
    checkpoint: Checkpoint
    note_text: str
    log_signatures: tuple[str, ...]  # the trusted log signature lines that verified
    cosignature: str  # one signature line, ending in a newline

    @property
    def cosigned_note(self) -> str:
        """The checkpoint text with the witness's cosignature alone: what a witness POSTs."""
        return f"{self.note_text}\n{self.cosignature}"

    @property
    def witnessed_note(self) -> str:
        """The checkpoint with the log signatures the witness verified and its cosignature."""
        return f"{self.note_text}\n{''.join(self.log_signatures)}{self.cosignature}"


def _b64_hash(line: str) -> bytes:
    try:
        raw = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadAddCheckpoint("a consistency proof line is not base64") from exc
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode("ascii") != line:
        raise BadAddCheckpoint(f"a consistency proof line is not one {HASH_SIZE}-byte hash")
    return raw


def parse_add_checkpoint(body: str | bytes) -> AddCheckpoint:
    """Parse 'old N\\n', up to 63 base64 proof lines, a blank line, then the signed checkpoint."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadAddCheckpoint("the request body is not UTF-8") from exc
    head, sep, note = body.partition("\n\n")
    if not sep or not note:
        raise BadAddCheckpoint("the body needs an old size line, proof lines, a blank line "
                               "and a checkpoint")
    old_line, *proof_lines = head.split("\n")
    match = _OLD_LINE.fullmatch(old_line)
    if match is None or int(match.group(1)) >= 2**64:
        raise BadAddCheckpoint("the first line must be 'old <size>' in decimal without "
                               "leading zeros")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise BadAddCheckpoint(f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = tuple(_b64_hash(line) for line in proof_lines)
    try:
        parse_note(note)
    except MalformedNote as exc:
        raise BadAddCheckpoint(f"the checkpoint is not a signed note: {exc.detail}") from exc
    return AddCheckpoint(int(match.group(1)), proof, note)


def format_add_checkpoint(request: AddCheckpoint) -> str:
    """The request body a log (or `dataex witness follow`) sends to a witness."""
    if len(request.proof) > MAX_PROOF_LINES:
        raise BadAddCheckpoint(f"at most {MAX_PROOF_LINES} consistency proof lines")
    lines = [f"old {request.old_size}"]
    lines += [base64.b64encode(h).decode("ascii") for h in request.proof]
    return "\n".join(lines) + "\n\n" + request.checkpoint


def format_size_body(size: int) -> str:
    """The text/x.tlog.size body of a 409: the witness's size and a newline."""
    return f"{size}\n"


def _open_checkpoint(state: WitnessState, signed_note: str) -> tuple[Checkpoint, OpenedNote]:
    """Check the origin and the log's signature; return the checkpoint and the opened note."""
    text, _ = parse_note(signed_note)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != state.origin:
        raise UnknownLog(f"this witness follows {state.origin!r}, not {checkpoint.origin!r}")
    try:
        opened = open_note(signed_note, state.log_keys)
    except UnknownSigner as exc:
        raise CheckpointNotTrusted(
            f"checkpoint {checkpoint.size} carries no signature by a trusted key of "
            f"{state.origin}"
        ) from exc
    except BadSignature as exc:
        raise CheckpointNotTrusted(f"checkpoint {checkpoint.size}: {exc.detail}") from exc
    return checkpoint, opened


def add_checkpoint(
    state: WitnessState,
    request: AddCheckpoint,
    *,
    witness_name: str,
    witness_key: Ed25519PrivateKey,
    timestamp: int,
) -> Cosigned:
    """Decide an add-checkpoint request, in the order tlog-witness checks it.

    404 unknown origin, 403 no valid trusted log signature, 400 old size above
    the checkpoint size, 409 old size not the witness's size (the client learns
    the size from `current_size`), 422 a proof that does not verify (including
    equal sizes with different roots). A checkpoint smaller than the witnessed
    size can only arrive with old size = the witness's size, so it is refused
    as a 400: the log went backwards. Otherwise: the new state and the
    cosignature, which the caller releases only after persisting the state.
    """
    if timestamp <= 0:
        raise ValueError("a witness cosignature must carry a non-zero time")
    checkpoint, opened = _open_checkpoint(state, request.checkpoint)
    if request.old_size > checkpoint.size:
        if request.old_size == state.size:
            raise BadAddCheckpoint(
                f"checkpoint size {checkpoint.size} is smaller than the witnessed size "
                f"{state.size}: the log went backwards"
            )
        raise BadAddCheckpoint(
            f"old size {request.old_size} exceeds the checkpoint size {checkpoint.size}"
        )
    if request.old_size != state.size:
        raise OldSizeMismatch(
            f"old size {request.old_size} is not the witnessed size {state.size}",
            current_size=state.size,
        )
    if not verify_consistency(state.size, checkpoint.size, state.root, checkpoint.root,
                              list(request.proof)):
        raise InconsistentCheckpoint(
            f"checkpoint {checkpoint.size} is not consistent with the witnessed tree of "
            f"size {state.size}"
        )
    new_state = replace(state, size=checkpoint.size, root=checkpoint.root)
    line = cosign(opened.text, witness_name, witness_key, timestamp)
    log_lines = tuple(v.signature.line for v in opened.verified)
    return Cosigned(new_state, checkpoint, opened.text, log_lines, line)


# ---------------------------------------------------------------------------
# Which log keys a following witness trusts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyChange:
    """The keys to trust from now on, and what changed, for the witness to report."""

    keys: tuple[NoteVerifier, ...]
    adopted: tuple[NoteVerifier, ...] = ()
    unproven: tuple[NoteVerifier, ...] = ()  # listed, but not signing beside a pinned key


def reconcile_log_keys(
    pinned: Sequence[NoteVerifier], listed: Sequence[NoteVerifier], signed_note: str
) -> KeyChange:
    """Trust the pinned keys plus any listed key that co-signed `signed_note` with one.

    A listing whose keys are all new, or a checkpoint that no pinned key signed,
    is a silent key change and is refused (LogKeysChanged): a log that wants new
    keys signs with old and new ones during the switch. A pinned key's failing
    signature is refused too. Keys listed but not yet signing are reported and
    not trusted. Pinned keys are never dropped on the listing's word, since
    trusting fewer keys than the log uses would only make the witness refuse.
    """
    if any(k.sig_type != SIG_TYPE_ED25519 for k in listed):
        raise MalformedNote("log keys are Ed25519 note keys (type 0x01)")
    try:
        open_note(signed_note, pinned)  # a pinned key vouches for any key adopted below
    except UnknownSigner as exc:
        raise LogKeysChanged("the checkpoint carries no signature by a pinned log key") from exc
    except BadSignature as exc:
        raise CheckpointNotTrusted(exc.detail) from exc
    fresh = [k for k in dict.fromkeys(listed) if k not in pinned]
    if listed and not any(k in pinned for k in listed):
        raise LogKeysChanged("none of the pinned log keys is listed any more")
    if not fresh:
        return KeyChange(tuple(pinned))
    try:
        co = open_note(signed_note, fresh)
    except UnknownSigner:
        return KeyChange(tuple(pinned), unproven=tuple(fresh))
    except BadSignature as exc:
        raise CheckpointNotTrusted(exc.detail) from exc
    adopted = tuple(v.verifier for v in co.verified)
    unproven = tuple(k for k in fresh if k not in adopted)
    return KeyChange((*pinned, *adopted), adopted, unproven)


# ---------------------------------------------------------------------------
# The log's side: which posted cosignatures to keep
# ---------------------------------------------------------------------------


class UnknownWitness(DomainError):
    status = 403
    slug = "unknown-witness-key"
    title = "The cosignature is not by the witness key of an admitted, active regulator"


class BadCosignature(DomainError):
    status = 422
    slug = "bad-cosignature"
    title = "The cosignature does not verify, or its time is zero or in the future"


class CheckpointMismatch(DomainError):
    status = 422
    slug = "checkpoint-mismatch"
    title = "The cosigned checkpoint is not the one the log signed at that size"


@dataclass(frozen=True)
class WitnessKey:
    """A key that may cosign: an active key of an admitted, active regulator."""

    participant_id: str
    public_key: bytes


@dataclass(frozen=True)
class AcceptedCosignature:
    participant_id: str
    key_name: str
    key_hash: bytes
    signature_line: str
    timestamp: int


def _witness_for(sig: NoteSignature, witnesses: Sequence[WitnessKey]) -> WitnessKey:
    for w in witnesses:
        if key_hash(sig.name, SIG_TYPE_COSIGNATURE_V1, w.public_key) == sig.key_hash:
            return w
    raise UnknownWitness(
        f"no admitted, active regulator has the cosignature key {sig.name}+{sig.key_hash.hex()}"
    )


def accept_cosignatures(
    stored_note: str,
    posted_note: str | bytes,
    witnesses: Sequence[WitnessKey],
    *,
    now: int,
    max_future_seconds: int,
) -> list[AcceptedCosignature]:
    """Check a posted cosigned checkpoint against the note the log stored at its size.

    The posted text must be the stored checkpoint text exactly. Lines that are
    the stored note's own (the log's signatures) are skipped; every other line
    must be a valid cosignature/v1 by a witness key, whose name the witness
    chose and whose public key is a regulator's: the key hash binds the two.
    All or nothing: one unknown key or bad cosignature refuses the whole post.
    """
    stored_text, stored_sigs = parse_note(stored_note)
    text, sigs = parse_note(posted_note)
    if text != stored_text:
        raise CheckpointMismatch(
            f"the posted checkpoint differs from the log's checkpoint at size "
            f"{parse_checkpoint(stored_text).size}"
        )
    accepted: dict[tuple[str, bytes], AcceptedCosignature] = {}
    for sig in sigs:
        if sig in stored_sigs or (sig.name, sig.key_hash) in accepted:
            continue
        witness = _witness_for(sig, witnesses)
        try:
            timestamp = verify_cosignature(text, sig.line, sig.name, witness.public_key)
        except (BadSignature, UnknownSigner) as exc:
            raise BadCosignature(exc.detail) from exc
        if timestamp == 0 or timestamp > now + max_future_seconds:
            raise BadCosignature(
                f"the cosignature by {sig.name} has time {timestamp}: zero or in the future"
            )
        accepted[(sig.name, sig.key_hash)] = AcceptedCosignature(
            witness.participant_id, sig.name, sig.key_hash, sig.line, timestamp
        )
    if not accepted:
        raise BadCosignature("the note carries no cosignature besides the log's own signatures")
    return list(accepted.values())
