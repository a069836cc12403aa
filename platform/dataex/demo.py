"""`dataex serve --demo`: seed demo participants so a newcomer can act at once.

Each demo participant's key is written to <data_dir>/demo-keys/<name>.pem, so
`dataex submit --key ...` works against the demo server straight away. Seeding
is idempotent: participants already admitted are left alone.
"""

from __future__ import annotations

from pathlib import Path

from dataex.bootstrap import KeyPaths, submit_local
from dataex.client import build_document
from dataex.core.envelope import ADMIT_CONTRACT
from dataex.keyfiles import describe, load_key, new_key
from dataex.store.runtime import Runtime

DEMO_PARTICIPANTS: tuple[tuple[str, str, str, list[str]], ...] = (
    ("registrar", "Shenzhen Data Registration Desk (demo)", "DEMO-REG-001", ["registrar"]),
    ("issuer", "Example Model Provider (demo)", "DEMO-ISS-001", ["issuer", "trader"]),
    ("alice", "Alice Data Co. (demo)", "DEMO-TRD-001", ["trader"]),
    ("bob", "Bob Analytics Ltd. (demo)", "DEMO-TRD-002", ["trader"]),
    ("regulator", "Data Market Supervisor (demo)", "DEMO-RGL-001", ["regulator"]),
)


def demo_key_dir(data_dir: Path) -> Path:
    return data_dir / "demo-keys"


async def seed_demo(runtime: Runtime, paths: KeyPaths) -> list[str]:
    """Admit the demo participants not admitted yet; return the names admitted."""
    operator = load_key(paths.operator)
    key_dir = demo_key_dir(runtime.settings.data_dir)
    known_legal_ids = runtime.sequencer.state.participants.legal_ids
    admitted = []
    for name, display_name, legal_id, roles in DEMO_PARTICIPANTS:
        if legal_id in known_legal_ids:
            continue
        path = key_dir / f"{name}.pem"
        key = load_key(path) if path.exists() else new_key(path)
        body = {
            "display_name": display_name,
            "legal_id": legal_id,
            "public_key": describe(key)["public_key"],
            "roles": roles,
        }
        await submit_local(runtime, build_document(ADMIT_CONTRACT, body, operator))
        admitted.append(name)
    return admitted
