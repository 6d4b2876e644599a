"""Sign a PDF report with an invisible PAdES signature, as an incremental update.

Why these choices:

- PAdES baseline (``/ETSI.CAdES.detached``, SHA-256) is what EU and most other validators expect
  for long-lived signed documents.
- The author's signature is *invisible*: the report draws its sign-off block in HTML.
- A countersignature (reviewer, approver) fills the empty signature field the report reserved on
  its sign-off line (``Fairgate-<role>-1``, see ``audit.report.sigfields``) with a visible stamp —
  name, role, decision, date — drawn by ``audit.signing.stamp`` with an embedded font (PDF/A-3b).
  When the role has no empty field left (an older report, a second reviewer), it signs a new,
  invisible field instead.
- Each signature is an incremental update, so a reviewer can countersign the author's report
  without invalidating the first signature. The field name ``Fairgate-<role>-<n>`` records the
  role, and the signature's ``/Reason`` (inside the signed bytes) records role, decision and
  comment as ``Fairgate audit report: <role>; decision: <decision>; comment: <text>``, which
  ``audit.signing.verify`` reads back (``parse_reason``). Any PAdES tool can fill a reserved field;
  its role then comes from the field name, and its decision from the reason if it follows that form.
- A timestamp authority is contacted only when one is given (``tsa_url``): then pyHanko asks it
  (RFC 3161, over HTTP) for a token over the signature value, and the token is embedded in the
  signature as an unsigned attribute (PAdES B-T), so a verifier learns the time from the TSA, not
  from the signer. Without one, signing works offline and the signing time is the signer's own
  clock (the report's cover says which). An unreachable or misbehaving TSA is a ``SigningError``
  and nothing is written.
- The output is written atomically (temporary file, then rename), so ``dst`` may be ``src``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audit.errors import SigningError
from audit.util.atomic import write_bytes

if TYPE_CHECKING:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers import PdfSignatureMetadata, Signer
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko.stamp import StaticStampStyle

FIELD_PREFIX = "Fairgate"
REASON_PREFIX = "Fairgate audit report: "
# Field names are PDF partial names: no periods (they separate the field hierarchy).
_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: How long to wait for the timestamp authority (pyHanko asks it twice: a size estimate, then the token).
TSA_TIMEOUT_SECONDS = 10
#: A countersigner's decision, as recorded in the signature's reason and the ledger.
DECISIONS = ("approve", "approve with conditions", "reject")
MAX_COMMENT_CHARS = 1000
_REASON = re.compile(
    r"Fairgate audit report: (?P<role>[A-Za-z][A-Za-z0-9_]*)"
    r"(?:; decision: (?P<decision>approve with conditions|approve|reject))?"
    r"(?:; comment: (?P<comment>.*))?",
    re.DOTALL,
)


@dataclass(frozen=True)
class SignedField:
    """Which signature field a signature went into, and whether it shows a stamp on the page."""

    name: str
    visible: bool


@dataclass(frozen=True)
class Reason:
    """What a signature's ``/Reason`` says in Fairgate's form (all None when it is in another form)."""

    role: str | None = None
    decision: str | None = None
    comment: str | None = None


def signing_reason(role: str, *, decision: str | None = None, comment: str | None = None) -> str:
    """``Fairgate audit report: <role>[; decision: <decision>][; comment: <comment>]``."""
    reason = REASON_PREFIX + role
    if decision is not None:
        reason += f"; decision: {decision}"
    if comment:
        reason += f"; comment: {comment}"
    return reason


def parse_reason(reason: str | None) -> Reason:
    """The role, decision and comment recorded by ``signing_reason`` (or by a tool told that form)."""
    match = _REASON.fullmatch(reason) if reason is not None else None
    if match is None:
        return Reason()
    return Reason(match["role"], match["decision"], match["comment"])


def check_decision(decision: str | None, comment: str | None) -> None:
    """A decision from ``DECISIONS``; conditions and rejections say why; a comment is one line of text."""
    if decision is not None and decision not in DECISIONS:
        raise SigningError(f"decision {decision!r}: choose one of {', '.join(DECISIONS)}")
    if decision in ("approve with conditions", "reject") and not (comment and comment.strip()):
        raise SigningError(
            f"a decision to {decision} needs a comment saying why",
            hint='add --comment "…" (the conditions, or the reason for rejecting)',
        )
    if comment is not None and (len(comment) > MAX_COMMENT_CHARS or not comment.isprintable()):
        raise SigningError(
            f"--comment: at most {MAX_COMMENT_CHARS} characters on one line (no control characters)",
            hint="keep the comment short; longer notes belong in the review record it points to",
        )


def sign_pdf(
    src: Path,
    dst: Path,
    *,
    signer: Signer,
    role: str = "author",
    reason: str | None = None,
    field_name: str | None = None,
    location: str | None = None,
    tsa_url: str | None = None,
    decision: str | None = None,
    comment: str | None = None,
) -> SignedField:
    """Add a PAdES signature for ``role`` to ``src`` and write the result to ``dst``.

    The signature fills the role's empty reserved field with a visible stamp when the report has one
    (see the module docstring), else it is an invisible new field. ``decision`` and ``comment`` are
    recorded in the signature's reason (unless ``reason`` replaces it). With ``tsa_url``, the
    signature carries an RFC 3161 timestamp token from that authority.
    """
    src, dst = Path(src), Path(dst)
    _check_role(role)
    check_decision(decision, comment)
    if tsa_url is not None:
        check_tsa_url(tsa_url)
    writer = _open_for_update(src, _read_pdf(src))
    fields = _signature_fields(writer)
    reserved = None if field_name else _reserved_field(fields, role)
    name = field_name or (reserved[0] if reserved else default_field_name(role, set(fields)))
    meta = _signature_metadata(
        name, reason=reason or signing_reason(role, decision=decision, comment=comment), location=location
    )
    style = None
    if reserved is not None:
        from audit.signing.keys import signer_description
        from audit.signing.stamp import stamp_pdf, stamp_style

        width, height = reserved[1]
        drawn = stamp_pdf(
            signer=signer_description(signer)["common_name"] or "(unnamed signer)",
            role=role,
            decision=decision,
            comment=comment,
            when=dt.datetime.now(dt.UTC),
            width=width,
            height=height,
        )
        style = stamp_style(drawn)
    write_bytes(dst, _signed_bytes(src, writer, meta, signer, tsa_url=tsa_url, stamp=style))
    return SignedField(name=name, visible=reserved is not None)


def check_tsa_url(url: str) -> None:
    """A timestamp authority is an http(s) URL with a host; anything else is refused up front."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise SigningError(
            f"timestamp authority {url!r}: not an http:// or https:// URL",
            hint="pass the RFC 3161 URL your TSA publishes, e.g. --tsa https://tsa.example.com/tsr",
        )
    if parts.username is not None or parts.password is not None:
        # the URL is printed on the report's cover and in messages: it must not carry a secret
        raise SigningError(
            "timestamp authority URL: contains credentials (user:password@), which would be printed in the report",
            hint="use a timestamp authority that needs no login",
        )


