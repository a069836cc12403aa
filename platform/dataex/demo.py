"""`dataex serve --demo`: seed demo participants and registry so a newcomer can act at once.

Each demo participant's key is written to <data_dir>/demo-keys/<name>.pem, so
`dataex submit --key ...` works against the demo server straight away. Seeding
is idempotent: participants already admitted are left alone, and the registry is
seeded only while it is empty. Everything goes through the sequencer as signed
documents, like any client's, so the demo log verifies like any other.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dataex.bootstrap import KeyPaths, submit_local
from dataex.client import build_document, build_registering_decision
from dataex.core.envelope import ADMIT_CONTRACT
from dataex.core.registry_errors import NoticeRunning
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


# (applicant, stage, title, industry, product form, scenario)
DEMO_ASSETS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("alice", "registered", "Shenzhen taxi trajectories 2025", "transport", "dataset",
     "congestion forecasting"),
    ("bob", "public_notice", "Retail card spending index", "finance", "index",
     "regional consumption statistics"),
    ("alice", "under_review", "Port container dwell times", "logistics", "api",
     "shipping schedule planning"),
    ("issuer", "submitted", "Industrial defect detector v3", "manufacturing", "model",
     "visual quality inspection"),
)
STAGES = ("submitted", "under_review", "public_notice", "registered")


def _demo_application(title: str, industry: str, form: str, scenario: str) -> dict[str, Any]:
    root = hashlib.sha256(f"dataex demo asset: {title}".encode()).hexdigest()
    return {
        "kind": "initial",
        "asset": {
            "title": title,
            "description": f"{title} (demo data; the fingerprint is made up).",
            "fingerprint": {"root": root, "total_bytes": 1_250_000_000, "file_count": 365},
            "product_form": form,
            "industry": industry,
            "scenario": scenario,
            "update_frequency": "daily",
            "source_type": "self_collected",
            "personal_information": False,
            "classification": "general",
        },
        "rights": ["holding", "processing_use", "product_operation"],
    }


async def seed_demo_registry(runtime: Runtime) -> list[str]:
    """Registered assets at every stage, once; returns what was seeded (empty if it was)."""
    registry = runtime.sequencer.state.registry
    if registry.registrations:
        return []
    key_dir = demo_key_dir(runtime.settings.data_dir)
    registrar = load_key(key_dir / "registrar.pem")
    registrar_id = runtime.sequencer.state.participants.keys[describe(registrar)["key_id"]]
    seeded = []
    for applicant, stage, title, industry, form, scenario in DEMO_ASSETS:
        key = load_key(key_dir / f"{applicant}.pem")
        body = {"application": _demo_application(title, industry, form, scenario)}
        receipt = await submit_local(
            runtime, build_document("dataex.registry.register.v1", body, key)
        )
        rid = str(receipt.events[0]["registration_id"])
        reached = "submitted"
        for action, needed in (("take", "under_review"), ("open_notice", "public_notice")):
            if STAGES.index(stage) < STAGES.index(needed):
                break
            contract = f"dataex.registry.{action}.v1"
            await submit_local(runtime, build_document(contract, {"registration_id": rid},
                                                       registrar))
            reached = needed
        if stage == "registered":
            issued_at = datetime.now(UTC)
            try:
                documents = registry.preview_decision(
                    registrar_id.participant_id, rid, runtime.sequencer.clock(), issued_at
                )
            except NoticeRunning:
                reached += " (register it once the notice period ends)"
            else:
                receipt = await submit_local(
                    runtime, build_registering_decision(rid, documents, registrar, issued_at)
                )
                reached = f"registered as {receipt.events[0]['certificate_number']}"
        seeded.append(f"{rid} {title} ({applicant}): {reached}")
    return seeded
