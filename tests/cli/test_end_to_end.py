"""The whole path on real data: audit → results.json → PDF → signature → verify, as users run it."""

from __future__ import annotations

import json
import pickle

import pytest
from pypdf import PdfReader

from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv

PASS = "correct horse battery staple"
pytestmark = pytest.mark.slow


@pytest.fixture
def dev_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", PASS)
    key = tmp_path / "keys" / "signer.p12"
    invoke(capsys, ["keygen", "--out", key], exit_code=0)
    return key, key.with_suffix(".cert.pem")


def _pdf_text(path):
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def test_compas_signed_report_verifies_and_detects_a_flipped_byte(tmp_path, capsys, compas_csv, dev_key):
    key, cert = dev_key
    out = tmp_path / "audit-out"
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            compas_csv,
            "--policy",
            "four-fifths",
            "--scores",
            "decile_score",
            "--threshold",
            "5",
            "--label",
            "two_year_recid",
            "--sensitive",
            "race",
            "--sensitive",
            "sex",
            "--out",
            out,
            "--sign",
            key,
        ],
        exit_code=1,
    )
    assert PASS not in ran.out + ran.err
    report, results = out / "report.pdf", out / "results.json"
    doc = json.loads(results.read_bytes())
    assert doc["verdict"] == "FAIL"
    text = _pdf_text(report)
    assert "FAIL" in text and "four-fifths" in text and "selection-rate-impact-ratio" in text
    assert "UNSIGNED DRAFT" not in text
    # the evidence inside the PDF is the results.json written beside it
    attached = PdfReader(report).attachments
    assert attached["results.json"][0] == results.read_bytes()
    invoke(capsys, ["verify", report, "--trust", cert], exit_code=0)
    untrusted = invoke(capsys, ["verify", report], exit_code=1)
    assert "trust" in untrusted.out
    data = bytearray(report.read_bytes())
    # byte 11 sits in the binary comment on the PDF's second line: still a parseable file, but
    # inside the signed byte range, so only the digest can notice the change
    assert data[:10] == b"%PDF-1.7\n%"
    data[11] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    ran = invoke(capsys, ["verify", tampered, "--trust", cert], exit_code=1)
    assert "INVALID" in ran.out and "Traceback" not in ran.out + ran.err


def test_unsigned_report_is_marked_draft(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    invoke(
        capsys,
        run_args(data, tmp_path / "out"),
        exit_code=1,
    )
    assert "UNSIGNED DRAFT" in _pdf_text(tmp_path / "out" / "report.pdf")
    invoke(capsys, ["verify", tmp_path / "out" / "report.pdf"], exit_code=1)


def test_hostile_group_name_is_text_and_nothing_is_fetched(tmp_path, capsys):
    hostile = '<img src="file:///etc/hostname">'
    rows = [(hostile if g == "b" else g, y, p) for g, y, p in skewed_rows()]
    data = tmp_path / "d.csv"
    data.write_text(
        "group,label,pred\n" + "\n".join(f'"{g.replace(chr(34), chr(34) * 2)}",{y},{p}' for g, y, p in rows) + "\n",
        encoding="utf-8",
    )
    invoke(
        capsys,
        run_args(data, tmp_path / "out"),
        exit_code=1,
    )
    pdf = tmp_path / "out" / "report.pdf"
    text = _pdf_text(pdf).replace("\n", "")
    assert 'img src="file:///etc/hostname"' in text
    assert b"/Subtype /Image" not in pdf.read_bytes()


def test_wrong_passphrase_exits_2_without_echoing_it(tmp_path, capsys, dev_key, monkeypatch):
    key, _ = dev_key
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", "not-the-passphrase")
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(
        capsys,
        run_args(data, tmp_path / "out", "--sign", key),
        exit_code=2,
    )
    assert "wrong passphrase" in ran.err
    assert "not-the-passphrase" not in ran.err + ran.out
    assert not (tmp_path / "out").exists()


def test_pickle_model_is_refused_without_trust(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps(Evil()))
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            "four-fifths",
            "--label",
            "label",
            "--model",
            model,
            "--features",
            "pred",
            "--sensitive",
            "group",
            "--out",
            tmp_path / "out",
        ],
        exit_code=2,
    )
    assert "model.pkl" in ran.err and "skops" in ran.err
    assert not marker.exists()


