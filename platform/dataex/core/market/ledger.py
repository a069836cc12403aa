"""Double-entry ledger in memory, two-phase like TigerBeetle: hold, then settle or release.

Why it looks the way it does:

- Every movement is a balanced list of postings (per asset they sum to zero),
  applied whole or refused whole: ``_commit`` computes every new balance and
  checks it before it writes any, so a refused movement changes nothing.
- Accounts are keyed by (owner, asset); the asset is ``CNY`` (fen) or a product
  symbol (whole units). A participant's account has two buckets: ``available``,
  and ``held`` per order id. A hold moves available → held, settlement spends
  from held, a release moves held → available. So what an order can still
  spend is a balance of its own, and "held amounts equal what open orders can
  still use" compares one number per order (``hold_mismatches``).
- Platform accounts: ``platform:fees`` collects fees; ``platform:bank`` is the
  counter-account of deposits and withdrawals (the bank rail is outside
  dataex; its balance is minus the cash inside); (``platform:issuance``,
  SYMBOL) is each product's issuance account (minus the units in circulation).
  Only bank and issuance may go below zero; no available or held balance ever does.
- Postings are plain dicts in a fixed order per operation, with zero amounts
  left out, so the audit log and a replay give the same bytes. ``apply`` takes
  stored postings back through the same checks: balances rebuild from them.
- Every amount and balance stays within ±(2^53 − 1), so canonical JSON holds it.
- Fees are computed by the caller with ``dataex.core.market.fees`` and passed in; the
  ledger only moves what it is told, and refuses what does not add up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dataex.core.documents.canonical import MAX_SAFE_INTEGER
from dataex.core.documents.errors import DomainError

CASH: Final = "CNY"
PLATFORM_PREFIX: Final = "platform:"
FEES: Final = "platform:fees"
BANK: Final = "platform:bank"
ISSUANCE: Final = "platform:issuance"
PLATFORM_ACCOUNTS: Final = frozenset({FEES, BANK, ISSUANCE})
# Counter-accounts for value that lives outside dataex; they may be negative.
CONTRA_ACCOUNTS: Final = frozenset({BANK, ISSUANCE})

AVAILABLE: Final = "available"
HELD: Final = "held"
POSTING_KEYS: Final = ("account", "asset", "bucket", "order_id", "amount")

OrderId = str | int
Posting = dict[str, Any]


class InsufficientFunds(DomainError):
    status = 409
    slug = "insufficient-funds"
    title = "The available cash balance is too low"


class InsufficientUnits(DomainError):
    status = 409
    slug = "insufficient-units"
    title = "The available units are too few"


class HoldExceeded(DomainError):
    status = 409
    slug = "hold-exceeded"
    title = "The movement needs more than the order holds"


class HoldNotFound(DomainError):
    status = 404
    slug = "hold-not-found"
    title = "No hold exists for this order"


class DuplicateHold(DomainError):
    status = 409
    slug = "hold-exists"
    title = "The order already has a hold"


class InvalidAmount(DomainError):
    status = 422
    slug = "invalid-amount"
    title = "An amount must be a positive integer within ±(2^53 − 1)"


class InvalidAccount(DomainError):
    status = 422
    slug = "invalid-account"
    title = "The account or asset cannot take this movement"


class InvalidSettlement(DomainError):
    status = 422
    slug = "invalid-settlement"
    title = "The settlement's figures do not fit its orders"


class InvalidPostings(DomainError):
    status = 422
    slug = "invalid-postings"
    title = "The postings are malformed or do not balance"


class BalanceOutOfRange(DomainError):
    status = 422
    slug = "balance-out-of-range"
    title = "A balance would leave ±(2^53 − 1)"


@dataclass(frozen=True, slots=True)
class Hold:
    owner: str
    asset: str
    amount: int


def _posting(account: str, asset: str, amount: int, order_id: OrderId | None = None) -> Posting:
    bucket = AVAILABLE if order_id is None else HELD
    return {
        "account": account,
        "asset": asset,
        "bucket": bucket,
        "order_id": order_id,
        "amount": amount,
    }


def _amount(value: object, name: str = "amount", *, zero: bool = False) -> int:
    low = 0 if zero else 1
    if type(value) is not int or not low <= value <= MAX_SAFE_INTEGER:
        raise InvalidAmount(f"{name} must be an integer in {low}..2^53-1, got {value!r}")
    return value


def _participant(owner: object) -> str:
    if not isinstance(owner, str) or not owner or owner.startswith(PLATFORM_PREFIX):
        raise InvalidAccount(f"{owner!r} is not a participant account", account=owner)
    return owner


def _asset(asset: object) -> str:
    if not isinstance(asset, str) or not asset:
        raise InvalidAccount(f"{asset!r} is not an asset", asset=asset)
    return asset


def _units(asset: object) -> str:
    if _asset(asset) == CASH:
        raise InvalidAccount("units of a product are needed here, not cash", asset=asset)
    return str(asset)


def _order_id(order_id: object) -> OrderId:
    if isinstance(order_id, bool) or not isinstance(order_id, str | int) or order_id == "":
        raise InvalidAccount(f"{order_id!r} is not an order id", order_id=order_id)
    return order_id


def _order_key(order_id: OrderId) -> tuple[int, int, str]:
    """Sort key for order ids of either type (ints first), for deterministic output."""
    return (1, 0, order_id) if isinstance(order_id, str) else (0, order_id, "")


def _short(asset: str) -> type[DomainError]:
    return InsufficientFunds if asset == CASH else InsufficientUnits


class Ledger:
    """All balances. Each operation returns its postings, or raises and changes nothing."""

    __slots__ = ("_available", "_held_totals", "_holds")

    def __init__(self) -> None:
        self._available: dict[tuple[str, str], int] = {}
        self._holds: dict[OrderId, Hold] = {}
        self._held_totals: dict[tuple[str, str], int] = {}

    @classmethod
    def restore(
        cls,
        balances: Iterable[tuple[str, str, int, int]],
        holds: Iterable[tuple[OrderId, str, str, int]],
    ) -> Ledger:
        """Rebuild from current balances, not history: start-up reads maintained rows.

        ``balances`` are (account, asset, available, held) and ``holds`` are
        (order_id, account, asset, amount). Refused (``InvalidPostings``) unless
        the result is a ledger ``_commit`` could have built: each account's held
        equals the sum of its orders' holds, and ``invariant_violations`` is empty.
        """
        ledger = cls()
        recorded: dict[tuple[str, str], int] = {}
        for account, asset, available, held in balances:
            key = (_account(account), _asset(asset))
            if key in recorded:
                raise InvalidPostings(f"{account}'s {asset} balance is given twice")
            if available:
                ledger._available[key] = _balance(available, account, asset)
            recorded[key] = _balance(held, account, asset)
        for order_id, account, asset, amount in holds:
            order_id = _order_id(order_id)
            if order_id in ledger._holds:
                raise InvalidPostings(f"order {order_id!r} holds twice")
            if account in PLATFORM_ACCOUNTS:
                raise InvalidPostings(f"a platform account cannot hold: {account!r}")
            hold = Hold(_account(account), _asset(asset), _balance(amount, account, asset))
            ledger._holds[order_id] = hold
            key = (hold.owner, hold.asset)
            ledger._held_totals[key] = ledger._held_totals.get(key, 0) + hold.amount
        for key in sorted(recorded.keys() | ledger._held_totals.keys()):
            if recorded.get(key, 0) != ledger._held_totals.get(key, 0):
                raise InvalidPostings(
                    f"{key[0]} holds {recorded.get(key, 0)} {key[1]}, "
                    f"its orders' holds add up to {ledger._held_totals.get(key, 0)}"
                )
        problems = invariant_violations(ledger)
        if problems:
            raise InvalidPostings("the balances are not a sound ledger: " + "; ".join(problems))
        return ledger

    # ------------------------------------------------------------------ queries

    def available(self, owner: str, asset: str) -> int:
        return self._available.get((owner, asset), 0)

    def held(self, owner: str, asset: str) -> int:
        """The total held for all of ``owner``'s orders in ``asset``."""
        return self._held_totals.get((owner, asset), 0)

    def hold_of(self, order_id: OrderId) -> Hold | None:
        return self._holds.get(order_id)

    def holds(self) -> dict[OrderId, Hold]:
        return dict(self._holds)

    def available_balances(self) -> dict[tuple[str, str], int]:
        """Every non-zero available balance, keyed by (account, asset)."""
        return dict(self._available)

    def held_balances(self) -> dict[tuple[str, str], int]:
        """Every non-zero held total, keyed by (account, asset)."""
        return dict(self._held_totals)

    def balance_rows(self) -> list[tuple[str, str, int, int]]:
        """(account, asset, available, held) of every non-zero balance: ``restore``'s input."""
        return [
            (account, asset, self._available.get((account, asset), 0),
             self._held_totals.get((account, asset), 0))
            for account, asset in sorted(self._available.keys() | self._held_totals.keys())
        ]

    def hold_rows(self) -> list[tuple[OrderId, str, str, int]]:
        """(order_id, account, asset, amount) of every hold: ``restore``'s input."""
        return [
            (oid, h.owner, h.asset, h.amount)
            for oid, h in sorted(self._holds.items(), key=lambda item: _order_key(item[0]))
        ]

    def snapshot(self) -> dict[str, Any]:
        """All balances and holds as plain, sorted data (for restart and replay checks)."""
        balances: dict[str, dict[str, dict[str, int]]] = {}
        for account, asset in sorted(self._available.keys() | self._held_totals.keys()):
            balances.setdefault(account, {})[asset] = {
                AVAILABLE: self._available.get((account, asset), 0),
                HELD: self._held_totals.get((account, asset), 0),
            }
        holds = [
            {"order_id": oid, "account": h.owner, "asset": h.asset, "amount": h.amount}
            for oid, h in sorted(self._holds.items(), key=lambda item: _order_key(item[0]))
        ]
        return {"balances": balances, "holds": holds}

    # ------------------------------------------------------------------ operations

    def deposit(self, owner: str, amount: int) -> list[Posting]:
        """Cash arrives from the bank rail (signed by the operator)."""
        owner, amount = _participant(owner), _amount(amount)
        return self._commit([_posting(BANK, CASH, -amount), _posting(owner, CASH, amount)])

    def withdraw(self, owner: str, amount: int) -> list[Posting]:
        """Cash leaves to the bank rail; only available cash, never held cash."""
        owner, amount = _participant(owner), _amount(amount)
        return self._commit([_posting(owner, CASH, -amount), _posting(BANK, CASH, amount)])

    def mint(self, issuer: str, asset: str, amount: int) -> list[Posting]:
        """New units of a product come into circulation in the issuer's account."""
        issuer, asset, amount = _participant(issuer), _units(asset), _amount(amount)
        return self._commit([_posting(ISSUANCE, asset, -amount), _posting(issuer, asset, amount)])

    def burn(self, holder: str, asset: str, amount: int) -> list[Posting]:
        """Units leave circulation (tokens consumed); only available units."""
        holder, asset, amount = _participant(holder), _units(asset), _amount(amount)
        return self._commit([_posting(holder, asset, -amount), _posting(ISSUANCE, asset, amount)])

    def hold(self, order_id: OrderId, owner: str, asset: str, amount: int) -> list[Posting]:
        """Reserve what an order could spend; refused if the available balance is short."""
        order_id, owner = _order_id(order_id), _participant(owner)
        asset, amount = _asset(asset), _amount(amount)
        if order_id in self._holds:
            raise DuplicateHold(f"order {order_id!r} already holds funds", order_id=order_id)
        return self._commit(
            [_posting(owner, asset, -amount), _posting(owner, asset, amount, order_id)]
        )

    def release(self, order_id: OrderId, amount: int | None = None) -> list[Posting]:
        """Give held back to available: all of it (cancel, expiry) or ``amount`` of it."""
        hold = self._hold(order_id)
        amount = hold.amount if amount is None else _amount(amount)
        return self._commit(
            [
                _posting(hold.owner, hold.asset, -amount, order_id),
                _posting(hold.owner, hold.asset, amount),
            ]
        )

    def settle(
        self,
        *,
        buy_order_id: OrderId,
        sell_order_id: OrderId,
        price: int,
        quantity: int,
        buyer_fee: int = 0,
        seller_fee: int = 0,
        buyer_release: int = 0,
    ) -> list[Posting]:
        """One fill, delivery versus payment, in one atomic set of postings.

        The buy order's held cash pays price × quantity to the seller (less the
        seller's fee) and the buyer's fee to ``platform:fees``, and frees
        ``buyer_release`` back to the buyer; the sell order's held units go to
        the buyer. Owners and the product come from the two holds. Postings, in
        order: buyer held cash, seller cash, fees, buyer cash released, seller
        held units, buyer units.
        """
        buy, sell = self._hold(buy_order_id), self._hold(sell_order_id)
        price, quantity = _amount(price, "price"), _amount(quantity, "quantity")
        buyer_fee = _amount(buyer_fee, "buyer fee", zero=True)
        seller_fee = _amount(seller_fee, "seller fee", zero=True)
        buyer_release = _amount(buyer_release, "buyer release", zero=True)
        if buy.asset != CASH:
            raise InvalidSettlement(f"buy order {buy_order_id!r} holds {buy.asset}, not {CASH}")
        if sell.asset == CASH:
            raise InvalidSettlement(f"sell order {sell_order_id!r} holds cash, not units")
        amount = _amount(price * quantity, "notional")
        if seller_fee > amount:
            raise InvalidSettlement(f"seller fee {seller_fee} exceeds the notional {amount}")
        spent = _amount(amount + buyer_fee + buyer_release, "buyer's spend")
        postings = [
            _posting(buy.owner, CASH, -spent, buy_order_id),
            _posting(sell.owner, CASH, amount - seller_fee),
            _posting(FEES, CASH, buyer_fee + seller_fee),
            _posting(buy.owner, CASH, buyer_release),
            _posting(sell.owner, sell.asset, -quantity, sell_order_id),
            _posting(buy.owner, sell.asset, quantity),
        ]
        return self._commit([p for p in postings if p["amount"]])

    def apply(self, postings: Iterable[Mapping[str, Any]]) -> list[Posting]:
        """Apply stored postings of one movement (rebuild on start, replay in the verifier)."""
        checked = [_checked_posting(p) for p in postings]
        if not checked:
            raise InvalidPostings("a movement needs at least one posting")
        return self._commit(checked)

    # ------------------------------------------------------------------ internals

    def _hold(self, order_id: OrderId) -> Hold:
        hold = self._holds.get(_order_id(order_id))
        if hold is None:
            raise HoldNotFound(f"order {order_id!r} holds nothing", order_id=order_id)
        return hold

    def _commit(self, postings: list[Posting]) -> list[Posting]:
        """Check every resulting balance, then write them all; raise and write none."""
        unbalanced = unbalanced_assets(postings)
        if unbalanced:
            raise InvalidPostings(f"postings do not balance: {unbalanced}", sums=unbalanced)
        available: dict[tuple[str, str], int] = {}
        held: dict[OrderId, list[Any]] = {}  # order id -> [owner, asset, delta]
        for p in postings:
            account, asset, amount, order_id = p["account"], p["asset"], p["amount"], p["order_id"]
            if order_id is None:
                key = (account, asset)
                available[key] = available.get(key, 0) + amount
                continue
            entry = held.setdefault(order_id, [account, asset, 0])
            known = self._holds.get(order_id)
            if (entry[0], entry[1]) != (account, asset) or (
                known is not None and (known.owner, known.asset) != (account, asset)
            ):
                raise InvalidPostings(f"order {order_id!r} holds for another account or asset")
            entry[2] += amount

        new_available: dict[tuple[str, str], int] = {}
        for (account, asset), delta in available.items():
            value = self._available.get((account, asset), 0) + delta
            if value < 0 and account not in CONTRA_ACCOUNTS:
                raise _short(asset)(
                    f"{account} has {value - delta} {asset} available, needs {-delta}",
                    account=account,
                    asset=asset,
                    available=value - delta,
                    needed=-delta,
                )
            _in_range(value, account, asset)
            new_available[(account, asset)] = value
        new_holds: dict[OrderId, Hold] = {}
        for order_id, (owner, asset, delta) in held.items():
            known = self._holds.get(order_id)
            value = (known.amount if known else 0) + delta
            if value < 0:
                raise HoldExceeded(
                    f"order {order_id!r} holds {value - delta} {asset}, needs {-delta}",
                    order_id=order_id,
                    held=value - delta,
                    needed=-delta,
                )
            _in_range(self._held_totals.get((owner, asset), 0) + delta, owner, asset)
            new_holds[order_id] = Hold(owner, asset, value)

        for key, value in new_available.items():
            if value:
                self._available[key] = value
            else:
                self._available.pop(key, None)
        for order_id, hold in new_holds.items():
            key = (hold.owner, hold.asset)
            total = self._held_totals.get(key, 0) + held[order_id][2]
            if total:
                self._held_totals[key] = total
            else:
                self._held_totals.pop(key, None)
            if hold.amount:
                self._holds[order_id] = hold
            else:
                self._holds.pop(order_id, None)
        return postings


