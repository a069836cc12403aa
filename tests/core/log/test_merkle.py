"""RFC 9162 Merkle tree: published vectors, a recursive reference, and property tests.

Vectors: github.com/transparency-dev/merkle (the Go successor of the
certificate-transparency-go merkle package), commit 417fb0c314750d94e53942e9f92e79b6d35915db:
leaves, node hashes, roots and compact ranges from testonly/constants.go; inclusion
and consistency proofs from cmd/proofgen/main.go (which numbers leaves from 1; the
indices below are 0-based, as in its generated testdata/*/happy-path.json), and the
corruptions of those proofs that proofgen derives.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataex.core.log.chain import entry_hash
from dataex.core.log.merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    NODE_PREFIX,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- Published vectors (transparency-dev/merkle, see the module docstring) ---

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# NodeHashes(): [level][index] for the complete subtrees of the 8-leaf tree.
NODE_HASHES = [
    [
        bytes.fromhex(h)
        for h in (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        )
    ],
    [bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# RootHashes(): the root of the first n leaves, n = 0..8.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

_NH = NODE_HASHES
# CompactTrees(): the compact range hashes of the first n leaves, n = 0..8.
COMPACT_TREES: list[list[bytes]] = [
    [],
    [_NH[0][0]],
    [_NH[1][0]],
    [_NH[1][0], _NH[0][2]],
    [_NH[2][0]],
    [_NH[2][0], _NH[0][4]],
    [_NH[2][0], _NH[1][2]],
    [_NH[2][0], _NH[1][2], _NH[0][6]],
    [_NH[3][0]],
]

# (leaf index, tree size, proof) from inclusionProofs in cmd/proofgen/main.go.
INCLUSION_VECTORS: list[tuple[int, int, list[bytes]]] = [
    (0, 1, []),
    (0, 8, [_NH[0][1], _NH[1][1], _NH[2][1]]),
    (5, 8, [_NH[0][4], _NH[1][3], _NH[2][0]]),
    (2, 3, [_NH[1][0]]),
    (1, 5, [_NH[0][0], _NH[1][1], _NH[0][4]]),
]

# (old size, new size, proof) from consistencyProofs in cmd/proofgen/main.go.
CONSISTENCY_VECTORS: list[tuple[int, int, list[bytes]]] = [
    (1, 1, []),
    (1, 8, [_NH[0][1], _NH[1][1], _NH[2][1]]),
    (6, 8, [_NH[1][2], _NH[1][3], _NH[2][0]]),
    (2, 5, [_NH[1][1], _NH[0][4]]),
    (6, 7, [_NH[1][2], _NH[0][6], _NH[2][0]]),
]

# sha256SomeHash in cmd/proofgen/main.go: a 32-byte value that is no node of the tree.
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

LEAF_HASHES = [leaf_hash(d) for d in LEAF_INPUTS]


# --- A recursive reference, written straight from RFC 9162 section 2.1 ---


def ref_mth(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes: split at the largest power of two below n."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 section 2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return ref_subproof(m, leaves, True) if 0 < m < len(leaves) else []


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


# --- Hashing ---


def test_hash_prefixes_are_rfc9162() -> None:
    assert LEAF_PREFIX == b"\x00"
    assert NODE_PREFIX == b"\x01"
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) != node_hash(right, left)
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


def test_leaf_hash_is_the_audit_entry_hash() -> None:
    """The chain and the tree hash the same thing (DESIGN.md, Audit log)."""
    canonical = b'{"seq":1}'
    assert leaf_hash(canonical).hex() == entry_hash(canonical)


def test_node_hash_refuses_wrong_lengths() -> None:
    with pytest.raises(ValueError):
        node_hash(b"short", leaf_hash(b""))
    with pytest.raises(ValueError):
        node_hash(leaf_hash(b""), b"\x00" * 33)


def test_published_leaf_hashes() -> None:
    assert NODE_HASHES[0] == LEAF_HASHES


def test_vector_tables_spell_out_the_published_hex() -> None:
    """Guards against a slip in the _NH indices used to transcribe the proofs."""
    assert [p.hex()[:8] for p in INCLUSION_VECTORS[2][2]] == ["bc1a0643", "ca854ea1", "d37ee418"]
    assert [p.hex()[:8] for p in INCLUSION_VECTORS[4][2]] == ["6e340b9c", "5f083f0a", "bc1a0643"]
    assert [p.hex()[:8] for p in CONSISTENCY_VECTORS[2][2]] == ["0ebc5d34", "ca854ea1", "d37ee418"]
    assert [p.hex()[:8] for p in CONSISTENCY_VECTORS[4][2]] == ["0ebc5d34", "b08693ec", "d37ee418"]


@pytest.mark.parametrize("size", range(9))
def test_published_roots(size: int) -> None:
    assert root(LEAF_HASHES[:size]) == ROOTS[size]


def test_published_subtree_hashes() -> None:
    for level, row in enumerate(NODE_HASHES):
        width = 1 << level
        for index, expected in enumerate(row):
            assert root(LEAF_HASHES[index * width : (index + 1) * width]) == expected


def test_root_has_no_odd_node_duplication() -> None:
    a, b, c = LEAF_HASHES[:3]
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert root([a, b, c]) != node_hash(node_hash(a, b), node_hash(c, c))


# --- Published proofs and their corruptions ---


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_published_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(LEAF_HASHES, index, size) == proof
    assert verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])


def _corrupt_inclusion(
    index: int, size: int, leaf: bytes, proof: list[bytes], tree_root: bytes
) -> list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]]:
    """The probes cmd/proofgen derives from a valid inclusion proof; all must fail."""
    probes = [
        ("index - 1", (leaf, index - 1, size, proof, tree_root)),
        ("index + 1", (leaf, index + 1, size, proof, tree_root)),
        ("index ^ 2", (leaf, index ^ 2, size, proof, tree_root)),
        ("size * 2", (leaf, index, size * 2, proof, tree_root)),
        ("size // 2", (leaf, index, size // 2, proof, tree_root)),
        ("wrong leaf", (b"WrongLeaf", index, size, proof, tree_root)),
        ("other leaf", (SOME_HASH, index, size, proof, tree_root)),
        ("empty root", (leaf, index, size, proof, EMPTY_ROOT)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("trailing garbage", (leaf, index, size, [*proof, b""], tree_root)),
        ("trailing root", (leaf, index, size, [*proof, tree_root], tree_root)),
        ("preceding garbage", (leaf, index, size, [b"", *proof], tree_root)),
        ("preceding root", (leaf, index, size, [tree_root, *proof], tree_root)),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = _flip(bad[i])
        probes.append((f"modified proof[{i}]", (leaf, index, size, bad, tree_root)))
    if proof:
        probes.append(("removed component", (leaf, index, size, proof[:-1], tree_root)))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", (leaf, index, size, inserted, tree_root)))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_corrupted_published_inclusion_proofs_fail(
    index: int, size: int, proof: list[bytes]
) -> None:
    probes = _corrupt_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size])
    for desc, args in probes:
        assert not verify_inclusion(*args), desc


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_published_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(LEAF_HASHES, old, new) == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def _corrupt_consistency(
    old: int, new: int, proof: list[bytes], root1: bytes, root2: bytes
) -> list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]]:
    """The probes cmd/proofgen derives from a valid, non-empty consistency proof."""
    probes = [
        ("old - 1", (old - 1, new, root1, root2, proof)),
        ("old + 1", (old + 1, new, root1, root2, proof)),
        ("old ^ 2", (old ^ 2, new, root1, root2, proof)),
        ("new * 2", (old, new * 2, root1, root2, proof)),
        ("new // 2", (old, new // 2, root1, root2, proof)),
        ("wrong root1", (old, new, b"WrongRoot", root2, proof)),
        ("wrong root2", (old, new, root1, b"WrongRoot", proof)),
        ("other root1", (old, new, SOME_HASH, root2, proof)),
        ("other root2", (old, new, root1, SOME_HASH, proof)),
        ("swapped roots", (old, new, root2, root1, proof)),
        ("empty proof", (old, new, root1, root2, [])),
        ("trailing garbage", (old, new, root1, root2, [*proof, b""])),
        ("trailing root1", (old, new, root1, root2, [*proof, root1])),
        ("trailing root2", (old, new, root1, root2, [*proof, root2])),
        ("preceding garbage", (old, new, root1, root2, [b"", *proof])),
        ("preceding root1", (old, new, root1, root2, [root1, *proof])),
        ("preceding root2", (old, new, root1, root2, [root2, *proof])),
        ("preceding proof[0]", (old, new, root1, root2, [proof[0], *proof])),
        ("truncated proof", (old, new, root1, root2, proof[:-1])),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = _flip(bad[i], 4)
        probes.append((f"modified proof[{i}]", (old, new, root1, root2, bad)))
    return probes


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY_VECTORS if v[2]])
def test_corrupted_published_consistency_proofs_fail(
    old: int, new: int, proof: list[bytes]
) -> None:
    for desc, args in _corrupt_consistency(old, new, proof, ROOTS[old], ROOTS[new]):
        assert not verify_consistency(*args), desc


def test_single_entry_inclusion() -> None:
    """singleEntryInclusionProbes in cmd/proofgen: the root of one leaf is that leaf's hash."""
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)
    assert not verify_inclusion(b"", 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_static_inclusion_probes_fail(index: int, size: int) -> None:
    """staticInclusionProbes in cmd/proofgen: random leaf or empty root with no proof."""
    assert not verify_inclusion(SOME_HASH, index, size, [], b"")
    assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
    assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_static_consistency_probes() -> None:
    """staticConsistencyProbes in cmd/proofgen, where our semantics agree with it."""
    h1, h2 = leaf_hash(b"1"), leaf_hash(b"2")
    assert verify_consistency(1, 1, h2, h2, [])
    assert not verify_consistency(0, 0, h1, h2, [])
    assert not verify_consistency(1, 1, h1, h2, [])
    assert not verify_consistency(0, 0, h1, h1, [])  # size 0 has only one root
    assert not verify_consistency(0, 1, h1, h2, [])
    assert not verify_consistency(1, 0, h1, h2, [])
    assert not verify_consistency(2, 1, h1, h2, [])
    assert not verify_consistency(1, 2, h1, h2, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, h2, [])
    assert not verify_consistency(1, 1, EMPTY_ROOT, h2, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])