def test_failed_render_leaves_the_previous_report_untouched(tmp_path, capsys, monkeypatch):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    args = run_args(data, tmp_path / "out")
    invoke(capsys, args, exit_code=1)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    import audit.report.pdf
    from audit.errors import RenderError

    def broken(*_, **__):
        raise RenderError("simulated renderer failure")

    monkeypatch.setattr(audit.report.pdf, "render_pdf", broken)
    ran = invoke(capsys, [*args, "--seed", "7"], exit_code=2)
    assert "simulated renderer failure" in ran.err
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert after == before  # same files, same bytes, no temporary leftovers


def test_demo_model_audit_on_parquet_with_skops(tmp_path, capsys):
    """The demo's path at small scale: a skops pipeline with categorical inputs on Parquet."""
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from tests.conftest import REPO

    frame = pd.read_csv(REPO / "demo" / "data" / "adult-holdout.csv.gz").head(3000)
    features = ["age", "hours_per_week", "sex", "race"]
    model = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["sex", "race"])], remainder="passthrough"),
        LogisticRegression(max_iter=500),
    )
    model.fit(frame[features], frame["income"])
    sio.dump(model, tmp_path / "m.skops")
    frame.to_parquet(tmp_path / "d.parquet")
    invoke(
        capsys,
        [
            "run",
            "--data",
            tmp_path / "d.parquet",
            "--model",
            tmp_path / "m.skops",
            "--policy",
            "equalized-odds",
            "--label",
            "income",
            "--positive-label",
            ">50K",
            "--sensitive",
            "sex",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    expected = (model.predict(frame[features]) == ">50K").mean()
    overall = next(g for g in doc["groups"] if g["id"] == "overall")
    assert overall["metrics"]["selection_rate"]["value"] == pytest.approx(expected)
    assert {i["role"] for i in doc["provenance"]["inputs"]} == {"dataset", "model", "policy"}


def test_signed_report_stays_a_pdf_1_7_document(tmp_path, capsys, dev_key):
    """PDF/A-3b is based on PDF 1.7: signing must not raise the document to PDF 2.0."""
    key, _ = dev_key
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    invoke(
        capsys,
        run_args(data, tmp_path / "out", "--sign", key),
        exit_code=1,
    )
    raw = (tmp_path / "out" / "report.pdf").read_bytes()
    assert b"/Version /2.0" not in raw
    xmp = PdfReader(tmp_path / "out" / "report.pdf").xmp_metadata.stream.get_data()
    assert b"pdfaid:part" in xmp and b"3" in xmp.split(b"pdfaid:part")[1][:20]


def test_reviewer_countersigns_and_both_signatures_verify(tmp_path, capsys, dev_key):
    key, cert = dev_key
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    invoke(
        capsys,
        run_args(data, tmp_path / "out", "--sign", key),
        exit_code=1,
    )
    report = tmp_path / "out" / "report.pdf"
    reviewer = tmp_path / "keys" / "reviewer.p12"
    invoke(capsys, ["keygen", "--out", reviewer, "--name", "Reviewer"], exit_code=0)
    # the author's signature must verify first
    refused = invoke(
        capsys, ["sign", report, "--key", reviewer, "--role", "reviewer", "--decision", "approve"], exit_code=2
    )
    assert "refusing to countersign" in refused.err
    invoke(
        capsys,
        ["sign", report, "--key", reviewer, "--role", "reviewer", "--decision", "approve", "--trust", cert],
        exit_code=0,
    )
    ran = invoke(
        capsys, ["verify", report, "--trust", cert, "--trust", reviewer.with_suffix(".cert.pem"), "--json"], exit_code=0
    )
    roles = [s["role"] for s in json.loads(ran.out)["signatures"]]
    assert roles == ["author", "reviewer"]


def test_recompute_to_verify(tmp_path, capsys, compas_csv, dev_key):
    key, cert = dev_key
    out = tmp_path / "out"
    invoke(
        capsys,
        [
            "run",
            "--data",
            compas_csv,
            "--policy",
            "equalized-odds",
            "--scores",
            "decile_score",
            "--threshold",
            "5",
            "--label",
            "two_year_recid",
            "--sensitive",
            "race",
            "--seed",
            "4",
            "--out",
            out,
            "--sign",
            key,
        ],
        exit_code=1,
    )
    ran = invoke(
        capsys, ["verify", out / "report.pdf", "--trust", cert, "--recompute", "--data", compas_csv], exit_code=0
    )
    assert "recomputed: the same results" in ran.out
    # a copy of the data with one outcome changed is not the audited file
    changed = tmp_path / "changed.csv"
    text = compas_csv.read_text().splitlines()
    text[1] = text[1][:-1] + ("0" if text[1].endswith("1") else "1")
    changed.write_text("\n".join(text) + "\n")
    bad = invoke(capsys, ["verify", out / "report.pdf", "--trust", cert, "--recompute", "--data", changed], exit_code=1)
    assert "sha256 differs from the dataset the report records" in bad.out


def test_passphrase_from_a_mounted_secret_file(tmp_path, capsys, dev_key, monkeypatch):
    key, cert = dev_key
    secret = tmp_path / "secret"
    secret.write_text(PASS + "\n")
    monkeypatch.delenv("FAIRGATE_KEY_PASSPHRASE")
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE_FILE", str(secret))
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(
        capsys,
        run_args(data, tmp_path / "out", "--sign", key),
        exit_code=1,
    )
    assert PASS not in ran.out + ran.err
    invoke(capsys, ["verify", tmp_path / "out" / "report.pdf", "--trust", cert], exit_code=0)


def test_pem_key_with_a_ca_issued_certificate(tmp_path, capsys, monkeypatch):
    """Production keys: a PEM key, its CA-issued certificate and the CA; trust the CA, not the leaf."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def cert(subject, issuer, key, signer, *, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=not ca,
                    key_encipherment=False,  # noqa: E501
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=ca,
                    crl_sign=ca,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Compliance CA")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Risk Reviewer")])
    ca_cert = cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf_cert = cert(leaf_name, ca_name, leaf_key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf_cert.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"s3cret"))
    )
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", "s3cret")
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    invoke(
        capsys,
        run_args(
            data,
            tmp_path / "out",
            "--sign",
            tmp_path / "leaf.key",
            "--sign-cert",
            tmp_path / "leaf.pem",
            "--sign-chain",
            tmp_path / "ca.pem",
        ),
        exit_code=1,
    )
    ran = invoke(capsys, ["verify", tmp_path / "out" / "report.pdf", "--trust", tmp_path / "ca.pem"], exit_code=0)
    assert "Risk Reviewer" in ran.out
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", "not-s3cret-xyz")
    bad = invoke(
        capsys,
        run_args(data, tmp_path / "out2", "--sign", tmp_path / "leaf.key", "--sign-cert", tmp_path / "leaf.pem"),
        exit_code=2,
    )
    assert "wrong passphrase, or they do not match" in bad.err and "not-s3cret-xyz" not in bad.err + bad.out


def test_recompute_a_partitioned_dataset(tmp_path, capsys, compas_csv, dev_key):
    """A directory of Parquet files (or a glob) is recomputed from the same files; one changed file fails."""
    import numpy as np
    import pandas as pd

    key, cert = dev_key
    parts = tmp_path / "parts"
    parts.mkdir()
    frame = pd.read_csv(compas_csv)[["race", "sex", "two_year_recid", "is_recid"]]
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[rows].to_parquet(parts / f"part-{i}.parquet")
    out = tmp_path / "out"
    invoke(
        capsys,
        [
            "run",
            "--data",
            parts,
            "--policy",
            "four-fifths",
            "--predictions",
            "is_recid",
            "--label",
            "two_year_recid",
            "--sensitive",
            "race",
            "--engine",
            "duckdb",
            "--out",
            out,
            "--sign",
            key,
        ],
        exit_code=1,
    )
    ran = invoke(capsys, ["verify", out / "report.pdf", "--trust", cert, "--recompute", "--data", parts], exit_code=0)
    assert "recomputed: the same results" in ran.out
    doc = json.loads((out / "results.json").read_text())
    listed = doc["provenance"]["inputs"][0]["files"]
    assert [f["path"] for f in listed] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    import hashlib

    assert [f["sha256"] for f in listed] == [
        hashlib.sha256((parts / f["path"]).read_bytes()).hexdigest() for f in listed
    ]
    frame.iloc[:5].to_parquet(parts / "part-1.parquet")
    frame.iloc[:5].to_parquet(parts / "part-3.parquet")
    bad = invoke(capsys, ["verify", out / "report.pdf", "--trust", cert, "--recompute", "--data", parts], exit_code=1)
    assert "sha256 differs from the dataset the report records" in bad.out
    assert "not the audited files (part-1.parquet changed; part-3.parquet was not audited)" in bad.out
