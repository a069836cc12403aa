"""Bodies of the market's signed documents and who may sign each.

The schema says what a well-formed document looks like (integers in range,
symbols spelled right, known order types); everything that depends on state
(whose product, which status, how much cash) lives in core/market/state.py.

Who may sign (the ``roles`` column; None means any admitted participant, with
the real rule checked against state):

- deposit, withdraw, approve, delist: the operator (it runs the bank rail and
  the listings).
- halt, resume: the operator or a regulator.
- define_token, mint, consume: an issuer (and, checked in state, only the
  issuer that defined the product mints it or reports its consumption).
- list_licence, licence.issue: anyone; state checks that the signer holds a
  valid certificate with the product_operation right (listing) and is the
  product's lister (issuing). Data owners are not a role of their own.
- order.place, order.cancel, order.reduce: a trader (an issuer or an owner
  that sells its units is admitted with the trader role too).
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from dataex.core.documents.canonical import MAX_SAFE_INTEGER
from dataex.core.documents.contract import Body, Contract, LongText, ShortText, Timestamp
from dataex.core.registry.contracts import CertificateNumber, ParticipantId

Symbol = Annotated[
    str,
    Meta(
        pattern=r"^[A-Z][A-Z0-9._-]{1,31}$(?!\n)",
        description="2-32 of A-Z 0-9 . _ - starting with a letter, e.g. QWEN-IN-1M",
    ),
]
Fen = Annotated[int, Meta(ge=1, le=MAX_SAFE_INTEGER, description="minor currency units (fen)")]
Units = Annotated[int, Meta(ge=1, le=MAX_SAFE_INTEGER, description="whole units")]
UnitsOrZero = Annotated[int, Meta(ge=0, le=MAX_SAFE_INTEGER, description="whole units")]
Bps = Annotated[int, Meta(ge=0, le=10_000, description="basis points of the notional")]
OrderId = Annotated[str, Meta(pattern=r"^O[0-9]{6,}$(?!\n)", description="e.g. O000001")]
ClientOrderRef = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$(?!\n)",
        description="the client's own reference, echoed on the order; 1-64 of [A-Za-z0-9_.:-]",
    ),
]
TemplateId = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,47}@[1-9][0-9]{0,5}$(?!\n)",
        description="a licence template id@version in contracts/licences/, e.g. standard@1",
    ),
]
Sha256Hex = Annotated[
    str, Meta(pattern=r"^[0-9a-f]{64}$(?!\n)", description="SHA-256, lowercase hex")
]
Side = Literal["buy", "sell"]
OrderType = Literal["limit", "market", "ioc", "fok", "post_only"]
StpMode = Literal["cancel_newest", "cancel_oldest", "cancel_both"]
Exclusivity = Literal["exclusive", "sole", "non_exclusive"]
Delivery = Literal["file", "api", "compute_in_place"]


# `frozen=True` is repeated on every body (see core/registry/contracts.py for why).
class DepositCash(Body, frozen=True):
    """Cash arrived from the bank rail for a participant."""

    participant_id: ParticipantId
    amount: Fen
    bank_reference: ShortText | None = None


class WithdrawCash(Body, frozen=True):
    """Cash leaves to the bank rail; only available (unheld) cash."""

    participant_id: ParticipantId
    amount: Fen
    bank_reference: ShortText | None = None


class DefineTokenProduct(Body, frozen=True):
    """Fees left out take the platform's defaults; the operator sees them before approving."""

    symbol: Symbol
    model_id: ShortText
    unit_label: Annotated[str, Meta(min_length=1, max_length=200, description="e.g. 1M tokens")]
    valid_from: Timestamp
    valid_until: Annotated[Timestamp, Meta(description="exclusive: units expire at this instant")]
    tick_size: Fen
    lot_size: Units
    min_price: Fen
    max_price: Fen
    maker_fee_bps: Bps | None = None
    taker_fee_bps: Bps | None = None


class LicenceTermsBody(Body, frozen=True):
    """The terms every licence sold from the product carries (from its template)."""

    purpose: ShortText
    scope: LongText
    duration_days: Annotated[int, Meta(ge=1, le=3650, description="from the purchase")]
    territory: ShortText
    exclusivity: Exclusivity
    sublicensable: bool
    delivery: Delivery


class ListLicenceProduct(Body, frozen=True):
    symbol: Symbol
    certificate_number: CertificateNumber
    licence_template_id: TemplateId
    terms: LicenceTermsBody
    tick_size: Fen
    lot_size: Units
    min_price: Fen
    max_price: Fen
    # The template hash the lister read: the listing is refused if the template changed.
    licence_template_hash: Sha256Hex | None = None


