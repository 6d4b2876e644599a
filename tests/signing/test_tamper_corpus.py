"""The tamper corpus: every way of changing a signed report must be caught by ``fairgate verify``.

One real report is made per module with the CLI (``fairgate run … --sign``) and countersigned by a
reviewer and an approver (``fairgate sign``); each case copies it, changes it the way an attacker
or an accident would, and runs ``fairgate verify`` through the CLI: exit 1, ``INVALID``, and a
reason that names what changed. The untouched reports must pass (exit 0) with every role listed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import parser
from pypdf import PdfReader, PdfWriter

from audit.cli import main
from audit.signing.keys import DevKeyFiles, generate_dev_key, load_signer
from audit.signing.sign import sign_pdf
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Corpus:
    signed: Path  # author only
    countersigned: Path  # author, reviewer, approver
    trust: tuple[Path, ...]  # the three signers' certificates
    mallory: DevKeyFiles  # a well-formed key nobody trusts


def _run_cli(args: list[object]) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    base = tmp_path_factory.mktemp("corpus")
    keys = {
        name: generate_dev_key(base / f"{name}.p12", passphrase=None, common_name=name.capitalize())
        for name in ("author", "reviewer", "approver", "mallory")
    }
    data = write_csv(base / "d.csv", skewed_rows())
    with pytest.MonkeyPatch.context() as env:
        env.delenv("FAIRGATE_KEY_PASSPHRASE", raising=False)
        env.delenv("FAIRGATE_TSA_URL", raising=False)
        code = _run_cli(run_args(data, base / "out", "--sign", keys["author"].p12, "-q"))
        assert code == 1  # the skewed data fails four-fifths; the report is signed all the same
        signed = base / "signed.pdf"
        signed.write_bytes((base / "out" / "report.pdf").read_bytes())
        countersigned = base / "countersigned.pdf"
        countersigned.write_bytes(signed.read_bytes())
        trust = tuple(keys[name].cert_pem for name in ("author", "reviewer", "approver"))
        for role in ("reviewer", "approver"):
            args = ["sign", countersigned, "--key", keys[role].p12, "--role", role, "--decision", "approve"]
            assert _run_cli([*args, *(a for cert in trust for a in ("--trust", cert))]) == 0
    return Corpus(signed, countersigned, trust, keys["mallory"])


def verify(capsys, pdf: Path, corpus: Corpus, *extra: object, exit_code: int):  # type: ignore[no-untyped-def]
    trust = [a for cert in corpus.trust for a in ("--trust", cert)]
    return invoke(capsys, ["verify", pdf, *trust, *extra], exit_code=exit_code)


# --- what must pass ---------------------------------------------------------------------------


def test_a_fresh_signed_report_is_valid(corpus, capsys):
    ran = verify(capsys, corpus.signed, corpus, exit_code=0)

    assert ran.out.splitlines()[-1] == f"{corpus.signed}: VALID"
    assert "1. author: Author (DEVELOPMENT ONLY) (self-signed) [DEVELOPMENT KEY: not evidence]" in ran.out
    assert "by the signer's clock (no timestamp authority)" in ran.out
    assert "problem:" not in ran.out
    # no --tsa: the cover says whose clock the signing time comes from
    cover = " ".join((PdfReader(corpus.signed).pages[0].extract_text() or "").split())
    assert "Signing time: the signer's own clock (no timestamp authority was used)." in cover


def test_author_reviewer_and_approver_signatures_are_valid_and_listed_with_roles(corpus, capsys):
    ran = verify(capsys, corpus.countersigned, corpus, exit_code=0)
    as_json = json.loads(verify(capsys, corpus.countersigned, corpus, "--json", exit_code=0).out)

    for index, role in enumerate(("author", "reviewer", "approver"), start=1):
        assert f"  {index}. {role}: {role.capitalize()} (DEVELOPMENT ONLY)" in ran.out
    assert ran.out.splitlines()[-1] == f"{corpus.countersigned}: VALID"
    assert as_json["ok"] is True and as_json["verdict"] == "VALID" and as_json["problems"] == []
    assert as_json["roles"] == ["author", "reviewer", "approver"]
    assert [s["field_name"] for s in as_json["signatures"]] == [
        "Fairgate-author-1",
        "Fairgate-reviewer-1",
        "Fairgate-approver-1",
    ]
    assert [s["changes_after"] for s in as_json["signatures"]] == [
        "further signatures only",
        "further signatures only",
        "none",
    ]
    assert all(s["time_source"] == "signer's clock" and s["timestamp"] is None for s in as_json["signatures"])
    # the evidence attached before anyone signed is unchanged by the countersignatures
    assert (
        PdfReader(corpus.countersigned).attachments["results.json"]
        == PdfReader(corpus.signed).attachments["results.json"]
    )


# --- the ways of tampering --------------------------------------------------------------------


def flip_content_byte(src: Path, dst: Path, corpus: Corpus) -> None:
    """One byte in the first stream (the PDF/A output intent's ICC profile): signed, never decoded."""
    data = bytearray(src.read_bytes())
    position = data.index(b"stream", data.index(b"obj")) + len(b"stream\n") + 100
    data[position] ^= 0x01
    dst.write_bytes(bytes(data))


def flip_signature_byte(src: Path, dst: Path, corpus: Corpus) -> None:
    """One bit of the RSA signature value: the last bytes of the DER-encoded CMS in /Contents."""
    data = bytearray(src.read_bytes())
    start = data.rindex(b"/Contents <") + len(b"/Contents <")
    end = data.index(b">", start)
    cms = bytes.fromhex(data[start:end].decode())
    _cls, _method, _tag, header, content, _trailer = parser.parse(cms)
    der_length = len(header) + len(content)
    position = start + 2 * (der_length - 20)  # a hex digit inside the signature value
    data[position : position + 1] = b"0" if data[position : position + 1] != b"0" else b"1"
    dst.write_bytes(bytes(data))


def overlay_page_content(src: Path, dst: Path, corpus: Corpus) -> None:
    """An incremental update that draws over page 1 (pyHanko's own writer, as a forger would)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(src.read_bytes()))
    box = generic.StreamObject(stream_data=b"q 1 1 1 rg 40 600 500 120 re f Q")  # a white box over the verdict
    writer.add_stream_to_page(0, writer.add_object(box))
    out = io.BytesIO()
    writer.write(out)
    dst.write_bytes(out.getvalue())


def _write_replaced(writer, ref, replacement, dst: Path) -> None:  # type: ignore[no-untyped-def]
    """Write an incremental update in which the object ``ref`` points to is ``replacement``."""
    writer.mark_update(ref)
    writer.objects[(ref.generation, ref.idnum)] = replacement
    out = io.BytesIO()
    writer.write(out)
    dst.write_bytes(out.getvalue())


def _results(src: Path) -> dict:
    return json.loads(PdfReader(src).attachments["results.json"][0])


def replace_embedded_file(src: Path, dst: Path, corpus: Corpus) -> None:
    """An update that overwrites the EmbeddedFile stream of results.json with other bytes."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(src.read_bytes()))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[names.index(generic.TextStringObject("results.json")) + 1].get_object()
    stream_ref = spec["/EF"].raw_get("/F")
    replacement = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/EmbeddedFile")}, stream_data=b'{"verdict": "PASS"}'
    )
    _write_replaced(writer, stream_ref, replacement, dst)


