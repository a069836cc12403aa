"""Licence templates: the terms a data-licence product may offer and the text each licence reads.

A template lives in contracts/licences/<id>@<version>.json. Core never reads
files: the edge (dataex.config.licence_catalogue) parses them with ``template_from_json``
and hands the market a catalogue {ref: LicenceTemplate}, a setting like the
default fees. Why it looks the way it does:

- A template is named ``id@version`` and pinned by its hash: SHA-256 of the RFC
  8785 canonical JSON of the template object, so reformatting a file changes
  nothing but editing any word does. A product copies the whole template when
  it is listed and renders every licence from that copy, so a later edit of the
  file never changes what was sold; new listings take the new hash.
- ``terms`` is the template's schema for a product's terms: a text field has a
  ``max_length``, ``duration_days`` a ``min`` and ``max``, and the others a
  ``one_of`` list. A listing whose terms do not fit is refused.
- ``body`` is lines of text with ``{{placeholder}}``s; only the names in
  PLACEHOLDERS exist, and an unknown one makes the template invalid when it is
  loaded, not when the first licence is rendered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from dataex.core.documents.canonical import canonical_json
from dataex.core.documents.errors import DomainError

# Chinese licensing practice: exclusive (独占), sole (排他: licensor may still use), ordinary.
EXCLUSIVITIES: Final = frozenset({"exclusive", "sole", "non_exclusive"})
DELIVERIES: Final = frozenset({"file", "api", "compute_in_place"})

ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")
REF_PATTERN: Final = re.compile(r"([a-z0-9][a-z0-9._-]{0,47})@([1-9][0-9]{0,5})")
PLACEHOLDER: Final = re.compile(r"\{\{([a-z_]+)\}\}")
RIGHTS: Final = frozenset({"holding", "processing_use", "product_operation"})

TEXT_TERMS: Final = ("purpose", "scope", "territory")
CHOICE_TERMS: Final[dict[str, frozenset[Any]]] = {
    "territory": frozenset(),  # any non-empty text; a template may restrict it with one_of
    "exclusivity": EXCLUSIVITIES,
    "sublicensable": frozenset({True, False}),
    "delivery": DELIVERIES,
}
TERM_NAMES: Final = (
    "purpose", "scope", "duration_days", "territory", "exclusivity", "sublicensable", "delivery",
)
PLACEHOLDERS: Final = frozenset(
    {
        "licence_id", "template_ref", "template_hash", "registration_id",
        "certificate_number", "symbol", "licensor", "licensee", "trade_id", "unit",
        "quantity", "price", "rights", "granted_at", "valid_from", "valid_until",
        "parent_clause", *TERM_NAMES,
    }
)


class InvalidLicenceTemplate(ValueError):
    """A template file that is not a template: refused when the catalogue is loaded."""


class UnknownLicenceTemplate(DomainError):
    status = 422
    slug = "unknown-licence-template"
    title = "No licence template has this id@version"


class LicenceTermsOutsideTemplate(DomainError):
    status = 422
    slug = "licence-terms-outside-template"
    title = "The product's terms do not fit its licence template"


class LicenceTemplateChanged(DomainError):
    status = 409
    slug = "licence-template-changed"
    title = "The licence template's hash is not the one the listing pins"


@dataclass(frozen=True, slots=True)
class LicenceTemplate:
    template_id: str
    version: int
    title: str
    rights: tuple[str, ...]
    terms: Mapping[str, Mapping[str, Any]]
    body: tuple[str, ...]
    hash: str = field(init=False, compare=False)  # template_hash of template_document

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", template_hash(template_document(self)))

    @property
    def ref(self) -> str:
        return f"{self.template_id}@{self.version}"


def template_document(t: LicenceTemplate) -> dict[str, Any]:
    """The template as the plain JSON object its file holds (and its hash is over)."""
    return {
        "id": t.template_id,
        "version": t.version,
        "title": t.title,
        "rights": list(t.rights),
        "terms": {name: dict(rule) for name, rule in t.terms.items()},
        "body": list(t.body),
    }


def template_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a template object, lowercase hex."""
    return hashlib.sha256(canonical_json(dict(document))).hexdigest()


def _fail(why: str) -> InvalidLicenceTemplate:
    return InvalidLicenceTemplate(why)


