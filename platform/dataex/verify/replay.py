"""Deterministic replay of logged commands through core/ (no database, no clock).

This checks far more than signatures: that each signer was admitted and active
with the right role at that point of the log, and that the platform's recorded
outcome (participant ids, certificates, trades, rejections) is exactly what
the rules give. Each entry's `time` is its `now`. The Ed25519 check itself is
left to the caller (a process pool): `check` returns what must be verified.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dataex.core.documents.errors import DomainError
from dataex.core.documents.timefmt import parse_utc
from dataex.core.envelope import authorize_signer, envelope_from_object, signer_public_key
from dataex.core.market.licence_templates import template_from_json
from dataex.core.state import PlatformState, apply

# Events come from core and logged events from an entry already checked canonical,
# so both are encoded without canonical_json's scan; sorted keys make them comparable.
_encode = msgspec.json.Encoder(order="sorted").encode


# One document signature to verify: (seq, canonical document, signature, public key).
# A plain tuple: chunks of them are pickled to the workers, and tuples pickle fastest.
SignatureJob = tuple[int, bytes, str, bytes]


class Replay:
    def __init__(self) -> None:
        self.state = PlatformState()

    def check(self, entry: dict[str, Any]) -> tuple[str | None, SignatureJob | None]:
        """Replay one entry: (the fault or None, the signature it still needs checked)."""
        seq = entry["seq"]
        try:
            parsed = envelope_from_object(entry["envelope"])
            public_key, genesis = signer_public_key(
                parsed, self.state.participants, allow_genesis=seq == 1
            )
        except DomainError as exc:
            return f"the signed document does not authenticate: {exc.detail}", None
        job = (seq, parsed.canonical_document, parsed.envelope["signature"], public_key)
        try:
            command = authorize_signer(parsed, self.state.participants, genesis=genesis)
        except DomainError as exc:
            return f"the signed document does not authenticate: {exc.detail}", job
        if command.participant_id != entry.get("participant_id") and not command.genesis:
            return (f"entry names participant {entry.get('participant_id')}, "
                    f"the signer is {command.participant_id}"), job
        if entry.get("signer") != parsed.signer or entry.get("kind") != command.contract_name:
            return "entry's signer or kind differs from its signed document", job
        self._adopt_settings(entry)
        try:
            events = apply(self.state, command, parse_utc(entry["time"]))
        except DomainError as exc:
            return f"replay refuses the command: {exc.detail}", job
        if _encode(events) != _encode(entry.get("events")):
            return "replayed events differ from the logged events", job
        return None, job

    def _adopt_settings(self, entry: dict[str, Any]) -> None:
        """Take the platform settings a command used from the effects the log recorded.

        The notice period, the default fees and the licence templates are
        settings, not history; the log records their effect (notice_ends_at; a
        new product's fees and its copy of its template), which is where a
        replay learns them. Everything else is recomputed.
        """
        for event in entry.get("events") or []:
            kind = event.get("type")
            if kind == "registration.notice_opened":
                self.state.notice_period = parse_utc(event["notice_ends_at"]) - parse_utc(
                    event["notice_opened_at"]
                )
            elif kind == "product.defined":
                self.state.market.default_maker_fee_bps = event["maker_fee_bps"]
                self.state.market.default_taker_fee_bps = event["taker_fee_bps"]
                if "data_licence" in event:  # the template the listing used, as it was then
                    template = template_from_json(event["data_licence"]["licence_template"])
                    self.state.market.licence_templates[template.ref] = template
