"""Licences made by trades in data-licence products, and who may resell them.

The rule that keeps licences and units in step: outside the product's issuer,
every account holds exactly as many licence units (available + held) as it has
active licences (``Market.invariants`` checks it). So each unit bought by
someone other than the issuer becomes a licence; a unit resold ends one of the
seller's licences (``resold``) and the buyer's licence is a sublicence of it,
never outlasting it; a unit sold back to the issuer ends the seller's licence
(``returned``) and makes none, the unit going back into the issuer's stock.

The seller gives up the licence that runs longest, so the buyer gets the best
one on offer. A reseller may offer only units backed by unexpired licences
(``check_resale_cover``); a licence that expires while its sell order rests
passes on its own end date, never a longer one.

Each new licence's document carries its contract text, rendered from the
product's copy of its licence template (core/market/licence_templates.py) with the
trade's facts and the log time, and the licence is recorded in the same command
as a licence registration on the certificate (Registry.record_market_licence),
so a replay makes the same text, hash and registration id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dataex.core.documents.timefmt import format_utc
from dataex.core.market.errors import LicencesExpired
from dataex.core.market.licence_templates import LicenceTemplate, render
from dataex.core.market.products import DataLicenceDetails, Product
from dataex.core.market.records import (
    ACTIVE,
    RESOLD,
    RETURNED,
    LicenceRecord,
    licence_from_view,
    licence_view,
    serial,
)
from dataex.core.registry.lifecycle import Registry

Event = dict[str, Any]


@dataclass
class LicenceBook:
    """All licences, and the active ones per (symbol, licensee) for resale look-ups."""

    by_id: dict[str, LicenceRecord] = field(default_factory=dict)
    active: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    def restore(cls, views: list[dict[str, Any]], seq: int) -> LicenceBook:
        book = cls(seq=seq)
        for view in sorted(views, key=lambda v: serial(v["document"]["licence_id"])):
            lic = licence_from_view(view)
            book.by_id[lic.licence_id] = lic
            if lic.status == ACTIVE:
                book.active.setdefault((lic.symbol, lic.licensee), []).append(lic.licence_id)
        return book

    def active_count(self, symbol: str, holder: str) -> int:
        return len(self.active.get((symbol, holder), ()))

    def unexpired_count(self, symbol: str, holder: str, now: datetime) -> int:
        ids = self.active.get((symbol, holder), ())
        return sum(1 for i in ids if self.by_id[i].valid_until > now)

    def check_resale_cover(
        self,
        product: Product,
        seller: str,
        units: tuple[int, int],
        quantity: int,
        now: datetime,
    ) -> None:
        """A reseller's unexpired licences must cover its units on offer plus this order.

        ``units`` is the seller's (available, held) units. With fewer available
        than ``quantity`` the ledger's insufficient-units refusal says it better.
        """
        if seller == product.issuer or not isinstance(product.details, DataLicenceDetails):
            return
        available, held_units = units
        cover = self.unexpired_count(product.symbol, seller, now)
        if available >= quantity and cover < held_units + quantity:
            raise LicencesExpired(
                f"{seller} has {cover} unexpired licences of {product.symbol}; "
                f"{held_units} are on offer already and this order offers {quantity}",
                symbol=product.symbol,
                unexpired=cover,
                on_offer=held_units,
            )

    def grant(
        self,
        product: Product,
        trade_id: str,
        price: int,
        quantity: int,
        buyer: str,
        seller: str,
        now: datetime,
        registry: Registry,
    ) -> list[Event]:
        """The licence changes one settled trade of ``quantity`` units makes.

        Each new licence is rendered from the product's template copy, and recorded
        as a licence registration on the product's certificate in ``registry``.
        """
        details = product.details
        assert isinstance(details, DataLicenceDetails)
        events: list[Event] = []
        for unit in range(1, quantity + 1):
            parent = None
            if seller != product.issuer:
                parent = self._end_one(product.symbol, seller, trade_id, buyer == product.issuer)
                events.append(
                    {
                        "type": "licence.ended",
                        "licence_id": parent.licence_id,
                        "status": parent.status,
                        "trade_id": trade_id,
                    }
                )
                events += registry.end_market_licence(
                    parent.registration_id, parent.status, trade_id
                )
            if buyer == product.issuer:
                continue
            until = now + timedelta(days=details.terms.duration_days)
            if parent is not None:
                until = min(until, parent.valid_until)
            self.seq += 1
            lic = LicenceRecord(
                licence_id=f"L{self.seq:06d}",
                symbol=product.symbol,
                certificate_number=details.certificate_number,
                registration_id=registry.next_registration_id(),
                licence_template_id=details.template.ref,
                licence_template_hash=details.template.hash,
                terms=details.terms,
                rights=details.template.rights,
                licensor=seller,
                licensee=buyer,
                trade_id=trade_id,
                unit=unit,
                quantity=quantity,
                price=price,
                granted_at=now,
                valid_until=until,
                parent_licence_id=None if parent is None else parent.licence_id,
            )
            lic.text = render_text(details.template, lic)
            self.by_id[lic.licence_id] = lic
            self.active.setdefault((product.symbol, buyer), []).append(lic.licence_id)
            view = licence_view(lic)
            events.append({"type": "licence.granted", **view})
            events += registry.record_market_licence(
                certificate_number=lic.certificate_number,
                licensor=seller,
                licensee=buyer,
                rights=lic.rights,
                term_days=details.terms.duration_days,
                now=now,
                market={
                    "licence_id": lic.licence_id,
                    "symbol": lic.symbol,
                    "trade_id": trade_id,
                    "document_hash": view["document_hash"],
                    "parent_licence_id": lic.parent_licence_id,
                    "valid_until": format_utc(lic.valid_until),
                    "status": lic.status,
                    "ended_by_trade": None,
                },
            )
        return events

    def _end_one(self, symbol: str, holder: str, trade_id: str, returned: bool) -> LicenceRecord:
        """End the holder's longest-running active licence (lowest id among equals)."""
        ids = self.active[(symbol, holder)]
        chosen = max(ids, key=lambda i: (self.by_id[i].valid_until, -serial(i)))
        ids.remove(chosen)
        if not ids:
            del self.active[(symbol, holder)]
        lic = self.by_id[chosen]
        lic.status = RETURNED if returned else RESOLD
        lic.ended_by_trade = trade_id
        return lic

    def snapshot(self) -> dict[str, Any]:
        return {
            lid: licence_view(lic)
            for lid, lic in sorted(self.by_id.items(), key=lambda i: serial(i[0]))
        }


