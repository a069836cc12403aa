"""What a verifier trusts: the log's keys, witness keys, and checkpoints it saw before.

Log keys are C2SP vkeys of type 0x01 whose name is the log origin; witness
keys are cosignature/v1 vkeys (type 0x04). They come from the server's
/.well-known/dataex/log-keys, from `--log-key`/`--witness-key`, or from a keys
file (that endpoint's JSON, or one vkey a line). A checkpoint must carry a
valid signature by one of the log keys; a signature by a key we do not know is
ignored, so a note signed only by unknown keys fails ("unknown key"). Every
cosignature by a known witness key must verify.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from dataex.core.documents.errors import DomainError
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    NoteVerifier,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_vkey,
)


@dataclass
class TrustedKeys:
    log: list[NoteVerifier] = field(default_factory=list)
    witnesses: list[NoteVerifier] = field(default_factory=list)

    def add(self, vkey: str) -> None:
        verifier = parse_vkey(vkey.strip())
        if verifier.sig_type == SIG_TYPE_COSIGNATURE_V1:
            self.witnesses.append(verifier)
        elif verifier.sig_type == SIG_TYPE_ED25519:
            self.log.append(verifier)

    def add_all(self, vkeys: Iterable[str]) -> TrustedKeys:
        for vkey in vkeys:
            if vkey.strip():
                self.add(vkey)
        return self

    @classmethod
    def from_well_known(cls, document: dict[str, Any]) -> TrustedKeys:
        """The JSON of /.well-known/dataex/log-keys (every listed status is trusted)."""
        return cls().add_all(str(k["vkey"]) for k in document.get("keys", []))

    @classmethod
    def from_file(cls, path: Path) -> TrustedKeys:
        text = path.read_text()
        if text.lstrip().startswith("{"):
            return cls.from_well_known(msgspec.json.decode(text))
        return cls().add_all(text.splitlines())


@dataclass(frozen=True)
class CheckedNote:
    checkpoint: Checkpoint
    log_key: str  # name+hash of the log key whose signature verified
    cosigned_by: tuple[str, ...]


def _label(verifier: NoteVerifier) -> str:
    return f"{verifier.name}+{verifier.key_hash.hex()}"


def check_note(note: str, keys: TrustedKeys) -> CheckedNote:
    """Verify a checkpoint note's log signature (and known cosignatures); raise if it fails.

    Raises DomainError (UnknownSigner, BadSignature, MalformedNote) with a
    message that names the signers when none is trusted.
    """
    if not keys.log:
        raise DomainError("no trusted log key: pass --log-key or --log-keys-file, "
                          "or verify against the server, which publishes its keys")
    try:
        opened = open_note(note, [*keys.log, *keys.witnesses])
    except DomainError as exc:
        if exc.slug == "unknown-signer":
            _, signatures = parse_note(note)
            names = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in signatures)
            raise DomainError(f"signed by an unknown key ({names}), by no trusted log key") \
                from exc
        raise
    checkpoint = parse_checkpoint(opened.text)
    by_log = [v for v in opened.verified if v.verifier.sig_type == SIG_TYPE_ED25519]
    if not by_log:
        raise DomainError("carries no signature by a trusted log key (only cosignatures)")
    log_key = by_log[0].verifier
    if checkpoint.origin != log_key.name:
        raise DomainError(f"origin {checkpoint.origin!r} is not the log key's name "
                          f"{log_key.name!r}")
    cosigned = tuple(_label(v.verifier) for v in opened.verified
                     if v.verifier.sig_type == SIG_TYPE_COSIGNATURE_V1)
    return CheckedNote(checkpoint, _label(log_key), cosigned)
