"""Where the contracts and migrations live, from a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # platform/dataex
_CHECKOUT = _PACKAGE.parent.parent  # platform/dataex -> repository root


def _find(name: str) -> Path:
    installed = _PACKAGE / f"_{name}"  # the wheel force-includes them here
    return installed if installed.is_dir() else _CHECKOUT / name


def contracts_dir() -> Path:
    return _find("contracts")


def migrations_dir() -> Path:
    return _find("migrations")
