"""Verify a signed Fairgate report strictly, and read its attached evidence back out.

Why stricter than pyHanko's defaults: pyHanko's standard difference policy accepts incremental
updates that change the document's /Info dictionary or XMP metadata after signing (its
``bottom_line`` stays True). For evidence that is not acceptable. Fairgate accepts a document only
when:

1. every signature is intact (the signed bytes' digest matches) and cryptographically valid,
2. every signer's certificate chains to one of the trust roots the verifier passed,
3. the last signature covers the entire file (``SignatureCoverageLevel.ENTIRE_FILE``), and
4. every revision after the first signature is itself a signature (countersigning), and what those
   later signatures changed stays at pyHanko's ``FORM_FILLING`` level (adding/filling signature
   fields; their own revisions also update /Info and XMP, which is fine because it is signed).

Two more checks per signature:

- **Key usage.** A CA-issued signer certificate must allow non-repudiation (content commitment),
  pyHanko's PAdES default; a self-signed certificate passed with ``--trust`` is trusted as a whole
  (pyHanko does not check its key usage either). The reason is reported as a key-usage problem,
  not as "not trusted".
- **Timestamps.** A signature may carry an RFC 3161 timestamp token (``fairgate run/sign --tsa``).
  When it does, the token must be intact and valid *and* the TSA's certificate must chain to one of
  the same ``--trust`` roots (with the timeStamping extended key usage when CA-issued). A token
  from an untrusted TSA makes the result INVALID: the report's cover names the TSA that vouched
  for the time, and that claim is exactly what an unknown TSA cannot support. Pass the TSA's root
  with ``--trust`` to accept it. Without a token the signing time is the signer's own clock, which
  the output says.

A signature's ``/Contents`` hole is the one part of the file no signature covers; pyHanko ignores
whatever follows the CMS blob there, so we also require that padding to be zeros (otherwise about
a kilobyte could be changed or hidden in a signed file without any check noticing).

A file with no signature gives ``ok=False`` ("not signed"), and so does a file that starts as a
PDF but no longer parses, or whose signature dictionaries cannot be read (truncated or damaged: the
evidence was checked and is not intact). A file
that cannot be read, or is not a PDF at all, raises ``VerificationError``: that is "cannot check",
not "checked and invalid". The input is
untrusted: on corrupt files pyHanko and pypdf raise many exception types (zlib.error,
AttributeError, AssertionError, NotImplementedError, decimal errors, ... seen by flipping single
bytes), so the calls into them on file content catch ``Exception`` and report it, and nothing from
a damaged file surfaces as an internal error.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import VerificationError
from audit.signing.sign import parse_reason

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import EmbeddedPdfSignature, PdfSignatureStatus

NOT_SIGNED = "not signed"
DAMAGED = "the file is damaged or truncated: it starts as a PDF but cannot be read as one"
_PDF_HEADER = b"%PDF-"
_REPORT_TITLE = "Fairness audit — "  # audit.report.html._title: how every Fairgate report is titled
_DRAFT_TITLE = "(unsigned draft)"
NO_TRUST_ROOTS = "signer not trusted: pass --trust CERT.pem"
_TRUST_HINT = "pass the signer's certificate (.cert.pem) or its CA's, PEM or DER"
_FIELD_ROLE = re.compile(r"Fairgate-(?P<role>[A-Za-z][A-Za-z0-9_]*)-\d+")
_PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, IndexError, TypeError)


SIGNER_CLOCK = "signer's clock"
TSA_TIME = "timestamp authority"


@dataclass(frozen=True)
class TimestampCheck:
    """The RFC 3161 signature timestamp token embedded in one signature."""

    tsa: str | None
    time: str | None
    intact: bool
    valid: bool
    trusted: bool
    for_timestamping: bool = True  # a CA-issued TSA certificate has the timeStamping extended key usage


@dataclass(frozen=True)
class SignatureCheck:
    """What was found for one signature, in signing order (``index`` counts from 1)."""

    index: int
    field_name: str
    role: str | None
    signer: str | None
    signing_time: str | None
    intact: bool
    valid: bool
    trusted: bool
    coverage: str
    modification_level: str | None
    changes_after: str
    revision: int
    issuer: str | None = None
    development_only: bool = False
    key_usage_ok: bool = True
    time_source: str = SIGNER_CLOCK
    timestamp: TimestampCheck | None = None
    #: A countersigner's decision and comment, from the signature's reason (None when not recorded).
    decision: str | None = None
    comment: str | None = None

    @property
    def label(self) -> str:
        return f"signature {self.index} ({self.field_name})"


@dataclass(frozen=True)
class VerificationReport:
    """The verdict (``ok``), each signature's check, and the reasons when not ok."""

    ok: bool
    signatures: tuple[SignatureCheck, ...]
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "ok": self.ok,
            "signatures": [asdict(check) for check in self.signatures],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class _Validated:
    """One embedded signature with pyHanko's status (None when it could not be validated)."""

    embedded: EmbeddedPdfSignature
    status: PdfSignatureStatus | None
    error: str | None


