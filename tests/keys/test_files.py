"""Key files are private and never overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dataex.keys.files import KeyFileError, describe, load_key, new_key


def test_a_new_key_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "operator.pem"
    key = new_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert describe(load_key(path)) == describe(key)


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    first = describe(new_key(path))
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        new_key(path)
    assert describe(load_key(path)) == first


def test_not_a_key_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_text("hello")
    with pytest.raises(KeyFileError, match="not an unencrypted PEM private key"):
        load_key(path)