def swap_evidence_numbers(src: Path, dst: Path, corpus: Corpus) -> None:
    """An update that attaches a results.json whose numbers differ (a new file under the same name)."""
    doc = _results(src)
    doc["verdict"] = "PASS"
    for group in doc["groups"]:
        for metric in group.get("metrics", {}).values():
            if isinstance(metric, dict) and isinstance(metric.get("value"), float):
                metric["value"] = 0.5
    writer = PdfWriter(src, incremental=True)
    writer._root_object["/Names"].get_object().pop("/EmbeddedFiles")  # noqa: SLF001
    writer.add_attachment("results.json", json.dumps(doc).encode())
    writer.write(dst)


def edit_info(src: Path, dst: Path, corpus: Corpus) -> None:
    writer = PdfWriter(src, incremental=True)
    writer.add_metadata({"/Title": "Fairness audit: PASS"})
    writer.write(dst)


def edit_xmp(src: Path, dst: Path, corpus: Corpus) -> None:
    """An update that replaces the XMP metadata stream (the PDF/A identification lives there)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(src.read_bytes()))
    meta_ref = writer.root.raw_get("/Metadata")
    xmp = meta_ref.get_object().data.replace(
        b"</rdf:RDF>",
        b"<rdf:Description rdf:about=''"
        b" xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        b"<dc:description>approved</dc:description></rdf:Description></rdf:RDF>",
    )
    replacement = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Metadata"),
            generic.NameObject("/Subtype"): generic.NameObject("/XML"),
        },
        stream_data=xmp,
    )
    _write_replaced(writer, meta_ref, replacement, dst)


def strip_signature_value(src: Path, dst: Path, corpus: Corpus) -> None:
    """An update that empties the signature field (its /V removed): the signature is gone."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(src.read_bytes()))
    for field_ref in writer.root["/AcroForm"]["/Fields"]:
        field = field_ref.get_object()
        if field.get("/FT") == generic.NameObject("/Sig") and "/V" in field:
            del field["/V"]
            writer.mark_update(field_ref)
    out = io.BytesIO()
    writer.write(out)
    dst.write_bytes(out.getvalue())


