"""`fairgate verify` exit codes: a file that is a PDF but does not verify is INVALID (exit 1), always.

Exit 2 is for what cannot be checked at all: a missing file, a file that is not a PDF, a usage error
(`--recompute` without the model the audit used). Before, a damaged signature dictionary or trailer
gave exit 2 ("cannot read the signatures") in 28 of 59 random mutants while a truncated file gave 1.

The mutants are seeded: bytes of the signature dictionaries (outside the /Contents hex string, whose
hex-digit case is not signed and whose value the tamper corpus covers), of the trailer (the last
kilobyte: xref stream or table, trailer, startxref, %%EOF) and of random places, flipped,
overwritten, deleted or cut off.
"""

from __future__ import annotations

import json
import random
import re
import warnings
from pathlib import Path

import pytest

from audit.signing.sign import sign_pdf
from tests.cli.helpers import invoke, write_csv

SEED = 16
PER_REGION = 40


@pytest.fixture(scope="module")
def countersigned(tmp_path_factory, report_bytes, author, reviewer) -> Path:
    base = tmp_path_factory.mktemp("exit-codes")
    draft = base / "draft.pdf"
    draft.write_bytes(report_bytes)
    signed = base / "signed.pdf"
    sign_pdf(draft, signed, signer=author, role="author")
    sign_pdf(signed, signed, signer=reviewer, role="reviewer")
    return signed


def _contents_spans(data: bytes) -> list[tuple[int, int]]:
    return [(m.start(1), m.end(1)) for m in re.finditer(rb"/Contents\s*<([0-9A-Fa-f]*)>", data)]


def _signature_dictionary_positions(data: bytes) -> list[int]:
    """Every byte of each /Type /Sig dictionary except the /Contents hex digits."""
    holes = _contents_spans(data)
    positions = []
    for match in re.finditer(rb"/ByteRange", data):
        start = data.rfind(b"<<", 0, match.start())
        end = data.find(b"endobj", match.start())
        positions += [p for p in range(start, end) if not any(a <= p < b for a, b in holes)]
    assert positions
    return positions


def _mutants(data: bytes) -> list[tuple[str, bytes]]:
    rng = random.Random(SEED)
    holes = _contents_spans(data)
    regions = {
        "signature dictionary": _signature_dictionary_positions(data),
        "trailer": [p for p in range(len(data) - 1024, len(data)) if not any(a <= p < b for a, b in holes)],
        "anywhere": [p for p in range(5, len(data)) if not any(a <= p < b for a, b in holes)],
    }
    out = []
    for region, positions in regions.items():
        for i in range(PER_REGION):
            at = rng.choice(positions)
            kind = ("flip", "overwrite", "delete", "cut")[i % 4]
            mutant = bytearray(data)
            if kind == "flip":
                mutant[at] ^= 1 << rng.randrange(8)
            elif kind == "overwrite":
                width = rng.randint(1, 8)
                mutant[at : at + width] = bytes(rng.randrange(256) for _ in range(width))
            elif kind == "delete":
                del mutant[at : at + rng.randint(1, 8)]
            else:
                del mutant[at:]
            if bytes(mutant) != data:
                out.append((f"{region} {kind} at {at}", bytes(mutant)))
    return out


@pytest.mark.slow
def test_every_damaged_pdf_is_invalid_never_cannot_check(countersigned, author_key, reviewer_key, tmp_path, capsys):
    from audit.cli import main

    trust = ["--trust", author_key.cert_pem, "--trust", reviewer_key.cert_pem]
    assert main(["verify", str(countersigned), *map(str, trust), "--no-ledger"]) == 0
    capsys.readouterr()
    data = countersigned.read_bytes()
    mutants = _mutants(data)
    assert len(mutants) > 100
    wrong = {}
    path = tmp_path / "mutant.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf and pyHanko warn about the damage they work around
        for name, mutant in mutants:
            path.write_bytes(mutant)
            code = main(["verify", str(path), *map(str, trust), "--no-ledger"])
            out, err = capsys.readouterr()
            assert mutant.startswith(b"%PDF")
            if code != 1 or not out.rstrip().endswith(": INVALID") or err:
                wrong[name] = (code, err.strip()[-200:])
    assert not wrong, f"{len(wrong)} of {len(mutants)} mutants were not INVALID (exit 1): {wrong}"


