"""Run the Alembic migrations: the only source of schema, in the app and in tests."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from dataex.config.paths import migrations_dir


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade in a worker thread: migrations/env.py runs its own event loop."""
    await asyncio.to_thread(upgrade_sync, url, revision)
