"""Adverse impact ratio by score band (issue 18, item 6): bands cut at the sample's quantiles (or a
policy's cut-offs), each band evaluated as a segment; checked against numpy's inverted-CDF quantiles
and pandas counts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from audit.tables.scores import band_cuts, band_labels
from tests.cli.helpers import invoke, skewed_rows, write_csv
from tests.conftest import shared_data


@pytest.mark.parametrize(("bands", "n"), [("quartiles", 4), ("quintiles", 5), ("deciles", 10)])
def test_quantile_cuts_are_numpys_inverted_cdf_and_weights_count_rows(bands, n):
    scores = np.random.default_rng(7).random(2003).round(3)
    cuts = band_cuts(scores, bands)
    assert cuts == [np.quantile(scores, k / n, method="inverted_cdf") for k in range(1, n)]
    values, counts = np.unique(scores, return_counts=True)  # a compact frame: one row per score, weighted
    assert band_cuts(values, bands, counts) == cuts


def test_labels_sort_in_score_order_and_a_score_at_a_cut_goes_below():
    labels = band_labels(np.array([0.1, 0.3, 0.30001, 0.7, 0.9]), [0.3, 0.7])
    assert list(labels) == ["01 [≤ 0.3]", "01 [≤ 0.3]", "02 [> 0.3 to ≤ 0.7]", "02 [> 0.3 to ≤ 0.7]", "03 [> 0.7]"]
    assert sorted(set(labels)) == ["01 [≤ 0.3]", "02 [> 0.3 to ≤ 0.7]", "03 [> 0.7]"]
    assert band_cuts(np.ones(50), "deciles") == []  # one score: one band


def _run(tmp_path, capsys, bands, *extra):
    policy = tmp_path / "p.yaml"
    policy.write_text(f"fairgate: 1\nextends: four-fifths\nid: bands\nversion: '1'\ntitle: t\nscore_bands: {bands}\n")
    out = tmp_path / "out"
    invoke(
        capsys,
        [
            "run",
            "--data",
            shared_data("compas-scores-two-years.csv"),
            "--policy",
            policy,
            "--scores",
            "decile_score",
            "--threshold",
            "5",
            "--sensitive",
            "race",
            "--out",
            out,
            "--no-pdf",
            "--no-ledger",
            *extra,
        ],
        exit_code=1,
    )
    return json.loads((out / "results.json").read_text())


def test_air_by_score_band_on_compas_matches_pandas(tmp_path, capsys):
    doc = _run(tmp_path, capsys, "quintiles")
    data = pd.read_csv(shared_data("compas-scores-two-years.csv"))
    cuts = [np.quantile(data["decile_score"], k / 5, method="inverted_cdf") for k in range(1, 5)]
    cuts = sorted(set(float(c) for c in cuts if c < data["decile_score"].max()))
    band = np.searchsorted(cuts, data["decile_score"], side="left")
    assert doc["segments"]["columns"] == ["score band"]
    by_band = {s["segment"]["score band"]: s for s in doc["segments"]["segments"]}
    assert len(by_band) == len(cuts) + 1
    for i, (name, seg) in enumerate(sorted(by_band.items())):
        assert name.startswith(f"{i + 1:02d} [")
        rows = data[band == i]
        assert seg["rows"] == len(rows)
    # within the band holding the threshold, each race's selection rate is pandas' share with decile_score >= 5
    mixed = next(i for i in range(len(cuts) + 1) if 0 < (data[band == i]["decile_score"] >= 5).mean() < 1)
    rows = data[band == mixed]
    expected = (rows["decile_score"] >= 5).groupby(rows["race"]).mean()
    seg = sorted(by_band.items())[mixed][1]
    got = {g["label"]: (g["counts"]["tp"] + g["counts"]["fp"]) / g["n"] for g in seg["groups"] if g["scope"] == "race"}
    for race, rate in expected.items():
        assert got[race] == pytest.approx(rate, rel=1e-12)


def test_score_bands_on_every_engine_agree(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    numpy = _run(tmp_path / "a", capsys, "[3, 6]")
    duck = _run(tmp_path / "b", capsys, "[3, 6]", "--engine", "duckdb")
    assert numpy["segments"] == duck["segments"]
    assert [s["segment"]["score band"] for s in numpy["segments"]["segments"]] == [
        "01 [≤ 3]",
        "02 [> 3 to ≤ 6]",
        "03 [> 6]",
    ]


@pytest.mark.parametrize(
    ("bands", "fragment"), [("[5, 3]", "strictly increasing"), ("[]", "at least one"), ("sextiles", "score_bands")]
)
def test_bad_score_bands_are_refused(tmp_path, capsys, bands, fragment):
    policy = tmp_path / "p.yaml"
    policy.write_text(f"fairgate: 1\nextends: four-fifths\nid: bands\nversion: '1'\ntitle: t\nscore_bands: {bands}\n")
    ran = invoke(capsys, ["policy", "validate", policy], exit_code=2)
    assert fragment in ran.err and "p.yaml" in ran.err


def test_score_bands_need_scores(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text("fairgate: 1\nextends: four-fifths\nid: bands\nversion: '1'\ntitle: t\nscore_bands: deciles\n")
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            policy,
            "--predictions",
            "pred",
            "--sensitive",
            "group",
            "--out",
            tmp_path / "out",
        ],
        exit_code=2,
    )
    assert ran.err.startswith("error: score_bands needs scores") and "hint: " in ran.err
    assert not (tmp_path / "out").exists()
