"""The Python API for notebooks: run_audit → AuditResult with to_frame, save and _repr_html_."""

from __future__ import annotations

import json

import pytest

import audit
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv


def _result(tmp_path, group_b="b"):
    rows = [(group_b if g == "b" else g, y, p) for g, y, p in skewed_rows()]
    data = tmp_path / "d.csv"
    data.write_text("group,label,pred\n" + "\n".join(f'"{g}",{y},{p}' for g, y, p in rows) + "\n")
    return audit.run_audit(data=data, policy="four-fifths", label="label", predictions="pred", sensitive=["group"])


def test_to_frame_has_one_row_per_group_with_metric_columns(tmp_path):
    frame = _result(tmp_path).to_frame()
    assert list(frame["group"]) == ["everyone", "a", "b"]
    assert frame.loc[frame["group"] == "b", "selection_rate"].item() == pytest.approx(0.2)
    assert frame["n"].tolist() == [100, 50, 50]


def test_save_writes_the_same_evidence_as_the_cli(tmp_path, capsys):
    result = _result(tmp_path)
    path = result.save(tmp_path / "nb", pdf=False)
    saved = json.loads(path.read_text())
    assert saved["verdict"] == "FAIL"
    assert saved["groups"] == result.to_dict()["groups"]
    data = write_csv(tmp_path / "d2.csv", skewed_rows())
    invoke(
        capsys,
        run_args(data, tmp_path / "cli", "--no-pdf"),
        exit_code=1,
    )
    assert json.loads((tmp_path / "cli" / "results.json").read_text())["groups"] == saved["groups"]


def test_repr_html_escapes_group_names(tmp_path):
    html = _result(tmp_path, group_b="<script>alert(1)</script>")._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "FAIL" in html and "data:image/svg+xml;base64," in html


def test_every_option_can_come_from_the_environment(tmp_path, capsys, monkeypatch):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    monkeypatch.setenv("FAIRGATE_RUN_POLICY", "four-fifths")
    monkeypatch.setenv("FAIRGATE_RUN_SENSITIVE", "group")
    monkeypatch.setenv("FAIRGATE_RUN_LABEL", "label")
    ran = invoke(
        capsys, ["run", "--data", data, "--predictions", "pred", "--out", tmp_path / "o", "--no-pdf"], exit_code=1
    )
    assert "verdict: FAIL" in ran.out
