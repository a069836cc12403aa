#!/usr/bin/env python3
"""The quick start: needs only Python 3.11+.

    python3 dev.py demo            run dataex with demo data on the embedded PostgreSQL
    python3 dev.py test            run the whole test suite (extra arguments go to pytest)
    python3 dev.py lock            bring requirements.lock in line with pyproject.toml (uv);
                                   `lock --upgrade` also moves every pin to its newest release
    python3 dev.py upgrade-check   run the suite against the newest releases pyproject.toml
                                   allows (in .venv-latest), naming every package that moved
    python3 dev.py vendor [--check]  fetch the browser code listed in
                                   platform/dataex/web/vendor.json from the npm registry
                                   (integrity checked); --check only compares the files

`demo` and `test` create ./.venv on first use and install exactly what
requirements.lock pins (every package, with hashes, by plain pip), then dataex
itself; they install again whenever pyproject.toml or the lock changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LATEST_VENV = ROOT / ".venv-latest"
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
STAMP_NAME = ".dataex-installed"
# The lock's resolution: one file for every Python dataex supports, every platform.
LOCK_COMMAND = [
    "pip", "compile", "pyproject.toml", "--all-extras", "--group", "build",
    "--universal", "--python-version", "3.11", "--generate-hashes",
    "--custom-compile-command", "python3 dev.py lock", "-o", "requirements.lock",
]


def _bin(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


def _python(env: Path) -> Path:
    return _bin(env) / ("python.exe" if os.name == "nt" else "python")


def _pip(env: Path) -> list[str]:
    return [str(_python(env)), "-m", "pip", "--disable-pip-version-check", "-q"]


def _create(env: Path) -> None:
    if not _python(env).exists():
        print(f"creating {env} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(env)


def ensure_environment() -> None:
    """.venv holds exactly the lock's packages and dataex (editable), installed by pip."""
    wanted = hashlib.sha256(PYPROJECT.read_bytes() + LOCK.read_bytes()).hexdigest()
    stamp = VENV / STAMP_NAME
    if stamp.exists() and stamp.read_text() == wanted:
        return
    _create(VENV)
    print("installing the locked dependencies and dataex (first run only) ...", flush=True)
    pip = _pip(VENV)
    subprocess.run([*pip, "install", "--require-hashes", "--no-deps", "-r", str(LOCK)],
                   check=True)
    # hatchling comes from the lock too, so the build needs nothing unpinned
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)],
                   check=True)
    stamp.write_text(wanted)


def lock(args: list[str]) -> int:
    """Resolve pyproject.toml into requirements.lock with uv (itself pinned by the lock).

    Without --upgrade, pins already in the lock are kept where pyproject.toml allows.
    """
    ensure_environment()
    uv = _bin(VENV) / "uv"
    code = subprocess.call([str(uv), *LOCK_COMMAND, *args], cwd=ROOT)
    if code == 0:
        _record_source()
        print("requirements.lock refreshed; run `python3 dev.py test`, then commit it")
    return code


def pyproject_digest() -> str:
    return hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()


def _record_source() -> None:
    """Write which pyproject.toml the lock was made from (tests/test_lock.py compares)."""
    head, _, rest = LOCK.read_text().partition("\n#    python3 dev.py lock\n")
    LOCK.write_text(f"{head}\n#    python3 dev.py lock\n"
                    f"# from pyproject.toml with sha256 {pyproject_digest()}\n{rest}")


def _versions(env: Path) -> dict[str, str]:
    # Not _pip(env): its -q makes newer pips (26.3) print no list at all.
    out = subprocess.run([str(_python(env)), "-m", "pip", "--disable-pip-version-check", "list",
                          "--format=json"], check=True, capture_output=True, text=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


def _locked_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line[0].isspace() and "==" in line and not line.startswith("#"):
            name, _, rest = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = rest.split()[0].rstrip(";")
    return pins


def upgrade_check(pytest_args: list[str]) -> int:
    """The suite on the newest releases pyproject.toml admits: does the next lock hold?

    Reports, never decides: CI prints it under its own heading and keeps its
    verdict from the locked run. On failure it names the packages that moved.
    """
    _create(LATEST_VENV)
    print("== upgrade check: newest releases allowed by pyproject.toml ==", flush=True)
    subprocess.run([*_pip(LATEST_VENV), "install", "--upgrade", "pip"], check=True)
    subprocess.run([*_pip(LATEST_VENV), "install", "--upgrade", "--upgrade-strategy", "eager",
                    "-e", f"{ROOT}[test,ha]"], check=True)
    locked, now = _locked_versions(), _versions(LATEST_VENV)
    moved = sorted(f"{name} {locked[name]} -> {version}" for name, version in now.items()
                   if name in locked and locked[name] != version)
    print("packages newer than the lock: " + (", ".join(moved) if moved else "none"), flush=True)
    code = subprocess.call([str(_python(LATEST_VENV)), "-m", "pytest", *pytest_args], cwd=ROOT)
    if code == 0:
        print("== upgrade check passed: `python3 dev.py lock` would keep the suite green ==")
    else:
        print(f"== upgrade check FAILED (pytest exit {code}) with these packages moved: "
              + (", ".join(moved) if moved else "none") + " ==")
    return code


VENDORED = ROOT / "platform" / "dataex" / "web" / "vendor.json"


def vendor(args: list[str]) -> int:
    """The pinned npm files of vendor.json: fetched and integrity-checked, or only checked."""
    import base64
    import io
    import tarfile
    import urllib.request

    listing = json.loads(VENDORED.read_text())
    bad = []
    for package in listing["packages"]:
        if "--check" not in args:
            with urllib.request.urlopen(package["tarball"], timeout=60) as answer:
                tarball = answer.read()
            algorithm, _, expected = package["integrity"].partition("-")
            got = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
            if got != expected:
                print(f"{package['package']}: the tarball's {algorithm} is not the pinned one")
                return 1
            with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
                for member, dest in package["files"].items():
                    source = archive.extractfile(member)
                    assert source is not None, member
                    (ROOT / dest).parent.mkdir(parents=True, exist_ok=True)
                    (ROOT / dest).write_bytes(source.read())
        for dest, digest in package["sha256"].items():
            path = ROOT / dest
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                bad.append(dest)
        print(f"{package['package']} {package['version']} ({package['licence']}): "
              f"{len(package['files'])} files", flush=True)
    if bad:
        print("not the pinned bytes: " + ", ".join(bad))
        return 1
    return 0


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must say so on an old Python
        print("dataex needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] not in {"demo", "test", "lock", "upgrade-check", "vendor"}:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "lock":
        return lock(argv[1:])
    if argv[0] == "upgrade-check":
        return upgrade_check(argv[1:])
    if argv[0] == "vendor":
        return vendor(argv[1:])
    ensure_environment()
    if argv[0] == "demo":
        command = [str(_bin(VENV) / "dataex"), "serve", "--demo", *argv[1:]]
    else:
        command = [str(_python(VENV)), "-m", "pytest", *argv[1:]]
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
