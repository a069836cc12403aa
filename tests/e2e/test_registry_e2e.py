"""The registry end to end: a real `dataex serve`, driven only through the `dataex` command.

fingerprint a directory, register, review, notice, an objection dismissed,
certificate, licence, pledge, a refused transfer, release, transfer accepted,
cancellation; `dataex audit verify` (which replays every command through core)
and `dataex certificate verify` pass along the way and at the end.

The first notice runs a few seconds so that an objection fits in it; the server
is then restarted with a notice period of 0 for the rest (which also shows the
registry surviving a restart, and the verifier following a changed period).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dataex.client.fingerprint import fingerprint_path
from dataex.core.documents.timefmt import parse_utc
from dataex.keys.files import describe, new_key
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

FIRST_NOTICE_SECONDS = 3
ALL_RIGHTS = ("holding", "processing_use", "product_operation")


class Desk:
    """The CLI as each participant uses it: `run(who, ...)` signs with who's key."""

    def __init__(self, server: Server, keys: dict[str, Path]) -> None:
        self.server = server
        self.keys = keys
        self.ids: dict[str, str] = {}

    def run(self, who: str, *args: str) -> Any:
        return self.server.cli_json(*args, "--key", str(self.keys[who]))

    def refused(self, who: str, *args: str) -> dict[str, Any]:
        result = self.server.cli(*args, "--key", str(self.keys[who]), check=False)
        assert result.returncode == 2, result.stdout + result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def registry(self, who: str, *args: str) -> dict[str, Any]:
        return self.run(who, "registry", *args)  # type: ignore[no-any-return]

    def through_review(self, rid: str) -> dict[str, Any]:
        """Review, notice and register rid (notice period 0); the decision's receipt."""
        self.registry("registrar", "review", rid)
        self.registry("registrar", "notice", rid)
        return self.registry("registrar", "decide", rid, "--register")

    def audit_ok(self) -> int:
        """`dataex audit verify` passes; the number of entries it verified."""
        out = self.server.cli("audit", "verify", "--key", str(self.keys["regulator"])).stdout
        assert out.startswith("ok: "), out
        return int(out.split()[1])

    def certificate_ok(self, number: str) -> str:
        result = self.server.cli("certificate", "verify", number)
        assert result.stdout.startswith(f"ok: certificate {number}"), result.stderr
        return result.stdout


def _data_tree(root: Path) -> Path:
    (root / "2025" / "01").mkdir(parents=True)
    (root / "2025" / "01" / "counts.csv").write_bytes(b"sensor,count\nS1,17\n" * 2000)
    (root / "2025" / "readme.txt").write_text("Urban traffic flow, per minute.\n")
    (root / "schema.json").write_text('{"sensor": "string", "count": "integer"}\n')
    return root


