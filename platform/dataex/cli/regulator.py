"""`dataex regulator ...`: a regulator's actions and reads from the command line.

Actions (freeze, unfreeze, link, unlink, halt, resume) sign a document with
--key and submit it, printing the receipt (cli/common.py's sign_and_submit).
Reads (participants, orders, trades, balances, stats, surveillance) are signed
requests (contracts/SPEC.md sections 12 and 13) with the same key; the server
answers only a regulator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dataex.cli.common import (
    options,
    print_json,
    sign_and_submit,
    signed,
)
from dataex.client.sdk import Client, ProblemError
from dataex.core.market.contracts import HALT, RESUME
from dataex.core.supervision.contracts import FREEZE, LINK, UNFREEZE, UNLINK
from dataex.keys.files import load_key

BASE = "/v1/regulator"


def _read(server: str, key_path: Path, path: str, **params: Any) -> None:
    with Client(server) as client:
        print_json(client.signed_get(f"{BASE}/{path}", load_key(key_path), **params))


def _read_text(server: str, key_path: Path, path: str, **params: Any) -> None:
    """A signed GET whose answer is text (CSV), printed as it came."""
    with Client(server) as client:
        target, headers = client.signed_target(f"{BASE}/{path}", load_key(key_path), params)
        response = client.http.get(target, headers=headers)
    if response.status_code >= 400:
        raise ProblemError(response.status_code, response.json())
    click.echo(response.text, nl=False)


_days = options(
    click.option("--date", "day", default=None, help="One UTC day, YYYY-MM-DD (default today)."),
    click.option("--from", "first", default=None, help="First UTC day of a range."),
    click.option("--to", "last", default=None, help="Last UTC day of a range."),
)


@click.group()
def regulator() -> None:
    """A regulator's actions (signed documents) and reads (signed requests)."""


@regulator.command()
@click.argument("participant_id")
@click.option("--reason", required=True)
@signed
def freeze(participant_id: str, reason: str, key_path: Path, server: str) -> None:
    """Freeze PARTICIPANT_ID: its documents are refused, its open orders cancelled."""
    sign_and_submit(server, key_path, FREEZE, {"participant_id": participant_id,
                                               "reason": reason})


@regulator.command()
@click.argument("participant_id")
@click.option("--reason", required=True)
@signed
def unfreeze(participant_id: str, reason: str, key_path: Path, server: str) -> None:
    """Let a frozen PARTICIPANT_ID act again."""
    sign_and_submit(server, key_path, UNFREEZE, {"participant_id": participant_id,
                                                 "reason": reason})


@regulator.command()
@click.argument("participant_id")
@click.argument("linked_participant_id")
@click.option("--basis", required=True, help="Why: shared beneficial owner, parent, ...")
@signed
def link(participant_id: str, linked_participant_id: str, basis: str, key_path: Path,
         server: str) -> None:
    """Declare two participants linked (surveillance reports trades between them)."""
    sign_and_submit(server, key_path, LINK, {"participant_id": participant_id,
                                             "linked_participant_id": linked_participant_id,
                                             "basis": basis})


@regulator.command()
@click.argument("participant_id")
@click.argument("linked_participant_id")
@click.option("--reason", required=True)
@signed
def unlink(participant_id: str, linked_participant_id: str, reason: str, key_path: Path,
           server: str) -> None:
    """Remove a declared link."""
    sign_and_submit(server, key_path, UNLINK, {"participant_id": participant_id,
                                               "linked_participant_id": linked_participant_id,
                                               "reason": reason})


@regulator.command()
@click.argument("symbol")
@click.option("--reason", required=True)
@signed
def halt(symbol: str, reason: str, key_path: Path, server: str) -> None:
    """Stop trading in SYMBOL."""
    sign_and_submit(server, key_path, HALT, {"symbol": symbol, "reason": reason})


@regulator.command()
@click.argument("symbol")
@signed
def resume(symbol: str, key_path: Path, server: str) -> None:
    """Resume trading in SYMBOL."""
    sign_and_submit(server, key_path, RESUME, {"symbol": symbol})


@regulator.command()
@signed
def participants(key_path: Path, server: str) -> None:
    """Every participant: roles, status, keys and links."""
    _read(server, key_path, "participants")


@regulator.command()
@click.option("--symbol", default=None)
@click.option("--participant", default=None)
@click.option("--status", default=None, help="open, filled, cancelled or expired.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@signed
def orders(symbol: str | None, participant: str | None, status: str | None, limit: int,
           offset: int, key_path: Path, server: str) -> None:
    """All orders, newest first."""
    _read(server, key_path, "orders", symbol=symbol, participant=participant, status=status,
          limit=limit, offset=offset)


@regulator.command()
@click.option("--symbol", default=None)
@click.option("--participant", default=None)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@signed
def trades(symbol: str | None, participant: str | None, limit: int, offset: int,
           key_path: Path, server: str) -> None:
    """Trades with buyer and seller identities, newest first."""
    _read(server, key_path, "trades", symbol=symbol, participant=participant, limit=limit,
          offset=offset)


@regulator.command()
@click.option("--participant", default=None, help="One account only.")
@signed
def balances(participant: str | None, key_path: Path, server: str) -> None:
    """Available and held balances and holds, per account."""
    _read(server, key_path, "balances", participant=participant)


@regulator.command()
@_days
@click.option("--csv", "as_csv", is_flag=True, help="CSV (date,metric,key,value), not JSON.")
@signed
def stats(day: str | None, first: str | None, last: str | None, as_csv: bool, key_path: Path,
          server: str) -> None:
    """Daily statistics: trades, turnover, tokens, registrations, certificates."""
    params: dict[str, Any] = {"date": day, "from": first, "to": last}
    if as_csv:
        _read_text(server, key_path, "statistics", **params, format="csv")
    else:
        _read(server, key_path, "statistics", **params)


@regulator.command()
@_days
@signed
def surveillance(day: str | None, first: str | None, last: str | None, key_path: Path,
                 server: str) -> None:
    """Self-trades prevented, linked trading, cancel-to-fill ratios and flags."""
    _read(server, key_path, "surveillance", date=day, **{"from": first, "to": last})