def _account(account: object) -> str:
    if not isinstance(account, str) or not account:
        raise InvalidPostings(f"bad account {account!r}")
    if account.startswith(PLATFORM_PREFIX) and account not in PLATFORM_ACCOUNTS:
        raise InvalidPostings(f"unknown platform account {account!r}")
    return account


def _balance(value: object, account: str, asset: str) -> int:
    if type(value) is not int:
        raise InvalidPostings(f"{account}'s {asset} balance {value!r} is not an integer")
    _in_range(value, account, asset)
    return value


def _in_range(value: int, account: str, asset: str) -> None:
    if abs(value) > MAX_SAFE_INTEGER:
        raise BalanceOutOfRange(f"{account}'s {asset} balance would be {value}")


def _checked_posting(p: Mapping[str, Any]) -> Posting:
    """A stored posting, checked for shape and copied (so the caller keeps its own)."""
    if not isinstance(p, Mapping) or set(p) != set(POSTING_KEYS):
        raise InvalidPostings(f"a posting has exactly the keys {POSTING_KEYS}: {p!r}")
    account, asset, bucket, order_id = p["account"], p["asset"], p["bucket"], p["order_id"]
    amount = p["amount"]
    if not isinstance(account, str) or not account:
        raise InvalidPostings(f"bad account {account!r}")
    if account.startswith(PLATFORM_PREFIX) and account not in PLATFORM_ACCOUNTS:
        raise InvalidPostings(f"unknown platform account {account!r}")
    _asset(asset)
    if type(amount) is not int or amount == 0 or abs(amount) > MAX_SAFE_INTEGER:
        raise InvalidPostings(f"bad amount {amount!r}: a non-zero integer within ±(2^53 − 1)")
    if bucket == AVAILABLE and order_id is None:
        return _posting(account, asset, amount)
    if bucket == HELD and order_id is not None and account not in PLATFORM_ACCOUNTS:
        return _posting(account, asset, amount, _order_id(order_id))
    raise InvalidPostings(f"bad bucket {bucket!r} with order id {order_id!r} for {account!r}")


