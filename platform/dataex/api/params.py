"""Parameter types the handlers share, with the bounds they enforce written into OpenAPI.

A bound the handler checks but the schema does not state makes clients (and
fuzzers) send requests the schema calls valid and the server refuses; an
integer the schema does not bound reaches PostgreSQL's bigint and fails there.
So every integer here carries its range, and every closed set of words its
enum, in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from litestar.params import PathParameter, QueryParameter

BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint: the widest integer a seq or size can be
MAX_TEXT = 200  # longest identifier or search text a path or query takes


def one_of(description: str, values: Iterable[str], **extra: Any) -> QueryParameter:
    """A query word from a closed set: the handler refuses others with `schema-violation`."""
    allowed = sorted(values)
    return QueryParameter(description=f"{description}: one of {', '.join(allowed)}",
                          schema_extra={"enum": allowed}, **extra)


def text(description: str, **extra: Any) -> QueryParameter:
    return QueryParameter(description=description, max_length=MAX_TEXT, **extra)


Seq = Annotated[int, PathParameter(ge=1, le=BIGINT_MAX, description="a log entry's seq")]
TreeSize = Annotated[int, PathParameter(ge=1, le=BIGINT_MAX, description="a tree size")]
Ident = Annotated[str, PathParameter(min_length=1, max_length=MAX_TEXT)]
Offset = Annotated[int, QueryParameter(ge=0, le=BIGINT_MAX, description="rows to skip")]


def limit(maximum: int, description: str = "how many") -> QueryParameter:
    return QueryParameter(ge=1, le=maximum, description=description)


def from_seq(description: str = "first seq") -> QueryParameter:
    return QueryParameter(name="from", ge=1, le=BIGINT_MAX, description=description)


def size(description: str, minimum: int = 0) -> QueryParameter:
    return QueryParameter(ge=minimum, le=BIGINT_MAX, description=description)
