"""Race × sex from one command: a synthetic lending file with race given as probabilities (the true race
drawn from them and held back), sex recorded, approvals depending on both. `fairgate run --sensitive sex
--sensitive-proba race=…` judges the intersection; each intersection group's true approval rate, and each
true disparity, must lie within the reported partial-identification bounds — with and without
self-reported values — on every engine (Spark: tests/tables/test_proba.py, beside the Spark fixture)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.helpers import invoke
from tests.flow.proxy_files import PROBA, draw_race, policy_text, probability_columns, write_files

#: true approval rates: black women lowest, a gap the feature alone or sex alone understates
APPROVAL = {
    ("white", "F"): 0.60,
    ("white", "M"): 0.66,
    ("black", "F"): 0.36,
    ("black", "M"): 0.50,
    ("hispanic", "F"): 0.46,
    ("hispanic", "M"): 0.55,
}
POLICY = policy_text("lending-crossed", "Lending, race estimated, crossed with recorded sex")


@pytest.fixture(scope="module")
def crossed_lending(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 20_000
    p, race = draw_race(rng, n)
    sex = rng.choice(["F", "M"], n)
    approved = (rng.random(n) < np.array([APPROVAL[(r, s)] for r, s in zip(race, sex, strict=True)])).astype(int)
    frame = pd.DataFrame({"sex": sex, "approved": approved, **probability_columns(p)})
    root = tmp_path_factory.mktemp("crossed")
    write_files(root, "crossed", frame, race, rng, POLICY)
    truth = pd.Series(approved).groupby([race, sex]).mean()
    return root, truth


def run_crossed(capsys, root, engine, data="crossed.csv", *extra):
    """The audit fails: black women's approval rate is far below the highest group's."""
    out = root / f"out-{engine}-{data}{''.join(extra)}"
    args = ["run", "--data", root / data, "--policy", root / "policy.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive", "sex", "--sensitive-proba", PROBA, "--engine", engine]
    args += ["--out", out, "--format", "json,md,html", "--no-ledger", *extra]
    invoke(capsys, args, exit_code=1)
    return json.loads((out / "results.json").read_text()), out


def check_intersections_within_bounds(document, truth, *, min_count=30):
    """Every group of race × sex: its true rate within its rate bounds; every rule's row: the true contrast
    (against the highest true rate among the compared groups) within the contrast's bounds."""
    (section,) = document["proxy"]["intersections"]
    assert section["scope"] == "race × sex" and section["features"] == ["race", "sex"]
    rates = {}
    for group in section["groups"]:
        key = (group["features"]["race"], group["features"]["sex"])
        m = group["metrics"]["selection_rate"]
        low, high = m["bounds"]
        assert low - 1e-9 <= truth[key] <= high + 1e-9, (group["group"], truth[key], m["bounds"])
        assert high - low < 0.75  # informative: the proxy's cells constrain each group
        if m["expected_n"] >= min_count:
            rates[group["group"]] = truth[key]
    assert len(rates) == 6
    top = max(rates.values())
    checked = 0
    for rule in section["rules"]:
        assert rule["against"] == "max"
        for row in rule["groups"]:
            t = rates[row["group"]]
            want = t / top if rule["compare"] == "ratio" else t - top
            low, high = row["bounds"]
            assert low is not None and low - 1e-9 <= want, (rule["rule_id"], row["group"], want, row)
            assert high is None or want <= high + 1e-9, (rule["rule_id"], row["group"], want, row)
            checked += 1
    assert checked == 2 * 5  # two rules, five groups each beside the comparator
    return section


@pytest.mark.parametrize(("engine", "data"), [("numpy", "crossed.csv"), ("duckdb", "crossed.parquet")])
def test_each_intersections_true_rate_lies_within_its_bounds(capsys, crossed_lending, engine, data):
    root, truth = crossed_lending
    document, out = run_crossed(capsys, root, engine, data)
    section = check_intersections_within_bounds(document, truth)
    ids = [i["id"] for i in document["items"]]
    assert "selection-rate-impact-ratio.race × sex" in ids and "approval-gap.race × sex" in ids
    (impact,) = [r for r in section["rules"] if r["rule_id"] == "selection-rate-impact-ratio"]
    assert impact["status"] == "FAIL"
    worst = min(impact["groups"], key=lambda r: r["estimate"])
    assert worst["group"] == "black × F" and worst["outcome"] == "FAIL"
    html = (out / "report.html").read_text()
    assert "Intersections: race × sex" in html and "black × F" in html
    assert "race × sex" in (out / "summary.md").read_text()


def test_every_engine_and_input_gives_the_same_intersection_evidence(capsys, crossed_lending):
    root, _ = crossed_lending
    first, _ = run_crossed(capsys, root, "numpy")
    for engine, data in (("duckdb", "crossed.csv"), ("numpy", "crossed.parquet"), ("duckdb", "crossed.parquet")):
        other, _ = run_crossed(capsys, root, engine, data)
        assert other["proxy"] == first["proxy"], (engine, data)
        assert other["items"] == first["items"]


def test_self_reported_people_narrow_the_intersection_bounds_which_still_hold_the_truth(capsys, crossed_lending):
    root, truth = crossed_lending
    extra = ("--self-reported", "race=race_self")
    document, _ = run_crossed(capsys, root, "numpy", "crossed.csv", *extra)
    section = check_intersections_within_bounds(document, truth)
    narrower, error, proxy_error = 0, 0.0, 0.0
    for group in section["groups"]:
        m = group["metrics"]["selection_rate"]
        narrowed, wide = m["bounds"], m["bounds_without_self_reported"]
        assert wide[0] - 1e-12 <= narrowed[0] and narrowed[1] <= wide[1] + 1e-12
        narrower += (narrowed[1] - narrowed[0]) < (wide[1] - wide[0]) - 0.05
        key = (group["features"]["race"], group["features"]["sex"])
        error += abs(m["estimate"] - truth[key])
        proxy_error += abs(m["proxy_only_estimate"] - truth[key])
    assert narrower == 6
    assert error < 0.8 * proxy_error  # the self-reported people, counted exactly, take out some of the bias
    for rule in section["rules"]:
        assert all("bounds_without_self_reported" in row for row in rule["groups"])
    other, _ = run_crossed(capsys, root, "duckdb", "crossed.parquet", *extra)
    assert other["proxy"] == document["proxy"] and other["items"] == document["items"]
    from audit.recompute import recompute  # verify --recompute replays the intersections too

    replay = recompute(document, data=root / "crossed.csv", model=None)
    assert replay.identical, replay.problems


def test_the_pdf_keeps_each_group_name_whole_in_the_proxy_tables(capsys, crossed_lending):
    """The proxy tables' many figure columns once squeezed the group column to a few letters ("hispani" / "c")
    and, with the self-reported columns, the status columns too ("INCONCLUS" / "IVE"). The group column keeps
    room for a name and statuses never break: the text of every page must hold each whole."""
    from pypdf import PdfReader

    root, _ = crossed_lending
    _, out = run_crossed(
        capsys, root, "numpy", "crossed.csv", "--format", "json,pdf", "--self-reported", "race=race_self"
    )
    lines = [line for page in PdfReader(out / "report.pdf").pages for line in (page.extract_text() or "").splitlines()]
    assert sum("hispanic × F" in line for line in lines) >= 3  # groups table, each rule's table
    assert sum("INCONCLUSIVE" in line for line in lines) >= 3
    broken = [
        line
        for line in lines
        if ("hispani" in line and "hispanic" not in line) or ("INCONCL" in line and "INCONCLUSIVE" not in line)
    ]
    assert not broken, broken
