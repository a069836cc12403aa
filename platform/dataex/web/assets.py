"""Static files and templates: where they are, and how long browsers may keep them."""

from __future__ import annotations

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"


def static_router() -> Router:
    """/static: app code and vendored files; an hour of caching (they change with releases)."""
    return create_static_files_router(
        path="/static", directories=[STATIC], cache_control=CacheControlHeader(max_age=3600),
        include_in_schema=False,
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)
