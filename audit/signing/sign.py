"""Sign a PDF report with an invisible PAdES signature, as an incremental update.

Why these choices:

- PAdES baseline (``/ETSI.CAdES.detached``, SHA-256) is what EU and most other validators expect
  for long-lived signed documents.
- The signature is *invisible*: the report draws its own sign-off block in HTML (pyHanko's stamp
  font is not embedded, which breaks PDF/A-3b).
- Each signature is an incremental update, so a reviewer can countersign the author's report
  without invalidating the first signature. The field name ``Fairgate-<role>-<n>`` records the
  role, which ``audit.signing.verify`` reads back.
- A timestamp authority is contacted only when one is given (``tsa_url``): then pyHanko asks it
  (RFC 3161, over HTTP) for a token over the signature value, and the token is embedded in the
  signature as an unsigned attribute (PAdES B-T), so a verifier learns the time from the TSA, not
  from the signer. Without one, signing works offline and the signing time is the signer's own
  clock (the report's cover says which). An unreachable or misbehaving TSA is a ``SigningError``
  and nothing is written.
- The output is written atomically (temporary file, then rename), so ``dst`` may be ``src``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from audit.errors import SigningError
from audit.util.atomic import write_bytes

if TYPE_CHECKING:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers import PdfSignatureMetadata, Signer
    from pyhanko.sign.timestamps import HTTPTimeStamper

FIELD_PREFIX = "Fairgate"
REASON_PREFIX = "Fairgate audit report: "
# Field names are PDF partial names: no periods (they separate the field hierarchy).
_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: How long to wait for the timestamp authority (pyHanko asks it twice: a size estimate, then the token).
TSA_TIMEOUT_SECONDS = 10


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
) -> None:
    """Add an invisible PAdES signature for ``role`` to ``src`` and write the result to ``dst``.

    With ``tsa_url``, the signature carries an RFC 3161 timestamp token from that authority.
    """
    src, dst = Path(src), Path(dst)
    _check_role(role)
    if tsa_url is not None:
        check_tsa_url(tsa_url)
    writer = _open_for_update(src, _read_pdf(src))
    name = field_name or default_field_name(role, _signature_field_names(writer))
    meta = _signature_metadata(name, reason=reason or REASON_PREFIX + role, location=location)
    write_bytes(dst, _signed_bytes(src, writer, meta, signer, tsa_url=tsa_url))


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


def _signature_field_names(writer: IncrementalPdfFileWriter) -> set[str]:
    """Names of all signature fields, filled or empty."""
    from pyhanko.sign.fields import enumerate_sig_fields

    return {name for name, _value, _ref in enumerate_sig_fields(writer)}


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
) -> bytes:
    """Run pyHanko; a new field without a box is an invisible signature."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.signers import PdfSigner

    out = io.BytesIO()
    try:
        PdfSigner(meta, signer=signer, timestamper=_timestamper(tsa_url)).sign_pdf(writer, output=out)
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
