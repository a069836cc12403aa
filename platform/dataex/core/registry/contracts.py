"""Bodies of the registry's signed documents and who may sign each.

One `register` contract covers every registration kind: its `application` is a
union tagged by `kind`, so the schema itself says which fields each kind needs
(a transfer without a counterparty is a schema violation, not a domain check).
Rules that depend on state (whose certificate, which status) live in
core/registry/lifecycle.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from dataex.core.documents.canonical import MAX_SAFE_INTEGER
from dataex.core.documents.contract import Body, Contract, LongText, ShortText, Signature

Right = Literal["holding", "processing_use", "product_operation"]
RIGHTS: tuple[str, ...] = ("holding", "processing_use", "product_operation")
Rights = Annotated[
    tuple[Right, ...], Meta(min_length=1, max_length=3, description="distinct rights, one or more")
]

ProductForm = Literal["dataset", "api", "report", "model", "index"]
SourceType = Literal["self_collected", "authorised", "public", "purchased"]
Classification = Literal["general", "important", "core"]  # core is refused by the registry
UpdateFrequency = Literal[
    "static", "realtime", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"
]
RejectReason = Literal[
    "insufficient_evidence",
    "rights_disputed",
    "fingerprint_conflict",
    "unlawful_source",
    "personal_information",
    "state_changed",
    "objection_upheld",
    "other",
]

Sha256Hex = Annotated[
    str,
    Meta(pattern=r"^[0-9a-f]{64}$(?!\n)", description="SHA-256 digest, 64 lowercase hex digits"),
]
HashList = Annotated[tuple[Sha256Hex, ...], Meta(max_length=50)]
ParticipantId = Annotated[str, Meta(pattern=r"^P[0-9]{6,}$(?!\n)", description="e.g. P000001")]
RegistrationId = Annotated[str, Meta(pattern=r"^R[0-9]{6,}$(?!\n)", description="e.g. R000001")]
ObjectionId = Annotated[str, Meta(pattern=r"^O[0-9]{6,}$(?!\n)", description="e.g. O000001")]
CertificateNumber = Annotated[
    str, Meta(pattern=r"^DX-[0-9]{4}-[0-9]{6,}$(?!\n)", description="e.g. DX-2026-000123")
]
TermDays = Annotated[int, Meta(ge=1, le=3650, description="validity in days, at most ten years")]
Count = Annotated[int, Meta(ge=0, le=MAX_SAFE_INTEGER)]


# `frozen=True` is repeated on every body: mypy does not inherit it from Body and would
# otherwise report each subclass as a non-frozen dataclass deriving from a frozen one.
class Fingerprint(Body, frozen=True):
    """Evidence of the data without the data: RFC 9162 root over per-file SHA-256."""

    root: Sha256Hex
    total_bytes: Count
    file_count: Annotated[int, Meta(ge=1, le=MAX_SAFE_INTEGER)]


class Asset(Body, frozen=True):
    """What is registered; every field is shown on the certificate except the proofs."""

    title: ShortText
    description: LongText
    fingerprint: Fingerprint
    product_form: ProductForm
    industry: ShortText
    scenario: ShortText
    update_frequency: UpdateFrequency
    source_type: SourceType
    personal_information: bool
    classification: Classification
    authorisation_proofs: HashList = ()
    sample_hash: Sha256Hex | None = None


class InitialApplication(Body, frozen=True, tag_field="kind", tag="initial"):
    asset: Asset
    rights: Rights
    term_days: TermDays = 1095


class ChangeApplication(Body, frozen=True, tag_field="kind", tag="change"):
    """Replaces the asset description (and fingerprint, for a new data version)."""

    certificate_number: CertificateNumber
    asset: Asset


class TransferApplication(Body, frozen=True, tag_field="kind", tag="transfer"):
    """Fewer rights than the certificate holds split them onto a new certificate."""

    certificate_number: CertificateNumber
    counterparty: Annotated[ParticipantId, Meta(description="the receiver; must accept")]
    rights: Rights


class LicenceApplication(Body, frozen=True, tag_field="kind", tag="licence"):
    certificate_number: CertificateNumber
    counterparty: Annotated[ParticipantId, Meta(description="the licensee")]
    rights: Rights
    term_days: TermDays = 365


class PledgeApplication(Body, frozen=True, tag_field="kind", tag="pledge"):
    certificate_number: CertificateNumber
    counterparty: Annotated[ParticipantId, Meta(description="the pledgee")]
    secured_amount: Annotated[int, Meta(ge=1, le=MAX_SAFE_INTEGER, description="minor units")]


class PledgeReleaseApplication(Body, frozen=True, tag_field="kind", tag="pledge_release"):
    certificate_number: CertificateNumber


class RenewalApplication(Body, frozen=True, tag_field="kind", tag="renewal"):
    certificate_number: CertificateNumber
    term_days: TermDays = 1095


class CancellationApplication(Body, frozen=True, tag_field="kind", tag="cancellation"):
    certificate_number: CertificateNumber
    reason: LongText


Application = (
    InitialApplication
    | ChangeApplication
    | TransferApplication
    | LicenceApplication
    | PledgeApplication
    | PledgeReleaseApplication
    | RenewalApplication
    | CancellationApplication
)
KINDS: tuple[str, ...] = (
    "initial",
    "change",
    "transfer",
    "licence",
    "pledge",
    "pledge_release",
    "renewal",
    "cancellation",
)


def kind_of(application: Application) -> str:
    """The `kind` tag of an application (msgspec keeps tags on the class, not the instance)."""
    return str(type(application).__struct_config__.tag)


class Register(Body, frozen=True):
    application: Application


class Withdraw(Body, frozen=True):
    registration_id: RegistrationId
    reason: LongText | None = None


class TakeForReview(Body, frozen=True):
    registration_id: RegistrationId


class OpenNotice(Body, frozen=True):
    registration_id: RegistrationId


class FileObjection(Body, frozen=True):
    registration_id: RegistrationId
    grounds: LongText
    evidence_hashes: HashList = ()


class DecideObjection(Body, frozen=True):
    objection_id: ObjectionId
    outcome: Literal["uphold", "dismiss"]
    reasons: LongText


class CertificateSignature(Body, frozen=True):
    """The registrar's signature over one certificate document (contracts/SPEC.md §9)."""

    number: CertificateNumber
    signature: Signature


