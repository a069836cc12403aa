"""How controllers reach the runtime: one typed accessor instead of app.state lookups."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from dataex.store.runtime import Runtime


def runtime_of(state: State) -> Runtime:
    runtime = state.get("runtime")
    if runtime is None:
        from dataex.store.writer.sequencer import Unavailable

        raise Unavailable("the service is starting")
    return runtime  # type: ignore[no-any-return]


def runtime_from(request: Request[Any, Any, Any]) -> Runtime:
    return runtime_of(request.app.state)
