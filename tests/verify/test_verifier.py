"""The offline verifier on logs built through core/ (bench/verify_log.py), no database.

Checkpoints here are signed by keys the test holds, with core.checkpoint, as
the platform's signer does; each test tampers one thing and expects the
verifier to name the right seq.
"""

from __future__ import annotations

import json
import random

import pytest
from bench.verify_log import ORIGIN, build_log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.chain import entry_hash
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    cosign,
    format_checkpoint,
    format_vkey,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    sign_note,
)
from dataex.verify import TrustedKeys, verify_stream

ENTRIES = 400
EVERY = 100


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    path = tmp_path_factory.mktemp("log") / "log.jsonl"
    built = build_log(path, ENTRIES, traders=20, checkpoint_every=EVERY)
    return path.read_text().splitlines(), built.log_vkey


def _keys(vkey: str) -> TrustedKeys:
    return TrustedKeys().add_all([vkey])


def _rechain(lines: list[str], start_seq: int) -> list[str]:
    """Recompute every hash from start_seq on, as a forger who holds the database would."""
    out: list[str] = []
    prev = None
    for line in lines:
        obj = json.loads(line)
        if "seq" in obj and obj["seq"] >= start_seq:
            if prev is not None:
                obj["entry"]["prev_hash"] = prev
            obj["entry_hash"] = entry_hash(canonical_json(obj["entry"]))
            line = json.dumps(obj)
        if "seq" in obj:
            prev = obj["entry_hash"]
        out.append(line)
    return out


def _entry_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith('{"seq"')]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_clean_log_verifies_with_every_checkpoint(log: tuple[list[str], str],
                                                    workers: int) -> None:
    lines, vkey = log
    report = verify_stream(lines, keys=_keys(vkey), workers=workers)
    assert report.ok, report.fault
    assert report.verified == ENTRIES
    assert report.checkpoints_verified == ENTRIES // EVERY
    assert report.last_checkpoint_size == ENTRIES
    assert report.signatures_checked == ENTRIES
    last_note = json.loads(lines[-1])["checkpoint"]
    assert parse_checkpoint(parse_note(last_note)[0]).root.hex() == report.root


def test_a_checkpoint_signed_by_an_unknown_key_fails_at_its_size(
    log: tuple[list[str], str],
) -> None:
    lines, vkey = log
    index = next(i for i, line in enumerate(lines) if '"size":200' in line)
    body = parse_note(json.loads(lines[index])["checkpoint"])[0]
    stranger = sign_note(body, ORIGIN, Ed25519PrivateKey.generate())
    forged = [*lines[:index], json.dumps({"checkpoint": stranger, "size": 200}),
              *lines[index + 1:]]
    report = verify_stream(forged, keys=_keys(vkey))
    assert report.fault is not None and report.fault.seq == 200
    assert "unknown key" in report.fault.reason
    assert report.verified == 199


def test_a_signed_checkpoint_with_another_root_fails(log: tuple[list[str], str]) -> None:
    lines, vkey = log
    log_key = _log_key()
    index = next(i for i, line in enumerate(lines) if '"size":300' in line)
    wrong = sign_note(format_checkpoint(ORIGIN, 300, bytes(32)), ORIGIN, log_key)
    forged = [*lines[:index], json.dumps({"checkpoint": wrong, "size": 300}), *lines[index + 1:]]
    report = verify_stream(forged, keys=_keys(vkey))
    assert report.fault is not None and report.fault.seq == 300
    assert "differs from the root" in report.fault.reason


def _log_key() -> Ed25519PrivateKey:
    """The key build_log derives for log_key_seed=0 (the same derivation)."""
    return Ed25519PrivateKey.from_private_bytes(random.Random("log-key-0").randbytes(32))


def test_a_bad_document_signature_is_named_even_before_a_later_replay_fault(
    log: tuple[list[str], str],
) -> None:
    lines, vkey = log
    entries = [json.loads(line) for line in lines]
    victim = next(e for e in entries if e.get("seq") == 250)
    signature = victim["entry"]["envelope"]["signature"]
    victim["entry"]["envelope"]["signature"] = ("A" if signature[0] != "A" else "B") + \
        signature[1:]
    later = next(e for e in entries if e.get("seq") == 260)
    later["entry"]["time"] = "2030-01-01T00:00:00Z"  # also a replay difference, later
    forged = _rechain([json.dumps(e) for e in entries if "seq" in e], 250)
    report = verify_stream(forged, keys=_keys(vkey), workers=2)
    assert report.fault is not None and report.fault.seq == 250, report.fault
    assert "signature" in report.fault.reason