# --- the entry point --------------------------------------------------------------------------


def verify_pdf(path: Path, *, trust_roots: Sequence[Path] = ()) -> VerificationReport:
    """Check every signature in ``path`` and the revisions after it (see the module docstring)."""
    path = Path(path)
    roots = _load_trust_roots(trust_roots)
    try:
        reader = _open_pdf(path)
        return _verify_reader(path, reader, roots)
    except _DamagedPdf as damaged:
        return VerificationReport(ok=False, signatures=(), problems=(str(damaged),))


def _verify_reader(path: Path, reader: PdfFileReader, roots: list[asn1_x509.Certificate]) -> VerificationReport:
    embedded = _embedded_signatures(path, reader)
    if not embedded:
        return VerificationReport(ok=False, signatures=(), problems=(_not_signed(reader),))
    validated = [_validate(sig, roots) for sig in embedded]
    total = reader.xrefs.total_revisions
    signed_revisions = {item.embedded.signed_revision for item in validated}
    checks = tuple(
        _check(index, item, total=total, signed_revisions=signed_revisions)
        for index, item in enumerate(validated, start=1)
    )
    problems = [p for c, v in zip(checks, validated, strict=True) for p in _problems(c, v, roots)]
    problems += _sequence_problems(checks, validated, total=total, reader=reader)
    return VerificationReport(ok=not problems, signatures=checks, problems=tuple(problems))


def missing_roles(report: VerificationReport, required: Iterable[str]) -> list[str]:
    """The ``required`` roles that no signature in ``report`` was made in (``verify --require-role``)."""
    signed = {check.role for check in report.signatures}
    return [role for role in dict.fromkeys(required) if role not in signed]


def missing_role_problem(role: str) -> str:
    return f"required role {role!r} has not signed (--require-role)"


# --- reading ----------------------------------------------------------------------------------


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise VerificationError(
            f"{path}: cannot read the {what} ({exc.strerror or exc})",
            hint=f"check the path of the {what} and that you may read it",
        ) from exc


