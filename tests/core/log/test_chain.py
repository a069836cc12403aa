"""The hash chain and the offline verifier over an export (no database)."""

from __future__ import annotations

import json

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.timefmt import parse_utc
from dataex.core.envelope import authenticate_signer, parse_envelope
from dataex.core.log.chain import GENESIS_PREV_HASH, build_entry, entry_hash
from dataex.core.state import PlatformState, apply
from dataex.verify import verify_export
from tests.factories import ADMIT, ROTATE, Actor, encode

TIME = "2026-11-27T12:00:00.000000Z"


def _export(n_extra: int = 3) -> list[str]:
    """A real little log: commands authenticated and applied by core, as the sequencer does."""
    state = PlatformState()
    operator = Actor.new("op")
    envelopes = [operator.sign(ADMIT, operator.admission(["operator"]))]
    envelopes += [operator.sign(ADMIT, Actor.new(f"a{i}").admission(["trader"]))
                  for i in range(n_extra)]
    lines, prev = [], GENESIS_PREV_HASH
    for seq, env in enumerate(envelopes, start=1):
        parsed = parse_envelope(encode(env), 65536)
        command = authenticate_signer(parsed, state.participants, allow_genesis=seq == 1)
        events = apply(state, command, parse_utc(TIME))
        entry, _, digest = build_entry(seq=seq, time=TIME, kind=ADMIT,
                                       signer=env["document"]["signer"],
                                       participant_id=command.participant_id,
                                       envelope=env, events=events, prev_hash=prev)
        lines.append(json.dumps({"seq": seq, "entry_hash": digest, "entry": entry}))
        prev = digest
    return lines


def test_entry_hash_is_the_rfc9162_leaf_hash_of_the_canonical_entry() -> None:
    import hashlib

    entry = {"seq": 1, "b": "x", "a": [1, 2]}
    assert (
        entry_hash(canonical_json(entry))
        == hashlib.sha256(b"\x00" + b'{"a":[1,2],"b":"x","seq":1}').hexdigest()
    )


def test_a_good_export_verifies() -> None:
    report = verify_export(_export())
    assert report.ok and report.verified == 4 and report.last_seq == 4


def test_an_edited_entry_is_named() -> None:
    lines = _export()
    obj = json.loads(lines[2])
    obj["entry"]["envelope"]["document"]["body"]["display_name"] = "Mallory"
    lines[2] = json.dumps(obj)
    report = verify_export(lines)
    assert not report.ok and report.fault is not None
    assert report.fault.seq == 3 and "entry_hash" in report.fault.reason


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_chain_or_signature() -> None:
    lines = _export()
    obj = json.loads(lines[2])
    obj["entry"]["envelope"]["document"]["body"]["display_name"] = "Mallory"
    obj["entry_hash"] = entry_hash(canonical_json(obj["entry"]))
    lines[2] = json.dumps(obj)
    report = verify_export(lines)
    assert report.fault is not None and report.fault.seq == 3
    assert "signature" in report.fault.reason


def test_a_deleted_entry_is_named() -> None:
    lines = _export()
    del lines[1]
    report = verify_export(lines)
    assert report.fault is not None and report.fault.seq == 2


def test_swapped_entries_are_caught() -> None:
    lines = _export()
    lines[1], lines[2] = lines[2], lines[1]
    report = verify_export(lines)
    assert report.fault is not None and report.fault.seq == 2


def test_a_truncated_export_is_caught_when_the_size_is_known() -> None:
    lines = _export()[:-1]
    assert verify_export(lines).ok  # on its own a prefix is a valid log...
    report = verify_export(lines, expected_size=4)  # ...but not the whole log
    assert report.fault is not None and report.fault.seq == 4


def test_a_signer_never_admitted_is_caught() -> None:
    lines = _export()
    obj = json.loads(lines[3])
    stranger = Actor.new("stranger")
    obj["entry"]["envelope"] = stranger.sign(ROTATE, {"new_public_key": stranger.public_key})
    obj["entry_hash"] = entry_hash(canonical_json(obj["entry"]))
    lines[3] = json.dumps(obj)
    report = verify_export(lines)
    assert report.fault is not None and report.fault.seq == 4
    assert "not an admitted key" in report.fault.reason


def test_a_forged_outcome_is_caught_by_replay() -> None:
    """Signed documents intact, chain intact, but the logged events lie."""
    lines = _export()
    obj = json.loads(lines[2])
    obj["entry"]["events"][0]["roles"] = ["operator", "trader"]
    obj["entry_hash"] = entry_hash(canonical_json(obj["entry"]))
    lines[2] = json.dumps(obj)
    for later in range(3, len(lines)):  # re-chain everything after it, as a forger would
        nxt = json.loads(lines[later])
        nxt["entry"]["prev_hash"] = json.loads(lines[later - 1])["entry_hash"]
        nxt["entry_hash"] = entry_hash(canonical_json(nxt["entry"]))
        lines[later] = json.dumps(nxt)
    report = verify_export(lines)
    assert report.fault is not None and report.fault.seq == 3
    assert "replayed events differ" in report.fault.reason


def test_an_entry_built_around_the_envelope_bytes_is_the_same_entry() -> None:
    """The sequencer passes the envelope's canonical bytes; the entry must not change by a byte."""
    operator = Actor.new("op")
    documents = [operator.admission(["operator"]),
                 {**Actor.new("\ufb33\U0001f600").admission(["trader"]),
                  "display_name": "\ufb33\U0001f600 \"quoted\" \\ \u2028"}]
    for body in documents:
        env = operator.sign(ADMIT, body)
        parsed = parse_envelope(encode(env), 65536)
        assert parsed.canonical_envelope() == canonical_json(parsed.envelope)
        events = [{"type": "x", "\U0001f600": 1, "\ufb33": "y", "n": [1, None, True]}]
        common = dict(seq=7, time=TIME, kind=ADMIT, signer=parsed.signer, participant_id=None,
                      envelope=parsed.envelope, events=events, prev_hash=GENESIS_PREV_HASH)
        plain = build_entry(**common)  # type: ignore[arg-type]
        spliced = build_entry(**common, canonical_envelope=parsed.canonical_envelope())  # type: ignore[arg-type]
        assert spliced == plain
        assert spliced[1] == canonical_json(spliced[0])