def default_field_name(role: str, existing: set[str]) -> str:
    """``Fairgate-<role>-<n>`` with the smallest n >= 1 not already used in the document."""
    n = 1
    while f"{FIELD_PREFIX}-{role}-{n}" in existing:
        n += 1
    return f"{FIELD_PREFIX}-{role}-{n}"


def _check_role(role: str) -> None:
    if not _ROLE.fullmatch(role):
        raise SigningError(
            f"signing role {role!r}: use letters, digits and underscores, starting with a letter",
            hint="for example --role author or --role reviewer",
        )


def _read_pdf(src: Path) -> bytes:
    try:
        return src.read_bytes()
    except OSError as exc:
        raise SigningError(f"{src}: cannot read the PDF to sign ({exc.strerror or exc})") from exc


def _open_for_update(src: Path, data: bytes) -> IncrementalPdfFileWriter:
    """An incremental writer over the PDF bytes (the original bytes stay untouched)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError

    try:
        return IncrementalPdfFileWriter(io.BytesIO(data))
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(f"{src}: not a PDF that can be signed ({exc})") from exc


def _signature_fields(writer: IncrementalPdfFileWriter) -> dict[str, tuple[bool, tuple[float, float]]]:
    """Every signature field: name -> (filled, (width, height) of its widget in points)."""
    from pyhanko.sign.fields import enumerate_sig_fields

    found = {}
    for name, value, ref in enumerate_sig_fields(writer):
        field = ref.get_object()
        widget = field["/Kids"][0].get_object() if "/Rect" not in field and "/Kids" in field else field
        x1, y1, x2, y2 = (float(v) for v in widget.get("/Rect", (0, 0, 0, 0)))
        found[str(name)] = (value is not None, (abs(x2 - x1), abs(y2 - y1)))
    return found


def _reserved_field(
    fields: dict[str, tuple[bool, tuple[float, float]]], role: str
) -> tuple[str, tuple[float, float]] | None:
    """The role's first empty field with an area on the page (``Fairgate-<role>-<n>``), if any."""
    pattern = re.compile(rf"{FIELD_PREFIX}-{re.escape(role)}-(\d+)")
    candidates = sorted(
        (int(match[1]), name, size)
        for name, (filled, size) in fields.items()
        if (match := pattern.fullmatch(name)) and not filled and size[0] > 1 and size[1] > 1
    )
    return (candidates[0][1], candidates[0][2]) if candidates else None


def _signature_metadata(field_name: str, *, reason: str, location: str | None) -> PdfSignatureMetadata:
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.signers import PdfSignatureMetadata

    return PdfSignatureMetadata(
        field_name=field_name,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )


def _signed_bytes(
    src: Path,
    writer: IncrementalPdfFileWriter,
    meta: PdfSignatureMetadata,
    signer: Signer,
    *,
    tsa_url: str | None,
    stamp: StaticStampStyle | None = None,
) -> bytes:
    """Run pyHanko; a new field without a box is an invisible signature, a reserved one gets ``stamp``."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.signers import PdfSigner

    out = io.BytesIO()
    try:
        signing = PdfSigner(meta, signer=signer, timestamper=_timestamper(tsa_url), stamp_style=stamp)
        signing.sign_pdf(writer, output=out)
    except OSError as exc:  # pyHanko's TimestampRequestError (and timeouts) are OSErrors
        if tsa_url is None:
            raise
        raise SigningError(
            f"timestamp authority {tsa_url}: no timestamp ({_cause(exc)})",
            hint="check the URL and that this machine can reach it; sign without --tsa to use the signer's clock",
        ) from exc
    except (PdfError, ValueError) as exc:  # pyHanko's own SigningError is a ValueError
        raise SigningError(f"{src}: cannot sign field {meta.field_name!r} ({exc})") from exc
    return out.getvalue()


def _timestamper(tsa_url: str | None) -> HTTPTimeStamper | None:
    if tsa_url is None:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT_SECONDS)


def _cause(exc: BaseException) -> str:
    """The innermost reason, on one line (e.g. 'Connect call failed ...')."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
