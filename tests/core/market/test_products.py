"""Product definitions, order validation, listing status and token expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from dataex.config.licence_catalogue import load_catalogue
from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import DomainError
from dataex.core.market.matching import InvalidOrder
from dataex.core.market.products import (
    APPROVE,
    DATA_LICENCE,
    DELIST,
    DELISTED,
    HALT,
    HALTED,
    LISTED,
    PENDING,
    RESUME,
    TOKEN,
    DataLicenceDetails,
    InvalidProduct,
    LicenceTerms,
    PriceOffTick,
    PriceOutsideBand,
    Product,
    ProductActionForbidden,
    ProductDelisted,
    ProductHalted,
    ProductNotListed,
    ProductTransitionRefused,
    QuantityOffLot,
    ResaleNotAllowed,
    TokenDetails,
    TokenUnitsExpired,
    UnknownProduct,
    check_may_sell,
    product_view,
    transition,
    units_tradable,
    validate_order,
)

FROM = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)

STANDARD = load_catalogue()["standard@1"]


def token(**changes: Any) -> Product:
    fields: dict[str, Any] = dict(
        symbol="QWEN-IN-1M",
        kind=TOKEN,
        issuer="P000001",
        tick_size=5,
        lot_size=10,
        min_price=100,
        max_price=10_000,
        maker_fee_bps=10,
        taker_fee_bps=25,
        details=TokenDetails("qwen-max", "1M input tokens", FROM, UNTIL),
        status=LISTED,
    )
    fields.update(changes)
    return Product(**fields)


def terms(**changes: Any) -> LicenceTerms:
    fields: dict[str, Any] = dict(
        purpose="model training",
        scope="the whole dataset, read only",
        duration_days=365,
        territory="CN",
        exclusivity="non_exclusive",
        sublicensable=False,
        delivery="compute_in_place",
    )
    fields.update(changes)
    return LicenceTerms(**fields)


def licence(**changes: Any) -> Product:
    fields: dict[str, Any] = dict(
        symbol="WEATHER-2025",
        kind=DATA_LICENCE,
        issuer="P000002",
        tick_size=100,
        lot_size=1,
        min_price=10_000,
        max_price=1_000_000,
        maker_fee_bps=0,
        taker_fee_bps=30,
        details=DataLicenceDetails("DX-2026-000001", STANDARD, terms()),
        status=LISTED,
    )
    fields.update(changes)
    return Product(**fields)


def order(product: Product | None, **changes: Any) -> None:
    args: dict[str, Any] = dict(side="buy", price=500, quantity=20, order_type="limit", now=NOW)
    args.update(changes)
    validate_order(product, **args)


# --------------------------------------------------------------------------- validation


def test_a_well_formed_order_on_a_listed_product_passes() -> None:
    order(token())
    order(token(), side="sell", order_type="market", price=10_000, quantity=10)
    order(licence(), price=10_000, quantity=1, order_type="post_only")
    # The band's edges are inside it.
    order(token(), price=100)
    order(token(), price=10_000)


@pytest.mark.parametrize(
    ("product", "changes", "error", "slug"),
    [
        (None, {}, UnknownProduct, "unknown-product"),
        (token(status=PENDING), {}, ProductNotListed, "product-not-listed"),
        (token(status=HALTED), {}, ProductHalted, "product-halted"),
        (token(status=DELISTED), {}, ProductDelisted, "product-delisted"),
        (token(), {"price": 502}, PriceOffTick, "price-off-tick"),
        (token(), {"quantity": 25}, QuantityOffLot, "quantity-off-lot"),
        (token(), {"price": 95}, PriceOutsideBand, "price-outside-band"),
        (token(), {"price": 10_005}, PriceOutsideBand, "price-outside-band"),
        (token(), {"now": UNTIL}, TokenUnitsExpired, "token-units-expired"),
        (token(), {"side": "hold"}, InvalidOrder, "invalid-order"),
        (token(), {"order_type": "stop"}, InvalidOrder, "invalid-order"),
        (token(), {"price": 0}, InvalidOrder, "invalid-order"),
        (token(), {"price": 500.0}, InvalidOrder, "invalid-order"),
        (token(), {"price": True}, InvalidOrder, "invalid-order"),
        (token(), {"quantity": -10}, InvalidOrder, "invalid-order"),
        (token(), {"quantity": "10"}, InvalidOrder, "invalid-order"),
    ],
)
def test_each_bad_order_is_refused_with_its_own_error(
    product: Product | None, changes: dict[str, Any], error: type[DomainError], slug: str
) -> None:
    with pytest.raises(error) as caught:
        order(product, **changes)
    assert type(caught.value) is error
    assert caught.value.slug == slug
    assert 400 <= caught.value.status < 500


def test_market_orders_obey_tick_and_band_with_their_protection_price() -> None:
    with pytest.raises(PriceOutsideBand):
        order(token(), order_type="market", price=20_000)
    with pytest.raises(PriceOffTick):
        order(token(), order_type="market", price=9_999)


def test_why_a_product_does_not_trade_has_a_distinct_slug() -> None:
    slugs = set()
    for product in (None, token(status=PENDING), token(status=HALTED), token(status=DELISTED)):
        with pytest.raises(DomainError) as caught:
            order(product)
        slugs.add(caught.value.slug)
    assert len(slugs) == 4


def test_errors_say_what_the_rule_is() -> None:
    with pytest.raises(PriceOffTick) as tick:
        order(token(), price=503)
    assert tick.value.extra == {"symbol": "QWEN-IN-1M", "tick_size": 5}
    with pytest.raises(PriceOutsideBand) as band:
        order(token(), price=20_000)
    assert band.value.extra["min_price"] == 100 and band.value.extra["max_price"] == 10_000
    with pytest.raises(QuantityOffLot) as lot:
        order(token(), quantity=15)
    assert lot.value.extra["lot_size"] == 10


def test_status_is_checked_before_the_order_shape() -> None:
    """A halted product says so, even to an order that is malformed too."""
    with pytest.raises(ProductHalted):
        order(token(status=HALTED), price=3)


# --------------------------------------------------------------------------- status


def test_listing_lifecycle() -> None:
    p = token(status=PENDING)
    p = transition(p, APPROVE, {"operator"})
    assert p.status == LISTED
    p = transition(p, HALT, {"regulator"})
    assert p.status == HALTED
    p = transition(p, RESUME, {"regulator"})
    assert p.status == LISTED
    p = transition(p, HALT, {"operator"})
    p = transition(p, RESUME, ["operator", "trader"])
    assert p.status == LISTED
    p = transition(p, DELIST, {"operator"})
    assert p.status == DELISTED
    order(token(status=LISTED))


def test_a_transition_returns_a_new_product_and_leaves_the_old_one() -> None:
    before = token(status=PENDING)
    after = transition(before, APPROVE, {"operator"})
    assert before.status == PENDING and after.status == LISTED
    assert replace(after, status=PENDING) == before


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (PENDING, HALT),
        (PENDING, RESUME),
        (LISTED, APPROVE),
        (LISTED, RESUME),
        (HALTED, HALT),
        (HALTED, APPROVE),
        (DELISTED, APPROVE),
        (DELISTED, HALT),
        (DELISTED, RESUME),
        (DELISTED, DELIST),
    ],
)
def test_transitions_that_do_not_fit_the_status_are_refused(status: str, action: str) -> None:
    with pytest.raises(ProductTransitionRefused) as caught:
        transition(token(status=status), action, {"operator", "regulator"})
    assert caught.value.status == 409


def test_delist_works_from_every_live_status_and_is_final() -> None:
    for status in (PENDING, LISTED, HALTED):
        gone = transition(token(status=status), DELIST, {"operator"})
        assert gone.status == DELISTED
        for action in (APPROVE, HALT, RESUME, DELIST):
            with pytest.raises(ProductTransitionRefused):
                transition(gone, action, {"operator", "regulator"})


@pytest.mark.parametrize(
    ("status", "action", "roles"),
    [
        (PENDING, APPROVE, {"regulator"}),
        (PENDING, APPROVE, {"issuer", "trader"}),
        (LISTED, HALT, {"trader"}),
        (HALTED, RESUME, {"owner"}),
        (LISTED, DELIST, {"regulator"}),
        (LISTED, HALT, set()),
    ],
)
def test_only_the_right_roles_may_act(status: str, action: str, roles: set[str]) -> None:
    product = token(status=status)
    with pytest.raises(ProductActionForbidden) as caught:
        transition(product, action, roles)
    assert caught.value.status == 403


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ProductTransitionRefused):
        transition(token(), "list", {"operator"})


# --------------------------------------------------------------------------- token expiry


def test_token_units_trade_until_their_validity_ends() -> None:
    p = token()
    assert units_tradable(p, FROM - timedelta(days=30))  # buying ahead is allowed
    assert units_tradable(p, NOW)
    assert units_tradable(p, UNTIL - timedelta(microseconds=1))
    assert not units_tradable(p, UNTIL)
    assert not units_tradable(p, UNTIL + timedelta(days=1))
    # The same instant written in another time zone is the same answer.
    beijing = timezone(timedelta(hours=8))
    assert not units_tradable(p, UNTIL.astimezone(beijing))
    order(p, now=UNTIL - timedelta(seconds=1))
    for side in ("buy", "sell"):
        with pytest.raises(TokenUnitsExpired):
            order(p, side=side, now=UNTIL)


def test_data_licences_do_not_expire_as_units() -> None:
    assert units_tradable(licence(), UNTIL + timedelta(days=10_000))


# --------------------------------------------------------------------------- resale


def test_a_licence_that_is_not_sublicensable_is_sold_by_its_issuer_only() -> None:
    closed = licence()
    check_may_sell(closed, "P000002")
    with pytest.raises(ResaleNotAllowed) as caught:
        check_may_sell(closed, "P000099")
    assert caught.value.slug == "resale-not-sublicensable"
    open_ = licence(details=DataLicenceDetails("DX-1", STANDARD, terms(sublicensable=True)))
    check_may_sell(open_, "P000099")
    check_may_sell(token(), "P000099")


# --------------------------------------------------------------------------- definitions


@pytest.mark.parametrize(
    "changes",
    [
        {"symbol": "x"},
        {"symbol": "lower"},
        {"symbol": "CNY"},
        {"symbol": "HAS SPACE"},
        {"symbol": "A" * 33},
        {"symbol": "PLATFORM:FEES"},
        {"kind": "bond"},
        {"kind": DATA_LICENCE},  # token details on a data-licence product
        {"issuer": ""},
        {"status": "open"},
        {"tick_size": 0},
        {"lot_size": 0},
        {"tick_size": 1.5},
        {"min_price": 0},
        {"min_price": 103},  # off the tick grid of 5
        {"max_price": 10_002},
        {"min_price": 2_000, "max_price": 1_000},
        {"maker_fee_bps": -1},
        {"taker_fee_bps": 10_001},
        {"taker_fee_bps": True},
    ],
)
def test_invalid_product_definitions_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidProduct):
        token(**changes)


def test_invalid_details_are_refused() -> None:
    naive = datetime(2026, 1, 1)
    for args in (
        ("", "1M tokens", FROM, UNTIL),
        ("m", "", FROM, UNTIL),
        ("m", "1M tokens", naive, UNTIL),
        ("m", "1M tokens", UNTIL, FROM),
        ("m", "1M tokens", FROM, FROM),
    ):
        with pytest.raises(InvalidProduct):
            TokenDetails(*args)
    for changes in (
        {"delivery": "email"},
        {"exclusivity": "shared"},
        {"duration_days": 0},
        {"sublicensable": "no"},
        {"purpose": " "},
    ):
        with pytest.raises(InvalidProduct):
            terms(**changes)
    with pytest.raises(InvalidProduct):
        DataLicenceDetails("", STANDARD, terms())
    with pytest.raises(InvalidProduct):
        licence(kind=TOKEN)


def test_product_view_is_plain_canonical_json() -> None:
    view = product_view(token())
    assert view["token"] == {
        "model_id": "qwen-max",
        "unit_label": "1M input tokens",
        "valid_from": "2026-01-01T00:00:00.000000Z",
        "valid_until": "2027-01-01T00:00:00.000000Z",
    }
    assert view["status"] == LISTED and view["taker_fee_bps"] == 25
    lic = product_view(licence())
    assert lic["data_licence"]["terms"]["delivery"] == "compute_in_place"
    assert lic["data_licence"]["terms"]["sublicensable"] is False
    canonical_json(view)
    canonical_json(lic)