def test_empty_tree_is_a_prefix_of_every_tree() -> None:
    """Deliberately unlike transparency-dev/merkle, which refuses old size 0 outright:
    c2sp.org/tlog-witness accepts old size 0 with an empty proof."""
    assert consistency_proof(LEAF_HASHES, 0, 5) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 5, SOME_HASH, ROOTS[5], [])


# --- Exhaustive agreement with the reference for every size up to 64 ---

MAX_EXHAUSTIVE = 64


def test_roots_and_compact_ranges_match_reference_for_every_size() -> None:
    leaves = _leaves(MAX_EXHAUSTIVE)
    compact = CompactRange()
    for n in range(MAX_EXHAUSTIVE + 1):
        expected = ref_mth(leaves[:n])
        assert root(leaves[:n]) == expected, n
        assert compact.size == n
        assert compact.root() == expected, n
        if n < MAX_EXHAUSTIVE:
            compact.append(leaves[n])


def test_inclusion_proofs_match_reference_and_verify_for_every_index() -> None:
    leaves = _leaves(MAX_EXHAUSTIVE)
    for n in range(1, MAX_EXHAUSTIVE + 1):
        tree_root = ref_mth(leaves[:n])
        for i in range(n):
            proof = inclusion_proof(leaves, i, n)
            assert proof == ref_path(i, leaves[:n]), (i, n)
            assert verify_inclusion(leaves[i], i, n, proof, tree_root), (i, n)
            assert not verify_inclusion(leaves[i], i, n, proof, _flip(tree_root))
            assert not verify_inclusion(_flip(leaves[i]), i, n, proof, tree_root)
            for other in (i - 1, i + 1):
                if 0 <= other < n and leaves[other] != leaves[i]:
                    assert not verify_inclusion(leaves[i], other, n, proof, tree_root)
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = _flip(bad[k])
                assert not verify_inclusion(leaves[i], i, n, bad, tree_root), (i, n, k)
            assert not verify_inclusion(leaves[i], i, n, [*proof, SOME_HASH], tree_root)
            if proof:
                assert not verify_inclusion(leaves[i], i, n, proof[:-1], tree_root)


