"""RFC 8785 (JCS) canonical JSON: the bytes that are signed and hashed.

Floats are refused outright: every number on a dataex document is an integer
(money in minor units, quantities in whole units), and refusing them avoids the
one part of JCS where two implementations are most likely to disagree.
"""

from __future__ import annotations

from typing import Any

import rfc8785

# The largest integer every JSON implementation (IEEE 754 double) reads exactly.
MAX_SAFE_INTEGER = 2**53 - 1


class NonCanonicalValue(ValueError):
    """A value that dataex documents may not contain (a float, an unsafe integer)."""


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NonCanonicalValue(f"{path}: integer outside ±(2^53-1)")
        return
    if isinstance(value, float):
        raise NonCanonicalValue(f"{path}: floats are not allowed, use integers")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NonCanonicalValue(f"{path}: object keys must be strings")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise NonCanonicalValue(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value without floats."""
    _check(value, "$")
    return rfc8785.dumps(value)
