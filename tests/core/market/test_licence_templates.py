"""Licence templates: the catalogue in contracts/licences/, the terms schema a listing must
fit, and the hash pin that keeps a template edit from changing licences already sold."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dataex.config.licence_catalogue import load_catalogue, templates_dir
from dataex.core.market.contracts import LIST_LICENCE
from dataex.core.market.errors import ListingRefused
from dataex.core.market.licence_templates import (
    InvalidLicenceTemplate,
    LicenceTemplateChanged,
    LicenceTermsOutsideTemplate,
    UnknownLicenceTemplate,
    template_document,
    template_from_json,
)
from dataex.core.market.products import product_view
from dataex.core.market.records import product_from_view
from tests.core.market.test_market import (
    ALICE,
    APPROVE,
    ISSUE_LICENCES,
    OPERATOR,
    OWNER,
    ROOT_B,
    STANDARD_1_HASH,
    Floor,
    licence_body,
    terms,
)


def standard() -> dict[str, Any]:
    return json.loads((templates_dir() / "standard@1.json").read_text())


def test_the_catalogue_holds_every_committed_template_under_its_id_at_version() -> None:
    catalogue = load_catalogue()
    assert sorted(catalogue) == ["compute-in-place@1", "standard@1"]
    assert catalogue["standard@1"].hash == STANDARD_1_HASH
    # The hash is over the canonical JSON: the file's layout does not matter.
    assert template_from_json(standard()).hash == STANDARD_1_HASH


def test_a_file_must_be_named_after_the_template_it_holds(tmp_path: Path) -> None:
    (tmp_path / "standard@2.json").write_text(json.dumps(standard()))
    with pytest.raises(InvalidLicenceTemplate, match=r"belongs in standard@1\.json"):
        load_catalogue(tmp_path)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t.pop("rights"), "exactly the members"),
        (lambda t: t.update(version=0), "version"),
        (lambda t: t.update(rights=["reselling"]), "rights"),
        (lambda t: t["body"].append("Paid {{amount}}"), "unknown placeholders ['amount']"),
        (lambda t: t["terms"].pop("delivery"), "terms must have exactly"),
        (lambda t: t["terms"].update(delivery={"one_of": ["fax"]}), "terms.delivery.one_of"),
        (lambda t: t["terms"].update(duration_days={"min": 10, "max": 5}), "duration_days"),
        (lambda t: t["terms"].update(purpose={"max_length": 0}), "terms.purpose"),
        (lambda t: t["terms"].update(sublicensable={"one_of": ["no"]}), "sublicensable"),
    ],
)
def test_a_malformed_template_is_refused_when_loaded(change: Any, why: str) -> None:
    broken = standard()
    change(broken)
    with pytest.raises(InvalidLicenceTemplate, match=re.escape(why)):
        template_from_json(broken)


def test_listing_with_an_unknown_template_or_terms_outside_it_is_refused_and_changes_nothing(
) -> None:
    f = Floor()
    cert = f.certificate()
    before = copy.deepcopy(f.desk.registry.snapshot())
    error = f.refused(UnknownLicenceTemplate, OWNER, LIST_LICENCE,
                      **licence_body(cert, licence_template_id="standard@9"))
    assert error.status == 422 and error.extra["known"] == ["compute-in-place@1", "standard@1"]
    # compute-in-place@1 allows compute-in-place delivery only, never sublicensing, <= 365 days.
    error = f.refused(
        LicenceTermsOutsideTemplate, OWNER, LIST_LICENCE,
        **licence_body(cert, licence_template_id="compute-in-place@1",
                       terms=terms(delivery="api", sublicensable=True, duration_days=400)),
    )
    assert error.status == 422
    assert set(error.extra["fields"]) == {"delivery", "sublicensable", "duration_days"}
    error = f.refused(LicenceTermsOutsideTemplate, OWNER, LIST_LICENCE,
                      **licence_body(cert, terms=terms(territory="Atlantis")))
    assert error.extra["fields"] == {"territory": "one of ['CN', 'CN-mainland', 'worldwide']"}
    assert f.desk.registry.snapshot() == before
    (event,) = f.run(OWNER, LIST_LICENCE,
                     **licence_body(cert, licence_template_id="compute-in-place@1"))
    assert event["data_licence"]["licence_template_id"] == "compute-in-place@1"


def test_listing_needs_the_rights_the_template_grants() -> None:
    f = Floor()
    cert = f.certificate(fingerprint_root=ROOT_B, rights=["holding", "product_operation"])
    error = f.refused(ListingRefused, OWNER, LIST_LICENCE, **licence_body(cert))
    assert "does not carry ['processing_use']" in error.detail


def test_a_listing_may_pin_the_template_hash_it_read() -> None:
    f = Floor()
    cert = f.certificate()
    error = f.refused(LicenceTemplateChanged, OWNER, LIST_LICENCE,
                      **licence_body(cert, licence_template_hash="0" * 64))
    assert error.status == 409 and error.extra["hash"] == STANDARD_1_HASH
    f.run(OWNER, LIST_LICENCE, **licence_body(cert, licence_template_hash=STANDARD_1_HASH))


def test_a_template_edit_changes_its_hash_and_leaves_products_listed_before_it_alone() -> None:
    """Decision: a product keeps the template copy it was listed with. Its licences are
    rendered from that copy; listings after the edit get the new text and hash, and a
    listing pinned to the old hash is refused."""
    f = Floor()
    old = f.market.licence_templates["standard@1"]
    f.licence("OLD-LIC", units=1)
    edited = replace(old, body=(*old.body, "10. Audit. The Licensor may audit use yearly."))
    assert edited.hash != old.hash
    f.market.licence_templates["standard@1"] = edited  # the operator edited the file
    cert = f.certificate(fingerprint_root=ROOT_B)
    f.refused(LicenceTemplateChanged, OWNER, LIST_LICENCE,
              **licence_body(cert, "NEW-LIC", licence_template_hash=old.hash))
    f.run(OWNER, LIST_LICENCE, **licence_body(cert, "NEW-LIC"))
    f.run(OPERATOR, APPROVE, symbol="NEW-LIC")
    f.run(OWNER, ISSUE_LICENCES, symbol="NEW-LIC", quantity=1)

    f.deposit(ALICE, 1_000_000)
    texts = {}
    for symbol in ("OLD-LIC", "NEW-LIC"):
        f.place(OWNER, "sell", 50_000, 1, symbol=symbol)
        events = f.place(ALICE, "buy", 50_000, 1, symbol=symbol)
        (granted,) = [e for e in events if e["type"] == "licence.granted"]
        texts[symbol] = granted["document"]
    assert texts["OLD-LIC"]["licence_template_hash"] == old.hash
    assert "10. Audit." not in texts["OLD-LIC"]["text"]
    assert texts["NEW-LIC"]["licence_template_hash"] == edited.hash
    assert texts["NEW-LIC"]["text"].endswith("10. Audit. The Licensor may audit use yearly.")

    # The copy travels with the product's stored view, and is checked against its hash.
    view = product_view(f.market.products["OLD-LIC"])
    assert view["data_licence"]["licence_template"] == template_document(old)
    assert product_from_view(view) == f.market.products["OLD-LIC"]
    view["data_licence"]["licence_template"]["body"][0] = "FORGED"
    with pytest.raises(ValueError, match="does not match its hash"):
        product_from_view(view)
