"""Market licences end to end: the demo lists a product under the standard@1 template; each
unit bought is a rendered, platform-signed licence recorded in the registry;
`dataex licence show/verify` read and check it, and a tampered copy fails."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dataex.config.licence_catalogue import load_catalogue
from dataex.core.documents.canonical import canonical_json
from dataex.keys.files import describe, load_key
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

LICENCE = "TAXI-TRAJ-LIC"


def test_demo_licences_are_rendered_signed_registered_and_verify(
    server: Server, tmp_path: Path
) -> None:
    server.start("--demo")
    product = server.cli_json("market", "product", "show", LICENCE)
    standard = load_catalogue()["standard@1"]
    assert product["data_licence"]["licence_template_id"] == "standard@1"
    assert product["data_licence"]["licence_template_hash"] == standard.hash
    templates = server.cli("licence", "templates").stdout
    assert f"standard@1  {standard.hash}  Standard data licence" in templates

    bob_key = str(server.data_dir / "demo-keys" / "bob.pem")
    held = server.cli_json("market", "licences", "--key", bob_key)["licences"]
    licence_id = held[0]["document"]["licence_id"]
    document = held[0]["document"]
    shown = server.cli("licence", "show", licence_id, "--key", bob_key).stdout
    nosy = server.cli("licence", "show", licence_id, "--key", server.demo_key("issuer"),
                      check=False)  # not a party to it: the licence is not public
    assert nosy.returncode == 2 and "/problems/not-found" in nosy.stdout
    assert shown.startswith(f"DATA LICENCE {licence_id}\n")
    assert f"grants {document['licensee']} (the Licensee)" in shown
    assert f"registry:      {document['registration_id']}" in shown

    # The registry shows the licence registration on the certificate's history.
    history = server.cli_json("registry", "show", document["certificate_number"])
    record = next(r for r in history["registrations"]
                  if r["registration_id"] == document["registration_id"])
    assert (record["kind"], record["status"]) == ("licence", "registered")
    assert record["market"]["licence_id"] == licence_id
    assert record["market"]["trade_id"] == document["trade_id"]
    assert record["application"]["counterparty"] == document["licensee"]
    assert any(e["type"] == "registration.licence_recorded"
               and e["registration_id"] == document["registration_id"]
               for e in history["events"])

    log_key_id = describe(load_key(server.data_dir / "keys" / "log.pem"))["key_id"]
    verified = server.cli("licence", "verify", licence_id, "--platform-key-id", log_key_id,
                          "--key", bob_key)
    assert verified.stdout.startswith(f"ok: licence {licence_id} of "), verified.stdout
    assert "FAIL" not in verified.stderr

    # A saved copy verifies offline; a tampered one does not.
    saved = server.cli("licence", "show", licence_id, "--json", "--key", bob_key).stdout
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(saved)
    offline = server.cli("licence", "verify", licence_id, "--file", str(good), "--offline")
    assert offline.stdout.startswith(f"ok: licence {licence_id}"), offline.stdout
    claim = json.loads(saved)
    claim["document"]["text"] = claim["document"]["text"].replace("Sublicensable: no",
                                                                  "Sublicensable: yes")
    bad.write_text(json.dumps(claim))
    tampered = server.cli("licence", "verify", licence_id, "--file", str(bad), "--offline",
                          check=False)
    assert tampered.returncode == 2
    assert "FAULT: licence" in tampered.stderr and "document_hash" in tampered.stderr
    claim["document_hash"] = hashlib.sha256(canonical_json(claim["document"])).hexdigest()
    bad.write_text(json.dumps(claim))  # the hash fixed up too: the signature still catches it
    resigned = server.cli("licence", "verify", licence_id, "--file", str(bad), "--offline",
                          check=False)
    assert resigned.returncode == 2
    assert "FAIL the platform's signature verifies over the document" in resigned.stderr
    pinned = server.cli("licence", "verify", licence_id, "--platform-key-id", "ed25519:other",
                        "--key", bob_key,
                        check=False)
    assert pinned.returncode == 2

    assert server.cli("audit", "verify", "--key", server.regulator_key).stdout.startswith("ok: ")
