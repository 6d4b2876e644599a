"""Signing and strict verification of report PDFs, with real keys, PDFs and tampering.

Keys and the base PDF are made once per module (key generation and WeasyPrint's import dominate);
every test signs and tampers with its own copies in ``tmp_path``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import stat
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from pypdf import PdfWriter

from audit.errors import SigningError, VerificationError
from audit.signing.keys import (
    generate_dev_key,
    load_signer,
    resolve_passphrase,
    signer_description,
)
from audit.signing.sign import sign_pdf
from audit.signing.verify import attached_files, verify_pdf
from tests.signing.conftest import NOTES_JSON, PASSPHRASE, RESULTS_JSON

# --- helpers --------------------------------------------------------------------------------------


def signed_by_author(report: Path, author, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=author, role="author")
    return out


def edit_title(src: Path, dst: Path) -> Path:
    """Append an incremental update that changes only /Info /Title (pypdf)."""
    writer = PdfWriter(src, incremental=True)
    writer.add_metadata({"/Title": "Nothing to see here"})
    writer.write(dst)
    return dst


# --- signing and verifying --------------------------------------------------------------------


def test_signed_report_verifies_against_its_certificate(report, author, author_key, tmp_path):
    signed = signed_by_author(report, author, tmp_path)

    checked = verify_pdf(signed, trust_roots=[author_key.cert_pem])

    assert checked.ok, checked.problems
    assert checked.problems == ()
    [sig] = checked.signatures
    assert (sig.field_name, sig.role) == ("Fairgate-author-1", "author")
    assert sig.signer == "Alice Author (DEVELOPMENT ONLY)"
    assert (sig.intact, sig.valid, sig.trusted) == (True, True, True)
    assert (sig.coverage, sig.changes_after) == ("ENTIRE_FILE", "none")
    assert sig.signing_time is not None and sig.signing_time[:4].isdigit()
    as_json = json.loads(json.dumps(checked.to_dict()))
    assert as_json["ok"] is True and as_json["signatures"][0]["role"] == "author"


def test_signing_is_an_incremental_update(report, author, tmp_path):
    signed = signed_by_author(report, author, tmp_path)

    assert signed.read_bytes().startswith(report.read_bytes())


def test_without_trust_roots_the_signer_is_not_trusted(report, author, tmp_path):
    signed = signed_by_author(report, author, tmp_path)

    checked = verify_pdf(signed)

    assert not checked.ok
    assert checked.signatures[0].intact and not checked.signatures[0].trusted
    assert checked.problems == ("signature 1 (Fairgate-author-1): signer not trusted: pass --trust CERT.pem",)


def test_another_certificate_does_not_make_the_signer_trusted(report, author, reviewer_key, tmp_path):
    signed = signed_by_author(report, author, tmp_path)

    checked = verify_pdf(signed, trust_roots=[reviewer_key.cert_pem])

    assert not checked.ok
    assert not checked.signatures[0].trusted
    assert "not trusted" in checked.problems[0]


def test_a_flipped_byte_inside_the_signed_range_breaks_the_signature(report, author, author_key, tmp_path):
    signed = signed_by_author(report, author, tmp_path)
    data = bytearray(signed.read_bytes())
    # The first stream in the file is the PDF/A output intent's ICC profile: inside the signed
    # range, and never decoded while checking, so the file still parses.
    position = data.index(b"stream", data.index(b"obj")) + len(b"stream\n") + 100
    assert position < data.index(b"/ByteRange")
    data[position] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))

    checked = verify_pdf(tampered, trust_roots=[author_key.cert_pem])

    assert not checked.ok
    assert not checked.signatures[0].intact
    assert checked.problems == ("signature 1 (Fairgate-author-1): the signed content was changed (digest mismatch)",)


def test_data_hidden_in_the_signature_padding_is_rejected(report, author, author_key, tmp_path):
    signed = signed_by_author(report, author, tmp_path)
    data = bytearray(signed.read_bytes())
    # /Contents is the one unsigned hole: the CMS blob, then zero padding up to the reserved size.
    end_of_contents = data.index(b">", data.rindex(b"/Contents <"))
    assert data[end_of_contents - 10 : end_of_contents] == b"0" * 10
    data[end_of_contents - 10 : end_of_contents - 8] = b"2a"
    hidden = tmp_path / "hidden.pdf"
    hidden.write_bytes(bytes(data))

    checked = verify_pdf(hidden, trust_roots=[author_key.cert_pem])

    assert checked.signatures[0].intact and checked.signatures[0].valid  # pyHanko alone: fine
    assert not checked.ok
    assert checked.problems == (
        "signature 1 (Fairgate-author-1): unexpected data after the signature value in /Contents",
    )


def test_a_metadata_edit_after_signing_is_rejected(report, author, author_key, tmp_path):
    signed = signed_by_author(report, author, tmp_path)
    edited = edit_title(signed, tmp_path / "edited.pdf")
    assert edited.read_bytes().startswith(signed.read_bytes())  # a true incremental update

    checked = verify_pdf(edited, trust_roots=[author_key.cert_pem])

    assert not checked.ok
    [sig] = checked.signatures
    assert sig.intact and sig.trusted  # the signed bytes are untouched...
    assert sig.coverage == "ENTIRE_REVISION" and sig.changes_after == "other changes"
    assert len(checked.problems) == 1  # ...but something unsigned follows them
    assert checked.problems[0].startswith("signature 1 (Fairgate-author-1): followed by 1 unsigned")


def test_bytes_appended_after_the_last_signature_are_rejected(report, author, author_key, tmp_path):
    signed = signed_by_author(report, author, tmp_path)
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(signed.read_bytes() + b"\n% trailing junk\n")

    checked = verify_pdf(appended, trust_roots=[author_key.cert_pem])

    assert not checked.ok
    assert checked.problems == ("signature 1 (Fairgate-author-1): the last signature does not cover the entire file",)


# --- countersigning ---------------------------------------------------------------------------


def countersign(src: Path, dst: Path, reviewer) -> Path:  # type: ignore[no-untyped-def]
    sign_pdf(src, dst, signer=reviewer, role="reviewer")
    return dst


def test_countersigned_report_verifies_with_both_roots(report, author, reviewer, author_key, reviewer_key, tmp_path):
    both = countersign(signed_by_author(report, author, tmp_path), tmp_path / "both.pdf", reviewer)

    checked = verify_pdf(both, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])

    assert checked.ok, checked.problems
    assert [s.role for s in checked.signatures] == ["author", "reviewer"]
    assert [s.field_name for s in checked.signatures] == [
        "Fairgate-author-1",
        "Fairgate-reviewer-1",
    ]
    assert [s.signer for s in checked.signatures] == [
        "Alice Author (DEVELOPMENT ONLY)",
        "Rita Reviewer (DEVELOPMENT ONLY)",
    ]
    assert [s.changes_after for s in checked.signatures] == ["further signatures only", "none"]


def test_countersigned_report_needs_every_signer_trusted(report, author, reviewer, author_key, tmp_path):
    both = countersign(signed_by_author(report, author, tmp_path), tmp_path / "both.pdf", reviewer)

    checked = verify_pdf(both, trust_roots=[author_key.cert_pem])

    assert not checked.ok
    assert [s.trusted for s in checked.signatures] == [True, False]
    assert checked.problems == (
        "signature 2 (Fairgate-reviewer-1): signer 'Rita Reviewer (DEVELOPMENT ONLY)' is not "
        "trusted by the given roots",
    )


def test_a_metadata_edit_between_signatures_is_rejected(report, author, reviewer, author_key, reviewer_key, tmp_path):
    edited = edit_title(signed_by_author(report, author, tmp_path), tmp_path / "edited.pdf")
    both = countersign(edited, tmp_path / "both.pdf", reviewer)

    checked = verify_pdf(both, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])

    assert not checked.ok
    assert checked.signatures[-1].coverage == "ENTIRE_FILE"  # the last one alone would pass
    assert len(checked.problems) == 1
    assert checked.problems[0].startswith("signature 1 (Fairgate-author-1): followed by 1 unsigned")


def test_a_metadata_edit_after_the_countersignature_is_rejected(
    report, author, reviewer, author_key, reviewer_key, tmp_path
):
    both = countersign(signed_by_author(report, author, tmp_path), tmp_path / "both.pdf", reviewer)
    edited = edit_title(both, tmp_path / "edited.pdf")

    checked = verify_pdf(edited, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])

    assert not checked.ok
    assert len(checked.problems) == 1
    assert checked.problems[0].startswith("signature 2 (Fairgate-reviewer-1): followed by 1 unsigned")


def test_signing_in_place_twice_numbers_the_fields(report, author, author_key):
    sign_pdf(report, report, signer=author, role="author")
    sign_pdf(report, report, signer=author, role="author", reason="re-issued")

    checked = verify_pdf(report, trust_roots=[author_key.cert_pem])

    assert checked.ok, checked.problems
    assert [s.field_name for s in checked.signatures] == ["Fairgate-author-1", "Fairgate-author-2"]
    assert [p.name for p in report.parent.iterdir()] == ["report.pdf"]  # no temporary files left


def test_a_role_that_cannot_be_a_field_name_is_refused(report, author, tmp_path):
    with pytest.raises(SigningError, match="signing role 'lead.reviewer'"):
        sign_pdf(report, tmp_path / "out.pdf", signer=author, role="lead.reviewer")
    assert not (tmp_path / "out.pdf").exists()


def test_an_unsigned_pdf_is_not_ok(report):
    checked = verify_pdf(report)

    assert (checked.ok, checked.signatures, checked.problems) == (False, (), ("not signed",))


# --- files that cannot be checked -------------------------------------------------------------


def test_not_a_pdf_cannot_be_checked(tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_text("this is not a PDF\n")

    with pytest.raises(VerificationError, match=f"^{fake}: not a PDF"):
        verify_pdf(fake)
    with pytest.raises(VerificationError, match=f"^{fake}: not a PDF"):
        attached_files(fake)


def test_missing_pdf_and_bad_trust_root_cannot_be_checked(report, tmp_path):
    with pytest.raises(VerificationError, match=f"^{tmp_path / 'gone.pdf'}: cannot read"):
        verify_pdf(tmp_path / "gone.pdf")
    with pytest.raises(VerificationError, match=f"^{report}: not a PEM or DER"):
        verify_pdf(report, trust_roots=[report])


def test_signing_something_that_is_not_a_pdf_fails(author, tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_text("this is not a PDF\n")

    with pytest.raises(SigningError, match=f"^{fake}: not a PDF that can be signed"):
        sign_pdf(fake, tmp_path / "out.pdf", signer=author)


# --- keys -------------------------------------------------------------------------------------


def test_wrong_passphrase_names_the_key_and_hides_the_passphrase(author_key, caplog):
    wrong = "hunter2-wrong-passphrase"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SigningError) as caught:
        load_signer(author_key.p12, passphrase=wrong.encode())

    err = caught.value
    assert err.message == (f"{author_key.p12}: cannot open the key: wrong passphrase or not a PKCS#12 file")
    assert err.hint == "set FAIRGATE_KEY_PASSPHRASE to the key's passphrase"
    assert wrong not in f"{err} {err.hint} {err!r} {caplog.text}"


def test_encrypted_key_without_passphrase_is_refused(author_key):
    with pytest.raises(SigningError, match="wrong passphrase or not a PKCS#12 file"):
        load_signer(author_key.p12, passphrase=None)


def test_missing_key_file_is_named(tmp_path):
    missing = tmp_path / "nope.p12"

    with pytest.raises(SigningError, match=f"^{missing}: no such key file$"):
        load_signer(missing, passphrase=PASSPHRASE)


def test_a_pem_file_alone_is_not_a_signing_key(author_key):
    # a .pem is read as a PEM private key, which needs its certificate too
    with pytest.raises(SigningError, match="a PEM key needs its certificate"):
        load_signer(author_key.cert_pem, passphrase=None)
    # a certificate passed where the key belongs does not open as a key
    with pytest.raises(SigningError, match="wrong passphrase, or they do not match"):
        load_signer(author_key.cert_pem, passphrase=None, cert=author_key.cert_pem)


def test_a_certificate_renamed_p12_is_not_a_pkcs12_key(author_key, tmp_path):
    fake = tmp_path / "fake.p12"
    fake.write_bytes(author_key.cert_pem.read_bytes())
    with pytest.raises(SigningError, match="not a PKCS#12 file"):
        load_signer(fake, passphrase=None)


def test_dev_key_says_development_only(author_key, author):
    cert = x509.load_pem_x509_certificate(author_key.cert_pem.read_bytes())
    subject = cert.subject

    assert author_key.cert_pem == author_key.p12.with_suffix(".cert.pem")
    assert "DEVELOPMENT ONLY" in subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ("Fairgate development")
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert stat.S_IMODE(author_key.p12.stat().st_mode) == 0o600

    info = signer_description(author)
    assert info["development_only"] is True
    assert info["common_name"] == "Alice Author (DEVELOPMENT ONLY)"
    assert info["issuer_common_name"] == info["common_name"]  # self-signed
    assert info["serial"] == format(cert.serial_number, "x")
    der = cert.public_bytes(serialization.Encoding.DER)
    assert info["sha256_fingerprint"] == hashlib.sha256(der).hexdigest()
    assert info["not_after"] > info["not_before"]


def test_a_certificate_without_the_marker_is_not_development_only(keydir):
    from audit.signing import keys

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp signer")])
    key, cert = keys._self_signed_certificate(subject, days=1)
    p12 = keydir / "production-like.p12"
    p12.write_bytes(keys._pkcs12_bytes(key, cert, None))

    info = signer_description(load_signer(p12, passphrase=None))

    assert (info["common_name"], info["development_only"]) == ("Example Corp signer", False)


def test_an_expired_certificate_is_refused_when_loading(keydir):
    from audit.signing import keys

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Expired signer")])
    key, cert = keys._self_signed_certificate(subject, days=0)  # not_after = now (to the second)
    p12 = keydir / "expired.p12"
    p12.write_bytes(keys._pkcs12_bytes(key, cert, None))

    with pytest.raises(SigningError, match=f"^{p12}: the key's certificate is valid only from"):
        load_signer(p12, passphrase=None)


def test_unencrypted_key_round_trip(report, reviewer, reviewer_key, tmp_path):
    out = tmp_path / "signed.pdf"
    sign_pdf(report, out, signer=reviewer, role="reviewer", location="Lab 3")

    checked = verify_pdf(out, trust_roots=[reviewer_key.cert_pem])

    assert checked.ok, checked.problems
    assert checked.signatures[0].role == "reviewer"


def test_overlong_key_name_is_refused(tmp_path):
    with pytest.raises(SigningError, match="must be 1 to 45 characters"):
        generate_dev_key(tmp_path / "k.p12", passphrase=None, common_name="x" * 46)
    assert list(tmp_path.iterdir()) == []


def test_resolve_passphrase_prefers_the_environment():
    def prompt() -> str:
        return "typed"

    env = {"FAIRGATE_KEY_PASSPHRASE": "from-env"}
    assert resolve_passphrase(env=env, prompt=prompt) == b"from-env"
    assert resolve_passphrase(env={}, prompt=prompt) == b"typed"
    assert resolve_passphrase(env={}, prompt=None) is None
    assert resolve_passphrase(env={"FAIRGATE_KEY_PASSPHRASE": ""}, prompt=prompt) is None


# --- attachments ------------------------------------------------------------------------------


def test_attached_results_json_survives_signing(report, author, tmp_path):
    signed = signed_by_author(report, author, tmp_path)

    files = attached_files(signed)

    assert files == {"results.json": RESULTS_JSON.encode(), "notes.json": NOTES_JSON}


def test_two_different_attachments_with_one_name_are_ambiguous(tmp_path):
    import weasyprint
    from weasyprint import Attachment

    other = base64.b64encode(b'{"verdict": "fail"}').decode()
    link = f'<a rel="attachment" download="results.json" href="data:;base64,{other}">x</a>'
    results = Attachment(string=RESULTS_JSON, name="results.json")
    pdf = tmp_path / "two.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # see report_bytes
        weasyprint.HTML(string=f"<p>{link}</p>").write_pdf(pdf, pdf_variant="pdf/a-3b", attachments=[results])

    with pytest.raises(VerificationError, match="two different attachments are named 'results.jso"):
        attached_files(pdf)
