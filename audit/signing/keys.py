"""Signing keys: load a PKCS#12 key for pyHanko, or make a self-signed development key.

Why this module exists:

- Production reports are signed with an organisation's own key (a PKCS#12 ``.p12``/``.pfx`` file
  issued by its CA). ``load_signer`` opens it and turns every failure into a ``SigningError`` that
  names the file. pyHanko's ``SimpleSigner.load_pkcs12`` returns ``None`` on a wrong passphrase
  (it only logs), so we read the file ourselves and use ``load_pkcs12_data``, which raises.
- ``generate_dev_key`` makes a throwaway key for trying Fairgate out. Its certificate subject says
  DEVELOPMENT ONLY in the common name (what PDF viewers show) and in the organisational unit, so a
  report signed with it can never pass for production evidence; ``signer_description`` reports
  that as ``development_only``.
- A CA-issued certificate must allow non-repudiation (content commitment): that is what
  pyHanko's PAdES validation requires of a signer (``DEFAULT_SIGNER_KEY_USAGE``), so a key without
  it would make reports that ``fairgate verify`` rejects. ``load_signer`` refuses such a key up
  front. A self-signed certificate is exempt, as in pyHanko: it is its own trust anchor, trusted as
  a whole by whoever passes it to ``--trust``.
- Passphrases come from ``FAIRGATE_KEY_PASSPHRASE`` or an interactive prompt, never from the
  command line, and never appear in a message or a log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import SigningError
from audit.util.atomic import atomic_path

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.sign.signers import SimpleSigner

PASSPHRASE_ENV = "FAIRGATE_KEY_PASSPHRASE"
DEV_MARKER = "DEVELOPMENT ONLY"
DEV_ORGANISATION = "Fairgate development"
DEV_UNIT = "DEVELOPMENT ONLY - NOT FOR PRODUCTION"
_CN_SUFFIX = f" ({DEV_MARKER})"
_MAX_CN = 64  # X.509 upper bound for a common name (RFC 5280, ub-common-name)
_CLOCK_SKEW = dt.timedelta(minutes=5)


class KeyOpenError(SigningError):
    """The key file would not open: a wrong (or missing) passphrase, or not a key at all."""


@dataclass(frozen=True)
class DevKeyFiles:
    """Where ``generate_dev_key`` wrote the key and its certificate."""

    p12: Path
    cert_pem: Path


# --- development keys -------------------------------------------------------------------------


def generate_dev_key(
    out_p12: Path,
    *,
    passphrase: bytes | None,
    common_name: str = "Fairgate development key",
    days: int = 365,
) -> DevKeyFiles:
    """Create a self-signed RSA-3072 development key; write ``out_p12`` and ``<stem>.cert.pem``.

    The PKCS#12 file is encrypted with ``passphrase`` (unencrypted when it is ``None``) and has
    mode 0600; the certificate is what a verifier passes as a trust root.
    """
    out_p12 = Path(out_p12)
    if days < 1:
        raise SigningError(f"{out_p12}: a key must be valid for at least one day (got {days})")
    key, cert = _self_signed_certificate(_dev_subject(common_name), days=days)
    files = DevKeyFiles(p12=out_p12, cert_pem=out_p12.with_suffix(".cert.pem"))
    # Both files are complete under temporary names before either is renamed into place.
    with contextlib.ExitStack() as stack:
        tmp_p12 = stack.enter_context(atomic_path(files.p12))
        tmp_cert = stack.enter_context(atomic_path(files.cert_pem))
        _write_with_mode(tmp_p12, _pkcs12_bytes(key, cert, passphrase), mode=0o600)
        _write_with_mode(tmp_cert, _certificate_pem(cert), mode=0o644)
    return files


def _dev_subject(common_name: str) -> x509.Name:
    """The subject of a development certificate: DEVELOPMENT ONLY in CN and OU."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = common_name.strip()
    longest = _MAX_CN - len(_CN_SUFFIX)
    if not name or len(name) > longest:
        raise SigningError(
            f"key name {common_name!r}: must be 1 to {longest} characters",
            hint="choose a shorter --name",
        )
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name + _CN_SUFFIX),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEV_UNIT),
        ]
    )