def test_a_torn_last_line_is_a_truncated_export(log: tuple[list[str], str]) -> None:
    lines, vkey = log
    entries = _entry_lines(lines)[:150]
    torn = [*entries[:-1], entries[-1][: len(entries[-1]) // 2]]
    report = verify_stream(torn, keys=_keys(vkey))
    assert report.fault is not None and report.fault.seq == 150
    assert "truncated" in report.fault.reason and "torn" in report.fault.reason


def test_an_export_shorter_than_the_log_is_truncated(log: tuple[list[str], str]) -> None:
    lines, vkey = log
    cut = lines[: next(i for i, line in enumerate(lines) if '"seq":321,' in line)]
    report = verify_stream(cut, keys=_keys(vkey), expected_size=ENTRIES)
    assert report.fault is not None and report.fault.seq == 321
    assert "truncated" in report.fault.reason and "ends at entry 320" in report.fault.reason


def test_a_checkpoint_past_the_end_of_the_export_is_truncation(
    log: tuple[list[str], str],
) -> None:
    lines, vkey = log
    index = next(i for i, line in enumerate(lines) if '"size":400' in line)
    short = [*_entry_lines(lines)[:350], lines[index]]
    report = verify_stream(short, keys=_keys(vkey))
    assert report.fault is not None and report.fault.seq == 351
    assert "truncated" in report.fault.reason and "covers 400 entries" in report.fault.reason


def test_without_a_log_key_checkpoints_do_not_pass(log: tuple[list[str], str]) -> None:
    lines, _ = log
    report = verify_stream(lines, keys=TrustedKeys())
    assert report.fault is not None and report.fault.seq == EVERY
    assert "no trusted log key" in report.fault.reason


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    """The same log up to entry 150, another valid one after, signed by another log key."""
    path = tmp_path_factory.mktemp("fork") / "fork.jsonl"
    built = build_log(path, ENTRIES, traders=20, checkpoint_every=EVERY, log_key_seed=1,
                      diverge_at=151)
    return path.read_text().splitlines(), built.log_vkey


def _trusted_note(lines: list[str], size: int, witness: Ed25519PrivateKey) -> str:
    note: str = next(json.loads(ln)["checkpoint"] for ln in lines if f'"size":{size}}}' in ln)
    return note + cosign(parse_note(note)[0], "witness.example", witness, 1_700_000_000)


def test_a_whole_consistent_fork_is_caught_by_a_trusted_checkpoint(
    log: tuple[list[str], str], fork: tuple[list[str], str],
) -> None:
    lines, vkey = log
    fork_lines, fork_vkey = fork
    assert _entry_lines(lines)[:150] == _entry_lines(fork_lines)[:150]
    assert _entry_lines(lines)[150] != _entry_lines(fork_lines)[150]
    # The fork is a valid log on its own, under its own key.
    assert verify_stream(fork_lines, keys=_keys(fork_vkey)).ok
    witness = Ed25519PrivateKey.generate()
    witness_vkey = format_vkey("witness.example", public_key_bytes(witness),
                               SIG_TYPE_COSIGNATURE_V1)
    trusted = _trusted_note(lines, 200, witness)
    # Even trusting both log keys, the fork disagrees with what the witness cosigned.
    keys = TrustedKeys().add_all([vkey, fork_vkey, witness_vkey])
    report = verify_stream(fork_lines, keys=keys, trusted_checkpoints=[trusted])
    assert report.fault is not None and report.fault.seq == 200
    assert "trusted checkpoint" in report.fault.reason and "fork" in report.fault.reason
    # Trusting only the real key, the fork's first re-signed checkpoint is by an unknown key.
    report = verify_stream(fork_lines, keys=_keys(vkey))
    assert report.fault is not None and report.fault.seq == EVERY
    assert "unknown key" in report.fault.reason
    # The real log agrees with the trusted checkpoint, and its cosignature is counted.
    report = verify_stream(lines, keys=keys, trusted_checkpoints=[trusted])
    assert report.ok, report.fault


def test_a_forged_cosignature_fails(log: tuple[list[str], str]) -> None:
    lines, vkey = log
    witness = Ed25519PrivateKey.generate()
    witness_vkey = format_vkey("witness.example", public_key_bytes(witness),
                               SIG_TYPE_COSIGNATURE_V1)
    index = next(i for i, line in enumerate(lines) if '"size":100}' in line)
    note = _trusted_note(lines, 100, witness)
    good = [*lines[:index], json.dumps({"checkpoint": note, "size": 100}), *lines[index + 1:]]
    keys = TrustedKeys().add_all([vkey, witness_vkey])
    report = verify_stream(good, keys=keys)
    label = f"witness.example+{parse_vkey(witness_vkey).key_hash.hex()}"
    assert report.ok and report.cosignatures == {label: 1}
    other = _trusted_note(lines, 300, witness).rsplit("\n", 2)[-2]  # a line for another size
    bad_note = json.loads(lines[index])["checkpoint"] + other + "\n"
    bad = [*lines[:index], json.dumps({"checkpoint": bad_note, "size": 100}),
           *lines[index + 1:]]
    report = verify_stream(bad, keys=keys)
    assert report.fault is not None and report.fault.seq == 100
    assert "does not verify" in report.fault.reason
