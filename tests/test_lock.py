"""requirements.lock was made from the pyproject.toml beside it (`python3 dev.py lock`)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_lock_was_refreshed_after_the_last_change_to_pyproject() -> None:
    recorded = re.search(r"^# from pyproject\.toml with sha256 ([0-9a-f]{64})$",
                         (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    assert recorded is not None, "run `python3 dev.py lock`"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    assert recorded.group(1) == digest, "pyproject.toml changed: run `python3 dev.py lock`"