def _admit(server: Server, keys_dir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    operator = str(server.data_dir / "keys" / "operator.pem")
    paths, ids = {}, {}
    for name, roles in [("registrar", ["registrar"]), ("alice", ["trader"]),
                        ("bob", ["trader"]), ("bank", ["trader"]),
                        ("regulator", ["regulator"])]:
        paths[name] = keys_dir / f"{name}.pem"
        body = {"display_name": name, "legal_id": f"E2E-{name}",
                "public_key": describe(new_key(paths[name]))["public_key"], "roles": roles}
        receipt = server.cli_json("submit", "--contract", "dataex.participant.admit.v1",
                                  "--key", operator, json.dumps(body))
        ids[name] = receipt["events"][0]["participant_id"]
    return paths, ids


def test_the_registry_lifecycle_through_the_cli(server: Server, tmp_path: Path) -> None:
    server.env["DATAEX_NOTICE_PERIOD_SECONDS"] = str(FIRST_NOTICE_SECONDS)
    server.start()
    keys, ids = _admit(server, tmp_path)
    desk = Desk(server, keys)

    # Fingerprint a directory: the data never leaves this machine.
    data = _data_tree(tmp_path / "traffic")
    printed = server.cli_json("fingerprint", str(data))
    assert printed == fingerprint_path(data) and printed["file_count"] == 3

    # Register, review, notice.
    rights = [arg for r in ALL_RIGHTS for arg in ("--right", r)]
    receipt = desk.registry(
        "alice", "register", "--data", str(data), "--title", "Urban traffic flow 2025",
        "--description", "Per-minute vehicle counts.", "--industry", "transport",
        "--scenario", "route planning", "--update-frequency", "daily", *rights,
    )
    submitted = receipt["events"][0]
    rid = submitted["registration_id"]
    assert submitted["status"] == "submitted"
    shown = server.cli_json("registry", "show", rid)
    assert shown["application"]["asset"]["fingerprint"] == printed
    desk.registry("registrar", "review", rid)
    opened = desk.registry("registrar", "notice", rid)["events"][0]
    notice_ends = parse_utc(opened["notice_ends_at"])

    # An objection during the notice blocks the decision until it is dismissed.
    filed = desk.registry("bob", "object", rid, "--grounds", "We counted these cars.")
    objection = filed["events"][0]["objection_id"]
    board = server.cli_json("registry", "notices")["registrations"]
    assert [r["registration_id"] for r in board] == [rid]
    assert board[0]["objections"][0]["status"] == "open"
    blocked = desk.refused("registrar", "registry", "decide", rid, "--register")
    assert blocked["type"] in ("/problems/objection-open", "/problems/notice-running")
    desk.registry("registrar", "decide-objection", objection, "--dismiss",
                  "--reasons", "The sensor contract names alice.")
    time.sleep(max(0.0, (notice_ends - datetime.now(UTC)).total_seconds()) + 0.2)

    # The certificate, signed by the registrar's own key.
    decided = desk.registry("registrar", "decide", rid, "--register")
    number = decided["events"][0]["certificate_number"]
    assert decided["events"][1]["type"] == "certificate.issued"
    assert desk.audit_ok()
    assert "revision 1 held by " + ids["alice"] in desk.certificate_ok(number)

    # Restart with a notice period of 0: everything is still there and verifies.
    server.stop()
    server.env["DATAEX_NOTICE_PERIOD_SECONDS"] = "0"
    server.start()
    desk.certificate_ok(number)

    # Licence, then pledge.
    licence = desk.registry("alice", "licence", number, "--to", ids["bob"],
                            "--right", "processing_use")
    desk.through_review(licence["events"][0]["registration_id"])
    pledge = desk.registry("alice", "pledge", number, "--to", ids["bank"], "--amount", "5000000")
    desk.through_review(pledge["events"][0]["registration_id"])
    desk.audit_ok()

    # A pledged certificate cannot be transferred: refused, and nothing is logged.
    size = desk.audit_ok()
    refused = desk.refused("alice", "registry", "transfer", number, "--to", ids["bob"], *rights)
    assert refused["type"] == "/problems/certificate-encumbered" and refused["status"] == 409
    assert desk.audit_ok() == size

    # The pledgee releases it; then the transfer goes through once bob accepts.
    release = desk.registry("bank", "release", number)
    desk.through_review(release["events"][0]["registration_id"])
    transfer = desk.registry("alice", "transfer", number, "--to", ids["bob"], *rights)
    moving = transfer["events"][0]["registration_id"]
    assert transfer["events"][0]["status"] == "awaiting_acceptance"
    desk.registry("bob", "accept", moving)
    desk.through_review(moving)
    assert f"held by {ids['bob']}" in desk.certificate_ok(number)

    # The new holder cancels it.
    cancel = desk.registry("bob", "cancel", number, "--reason", "The data set is retired.")
    desk.through_review(cancel["events"][0]["registration_id"])

    size = desk.audit_ok()
    final = desk.certificate_ok(number)
    assert f"revision 6 held by {ids['bob']} (cancelled)" in final
    history = server.cli_json("certificate", "show", number)
    assert [r["kind"] for r in history["registrations"]] == [
        "initial", "licence", "pledge", "pledge_release", "transfer", "cancellation"]
    assert history["certificate"]["status"] == "cancelled"
    assert history["events"][-1]["seq"] == size  # the cancellation was the last entry

    # A certificate that does not exist is a clear refusal.
    missing = server.cli("certificate", "verify", "DX-2026-999999", check=False)
    assert missing.returncode == 2 and "not-found" in missing.stdout
