"""Ed25519 private keys on disk: PKCS#8 PEM, mode 0600, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from dataex.core.documents.encoding import b64url_encode
from dataex.core.documents.signing import key_id, public_key_bytes


class KeyFileError(Exception):
    """A key file is missing, unreadable or not an Ed25519 key."""


def save_key(path: Path, key: Ed25519PrivateKey, *, overwrite: bool = False) -> None:
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path} exists; refusing to overwrite a key")
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)  # a new key folder is private too
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise KeyFileError(f"no key file at {path}") from exc
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key")
    return key


def new_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    save_key(path, key)
    return key


def describe(key: Ed25519PrivateKey) -> dict[str, str]:
    """The public facts of a key: its id and public key (never the private part)."""
    raw = public_key_bytes(key)
    return {"key_id": key_id(raw), "public_key": b64url_encode(raw)}