def test_a_truncated_or_damaged_signature_says_so(countersigned, author_key, reviewer_key, tmp_path, capsys):
    data = countersigned.read_bytes()
    sig_type = data.index(b"/Type /Sig") if b"/Type /Sig" in data else data.index(b"/Type/Sig")
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(data[:sig_type] + b"/Type /Xyz" + data[sig_type + 10 :])
    ran = invoke(
        capsys,
        ["verify", damaged, "--trust", author_key.cert_pem, "--trust", reviewer_key.cert_pem, "--no-ledger"],
        exit_code=1,
    )
    assert ran.out.rstrip().endswith(f"{damaged}: INVALID") and ran.err == ""


def test_what_is_not_a_pdf_or_missing_exits_2(tmp_path, capsys):
    text = tmp_path / "report.pdf"
    text.write_text("not a PDF at all\n")
    for path, message in ((tmp_path / "gone.pdf", "cannot read the PDF"), (text, "not a PDF that can be checked")):
        ran = invoke(capsys, ["verify", path, "--no-ledger"], exit_code=2)
        assert ran.err.startswith(f"error: {path}: {message}") and ran.out == ""


def _evidence_pdf(path: Path, document: dict, author) -> Path:  # type: ignore[no-untyped-def]
    import weasyprint
    from weasyprint import Attachment

    attachment = Attachment(string=json.dumps(document), name="results.json", relationship="Data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        draft = weasyprint.HTML(string="<h1>Fairness audit</h1>").write_pdf(
            pdf_variant="pdf/a-3b", attachments=[attachment]
        )
    path.with_suffix(".draft.pdf").write_bytes(draft)
    sign_pdf(path.with_suffix(".draft.pdf"), path, signer=author, role="author")
    return path


def test_recompute_without_the_audited_model_is_a_usage_error(tmp_path, capsys, author, author_key):
    data = write_csv(tmp_path / "d.csv", [("a", 1, 1)])
    model_input = {"role": "model", "path": "/build/model.skops", "sha256": "ab" * 32, "size_bytes": 10}
    dataset_input = {"role": "dataset", "path": str(data), "sha256": "cd" * 32, "size_bytes": 10}
    evidence = {"audit": {}, "policy": {}, "provenance": {"inputs": [dataset_input, model_input]}}
    report = _evidence_pdf(tmp_path / "report.pdf", evidence, author)
    args = ["verify", report, "--trust", author_key.cert_pem, "--recompute", "--data", data, "--no-ledger"]
    ran = invoke(capsys, args, exit_code=2)
    assert ran.err.startswith("error: --recompute needs --model: the signed audit used a model (model.skops, sha256 ")
    assert "hint: pass the audited model with --model" in ran.err and ran.out == ""

    without_model = {**evidence, "provenance": {"inputs": [dataset_input]}}
    report = _evidence_pdf(tmp_path / "plain.pdf", without_model, author)
    ran = invoke(
        capsys,
        [
            "verify",
            report,
            "--trust",
            author_key.cert_pem,
            "--recompute",
            "--data",
            data,
            "--model",
            tmp_path / "m.skops",
            "--no-ledger",
        ],
        exit_code=2,
    )
    assert "the signed audit used no model" in ran.err and "hint: drop --model" in ran.err


def test_recompute_of_evidence_that_is_not_fairgate_evidence_is_invalid(tmp_path, capsys, author, author_key):
    report = _evidence_pdf(tmp_path / "report.pdf", {"verdict": "PASS"}, author)
    data = write_csv(tmp_path / "d.csv", [("a", 1, 1)])
    ran = invoke(
        capsys,
        ["verify", report, "--trust", author_key.cert_pem, "--recompute", "--data", data, "--no-ledger"],
        exit_code=1,
    )
    assert "not Fairgate evidence" in ran.out and ran.out.rstrip().endswith("INVALID")