def format_fen(amount: int) -> str:
    """2000000 → "20,000.00 CNY": the contract text's money, exact (integers only)."""
    return f"{amount // 100:,}.{amount % 100:02d} CNY"


def render_text(template: LicenceTemplate, lic: LicenceRecord) -> str:
    """The licence's contract text: the template with this licence's facts.

    Every value comes from the licence record (the trade, the product's terms,
    the log time), never from a clock, so a replay renders the same bytes.
    """
    terms = lic.terms
    parent = lic.parent_licence_id
    return render(
        template,
        {
            "licence_id": lic.licence_id,
            "template_ref": lic.licence_template_id,
            "template_hash": lic.licence_template_hash,
            "registration_id": lic.registration_id,
            "certificate_number": lic.certificate_number,
            "symbol": lic.symbol,
            "licensor": lic.licensor,
            "licensee": lic.licensee,
            "trade_id": lic.trade_id,
            "unit": str(lic.unit),
            "quantity": str(lic.quantity),
            "price": f"{format_fen(lic.price)} per unit",
            "rights": ", ".join(lic.rights),
            "granted_at": format_utc(lic.granted_at),
            "valid_from": format_utc(lic.granted_at),
            "valid_until": format_utc(lic.valid_until),
            "purpose": terms.purpose,
            "scope": terms.scope,
            "duration_days": str(terms.duration_days),
            "territory": terms.territory,
            "exclusivity": terms.exclusivity.replace("_", "-"),
            "sublicensable": "yes" if terms.sublicensable else "no",
            "delivery": terms.delivery.replace("_", "-"),
            "parent_clause": "" if parent is None else f" This is a sublicence of {parent}.",
        },
    )
