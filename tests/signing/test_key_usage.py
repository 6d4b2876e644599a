"""Key usage: a CA-issued signing certificate must allow non-repudiation (content commitment).

That is what pyHanko's PAdES validation requires of a signer (``DEFAULT_SIGNER_KEY_USAGE``);
Fairgate refuses such a key when loading it, and ``verify`` reports a signature made with one
(bypassing Fairgate) as a key-usage problem rather than a vague "not trusted".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import SigningError
from audit.signing.keys import load_signer
from audit.signing.sign import sign_pdf
from audit.signing.verify import verify_pdf
from tests.signing import pki


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def ca(ca_dir: Path) -> pki.Issued:
    return pki.make_ca(ca_dir)


def test_a_ca_issued_document_signing_key_signs_and_verifies_against_the_ca(ca, ca_dir, report, tmp_path):
    leaf = pki.signing_leaf(ca_dir, "committed", "Carol Compliance", ca, commitment=True)
    signer = load_signer(leaf.key_pem, passphrase=None, cert=leaf.cert_pem, chain=[ca.cert_pem])
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer)

    checked = verify_pdf(out, trust_roots=[ca.cert_pem])

    assert checked.ok, checked.problems
    [sig] = checked.signatures
    assert (sig.signer, sig.issuer, sig.key_usage_ok, sig.trusted) == (
        "Carol Compliance",
        "Fairgate Test Root CA",
        True,
        True,
    )


def test_a_ca_issued_key_without_non_repudiation_is_refused_when_loading(ca, ca_dir):
    leaf = pki.signing_leaf(ca_dir, "auth-only", "Tls Client", ca, commitment=False)

    with pytest.raises(SigningError) as caught:
        load_signer(leaf.key_pem, passphrase=None, cert=leaf.cert_pem, chain=[ca.cert_pem])

    assert caught.value.message == (
        f"{leaf.key_pem}: the certificate 'Tls Client' is not for signing documents: its key usage lacks "
        "non-repudiation (content commitment) (it has: digital signature)"
    )
    assert "document-signing certificate" in (caught.value.hint or "")


def test_a_ca_issued_key_without_any_key_usage_is_refused(ca, ca_dir):
    leaf = pki.issue(ca_dir, "no-usage", "No Usage", issuer=ca)

    with pytest.raises(SigningError, match=r"lacks non-repudiation \(content commitment\) \(it has: no key usage"):
        load_signer(leaf.key_pem, passphrase=None, cert=leaf.cert_pem, chain=[ca.cert_pem])


def test_a_signature_made_anyway_with_such_a_key_is_invalid_for_its_key_usage(ca, ca_dir, report, tmp_path):
    from pyhanko.sign.signers import SimpleSigner

    leaf = pki.signing_leaf(ca_dir, "auth-only-2", "Tls Client", ca, commitment=False)
    # pyHanko itself signs with it (it checks key usage only when given a validation context)
    signer = SimpleSigner.load(str(leaf.key_pem), str(leaf.cert_pem), ca_chain_files=[str(ca.cert_pem)])
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer)

    checked = verify_pdf(out, trust_roots=[ca.cert_pem])

    assert not checked.ok
    [sig] = checked.signatures
    assert sig.intact and sig.valid and not sig.key_usage_ok
    assert not sig.trusted  # pyHanko's own chain validation refuses it too
    assert checked.problems == (
        "signature 1 (Fairgate-author-1): signer certificate 'Tls Client' (issued by 'Fairgate Test Root CA') does "
        "not allow non-repudiation (content commitment): it is not a document-signing certificate",
    )


def test_a_self_signed_certificate_is_its_own_trust_anchor(ca_dir, report, tmp_path):
    """As in pyHanko: the certificate passed to --trust is trusted as a whole, key usage or not."""
    own = pki.issue(ca_dir, "self", "Self Signer")  # no key usage extension at all
    signer = load_signer(own.key_pem, passphrase=None, cert=own.cert_pem)
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=signer)

    checked = verify_pdf(out, trust_roots=[own.cert_pem])

    assert checked.ok, checked.problems
    assert checked.signatures[0].key_usage_ok


def test_cli_countersign_with_a_pem_key_and_its_ca_issued_certificate(
    ca, ca_dir, report, author, author_key, tmp_path, capsys, monkeypatch
):
    from tests.cli.helpers import invoke

    monkeypatch.delenv("FAIRGATE_KEY_PASSPHRASE", raising=False)
    monkeypatch.delenv("FAIRGATE_TSA_URL", raising=False)
    approver = pki.signing_leaf(ca_dir, "approver", "Ada Approver", ca)
    refused = pki.signing_leaf(ca_dir, "approver-tls", "Tls Approver", ca, commitment=False)
    signed = tmp_path / "signed.pdf"
    sign_pdf(report, signed, signer=author, role="author")
    before = signed.read_bytes()

    bad = invoke(
        capsys,
        [
            "sign",
            signed,
            "--key",
            refused.key_pem,
            "--cert",
            refused.cert_pem,
            "--chain",
            ca.cert_pem,
            "--role",
            "approver",
            "--trust",
            author_key.cert_pem,
        ],
        exit_code=2,
    )
    assert "is not for signing documents" in bad.err
    assert signed.read_bytes() == before  # refused: the report is untouched
    invoke(
        capsys,
        [
            "sign",
            signed,
            "--key",
            approver.key_pem,
            "--cert",
            approver.cert_pem,
            "--chain",
            ca.cert_pem,
            "--role",
            "approver",
            "--trust",
            author_key.cert_pem,
        ],
        exit_code=0,
    )

    checked = verify_pdf(signed, trust_roots=[author_key.cert_pem, ca.cert_pem])
    assert checked.ok, checked.problems
    assert [(s.role, s.signer, s.issuer) for s in checked.signatures] == [
        ("author", "Alice Author (DEVELOPMENT ONLY)", "Alice Author (DEVELOPMENT ONLY)"),
        ("approver", "Ada Approver", "Fairgate Test Root CA"),
    ]


def test_cli_refuses_to_countersign_a_truncated_report(report, author, author_key, tmp_path, capsys, monkeypatch):
    from tests.cli.helpers import invoke

    monkeypatch.delenv("FAIRGATE_TSA_URL", raising=False)
    signed = tmp_path / "signed.pdf"
    sign_pdf(report, signed, signer=author, role="author")
    signed.write_bytes(signed.read_bytes()[:-1000])

    ran = invoke(
        capsys,
        [
            "sign",
            signed,
            "--key",
            author_key.p12,
            "--role",
            "reviewer",
            "--decision",
            "approve",
            "--trust",
            author_key.cert_pem,
        ],
        exit_code=2,
    )
    assert "refusing to countersign: the file is damaged or truncated" in ran.err
