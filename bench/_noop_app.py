"""Tiny Litestar app served by both ASGI servers in bench/asgi_servers.py.

Imported by module path (``bench._noop_app:app``) from the repository root, so
granian and uvicorn load exactly the same code. It touches no database and
no dataex module: the benchmark measures the server, not the service.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar, get, post


class Leg(msgspec.Struct, frozen=True):
    asset: str
    amount: str
    side: str


class NoopIn(msgspec.Struct, frozen=True):
    """Shape of a small signed command, so decoding costs what a real one would."""

    kind: str
    participant: str
    nonce: int
    issued_at: str
    legs: list[Leg]
    memo: str
    signature: str


class NoopOut(msgspec.Struct, frozen=True):
    accepted: bool
    kind: str
    legs: int


@get("/health/live", sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "ok"}


@post("/noop", status_code=200, sync_to_thread=False)
def noop(data: NoopIn) -> NoopOut:
    return NoopOut(accepted=True, kind=data.kind, legs=len(data.legs))


app = Litestar(route_handlers=[live, noop], debug=False)


def sample_body() -> bytes:
    """A valid ~600-byte JSON body for POST /noop."""
    body = NoopIn(
        kind="order.place",
        participant="p_" + "7f3a9c" * 7,
        nonce=1_234_567_890,
        issued_at="2025-01-01T12:00:00.000000Z",
        legs=[
            Leg(asset="dataset:weather-eu-2024", amount="1250.000000", side="buy"),
            Leg(asset="credit:eur", amount="98.760000", side="sell"),
        ],
        memo="benchmark payload " + "x" * 186,
        signature="A" * 86 + "==",  # an Ed25519 signature is 88 chars in base64
    )
    return msgspec.json.encode(body)
