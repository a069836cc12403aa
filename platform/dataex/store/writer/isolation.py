"""Whose fault is a failed batch: the database's (answer 503 to all) or one command's.

The sequencer commits many commands in one transaction. When that fails, the
commands it holds must not all pay for one bad document: `is_infrastructure_failure`
tells a failure of the database itself (connection, lock, disk, shutdown) from
one a command caused (a value PostgreSQL refuses, a bug applying it), which the
sequencer isolates by committing the batch again without that command; the
refusal that command alone gets is `refusal_for`.
"""

from __future__ import annotations

from dataex.core.documents.errors import DomainError

# SQLSTATE classes a command's own content can cause: data exception (22:
# U+0000, bad encoding, out of range), integrity constraint violation (23),
# program limit exceeded (54: e.g. an index row too large).
CONTENT_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})


class InfrastructureFailure(RuntimeError):
    """Raised by the store for a failure that is never a command's (e.g. the write lock lost)."""


class UnstorableDocument(DomainError):
    status = 422
    slug = "unstorable-document"
    title = "The document holds a value the database cannot store; nothing was applied"


class CommandFailed(DomainError):
    status = 500
    slug = "command-failed"
    title = "Applying the command failed inside the service; nothing was applied"


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error however wrapped (SQLAlchemy, asyncpg), else None."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            return state
        orig = getattr(current, "orig", None)
        pending.extend([orig if isinstance(orig, BaseException) else None,
                        current.__cause__, current.__context__])
    return None


def _from_database_layer(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("sqlalchemy", "asyncpg"))


def is_infrastructure_failure(exc: BaseException) -> bool:
    """True when the database, not a command, failed: every command of the batch gets 503."""
    if isinstance(exc, InfrastructureFailure):
        return True
    state = sqlstate_of(exc)
    if state is not None:
        return state[:2] not in CONTENT_SQLSTATE_CLASSES
    # No SQLSTATE: a driver or network error is the database's; anything else
    # (KeyError, ValueError, UnicodeEncodeError ... while applying or writing)
    # came from one command's data.
    return isinstance(exc, OSError | TimeoutError) or _from_database_layer(exc)


def refusal_for(cause: BaseException) -> DomainError:
    """What the one command that failed its batch is answered."""
    state = sqlstate_of(cause)
    if state is not None:
        message = str(getattr(cause, "orig", None) or cause).splitlines()[0][:300]
        return UnstorableDocument(f"PostgreSQL refused it ({state}): {message}")
    return CommandFailed(f"{type(cause).__name__} while applying it; the operators are told")