def test_consistency_proofs_match_reference_and_verify_for_every_pair() -> None:
    leaves = _leaves(MAX_EXHAUSTIVE)
    roots = [ref_mth(leaves[:n]) for n in range(MAX_EXHAUSTIVE + 1)]
    for new in range(MAX_EXHAUSTIVE + 1):
        for old in range(new + 1):
            proof = consistency_proof(leaves, old, new)
            assert proof == ref_proof(old, leaves[:new]), (old, new)
            assert verify_consistency(old, new, roots[old], roots[new], proof), (old, new)
            if old == 0:
                # The empty tree is a prefix of any tree: only its own root matters.
                assert not verify_consistency(old, new, _flip(roots[old]), roots[new], proof)
                continue
            if old == new:
                assert not verify_consistency(old, new, roots[old], _flip(roots[new]), proof)
                continue
            assert not verify_consistency(old, new, roots[old], _flip(roots[new]), proof)
            assert not verify_consistency(old, new, _flip(roots[old]), roots[new], proof)
            for k in range(len(proof)):
                bad = list(proof)
                bad[k] = _flip(bad[k])
                assert not verify_consistency(old, new, roots[old], roots[new], bad), (old, new)
            assert not verify_consistency(old, new, roots[old], roots[new], [*proof, SOME_HASH])
            if proof:
                assert not verify_consistency(old, new, roots[old], roots[new], proof[:-1])


