"""RFC 3161 timestamps: ``--tsa URL`` on ``run`` and ``sign``, and what ``verify`` makes of them.

The timestamp authority is a real HTTP server on 127.0.0.1 (tests/signing/pki.py) answering with
pyHanko's ``DummyTimeStamper`` under a certificate, issued by a test CA, that has the timeStamping
extended key usage. Nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from audit.errors import SigningError
from audit.signing.keys import DevKeyFiles, generate_dev_key, load_signer
from audit.signing.sign import sign_pdf
from audit.signing.verify import verify_pdf
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv
from tests.signing import pki


@dataclass(frozen=True)
class TSA:
    url: str
    ca: pki.Issued  # the CA that issued the TSA's certificate
    server: object


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tsa-pki")


@pytest.fixture(scope="module")
def tsa(pki_dir: Path) -> Iterator[TSA]:
    ca = pki.make_ca(pki_dir)
    with pki.serve_tsa(pki.tsa_leaf(pki_dir, ca)) as (url, server):
        yield TSA(url, ca, server)


@pytest.fixture(scope="module")
def rogue_tsa(pki_dir: Path) -> Iterator[TSA]:
    """A TSA whose CA nobody was told to trust."""
    rogue_dir = pki_dir / "rogue"
    rogue_dir.mkdir()
    ca = pki.make_ca(rogue_dir, "Rogue Root CA")
    with pki.serve_tsa(pki.tsa_leaf(rogue_dir, ca, "Rogue TSA")) as (url, server):
        yield TSA(url, ca, server)


@pytest.fixture(scope="module")
def signer_key(pki_dir: Path) -> DevKeyFiles:
    return generate_dev_key(pki_dir / "signer.p12", passphrase=None, common_name="Tess Timestamped")


@pytest.fixture(scope="module")
def signer(signer_key: DevKeyFiles):  # type: ignore[no-untyped-def]
    return load_signer(signer_key.p12, passphrase=None)


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"


# --- signing with a timestamp and verifying it ------------------------------------------------


def test_a_timestamp_from_a_trusted_tsa_is_verified_and_reported(report, signer, signer_key, tsa, tmp_path):
    out = tmp_path / "signed.pdf"
    before = tsa.server.requests
    sign_pdf(report, out, signer=signer, tsa_url=tsa.url)

    checked = verify_pdf(out, trust_roots=[signer_key.cert_pem, tsa.ca.cert_pem])

    assert tsa.server.requests > before  # the token really came over HTTP
    assert checked.ok, checked.problems
    [sig] = checked.signatures
    assert sig.time_source == "timestamp authority"
    assert sig.timestamp is not None
    assert (sig.timestamp.tsa, sig.timestamp.intact, sig.timestamp.valid, sig.timestamp.trusted) == (
        "Fairgate Test TSA",
        True,
        True,
        True,
    )
    stamped = dt.datetime.fromisoformat(sig.timestamp.time)
    assert abs(stamped - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_a_timestamp_whose_tsa_is_not_trusted_makes_the_report_invalid(report, signer, signer_key, tsa, tmp_path):
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer, tsa_url=tsa.url)

    checked = verify_pdf(out, trust_roots=[signer_key.cert_pem])  # the signer, but not the TSA's CA

    assert not checked.ok
    [sig] = checked.signatures
    assert sig.intact and sig.valid and sig.trusted  # the signature itself is fine...
    assert sig.timestamp.valid and not sig.timestamp.trusted  # ...its time is vouched for by a stranger
    assert checked.problems == (
        "signature 1 (Fairgate-author-1): timestamp authority 'Fairgate Test TSA' is not trusted by the given "
        "roots (pass its CA certificate with --trust, or the time it vouches for cannot be relied on)",
    )


def test_a_rogue_tsa_is_not_trusted_because_another_ca_is(report, signer, signer_key, tsa, rogue_tsa, tmp_path):
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer, tsa_url=rogue_tsa.url)

    checked = verify_pdf(out, trust_roots=[signer_key.cert_pem, tsa.ca.cert_pem])

    assert not checked.ok
    assert checked.signatures[0].timestamp.tsa == "Rogue TSA"
    assert "timestamp authority 'Rogue TSA' is not trusted" in checked.problems[0]


def test_a_tsa_certificate_without_the_timestamping_usage_is_refused(
    report, signer, signer_key, tsa, pki_dir, tmp_path
):
    plain = pki.signing_leaf(pki_dir, "not-a-tsa", "Not A TSA", tsa.ca)  # trusted CA, wrong purpose
    with pki.serve_tsa(plain) as (url, _server):
        out = tmp_path / "signed.pdf"
        sign_pdf(report, out, signer=signer, tsa_url=url)

    checked = verify_pdf(out, trust_roots=[signer_key.cert_pem, tsa.ca.cert_pem])

    assert not checked.ok
    assert not checked.signatures[0].timestamp.trusted  # pyHanko refuses it as well
    assert checked.problems == (
        "signature 1 (Fairgate-author-1): the certificate of timestamp authority 'Not A TSA' is not for "
        "timestamping (no timeStamping extended key usage)",
    )


def test_a_damaged_timestamp_token_makes_the_report_invalid(report, signer, signer_key, tsa, tmp_path):
    """The token is an unsigned attribute (outside the signer's digest): it must check out on its own."""
    from asn1crypto import parser

    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer, tsa_url=tsa.url)
    data = bytearray(out.read_bytes())
    start = data.rindex(b"/Contents <") + len(b"/Contents <")
    cms = bytes.fromhex(data[start : data.index(b">", start)].decode())
    _cls, _method, _tag, header, content, _trailer = parser.parse(cms)
    # the token ends the CMS, and the TSA's signature value ends the token
    position = start + 2 * (len(header) + len(content) - 20)
    data[position : position + 1] = b"0" if data[position : position + 1] != b"0" else b"1"
    out.write_bytes(bytes(data))

    checked = verify_pdf(out, trust_roots=[signer_key.cert_pem, tsa.ca.cert_pem])

    assert not checked.ok
    [sig] = checked.signatures
    assert sig.intact and sig.valid and sig.trusted  # the signer's own signature does not cover the token
    assert not sig.timestamp.valid
    assert checked.problems == (
        "signature 1 (Fairgate-author-1): the timestamp token from 'Fairgate Test TSA' is invalid (damaged, or "
        "not made for this signature)",
    )


