"""Load the licence templates of contracts/licences/ for core (which reads no files).

Each file is one template, named ``<id>@<version>.json``; the name must agree
with the id and version inside, so a reader of the directory sees what a
product's ``licence_template_id`` names. A malformed template stops start-up
(InvalidLicenceTemplate) rather than failing the first listing that names it.
"""

from __future__ import annotations

import json
from pathlib import Path

from dataex.config.paths import contracts_dir
from dataex.core.market.licence_templates import (
    InvalidLicenceTemplate,
    LicenceTemplate,
    template_from_json,
)


def templates_dir() -> Path:
    return contracts_dir() / "licences"


def load_template(path: Path) -> LicenceTemplate:
    try:
        template = template_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, InvalidLicenceTemplate) as exc:
        raise InvalidLicenceTemplate(f"{path}: {exc}") from exc
    if path.stem != template.ref:
        raise InvalidLicenceTemplate(f"{path}: {template.ref} belongs in {template.ref}.json")
    return template


def load_catalogue(directory: Path | None = None) -> dict[str, LicenceTemplate]:
    """{id@version: template} for every *.json in ``directory`` (contracts/licences/)."""
    folder = directory or templates_dir()
    return {t.ref: t for t in map(load_template, sorted(folder.glob("*.json")))}