def rewrite_without_signature(src: Path, dst: Path, corpus: Corpus) -> None:
    """The whole file rewritten by pypdf with the signature form and its widget left out."""
    writer = PdfWriter(clone_from=src)
    del writer._root_object["/AcroForm"]  # noqa: SLF001
    for page in writer.pages:
        if "/Annots" in page:
            kept = [a for a in page["/Annots"] if a.get_object().get("/FT") != "/Sig"]
            page[pypdf_name("/Annots")] = pypdf_array(kept)
    writer.write(dst)


def pypdf_name(name: str):  # type: ignore[no-untyped-def]
    from pypdf.generic import NameObject

    return NameObject(name)


def pypdf_array(items: list):  # type: ignore[no-untyped-def]
    from pypdf.generic import ArrayObject

    return ArrayObject(items)


def _first_revision(src: Path) -> bytes:
    """The report as rendered, before the author's signature (signing only appends)."""
    data = src.read_bytes()
    first_eof = data.index(b"%%EOF") + len(b"%%EOF")
    return data[: first_eof + 1] if data[first_eof : first_eof + 1] == b"\n" else data[:first_eof]


def resign_with_untrusted_key(src: Path, dst: Path, corpus: Corpus) -> None:
    """The unsigned report, its title changed, signed again as 'author' by a key nobody trusts."""
    unsigned = dst.with_name("unsigned.pdf")
    unsigned.write_bytes(_first_revision(src))
    edit_info(unsigned, unsigned, corpus)
    sign_pdf(unsigned, dst, signer=load_signer(corpus.mallory.p12, passphrase=None), role="author")


def countersign_with_untrusted_key(src: Path, dst: Path, corpus: Corpus) -> None:
    sign_pdf(src, dst, signer=load_signer(corpus.mallory.p12, passphrase=None), role="approver")


def truncate(src: Path, dst: Path, corpus: Corpus) -> None:
    """The file cut short (an interrupted copy or download): the last 2 kB are gone."""
    dst.write_bytes(src.read_bytes()[:-2048])


@dataclass(frozen=True)
class Case:
    tamper: Callable[[Path, Path, Corpus], None]
    base: str  # "signed" or "countersigned"
    reasons: tuple[str, ...]  # each must appear in one "problem:" line


