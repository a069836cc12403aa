"""Check document signatures on every core: chunks of jobs go to a process pool.

The main process replays the log (which is sequential: each entry's key
depends on the entries before it) and hands each entry's signature job here;
workers verify chunks in parallel and answer with the first bad seq of each
chunk. With workers=0 everything runs inline (small logs, tests, debugging).
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context

from dataex.core.documents.errors import DomainError
from dataex.core.documents.signing import verify_canonical
from dataex.verify.replay import SignatureJob

CHUNK = 2000
Failure = tuple[int, str]  # seq, reason


def check_chunk(jobs: list[SignatureJob]) -> Failure | None:
    """The first job of the chunk whose signature fails, with the reason."""
    for seq, document, signature, public_key in jobs:
        try:
            verify_canonical(document, signature, public_key)
        except DomainError as exc:
            return seq, f"document signature: {exc.detail}"
    return None


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class SignatureChecker:
    """Collect jobs in chunks; verify them in a pool; report the lowest failing seq."""

    def __init__(self, workers: int | None = None, *, chunk: int = CHUNK) -> None:
        self.workers = default_workers() if workers is None else workers
        self.chunk = chunk
        self._batch: list[SignatureJob] = []
        self._pending: deque[Future[Failure | None]] = deque()
        self._failures: list[Failure] = []
        self._pool = (
            ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
            if self.workers > 0 else None
        )
        self.checked = 0

    def __enter__(self) -> SignatureChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def add(self, job: SignatureJob) -> None:
        self._batch.append(job)
        if len(self._batch) >= self.chunk:
            self._submit()

    @property
    def first_failure(self) -> Failure | None:
        """The lowest failing seq among the chunks finished so far (more may be pending)."""
        self._collect(block=False)
        return min(self._failures) if self._failures else None

    def finish(self) -> Failure | None:
        """Wait for every chunk; the lowest failing seq of all, or None."""
        if self._batch:
            self._submit()
        self._collect(block=True)
        return min(self._failures) if self._failures else None

    def _submit(self) -> None:
        batch, self._batch = self._batch, []
        self.checked += len(batch)
        if self._pool is None:
            failure = check_chunk(batch)
            if failure is not None:
                self._failures.append(failure)
            return
        self._pending.append(self._pool.submit(check_chunk, batch))
        # Bound the memory in flight: a few chunks per worker.
        while len(self._pending) > 4 * self.workers:
            self._take(self._pending.popleft())

    def _collect(self, *, block: bool) -> None:
        while self._pending and (block or self._pending[0].done()):
            self._take(self._pending.popleft())

    def _take(self, future: Future[Failure | None]) -> None:
        failure = future.result()
        if failure is not None:
            self._failures.append(failure)
