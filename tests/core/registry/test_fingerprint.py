"""The fingerprint rule (core) and the file walk (dataex.client.fingerprint) against the vector."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from dataex.cli.main import cli
from dataex.client.fingerprint import fingerprint_path
from dataex.core.registry.contracts import Fingerprint
from dataex.core.registry.fingerprint import (
    FingerprintBuilder,
    FingerprintError,
    fingerprint,
    relative_path,
)
from tests.core.test_contract_vectors import GENERATOR, VECTORS_DIR

VECTOR: dict[str, Any] = json.loads((VECTORS_DIR / "fingerprint.json").read_text("utf-8"))


def _write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for relative, content in files.items():
        target = root.joinpath(*relative.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_the_committed_vector_is_current() -> None:
    committed = (VECTORS_DIR / "fingerprint.json").read_text("utf-8")
    assert committed == GENERATOR.render(GENERATOR.build_fingerprint_vectors())


def test_a_tree_on_disk_gives_the_vector(tmp_path: Path) -> None:
    tree = _write_tree(tmp_path / "tree", GENERATOR.FINGERPRINT_TREE)
    (tree / "empty folder").mkdir()  # directories contribute nothing
    assert fingerprint_path(tree) == VECTOR["tree"]["fingerprint"]
    paths = [f["path"] for f in VECTOR["tree"]["files_in_order"]]
    assert paths == sorted(paths, key=lambda p: p.encode())
    assert paths.index("a.txt") < paths.index("a/b.txt") and paths[0] == "README.md"


def test_a_single_file_is_its_own_one_leaf_tree(tmp_path: Path) -> None:
    case = VECTOR["single_file"]
    target = tmp_path / case["path"]
    target.write_bytes(bytes.fromhex(case["content_hex"]))
    result = fingerprint_path(target)
    assert result == case["fingerprint"]
    digest = _sha(bytes.fromhex(case["content_hex"]))
    assert result["root"] == hashlib.sha256(b"\x00" + digest).hexdigest()


def test_two_files_by_hand() -> None:
    """The rule written out: leaf = H(0x00 || sha256(file)), root = H(0x01 || left || right)."""
    a, b = b"alpha", b"beta"
    leaf_a = hashlib.sha256(b"\x00" + _sha(a)).digest()
    leaf_b = hashlib.sha256(b"\x00" + _sha(b)).digest()
    expected = hashlib.sha256(b"\x01" + leaf_a + leaf_b).hexdigest()
    given_out_of_order = [("z/b", _sha(b), 4), ("Z", _sha(a), 5)]  # "Z" < "z" in bytes
    assert fingerprint(given_out_of_order) == {"root": expected, "total_bytes": 9, "file_count": 2}


def test_content_and_order_change_the_root_but_a_same_order_rename_does_not() -> None:
    base = fingerprint([("a", _sha(b"1"), 1), ("b", _sha(b"2"), 1)])
    assert fingerprint([("a", _sha(b"1"), 1), ("c", _sha(b"2"), 1)]) == base
    assert fingerprint([("a", _sha(b"2"), 1), ("b", _sha(b"1"), 1)])["root"] != base["root"]
    assert fingerprint([("a", _sha(b"1"), 1), ("b", _sha(b"3"), 1)])["root"] != base["root"]


def test_the_output_is_a_valid_registration_fingerprint(tmp_path: Path) -> None:
    tree = _write_tree(tmp_path / "t", {"x.bin": b"\x00" * 10})
    msgspec.convert(fingerprint_path(tree), Fingerprint)


def test_symbolic_links_are_refused_not_followed(tmp_path: Path) -> None:
    tree = _write_tree(tmp_path / "t", {"data.csv": b"1,2\n"})
    (tree / "link.csv").symlink_to(tree / "data.csv")
    with pytest.raises(FingerprintError, match="symbolic link"):
        fingerprint_path(tree)


def test_special_files_are_refused(tmp_path: Path) -> None:
    tree = _write_tree(tmp_path / "t", {"data.csv": b"1,2\n"})
    os.mkfifo(tree / "pipe")
    with pytest.raises(FingerprintError, match="not a regular file"):
        fingerprint_path(tree)


def test_an_empty_tree_has_no_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(FingerprintError, match="no files"):
        fingerprint_path(tmp_path / "empty")


@pytest.mark.parametrize("parts", [[], [""], ["."], ["a", ".."], ["a/b"], ["nul\x00"], ["\udcff"]])
def test_paths_that_would_make_the_order_ambiguous_are_refused(parts: list[str]) -> None:
    with pytest.raises(FingerprintError):
        relative_path(parts)


def test_the_builder_insists_on_path_order() -> None:
    builder = FingerprintBuilder()
    builder.add("b", _sha(b""), 0)
    with pytest.raises(FingerprintError, match="sort after"):
        builder.add("a", _sha(b""), 0)
    with pytest.raises(FingerprintError, match="sort after"):
        builder.add("b", _sha(b""), 0)


def test_the_cli_prints_the_fingerprint_and_fails_clearly(tmp_path: Path) -> None:
    tree = _write_tree(tmp_path / "tree", GENERATOR.FINGERPRINT_TREE)
    runner = CliRunner()
    ok = runner.invoke(cli, ["fingerprint", str(tree)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == VECTOR["tree"]["fingerprint"]
    (tmp_path / "empty").mkdir()
    refused = runner.invoke(cli, ["fingerprint", str(tmp_path / "empty")])
    assert refused.exit_code == 1 and "no files to fingerprint" in refused.output
