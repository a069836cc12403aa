"""RFC 9162 section 2.1 Merkle tree: hashes, proofs, and a compact range to append to.

The audit log is one Merkle tree whose leaves are the entry hashes
(SHA-256(0x00 || canonical entry), see core/log/chain.py). Everything here is a pure
function of 32-byte hashes, so the sequencer, the API and the offline verifier
compute the same roots and proofs from the same leaves.

Proofs are built in two steps: first the leaf ranges [start, end) whose subtree
roots make up the proof (plain index arithmetic), then their hashes. Only the
second step needs the leaves, which keeps the door open to serving the same
ranges from stored subtree hashes later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from dataex.core.log.chain import LEAF_PREFIX

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "CompactRange",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

NODE_PREFIX = b"\x01"
HASH_SIZE = 32
# MTH({}) = SHA-256() (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _check_hash(value: bytes, what: str) -> None:
    if not _is_hash(value):
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d); the prefix keeps a leaf from passing for a node."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), the hash of an interior node."""
    _check_hash(left, "left child hash")
    _check_hash(right, "right child hash")
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over the leaf hashes: left subtree perfect, no odd-node duplication."""
    compact = CompactRange()
    compact.extend(leaf_hashes)
    return compact.root()


def _prefix(leaf_hashes: Sequence[bytes], size: int) -> Sequence[bytes]:
    if size > len(leaf_hashes):
        raise ValueError(f"tree size {size} exceeds the {len(leaf_hashes)} leaves given")
    return leaf_hashes[:size]


def _range_roots(leaf_hashes: Sequence[bytes], ranges: list[tuple[int, int]]) -> list[bytes]:
    return [root(leaf_hashes[start:end]) for start, end in ranges]


def _path_ranges(index: int, size: int, level: int = 0) -> list[tuple[int, int]]:
    """Leaf ranges of the siblings on the path from node (level, index) to the root of [0, size).

    Below the level where the paths to `index` and to the last leaf meet, a
    sibling on the right may be cut short by the tree size; above it, siblings
    are full left subtrees, one per set bit of what remains of the index.
    """
    ranges: list[tuple[int, int]] = []
    inner = (index ^ ((size - 1) >> level)).bit_length()
    for i in range(inner):
        width = 1 << (level + i)
        start = ((index >> i) ^ 1) * width
        ranges.append((start, min(start + width, size)))
    node, node_level = index >> inner, level + inner
    while node:
        if node & 1:
            width = 1 << node_level
            start = (node ^ 1) * width
            ranges.append((start, start + width))
        node >>= 1
        node_level += 1
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Ranges of PROOF(old_size, D[new_size]) for 0 < old_size < new_size.

    The proof is the old tree's rightmost perfect subtree (left out when the old
    tree is itself perfect: the verifier already holds its root), then that
    subtree's path to the new root.
    """
    level = (old_size & -old_size).bit_length() - 1
    index = (old_size >> level) - 1
    ranges = [] if index == 0 else [(index << level, (index + 1) << level)]
    return ranges + _path_ranges(index, new_size, level)


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 section 2.1.3.1, bottom-up, over the first `size` leaves."""
    leaves = _prefix(leaf_hashes, size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _range_roots(leaves, _path_ranges(index, size))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 section 2.1.4.1; empty if old_size is 0 or equal."""
    leaves = _prefix(leaf_hashes, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is not between 0 and new size {new_size}")
    if old_size in (0, new_size):
        return []
    return _range_roots(leaves, _consistency_ranges(old_size, new_size))


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff `proof` shows leaf `index` of the tree of `size` with `root` is `leaf_hash`.

    The algorithm of RFC 9162 section 2.1.3.2, which also rejects proofs that are
    too long or too short for the index and size.
    """
    if not (0 <= index < size and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff `proof` shows the tree (old_size, old_root) is a prefix of (new_size, new_root).

    RFC 9162 section 2.1.4.2 for 0 < old_size < new_size. Equal sizes need equal
    roots and an empty proof; the empty tree (whose root must be EMPTY_ROOT) is a
    prefix of every tree, with an empty proof, as c2sp.org/tlog-witness expects.
    """
    if not (0 <= old_size <= new_size and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    if old_size == 0 and old_root != EMPTY_ROOT:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class CompactRange:
    """The roots of the perfect subtrees on the right border of the tree [0, size).

    That is one hash per set bit of `size`, largest (leftmost) first: all the
    sequencer needs to append a leaf in O(log n) and to give the current root,
    without holding the leaves. It can start from stored subtree hashes; see
    `subtree_ranges` for which ones.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        subtree_hashes = list(hashes)
        if size < 0:
            raise ValueError("a tree size cannot be negative")
        if len(subtree_hashes) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} border subtrees, "
                f"got {len(subtree_hashes)} hashes"
            )
        for h in subtree_hashes:
            _check_hash(h, "subtree hash")
        self._size = size
        self._hashes = subtree_hashes

    @staticmethod
    def subtree_ranges(size: int) -> list[tuple[int, int]]:
        """Leaf ranges [start, end) of the subtrees whose roots a CompactRange of `size` holds."""
        if size < 0:
            raise ValueError("a tree size cannot be negative")
        ranges: list[tuple[int, int]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                ranges.append((start, start + (1 << level)))
                start += 1 << level
        return ranges

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf; return the perfect subtrees it completes as (start, end, hash).

        The list runs from the leaf itself up to the largest subtree it closes,
        so a caller can store subtree hashes as they become final.
        """
        _check_hash(leaf_hash, "leaf hash")
        start, end = self._size, self._size + 1
        current = leaf_hash
        completed = [(start, end, current)]
        remaining = self._size
        while remaining & 1:
            left = self._hashes.pop()
            start -= end - start
            current = node_hash(left, current)
            completed.append((start, end, current))
            remaining >>= 1
        self._hashes.append(current)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of the whole range: fold the border subtrees from the right."""
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            result = node_hash(left, result)
        return result

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
