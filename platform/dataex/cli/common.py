"""What every CLI command shares: settings, the server URL, clean failures."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dataex.client.sdk import ProblemError
from dataex.config.settings import Settings
from dataex.keys.files import KeyFileError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_REFUSED = 2  # the server refused (problem+json) or verification found a fault
EXIT_LOCKED = 3  # another sequencer already writes to the database


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def default_server() -> str:
    s = settings()
    return f"http://{s.host}:{s.port}"


server_option = click.option(
    "--server",
    envvar="DATAEX_SERVER",
    default=default_server,
    show_default="http://DATAEX_HOST:DATAEX_PORT",
    help="Base URL of a running dataex server.",
)

key_option = click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PEM file of the signing key (see `dataex keys new`).",
)


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options (or decorators) as one, applied as if stacked top first."""

    def apply(fn: F) -> F:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def sign_and_submit(server: str, key_path: Path, contract: str, body: dict[str, Any]) -> None:
    """Sign `body` under `contract` with the key file and print the server's receipt."""
    from dataex.client.sdk import Client, build_document
    from dataex.keys.files import load_key

    envelope = build_document(contract, body, load_key(key_path))
    with Client(server) as client:
        print_json(client.submit(envelope))


def friendly_errors(fn: F) -> F:
    """Turn expected failures into one clear line and a non-zero exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import httpx

        try:
            return fn(*args, **kwargs)
        except ProblemError as exc:
            click.echo(f"refused: {exc}", err=True)
            print_json(exc.problem)
            sys.exit(EXIT_REFUSED)
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the server: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def read_json_argument(source: str) -> Any:
    """JSON from a file path, '-' for stdin, or an inline JSON text."""
    if source == "-":
        text = sys.stdin.read()
    elif source.lstrip().startswith(("{", "[")):
        text = source
    else:
        try:
            text = Path(source).read_text()
        except OSError as exc:
            raise click.ClickException(f"cannot read {source}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{source} is not valid JSON: {exc}") from exc


# What every command that signs with the user's key takes: --key, --server, clean failures.
signed = options(key_option, server_option, friendly_errors)
