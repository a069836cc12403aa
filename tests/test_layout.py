"""The package layout promises of shared/DESIGN.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_is_a_source_root_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_gives_the_standard_library_module() -> None:
    # A fresh interpreter, with the source root first on sys.path as an
    # editable install puts it: `platform` must still be the stdlib's.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import platform, dataex; "
        "print(platform.python_implementation()); print(platform.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "platform")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert out[0] in {"CPython", "PyPy"}
    assert not out[1].startswith(str(ROOT))
