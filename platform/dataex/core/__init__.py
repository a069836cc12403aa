"""Pure, deterministic rules of dataex.

Nothing here may touch I/O, the clock, randomness, the web framework or the
database (tests/unit/test_core_purity.py enforces it), so the whole platform
can be replayed from its log.
"""