CASES = {
    "content byte flipped": Case(
        flip_content_byte,
        "signed",
        ("signature 1 (Fairgate-author-1): the signed content was changed (digest mismatch)",),
    ),
    "signature byte flipped": Case(
        flip_signature_byte, "signed", ("signature 1 (Fairgate-author-1): the cryptographic signature is invalid",)
    ),
    "page content overlaid": Case(
        overlay_page_content,
        "signed",
        ("signature 1 (Fairgate-author-1): followed by 1 unsigned update", "page 1 content"),
    ),
    "results.json stream replaced": Case(
        replace_embedded_file, "signed", ("followed by 1 unsigned update", "attached file results.json")
    ),
    "results.json with other numbers": Case(
        swap_evidence_numbers,
        "countersigned",
        ("signature 3 (Fairgate-approver-1): followed by 1 unsigned update", "attached file results.json"),
    ),
    "/Info edited": Case(edit_info, "signed", ("followed by 1 unsigned update", "document information (/Info)")),
    "XMP metadata edited": Case(edit_xmp, "countersigned", ("followed by 1 unsigned update", "XMP metadata")),
    "signature value stripped": Case(
        strip_signature_value,
        "signed",
        ("not signed: there is no signature, yet the file was updated 2 time(s) after it was made",),
    ),
    "rewritten without the signature": Case(
        rewrite_without_signature,
        "countersigned",
        ("not signed: there is no signature, yet this Fairgate report was rendered to be signed",),
    ),
    "re-signed with an untrusted key": Case(
        resign_with_untrusted_key,
        "signed",
        ("signature 1 (Fairgate-author-1): signer 'Mallory (DEVELOPMENT ONLY)' is not trusted by the given roots",),
    ),
    "countersigned by an untrusted key": Case(
        countersign_with_untrusted_key,
        "countersigned",
        ("signature 4 (Fairgate-approver-2): signer 'Mallory (DEVELOPMENT ONLY)' is not trusted by the given roots",),
    ),
    "truncated": Case(truncate, "signed", ("damaged or truncated",)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tampering_is_caught(name, corpus, capsys, tmp_path):
    case = CASES[name]
    src = corpus.signed if case.base == "signed" else corpus.countersigned
    tampered = tmp_path / "tampered.pdf"
    case.tamper(src, tampered, corpus)
    assert tampered.read_bytes() != src.read_bytes()

    ran = verify(capsys, tampered, corpus, exit_code=1)

    assert ran.out.splitlines()[-1] == f"{tampered}: INVALID"
    assert "Traceback" not in ran.out + ran.err
    problems = [line for line in ran.out.splitlines() if line.startswith("problem: ")]
    for reason in case.reasons:
        assert any(reason in line for line in problems), f"{reason!r} not in {problems}"


def test_json_gives_the_same_verdict_and_reasons(corpus, capsys, tmp_path):
    tampered = tmp_path / "tampered.pdf"
    overlay_page_content(corpus.countersigned, tampered, corpus)

    ran = verify(capsys, tampered, corpus, exit_code=1)
    as_json = json.loads(verify(capsys, tampered, corpus, "--json", exit_code=1).out)

    assert as_json["ok"] is False and as_json["verdict"] == "INVALID"
    assert as_json["roles"] == ["author", "reviewer", "approver"]
    assert [f"problem: {p}" for p in as_json["problems"]] == [
        line for line in ran.out.splitlines() if line.startswith("problem: ")
    ]
    assert len(as_json["problems"]) == 1 and "page 1 content" in as_json["problems"][0]


# --- what cannot be checked at all (exit 2) ---------------------------------------------------


def test_what_cannot_be_checked_exits_2_with_one_error(corpus, capsys, tmp_path):
    text = tmp_path / "report.pdf"
    text.write_text("not a PDF at all\n")
    cases = {
        "missing file": (["verify", tmp_path / "gone.pdf"], "cannot read the PDF"),
        "not a PDF": (["verify", text], "not a PDF that can be checked"),
        "unreadable --trust": (
            ["verify", corpus.signed, "--trust", tmp_path / "gone.pem"],
            "cannot read the trust certificate",
        ),
        "--recompute without --data": (["verify", corpus.signed, "--recompute"], "--recompute needs --data"),
    }
    for name, (args, message) in cases.items():
        ran = invoke(capsys, args, exit_code=2)
        errors = [line for line in ran.err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and message in errors[0], name
        assert ran.out == "", name  # no partial verdict
