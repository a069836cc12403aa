"""The witness's decisions (c2sp.org/tlog-witness) and the log's check of posted cosignatures."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    NoteVerifier,
    format_checkpoint,
    parse_note,
    sign_note,
    verify_cosignature,
)
from dataex.core.log.merkle import EMPTY_ROOT, consistency_proof, leaf_hash, root
from dataex.core.log.witness import (
    AddCheckpoint,
    BadAddCheckpoint,
    BadCosignature,
    CheckpointMismatch,
    CheckpointNotTrusted,
    InconsistentCheckpoint,
    LogKeysChanged,
    OldSizeMismatch,
    UnknownLog,
    UnknownWitness,
    WitnessKey,
    WitnessState,
    accept_cosignatures,
    add_checkpoint,
    format_add_checkpoint,
    format_size_body,
    parse_add_checkpoint,
    reconcile_log_keys,
)

ORIGIN = "example.test/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
NEXT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))
WITNESS = "witness.test/w1"
T = 1_790_000_000


def verifier(key: Ed25519PrivateKey, name: str = ORIGIN) -> NoteVerifier:
    return NoteVerifier(name, SIG_TYPE_ED25519, public_key_bytes(key))


def leaves(n: int, fork_at: int | None = None) -> list[bytes]:
    return [leaf_hash(f"entry {i}{' forked' if i == fork_at else ''}".encode()) for i in range(n)]


def signed(size: int, tree: list[bytes], *keys: Ed25519PrivateKey, origin: str = ORIGIN) -> str:
    text = format_checkpoint(origin, size, root(tree[:size]))
    note = sign_note(text, origin, (keys or (LOG_KEY,))[0])
    for key in keys[1:]:
        note += sign_note(text, origin, key).split("\n\n", 1)[1]
    return note


def fresh() -> WitnessState:
    return WitnessState(ORIGIN, (verifier(LOG_KEY),))


def witness(state: WitnessState, request: AddCheckpoint, timestamp: int = T):  # type: ignore[no-untyped-def]
    return add_checkpoint(state, request, witness_name=WITNESS, witness_key=WITNESS_KEY,
                          timestamp=timestamp)


def step(state: WitnessState, tree: list[bytes], new: int) -> AddCheckpoint:
    proof = consistency_proof(tree, state.size, new) if 0 < state.size < new else []
    return AddCheckpoint(state.size, tuple(proof), signed(new, tree))


# --- the request body ---------------------------------------------------------------------

SPEC_EXAMPLE = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum"
    "2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
)


def test_the_spec_example_request_parses_and_formats_back_byte_for_byte() -> None:
    request = parse_add_checkpoint(SPEC_EXAMPLE.encode())
    assert request.old_size == 20852014 and len(request.proof) == 4
    assert request.checkpoint.startswith("example.com/behind-the-sofa\n20852163\n")
    assert format_add_checkpoint(request) == SPEC_EXAMPLE


def test_a_request_without_proof_lines_round_trips() -> None:
    request = AddCheckpoint(0, (), signed(3, leaves(3)))
    assert format_add_checkpoint(request).startswith("old 0\n\n" + ORIGIN)
    assert parse_add_checkpoint(format_add_checkpoint(request)) == request


@pytest.mark.parametrize("body", [
    "old 01\n\n" + SPEC_EXAMPLE.split("\n\n", 1)[1],  # leading zero
    "old -1\n\n" + SPEC_EXAMPLE.split("\n\n", 1)[1],
    "size 1\n\n" + SPEC_EXAMPLE.split("\n\n", 1)[1],
    "old 1\nnot base64!\n\n" + SPEC_EXAMPLE.split("\n\n", 1)[1],
    "old 1\nAAAA\n\n" + SPEC_EXAMPLE.split("\n\n", 1)[1],  # base64 but not 32 bytes
    "old 1\n" + ("A" * 43 + "=\n") * 64 + "\n" + SPEC_EXAMPLE.split("\n\n", 1)[1],  # 64 lines
    "old 1\n",  # no checkpoint
    "old 1\n\nexample.com/behind-the-sofa\n1\n",  # a checkpoint without signatures
    b"old 1\n\n\xff",
])
def test_malformed_requests_are_400(body: str | bytes) -> None:
    with pytest.raises(BadAddCheckpoint) as caught:
        parse_add_checkpoint(body)
    assert caught.value.status == 400


def test_the_409_body_is_the_size_and_a_newline() -> None:
    assert format_size_body(42) == "42\n"


# --- add-checkpoint --------------------------------------------------------------------------


def test_a_new_witness_cosigns_the_first_checkpoint_and_then_follows_with_proofs() -> None:
    tree = leaves(20)
    state = fresh()
    for size in (5, 5, 8, 13, 20):  # the repeat of 5 is cosigned again: same tree, no proof
        done = witness(state, step(state, tree, size))
        assert (done.state.size, done.state.root) == (size, root(tree[:size]))
        text = format_checkpoint(ORIGIN, size, root(tree[:size]))
        assert verify_cosignature(text, done.cosignature, WITNESS,
                                  public_key_bytes(WITNESS_KEY)) == T
        assert done.cosigned_note == f"{text}\n{done.cosignature}"
        assert done.witnessed_note == signed(size, tree) + done.cosignature
        state = done.state


def test_old_size_not_the_witnessed_size_is_409_with_the_current_size() -> None:
    tree = leaves(10)
    state = witness(fresh(), step(fresh(), tree, 4)).state
    request = AddCheckpoint(3, tuple(consistency_proof(tree, 3, 10)), signed(10, tree))
    with pytest.raises(OldSizeMismatch) as caught:
        witness(state, request)
    assert caught.value.status == 409 and caught.value.current_size == 4
    assert caught.value.extra == {"current_size": 4}


def test_a_client_that_knows_nothing_learns_the_size_from_old_zero() -> None:
    tree = leaves(10)
    state = witness(fresh(), step(fresh(), tree, 4)).state
    with pytest.raises(OldSizeMismatch) as caught:
        witness(state, AddCheckpoint(0, (), signed(10, tree)))
    assert caught.value.current_size == 4


def test_a_fork_is_refused_with_422_and_the_state_is_not_advanced() -> None:
    honest, forked = leaves(10), leaves(10, fork_at=2)
    state = witness(fresh(), step(fresh(), honest, 4)).state
    # The forked log's own proof from 4 to 10 is internally fine, but its tree at 4 differs.
    request = AddCheckpoint(4, tuple(consistency_proof(forked, 4, 10)), signed(10, forked))
    with pytest.raises(InconsistentCheckpoint) as caught:
        witness(state, request)
    assert caught.value.status == 422
    assert state.size == 4  # frozen: a refused request returns nothing to persist


def test_same_size_with_another_root_is_422() -> None:
    state = witness(fresh(), step(fresh(), leaves(6), 6)).state
    with pytest.raises(InconsistentCheckpoint):
        witness(state, AddCheckpoint(6, (), signed(6, leaves(6, fork_at=5))))


def test_a_proof_from_old_zero_must_be_empty() -> None:
    tree = leaves(6)
    with pytest.raises(InconsistentCheckpoint):
        witness(fresh(), AddCheckpoint(0, (tree[0],), signed(6, tree)))


def test_a_checkpoint_of_size_zero_must_have_the_empty_root() -> None:
    bogus = sign_note(format_checkpoint(ORIGIN, 0, leaf_hash(b"x")), ORIGIN, LOG_KEY)
    with pytest.raises(InconsistentCheckpoint):
        witness(fresh(), AddCheckpoint(0, (), bogus))
    empty = sign_note(format_checkpoint(ORIGIN, 0, EMPTY_ROOT), ORIGIN, LOG_KEY)
    assert witness(fresh(), AddCheckpoint(0, (), empty)).state.size == 0


def test_a_log_going_backwards_is_400() -> None:
    tree = leaves(10)
    state = witness(fresh(), step(fresh(), tree, 8)).state
    with pytest.raises(BadAddCheckpoint) as caught:
        witness(state, AddCheckpoint(8, (), signed(5, tree)))
    assert caught.value.status == 400 and "went backwards" in caught.value.detail
    with pytest.raises(BadAddCheckpoint, match="exceeds"):
        witness(state, AddCheckpoint(9, (), signed(5, tree)))


def test_a_checkpoint_not_signed_by_the_log_key_is_403() -> None:
    tree = leaves(4)
    impostor = Ed25519PrivateKey.from_private_bytes(bytes(range(5, 37)))
    with pytest.raises(CheckpointNotTrusted) as caught:
        witness(fresh(), AddCheckpoint(0, (), signed(4, tree, impostor)))
    assert caught.value.status == 403


def test_a_trusted_keys_failing_signature_is_403_even_beside_a_good_one() -> None:
    note = signed(4, leaves(4))
    text, (sig,) = parse_note(note)
    broken = replace(sig, signature=bytes(64))
    with pytest.raises(CheckpointNotTrusted):
        witness(fresh(), AddCheckpoint(0, (), f"{text}\n{sig.line}{broken.line}"))


def test_unknown_signatures_beside_the_log_key_are_ignored() -> None:
    other = sign_note(format_checkpoint(ORIGIN, 4, root(leaves(4))), "someone.else", WITNESS_KEY)
    note = signed(4, leaves(4)) + other.split("\n\n", 1)[1]
    assert witness(fresh(), AddCheckpoint(0, (), note)).log_signatures == (
        parse_note(signed(4, leaves(4)))[1][0].line,
    )


def test_another_origin_is_404() -> None:
    with pytest.raises(UnknownLog) as caught:
        witness(fresh(), AddCheckpoint(0, (), signed(4, leaves(4), origin="other.test/log")))
    assert caught.value.status == 404


def test_a_cosignature_never_carries_time_zero() -> None:
    with pytest.raises(ValueError):
        witness(fresh(), step(fresh(), leaves(4), 4), timestamp=0)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_honest_growth_is_cosigned_and_any_rewrite_of_the_past_refused(
    data: st.DataObject,
) -> None:
    new = data.draw(st.integers(1, 40), label="new")
    old = data.draw(st.integers(1, new), label="old")
    honest = leaves(new)
    state = witness(fresh(), step(fresh(), honest, old)).state
    assert witness(state, step(state, honest, new)).state.size == new
    fork_at = data.draw(st.integers(0, old - 1), label="fork_at")
    forked = leaves(new, fork_at=fork_at)
    proof = tuple(consistency_proof(forked, old, new)) if old < new else ()
    with pytest.raises(InconsistentCheckpoint):
        witness(state, AddCheckpoint(old, proof, signed(new, forked)))


# --- which log keys a following witness trusts -----------------------------------------------


def test_keys_listed_as_before_change_nothing() -> None:
    pinned = (verifier(LOG_KEY),)
    change = reconcile_log_keys(pinned, pinned, signed(3, leaves(3)))
    assert change.keys == pinned and not change.adopted and not change.unproven


def test_a_rotation_signed_by_old_and_new_keys_adopts_the_new_key() -> None:
    pinned = (verifier(LOG_KEY),)
    listed = (verifier(LOG_KEY), verifier(NEXT_KEY))
    change = reconcile_log_keys(pinned, listed, signed(3, leaves(3), LOG_KEY, NEXT_KEY))
    assert change.keys == listed and change.adopted == (verifier(NEXT_KEY),)
    # After the switch the old key may stop signing: the adopted key carries on.
    after = reconcile_log_keys(change.keys, listed, signed(4, leaves(4), NEXT_KEY))
    assert after.keys == listed


def test_a_listed_key_that_does_not_sign_yet_is_not_trusted() -> None:
    pinned = (verifier(LOG_KEY),)
    listed = (verifier(LOG_KEY), verifier(NEXT_KEY))
    change = reconcile_log_keys(pinned, listed, signed(3, leaves(3)))
    assert change.keys == pinned and change.unproven == (verifier(NEXT_KEY),)


def test_a_silently_swapped_key_is_refused() -> None:
    pinned = (verifier(LOG_KEY),)
    with pytest.raises(LogKeysChanged):
        reconcile_log_keys(pinned, (verifier(NEXT_KEY),), signed(3, leaves(3), NEXT_KEY))
    with pytest.raises(LogKeysChanged):  # even if the old key still signs, it must stay listed
        reconcile_log_keys(pinned, (verifier(NEXT_KEY),), signed(3, leaves(3), LOG_KEY, NEXT_KEY))


# --- the log's check of posted cosignatures --------------------------------------------------

REGULATOR = WitnessKey("P000002", public_key_bytes(WITNESS_KEY))
OTHER = WitnessKey("P000003", public_key_bytes(NEXT_KEY))


def posted(size: int = 4, timestamp: int = T) -> tuple[str, str]:
    stored = signed(size, leaves(size))
    done = witness(fresh(), step(fresh(), leaves(size), size), timestamp)
    return stored, done.cosignature


def accept(stored: str, note: str, witnesses: tuple[WitnessKey, ...] = (REGULATOR, OTHER)):  # type: ignore[no-untyped-def]
    return accept_cosignatures(stored, note, witnesses, now=T + 10, max_future_seconds=300)


def test_a_regulators_cosignature_is_accepted_with_or_without_the_log_signature() -> None:
    stored, line = posted()
    text = stored.split("\n\n")[0] + "\n"
    for note in (stored + line, f"{text}\n{line}", f"{text}\n{line}{line}"):
        (got,) = accept(stored, note)
        assert (got.participant_id, got.key_name, got.signature_line, got.timestamp) == (
            "P000002", WITNESS, line, T)
        assert got.key_hash.hex() == NoteVerifier(
            WITNESS, SIG_TYPE_COSIGNATURE_V1, REGULATOR.public_key).key_hash.hex()


def test_a_cosignature_by_a_key_no_regulator_holds_is_403() -> None:
    stored, line = posted()
    with pytest.raises(UnknownWitness) as caught:
        accept(stored, stored + line, (OTHER,))
    assert caught.value.status == 403


def test_a_cosignature_that_does_not_verify_is_422() -> None:
    stored, _ = posted()
    _, other_line = posted(size=5)
    text = stored.split("\n\n")[0] + "\n"
    with pytest.raises(BadCosignature) as caught:  # a cosignature of size 5 moved onto size 4
        accept(stored, f"{text}\n{other_line}")
    assert caught.value.status == 422


@pytest.mark.parametrize("timestamp", [1_000 + T, 2**62])
def test_a_cosignature_from_the_future_is_422(timestamp: int) -> None:
    stored, line = posted(timestamp=timestamp)
    with pytest.raises(BadCosignature, match="future"):
        accept(stored, stored + line)


def test_a_note_that_is_not_the_stored_checkpoint_is_422() -> None:
    stored, _ = posted()
    forged_stored, forged_line = posted(size=5)
    with pytest.raises(CheckpointMismatch):
        accept(stored, forged_stored + forged_line)


def test_a_note_with_only_the_logs_signature_is_422() -> None:
    stored, _ = posted()
    with pytest.raises(BadCosignature, match="no cosignature"):
        accept(stored, stored)

