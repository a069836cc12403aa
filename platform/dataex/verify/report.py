"""A named list of pass/fail checks, shared by the certificate and licence verifiers.

Each verifier records every check it made, so a report says which one failed
first and that nothing was skipped (an empty list never counts as passing).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckReport:
    checks: list[tuple[str, bool]] = field(default_factory=list, kw_only=True)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed in self.checks)

    @property
    def first_failure(self) -> str | None:
        return next((name for name, passed in self.checks if not passed), None)

    def check(self, name: str, passed: bool) -> bool:
        self.checks.append((name, passed))
        return passed
