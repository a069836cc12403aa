"""POST /v1/audit/cosignatures: regulators hand in their witness cosignatures.

A witness (`dataex witness follow`) verifies a checkpoint against what it saw
before, cosigns it (c2sp.org/tlog-cosignature, cosignature/v1) and posts the
checkpoint text with its cosignature line. The rules are core's
(`accept_cosignatures`): the text must be the stored checkpoint's, and every
line other than the log's own must verify under an active key of an admitted,
active regulator. Stored lines are then served with the checkpoint.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, post

from dataex.api.state import runtime_from
from dataex.core.documents.errors import NotFound
from dataex.core.log.checkpoint import parse_checkpoint, parse_note
from dataex.core.log.witness import accept_cosignatures
from dataex.store.log.witnesses import store_cosignatures, stored_note, witness_keys


class WitnessController(Controller):
    path = "/v1/audit/cosignatures"
    tags = ["audit"]

    @post(
        "/",
        summary="Add witness cosignatures to a stored checkpoint",
        description="Body (text/plain): a checkpoint note for a stored size whose signature "
        "lines include cosignature/v1 lines by a regulator's witness key. 201 when something "
        "new was stored, 200 when every cosignature was already stored (a repeat).",
    )
    async def add(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        runtime = runtime_from(request)
        body = await request.body()
        text, _ = parse_note(body)
        size = parse_checkpoint(text).size
        note = await stored_note(runtime.engine, size)
        if note is None:
            raise NotFound(f"the log has no checkpoint at size {size}")
        accepted = accept_cosignatures(
            note, body, await witness_keys(runtime.engine), now=int(time.time()),
            max_future_seconds=runtime.settings.max_clock_skew_seconds,
        )
        inserted = await store_cosignatures(runtime.engine, size, accepted, datetime.now(UTC))
        metrics = request.app.state.get("metrics")
        if metrics is not None:
            metrics.cosignatures.inc(len(inserted))
        return Response(
            {
                "size": size,
                "cosignatures": [
                    {
                        "key_name": a.key_name,
                        "key_hash": a.key_hash.hex(),
                        "witness_participant_id": a.participant_id,
                        "timestamp": a.timestamp,
                        "stored": "new" if a.key_hash in inserted else "already",
                    }
                    for a in accepted
                ],
            },
            status_code=201 if inserted else 200,
        )