class DecideRegistration(Body, frozen=True):
    """A rejection needs reason_code and reason_text; a registration takes neither.

    A registration carries the registrar's signature over every certificate
    document it issues or revises (GET .../certificate-preview shows them); a
    rejection carries none.
    """

    registration_id: RegistrationId
    outcome: Literal["register", "reject"]
    reason_code: RejectReason | None = None
    reason_text: LongText | None = None
    certificate_signatures: Annotated[
        tuple[CertificateSignature, ...],
        Meta(max_length=2, description="one per certificate document the decision produces"),
    ] = ()


class AcceptTransfer(Body, frozen=True):
    registration_id: RegistrationId


REGISTRAR: frozenset[str] = frozenset({"registrar"})

REGISTRY_CONTRACTS: tuple[Contract, ...] = (
    Contract(
        "dataex.registry.register.v1",
        Register,
        None,
        "A participant applies for a registration of one kind: initial, change, transfer, "
        "licence, pledge, pledge_release, renewal or cancellation.",
    ),
    Contract(
        "dataex.registry.withdraw.v1",
        Withdraw,
        None,
        "The applicant withdraws its registration before a decision.",
    ),
    Contract(
        "dataex.registry.accept_transfer.v1",
        AcceptTransfer,
        None,
        "The receiver of a transfer accepts it, which sends it to review.",
    ),
    Contract(
        "dataex.registry.object.v1",
        FileObjection,
        None,
        "Any participant objects to a registration during its public notice.",
    ),
    Contract(
        "dataex.registry.take.v1",
        TakeForReview,
        REGISTRAR,
        "A registrar takes a submitted registration for review.",
    ),
    Contract(
        "dataex.registry.open_notice.v1",
        OpenNotice,
        REGISTRAR,
        "A registrar starts the public notice of a registration under review.",
    ),
    Contract(
        "dataex.registry.decide_objection.v1",
        DecideObjection,
        REGISTRAR,
        "A registrar upholds (rejecting the registration) or dismisses an objection.",
    ),
    Contract(
        "dataex.registry.decide.v1",
        DecideRegistration,
        REGISTRAR,
        "A registrar registers or rejects a registration, with a reason for a rejection.",
    ),
)
