"""canonical_json is RFC 8785: checked against the rfc8785 reference implementation."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from dataex.core.documents.canonical import MAX_SAFE_INTEGER, NonCanonicalValue, canonical_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values)
def test_agrees_with_the_reference_implementation(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_rfc8785_sorting_example_uses_utf16_order() -> None:
    """RFC 8785 section 3.2.3: keys sort by UTF-16 code units, so U+1F600 comes before U+FB33."""
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7}
    canonical = canonical_json(value).decode()
    order = [canonical.index(f":{n}") for n in (2, 4, 6, 7, 1, 5, 3)]
    assert order == sorted(order)
    assert canonical_json(value) == rfc8785.dumps(value)
    # Code-point order would put U+FB33 first: the UTF-16 path is not dead code.
    import msgspec

    assert msgspec.json.encode(value, order="sorted") != canonical_json(value)


@pytest.mark.parametrize(
    "bad", [1.5, {"a": 0.0}, [2**53], {"a": float("nan")}, {1: "x"}, b"bytes", {"s": {1, 2}}]
)
def test_non_json_or_float_values_are_refused(bad: object) -> None:
    with pytest.raises(NonCanonicalValue):
        canonical_json(bad)


any_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats() | st.binary(),
    lambda children: st.lists(children, max_size=5)
    | st.tuples(children)
    | st.dictionaries(st.text(max_size=6) | st.integers(), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400)
@given(any_values)
def test_fast_path_accepts_only_what_the_full_scan_passes_as_plain(value: object) -> None:
    """_plain (no paths, no recursion) may only say yes where _scan neither refuses nor slows."""
    from dataex.core.documents.canonical import _plain, _scan

    if _plain(value):
        assert _scan(value, "$") is False


@settings(max_examples=400)
@given(
    st.dictionaries(st.text(max_size=6), any_values, max_size=5),
    st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=3),
)
def test_splicing_known_members_gives_the_same_bytes(
    rest: dict[str, object], known: dict[str, object]
) -> None:
    """canonical_json_spliced is canonical_json, or None where only canonical_json may answer."""
    from dataex.core.documents.canonical import canonical_json_spliced

    value = {**rest, **known}
    spliced = canonical_json_spliced(value, {k: canonical_json(v) for k, v in known.items()})
    try:
        expected = canonical_json(value)
    except NonCanonicalValue:
        assert spliced is None
        return
    assert spliced is None or spliced == expected
    if all(k.isascii() for k in value) and spliced is None:
        from dataex.core.documents.canonical import _plain

        assert not _plain({k: v for k, v in rest.items() if k not in known})


def test_splicing_refuses_what_it_cannot_vouch_for() -> None:
    from dataex.core.documents.canonical import canonical_json_spliced

    assert canonical_json_spliced({"a": 1}, {"b": b"2"}) is None  # known member absent
    assert canonical_json_spliced({"a": 1.5, "b": 2}, {"b": b"2"}) is None  # a float
    assert canonical_json_spliced(["b"], {"b": b"2"}) is None  # not an object
    assert canonical_json_spliced({"a": [1], "b": {"z": 1, "y": 2}}, {"b": b'{"y":2,"z":1}'}) == (
        b'{"a":[1],"b":{"y":2,"z":1}}'
    )