class ApproveProduct(Body, frozen=True):
    """The operator lists a pending product, optionally setting its fees."""

    symbol: Symbol
    maker_fee_bps: Bps | None = None
    taker_fee_bps: Bps | None = None


class HaltProduct(Body, frozen=True):
    symbol: Symbol
    reason: LongText


class ResumeProduct(Body, frozen=True):
    symbol: Symbol


class DelistProduct(Body, frozen=True):
    """Final: every open order of the product is cancelled and its hold released."""

    symbol: Symbol
    reason: LongText


class MintTokens(Body, frozen=True):
    """The issuer of a token product creates units in its own account."""

    symbol: Symbol
    quantity: Units


class IssueLicences(Body, frozen=True):
    """The lister of a data-licence product creates licence units in its own account."""

    symbol: Symbol
    quantity: Units


class ReportConsumption(Body, frozen=True):
    """The issuer reports tokens a holder used; the units are burnt."""

    symbol: Symbol
    holder: ParticipantId
    units: Units
    usage_reference: ShortText | None = None


class PlaceOrder(Body, frozen=True):
    """``price`` is the limit; for a market order it is the worst-price protection."""

    client_order_ref: ClientOrderRef
    symbol: Symbol
    side: Side
    order_type: OrderType
    price: Fen
    quantity: Units
    stp: Annotated[
        StpMode | None, Meta(description="self-trade prevention; default cancel_newest")
    ] = None


class CancelOrder(Body, frozen=True):
    order_id: OrderId


class ReduceOrder(Body, frozen=True):
    """Lower the remaining quantity keeping time priority; 0 cancels the order."""

    order_id: OrderId
    new_quantity: UnitsOrZero


OPERATOR: frozenset[str] = frozenset({"operator"})
OPERATOR_OR_REGULATOR: frozenset[str] = frozenset({"operator", "regulator"})
ISSUER: frozenset[str] = frozenset({"issuer"})
TRADER: frozenset[str] = frozenset({"trader"})

DEPOSIT = "dataex.market.deposit.v1"
WITHDRAW = "dataex.market.withdraw.v1"
DEFINE_TOKEN = "dataex.market.product.define_token.v1"
LIST_LICENCE = "dataex.market.product.list_licence.v1"
APPROVE = "dataex.market.product.approve.v1"
HALT = "dataex.market.product.halt.v1"
RESUME = "dataex.market.product.resume.v1"
DELIST = "dataex.market.product.delist.v1"
MINT = "dataex.market.mint.v1"
ISSUE_LICENCES = "dataex.market.licence.issue.v1"
CONSUME = "dataex.market.consume.v1"
PLACE = "dataex.market.order.place.v1"
CANCEL = "dataex.market.order.cancel.v1"
REDUCE = "dataex.market.order.reduce.v1"

MARKET_CONTRACTS: tuple[Contract, ...] = (
    Contract(DEPOSIT, DepositCash, OPERATOR, "The operator credits cash from the bank rail."),
    Contract(WITHDRAW, WithdrawCash, OPERATOR, "The operator pays available cash out."),
    Contract(
        DEFINE_TOKEN,
        DefineTokenProduct,
        ISSUER,
        "An issuer defines an AI-token product (model, unit, validity); pending approval.",
    ),
    Contract(
        LIST_LICENCE,
        ListLicenceProduct,
        None,
        "The holder of a valid certificate with the product_operation right lists a "
        "data-licence product; pending approval.",
    ),
    Contract(APPROVE, ApproveProduct, OPERATOR, "The operator approves a pending product."),
    Contract(HALT, HaltProduct, OPERATOR_OR_REGULATOR, "Trading in a product stops."),
    Contract(RESUME, ResumeProduct, OPERATOR_OR_REGULATOR, "Trading in a product resumes."),
    Contract(DELIST, DelistProduct, OPERATOR, "The operator delists a product; open orders end."),
    Contract(MINT, MintTokens, ISSUER, "A token product's issuer mints units to itself."),
    Contract(
        ISSUE_LICENCES,
        IssueLicences,
        None,
        "A data-licence product's lister issues licence units to itself.",
    ),
    Contract(
        CONSUME,
        ReportConsumption,
        ISSUER,
        "A token product's issuer reports a holder's usage, which burns the units.",
    ),
    Contract(PLACE, PlaceOrder, TRADER, "A trader places an order."),
    Contract(CANCEL, CancelOrder, TRADER, "A trader cancels its resting order."),
    Contract(REDUCE, ReduceOrder, TRADER, "A trader lowers its resting order's quantity."),
)