def _open_pdf(path: Path) -> PdfFileReader:
    """A pyHanko reader over the file's bytes (kept in memory: no file handle stays open)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = _read_bytes(path, "PDF")
    try:
        return PdfFileReader(io.BytesIO(data))
    except Exception as exc:  # untrusted input: see the module docstring
        if _PDF_HEADER in data[:1024]:
            raise _DamagedPdf(f"{DAMAGED} ({_describe(exc)})") from exc
        message = f"{path}: not a PDF that can be checked ({_describe(exc)})"
        raise VerificationError(message, hint="verify the report.pdf that `fairgate run` wrote") from exc


def _not_signed(reader: PdfFileReader) -> str:
    """A draft has one revision; updates without any signature suggest a removed one."""
    updates = reader.xrefs.total_revisions - 1
    if updates >= 1:
        return (
            f"{NOT_SIGNED}: there is no signature, yet the file was updated {updates} time(s) after it was "
            "made (was a signature removed?)"
        )
    title = _info_title(reader)
    if title.startswith(_REPORT_TITLE) and not title.endswith(_DRAFT_TITLE):
        return (
            f"{NOT_SIGNED}: there is no signature, yet this Fairgate report was rendered to be signed (its "
            "title does not say 'unsigned draft'): the signature was removed"
        )
    return NOT_SIGNED


def _info_title(reader: PdfFileReader) -> str:
    try:
        info = _get(reader.trailer_view, "/Info")
        title = _get(info, "/Title") if info is not None else None
        return str(title) if title is not None else ""
    except Exception:  # untrusted input: a damaged /Info only loses the hint
        return ""


class _DamagedPdf(Exception):
    """The file says it is a PDF but does not parse: checked, and INVALID (not "cannot check")."""


def _embedded_signatures(path: Path, reader: PdfFileReader) -> list[EmbeddedPdfSignature]:
    """The filled signature fields, in signing order."""
    try:
        return list(reader.embedded_signatures)
    except Exception as exc:  # untrusted input: a PDF whose signatures do not parse is INVALID
        raise _DamagedPdf(
            f"the signatures cannot be read: the signature dictionary or the file's structure "
            f"is damaged ({_describe(exc)})"
        ) from exc


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load_trust_roots(paths: Iterable[Path]) -> list[asn1_x509.Certificate]:
    return [cert for path in paths for cert in _load_certificates(Path(path))]


def _load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """All certificates in a PEM file (one or more blocks) or a DER file."""
    from asn1crypto import pem, x509

    data = _read_bytes(path, "trust certificate")
    try:
        blobs = _pem_blocks(data) if pem.detect(data) else [data]
        certs = [x509.Certificate.load(blob) for blob in blobs]
        for cert in certs:
            cert.native  # noqa: B018 - asn1crypto parses lazily; force it so errors surface here
    except _PARSE_ERRORS as exc:
        raise VerificationError(f"{path}: not a PEM or DER X.509 certificate", hint=_TRUST_HINT) from exc
    if not certs:
        raise VerificationError(f"{path}: contains no certificate", hint=_TRUST_HINT)
    return certs


def _pem_blocks(data: bytes) -> list[bytes]:
    from asn1crypto import pem

    return [der for _type, _headers, der in pem.unarmor(data, multiple=True)]


# --- validating one signature -----------------------------------------------------------------


def _validate(embedded: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> _Validated:
    """pyHanko's validation against exactly ``roots`` (never the OS trust list), offline."""
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=list(roots), allow_fetching=False)
    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context)
    except Exception as exc:  # untrusted input: see the module docstring
        return _Validated(embedded, None, _describe(exc))
    return _Validated(embedded, status, None)


def _contents_padding_clean(embedded: EmbeddedPdfSignature) -> bool:
    """Only zero bytes follow the DER-encoded CMS inside /Contents (the unsigned hole)."""
    from asn1crypto import parser

    data = embedded.pkcs7_content
    try:
        _class, _method, _tag, header, content, trailer = parser.parse(data)
    except (ValueError, TypeError):
        return False
    return not data[len(header) + len(content) + len(trailer) :].strip(b"\0")


def _check(index: int, item: _Validated, *, total: int, signed_revisions: set[int]) -> SignatureCheck:
    embedded, status = item.embedded, item.status
    field_name = str(embedded.field_name)
    later = range(embedded.signed_revision + 1, total)
    cert = _signer_cert(embedded)
    timestamp = _timestamp(status)
    reason = _reason(embedded)
    recorded = parse_reason(reason)
    return SignatureCheck(
        index=index,
        field_name=field_name,
        role=_role(field_name, reason),
        signer=_signer_name(embedded),
        signing_time=_signing_time(status),
        intact=bool(status and status.intact),
        valid=bool(status and status.valid),
        trusted=_chain_trusted(status),
        coverage=status.coverage.name if status and status.coverage else "UNKNOWN",
        modification_level=_level_name(status),
        changes_after=_changes_after(status, only_signatures=set(later) <= signed_revisions),
        revision=embedded.signed_revision,
        issuer=_common_name(cert.issuer) if cert is not None else None,
        development_only=_is_development(cert),
        key_usage_ok=_key_usage_ok(cert),
        time_source=TSA_TIME if timestamp is not None else SIGNER_CLOCK,
        timestamp=timestamp,
        decision=recorded.decision,
        comment=recorded.comment,
    )