# --- Properties over arbitrary leaves and larger trees ---

leaf_lists = st.lists(st.binary(max_size=16), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(data=leaf_lists, pick=st.integers(min_value=0))
def test_inclusion_property(data: list[bytes], pick: int) -> None:
    leaves = [leaf_hash(d) for d in data]
    n = len(leaves)
    i = pick % n
    tree_root = ref_mth(leaves)
    proof = inclusion_proof(leaves, i, n)
    assert proof == ref_path(i, leaves)
    assert verify_inclusion(leaves[i], i, n, proof, tree_root)
    assert not verify_inclusion(leaf_hash(data[i] + b"x"), i, n, proof, tree_root)


@settings(max_examples=150, deadline=None)
@given(data=leaf_lists, pick_old=st.integers(min_value=0), pick_new=st.integers(min_value=0))
def test_consistency_property(data: list[bytes], pick_old: int, pick_new: int) -> None:
    leaves = [leaf_hash(d) for d in data]
    new = pick_new % (len(leaves) + 1)
    old = pick_old % (new + 1)
    old_root, new_root = ref_mth(leaves[:old]), ref_mth(leaves[:new])
    proof = consistency_proof(leaves, old, new)
    assert proof == ref_proof(old, leaves[:new])
    assert verify_consistency(old, new, old_root, new_root, proof)
    if 0 < old < new:
        forked = [*leaves[: new - 1], leaf_hash(data[new - 1] + b"fork")]
        assert not verify_consistency(old, new, old_root, ref_mth(forked), proof)


@settings(max_examples=100, deadline=None)
@given(data=leaf_lists, pick=st.integers(min_value=0), byte=st.integers(0, 31))
def test_tampered_inclusion_proof_fails(data: list[bytes], pick: int, byte: int) -> None:
    leaves = [leaf_hash(d) for d in data]
    n = len(leaves)
    i = pick % n
    proof = inclusion_proof(leaves, i, n)
    if not proof:
        return
    k = pick % len(proof)
    bad = list(proof)
    bad[k] = bad[k][:byte] + bytes([bad[k][byte] ^ 0x01]) + bad[k][byte + 1 :]
    assert not verify_inclusion(leaves[i], i, n, bad, root(leaves))


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(st.binary(max_size=8), max_size=300),
    split=st.integers(min_value=0),
)
def test_compact_range_restored_from_stored_subtrees(data: list[bytes], split: int) -> None:
    """A sequencer restarting from stored subtree hashes continues the same tree."""
    leaves = [leaf_hash(d) for d in data]
    size = split % (len(leaves) + 1)
    stored = [root(leaves[s:e]) for s, e in CompactRange.subtree_ranges(size)]
    restored = CompactRange(size, stored)
    live = CompactRange()
    live.extend(leaves[:size])
    assert restored.hashes == live.hashes
    restored.extend(leaves[size:])
    assert restored.root() == ref_mth(leaves)
    assert restored.size == len(leaves)


