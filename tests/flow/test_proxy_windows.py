"""Race per month from one command: a synthetic lending file with race given as probabilities (the true race
drawn from them and held back), an application date, approvals whose race gap widens month by month.
`fairgate run --sensitive-proba race=… --period-column applied` judges race within every month; each
month's true approval rate per race, and each true disparity, must lie within the reported
partial-identification bounds — with and without self-reported values — on every engine, with identical
evidence (Spark: tests/tables/test_proba.py, beside the Spark fixture)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.helpers import invoke
from tests.flow.proxy_files import LEVELS, PROBA, draw_race, policy_text, probability_columns, write_files

MONTHS = ("2024-01", "2024-02", "2024-03")
#: true approval rates per month: black's falls from near parity to far below
APPROVAL = {
    "2024-01": {"white": 0.60, "black": 0.57, "hispanic": 0.58},
    "2024-02": {"white": 0.60, "black": 0.45, "hispanic": 0.52},
    "2024-03": {"white": 0.60, "black": 0.24, "hispanic": 0.40},
}
POLICY = policy_text(
    "lending-monthly",
    "Lending, race estimated, per month",
    "monitoring:\n  period: month\n  verdict_from: worst\n",
    gap_rule=False,
)


@pytest.fixture(scope="module")
def monthly_lending(tmp_path_factory):
    rng = np.random.default_rng(41)
    n = 24_000
    p, race = draw_race(rng, n)
    month = rng.choice(MONTHS, n)
    day = pd.Series(month).str.cat(pd.Series(rng.integers(1, 28, n)).astype(str).str.zfill(2), sep="-")
    chance = np.array([APPROVAL[m][r] for m, r in zip(month, race, strict=True)])
    approved = (rng.random(n) < chance).astype(int)
    frame = pd.DataFrame({"applied": day, "approved": approved, **probability_columns(p)})
    root = tmp_path_factory.mktemp("monthly")
    write_files(root, "monthly", frame, race, rng, POLICY)
    truth = pd.Series(approved).groupby([race, month]).mean()
    return root, truth


def run_monthly(capsys, root, engine, data="monthly.csv", *extra):
    """verdict_from: worst — March fails on the proxy (black's rate far below white's): the run fails."""
    out = root / f"out-{engine}-{data}{''.join(extra)}"
    args = ["run", "--data", root / data, "--policy", root / "policy.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive-proba", PROBA, "--period-column", "applied", "--engine", engine]
    args += ["--out", out, "--format", "json,md,html", "--no-ledger", *extra]
    invoke(capsys, args, exit_code=1)
    return json.loads((out / "results.json").read_text()), out


def check_windows_within_bounds(document, truth, *, min_count=30):
    windows = document["proxy"]["windows"]["windows"]
    assert [w["label"] for w in windows] == list(MONTHS)
    checked = 0
    for w in windows:
        rates = {}
        for group in w["groups"]:
            low, high = group["metrics"]["selection_rate"]["bounds"]
            want = truth[(group["group"], w["label"])]
            assert low - 1e-9 <= want <= high + 1e-9, (w["label"], group["group"], want, (low, high))
            assert high - low < 0.75
            if group["expected_n"] >= min_count:
                rates[group["group"]] = want
        top = max(rates.values())
        for rule in w["rules"]:
            for row in rule["groups"]:
                t = rates[row["group"]]
                want = t / top if rule["compare"] == "ratio" else t - top
                low, high = row["bounds"]
                assert low is not None and low - 1e-9 <= want, (w["label"], row["group"], want, row)
                assert high is None or want <= high + 1e-9, (w["label"], row["group"], want, row)
                checked += 1
    assert checked == 3 * 2  # three months, one rule, two groups beside the comparator
    return windows


@pytest.mark.parametrize(("engine", "data"), [("numpy", "monthly.csv"), ("duckdb", "monthly.parquet")])
def test_each_windows_true_rate_lies_within_its_bounds_and_the_worst_window_fails(
    capsys, monthly_lending, engine, data
):
    root, truth = monthly_lending
    document, out = run_monthly(capsys, root, engine, data)
    windows = check_windows_within_bounds(document, truth)
    assert [w["findings"][0]["status"] for w in windows][0] == "PASS"
    assert windows[-1]["findings"][0]["status"] == "FAIL"
    verdicts = {w["label"]: w["verdict"] for w in document["monitoring"]["windows"]}
    assert verdicts["2024-01"] == "PASS" and verdicts["2024-03"] == "FAIL"
    items = {i["id"]: i["status"] for i in document["items"]}
    assert items["window 2024-03"] == "FAIL" and items["selection-rate-impact-ratio.race"] == "FAIL"  # March's rows
    assert document["proxy"]["rows"] == windows[-1]["rows"]  # the run's items: the latest window's rows
    assert "Window 2024-03" in (out / "report.html").read_text()


def test_every_engine_and_input_gives_the_same_window_evidence(capsys, monthly_lending):
    root, _ = monthly_lending
    first, _ = run_monthly(capsys, root, "numpy")
    for engine, data in (("duckdb", "monthly.csv"), ("numpy", "monthly.parquet"), ("duckdb", "monthly.parquet")):
        other, _ = run_monthly(capsys, root, engine, data)
        assert other["proxy"] == first["proxy"], (engine, data)  # bit-identical: fixed-point sums
        assert other["items"] == first["items"] and other["monitoring"] == first["monitoring"]


def test_self_reported_people_narrow_each_windows_bounds_and_verify_recompute(capsys, monthly_lending):
    root, truth = monthly_lending
    extra = ("--self-reported", "race=race_self")
    document, _ = run_monthly(capsys, root, "numpy", "monthly.csv", *extra)
    windows = check_windows_within_bounds(document, truth)
    narrower = 0
    for w in windows:
        for group in w["groups"]:
            m = group["metrics"]["selection_rate"]
            narrowed, wide = m["bounds"], m["bounds_without_self_reported"]
            assert wide[0] - 1e-12 <= narrowed[0] and narrowed[1] <= wide[1] + 1e-12
            narrower += (narrowed[1] - narrowed[0]) < (wide[1] - wide[0]) - 0.05
    assert narrower == 9
    other, _ = run_monthly(capsys, root, "duckdb", "monthly.parquet", *extra)
    assert other["proxy"] == document["proxy"] and other["items"] == document["items"]
    from audit.recompute import recompute

    replay = recompute(document, data=root / "monthly.csv", model=None)
    assert replay.identical, replay.problems


def test_each_windows_expected_counts_equal_a_pandas_groupby_of_its_rows(capsys, monthly_lending):
    """Independently of the pass: per month and race, Σ π over the month's rows (π divided by its row's sum),
    and Σ π over its approved rows, against each window's expected size and weighted selection rate."""
    root, _ = monthly_lending
    document, _ = run_monthly(capsys, root, "duckdb", "monthly.parquet")
    frame = pd.read_csv(root / "monthly.csv")
    p = frame[[f"p_{g}" for g in LEVELS]].to_numpy(dtype=float)
    p = p / p.sum(axis=1, keepdims=True)
    month = frame["applied"].str[:7]
    for w in document["proxy"]["windows"]["windows"]:
        mine = (month == w["label"]).to_numpy()
        assert w["rows"] == int(mine.sum())
        for g, level in enumerate(LEVELS):
            (group,) = [x for x in w["groups"] if x["group"] == level]
            expected = p[mine, g].sum()
            approved = (p[mine, g] * frame["approved"].to_numpy()[mine]).sum()
            assert group["expected_n"] == pytest.approx(expected, rel=1e-9)
            assert group["metrics"]["selection_rate"]["estimate"] == pytest.approx(approved / expected, rel=1e-9)
