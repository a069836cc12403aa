"""`dataex witness`: make a witness key, follow a dataex log and cosign it, or serve a witness."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.cli.common import EXIT_FAILURE, EXIT_REFUSED, print_json
from dataex.core.documents.signing import public_key_bytes
from dataex.core.log.checkpoint import (
    SIG_TYPE_COSIGNATURE_V1,
    MalformedNote,
    NoteVerifier,
    format_vkey,
    parse_vkey,
)
from dataex.keys.files import KeyFileError, describe, load_key, new_key

VKEY_SUFFIX = ".vkey"


def _vkey_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + VKEY_SUFFIX)


def _identity(key_path: Path, name: str | None) -> tuple[Ed25519PrivateKey, str]:
    """The witness key and its name (from --name or the .vkey file `witness init` wrote)."""
    try:
        key = load_key(key_path)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if name is None:
        vkey_file = _vkey_path(key_path)
        try:
            verifier = parse_vkey(vkey_file.read_text().strip())
        except FileNotFoundError as exc:
            raise click.ClickException(
                f"no {vkey_file}: pass --name or run `dataex witness init`") from exc
        except MalformedNote as exc:
            raise click.ClickException(f"{vkey_file}: {exc.detail}") from exc
        if verifier.public_key != public_key_bytes(key):
            raise click.ClickException(f"{vkey_file} is not the vkey of {key_path}")
        name = verifier.name
    try:
        NoteVerifier(name, SIG_TYPE_COSIGNATURE_V1, public_key_bytes(key))
    except MalformedNote as exc:
        raise click.ClickException(exc.detail) from exc
    return key, name


@click.group()
def witness() -> None:
    """Witness the audit log: cosign checkpoints that extend what was seen (C2SP tlog-witness)."""


@witness.command("init")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PEM key file; made if missing, else reused (e.g. the regulator's own key).")
@click.option("--name", required=True,
              help="Witness key name, a schema-less URL such as regulator.example/witness.")
def init(key_path: Path, name: str) -> None:
    """Make (or reuse) an Ed25519 witness key and print its cosignature/v1 vkey.

    The regulator is admitted (or rotates) with this key: its public key is the
    witness key the platform accepts cosignatures from.
    """
    try:
        key = load_key(key_path) if key_path.exists() else new_key(key_path)
        vkey = format_vkey(name, public_key_bytes(key), SIG_TYPE_COSIGNATURE_V1)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    except MalformedNote as exc:
        raise click.ClickException(exc.detail) from exc
    _vkey_path(key_path).write_text(vkey + "\n")
    print_json({"vkey": vkey, "name": name, **describe(key)})


@witness.command("follow")
@click.option("--server", envvar="DATAEX_SERVER", required=True, help="Base URL of the dataex log.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The witness key (see `dataex witness init`).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="JSON file of what this witness has seen (made on first use).")
@click.option("--name", default=None, help="Witness key name (default: from KEY.vkey).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="Do one round and exit.")
def follow(server: str, key_path: Path, state_path: Path, name: str | None, interval: float,
           once: bool) -> None:
    """Verify each new checkpoint against the witnessed one, save, cosign, and send it to the log.

    Exit code 2 when the log shows a fork (a checkpoint inconsistent with the
    witnessed tree, not signed by its pinned keys, or going backwards); 1 when
    the log cannot be reached or refuses the cosignature (with --once).
    """
    key, name = _identity(key_path, name)
    from dataex.witness.state import StateFileError, state_lock

    try:
        with state_lock(state_path):
            code = asyncio.run(_follow(server, key, name, state_path, interval, once))
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from exc
    sys.exit(code)


async def _follow(server: str, key: Ed25519PrivateKey, name: str, state_path: Path, interval: float,
                  once: bool) -> int:
    import httpx

    from dataex.witness.follow import LogUnavailable, WitnessRefused, follow_once

    async with httpx.AsyncClient(base_url=server.rstrip("/"), timeout=30) as http:
        while True:
            try:
                done = await follow_once(http, state_path=state_path, key=key, name=name,
                                         now=lambda: int(time.time()), echo=click.echo)
            except WitnessRefused as exc:
                click.echo(f"REFUSED: {exc}", err=True)
                return EXIT_REFUSED
            except (LogUnavailable, httpx.HTTPError) as exc:
                click.echo(f"log unavailable: {exc}", err=True)
                if once:
                    return EXIT_FAILURE
            else:
                if once:
                    return EXIT_FAILURE if done is not None and not done.delivered else 0
            await asyncio.sleep(interval)


@witness.command("serve")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The witness key (see `dataex witness init`).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="JSON file of what this witness has seen.")
@click.option("--name", default=None, help="Witness key name (default: from KEY.vkey).")
@click.option("--log-key", "log_keys", multiple=True,
              help="The log's verifier key (vkey); needed when the state file is new.")
@click.option("--origin", default=None, help="The log's origin (default: the log key's name).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
def serve(key_path: Path, state_path: Path, name: str | None, log_keys: tuple[str, ...],
          origin: str | None, host: str, port: int) -> None:
    """Serve POST /add-checkpoint (c2sp.org/tlog-witness) for a log that pushes checkpoints."""
    from dataex.core.log.witness import WitnessState
    from dataex.witness.serve import ENV_KEY, ENV_NAME, ENV_STATE
    from dataex.witness.state import StateFileError, StoredState, load_state, save_state

    _key, name = _identity(key_path, name)
    try:
        stored = load_state(state_path)
        if stored is None:
            if not log_keys:
                raise click.ClickException(f"{state_path} is new: pass the log's --log-key")
            verifiers = tuple(parse_vkey(v) for v in log_keys)
            state = WitnessState(origin or verifiers[0].name, verifiers)
            save_state(state_path, StoredState(state))
            click.echo(f"state: new, following {state.origin} from size 0")
        elif log_keys or origin:
            raise click.ClickException(
                f"{state_path} already pins the log's origin and keys; drop --log-key/--origin")
        else:
            click.echo(f"state: {stored.state.origin} at size {stored.state.size}")
    except (StateFileError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except MalformedNote as exc:
        raise click.ClickException(exc.detail) from exc
    os.environ.update({ENV_STATE: str(state_path.resolve()), ENV_KEY: str(key_path.resolve()),
                       ENV_NAME: name})
    click.echo(f"witness {name} serving on http://{host}:{port}/add-checkpoint")
    from granian import Granian
    from granian.constants import Interfaces

    Granian("dataex.witness.serve:app_from_env", address=host, port=port,
            interface=Interfaces.ASGI, factory=True, workers=1).serve()