def test_without_a_tsa_the_time_is_the_signers_clock(report, signer, signer_key, tmp_path):
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer)

    checked = verify_pdf(out, trust_roots=[signer_key.cert_pem])

    assert checked.ok
    assert (checked.signatures[0].time_source, checked.signatures[0].timestamp) == ("signer's clock", None)


def test_an_unreachable_tsa_is_a_signing_error_and_nothing_is_written(report, signer, tmp_path):
    url = closed_port_url()
    out = tmp_path / "signed.pdf"

    with pytest.raises(SigningError) as caught:
        sign_pdf(report, out, signer=signer, tsa_url=url)

    assert caught.value.message.startswith(f"timestamp authority {url}: no timestamp (")
    assert "\n" not in caught.value.message
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]  # no temporary file left


@pytest.mark.parametrize("url", ["ftp://tsa.example.com/", "tsa.example.com", "http://", "file:///etc/passwd"])
def test_a_tsa_that_is_not_an_http_url_is_refused_before_signing(report, signer, tmp_path, url):
    with pytest.raises(SigningError, match="not an http:// or https:// URL"):
        sign_pdf(report, tmp_path / "out.pdf", signer=signer, tsa_url=url)
    assert not (tmp_path / "out.pdf").exists()


def test_a_tsa_url_with_credentials_is_refused_and_the_secret_never_shown(report, signer, tmp_path):
    with pytest.raises(SigningError) as caught:
        sign_pdf(report, tmp_path / "out.pdf", signer=signer, tsa_url="https://alice:s3cr3t-pw@tsa.example.com/")
    assert "contains credentials" in caught.value.message
    assert "s3cr3t-pw" not in f"{caught.value.message} {caught.value.hint}"
    assert not (tmp_path / "out.pdf").exists()


