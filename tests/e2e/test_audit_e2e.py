"""`dataex audit export` resumes a cut-off export; `dataex audit verify` names a truncation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def test_export_resumes_after_a_torn_line_and_verify_catches_truncation(
    server: Server, tmp_path: Path,
) -> None:
    server.start("--demo")
    size = int(httpx.get(f"{server.url}/v1/audit/entries", params={"limit": 1}).json()["size"])
    export = tmp_path / "log.jsonl"
    first = server.cli("audit", "export", "--out", str(export), "--key", server.regulator_key)
    assert f"wrote {size} entries" in first.stderr

    # Cut the export in the middle of entry 10, as a crash mid-download would.
    data = export.read_bytes()
    tenth = data.index(b'{"seq":10,')
    export.write_bytes(data[: tenth + 40])
    torn = server.cli("audit", "verify", "--file", str(export), check=False)
    assert torn.returncode == 2
    assert "FAULT at entry 10: the export is truncated" in torn.stderr and "torn" in torn.stderr

    resumed = server.cli("audit", "export", "--out", str(export), "--key", server.regulator_key)
    assert "dropped a torn last line" in resumed.stderr
    assert "resuming" in resumed.stderr and "from entry 10" in resumed.stderr
    seqs = [json.loads(line)["seq"] for line in export.read_text().splitlines()
            if line.startswith('{"seq"')]
    assert seqs == list(range(1, size + 1))
    ok = server.cli("audit", "verify", "--file", str(export))
    assert f"ok: {size} entries verified" in ok.stdout

    # Nothing new: a second resume adds nothing and changes nothing.
    again = server.cli("audit", "export", "--out", str(export), "--key", server.regulator_key)
    assert "wrote 0 entries" in again.stderr
    verified = server.cli("audit", "verify", "--workers", "0", "--key", server.regulator_key)
    assert verified.stdout.startswith(f"ok: {size} ")