def _self_signed_certificate(subject: x509.Name, *, days: int) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A new key and a self-signed end-entity certificate for document signing."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    # RSA, not an EC curve: pyHanko marks a document signed with an ISO 32002 curve (P-256…) as
    # PDF 2.0, which would contradict the report's PDF/A-3b (PDF 1.7) conformance claim.
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return key, builder.sign(key, hashes.SHA256())


def _signing_key_usage() -> x509.KeyUsage:
    """digitalSignature + nonRepudiation (contentCommitment): what PAdES signers expect."""
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _pkcs12_bytes(key: rsa.RSAPrivateKey, cert: x509.Certificate, passphrase: bytes | None) -> bytes:
    """Serialise key and certificate as PKCS#12, encrypted unless ``passphrase`` is None/empty."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"Fairgate development key", key, cert, None, encryption)


def _certificate_pem(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _write_with_mode(tmp: Path, data: bytes, *, mode: int) -> None:
    """Give the temporary file (created 0600) its final mode, then write it."""
    tmp.chmod(mode)
    tmp.write_bytes(data)


# --- loading keys -----------------------------------------------------------------------------


def load_signer(
    key_path: Path, *, passphrase: bytes | None, cert: Path | None = None, chain: Sequence[Path] = ()
) -> SimpleSigner:
    """Open a signing key as a pyHanko signer; raise ``SigningError`` if it cannot.

    A PKCS#12 file (.p12/.pfx) holds key and certificate together. A PEM key (.pem/.key) needs its
    certificate (``cert``) and, for a CA-issued one, the intermediate certificates (``chain``).
    """
    key_path = Path(key_path)
    if cert is not None or key_path.suffix.lower() in (".pem", ".key"):
        return _load_pem_signer(key_path, passphrase=passphrase, cert=cert, chain=chain)
    signer = _signer_from_pkcs12(_read_key_file(key_path), passphrase)
    if signer is None:
        raise KeyOpenError(
            f"{key_path}: cannot open the key: wrong passphrase or not a PKCS#12 file",
            hint=f"set {PASSPHRASE_ENV} to the key's passphrase",
        )
    _check_still_valid(key_path, signer.signing_cert)
    check_signing_key_usage(key_path, signer.signing_cert)
    return signer


def _load_pem_signer(
    key_path: Path, *, passphrase: bytes | None, cert: Path | None, chain: Sequence[Path]
) -> SimpleSigner:
    from pyhanko.sign.signers import SimpleSigner

    if cert is None:
        raise SigningError(f"{key_path}: a PEM key needs its certificate", hint="pass --sign-cert CERT.pem")
    for path in (key_path, cert, *chain):
        _read_key_file(Path(path))  # one clear error for a missing or unreadable file
    try:
        signer = SimpleSigner.load(
            str(key_path), str(cert), ca_chain_files=[str(c) for c in chain] or None, key_passphrase=passphrase
        )
    except Exception:  # pyHanko raises several types for a bad key, certificate or passphrase
        signer = None
    if signer is None:
        raise KeyOpenError(
            f"{key_path}: cannot open the key with certificate {cert}: wrong passphrase, or they do not match",
            hint=f"set {PASSPHRASE_ENV} to the key's passphrase",
        )
    _check_still_valid(key_path, signer.signing_cert)
    check_signing_key_usage(key_path, signer.signing_cert)
    return signer


def _read_key_file(key_path: Path) -> bytes:
    try:
        return key_path.read_bytes()
    except FileNotFoundError as exc:
        raise SigningError(
            f"{key_path}: no such key file",
            hint="check the path; `fairgate keygen --out KEY.p12` makes a development key",
        ) from exc
    except OSError as exc:
        raise SigningError(f"{key_path}: cannot read the key ({exc.strerror or exc})") from exc


def _signer_from_pkcs12(data: bytes, passphrase: bytes | None) -> SimpleSigner | None:
    """The signer, or None when the data is not PKCS#12 or the passphrase is wrong."""
    from pyhanko.sign.signers import SimpleSigner

    try:
        # Raises ValueError where load_pkcs12 would log and return None; the exception text
        # comes from cryptography and does not contain the passphrase (we drop it anyway).
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
    except (ValueError, TypeError, AttributeError):
        return None
    if signer is None or signer.signing_cert is None:
        return None
    return signer


