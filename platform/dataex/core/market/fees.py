"""Trading fees in basis points, and the cash a limit buy must hold. Integers only.

The rounding rule. A fill's fee is ``bps`` basis points of its notional (price ×
quantity, in fen): notional × bps / 10 000 fen, rounded UP, in the platform's
favour. Rounding is applied to each order's running total, not to each fill on
its own: an order whose fills add up to Σ notional_i × bps_i has paid exactly

    ceil(Σ notional_i × bps_i / 10 000) fen

however it was split. Why: ceil per fill would charge up to 1 fen of rounding
per fill, so a buy order filled one unit at a time could owe more fee than it
held for (and the fee would depend on how the book happened to split it). With
the running total an order pays at most 1 fen of rounding in all.

The running total is carried per order as its ``fee credit``: the part of a fen
already paid by rounding up but not yet used, in 1/10 000 fen (the unit of
notional × bps), always 0..9 999. A fill whose notional × bps fits inside the
credit is free; otherwise it pays the excess, rounded up, and the rounding
becomes the new credit. A new order starts with credit 0.

The buy hold. A buy order holds its limit price × quantity plus the fee that
notional would cost at its ``hold bps``: the higher of the product's maker and
taker rates (normally the taker rate), since a buyer may end up either.
Fills are at the limit or better and charge at most the hold bps, so after
every fill the order still holds enough. ``fill_charges`` says how much of the
hold a fill spends and how much it frees (price improvement, unused fee
headroom), so that the hold left always equals ``buy_hold`` of what remains:
exactly what the open order can still use, and zero once it is filled.

The hold bps is fixed when the order is accepted. If the operator later raises
a rate, a resting buy order is charged at most the rate it held for.

Sellers pay their fee out of the proceeds (bps ≤ 10 000, so proceeds never go
negative); they hold units, not cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

BPS_PER_UNIT: Final = 10_000  # basis points in 100 %
MAX_FEE_BPS: Final = 10_000  # a fee never exceeds the notional it is charged on


def _check_int(name: str, value: int, low: int = 0) -> None:
    if type(value) is not int or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_bps(name: str, bps: int) -> None:
    _check_int(name, bps)
    if bps > MAX_FEE_BPS:
        raise ValueError(f"{name} must be at most {MAX_FEE_BPS}, got {bps}")


def _check_credit(credit: int) -> None:
    _check_int("fee credit", credit)
    if credit >= BPS_PER_UNIT:
        raise ValueError(f"fee credit must be below {BPS_PER_UNIT}, got {credit}")


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def notional(price: int, quantity: int) -> int:
    """Price (fen per unit) × quantity (units), in fen."""
    _check_int("price", price)
    _check_int("quantity", quantity)
    return price * quantity


def fee(amount: int, bps: int) -> int:
    """The fee on one notional taken on its own: ceil(amount × bps / 10 000) fen."""
    _check_int("notional", amount)
    _check_bps("bps", bps)
    return _ceil_div(amount * bps, BPS_PER_UNIT)


def charge(amount: int, bps: int, credit: int = 0) -> tuple[int, int]:
    """The fee one fill costs an order with ``credit``, and the order's credit after it."""
    _check_int("notional", amount)
    _check_bps("bps", bps)
    _check_credit(credit)
    due = amount * bps - credit
    paid = max(0, _ceil_div(due, BPS_PER_UNIT))
    return paid, paid * BPS_PER_UNIT - due


def hold_bps(maker_bps: int, taker_bps: int) -> int:
    """The rate a buy order holds for: whichever role it ends up in is covered."""
    _check_bps("maker bps", maker_bps)
    _check_bps("taker bps", taker_bps)
    return max(maker_bps, taker_bps)


def max_buy_fee(limit_price: int, quantity: int, bps: int, credit: int = 0) -> int:
    """The most fee a buy order can still pay on ``quantity`` at ``limit_price``."""
    _check_bps("bps", bps)
    _check_credit(credit)
    return max(0, _ceil_div(notional(limit_price, quantity) * bps - credit, BPS_PER_UNIT))


def buy_hold(limit_price: int, quantity: int, bps: int, credit: int = 0) -> int:
    """Cash a limit buy must hold: limit × quantity + the most fee it can still pay.

    For a new order (credit 0) this is limit × quantity + ceil(limit × quantity ×
    bps / 10 000); for a partly filled one, pass its remaining quantity and credit.
    """
    return notional(limit_price, quantity) + max_buy_fee(limit_price, quantity, bps, credit)


@dataclass(frozen=True, slots=True)
class FillCharges:
    """What one fill moves, for ``Ledger.settle``, and the orders' fee credits after it."""

    notional: int  # fen, buyer to seller before fees
    buyer_fee: int
    seller_fee: int
    buyer_release: int  # fen of the buy hold freed by this fill (price improvement, fee headroom)
    buyer_credit: int
    seller_credit: int


def fill_charges(
    *,
    price: int,
    quantity: int,
    buyer_limit: int,
    buyer_remaining: int,
    buyer_hold_bps: int,
    buyer_bps: int,
    buyer_credit: int,
    seller_bps: int,
    seller_credit: int,
) -> FillCharges:
    """Fees and hold release for a fill of ``quantity`` at ``price``.

    ``buyer_remaining`` is the buy order's quantity before this fill; ``buyer_bps``
    and ``seller_bps`` are the maker or taker rate of each side's role in the fill.
    The buyer is charged at most ``buyer_hold_bps``.
    """
    _check_int("price", price, 1)
    _check_int("quantity", quantity, 1)
    if price > buyer_limit:
        raise ValueError(f"fill price {price} is above the buyer's limit {buyer_limit}")
    if quantity > buyer_remaining:
        raise ValueError(f"fill of {quantity} exceeds the buyer's remaining {buyer_remaining}")
    _check_bps("buyer hold bps", buyer_hold_bps)
    _check_bps("buyer bps", buyer_bps)
    amount = notional(price, quantity)
    buyer_fee, buyer_after = charge(amount, min(buyer_bps, buyer_hold_bps), buyer_credit)
    seller_fee, seller_after = charge(amount, seller_bps, seller_credit)
    before = buy_hold(buyer_limit, buyer_remaining, buyer_hold_bps, buyer_credit)
    after = buy_hold(buyer_limit, buyer_remaining - quantity, buyer_hold_bps, buyer_after)
    release = before - amount - buyer_fee - after
    if release < 0:  # impossible by construction (see the module docstring); never settle short
        raise AssertionError(f"fill would overdraw the buy hold by {-release} fen")
    return FillCharges(amount, buyer_fee, seller_fee, release, buyer_after, seller_after)
