"""A witness that pulls: `dataex witness follow` against a dataex server.

One round: read the log's keys (pinned on first use), the latest checkpoint and
a consistency proof from the witnessed size; let core/log/witness.py decide; save
the new state; only then release the cosignature by POSTing it to the log.
Every step reports one line through `echo`, so an operator can see where a
round stopped. A refusal (fork, rollback, bad signature, silent key change)
raises WitnessRefused and leaves the state file as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.core.documents.errors import DomainError
from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    MalformedNote,
    NoteVerifier,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_vkey,
)
from dataex.core.log.witness import AddCheckpoint, WitnessState, add_checkpoint, reconcile_log_keys
from dataex.witness.state import StoredState, load_state, save_state

LOG_KEYS_PATH = "/.well-known/dataex/log-keys"
CHECKPOINT_PATH = "/v1/audit/checkpoint"
CONSISTENCY_PATH = "/v1/audit/proof/consistency"
COSIGNATURES_PATH = "/v1/audit/cosignatures"


class WitnessRefused(Exception):
    """The log showed something a witness must not cosign; the state is unchanged."""


class LogUnavailable(Exception):
    """The log answered in a way that is not a verdict on it (not ready, 5xx, bad JSON)."""


@dataclass(frozen=True)
class Round:
    """What one round did: the size now witnessed, whether it cosigned anew, and whether
    the log has the cosignature (delivered now, or already served with the checkpoint)."""

    size: int
    cosigned: bool
    delivered: bool
    problem: dict[str, Any] | None = None


async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    response = await http.get(path, params=params)
    if response.status_code >= 500:
        raise LogUnavailable(f"GET {path}: {response.status_code} {response.text[:200]}")
    return response


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code != 200:
        raise LogUnavailable(f"{what}: {response.status_code} {response.text[:200]}")
    try:
        return response.json()
    except ValueError as exc:
        raise LogUnavailable(f"{what} is not JSON") from exc


async def _listed_keys(http: httpx.AsyncClient) -> tuple[str, list[tuple[NoteVerifier, str]]]:
    doc = _json(await _get(http, LOG_KEYS_PATH), "the log keys")
    try:
        origin = str(doc["origin"])
        keys = [(parse_vkey(k["vkey"]), str(k.get("status", "active"))) for k in doc["keys"]]
    except (KeyError, TypeError) as exc:
        raise WitnessRefused(f"the log keys document is malformed: {exc!r}") from exc
    except MalformedNote as exc:
        raise WitnessRefused(f"a listed log key is malformed: {exc.detail}") from exc
    if any(k.sig_type != SIG_TYPE_ED25519 for k, _ in keys):
        raise WitnessRefused("a listed log key is not an Ed25519 note key")
    return origin, keys


async def _proof(http: httpx.AsyncClient, old: int, new: int) -> tuple[bytes, ...]:
    doc = _json(await _get(http, CONSISTENCY_PATH, old=old, new=new), "the consistency proof")
    try:
        return tuple(bytes.fromhex(h) for h in doc["proof"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WitnessRefused(f"the consistency proof {old}->{new} is malformed") from exc


def _carries_ours(note: str, name: str, key: Ed25519PrivateKey) -> bool:
    """Whether the served note already has a valid cosignature by this witness."""
    ours = NoteVerifier(name, SIG_TYPE_COSIGNATURE_V1, public_key_bytes(key))
    try:
        open_note(note, [ours])
    except DomainError:
        return False
    return True


async def follow_once(
    http: httpx.AsyncClient,
    *,
    state_path: Path,
    key: Ed25519PrivateKey,
    name: str,
    now: Callable[[], int],
    echo: Callable[[str], None],
) -> Round | None:
    """One round against the log at `http`'s base URL; None if it has no checkpoint yet."""
    stored = load_state(state_path)
    origin, listed = await _listed_keys(http)
    if stored is None:
        pinned = tuple(k for k, status in listed if status != "retired")
        if not pinned:
            raise WitnessRefused("the log lists no active key to pin")
        state = WitnessState(origin, pinned)
        echo(f"log keys: pinned {len(pinned)} key(s) of {origin} on first use: "
             + ", ".join(k.vkey for k in pinned))
    else:
        state = stored.state
        if origin != state.origin:
            raise WitnessRefused(f"the log now calls itself {origin!r}, not {state.origin!r}")
        echo(f"log keys: {origin}, {len(listed)} listed, {len(state.log_keys)} pinned")

    response = await _get(http, CHECKPOINT_PATH)
    if response.status_code == 404:
        echo("checkpoint: none signed yet")
        return None
    if response.status_code != 200:
        raise LogUnavailable(f"the latest checkpoint: {response.status_code}")
    note = response.text
    try:
        change = reconcile_log_keys(state.log_keys, [k for k, _ in listed], note)
        checkpoint = parse_checkpoint(parse_note(note)[0])
    except DomainError as exc:
        raise WitnessRefused(f"checkpoint: {exc.detail}") from exc
    for adopted in change.adopted:
        echo(f"log keys: adopted {adopted.vkey} (it signed beside a pinned key)")
    for unproven in change.unproven:
        echo(f"log keys: not trusting {unproven.vkey} until it signs beside a pinned key")
    state = replace(state, log_keys=change.keys)
    echo(f"checkpoint: size {checkpoint.size}, root {checkpoint.root.hex()}")
    if (checkpoint.size, checkpoint.root) == (state.size, state.root) and _carries_ours(
        note, name, key
    ):
        echo(f"cosignature: the log already serves ours for size {checkpoint.size}")
        return Round(state.size, cosigned=False, delivered=True)

    proof: tuple[bytes, ...] = ()
    if 0 < state.size < checkpoint.size:
        proof = await _proof(http, state.size, checkpoint.size)
        echo(f"consistency: proof of {len(proof)} hash{'' if len(proof) == 1 else 'es'} "
             f"from {state.size} to {checkpoint.size}")
    timestamp = now()
    try:
        done = add_checkpoint(state, AddCheckpoint(state.size, proof, note), witness_name=name,
                              witness_key=key, timestamp=timestamp)
    except DomainError as exc:
        raise WitnessRefused(f"refused checkpoint {checkpoint.size}: {exc.detail}") from exc
    echo(f"verified: {checkpoint.size} extends the witnessed {state.size}")

    save_state(state_path, StoredState(done.state, done.witnessed_note, timestamp))
    echo(f"state: saved size {done.state.size} to {state_path}")

    posted = await http.post(COSIGNATURES_PATH, content=done.cosigned_note.encode("utf-8"),
                             headers={"content-type": "text/plain; charset=utf-8"})
    if posted.status_code >= 500:
        raise LogUnavailable(f"POST {COSIGNATURES_PATH}: {posted.status_code}")
    if posted.status_code >= 400:
        try:
            problem = posted.json()
        except ValueError:
            problem = {"status": posted.status_code, "detail": posted.text[:500]}
        echo(f"cosignature: refused by the log: {posted.status_code} "
             f"{problem.get('detail', '')}")
        return Round(done.state.size, True, False, problem)
    echo(f"cosignature: delivered for size {checkpoint.size} ({name})")
    return Round(done.state.size, True, True)
