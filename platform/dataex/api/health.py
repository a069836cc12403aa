"""Liveness and readiness for orchestrators and the quick start."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from dataex.store.database.engine import ping


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Database reachable and sequencer running")
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        runtime = state.get("runtime")
        database = runtime is not None and await ping(runtime.engine)
        sequencer = runtime is not None and runtime.sequencer.running
        ok = database and sequencer
        body = {
            "status": "ready" if ok else "not-ready",
            "database": database,
            "sequencer": sequencer,
            "log_size": runtime.sequencer.head.seq if runtime is not None else None,
        }
        return Response(body, status_code=200 if ok else 503)
