"""`dataex gateway` (serve licence and token holders in front of an upstream) and `dataex call`."""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from dataex.cli.common import EXIT_REFUSED, friendly_errors, settings
from dataex.gateway.settings import GatewaySettings

ENV_SETTINGS = "DATAEX_GATEWAY_SETTINGS"
DEMO_PRODUCTS = {"QWEN-IN-1M": "issuer", "TAXI-TRAJ-LIC": "alice"}  # symbol -> demo key


def app_from_env() -> object:
    """The factory the ASGI server calls in its worker (`dataex gateway` sets the env)."""
    from dataex.gateway.proxy import build

    raw = json.loads(os.environ[ENV_SETTINGS])
    raw["products"] = {symbol: Path(path) for symbol, path in raw["products"].items()}
    raw["journal"] = Path(raw["journal"])
    return build(GatewaySettings(**raw))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_demo_upstream() -> str:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "dataex.gateway.demo:demo_upstream"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(process.terminate)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    raise click.ClickException("the demo upstream did not start")


@click.command()
@click.option("--upstream", help="The service to put the gateway in front of (base URL).")
@click.option("--product", "products", multiple=True, metavar="SYMBOL=ISSUER_KEY.pem",
              help="A product served, with its issuer's key file (repeat for several).")
@click.option("--server", envvar="DATAEX_SERVER", default=None,
              help="dataex's base URL (default http://DATAEX_HOST:DATAEX_PORT).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9000, show_default=True)
@click.option("--public-url", default=None,
              help="This gateway's origin as callers sign it (default http://HOST:PORT).")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The usage journal (default DATA_DIR/gateway/journal.sqlite3).")
@click.option("--staleness", type=int, default=300, show_default=True,
              help="Seconds to keep serving from the last holder list while dataex is away.")
@click.option("--refresh", "refresh_seconds", type=float, default=5.0, show_default=True,
              help="Seconds between reads of the holders from dataex.")
@click.option("--report-interval", "report_seconds", type=float, default=1.0,
              show_default=True, help="Seconds between consumption reports to dataex.")
@click.option("--tokens-per-unit", type=int, default=1_000_000, show_default=True)
@click.option("--reserve-tokens", type=int, default=1_000, show_default=True,
              help="Tokens held per call that names no max_tokens, until its usage is known.")
@click.option("--usage-header", default=None,
              help="Read usage from this response header instead of the JSON `usage`.")
@click.option("--log-key", default=None, help="The dataex log key (vkey) to trust.")
@click.option("--demo", is_flag=True,
              help="Front a built-in sample upstream for `dataex serve --demo`'s products.")
def gateway(upstream: str | None, products: tuple[str, ...], server: str | None, host: str,
            port: int, public_url: str | None, journal: Path | None, staleness: int,
            refresh_seconds: float, report_seconds: float, tokens_per_unit: int,
            reserve_tokens: int, usage_header: str | None, log_key: str | None,
            demo: bool) -> None:
    """Admit licence and token holders to an upstream API, meter tokens, burn them on dataex."""
    s = settings()
    served = dict(item.split("=", 1) for item in products)
    if demo:
        served = served or {symbol: str(s.data_dir / "demo-keys" / f"{who}.pem")
                            for symbol, who in DEMO_PRODUCTS.items()}
        upstream = upstream or _start_demo_upstream()
        # The demo's holders have a few units: count 10 tokens a unit and hold 20 a call,
        # so a burn shows at once and the first calls fit.
        tokens_per_unit = 10 if tokens_per_unit == 1_000_000 else tokens_per_unit
        reserve_tokens = 20 if reserve_tokens == 1_000 else reserve_tokens
    if not upstream or not served:
        raise click.UsageError("give --upstream and at least one --product (or --demo)")
    for symbol, path in served.items():
        if not Path(path).is_file():
            raise click.ClickException(f"no key file {path} for {symbol}")
    config = GatewaySettings(
        upstream=upstream, products={k: Path(v).resolve() for k, v in served.items()},
        server=server or f"http://{s.host}:{s.port}",
        journal=(journal or s.data_dir / "gateway" / "journal.sqlite3").resolve(),
        public_url=public_url or f"http://{host}:{port}", host=host, port=port,
        staleness_seconds=staleness, refresh_seconds=refresh_seconds,
        report_seconds=report_seconds, tokens_per_unit=tokens_per_unit,
        reserve_tokens=reserve_tokens, usage_header=usage_header, log_vkey=log_key)
    os.environ[ENV_SETTINGS] = json.dumps({
        **asdict(config), "journal": str(config.journal),
        "products": {symbol: str(path) for symbol, path in config.products.items()}})
    click.echo(f"dataex gateway serving on {config.public_url} in front of {upstream}")
    click.echo(f"  products     {', '.join(sorted(config.products))}")
    click.echo(f"  dataex       {config.server} (holders refreshed every "
               f"{config.refresh_seconds:g} s, served up to {staleness} s while it is away)")
    click.echo(f"  journal      {config.journal}")
    click.echo(f"  health       {config.public_url}/gateway/health")
    if demo:
        click.echo(f"  try          dataex call {config.public_url}/datasets/taxi-trajectories"
                   f" --product TAXI-TRAJ-LIC --key {s.data_dir / 'demo-keys' / 'bob.pem'}")
    from granian import Granian
    from granian.constants import Interfaces

    Granian("dataex.cli.gateway:app_from_env", address=host, port=port,
            interface=Interfaces.ASGI, factory=True, workers=1).serve()


@click.command()
@click.argument("url")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Your key file: the call is signed with it.")
@click.option("--product", default=None, help="The product, when the gateway serves several.")
@click.option("--data", default=None, help="A JSON body to POST (a file, '-' or inline).")
@friendly_errors
def call(url: str, key_path: Path, product: str | None, data: str | None) -> None:
    """Call URL through a dataex gateway, signed with your key; print the answer."""
    from dataex.cli.common import read_json_argument
    from dataex.client.sdk import call_gateway
    from dataex.keys.files import load_key

    body = None if data is None else read_json_argument(data)
    answer = call_gateway(url, load_key(key_path), json_body=body, product=product)
    click.echo(answer.text)
    if answer.status_code >= 400:
        sys.exit(EXIT_REFUSED)
