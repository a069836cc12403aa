"""How many tokens an upstream answer used: its OpenAI-style `usage`, or a header."""

from __future__ import annotations

from typing import Any

import msgspec


def usage_tokens(body: bytes, headers: dict[str, str], header: str | None) -> int | None:
    """Tokens the answer reports (None when it reports none the gateway can read).

    With `header` set (e.g. `x-usage-tokens`) only that header counts; otherwise
    the JSON body's `usage.total_tokens`, or `prompt_tokens + completion_tokens`.
    """
    if header is not None:
        value = headers.get(header.lower(), "")
        return int(value) if value.isdigit() else None
    try:
        answer: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if not isinstance(usage, dict):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
        return total
    parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    if all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in parts):
        return int(parts[0]) + int(parts[1])  # type: ignore[arg-type]
    return None


def requested_tokens(body: bytes, default: int) -> int:
    """What to hold before forwarding: the call's own `max_tokens` when it names one."""
    try:
        call: Any = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        return default
    wanted = call.get("max_tokens") if isinstance(call, dict) else None
    if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0:
        return wanted
    return default
