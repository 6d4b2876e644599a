"""Countersignatures you can see: reserved sign-off fields, filled with a stamp by Fairgate or by
any PAdES tool (pyHanko's CLI), with the role and decision read back by ``verify``."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from audit.errors import SigningError
from audit.report.pdf import html_to_pdf
from audit.signing.sign import check_decision, parse_reason, sign_pdf, signing_reason
from audit.signing.verify import NOT_SIGNED, missing_roles, verify_pdf
from tests.signing.conftest import RESULTS_JSON
from tests.signing.tools import field_box, ink_in_field, require_tool

SIGNOFF = """<h1>Fairness audit</h1><table style="width: 100%">
<tr><td>Reviewer</td><td><div id="fairgate-signature-reviewer" style="height: 15mm; width: 120mm"></div></td></tr>
<tr><td>Approver</td><td><div id="fairgate-signature-approver" style="height: 15mm; width: 120mm"></div></td></tr>
</table>"""
COMMENT = "Re-run on the 2025 holdout before launch"


@pytest.fixture(scope="module")
def rendered() -> bytes:
    """A PDF/A-3b made by Fairgate's renderer from a sign-off block with two reserved lines."""
    return html_to_pdf(SIGNOFF, created=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), attachment=RESULTS_JSON.encode())


@pytest.fixture
def signed(rendered: bytes, author, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    draft = tmp_path / "draft.pdf"
    draft.write_bytes(rendered)
    out = tmp_path / "signed.pdf"
    sign_pdf(draft, out, signer=author, role="author")
    return out


def _fields(pdf: Path) -> dict[str, bool]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    with pdf.open("rb") as handle:
        return {str(name): value is not None for name, value, _ in enumerate_sig_fields(PdfFileReader(handle))}


# --- the reserved fields -------------------------------------------------------------------------


def test_the_report_reserves_empty_fields_over_the_signoff_boxes(rendered, tmp_path):
    draft = tmp_path / "draft.pdf"
    draft.write_bytes(rendered)

    assert _fields(draft) == {"Fairgate-reviewer-1": False, "Fairgate-approver-1": False}
    page, (x1, y1, x2, y2) = field_box(draft, "Fairgate-reviewer-1")
    _, (_, _, _, approver_top) = field_box(draft, "Fairgate-approver-1")
    assert page == 1
    assert 40 < y2 - y1 < 45  # 15 mm is 42.5 pt
    assert x2 - x1 > 200 and approver_top <= y1 + 0.01  # the approver's line is below the reviewer's
    # in the file's only revision: a draft stays one revision (an update would read as a removed signature)
    assert verify_pdf(draft).problems == (NOT_SIGNED,)


def test_the_authors_signature_covers_the_reserved_fields(signed, author_key):
    checked = verify_pdf(signed, trust_roots=[author_key.cert_pem])

    assert checked.ok, checked.problems
    assert _fields(signed) == {"Fairgate-reviewer-1": False, "Fairgate-approver-1": False, "Fairgate-author-1": True}


# --- filling them -----------------------------------------------------------------------------------


def test_a_countersignature_fills_its_reserved_field_with_the_decision(signed, reviewer, author_key, reviewer_key):
    field = sign_pdf(
        signed, signed, signer=reviewer, role="reviewer", decision="approve with conditions", comment=COMMENT
    )

    assert (field.name, field.visible) == ("Fairgate-reviewer-1", True)
    checked = verify_pdf(signed, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])
    assert checked.ok, checked.problems
    [author_sig, review] = checked.signatures
    assert (review.field_name, review.role, review.decision, review.comment) == (
        "Fairgate-reviewer-1",
        "reviewer",
        "approve with conditions",
        COMMENT,
    )
    assert author_sig.changes_after == "further signatures only"
    assert _fields(signed) == {"Fairgate-reviewer-1": True, "Fairgate-approver-1": False, "Fairgate-author-1": True}
    assert missing_roles(checked, ["reviewer", "approver"]) == ["approver"]


def test_the_stamp_is_drawn_on_the_reviewer_line(signed, reviewer, tmp_path):
    before = ink_in_field(signed, "Fairgate-reviewer-1", tmp_path)
    stamped = tmp_path / "stamped.pdf"
    sign_pdf(signed, stamped, signer=reviewer, role="reviewer", decision="approve")

    assert before == 0
    assert ink_in_field(stamped, "Fairgate-reviewer-1", tmp_path) > 300
    assert ink_in_field(stamped, "Fairgate-approver-1", tmp_path) == 0


