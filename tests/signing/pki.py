"""A small test PKI made with ``cryptography``: a CA, CA-issued leaves, and a timestamp authority
served over HTTP on 127.0.0.1 (RFC 3161, answered by pyHanko's ``DummyTimeStamper``).

Nothing here touches the network beyond the loopback interface; the server runs in a daemon
thread that the fixture shuts down, and every request is answered (or refused) at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


@dataclass(frozen=True)
class Issued:
    """A key and its certificate, with their PEM files."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    key_pem: Path
    cert_pem: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fairgate test PKI"),
        ]
    )


def _usage(*, digital_signature: bool = False, content_commitment: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    out_dir: Path,
    stem: str,
    common_name: str,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    usage: x509.KeyUsage | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> Issued:
    """A certificate for a new RSA-2048 key, self-signed when ``issuer`` is None; PEM files in ``out_dir``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    key_pem, cert_pem = out_dir / f"{stem}.key", out_dir / f"{stem}.pem"
    key_pem.write_bytes(key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cert_pem.write_bytes(cert.public_bytes(PEM))
    return Issued(key, cert, key_pem, cert_pem)


def make_ca(out_dir: Path, common_name: str = "Fairgate Test Root CA") -> Issued:
    return issue(out_dir, "ca", common_name, ca=True, usage=_usage(digital_signature=True, ca=True))


def signing_leaf(out_dir: Path, stem: str, common_name: str, ca: Issued, *, commitment: bool = True) -> Issued:
    """A CA-issued document-signing leaf; ``commitment=False`` leaves out non-repudiation."""
    return issue(
        out_dir, stem, common_name, issuer=ca, usage=_usage(digital_signature=True, content_commitment=commitment)
    )


def tsa_leaf(out_dir: Path, ca: Issued, common_name: str = "Fairgate Test TSA") -> Issued:
    """A timestamping certificate: critical extended key usage timeStamping only (RFC 3161 §2.3)."""
    return issue(
        out_dir,
        "tsa",
        common_name,
        issuer=ca,
        usage=_usage(digital_signature=True, content_commitment=True),
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
    )


# --- a timestamp authority on 127.0.0.1 ---------------------------------------------------------


class _TSAHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        from asn1crypto import tsp

        self.server.requests += 1  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            request = tsp.TimeStampReq.load(body)
            response = asyncio.run(self.server.stamper.async_request_tsa_response(request))  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a test server: a bad request is a 400, nothing more
            self.send_error(400)
            return
        data = response.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test server
        return


@contextmanager
def serve_tsa(tsa: Issued, chain: list[x509.Certificate] = ()) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    """Run an RFC 3161 timestamp server on 127.0.0.1 (a free port); yield its URL and the server."""
    from asn1crypto import keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps import DummyTimeStamper

    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.cert.public_bytes(DER)),
        tsa_key=keys.PrivateKeyInfo.load(
            tsa.key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        certs_to_embed=[asn1_x509.Certificate.load(c.public_bytes(DER)) for c in chain],
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TSAHandler)
    server.daemon_threads = True
    server.stamper = stamper  # type: ignore[attr-defined]
    server.requests = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