def _signer_cert(embedded: EmbeddedPdfSignature) -> asn1_x509.Certificate | None:
    try:
        return embedded.signer_cert
    except Exception:  # untrusted input: a damaged certificate is reported by validation
        return None


def _common_name(name: asn1_x509.Name) -> str | None:
    try:
        value = name.native.get("common_name")
    except Exception:  # untrusted input
        return None
    return value[-1] if isinstance(value, list) else value


def _is_development(cert: asn1_x509.Certificate | None) -> bool:
    from audit.signing.keys import is_development_certificate

    try:
        return cert is not None and is_development_certificate(cert)
    except Exception:  # untrusted input
        return False


def _key_usage_ok(cert: asn1_x509.Certificate | None) -> bool:
    from audit.signing.keys import key_usage_allows_signing

    try:
        return cert is not None and key_usage_allows_signing(cert)
    except Exception:  # untrusted input: an unreadable extension allows nothing
        return False


def _timestamp(status: PdfSignatureStatus | None) -> TimestampCheck | None:
    """The signature timestamp token's status, or None when the signature carries none."""
    ts = status.timestamp_validity if status is not None else None
    if ts is None:
        return None
    when = getattr(ts, "timestamp", None)
    tsa_cert = getattr(ts, "signing_cert", None)
    return TimestampCheck(
        tsa=_common_name(tsa_cert.subject) if tsa_cert is not None else None,
        time=when.isoformat() if when is not None else None,
        intact=bool(ts.intact),
        valid=bool(ts.valid),
        trusted=bool(ts.trusted),
        for_timestamping=_for_timestamping(tsa_cert),
    )


def _for_timestamping(cert: asn1_x509.Certificate | None) -> bool:
    """Self-issued (its own trust anchor), or with the timeStamping extended key usage (RFC 3161 §2.3)."""
    try:
        if cert is None or cert.self_issued:
            return cert is not None
        usage = cert.extended_key_usage_value
        return usage is not None and "time_stamping" in set(usage.native)
    except Exception:  # untrusted input: an unreadable extension allows nothing
        return False


def _role(field_name: str, reason: str | None) -> str | None:
    """The role from the field name ``Fairgate-<role>-<n>``, else from the signing reason."""
    match = _FIELD_ROLE.fullmatch(field_name)
    return match["role"] if match else parse_reason(reason).role


def _reason(embedded: EmbeddedPdfSignature) -> str | None:
    try:
        reason = embedded.sig_object.get("/Reason")
    except Exception:  # untrusted input: a damaged reason only loses the role hint
        return None
    return str(reason) if reason is not None else None


def _signer_name(embedded: EmbeddedPdfSignature) -> str | None:
    cert = _signer_cert(embedded)
    return _common_name(cert.subject) if cert is not None else None


def _signing_time(status: PdfSignatureStatus | None) -> str | None:
    when = status.signer_reported_dt if status else None
    return when.isoformat() if when else None


def _chain_trusted(status: PdfSignatureStatus | None) -> bool:
    """The signer's certificate chains to a given trust root (separately from intact/valid)."""
    return status is not None and status.trust_problem_indic is None and status.validation_path is not None


def _level_name(status: PdfSignatureStatus | None) -> str | None:
    level = status.modification_level if status else None
    return level.name if level is not None else None


def _changes_after(status: PdfSignatureStatus | None, *, only_signatures: bool) -> str:
    """``none``, ``further signatures only`` or ``other changes``."""
    from pyhanko.sign.validation import SignatureCoverageLevel

    if status is None:
        return "unknown"
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "none"
    if only_signatures and _only_form_filling(status):
        return "further signatures only"
    return "other changes"