def test_a_second_reviewer_gets_a_new_invisible_field(signed, reviewer, author_key, reviewer_key):
    sign_pdf(signed, signed, signer=reviewer, role="reviewer", decision="approve")
    again = sign_pdf(signed, signed, signer=reviewer, role="reviewer", decision="reject", comment="found a leak")

    assert (again.name, again.visible) == ("Fairgate-reviewer-2", False)
    checked = verify_pdf(signed, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])
    assert checked.ok, checked.problems
    assert [(s.role, s.decision) for s in checked.signatures] == [
        ("author", None),
        ("reviewer", "approve"),
        ("reviewer", "reject"),
    ]


def test_pyhanko_cli_fills_the_reserved_field_and_verify_passes(signed, reviewer_key, author_key, tmp_path):
    pyhanko = require_tool("pyhanko")
    out = tmp_path / "by-pyhanko.pdf"
    reason = signing_reason("reviewer", decision="approve")
    subprocess.run(
        [pyhanko, "sign", "addsig", "--field", "Fairgate-reviewer-1", "--existing-only", "--use-pades"]
        + ["--reason", reason, "pkcs12", "--no-pass", str(signed), str(out), str(reviewer_key.p12)],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )

    checked = verify_pdf(out, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])
    assert checked.ok, checked.problems
    assert [(s.field_name, s.role, s.decision) for s in checked.signatures] == [
        ("Fairgate-author-1", "author", None),
        ("Fairgate-reviewer-1", "reviewer", "approve"),
    ]
    assert ink_in_field(out, "Fairgate-reviewer-1", tmp_path) > 100  # pyHanko's own stamp


def test_a_countersignature_that_also_moves_another_field_is_rejected(
    signed, reviewer, author_key, reviewer_key, tmp_path
):
    """Filling a reserved field is allowed after a signature; changing anything else is not."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
    from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

    writer = IncrementalPdfFileWriter(io.BytesIO(signed.read_bytes()))
    [approver_ref] = [ref for name, _, ref in enumerate_sig_fields(writer) if name == "Fairgate-approver-1"]
    approver = approver_ref.get_object()
    approver["/Rect"] = generic.ArrayObject([generic.FloatObject(v) for v in (0, 0, 500, 700)])
    writer.update_container(approver)
    out = io.BytesIO()
    meta = PdfSignatureMetadata(field_name="Fairgate-reviewer-1", subfilter=SigSeedSubFilter.PADES)
    PdfSigner(meta, signer=reviewer).sign_pdf(writer, output=out)
    moved = tmp_path / "moved.pdf"
    moved.write_bytes(out.getvalue())

    checked = verify_pdf(moved, trust_roots=[author_key.cert_pem, reviewer_key.cert_pem])

    assert not checked.ok
    assert checked.problems == (
        "signature 1 (Fairgate-author-1): a later signature's update changed more than signature fields "
        f"({checked.signatures[0].modification_level})",
    )


# --- the decision ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "comment"),
    [(None, None), ("approve", None), ("approve with conditions", "fix; then ship: ok"), ("reject", "no")],
)
def test_the_reason_round_trips_role_decision_and_comment(decision, comment):
    reason = signing_reason("reviewer", decision=decision, comment=comment)

    parsed = parse_reason(reason)

    assert (parsed.role, parsed.decision, parsed.comment) == ("reviewer", decision, comment)


def test_a_reason_in_another_form_records_no_role_or_decision():
    assert parse_reason("I have reviewed this document") == parse_reason(None)
    assert parse_reason("Fairgate audit report: reviewer; decision: maybe").role is None


@pytest.mark.parametrize(
    ("decision", "comment", "message"),
    [
        ("approve with conditions", None, "needs a comment"),
        ("reject", "  ", "needs a comment"),
        ("maybe", None, "choose one of"),
        ("approve", "two\nlines", "one line"),
        ("approve", "x" * 1001, "at most 1000"),
    ],
)
def test_bad_decisions_are_refused(decision, comment, message):
    with pytest.raises(SigningError, match=message):
        check_decision(decision, comment)
