"""`fairgate monitor` at parity with `run`: --format (HTML), --audit-date, --strict, --seed, and the
comparison with the launch audit (--baseline) on the report's cover."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.cli.helpers import invoke
from tests.conftest import REPO

POLICY = REPO / "examples" / "monitoring" / "lending-drift.yaml"


def _log(path, *, n=3000, months=3, last_month_rows=None, seed=7):
    """A decision log with columns decided_at, sex, race, approved over ``months`` months of 2025."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 30 * months, n)
    if last_month_rows is not None:  # the latest month holds only this many rows
        days = np.concatenate([rng.integers(0, 28 * (months - 1), n), np.full(last_month_rows, 30 * (months - 1) + 5)])
    size = len(days)
    frame = pd.DataFrame(
        {
            "decided_at": pd.to_datetime("2025-01-01") + pd.to_timedelta(days, unit="D"),
            "sex": rng.choice(["Female", "Male"], size),
            "race": rng.choice(["Black", "White", "Asian"], size, p=[0.3, 0.5, 0.2]),
            "approved": rng.choice(["yes", "no"], size, p=[0.4, 0.6]),
        }
    )
    frame.to_parquet(path)
    return path


def _monitor(tmp_path, capsys, *extra, out="out", exit_code=0, data=None):
    data = data or _log(tmp_path / "log.parquet")
    invoke(
        capsys, ["monitor", "--data", data, "--policy", POLICY, "--out", tmp_path / out, *extra], exit_code=exit_code
    )
    return tmp_path / out


def test_monitor_writes_the_html_report_with_format(tmp_path, capsys):
    out = _monitor(tmp_path, capsys, "--format", "html,json")
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.json"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Time windows" in html and "Trends over time" in html


def test_monitor_records_the_audit_date(tmp_path, capsys):
    out = _monitor(tmp_path, capsys, "--no-pdf", "--audit-date", "2025-04-02")
    doc = json.loads((out / "results.json").read_text())
    assert doc["request"]["audit_date"] == "2025-04-02"
    invoke(
        capsys,
        ["monitor", "--data", tmp_path / "log.parquet", "--policy", POLICY, "--audit-date", "2025-02-30"],
        exit_code=2,
    )


def test_monitor_strict_fails_on_insufficient_data_in_the_latest_window(tmp_path, capsys):
    data = _log(tmp_path / "log.parquet", last_month_rows=40)  # no group of the latest month is large enough
    out = _monitor(tmp_path, capsys, "--no-pdf", data=data, exit_code=0)
    doc = json.loads((out / "results.json").read_text())
    statuses = {i["id"].split()[0]: i["status"] for i in doc["items"]}  # drift items: "<id> (window vs window)"
    assert statuses["approval-rate-drift"] == "INSUFFICIENT_DATA" and "FAIL" not in statuses.values()
    _monitor(tmp_path, capsys, "--no-pdf", "--strict", data=data, out="strict", exit_code=1)
    assert json.loads((tmp_path / "strict" / "results.json").read_text())["request"]["strict"] is True


def test_monitor_seed_is_recorded_and_drives_the_drift_intervals(tmp_path, capsys):
    data = _log(tmp_path / "log.parquet")
    docs = {}
    for seed in ("3", "4"):
        out = _monitor(tmp_path, capsys, "--no-pdf", "--seed", seed, data=data, out=f"s{seed}")
        docs[seed] = json.loads((out / "results.json").read_text())
    assert docs["3"]["audit"]["seed"] == 3 and docs["4"]["audit"]["seed"] == 4
    drift = {
        s: [d for d in doc["monitoring"]["drift"] if d["rule_id"] == "impact-ratio-drift"] for s, doc in docs.items()
    }
    assert drift["3"] and drift["3"] != drift["4"]  # the disparity drift's bootstrap interval follows the seed


def test_monitor_shows_the_comparison_with_the_launch_audit_on_the_cover(tmp_path, capsys):
    launch = _monitor(tmp_path, capsys, "--no-pdf", data=_log(tmp_path / "launch.parquet", seed=1), out="launch")
    out = _monitor(
        tmp_path,
        capsys,
        "--format",
        "html,json",
        "--baseline",
        launch / "results.json",
        data=_log(tmp_path / "log.parquet"),
    )
    doc = json.loads((out / "results.json").read_text())
    assert doc["comparison"]["changes"]
    comparison = [i for i in doc["items"] if i["kind"] == "comparison"]
    assert len(comparison) == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    cover = html[html.index('<section class="cover">') : html.index("</section>")]
    assert comparison[0]["title"] in cover and comparison[0]["id"] in cover