def _check_rule(name: str, rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise _fail(f"terms.{name} must be an object")
    if name == "duration_days":
        low, high = rule.get("min"), rule.get("max")
        if set(rule) != {"min", "max"} or type(low) is not int or type(high) is not int \
                or not 1 <= low <= high <= 3650:
            raise _fail("terms.duration_days must be {min, max} with 1 <= min <= max <= 3650")
        return dict(rule)
    if name in TEXT_TERMS and "max_length" in rule:
        size = rule["max_length"]
        if set(rule) != {"max_length"} or type(size) is not int or size < 1:
            raise _fail(f"terms.{name} must be {{max_length: a positive integer}}")
        return dict(rule)
    if name in CHOICE_TERMS and set(rule) == {"one_of"}:
        values = rule["one_of"]
        allowed = CHOICE_TERMS[name]
        kind = bool if name == "sublicensable" else str
        if not isinstance(values, list) or not values or any(
            type(v) is not kind or (allowed and v not in allowed) or (kind is str and not v)
            for v in values
        ) or len(set(values)) != len(values):
            raise _fail(f"terms.{name}.one_of must be distinct values of {sorted(allowed) or kind}")
        return {"one_of": list(values)}
    raise _fail(f"terms.{name} has no rule this field takes: {sorted(rule)}")


def template_from_json(obj: Any) -> LicenceTemplate:
    """A template from the parsed JSON of its file; InvalidLicenceTemplate says what is wrong."""
    if not isinstance(obj, dict):
        raise _fail("a template is a JSON object")
    wanted = {"id", "version", "title", "rights", "terms", "body"}
    if set(obj) != wanted:
        raise _fail(f"a template has exactly the members {sorted(wanted)}, got {sorted(obj)}")
    tid, version, title = obj["id"], obj["version"], obj["title"]
    if not isinstance(tid, str) or not ID_PATTERN.fullmatch(tid):
        raise _fail(f"id must match {ID_PATTERN.pattern}, got {tid!r}")
    if type(version) is not int or not 1 <= version <= 999_999:
        raise _fail(f"version must be an integer 1..999999, got {version!r}")
    if not isinstance(title, str) or not title.strip():
        raise _fail("title must be non-empty text")
    rights = obj["rights"]
    if not isinstance(rights, list) or not rights or not set(rights) <= RIGHTS \
            or len(set(rights)) != len(rights):
        raise _fail(f"rights must be distinct values of {sorted(RIGHTS)}")
    terms = obj["terms"]
    if not isinstance(terms, dict) or set(terms) != set(TERM_NAMES):
        raise _fail(f"terms must have exactly {list(TERM_NAMES)}")
    body = obj["body"]
    if not isinstance(body, list) or not body or not all(isinstance(x, str) for x in body):
        raise _fail("body must be a non-empty list of lines")
    unknown = sorted({m for line in body for m in PLACEHOLDER.findall(line)} - PLACEHOLDERS)
    if unknown:
        raise _fail(f"body uses unknown placeholders {unknown}; known: {sorted(PLACEHOLDERS)}")
    return LicenceTemplate(
        template_id=tid,
        version=version,
        title=title,
        rights=tuple(rights),
        terms={name: _check_rule(name, terms[name]) for name in TERM_NAMES},
        body=tuple(body),
    )


def find_template(catalogue: Mapping[str, LicenceTemplate], ref: str) -> LicenceTemplate:
    template = catalogue.get(ref)
    if template is None:
        raise UnknownLicenceTemplate(
            f"no licence template {ref!r}; the platform offers {sorted(catalogue)}",
            template=ref,
            known=sorted(catalogue),
        )
    return template


def check_terms_fit(template: LicenceTemplate, terms: Any) -> None:
    """Refuse terms (products.LicenceTerms) outside the template's schema, naming every misfit."""
    misfits: dict[str, str] = {}
    for name in TERM_NAMES:
        value = getattr(terms, name)
        rule = template.terms[name]
        if "max_length" in rule and len(value) > rule["max_length"]:
            misfits[name] = f"at most {rule['max_length']} characters"
        elif "min" in rule and not rule["min"] <= value <= rule["max"]:
            misfits[name] = f"{rule['min']}..{rule['max']}"
        elif "one_of" in rule and not any(
            type(v) is type(value) and v == value for v in rule["one_of"]
        ):
            misfits[name] = f"one of {rule['one_of']}"
    if misfits:
        raise LicenceTermsOutsideTemplate(
            f"terms outside {template.ref}: "
            + "; ".join(f"{k} must be {v}" for k, v in misfits.items()),
            template=template.ref,
            fields=misfits,
        )


def render(template: LicenceTemplate, values: Mapping[str, str]) -> str:
    """The template's body with every placeholder replaced; lines joined by \\n."""
    missing = sorted(set(PLACEHOLDERS) - set(values))
    if missing:
        raise ValueError(f"render needs values for {missing}")
    return "\n".join(PLACEHOLDER.sub(lambda m: values[m.group(1)], line) for line in template.body)
