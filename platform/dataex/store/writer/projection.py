"""Write the events of a batch to the state tables, in the batch's transaction.

The log holds what happened; these tables hold where it left things, so start-up
reads state instead of replaying history. Each participant event type has one
writer here; every registry event has the same one (registry_projection.py
indexes it, and upserts the registry's records once per batch); market events
are written by market_projection.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dataex.core.documents.encoding import b64url_decode
from dataex.store.batch_writes import BatchWrites
from dataex.store.market.projection import is_market_event
from dataex.store.registry.projection import index_event, is_registry_event
from dataex.store.tables import (
    entry_participants,
    participant_keys,
    participant_links,
    participants,
)

Event = dict[str, Any]
Writer = Callable[[BatchWrites, Event, int], None]


def _admitted(w: BatchWrites, e: Event, seq: int) -> None:
    w.insert(
        participants,
        {
            "participant_id": e["participant_id"],
            "display_name": e["display_name"],
            "legal_id": e["legal_id"],
            "roles": e["roles"],
            "status": "active",
            "active_key_id": e["key_id"],
            "admitted_seq": seq,
        },
    )
    w.insert(
        participant_keys,
        {
            "key_id": e["key_id"],
            "participant_id": e["participant_id"],
            "public_key": b64url_decode(e["public_key"]),
            "status": "active",
            "added_seq": seq,
        },
    )


def _rotated(w: BatchWrites, e: Event, seq: int) -> None:
    w.insert(
        participant_keys,
        {
            "key_id": e["new_key_id"],
            "participant_id": e["participant_id"],
            "public_key": b64url_decode(e["new_public_key"]),
            "status": "active",
            "added_seq": seq,
        },
    )
    w.update(participant_keys, "key_id", e["old_key_id"], status="rotated")
    w.update(participants, "participant_id", e["participant_id"], active_key_id=e["new_key_id"])


def _revoked(w: BatchWrites, e: Event, seq: int) -> None:
    w.update(participant_keys, "key_id", e["key_id"], status="revoked")


def _status(status: str) -> Writer:
    def write(w: BatchWrites, e: Event, seq: int) -> None:
        w.update(participants, "participant_id", e["participant_id"], status=status)

    return write


def _linked(w: BatchWrites, e: Event, seq: int) -> None:
    if e["relinked"]:
        w.update(participant_links, "link_id", e["link_id"], basis=e["basis"], status="active",
                 updated_seq=seq)
        return
    w.insert(
        participant_links,
        {
            "link_id": e["link_id"],
            "participant_a": e["participant_a"],
            "participant_b": e["participant_b"],
            "basis": e["basis"],
            "status": "active",
            "linked_seq": seq,
            "updated_seq": seq,
        },
    )


def _unlinked(w: BatchWrites, e: Event, seq: int) -> None:
    w.update(participant_links, "link_id", e["link_id"], status="removed", updated_seq=seq)


WRITERS: dict[str, Writer] = {
    "participant.admitted": _admitted,
    "key.rotated": _rotated,
    "key.revoked": _revoked,
    "participant.frozen": _status("frozen"),
    "participant.unfrozen": _status("active"),
    "participants.linked": _linked,
    "participants.unlinked": _unlinked,
}


def project(writes: BatchWrites, events: list[Event], seq: int) -> None:
    """Queue the rows one command's events change; BatchWrites sends them per batch."""
    for position, event in enumerate(events):
        if is_registry_event(event):
            index_event(writes, event, seq, position)
        elif is_market_event(event):
            continue  # market_projection.py writes them once per batch
        else:
            WRITERS[str(event["type"])](writes, event, seq)


# Every participant id a log entry holds, as a whole JSON string (migration 0009's rule).
_PARTICIPANT_ID = re.compile(r'"(P[0-9]{6,30})"')


def named_participants(entry_json: str) -> set[str]:
    """The participant ids in one canonical entry: who may read it besides regulators."""
    return set(_PARTICIPANT_ID.findall(entry_json))


def queue_entry_index(writes: BatchWrites, rows: list[dict[str, Any]]) -> None:
    """entry_participants rows for a batch's log entries (the index of participants' reads)."""
    writes.insert_many(entry_participants, [
        {"participant_id": pid, "seq": row["seq"]}
        for row in rows for pid in sorted(named_participants(row["entry"]))
    ])