def _check_still_valid(key_path: Path, cert: asn1_x509.Certificate) -> None:
    """Refuse a certificate that is expired or not yet valid: its signatures would not verify."""
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before <= now <= cert.not_valid_after:
        raise SigningError(
            f"{key_path}: the key's certificate is valid only from "
            f"{cert.not_valid_before.isoformat()} to {cert.not_valid_after.isoformat()}",
            hint="use a current key (fairgate keygen makes a development one)",
        )


#: The key usage pyHanko's PAdES validation requires of a CA-issued signer (its DEFAULT_SIGNER_KEY_USAGE).
SIGNING_KEY_USAGE = "non_repudiation"


def key_usage_allows_signing(cert: asn1_x509.Certificate) -> bool:
    """True for a self-issued certificate, or one whose key usage includes non-repudiation."""
    if cert.self_issued:
        return True
    usage = cert.key_usage_value
    return usage is not None and SIGNING_KEY_USAGE in set(usage.native)


def check_signing_key_usage(key_path: Path, cert: asn1_x509.Certificate) -> None:
    """Refuse a CA-issued certificate that does not allow non-repudiation (content commitment)."""
    if key_usage_allows_signing(cert):
        return
    usage = cert.key_usage_value
    has = ", ".join(sorted(usage.native)).replace("_", " ") if usage is not None else "no key usage extension"
    raise SigningError(
        f"{key_path}: the certificate {_common_name(cert.subject)!r} is not for signing documents: its key usage "
        f"lacks non-repudiation (content commitment) (it has: {has})",
        hint="ask your CA for a document-signing certificate (key usage nonRepudiation/contentCommitment)",
    )


def resolve_passphrase(*, env: Mapping[str, str], prompt: Callable[[], str] | None) -> bytes | None:
    """The key passphrase from ``FAIRGATE_KEY_PASSPHRASE``, else ``prompt()``, else None.

    An empty value (in the variable or typed at the prompt) means "no passphrase" (None).
    """
    value = env.get(PASSPHRASE_ENV)
    if value is None and prompt is not None:
        value = prompt()
    return value.encode("utf-8") if value else None


# --- describing a signer ----------------------------------------------------------------------


def signer_description(signer: Any) -> dict[str, Any]:
    """Who signs: names, serial, SHA-256 fingerprint, validity and the development-only flag."""
    cert = signer.signing_cert
    return {
        "common_name": _common_name(cert.subject),
        "subject": cert.subject.human_friendly,
        "issuer_common_name": _common_name(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "sha256_fingerprint": hashlib.sha256(cert.dump()).hexdigest(),
        "not_before": cert.not_valid_before.isoformat(),
        "not_after": cert.not_valid_after.isoformat(),
        "development_only": is_development_certificate(cert),
    }


def is_development_certificate(cert: asn1_x509.Certificate) -> bool:
    """True when any part of the certificate's subject says DEVELOPMENT ONLY."""
    return DEV_MARKER in cert.subject.human_friendly.upper()


def _common_name(name: asn1_x509.Name) -> str | None:
    value = name.native.get("common_name")
    if isinstance(value, list):  # a name may repeat an attribute; the last one is the most specific
        value = value[-1]
    return value
