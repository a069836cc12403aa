"""What the market keeps besides the books and the ledger: open orders and licences.

Each record has a plain view (what the store persists and snapshots compare)
and an inverse, so start-up rebuilds the market from stored views. A licence
also has its *document*: the fixed content the platform signs and anyone can
re-hash; it holds only facts that never change, so its hash never goes stale
(the record's status, which does change, is kept beside it, not in it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.timefmt import format_utc, parse_utc
from dataex.core.market.fees import buy_hold
from dataex.core.market.ledger import CASH
from dataex.core.market.licence_templates import template_from_json
from dataex.core.market.matching import BUY
from dataex.core.market.products import (
    DataLicenceDetails,
    LicenceTerms,
    Product,
    TokenDetails,
)

LICENCE_DOCUMENT_TYPE: Final = "dataex-licence-v1"

ACTIVE: Final = "active"
RESOLD: Final = "resold"  # its holder sold the unit on (a sublicence replaced it)
RETURNED: Final = "returned"  # its holder sold the unit back to the product's issuer


def serial(identifier: str) -> int:
    """O000012 → 12: ids sort by number (arrival order) even past six digits."""
    return int(identifier[1:])


@dataclass(slots=True)
class OpenOrder:
    """A resting order and what it can still spend; the ledger holds exactly that."""

    order_id: str
    owner: str
    symbol: str
    side: str
    order_type: str
    price: int  # the limit, fen per unit
    quantity: int  # as placed
    remaining: int
    hold_bps: int  # the fee rate a buy holds for (0 for a sell: sellers pay from proceeds)
    fee_credit: int  # see core/market/fees.py: the paid-ahead part of a fen, in 1/10 000 fen
    stp: str
    client_order_ref: str
    placed_at: datetime

    @property
    def asset(self) -> str:
        return CASH if self.side == BUY else self.symbol

    def needs(self) -> int:
        """What the order can still use: its hold must equal this."""
        if self.side == BUY:
            return buy_hold(self.price, self.remaining, self.hold_bps, self.fee_credit)
        return self.remaining


def order_view(order: OpenOrder) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "owner": order.owner,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "price": order.price,
        "quantity": order.quantity,
        "remaining": order.remaining,
        "hold_bps": order.hold_bps,
        "fee_credit": order.fee_credit,
        "stp": order.stp,
        "client_order_ref": order.client_order_ref,
        "placed_at": format_utc(order.placed_at),
    }


def order_from_view(view: dict[str, Any]) -> OpenOrder:
    """The inverse of order_view."""
    return OpenOrder(**{**view, "placed_at": parse_utc(view["placed_at"])})


def terms_view(terms: LicenceTerms) -> dict[str, Any]:
    return {
        "purpose": terms.purpose,
        "scope": terms.scope,
        "duration_days": terms.duration_days,
        "territory": terms.territory,
        "exclusivity": terms.exclusivity,
        "sublicensable": terms.sublicensable,
        "delivery": terms.delivery,
    }


@dataclass(slots=True)
class LicenceRecord:
    """One licence: a unit of a data-licence product bought by someone other than its issuer."""

    licence_id: str
    symbol: str
    certificate_number: str
    registration_id: str  # its licence registration in the registry (core/registry/lifecycle.py)
    licence_template_id: str  # the template's id@version
    licence_template_hash: str  # the hash of the product's copy it was rendered from
    terms: LicenceTerms
    rights: tuple[str, ...]  # what the template grants
    licensor: str  # the seller: the product's issuer, or a licensee reselling (sublicence)
    licensee: str
    trade_id: str
    unit: int  # which unit of the trade, 1..quantity
    quantity: int  # units in the trade
    price: int
    granted_at: datetime
    valid_until: datetime
    parent_licence_id: str | None = None
    text: str = ""  # the template rendered with the facts above (licences.render_text)
    status: str = ACTIVE
    ended_by_trade: str | None = None


def licence_document(lic: LicenceRecord) -> dict[str, Any]:
    """What the platform signs for a licence: the trade's facts and the rendered contract text."""
    return {
        "type": LICENCE_DOCUMENT_TYPE,
        "licence_id": lic.licence_id,
        "symbol": lic.symbol,
        "certificate_number": lic.certificate_number,
        "registration_id": lic.registration_id,
        "licence_template_id": lic.licence_template_id,
        "licence_template_hash": lic.licence_template_hash,
        "terms": terms_view(lic.terms),
        "rights": list(lic.rights),
        "licensor": lic.licensor,
        "licensee": lic.licensee,
        "trade_id": lic.trade_id,
        "unit": lic.unit,
        "quantity": lic.quantity,
        "price": lic.price,
        "granted_at": format_utc(lic.granted_at),
        "valid_until": format_utc(lic.valid_until),
        "parent_licence_id": lic.parent_licence_id,
        "text": lic.text,
    }


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a licence document, lowercase hex."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def licence_view(lic: LicenceRecord) -> dict[str, Any]:
    document = licence_document(lic)
    return {
        "document": document,
        "document_hash": document_hash(document),
        "status": lic.status,
        "ended_by_trade": lic.ended_by_trade,
    }


def licence_from_view(view: dict[str, Any]) -> LicenceRecord:
    """The inverse of licence_view."""
    d = view["document"]
    return LicenceRecord(
        licence_id=d["licence_id"],
        symbol=d["symbol"],
        certificate_number=d["certificate_number"],
        registration_id=d["registration_id"],
        licence_template_id=d["licence_template_id"],
        licence_template_hash=d["licence_template_hash"],
        terms=LicenceTerms(**d["terms"]),
        rights=tuple(d["rights"]),
        licensor=d["licensor"],
        licensee=d["licensee"],
        trade_id=d["trade_id"],
        unit=d["unit"],
        quantity=d["quantity"],
        price=d["price"],
        granted_at=parse_utc(d["granted_at"]),
        valid_until=parse_utc(d["valid_until"]),
        parent_licence_id=d["parent_licence_id"],
        text=d["text"],
        status=view["status"],
        ended_by_trade=view["ended_by_trade"],
    )


def product_from_view(view: dict[str, Any]) -> Product:
    """The inverse of products.product_view."""
    details: TokenDetails | DataLicenceDetails
    if "token" in view:
        t = view["token"]
        details = TokenDetails(
            t["model_id"], t["unit_label"], parse_utc(t["valid_from"]), parse_utc(t["valid_until"])
        )
    else:
        d = view["data_licence"]
        template = template_from_json(d["licence_template"])
        if template.hash != d["licence_template_hash"]:
            raise ValueError(f"{view['symbol']}: its template copy does not match its hash")
        details = DataLicenceDetails(d["certificate_number"], template, LicenceTerms(**d["terms"]))
    fields = {k: v for k, v in view.items() if k not in ("token", "data_licence")}
    return Product(**fields, details=details)
