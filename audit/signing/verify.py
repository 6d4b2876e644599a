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

A signature's ``/Contents`` hole is the one part of the file no signature covers; pyHanko ignores
whatever follows the CMS blob there, so we also require that padding to be zeros (otherwise about
a kilobyte could be changed or hidden in a signed file without any check noticing).

A file with no signature gives ``ok=False`` ("not signed"). A file that cannot be read or parsed
raises ``VerificationError``: that is "cannot check", not "checked and invalid". The input is
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

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import EmbeddedPdfSignature, PdfSignatureStatus

NOT_SIGNED = "not signed"
NO_TRUST_ROOTS = "signer not trusted: pass --trust CERT.pem"
_TRUST_HINT = "pass the signer's certificate (.cert.pem) or its CA's, PEM or DER"
_FIELD_ROLE = re.compile(r"Fairgate-(?P<role>[A-Za-z][A-Za-z0-9_]*)-\d+")
_REASON_ROLE = re.compile(r"Fairgate audit report: (?P<role>\S+)")
_PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, IndexError, TypeError)


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
    reader = _open_pdf(path)
    embedded = _embedded_signatures(path, reader)
    if not embedded:
        return VerificationReport(ok=False, signatures=(), problems=(NOT_SIGNED,))
    validated = [_validate(sig, roots) for sig in embedded]
    total = reader.xrefs.total_revisions
    signed_revisions = {item.embedded.signed_revision for item in validated}
    checks = tuple(
        _check(index, item, total=total, signed_revisions=signed_revisions)
        for index, item in enumerate(validated, start=1)
    )
    problems = [p for c, v in zip(checks, validated, strict=True) for p in _problems(c, v, roots)]
    problems += _sequence_problems(checks, validated, total=total)
    return VerificationReport(ok=not problems, signatures=checks, problems=tuple(problems))


# --- reading ----------------------------------------------------------------------------------


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise VerificationError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from exc


def _open_pdf(path: Path) -> PdfFileReader:
    """A pyHanko reader over the file's bytes (kept in memory: no file handle stays open)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    data = _read_bytes(path, "PDF")
    try:
        return PdfFileReader(io.BytesIO(data))
    except Exception as exc:  # untrusted input: see the module docstring
        message = f"{path}: not a PDF that can be checked ({_describe(exc)})"
        raise VerificationError(message) from exc


def _embedded_signatures(path: Path, reader: PdfFileReader) -> list[EmbeddedPdfSignature]:
    """The filled signature fields, in signing order."""
    try:
        return list(reader.embedded_signatures)
    except Exception as exc:  # untrusted input: see the module docstring
        raise VerificationError(f"{path}: cannot read the signatures ({_describe(exc)})") from exc


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
        raise VerificationError(
            f"{path}: not a PEM or DER X.509 certificate", hint=_TRUST_HINT
        ) from exc
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


def _check(
    index: int, item: _Validated, *, total: int, signed_revisions: set[int]
) -> SignatureCheck:
    embedded, status = item.embedded, item.status
    field_name = str(embedded.field_name)
    later = range(embedded.signed_revision + 1, total)
    return SignatureCheck(
        index=index,
        field_name=field_name,
        role=_role(field_name, _reason(embedded)),
        signer=_signer_name(embedded),
        signing_time=_signing_time(status),
        intact=bool(status and status.intact),
        valid=bool(status and status.valid),
        trusted=_chain_trusted(status),
        coverage=status.coverage.name if status and status.coverage else "UNKNOWN",
        modification_level=_level_name(status),
        changes_after=_changes_after(status, only_signatures=set(later) <= signed_revisions),
        revision=embedded.signed_revision,
    )


def _role(field_name: str, reason: str | None) -> str | None:
    """The role from the field name ``Fairgate-<role>-<n>``, else from the signing reason."""
    match = _FIELD_ROLE.fullmatch(field_name)
    if match is None and reason is not None:
        match = _REASON_ROLE.fullmatch(reason)
    return match["role"] if match else None


def _reason(embedded: EmbeddedPdfSignature) -> str | None:
    try:
        reason = embedded.sig_object.get("/Reason")
    except Exception:  # untrusted input: a damaged reason only loses the role hint
        return None
    return str(reason) if reason is not None else None


def _signer_name(embedded: EmbeddedPdfSignature) -> str | None:
    try:
        return embedded.signer_cert.subject.native.get("common_name")
    except Exception:  # untrusted input: a damaged certificate is reported by validation
        return None


def _signing_time(status: PdfSignatureStatus | None) -> str | None:
    when = status.signer_reported_dt if status else None
    return when.isoformat() if when else None


def _chain_trusted(status: PdfSignatureStatus | None) -> bool:
    """The signer's certificate chains to a given trust root (separately from intact/valid)."""
    return (
        status is not None
        and status.trust_problem_indic is None
        and status.validation_path is not None
    )


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


def _problems(
    check: SignatureCheck, item: _Validated, roots: list[asn1_x509.Certificate]
) -> list[str]:
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
    if not roots:
        problems.append(f"{check.label}: {NO_TRUST_ROOTS}")
    elif not check.trusted:
        problems.append(f"{check.label}: signer {check.signer!r} is not trusted by the given roots")
    return problems


def _sequence_problems(
    checks: Sequence[SignatureCheck], validated: Sequence[_Validated], *, total: int
) -> list[str]:
    """Nothing but signatures may follow a signature, and the last one must cover the file."""
    signed = {check.revision for check in checks}
    found = [
        _unsigned_updates_problem(check, checks, total=total, signed=signed)
        or _later_signatures_problem(check, item, is_last=check is checks[-1])
        for check, item in zip(checks, validated, strict=True)
    ]
    return [problem for problem in found if problem]


def _unsigned_updates_problem(
    check: SignatureCheck, checks: Sequence[SignatureCheck], *, total: int, signed: set[int]
) -> str | None:
    """Revisions between this signature and the next (or the end) that are not signatures."""
    unsigned = [r for r in _revisions_until_next(check, checks, total) if r not in signed]
    if not unsigned:
        return None
    return (
        f"{check.label}: followed by {len(unsigned)} unsigned update(s) (e.g. a metadata edit); "
        "nothing but further signatures may follow a signature"
    )


def _later_signatures_problem(
    check: SignatureCheck, item: _Validated, *, is_last: bool
) -> str | None:
    """The last signature must cover the file; an earlier one may be followed by signing only."""
    if is_last:
        if check.coverage == "ENTIRE_FILE":
            return None
        return f"{check.label}: the last signature does not cover the entire file"
    if item.status is None or _only_form_filling(item.status):
        return None  # a status of None was already reported as "cannot be validated"
    return (
        f"{check.label}: a later signature's update changed more than signature fields "
        f"({check.modification_level})"
    )


def _revisions_until_next(
    check: SignatureCheck, checks: Sequence[SignatureCheck], total: int
) -> range:
    """Revisions after ``check`` up to (and including) the next signature's, or to the end."""
    following = [c.revision for c in checks if c.revision > check.revision]
    return range(check.revision + 1, min(following, default=total - 1) + 1)


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
        raise VerificationError(
            f"{path}: cannot read the attached files ({_describe(exc)})"
        ) from exc
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
