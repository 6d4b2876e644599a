"""A golden results.json for the demo audit (`make demo`): any change to the evidence it produces —
a number, a status, a sentence, a key — shows up here as a reviewed diff.

The model is trained as `demo/prepare.py` trains it (same data, deterministic solver). What cannot
be the same from machine to machine is left out: file hashes and sizes (skops names its array files
after memory addresses; Parquet bytes depend on the pyarrow version), paths, library versions and
the command line. Refresh after an intended change with ``pytest tests/cli/test_demo_golden.py
--update-golden`` (or ``FAIRGATE_UPDATE_GOLDEN=1``) and review the diff of ``tests/cli/golden/``.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import pytest

from audit.cli import main
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden" / "demo-results.json"


def _stable(doc: dict) -> dict:
    doc = dict(doc)
    doc["provenance"] = {"inputs": [{"role": i["role"]} for i in doc["provenance"]["inputs"]]}
    doc["request"] = {k: v for k, v in doc["request"].items() if k not in ("data", "model", "policy")}
    return doc


@pytest.mark.slow
def test_the_demo_audit_matches_its_golden_results(tmp_path, monkeypatch, capsys, request):
    work = tmp_path / "work"
    monkeypatch.setattr(sys, "argv", ["prepare.py", "--out", str(work)])
    runpy.run_path(str(REPO / "demo" / "prepare.py"), run_name="__main__")
    code = main(
        [
            "run",
            "--data",
            str(work / "holdout.parquet"),
            "--model",
            str(work / "model.skops"),
            "--policy",
            "four-fifths",
            "--label",
            "income",
            "--positive-label",
            ">50K",
            "--sensitive",
            "sex",
            "--sensitive",
            "race",
            "--out",
            str(tmp_path / "out"),
            "--format",
            "json",
            "--no-ledger",
        ]
    )
    capsys.readouterr()
    assert code == 1  # the demo finds a blocking failure: the point of the demo
    got = (
        json.dumps(
            _stable(json.loads((tmp_path / "out" / "results.json").read_text())),
            indent=1,
            sort_keys=True,
            ensure_ascii=False,
        )
        + "\n"
    )
    if request.config.getoption("--update-golden") or os.environ.get("FAIRGATE_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(got, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    if got != expected:
        import difflib

        lines = difflib.unified_diff(expected.splitlines(True), got.splitlines(True), "golden", "now")
        diff = "".join(list(lines)[:80])
        pytest.fail(f"the demo's results.json changed; review and refresh with --update-golden:\n{diff}")
