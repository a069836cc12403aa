"""Who gets through the gateway, and on what: one decision per request, or a refusal.

The caller signs the request as SPEC §12 says, with the gateway's origin in the
signed target (`http://gw.example:9000/v1/chat/completions?x=1`), so a header
made for one gateway, or for dataex, is no good at another. Then:

- a data-licence product: a licence for it, active, not expired, whose signed
  document grants the right the gateway delivers (`processing_use` by default)
  with `api` delivery: none at all is 402, one whose terms do not cover API
  delivery is 403;
- a token product: units available beyond what is already reserved by calls in
  flight and used but not yet burned: 402 otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from dataex.core.documents.errors import DomainError
from dataex.core.participants.request_auth import ReplayGuard, authenticate_request
from dataex.gateway.holders import HolderBook, Snapshot
from dataex.gateway.journal import Journal

TOKEN, DATA_LICENCE = "token", "data_licence"
PRODUCT_HEADER = "dataex-product"


class Refusal(Exception):
    """A problem the gateway answers with (RFC 9457), nothing forwarded."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail

    @classmethod
    def of(cls, error: DomainError) -> Refusal:
        return cls(error.status, error.slug, error.title, str(error))


@dataclass(frozen=True)
class Admission:
    holder: str
    symbol: str
    kind: str
    reserved_tokens: int  # 0 for a licence call


class Reservations:
    """Tokens held by calls in flight, per (symbol, holder): released when usage is known."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], int] = {}

    def held(self, symbol: str, holder: str) -> int:
        return self._held.get((symbol, holder), 0)

    def take(self, symbol: str, holder: str, tokens: int) -> None:
        self._held[(symbol, holder)] = self.held(symbol, holder) + tokens

    def release(self, symbol: str, holder: str, tokens: int) -> None:
        left = self.held(symbol, holder) - tokens
        if left > 0:
            self._held[(symbol, holder)] = left
        else:
            self._held.pop((symbol, holder), None)


class Doorman:
    """Authenticates, then checks the licence or reserves the units; never waits on I/O."""

    def __init__(self, holders: HolderBook, journal: Journal, *, public_url: str,
                 max_skew_seconds: int, tokens_per_unit: int, required_right: str) -> None:
        self.holders = holders
        self.journal = journal
        self.origin = public_url.rstrip("/")
        self.max_skew = max_skew_seconds
        self.tokens_per_unit = tokens_per_unit
        self.required_right = required_right
        self.replays = ReplayGuard(max_skew_seconds)
        self.reservations = Reservations()

    def admit(self, method: str, target: str, body: bytes, headers: dict[str, str],
              wanted_tokens: int) -> Admission:
        snapshot = self._snapshot()
        symbol = self._product(headers, snapshot)
        try:
            holder = authenticate_request(
                headers.get("dataex-auth"), method, self.origin + target, body,
                snapshot.participants, now=int(time.time()), max_skew_seconds=self.max_skew,
                replay_guard=self.replays)
        except DomainError as error:
            raise Refusal.of(error) from error
        if snapshot.participants.by_id[holder].status != "active":
            raise Refusal(403, "participant-frozen", "The participant may not act now",
                          f"{holder} is {snapshot.participants.by_id[holder].status}")
        if snapshot.kinds[symbol] == DATA_LICENCE:
            self._check_licence(snapshot, symbol, holder)
            return Admission(holder, symbol, DATA_LICENCE, 0)
        self._reserve(snapshot, symbol, holder, wanted_tokens)
        return Admission(holder, symbol, TOKEN, wanted_tokens)

    def settle(self, admission: Admission) -> None:
        if admission.reserved_tokens:
            self.reservations.release(admission.symbol, admission.holder,
                                      admission.reserved_tokens)

    def available_tokens(self, snapshot: Snapshot, symbol: str, holder: str) -> int:
        units = (snapshot.units.get((symbol, holder), 0)
                 - self.journal.unreflected_units(symbol, holder, snapshot.seq))
        return (units * self.tokens_per_unit - self.journal.unreported_tokens(symbol, holder)
                - self.reservations.held(symbol, holder))

    def _snapshot(self) -> Snapshot:
        snapshot = self.holders.snapshot
        if snapshot is None or not self.holders.fresh():
            age = "never read" if snapshot is None else f"{self.holders.age():.0f} s old"
            raise Refusal(503, "holders-unavailable", "The gateway cannot check holders now",
                          f"dataex's holder list is {age} (staleness allowed: "
                          f"{self.holders.staleness} s): {self.holders.last_error or 'starting'}")
        return snapshot

    def _product(self, headers: dict[str, str], snapshot: Snapshot) -> str:
        named = headers.get(PRODUCT_HEADER)
        if named is None and len(snapshot.kinds) == 1:
            return next(iter(snapshot.kinds))
        if named not in snapshot.kinds:
            raise Refusal(400, "unknown-product", "This gateway does not serve that product",
                          f"name one of {sorted(snapshot.kinds)} in the Dataex-Product header")
        return named

    def _check_licence(self, snapshot: Snapshot, symbol: str, holder: str) -> None:
        now = datetime.now(UTC)
        held = snapshot.licences.get((symbol, holder), [])
        valid = [lic for lic in held if lic.valid_until > now]
        if not valid:
            raise Refusal(402, "no-valid-licence", "No licence valid now for this product",
                          f"{holder} holds no active, unexpired licence of {symbol}")
        if not any(self.required_right in lic.rights and lic.delivery == "api" for lic in valid):
            raise Refusal(403, "outside-licence-scope", "The licence does not cover this use",
                          f"{holder}'s licences of {symbol} do not grant "
                          f"{self.required_right} by API delivery")

    def _reserve(self, snapshot: Snapshot, symbol: str, holder: str, tokens: int) -> None:
        left = self.available_tokens(snapshot, symbol, holder)
        if left < tokens:
            raise Refusal(402, "not-enough-units", "Not enough units for this call",
                          f"{holder} has {max(left, 0)} tokens of {symbol} left "
                          f"({self.tokens_per_unit} per unit); the call needs {tokens}")
        self.reservations.take(symbol, holder, tokens)