def _only_form_filling(status: PdfSignatureStatus) -> bool:
    """pyHanko's diff analysis found nothing beyond signing/filling fields, no DocMDP breach."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    return level is not None and level <= ModificationLevel.FORM_FILLING and bool(status.docmdp_ok)


# --- judging ----------------------------------------------------------------------------------


def _problems(check: SignatureCheck, item: _Validated, roots: list[asn1_x509.Certificate]) -> list[str]:
    """Why this signature, on its own, is not acceptable."""
    if item.status is None:
        return [f"{check.label}: cannot be validated ({item.error})"]
    problems = []
    if not check.intact:
        problems.append(f"{check.label}: the signed content was changed (digest mismatch)")
    elif not check.valid:
        problems.append(f"{check.label}: the cryptographic signature is invalid")
    if not _contents_padding_clean(item.embedded):
        problems.append(f"{check.label}: unexpected data after the signature value in /Contents")
    if not check.key_usage_ok:
        problems.append(
            f"{check.label}: signer certificate {check.signer!r} (issued by {check.issuer!r}) does not allow "
            "non-repudiation (content commitment): it is not a document-signing certificate"
        )
    if not roots:
        problems.append(f"{check.label}: {NO_TRUST_ROOTS}")
    elif (
        check.intact
        and check.valid
        and not check.trusted
        and (check.key_usage_ok or not _constraints_failure(item.status))
    ):  # trust is moot for a broken signature, and a key-usage refusal is reported as such
        problems.append(f"{check.label}: signer {check.signer!r} is not trusted by the given roots")
    problems += _timestamp_problems(check, roots)
    return problems


def _constraints_failure(status: PdfSignatureStatus) -> bool:
    """pyHanko found a chain but rejected it on its constraints (key usage among them)."""
    from pyhanko.sign.ades.report import AdESIndeterminate

    return status.trust_problem_indic == AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE


def _timestamp_problems(check: SignatureCheck, roots: list[asn1_x509.Certificate]) -> list[str]:
    ts = check.timestamp
    if ts is None:
        return []
    if not (ts.intact and ts.valid):
        return [
            f"{check.label}: the timestamp token from {ts.tsa!r} is invalid (damaged, or not made for this signature)"
        ]
    if not ts.for_timestamping:
        return [
            f"{check.label}: the certificate of timestamp authority {ts.tsa!r} is not for timestamping "
            "(no timeStamping extended key usage)"
        ]
    if roots and not ts.trusted:
        return [
            f"{check.label}: timestamp authority {ts.tsa!r} is not trusted by the given roots "
            "(pass its CA certificate with --trust, or the time it vouches for cannot be relied on)"
        ]
    return []


def _sequence_problems(
    checks: Sequence[SignatureCheck],
    validated: Sequence[_Validated],
    *,
    total: int,
    reader: PdfFileReader | None = None,
) -> list[str]:
    """Nothing but signatures may follow a signature, and the last one must cover the file."""
    signed = {check.revision for check in checks}
    found = [
        _unsigned_updates_problem(check, checks, total=total, signed=signed, reader=reader)
        or _later_signatures_problem(
            check,
            item,
            is_last=check is checks[-1],
            unsigned_later=any(r not in signed for r in range(check.revision + 1, total)),
        )
        for check, item in zip(checks, validated, strict=True)
    ]
    return [problem for problem in found if problem]


def _unsigned_updates_problem(
    check: SignatureCheck,
    checks: Sequence[SignatureCheck],
    *,
    total: int,
    signed: set[int],
    reader: PdfFileReader | None = None,
) -> str | None:
    """Revisions between this signature and the next (or the end) that are not signatures."""
    unsigned = [r for r in _revisions_until_next(check, checks, total) if r not in signed]
    if not unsigned:
        return None
    changed = describe_revisions(reader, unsigned) if reader is not None else []
    what = f" changing {', '.join(changed)}" if changed else " (e.g. a metadata edit)"
    return (
        f"{check.label}: followed by {len(unsigned)} unsigned update(s){what}; "
        "nothing but further signatures may follow a signature"
    )


def _later_signatures_problem(
    check: SignatureCheck, item: _Validated, *, is_last: bool, unsigned_later: bool = False
) -> str | None:
    """The last signature must cover the file; an earlier one may be followed by signing only.

    When an unsigned update follows somewhere later, that update is the reported problem (it is
    also why pyHanko's diff analysis of the earlier signatures sees more than form filling).
    """
    if is_last:
        if check.coverage == "ENTIRE_FILE":
            return None
        return f"{check.label}: the last signature does not cover the entire file"
    if item.status is None or _only_form_filling(item.status) or unsigned_later:
        return None  # a status of None was already reported as "cannot be validated"
    return f"{check.label}: a later signature's update changed more than signature fields ({check.modification_level})"


# --- naming what an update changed ------------------------------------------------------------

_MAX_NAMED = 6


def describe_revisions(reader: PdfFileReader, revisions: Iterable[int]) -> list[str]:
    """What the objects written in ``revisions`` are, in words ("page 1 content", "XMP metadata", …).

    Best effort over untrusted input: anything that cannot be read is named by its object number.
    """
    names: list[str] = []
    for revision in revisions:
        try:
            found = _describe_revision(reader, revision)
        except Exception:  # untrusted input: see the module docstring
            found = ["objects that cannot be read"]
        names += [name for name in found if name not in names]
    if len(names) > _MAX_NAMED:
        names = [*names[:_MAX_NAMED], f"{len(names) - _MAX_NAMED} more"]
    return names


def _describe_revision(reader: PdfFileReader, revision: int) -> list[str]:
    refs = sorted(reader.xrefs.explicit_refs_in_revision(revision), key=lambda r: (r.idnum, r.generation))
    resolver = reader.get_historical_resolver(revision)
    roles = _object_roles(resolver)
    named = [roles.get((ref.idnum, ref.generation)) or _by_type(resolver.get_object(ref)) for ref in refs]
    named = [name for name in named if name != _CONTAINER]
    others = sum(1 for name in named if name is None)
    found = list(dict.fromkeys(name for name in named if name is not None))
    if others:
        found.append(f"{others} other object{'s' if others != 1 else ''}")
    return found


_CONTAINER = ""  # cross-reference and object streams: how a revision is stored, not what it changes
_TYPE_NAMES = {
    "/XRef": _CONTAINER,
    "/ObjStm": _CONTAINER,
    "/Metadata": "XMP metadata",
    "/EmbeddedFile": "an attached file",
    "/Filespec": "an attached file",
    "/Sig": "a signature value",
    "/Page": "a page",
    "/Pages": "the page tree",
    "/Annot": "an annotation",
    "/Font": "a font",
    "/XObject": "an image or form",
}


def _by_type(obj: Any) -> str | None:
    """A name from the object's own /Type (for objects the document no longer points to)."""
    kind = _get(obj, "/Type") if hasattr(obj, "keys") else None
    return _TYPE_NAMES.get(str(kind)) if kind is not None else None


def _object_roles(resolver: Any) -> dict[tuple[int, int], str]:
    """Object (number, generation) -> what it is in this revision of the document."""
    roles: dict[tuple[int, int], str] = {}

    def mark(ref: Any, role: str) -> None:
        key = _ref_key(ref)
        if key is not None:
            roles.setdefault(key, role)

    trailer = resolver.trailer_view
    mark(trailer.raw_get("/Info") if "/Info" in trailer else None, "document information (/Info)")
    root = resolver.root
    mark(root.raw_get("/Metadata") if "/Metadata" in root else None, "XMP metadata")
    names = root.raw_get("/Names") if "/Names" in root else None
    mark(names, "the list of attached files")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        mark(names.get_object().raw_get("/EmbeddedFiles"), "the list of attached files")
    for name, spec_ref in _embedded_file_specs(root):
        mark(spec_ref, f"attached file {name}")
        spec = spec_ref.get_object()
        streams: Any = _get(spec, "/EF") or {}  # a pyHanko DictionaryObject (raw_get), or empty
        for key in ("/F", "/UF"):
            if key in streams:
                mark(streams.raw_get(key), f"attached file {name}")
    for number, page_ref in enumerate(_page_refs(root["/Pages"]), start=1):
        page = page_ref.get_object()
        contents = page.raw_get("/Contents") if "/Contents" in page else None
        mark(contents, f"page {number} content")
        target = contents.get_object() if contents is not None else None
        for content_ref in target if isinstance(target, list) else []:
            mark(content_ref, f"page {number} content")
        for annot in _get(page, "/Annots") or []:
            mark(annot, f"page {number} annotations")
        mark(page_ref, f"page {number}")
    if "/AcroForm" in root:
        mark(root.raw_get("/AcroForm"), "the form (signature fields)")
    mark(resolver.root_ref, "document catalog")
    return roles


def _ref_key(ref: Any) -> tuple[int, int] | None:
    idnum = getattr(ref, "idnum", None)
    if idnum is None:
        reference = getattr(ref, "reference", None)  # an IndirectObject wraps its Reference
        return _ref_key(reference) if reference is not None else None
    return int(idnum), int(getattr(ref, "generation", 0))


def _embedded_file_specs(root: Any) -> Iterable[tuple[str, Any]]:
    """(name, file specification reference) from the /EmbeddedFiles name tree (leaves and kids)."""
    names = _get(root, "/Names")
    tree = _get(names, "/EmbeddedFiles") if names is not None else None
    stack = [tree] if tree is not None else []
    while stack:
        node = stack.pop()
        leaves: Any = _get(node, "/Names") or []  # a pyHanko ArrayObject (raw_get), or empty
        for i in range(0, len(leaves) - 1, 2):
            yield str(leaves[i]), leaves.raw_get(i + 1)
        stack += [kid.get_object() for kid in _get(node, "/Kids") or []]


def _page_refs(node_ref_or_obj: Any, depth: int = 0) -> Iterable[Any]:
    """Page references in document order (a bounded walk of the page tree)."""
    node = node_ref_or_obj.get_object()
    if depth > 32:
        return
    for kid in node.raw_get("/Kids") if "/Kids" in node else []:
        kid_obj = kid.get_object()
        if _get(kid_obj, "/Type") == "/Pages":
            yield from _page_refs(kid, depth + 1)
        else:
            yield kid


def _revisions_until_next(check: SignatureCheck, checks: Sequence[SignatureCheck], total: int) -> range:
    """Revisions after ``check`` up to (and including) the next signature's, or to the end."""
    following = [c.revision for c in checks if c.revision > check.revision]
    return range(check.revision + 1, min(following, default=total - 1) + 1)


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` dereferenced, or None when it is absent (pyHanko's ``.get`` does not dereference)."""
    return obj[key] if key in obj else None  # noqa: SIM401 - .get would not dereference


# --- attachments ------------------------------------------------------------------------------


def attached_files(path: Path) -> dict[str, bytes]:
    """Embedded files by name: the /EmbeddedFiles name tree and file attachment annotations.

    This reads the file's latest revision; call ``verify_pdf`` first so that revision is signed.
    Two different files under one name make the evidence ambiguous: ``VerificationError``.
    """
    path = Path(path)
    reader = _open_with_pypdf(path)
    try:
        found = list(_iter_attachments(reader))
    except Exception as exc:  # untrusted input: see the module docstring
        raise VerificationError(f"{path}: cannot read the attached files ({_describe(exc)})") from exc
    return _by_name(path, found)


def _by_name(path: Path, found: Iterable[tuple[str, bytes]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, data in found:
        if files.setdefault(name, data) != data:
            raise VerificationError(f"{path}: two different attachments are named {name!r}")
    return files


def _open_with_pypdf(path: Path) -> Any:
    from pypdf import PdfReader

    data = _read_bytes(path, "PDF")
    try:
        return PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:  # untrusted input: see the module docstring
        raise VerificationError(f"{path}: not a PDF that can be read ({_describe(exc)})") from exc


def _iter_attachments(reader: Any) -> Iterable[tuple[str, bytes]]:
    for name, contents in reader.attachments.items():
        for data in contents:
            yield name, data
    yield from _annotation_attachments(reader)


def _annotation_attachments(reader: Any) -> Iterable[tuple[str, bytes]]:
    """Files attached to pages as /FileAttachment annotations."""
    for page in reader.pages:
        for annot in _resolved(page.get("/Annots")) or ():
            annot = _resolved(annot)
            if annot.get("/Subtype") == "/FileAttachment":
                spec = _resolved(annot.get("/FS")) or {}
                streams = _resolved(spec.get("/EF")) or {}
                stream = _resolved(streams.get("/UF") or streams.get("/F"))
                name = spec.get("/UF") or spec.get("/F")
                if stream is not None and name is not None:
                    yield str(name), stream.get_data()


def _resolved(obj: Any) -> Any:
    """pypdf indirect references -> objects (None stays None)."""
    return obj.get_object() if obj is not None else None
