"""What one gateway is configured with (from `dataex gateway` options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GatewaySettings:
    upstream: str  # the provider's own service, e.g. http://127.0.0.1:9100
    products: dict[str, Path]  # symbol -> its issuer's key file (signs holder reads, reports)
    server: str  # dataex, e.g. http://127.0.0.1:8000
    journal: Path  # durable local usage journal (SQLite)
    public_url: str  # this gateway's origin as callers sign it, e.g. http://127.0.0.1:9000
    host: str = "127.0.0.1"
    port: int = 9000
    staleness_seconds: int = 300  # serve from the last holder snapshot this long
    refresh_seconds: float = 5.0  # how often holders are read from dataex
    report_seconds: float = 1.0  # how often usage is reported
    max_skew_seconds: int = 60  # signed requests' clock window (and replay memory)
    tokens_per_unit: int = 1_000_000  # a unit of a token product is this many tokens
    reserve_tokens: int = 1_000  # held per call without max_tokens until its usage is known
    usage_header: str | None = None  # read usage from this header instead of the JSON body
    required_right: str = "processing_use"  # what a licence must grant for API delivery
    timeout_seconds: float = 60.0
    log_vkey: str | None = None  # the dataex log key to trust (else what dataex publishes)
