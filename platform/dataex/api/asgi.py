"""ASGI entry point for servers.

`granian --interface asgi --factory dataex.api.asgi:app_factory` (one worker).
"""

from __future__ import annotations

from litestar import Litestar

from dataex.api.app import create_app
from dataex.api.logs import RequestLog, configure_logging
from dataex.config.settings import Settings


def app_factory() -> Litestar:
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    return create_app(settings, request_log=RequestLog(settings.log_format))
