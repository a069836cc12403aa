"""RFC 8785 (JCS) canonical JSON: the bytes that are signed and hashed.

Floats are refused outright: every number on a dataex document is an integer
(money in minor units, quantities in whole units), and refusing them avoids the
one part of JCS where two implementations are most likely to disagree.

Speed: JCS without floats is "sorted keys, no whitespace, minimal escaping",
which msgspec writes byte for byte like JCS, with one exception: JCS sorts
keys by UTF-16 code units, msgspec by code points, and the two orders differ
only when a key holds a character at or above U+D800. Such documents go
through the `rfc8785` reference implementation; all others through msgspec,
about ten times faster. tests/core/documents/test_canonical.py checks the two agree.
"""

from __future__ import annotations

from typing import Any

import msgspec
import rfc8785

# The largest integer every JSON implementation (IEEE 754 double) reads exactly.
MAX_SAFE_INTEGER = 2**53 - 1
_UTF16_ORDER_DIFFERS = "\ud800"  # keys below this sort the same in UTF-16 and code points

_encoder = msgspec.json.Encoder(order="sorted")


class NonCanonicalValue(ValueError):
    """A value that dataex documents may not contain (a float, an unsafe integer)."""


def _plain(value: Any) -> bool:
    """True if `value` holds only what msgspec writes exactly as JCS does.

    The fast path of `_scan`: no recursion, no paths built. Anything else (a
    refused value, a key at or above U+D800) answers False, and `_scan` walks
    again to name the fault or to choose the reference encoder.
    """
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or (not key.isascii() and max(key) >= _UTF16_ORDER_DIFFERS):
                    return False
                child_kind = type(child)
                if child_kind is str or child_kind is bool or child is None:
                    continue
                if child_kind is int:
                    if -MAX_SAFE_INTEGER <= child <= MAX_SAFE_INTEGER:
                        continue
                    return False
                push(child)
        elif kind is list or kind is tuple:
            for child in item:
                child_kind = type(child)
                if child_kind is str or child_kind is bool or child is None:
                    continue
                if child_kind is int:
                    if -MAX_SAFE_INTEGER <= child <= MAX_SAFE_INTEGER:
                        continue
                    return False
                push(child)
        elif kind is str or kind is bool or item is None:
            continue
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        else:
            return False
    return True


def _scan(value: Any, path: str) -> bool:
    """Refuse what JCS-without-floats cannot hold; True if a key needs UTF-16 ordering.

    Leaves (strings, booleans, null, safe integers: nearly every node) are
    checked inline in their container's loop, and a child's path is only
    spelled out when it is a container or an error: this runs on every logged
    entry the verifier reads, and recursion per leaf cost most of its time.
    """
    kind = type(value)
    if kind is dict:
        slow = False
        for key, item in value.items():
            if type(key) is not str:
                raise NonCanonicalValue(f"{path}: object keys must be strings")
            if not key.isascii() and max(key) >= _UTF16_ORDER_DIFFERS:
                slow = True
            item_kind = type(item)
            if item_kind is str or item_kind is bool or item is None or (
                item_kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER
            ):
                continue
            slow = _scan(item, f"{path}.{key}") or slow
        return slow
    if kind is list or kind is tuple:
        slow = False
        for index, item in enumerate(value):
            item_kind = type(item)
            if item_kind is str or item_kind is bool or item is None or (
                item_kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER
            ):
                continue
            slow = _scan(item, f"{path}[{index}]") or slow
        return slow
    if kind is str or kind is bool or value is None:
        return False
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return False
        raise NonCanonicalValue(f"{path}: integer outside ±(2^53-1)")
    if kind is float:
        raise NonCanonicalValue(f"{path}: floats are not allowed, use integers")
    raise NonCanonicalValue(f"{path}: {kind.__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value without floats."""
    if not _plain(value) and _scan(value, "$"):
        return rfc8785.dumps(value)
    return _encoder.encode(value)


def canonical_json_spliced(value: dict[str, Any], known: dict[str, bytes]) -> bytes | None:
    """`canonical_json(value)`, where ``known[name]`` already holds `canonical_json(value[name])`.

    Those members are copied in as they are, not walked and encoded again: a
    log entry holds the envelope whose document the front door has already
    canonicalised. The result is byte for byte `canonical_json(value)` (the
    caller vouches for the known bytes). None when `value` is not an object or
    needs the full walk (a refused value, a key ordered differently by UTF-16):
    then call `canonical_json`, which names the fault or takes the reference
    encoder.
    """
    if type(value) is not dict:
        return None
    rest = {name: member for name, member in value.items() if name not in known}
    if len(rest) + len(known) != len(value) or not _plain(rest):
        return None  # a known name missing from value, or the rest needs the full walk
    for name, encoded in known.items():
        if not name.isascii() and max(name) >= _UTF16_ORDER_DIFFERS:
            return None
        rest[name] = msgspec.Raw(encoded)
    return _encoder.encode(rest)