# --- CompactRange ---


@pytest.mark.parametrize("size", range(9))
def test_compact_range_matches_published_compact_trees(size: int) -> None:
    compact = CompactRange()
    compact.extend(LEAF_HASHES[:size])
    assert list(compact.hashes) == COMPACT_TREES[size]
    assert compact.root() == ROOTS[size]
    assert CompactRange(size, COMPACT_TREES[size]).root() == ROOTS[size]


def test_subtree_ranges() -> None:
    assert CompactRange.subtree_ranges(0) == []
    assert CompactRange.subtree_ranges(1) == [(0, 1)]
    assert CompactRange.subtree_ranges(7) == [(0, 4), (4, 6), (6, 7)]
    assert CompactRange.subtree_ranges(8) == [(0, 8)]
    assert CompactRange.subtree_ranges(13) == [(0, 8), (8, 12), (12, 13)]


def test_append_reports_the_subtrees_it_completes() -> None:
    leaves = _leaves(64)
    compact = CompactRange()
    seen: dict[tuple[int, int], bytes] = {}
    for i, h in enumerate(leaves):
        completed = compact.append(h)
        assert completed[0] == (i, i + 1, h)
        # A leaf closes one subtree per trailing one bit of its index.
        trailing_ones = (~i & (i + 1)).bit_length() - 1
        assert len(completed) == 1 + trailing_ones
        for start, end, subtree_hash in completed:
            assert end == i + 1
            assert subtree_hash == ref_mth(leaves[start:end])
            seen[(start, end)] = subtree_hash
    # Every perfect subtree of a 64-leaf tree is reported exactly once.
    assert len(seen) == 2 * 64 - 1


def test_compact_range_copy_is_independent() -> None:
    compact = CompactRange()
    compact.extend(LEAF_HASHES[:5])
    snapshot = compact.copy()
    compact.append(LEAF_HASHES[5])
    assert snapshot.size == 5
    assert snapshot.root() == ROOTS[5]
    assert compact.root() == ROOTS[6]


def test_compact_range_refuses_bad_state() -> None:
    with pytest.raises(ValueError):
        CompactRange(3, [SOME_HASH])  # size 3 needs two subtree hashes
    with pytest.raises(ValueError):
        CompactRange(1, [b"short"])
    with pytest.raises(ValueError):
        CompactRange(-1)
    with pytest.raises(ValueError):
        CompactRange().append(b"short")


# --- Argument checks of the proof builders ---


def test_proof_builders_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, 8, 8)
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, -1, 8)
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, 0, 0)
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, 0, 9)  # more leaves than given
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, 5, 4)
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, 2, 9)
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, -1, 4)


def test_proofs_over_a_prefix_ignore_later_leaves() -> None:
    """The sequencer may hold more leaves than the tree size it is asked about."""
    assert inclusion_proof(LEAF_HASHES, 1, 5) == inclusion_proof(LEAF_HASHES[:5], 1, 5)
    assert consistency_proof(LEAF_HASHES, 2, 5) == consistency_proof(LEAF_HASHES[:5], 2, 5)
