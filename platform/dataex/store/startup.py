"""Why a server could not start: one line for people, one exit code for scripts.

Every failure to start `dataex serve`, `init` or `db` is raised as a
`StartupFailure` (what failed, where, what to do) and printed by the CLI as a
single line with the exit code below, never as a traceback. The codes are
documented in docs/operators.md; 1-3 are the CLI's general codes.
"""

from __future__ import annotations

EXIT_DATABASE = 4  # the database cannot be reached, or the embedded one cannot start
EXIT_DATA_DIR = 5  # the data directory cannot be created or written
EXIT_ADDRESS = 6  # the HTTP address is taken or cannot be bound
EXIT_SETTINGS = 7  # a DATAEX_* setting is not valid
EXIT_SCHEMA = 8  # the database's schema is newer than this dataex, or a migration failed
EXIT_KEYS = 9  # a key file of the data directory cannot be read


class StartupFailure(Exception):
    """A start that cannot go on; `str()` is the one line a person reads."""

    def __init__(self, exit_code: int, what: str, remedy: str) -> None:
        super().__init__(f"{what}; {remedy}")
        self.exit_code = exit_code
        self.what = what
        self.remedy = remedy
