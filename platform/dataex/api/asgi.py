"""ASGI entry point for servers.

`granian --interface asgi --factory dataex.api.asgi:app_factory` (one worker).
"""

from __future__ import annotations

from litestar import Litestar

from dataex.api.app import create_app
from dataex.settings import Settings


def app_factory() -> Litestar:
    return create_app(Settings.from_env())
