"""`dataex init`: the data directory, the operator and log keys, the genesis entry.

The first log entry is the operator admitting itself, signed by its own new
key. Only this local path may do that (the HTTP API never accepts a
self-admission), so nobody can race the operator for the platform.
"""

from __future__ import annotations

import msgspec

from dataex.client.sdk import build_document
from dataex.config.settings import Settings
from dataex.core.envelope import ADMIT_CONTRACT, parse_envelope
from dataex.keys.files import describe, load_key, new_key
from dataex.keys.locations import KeyPaths
from dataex.store.runtime import Runtime
from dataex.store.writer.sequencer import Receipt


def ensure_keys(settings: Settings) -> tuple[KeyPaths, list[str]]:
    """Create the operator and log keys if missing; return what was created."""
    paths = KeyPaths.of(settings)
    created = []
    for name, path in (("operator", paths.operator), ("log", paths.log)):
        if not path.exists():
            new_key(path)
            created.append(name)
    return paths, created


async def ensure_genesis(runtime: Runtime, paths: KeyPaths) -> bool:
    """Admit the operator as the first entry if the log is empty; True if it did."""
    if runtime.sequencer.state.participants.by_id:
        return False
    key = load_key(paths.operator)
    body = {
        "display_name": "dataex operator",
        "legal_id": "operator:" + describe(key)["key_id"],
        "public_key": describe(key)["public_key"],
        "roles": ["operator"],
    }
    envelope = build_document(ADMIT_CONTRACT, body, key, nonce="genesis")
    parsed = parse_envelope(msgspec.json.encode(envelope), runtime.settings.max_body_bytes)
    command = runtime.sequencer.authenticate(
        parsed, max_skew=runtime.settings.max_clock_skew, allow_genesis=True
    )
    await runtime.sequencer.submit(command)
    return True


async def submit_local(runtime: Runtime, envelope: dict[str, object]) -> Receipt:
    """Submit a signed envelope through the same checks as HTTP, without HTTP."""
    parsed = parse_envelope(msgspec.json.encode(envelope), runtime.settings.max_body_bytes)
    command = runtime.sequencer.authenticate(parsed, max_skew=runtime.settings.max_clock_skew)
    return await runtime.sequencer.submit(command)


def operator_admitted(runtime: Runtime, paths: KeyPaths) -> bool:
    operator_key_id = describe(load_key(paths.operator))["key_id"]
    record = runtime.sequencer.state.participants.keys.get(operator_key_id)
    return record is not None and record.status == "active"
