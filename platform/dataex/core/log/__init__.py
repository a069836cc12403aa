"""The audit log as data: entries and their hash chain (chain.py), the RFC 9162
Merkle tree and proofs, C2SP hash tiles, signed checkpoints and witness
cosignatures, tlog-proof files. Knows nothing of the registry or the market:
what it proves is bytes.
"""
