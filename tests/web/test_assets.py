"""What the pages load is dataex's own: vendored files pinned and unchanged, no other origin."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "platform" / "dataex" / "web"
VENDORED = json.loads((WEB / "vendor.json").read_text())


def test_every_vendored_file_is_the_pinned_release() -> None:
    for package in VENDORED["packages"]:
        assert package["version"] and package["integrity"].startswith("sha512-")
        assert set(package["sha256"]) == set(package["files"].values())
        for dest, digest in package["sha256"].items():
            assert hashlib.sha256((ROOT / dest).read_bytes()).hexdigest() == digest, dest


def test_every_vendored_package_carries_its_licence() -> None:
    for package in VENDORED["packages"]:
        folders = {(ROOT / dest).parent for dest in package["files"].values()}
        assert all((folder / "LICENSE").exists() for folder in folders), package["package"]


def test_our_pages_name_no_other_origin() -> None:
    """Templates, scripts and styles of our own link nothing outside the server."""
    external = re.compile("|".join((
        r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""",  # attributes
        r"""url\(\s*["']?(?:https?:)?//""",  # CSS
        r"""(?:fetch|import|EventSource)\(\s*["'`](?:https?:)?//""",  # scripts
    )))
    for sample in ('<script src="https://cdn.example/x.js">', "url(//fonts.example/a.woff)",
                   "fetch('https://api.example/')"):
        assert external.search(sample), sample  # the check can fail
    own = [p for p in WEB.rglob("*") if p.suffix in {".j2", ".js", ".css", ".html"}
           and "vendor" not in p.parts]
    assert len(own) >= 10
    offenders = [str(p.relative_to(ROOT)) for p in own if external.search(p.read_text())]
    assert offenders == []