# --- through the command line -----------------------------------------------------------------


def _run(capsys, tmp_path: Path, key: Path, *extra: object, exit_code: int = 1):  # type: ignore[no-untyped-def]
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    return invoke(
        capsys,
        run_args(data, tmp_path / "out", "--sign", key, *extra),
        exit_code=exit_code,
    )


def _cover_text(pdf: Path) -> str:
    return " ".join((PdfReader(pdf).pages[0].extract_text() or "").split())


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("FAIRGATE_KEY_PASSPHRASE", "FAIRGATE_TSA_URL", "FAIRGATE_RUN_TSA_URL", "FAIRGATE_SIGN_TSA_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.slow
def test_cli_run_with_a_tsa_then_countersign_with_the_env_tsa(capsys, tmp_path, signer_key, tsa, no_env):
    _run(capsys, tmp_path, signer_key.p12, "--tsa", tsa.url)
    report = tmp_path / "out" / "report.pdf"
    cover = _cover_text(report)
    assert f"Signing time: vouched for by the RFC 3161 timestamp authority at {tsa.url}" in cover
    assert "signer's own clock" not in cover
    trust = ["--trust", signer_key.cert_pem, "--trust", tsa.ca.cert_pem]

    reviewer = generate_dev_key(tmp_path / "reviewer.p12", passphrase=None, common_name="Rex Reviewer")
    no_env.setenv("FAIRGATE_TSA_URL", tsa.url)  # one variable serves `run` and `sign`
    invoke(
        capsys,
        ["sign", report, "--key", reviewer.p12, "--role", "reviewer", "--decision", "approve", *trust],
        exit_code=0,
    )
    trust += ["--trust", reviewer.cert_pem]

    ran = invoke(capsys, ["verify", report, *trust], exit_code=0)
    as_json = json.loads(invoke(capsys, ["verify", report, *trust, "--json"], exit_code=0).out)

    assert "  1. author: Tess Timestamped (DEVELOPMENT ONLY)" in ran.out
    assert "  2. reviewer: Rex Reviewer (DEVELOPMENT ONLY)" in ran.out
    assert ran.out.count("by timestamp authority Fairgate Test TSA (valid, trusted)") == 2
    assert as_json["roles"] == ["author", "reviewer"]
    assert [s["timestamp"]["tsa"] for s in as_json["signatures"]] == ["Fairgate Test TSA"] * 2
    assert all(s["time_source"] == "timestamp authority" for s in as_json["signatures"])

    untrusted_tsa = invoke(capsys, ["verify", report, *trust[:2], "--trust", reviewer.cert_pem], exit_code=1)
    assert (
        "problem: signature 1 (Fairgate-author-1): timestamp authority 'Fairgate Test TSA' is not trusted"
        in untrusted_tsa.out
    )
    assert "by timestamp authority Fairgate Test TSA (valid, NOT trusted)" in untrusted_tsa.out
    assert untrusted_tsa.out.splitlines()[-1].endswith(": INVALID")


@pytest.mark.slow
def test_cli_unreachable_tsa_exits_2_with_one_error_and_no_output(capsys, tmp_path, signer_key, no_env):
    url = closed_port_url()

    ran = _run(capsys, tmp_path, signer_key.p12, "--tsa", url, exit_code=2)

    error_lines = [line for line in ran.err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and error_lines[0].startswith(f"error: timestamp authority {url}: no timestamp")
    assert "Traceback" not in ran.err
    out = tmp_path / "out"
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == []


def test_cli_tsa_without_sign_is_a_usage_error_but_an_env_tsa_is_ignored(capsys, tmp_path, no_env):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    args = run_args(data, tmp_path / "out", "--no-pdf")

    refused = invoke(capsys, [*args, "--tsa", "http://127.0.0.1:9/tsa"], exit_code=2)
    assert "--tsa timestamps a signature: add --sign KEY.p12" in refused.err
    assert not (tmp_path / "out").exists()

    no_env.setenv("FAIRGATE_TSA_URL", "http://127.0.0.1:9/tsa")
    invoke(capsys, args, exit_code=1)  # an unsigned run: the configured TSA is simply not needed
