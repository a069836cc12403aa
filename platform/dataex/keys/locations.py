"""Where a data directory keeps the platform's own keys (operator and log)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dataex.config.settings import Settings


@dataclass(frozen=True)
class KeyPaths:
    operator: Path
    log: Path

    @classmethod
    def of(cls, settings: Settings) -> KeyPaths:
        keys = settings.data_dir / "keys"
        return cls(operator=keys / "operator.pem", log=keys / "log.pem")
