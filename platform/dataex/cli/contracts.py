"""`dataex contracts`: write or check contracts/schemas from the msgspec types."""

from __future__ import annotations

import json
import sys

import click

from dataex.config.paths import contracts_dir
from dataex.core.contracts import CONTRACTS, json_schema


def rendered_openapi() -> str:
    """The API's OpenAPI document as the server serves it (with its problem responses)."""
    from litestar._openapi.plugin import OpenAPIPlugin

    from dataex.api.app import create_app
    from dataex.config.settings import Settings

    app = create_app(Settings())
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_schemas() -> dict[str, str]:
    return {
        f"{name}.json": json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"
        for name in sorted(CONTRACTS)
    }


@click.group()
def contracts() -> None:
    """The JSON Schemas of the signed documents."""


@contracts.command("generate")
@click.option("--check", is_flag=True, help="Only report drift; exit 1 if any.")
def generate(check: bool) -> None:
    """Write contracts/schemas/<contract>.json from the types in core/contracts.py,
    and contracts/openapi.json from the API."""
    folder = contracts_dir() / "schemas"
    wanted = rendered_schemas()
    openapi, openapi_text = contracts_dir() / "openapi.json", rendered_openapi()
    present = {p.name for p in folder.glob("*.json")} if folder.exists() else set()
    drift = sorted(
        name for name, text in wanted.items()
        if not (folder / name).exists() or (folder / name).read_text() != text
    ) + sorted(present - set(wanted))
    if not openapi.exists() or openapi.read_text() != openapi_text:
        drift.append("openapi.json")
    if check:
        if drift:
            click.echo("schemas differ from the types: " + ", ".join(drift), err=True)
            sys.exit(1)
        click.echo(f"{len(wanted)} schemas match the types")
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name in present - set(wanted):
        (folder / name).unlink()
    for name, text in wanted.items():
        (folder / name).write_text(text)
    openapi.write_text(openapi_text)
    click.echo(f"wrote {len(wanted)} schemas to {folder} and {openapi}")
