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

from dataex.bootstrap.genesis import submit_local
from dataex.client.sdk import build_document, build_registering_decision
from dataex.core.envelope import ADMIT_CONTRACT
from dataex.core.registry.errors import NoticeRunning
from dataex.keys.files import describe, load_key, new_key
from dataex.keys.locations import KeyPaths
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


# ---- the market ------------------------------------------------------------------------

DEMO_TOKENS: tuple[tuple[str, str, str, int], ...] = (
    # symbol, model id, unit, mid price in fen per unit
    ("QWEN-IN-1M", "qwen3-max", "1M input tokens", 1_500),
    ("QWEN-OUT-1M", "qwen3-max", "1M output tokens", 6_000),
)
DEMO_LICENCE = "TAXI-TRAJ-LIC"
DEMO_RESTING_ORDERS_PER_TOKEN = 150  # resting orders per token product, both sides
DEMO_SEED = 2026  # the demo's orders are the same on every run


def _token_product(symbol: str, model: str, unit: str, mid: int, now: datetime) -> dict[str, Any]:
    from datetime import timedelta

    from dataex.core.documents.timefmt import format_utc

    return {
        "symbol": symbol, "model_id": model, "unit_label": unit,
        "valid_from": format_utc(now - timedelta(days=1)),
        "valid_until": format_utc(now + timedelta(days=365)),
        "tick_size": 1, "lot_size": 1, "min_price": mid // 10, "max_price": mid * 10,
    }


def demo_orders(symbol: str, mid: int, count: int) -> list[tuple[str, str, int, int]]:
    """(who, side, price, quantity) of resting orders around ``mid``, bids below, asks above.

    Deterministic (seeded), so every demo has the same book.
    """
    import random

    rng = random.Random(f"{DEMO_SEED}:{symbol}")
    orders = []
    for i in range(count):
        if i % 2:
            who, side, price = "issuer", "sell", mid + 1 + rng.randrange(0, mid // 5)
        else:
            who, side, price = ("alice", "bob")[i % 4 // 2], "buy", mid - 1 - rng.randrange(
                0, mid // 5
            )
        orders.append((who, side, price, rng.randrange(1, 40)))
    return orders


async def seed_demo_market(runtime: Runtime, paths: KeyPaths, batch: int = 64) -> list[str]:
    """Token and data-licence products, cash, a few hundred resting orders and some trades.

    Once: nothing is seeded when the market has products already. Orders go in
    concurrently, ``batch`` at a time, so the sequencer commits them in groups.
    """
    import asyncio

    state = runtime.sequencer.state
    if state.market.products:
        return []
    key_dir = demo_key_dir(runtime.settings.data_dir)
    keys = {name: load_key(key_dir / f"{name}.pem") for name in ("issuer", "alice", "bob")}
    keys["operator"] = load_key(paths.operator)
    ids = {name: state.participants.keys[describe(k)["key_id"]].participant_id
           for name, k in keys.items()}

    async def act(who: str, contract: str, body: dict[str, Any]) -> Any:
        return await submit_local(runtime, build_document(f"dataex.market.{contract}.v1",
                                                          body, keys[who]))

    async def place_all(orders: list[tuple[str, str, str, int, int]]) -> int:
        trades = 0
        for start in range(0, len(orders), batch):
            receipts = await asyncio.gather(*(
                act(who, "order.place", {"client_order_ref": f"demo-{start + i}",
                                         "symbol": symbol, "side": side, "order_type": "limit",
                                         "price": price, "quantity": quantity})
                for i, (who, symbol, side, price, quantity) in enumerate(
                    orders[start:start + batch])
            ))
            trades += sum(1 for r in receipts for e in r.events if e["type"] == "trade")
        return trades

    seeded = []
    for who, amount in (("alice", 50_000_000), ("bob", 50_000_000), ("issuer", 5_000_000)):
        await act("operator", "deposit", {"participant_id": ids[who], "amount": amount,
                                          "bank_reference": f"DEMO-{who.upper()}"})
    now = datetime.now(UTC)
    resting: list[tuple[str, str, str, int, int]] = []
    crossing: list[tuple[str, str, str, int, int]] = []
    for symbol, model, unit, mid in DEMO_TOKENS:
        await act("issuer", "product.define_token", _token_product(symbol, model, unit, mid, now))
        await act("operator", "product.approve", {"symbol": symbol})
        await act("issuer", "mint", {"symbol": symbol, "quantity": 100_000})
        resting += [(who, symbol, side, price, quantity) for who, side, price, quantity
                    in demo_orders(symbol, mid, DEMO_RESTING_ORDERS_PER_TOKEN)]
        # Buyers lift the best asks, then bob sells some back into the bids: trades.
        crossing += [("bob", symbol, "buy", mid + mid // 20, 25),
                     ("alice", symbol, "buy", mid + mid // 10, 40),
                     ("bob", symbol, "sell", mid - mid // 20, 10)]
        seeded.append(f"{symbol}: token product of {ids['issuer']}, 100000 units minted")
    certificate = next(
        (c.number for c in state.registry.certificates.by_number.values()
         if c.holder == ids["alice"] and "product_operation" in c.rights),
        None,
    )
    if certificate is not None:
        terms = {"purpose": "Congestion forecasting research",
                 "scope": "Internal analytics; no redistribution of raw trajectories.",
                 "duration_days": 365, "territory": "CN", "exclusivity": "non_exclusive",
                 "sublicensable": False, "delivery": "api"}
        await act("alice", "product.list_licence", {
            "symbol": DEMO_LICENCE, "certificate_number": certificate,
            "licence_template_id": "standard@1", "terms": terms, "tick_size": 100,
            "lot_size": 1, "min_price": 100_000, "max_price": 100_000_000})
        await act("operator", "product.approve", {"symbol": DEMO_LICENCE})
        await act("alice", "licence.issue", {"symbol": DEMO_LICENCE, "quantity": 20})
        resting.append(("alice", DEMO_LICENCE, "sell", 2_000_000, 15))
        crossing.append(("bob", DEMO_LICENCE, "buy", 2_000_000, 2))
        seeded.append(f"{DEMO_LICENCE}: data licences of {certificate}, 20 issued")
    trades = await place_all(resting) + await place_all(crossing)
    seeded.append(f"{len(state.market.orders)} resting orders, {trades} trades")
    return seeded
