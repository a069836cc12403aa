"""Burn what was used: signed consumption reports from the journal, sent until acknowledged.

Each report is `dataex.market.consume.v1` signed by the product's issuer, its
nonce derived from the report id and its usage_reference the report id, so a
re-send after a crash is the same document and dataex answers it as a replay.
A report dataex refuses (say the holder has fewer units than it used, or the
gateway was down longer than dataex's clock window) is kept as `refused` with
the reason, for the operator; it is never re-signed, so nothing burns twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.client.sdk import build_document
from dataex.gateway.journal import DONE, REFUSED, Journal

log = logging.getLogger(__name__)
CONSUME = "dataex.market.consume.v1"


class Reporter:
    def __init__(self, journal: Journal, server: str, keys: dict[str, Ed25519PrivateKey],
                 tokens_per_unit: int) -> None:
        self.journal = journal
        self.server = server.rstrip("/")
        self.keys = keys  # symbol -> its issuer's key
        self.tokens_per_unit = tokens_per_unit
        self.last_error: str | None = None

    def sign(self, symbol: str, holder: str, units: int, report_id: str) -> dict[str, Any]:
        body = {"symbol": symbol, "holder": holder, "units": units,
                "usage_reference": f"gateway:{report_id}"}
        return build_document(CONSUME, body, self.keys[symbol], nonce=f"consume-{report_id}",
                              issued_at=datetime.now(UTC))

    def run_once(self) -> int:
        """Cut reports from the meters and send every pending one; how many were settled."""
        self.journal.cut_reports(self.tokens_per_unit, self.sign)
        settled = 0
        with httpx.Client(base_url=self.server, timeout=10) as http:
            for report in self.journal.pending():
                try:
                    answer = http.post("/v1/documents", json=report.envelope)
                except httpx.HTTPError as exc:
                    self.last_error = f"dataex unreachable: {exc}"
                    return settled  # kept pending: sent again next time
                if answer.status_code == 201:
                    self.journal.settle(report.report_id, DONE, answer.json()["seq"], None)
                elif 400 <= answer.status_code < 500 and answer.status_code != 429:
                    problem = answer.json()
                    detail = f"{problem.get('type')}: {problem.get('detail')}"
                    log.error("dataex refused consumption report %s: %s", report.report_id,
                              detail)
                    self.journal.settle(report.report_id, REFUSED, None, detail)
                else:
                    self.last_error = f"dataex answered {answer.status_code}"
                    return settled
                settled += 1
        self.last_error = None
        return settled
