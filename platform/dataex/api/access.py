"""Who may see what: the one place the access model of contracts/SPEC.md section 12 is enforced.

Every read handler asks here who the caller is (`viewer`, from an optional
signed request) and what it may see: the public sees the log's proofs, market
data and the registry's public records; a participant also sees its own data
and the log entries it signed or that name it; a regulator sees everything;
the operator sees what running the service needs (participants' legal ids).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from litestar import Request

from dataex.api.observability import note_signer
from dataex.api.state import runtime_from
from dataex.core.documents.errors import DomainError
from dataex.core.participants.request_auth import AUTH_HEADER, ReplayGuard, authenticate_request
from dataex.store.log.entries import PUBLIC_ENTRY_PREFIX  # the registry's public record


class RegulatorOnly(DomainError):
    status = 403
    slug = "regulator-only"
    title = "Only a regulator may read this"


@dataclass(frozen=True)
class Viewer:
    """Who asks: nobody in particular, or an authenticated participant with its roles."""

    participant_id: str | None = None
    roles: frozenset[str] = frozenset()

    @property
    def regulator(self) -> bool:
        return "regulator" in self.roles

    @property
    def operator(self) -> bool:
        return "operator" in self.roles

    def sees_everything(self) -> bool:
        return self.regulator

    def sees_legal_id(self, participant_id: str) -> bool:
        """The operator admits participants by legal id; a regulator reads all; each its own."""
        return self.regulator or self.operator or participant_id == self.participant_id


ANYONE = Viewer()


def replay_guard(request: Request[Any, Any, Any]) -> ReplayGuard:
    guard = request.app.state.get("replay_guard")
    if not isinstance(guard, ReplayGuard):
        window = int(runtime_from(request).settings.max_clock_skew.total_seconds())
        guard = ReplayGuard(window)
        request.app.state["replay_guard"] = guard
    return guard


def viewer(request: Request[Any, Any, Any], *, required: bool = False,
           body: bytes = b"") -> Viewer:
    """The caller: authenticated from its signed request, or ANYONE without one.

    A request that carries the header must carry a valid one (401 otherwise),
    even where anyone may read: a client that signs expects to be recognised.
    """
    header = request.headers.get(AUTH_HEADER)
    if header is None and not required:
        return ANYONE
    runtime = runtime_from(request)
    if header:
        note_signer(header.partition("key_id=")[2].partition(";")[0][:64] or "unparsed")
    query = request.scope.get("query_string", b"").decode("latin-1")
    target = request.scope["path"] + (f"?{query}" if query else "")
    participants = runtime.sequencer.state.participants
    participant_id = authenticate_request(
        header, request.method, target, body, participants, now=int(time.time()),
        max_skew_seconds=int(runtime.settings.max_clock_skew.total_seconds()),
        replay_guard=replay_guard(request),
    )
    return Viewer(participant_id, participants.by_id[participant_id].roles)


def participant(request: Request[Any, Any, Any]) -> Viewer:
    """A signed request is required (401 otherwise)."""
    return viewer(request, required=True)


def regulator(request: Request[Any, Any, Any]) -> Viewer:
    """A regulator's signed request is required (401, or 403 `regulator-only`)."""
    who = viewer(request, required=True)
    if not who.regulator:
        raise RegulatorOnly(f"{who.participant_id} is not a regulator")
    return who


def entry_visible(who: Viewer, kind: str, named: set[str]) -> bool:
    """May `who` read a log entry of contract `kind` naming these participant ids?"""
    return (kind.startswith(PUBLIC_ENTRY_PREFIX) or who.sees_everything()
            or (who.participant_id is not None and who.participant_id in named))


def public_participant(row: dict[str, Any], who: Viewer) -> dict[str, Any]:
    """A participant as `who` may see it: the legal id only where `sees_legal_id`."""
    if who.sees_legal_id(row["participant_id"]):
        return row
    return {k: v for k, v in row.items() if k != "legal_id"}
