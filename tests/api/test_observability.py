"""Request ids, JSON log lines and /metrics, through the real app on a real database."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from dataex.api.app import create_app
from dataex.api.logs import RequestLog, configure_logging
from dataex.config.settings import Settings
from tests.factories import ADMIT, Actor, encode
from tests.market_setup import TOKEN, floor
from tests.platform_setup import with_operator

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_what_happened(runtime: Any, api: httpx.AsyncClient) -> None:
    f = await floor(runtime)
    await f.token()
    await f.deposit(f.alice, 100_000)
    await f.place(f.issuer, TOKEN, "sell", 150, 5)
    await f.place(f.alice, TOKEN, "buy", 150, 3)  # trades 3
    await f.place(f.alice, TOKEN, "buy", 120, 1)  # rests
    admission = f.operator.sign(ADMIT, Actor.new("m").admission(["trader"]))
    ok = await api.post("/v1/documents", content=encode(admission))
    assert ok.status_code == 201
    assert (await api.post("/v1/documents", content=b"{")).status_code == 400
    assert (await api.get("/v1/market/products/NOPE")).status_code == 404

    scraped = await api.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    assert _value(samples, "dataex_log_size") == runtime.sequencer.head.seq
    async with runtime.engine.connect() as conn:
        orders = (await conn.exec_driver_sql("SELECT count(*) FROM orders")).scalar()
        trades = (await conn.exec_driver_sql("SELECT count(*) FROM trades")).scalar()
        admissions = (await conn.exec_driver_sql(
            "SELECT count(*) FROM audit_entries WHERE kind = 'dataex.participant.admit.v1'"
        )).scalar()
    assert _value(samples, "dataex_orders_total") == orders > 0
    assert _value(samples, "dataex_trades_total") == trades > 0
    assert _value(samples, "dataex_log_entries_total",
                  kind="dataex.participant.admit.v1") == admissions == 5
    assert _value(samples, "dataex_refusals_total", slug="malformed-json") == 1
    assert _value(samples, "dataex_refusals_total", slug="not-found") == 1
    assert _value(samples, "dataex_http_requests_total", route="/v1/documents",
                  method="POST", status="201") == 1
    assert _value(samples, "dataex_http_requests_total",
                  route="/v1/market/products/{symbol}", method="GET", status="404") == 1
    assert _value(samples, "dataex_sequencer_batch_commands_count") >= 1
    assert _value(samples, "dataex_sequencer_queue_depth") == 0
    assert _value(samples, "dataex_db_pool_size") > 0


async def test_every_answer_carries_a_request_id_and_problems_name_it(
    api: httpx.AsyncClient, runtime: Any
) -> None:
    await with_operator(runtime)
    answers = [await api.get("/health/live"), await api.post("/v1/documents", content=b"[1"),
               await api.get("/v1/audit/proof/inclusion?seq=1")]  # the fast paths too
    ids = [a.headers["x-request-id"] for a in answers]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]+-\d+", i) for i in ids)
    assert answers[1].json()["request_id"] == ids[1]
    echoed = await api.post("/v1/documents", content=b"[1", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == echoed.json()["request_id"] == "abc-123"
    insane = await api.get("/health/live", headers={"x-request-id": "a b\u00e9".encode()})
    assert re.fullmatch(r"[0-9a-f]+-\d+", insane.headers["x-request-id"])


async def test_one_json_line_per_request_and_per_batch(
    runtime: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    operator = await with_operator(runtime)
    out = io.BytesIO()
    app = create_app(runtime=runtime, request_log=RequestLog("json", out))
    configure_logging("json")
    try:
        capsys.readouterr()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dataex.test") as api:
            envelope = operator.sign(ADMIT, Actor.new("j").admission(["trader"]))
            accepted = await api.post("/v1/documents", content=encode(envelope))
            refused = await api.post("/v1/documents", content=b"{")
        app.asgi_handler.request_log.flush()  # type: ignore[attr-defined]
        logged = capsys.readouterr().out.splitlines()
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger("dataex").setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in [*out.getvalue().decode().splitlines(), *logged]]
    requests = {line["request_id"]: line for line in lines if line["logger"] == "dataex.access"}
    first = requests[accepted.headers["x-request-id"]]
    assert first["route"] == "/v1/documents" and first["status"] == 201
    assert first["signer"] == operator.key_id and first["latency_ms"] > 0
    second = requests[refused.headers["x-request-id"]]
    assert second["status"] == 400 and second["refusal"] == "malformed-json"
    batches = [line for line in lines if line["logger"] == "dataex.batches"]
    assert batches and batches[-1]["entries"] == 1 and batches[-1]["commands"] == 1
    assert batches[-1]["head"] == runtime.sequencer.head.seq


def test_the_text_format_is_one_line_per_request_for_people() -> None:
    out = io.BytesIO()
    log = RequestLog("text", out)
    log.write({"request_id": "r-1", "route": "/x", "status": 200, "signer": None})
    log.flush()
    line = out.getvalue().decode()
    assert line.endswith("dataex.access: request request_id=r-1 route=/x status=200\n")
    assert line.count("\n") == 1


async def test_metrics_off_serves_no_metrics(runtime: Any, settings: Settings) -> None:
    app = create_app(Settings(**{**settings.__dict__, "metrics": 0}), runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dataex.test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 404 and "x-request-id" in response.headers


def _metric_names(api_text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(api_text):
        names.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
    return names


async def test_alert_rules_and_dashboard_name_only_metrics_that_exist(
    runtime: Any, api: httpx.AsyncClient
) -> None:
    await with_operator(runtime)
    await api.get("/health/live")
    exposed = _metric_names((await api.get("/metrics")).text)
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert expressions and queries
    for expr in expressions + queries:
        named = set(re.findall(r"\bdataex_[a-z_]+", expr))
        assert named, expr
        assert named <= exposed, f"{expr} names {named - exposed}, not served"
