"""The architecture holds: import-linter's contracts in pyproject.toml are all kept.

They say which layer may import which (cli over api, bootstrap and witness;
over store and verify; over client and keys; over config; over core), the
direction between core's domains, that core loads no web or database code,
and that no package has an import cycle. docs/ARCHITECTURE.md draws them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command is not None, "import-linter is in the test extra"
    return subprocess.run([command, "--no-cache", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def test_every_import_contract_is_kept() -> None:
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout, result.stdout


def test_the_linter_sees_a_broken_layer(tmp_path: Path) -> None:
    """Guard against a check that passes vacuously: inverted layers must be reported."""
    config = tmp_path / "inverted.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "dataex"\n\n'
        '[[tool.importlinter.contracts]]\nname = "inverted"\ntype = "layers"\n'
        'layers = ["dataex.core", "dataex.cli"]\n'
    )
    result = _lint_imports(str(config))
    assert result.returncode == 1, result.stdout
    assert "inverted BROKEN" in result.stdout
    assert "- dataex.cli.contracts -> dataex.core.contracts" in result.stdout
