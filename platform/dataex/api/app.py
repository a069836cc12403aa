"""The Litestar app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from dataex import __version__
from dataex.api.audit import AuditController
from dataex.api.contracts import ContractsController, ProblemsController
from dataex.api.documents import DocumentsController, with_submit_fast_path
from dataex.api.health import HealthController
from dataex.api.hygiene import RequestHygiene
from dataex.api.logs import RequestLog
from dataex.api.market import MarketController
from dataex.api.metrics import Metrics, runtime_gauges
from dataex.api.observability import observed
from dataex.api.openapi import with_problem_responses
from dataex.api.participants import ParticipantsController
from dataex.api.problems import EXCEPTION_HANDLERS
from dataex.api.proofs import ProofsController, WellKnownController, with_inclusion_fast_path
from dataex.api.registry import RegistryController
from dataex.api.regulator import RegulatorController
from dataex.api.witness import WitnessController
from dataex.config.settings import Settings
from dataex.store.runtime import Runtime, open_runtime
from dataex.web.assets import static_router, template_config
from dataex.web.pages import PagesController

log = logging.getLogger(__name__)

# /schema: Scalar's API reference from dataex's own files (web/vendor.json), no CDN, no
# remote fonts, so it works on a machine with no way out.
API_REFERENCE = ScalarRenderPlugin(
    js_url="/static/vendor/scalar/standalone.js", css_url="/static/api-reference.css",
    favicon='<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">',
    options={"withDefaultFonts": False, "hideClientButton": True, "telemetry": False,
             "showDeveloperTools": "never"},
)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None,
               request_log: RequestLog | None = None) -> Litestar:
    """Build the app; with `runtime` given (tests), the caller owns its life cycle.

    `request_log` writes the access log (the server passes one; tests may).
    """
    settings = settings or (runtime.settings if runtime else Settings.from_env())

    metrics = Metrics() if settings.metrics else None

    def observe(rt: Runtime) -> None:
        if metrics is not None:
            rt.sequencer.on_batch = metrics.batch
            runtime_gauges(metrics, rt)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if runtime is not None:
            yield
            return
        own = await open_runtime(settings, stand_by=bool(settings.standby))
        observe(own)
        app.state.runtime = own
        try:
            yield
        finally:
            await own.close()

    if runtime is not None:
        observe(runtime)

    app = Litestar(
        route_handlers=[
            HealthController,
            DocumentsController,
            AuditController,
            ProofsController,
            WellKnownController,
            WitnessController,
            ParticipantsController,
            RegistryController,
            MarketController,
            RegulatorController,
            ContractsController,
            ProblemsController,
            PagesController,
            static_router(),
        ],
        template_config=template_config(),
        lifespan=[lifespan],
        state=State({"runtime": runtime}),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="dataex",
            version=__version__,
            description="Data property registration and trading with a verifiable audit log. "
            "Every state change is a signed document (contracts/SPEC.md) POSTed to "
            "/v1/documents; errors are RFC 9457 problem+json.",
            path="/schema",
            render_plugins=[API_REFERENCE],
        ),
        debug=False,
        logging_config=None,  # api/logs.py configures the process; Litestar's would replace it
    )
    app.state.metrics = metrics
    _document_problems(app)
    with_submit_fast_path(with_inclusion_fast_path(app))
    app.asgi_handler = RequestHygiene(app.asgi_handler)  # before any path reads the target
    return observed(app, metrics, request_log)


def _document_problems(app: Litestar) -> None:
    """Serve the OpenAPI document with every operation's problem responses (api/openapi.py).

    Litestar builds the document from the handlers and caches it in its OpenAPI
    plugin (a private class, so tests/api/test_openapi.py checks the served
    document has the problems); it is built once here, with them, and cached.
    """
    from litestar._openapi.plugin import OpenAPIPlugin

    plugin = app.plugins.get(OpenAPIPlugin)
    plugin._openapi_schema = with_problem_responses(plugin.provide_openapi().to_schema())

