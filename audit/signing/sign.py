"""Sign a PDF report with an invisible PAdES signature, as an incremental update.

Why these choices:

- PAdES baseline (``/ETSI.CAdES.detached``, SHA-256) is what EU and most other validators expect
  for long-lived signed documents.
- The signature is *invisible*: the report draws its own sign-off block in HTML (pyHanko's stamp
  font is not embedded, which breaks PDF/A-3b).
- Each signature is an incremental update, so a reviewer can countersign the author's report
  without invalidating the first signature. The field name ``Fairgate-<role>-<n>`` records the
  role, which ``audit.signing.verify`` reads back.
- No timestamp authority is contacted: signing works offline; the signing time is the signer's
  own claim.
- The output is written atomically (temporary file, then rename), so ``dst`` may be ``src``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from audit.atomic import write_bytes
from audit.errors import SigningError

if TYPE_CHECKING:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers import PdfSignatureMetadata, Signer

FIELD_PREFIX = "Fairgate"
REASON_PREFIX = "Fairgate audit report: "
# Field names are PDF partial names: no periods (they separate the field hierarchy).
_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def sign_pdf(
    src: Path,
    dst: Path,
    *,
    signer: Signer,
    role: str = "author",
    reason: str | None = None,
    field_name: str | None = None,
    location: str | None = None,
) -> None:
    """Add an invisible PAdES signature for ``role`` to ``src`` and write the result to ``dst``."""
    src, dst = Path(src), Path(dst)
    _check_role(role)
    writer = _open_for_update(src, _read_pdf(src))
    name = field_name or default_field_name(role, _signature_field_names(writer))
    meta = _signature_metadata(name, reason=reason or REASON_PREFIX + role, location=location)
    write_bytes(dst, _signed_bytes(src, writer, meta, signer))


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


def _signature_field_names(writer: IncrementalPdfFileWriter) -> set[str]:
    """Names of all signature fields, filled or empty."""
    from pyhanko.sign.fields import enumerate_sig_fields

    return {name for name, _value, _ref in enumerate_sig_fields(writer)}


def _signature_metadata(
    field_name: str, *, reason: str, location: str | None
) -> PdfSignatureMetadata:
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
    src: Path, writer: IncrementalPdfFileWriter, meta: PdfSignatureMetadata, signer: Signer
) -> bytes:
    """Run pyHanko; a new field without a box is an invisible signature."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.signers import PdfSigner

    out = io.BytesIO()
    try:
        PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
    except (PdfError, ValueError) as exc:  # pyHanko's own SigningError is a ValueError
        raise SigningError(f"{src}: cannot sign field {meta.field_name!r} ({exc})") from exc
    return out.getvalue()
