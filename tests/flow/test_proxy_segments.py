"""Race within product lines from one command: a synthetic lending file with race given as probabilities (the
true race drawn from them and held back), a product column the policy segments by, approvals depending on
race and product. `fairgate run --sensitive-proba race=…` with `segment_by: [product]` judges race within each
product; each segment's true approval rate per race, and each true disparity, must lie within the reported
partial-identification bounds — with and without self-reported values — on every engine, with identical
evidence (Spark: tests/tables/test_proba.py, beside the Spark fixture)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.helpers import invoke
from tests.flow.proxy_files import PROBA, draw_race, policy_text, probability_columns, write_files

PRODUCTS = ("auto", "card", "mortgage")
#: true approval rates: the mortgage line has the widest gap
APPROVAL = {
    ("white", "auto"): 0.62,
    ("black", "auto"): 0.55,
    ("hispanic", "auto"): 0.58,
    ("white", "card"): 0.70,
    ("black", "card"): 0.64,
    ("hispanic", "card"): 0.66,
    ("white", "mortgage"): 0.58,
    ("black", "mortgage"): 0.22,
    ("hispanic", "mortgage"): 0.40,
}
POLICY = policy_text("lending-segmented", "Lending, race estimated, within product lines", "segment_by: [product]\n")


@pytest.fixture(scope="module")
def segmented_lending(tmp_path_factory):
    rng = np.random.default_rng(23)
    n = 24_000
    p, race = draw_race(rng, n)
    product = rng.choice(PRODUCTS, n, p=[0.4, 0.35, 0.25])
    chance = np.array([APPROVAL[(r, s)] for r, s in zip(race, product, strict=True)])
    approved = (rng.random(n) < chance).astype(int)
    frame = pd.DataFrame({"product": product, "approved": approved, **probability_columns(p)})
    root = tmp_path_factory.mktemp("segmented")
    write_files(root, "segmented", frame, race, rng, POLICY)
    truth = pd.Series(approved).groupby([race, product]).mean()
    return root, truth


def run_segmented(capsys, root, engine, data="segmented.csv", *extra):
    """The pooled audit passes (over all products black's approval rate is within four fifths of white's): the
    mortgage line's gap shows only within its segment, which is evidence beside the verdict."""
    out = root / f"out-{engine}-{data}{''.join(extra)}"
    args = ["run", "--data", root / data, "--policy", root / "policy.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive-proba", PROBA, "--engine", engine]
    args += ["--out", out, "--format", "json,md,html", "--no-ledger", *extra]
    invoke(capsys, args, exit_code=0)
    return json.loads((out / "results.json").read_text()), out


def check_segments_within_bounds(document, truth, *, min_count=30):
    """Every segment's groups: the true rate within the rate bounds; every rule's row: the true contrast
    (against the highest true rate among the compared groups of the segment) within the contrast's bounds."""
    section = document["proxy"]["segments"]
    assert section["columns"] == ["product"]
    assert [s["segment"]["product"] for s in section["segments"]] == list(PRODUCTS)
    checked = 0
    for segment in section["segments"]:
        product = segment["segment"]["product"]
        rates = {}
        for group in segment["groups"]:
            m = group["metrics"]["selection_rate"]
            low, high = m["bounds"]
            want = truth[(group["group"], product)]
            assert low - 1e-9 <= want <= high + 1e-9, (product, group["group"], want, m["bounds"])
            assert high - low < 0.75  # informative: the segment's proxy cells constrain each group
            if m["expected_n"] >= min_count:
                rates[group["group"]] = want
        assert len(rates) == 3
        top = max(rates.values())
        for rule in segment["rules"]:
            assert rule["against"] == "max"
            for row in rule["groups"]:
                t = rates[row["group"]]
                want = t / top if rule["compare"] == "ratio" else t - top
                low, high = row["bounds"]
                assert low is not None and low - 1e-9 <= want, (product, rule["rule_id"], row["group"], want, row)
                assert high is None or want <= high + 1e-9, (product, rule["rule_id"], row["group"], want, row)
                checked += 1
    assert checked == 3 * 2 * 2  # three segments, two rules, two groups each beside the comparator
    return section


@pytest.mark.parametrize(("engine", "data"), [("numpy", "segmented.csv"), ("duckdb", "segmented.parquet")])
def test_each_segments_true_rate_lies_within_its_bounds(capsys, segmented_lending, engine, data):
    root, truth = segmented_lending
    document, out = run_segmented(capsys, root, engine, data)
    section = check_segments_within_bounds(document, truth)
    assert [(i["id"], i["status"]) for i in document["items"]] == [
        ("selection-rate-impact-ratio.race", "PASS"),
        ("approval-gap.race", "PASS"),
    ]
    mortgage = section["segments"][2]
    statuses = {f["id"]: f["status"] for f in mortgage["findings"]}
    assert statuses["selection-rate-impact-ratio.race"] == "FAIL"  # 0.22 / 0.58: far below four fifths
    auto = {f["id"]: f["status"] for f in section["segments"][0]["findings"]}
    assert auto["selection-rate-impact-ratio.race"] == "PASS"  # 0.55 / 0.62: above
    assert section["pooled_over_segments"]["computed"] is False
    assert [s["findings"] for s in document["segments"]["segments"]] == [[], [], []]  # no recorded feature
    html = (out / "report.html").read_text()
    assert "Within segments (product)" in html and "Segment product = mortgage" in html
    assert "selection-rate-impact-ratio.race ❌ FAIL" in (out / "summary.md").read_text()


def test_every_engine_and_input_gives_the_same_segment_evidence(capsys, segmented_lending):
    root, _ = segmented_lending
    first, _ = run_segmented(capsys, root, "numpy")
    for engine, data in (("duckdb", "segmented.csv"), ("numpy", "segmented.parquet"), ("duckdb", "segmented.parquet")):
        other, _ = run_segmented(capsys, root, engine, data)
        assert other["proxy"] == first["proxy"], (engine, data)  # bit-identical: fixed-point sums
        assert other["items"] == first["items"] and other["segments"] == first["segments"]


def test_self_reported_people_narrow_each_segments_bounds_which_still_hold_the_truth(capsys, segmented_lending):
    root, truth = segmented_lending
    extra = ("--self-reported", "race=race_self")
    document, _ = run_segmented(capsys, root, "numpy", "segmented.csv", *extra)
    section = check_segments_within_bounds(document, truth)
    narrower = 0
    for segment in section["segments"]:
        for group in segment["groups"]:
            m = group["metrics"]["selection_rate"]
            narrowed, wide = m["bounds"], m["bounds_without_self_reported"]
            assert wide[0] - 1e-12 <= narrowed[0] and narrowed[1] <= wide[1] + 1e-12
            narrower += (narrowed[1] - narrowed[0]) < (wide[1] - wide[0]) - 0.05
        for rule in segment["rules"]:
            assert all("bounds_without_self_reported" in row for row in rule["groups"])
    assert narrower == 9
    other, _ = run_segmented(capsys, root, "duckdb", "segmented.parquet", *extra)
    assert other["proxy"] == document["proxy"] and other["items"] == document["items"]
    from audit.recompute import recompute  # verify --recompute replays the segments too

    replay = recompute(document, data=root / "segmented.csv", model=None)
    assert replay.identical, replay.problems
