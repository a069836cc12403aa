"""The log key on disk, and its rotation: which keys sign checkpoints, which are published.

<data_dir>/keys/log.pem is the active key (made by `dataex init`). A rotation
first adds keys/log-next.pem: from then on every checkpoint carries both
signatures, so verifiers can learn the new key from the well-known endpoint
while the old one still vouches for each note. Finishing the rotation keeps
the old public key as keys/retired/log-<key hash>.vkey (still listed, so old
checkpoints stay verifiable) and moves the next key into place.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.config.settings import Settings
from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import format_vkey, parse_vkey
from dataex.keys.files import KeyFileError, load_key, new_key


@dataclass(frozen=True)
class LogKeyFiles:
    active: Path
    next: Path
    retired: Path

    @classmethod
    def of(cls, settings: Settings) -> LogKeyFiles:
        keys = settings.data_dir / "keys"
        return cls(keys / "log.pem", keys / "log-next.pem", keys / "retired")

    def signing_keys(self) -> list[Ed25519PrivateKey]:
        """The keys that sign each checkpoint: the active one, then the next one if rotating."""
        return [load_key(path) for path in (self.active, self.next) if path.exists()]

    def published(self, origin: str) -> list[dict[str, str]]:
        """Every verifier key with its status: active, next, then retired (oldest first)."""
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for path, status in ((self.active, "active"), (self.next, "next")):
            if path.exists():
                vkey = vkey_of(load_key(path), origin)
                seen.add(vkey)
                out.append({"vkey": vkey, "status": status})
        if self.retired.is_dir():
            files = sorted(self.retired.glob("*.vkey"), key=lambda p: (p.stat().st_mtime, p.name))
            for path in files:
                vkey = path.read_text().strip()
                if vkey not in seen:
                    seen.add(vkey)
                    out.append({"vkey": vkey, "status": "retired"})
        return out

    def start_rotation(self, origin: str) -> str:
        """Create the next key; return its vkey. Refused if a rotation is under way."""
        if not self.active.exists():
            raise KeyFileError(f"no log key at {self.active}: run `dataex init` first")
        if self.next.exists():
            raise KeyFileError(f"{self.next} exists: finish that rotation first")
        return vkey_of(new_key(self.next), origin)

    def finish_rotation(self, origin: str) -> tuple[str, str]:
        """Retire the active key (its public half stays listed) and promote the next one.

        Returns (retired vkey, new active vkey). Safe to run again after a crash:
        the retired key is written first, and the move is one atomic rename.
        """
        if not self.next.exists():
            raise KeyFileError(f"no rotation under way: {self.next} does not exist")
        old = vkey_of(load_key(self.active), origin)
        new = vkey_of(load_key(self.next), origin)
        self.retired.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.retired / f"log-{parse_vkey(old).key_hash.hex()}.vkey"
        fd, tmp = tempfile.mkstemp(dir=self.retired, prefix=".vkey-")
        with os.fdopen(fd, "w") as handle:
            handle.write(old + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        os.replace(self.next, self.active)
        return old, new


def vkey_of(key: Ed25519PrivateKey, origin: str) -> str:
    return format_vkey(origin, public_key_bytes(key))
