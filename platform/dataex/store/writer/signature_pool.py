"""Ed25519 verification on worker threads, many signatures per hand-off.

A signature check (~60 µs) is the largest single cost of a request, and
`cryptography` releases the GIL while it verifies, so on a worker thread it
runs beside the event loop instead of inside it. Handing each check to a thread
on its own would cost the loop nearly what it saves (a future, a wake-up, a
self-pipe write), so checks queue up while every thread is busy and go over
as one list when a thread comes free: like the sequencer's group commit.

The check is `core.signing.verify_canonical` itself, so a document gets
exactly the error it would get on the loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from dataex.core.documents.errors import DomainError
from dataex.core.documents.signing import verify_canonical

_Check = tuple[bytes, str, bytes]


def _verify_all(checks: list[_Check]) -> list[DomainError | None]:
    outcomes: list[DomainError | None] = []
    for canonical, signature, public_key in checks:
        try:
            verify_canonical(canonical, signature, public_key)
        except DomainError as error:
            outcomes.append(error)
        else:
            outcomes.append(None)
    return outcomes


class SignaturePool:
    """Verify signatures on `threads` worker threads; at most one list in flight per thread."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="dataex-verify")
        self._waiting: list[tuple[_Check, asyncio.Future[None]]] = []
        self._in_flight = 0

    async def verify(self, canonical_document: bytes, signature: str, public_key: bytes) -> None:
        """Raise what `verify_canonical` raises for this document, having run it on a thread."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(((canonical_document, signature, public_key), future))
        if self._in_flight < self.threads:
            self._dispatch()
        await future

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and self._in_flight < self.threads:
            share = -(-len(self._waiting) // (self.threads - self._in_flight))  # ceiling
            batch, self._waiting = self._waiting[:share], self._waiting[share:]
            self._in_flight += 1
            done = loop.run_in_executor(self._executor, _verify_all, [c for c, _ in batch])
            done.add_done_callback(lambda d, batch=batch: self._settle(batch, d))  # type: ignore[misc]

    def _settle(
        self,
        batch: list[tuple[_Check, asyncio.Future[None]]],
        done: asyncio.Future[list[DomainError | None]],
    ) -> None:
        self._in_flight -= 1
        error: BaseException | None = (
            RuntimeError("the signature pool is closed") if done.cancelled() else done.exception()
        )
        outcomes: list[BaseException | None] = (
            list(done.result()) if error is None else [error] * len(batch)
        )
        for (_check, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the request went away meanwhile
                continue
            if outcome is None:
                future.set_result(None)
            else:
                future.set_exception(outcome)
        if self._waiting:
            self._dispatch()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