# ---------------------------------------------------------------------- invariants


def unbalanced_assets(postings: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per asset, the non-zero sum of the postings; empty when they balance."""
    sums: dict[str, int] = {}
    for p in postings:
        sums[p["asset"]] = sums.get(p["asset"], 0) + p["amount"]
    return {asset: total for asset, total in sorted(sums.items()) if total}


def invariant_violations(ledger: Ledger) -> list[str]:
    """Every broken ledger invariant, in words; empty when the ledger is sound.

    All balances of each asset sum to zero (so every posting ever applied
    balanced); no available balance outside the counter-accounts and no hold
    is negative; the held totals per account agree with the holds per order.
    """
    problems: list[str] = []
    sums: dict[str, int] = {}
    for (account, asset), value in sorted(ledger.available_balances().items()):
        sums[asset] = sums.get(asset, 0) + value
        if value < 0 and account not in CONTRA_ACCOUNTS:
            problems.append(f"{account} has {value} {asset} available")
    totals: dict[tuple[str, str], int] = {}
    for order_id, hold in sorted(ledger.holds().items(), key=lambda item: _order_key(item[0])):
        sums[hold.asset] = sums.get(hold.asset, 0) + hold.amount
        totals[(hold.owner, hold.asset)] = totals.get((hold.owner, hold.asset), 0) + hold.amount
        if hold.amount <= 0:
            problems.append(f"order {order_id!r} holds {hold.amount} {hold.asset}")
    for asset, total in sorted(sums.items()):
        if total:
            problems.append(f"{asset} balances sum to {total}, not 0")
    recorded = ledger.held_balances()
    for account, asset in sorted(totals.keys() | recorded.keys()):
        if totals.get((account, asset), 0) != recorded.get((account, asset), 0):
            problems.append(f"{account}'s held {asset} disagrees with its orders' holds")
    return problems


def hold_mismatches(
    ledger: Ledger, open_orders: Mapping[Any, tuple[str, str, int]]
) -> list[str]:
    """Where the holds differ from what open orders can still use; empty when they agree.

    ``open_orders`` maps each open order id to (owner, asset, amount it can
    still use); an amount of 0 means it should hold nothing.
    """
    holds = ledger.holds()
    problems: list[str] = []
    for order_id in sorted(holds.keys() | open_orders.keys(), key=_order_key):
        hold = holds.get(order_id)
        actual = (hold.owner, hold.asset, hold.amount) if hold else None
        expected = open_orders.get(order_id)
        if expected is not None and expected[2] == 0:
            expected = None
        if actual != expected:
            problems.append(f"order {order_id!r} holds {actual}, open order needs {expected}")
    return problems
