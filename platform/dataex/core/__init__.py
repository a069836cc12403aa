"""Pure, deterministic rules of dataex, one room per domain.

documents/ (what a signed document is made of) is at the bottom; the
participant directory and the log (log/) stand on it, independent of each
other; registry/ over participants and log; market/ over the registry;
supervision/ over the market. contracts.py gathers every domain's contracts
for the door, envelope.py, which checks any document; state.py holds the
whole platform and dispatches each command to its domain.

Nothing here may touch I/O, the clock, randomness, the web framework or the
database (the import-linter contracts in pyproject.toml and
tests/core/test_core_purity.py enforce it), so the whole platform can be
replayed from its log.
"""
