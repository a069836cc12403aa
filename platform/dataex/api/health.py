"""Liveness and readiness for orchestrators and the quick start."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from dataex.store.database.engine import ping
from dataex.store.writer.sequencer import STANDBY, WRITER


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Database reachable and this server writing or standing by",
         description="200 while the database answers and this server is the writer "
         "(`role: writer`) or a standby serving reads (`role: standby`); 503 while it "
         "starts or reconnects after losing its database (`role: recovering`).")
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        runtime = state.get("runtime")
        database = runtime is not None and await ping(runtime.engine)
        role = runtime.sequencer.role if runtime is not None else "starting"
        ok = database and role in (WRITER, STANDBY)
        body = {
            "status": "ready" if ok else "not-ready",
            "role": role,
            "database": database,
            "sequencer": runtime is not None and runtime.sequencer.running,
            "log_size": runtime.sequencer.head.seq if runtime is not None else None,
        }
        return Response(body, status_code=200 if ok else 503)
