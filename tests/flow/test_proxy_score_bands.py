"""Race within score bands (the policy's ``score_bands``): the band is derived from the score column and is one
more key of the expected-count pass, so each band is judged as a segment is (audit.judge.proxy_segments). A
synthetic file with race given as probabilities (the true race drawn from them and held back), scores that
depend on race, and a label: each band's rows against bands cut independently (inverted-CDF quartiles), each
band's expected counts against a pandas groupby of π × the cell indicators, each band's true rates per race
inside their bounds, on numpy and DuckDB with identical evidence (Spark: tests/tables/test_proba.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.helpers import invoke
from tests.flow.proxy_files import LEVELS, PROBA, draw_race, policy_text, probability_columns, write_files

THRESHOLD = 0.55
POLICY = policy_text(
    "lending-bands", "Lending, race estimated, within score bands", "score_bands: quartiles\n", gap_rule=False
)
METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate")


@pytest.fixture(scope="module")
def banded_lending(tmp_path_factory):
    rng = np.random.default_rng(31)
    n = 20_000
    p, race = draw_race(rng, n)
    shift = pd.Series(race).map({"white": 0.5, "black": -0.4, "hispanic": 0.0}).to_numpy()
    score = np.round(1 / (1 + np.exp(-(rng.normal(0, 1.2, n) + shift))), 4)  # ties: rounded scores
    repaid = (rng.random(n) < 0.25 + 0.6 * score).astype(int)
    frame = pd.DataFrame({"score": score, "repaid": repaid, **probability_columns(p)})
    root = tmp_path_factory.mktemp("banded")
    write_files(root, "banded", frame, race, rng, POLICY)
    cuts = np.unique(np.quantile(score, [0.25, 0.5, 0.75], method="inverted_cdf"))
    band = np.searchsorted(cuts, score, side="left")  # above the previous cut-off, up to and including its own
    return root, frame, race, band


def run_banded(capsys, root, engine, data="banded.csv", *extra):
    out = root / f"out-{engine}-{data}{''.join(extra)}"
    args = ["run", "--data", root / data, "--policy", root / "policy.yaml", "--scores", "score"]
    args += ["--threshold", str(THRESHOLD), "--label", "repaid", "--positive-label", "1"]
    args += ["--sensitive-proba", PROBA, "--engine", engine, "--out", out, "--format", "json,md,html", "--no-ledger"]
    ran = invoke(capsys, [*args, *extra], exit_code=1)  # black's approval rate is far below white's, pooled
    return json.loads((out / "results.json").read_text()), out, ran


def normalised(frame: pd.DataFrame) -> np.ndarray:
    p = frame[[f"p_{g}" for g in LEVELS]].to_numpy(dtype=float)
    return p / p.sum(axis=1, keepdims=True)


def test_each_bands_rows_counts_and_true_rates_against_independent_computation(capsys, banded_lending):
    root, frame, race, band = banded_lending
    document, out, ran = run_banded(capsys, root, "numpy")
    section = document["proxy"]["segments"]
    assert section["columns"] == ["score band"]
    segments = section["segments"]
    assert len(segments) == 4 and [s["segment"]["score band"][:2] for s in segments] == ["01", "02", "03", "04"]
    assert [s["rows"] for s in segments] == np.bincount(band, minlength=4).tolist()
    p = normalised(frame)
    decided = (frame["score"] >= THRESHOLD).astype(int).to_numpy()
    y = frame["repaid"].to_numpy()
    checked = 0
    for b, segment in enumerate(segments):
        mine = band == b
        for g, level in enumerate(LEVELS):
            (group,) = [x for x in segment["groups"] if x["group"] == level]
            assert group["expected_n"] == pytest.approx(p[mine, g].sum(), rel=1e-9)
            w = pd.Series(p[mine, g]).groupby([y[mine], decided[mine]]).sum()
            m = group["metrics"]
            rate = (w.get((0, 1), 0) + w.get((1, 1), 0)) / p[mine, g].sum()  # π × the cell indicators
            assert m["selection_rate"]["estimate"] == pytest.approx(rate, rel=1e-9, abs=1e-12)
            truly = mine & (race == level)
            truth = {
                "selection_rate": decided[truly].mean(),
                "true_positive_rate": decided[truly & (y == 1)].mean() if (truly & (y == 1)).any() else None,
                "false_positive_rate": decided[truly & (y == 0)].mean() if (truly & (y == 0)).any() else None,
            }
            for metric in METRICS:
                bounds = m[metric]["bounds"]
                if truth[metric] is None or bounds is None:
                    continue
                assert bounds[0] - 1e-9 <= truth[metric] <= bounds[1] + 1e-9, (b, level, metric, truth, bounds)
                checked += 1
    assert checked >= 30
    # the band straddling the threshold is the one where decisions differ: its rule is judged there
    assert any(f["status"] in ("PASS", "FAIL", "WARN") for s in segments for f in s["findings"])
    assert "within segments (score band; evidence only" in ran.out
    assert "Segment score band = 01" in (out / "report.html").read_text()


def test_every_engine_gives_the_same_band_evidence(capsys, banded_lending):
    root, *_ = banded_lending
    first, _, _ = run_banded(capsys, root, "numpy")
    for engine, data in (("duckdb", "banded.csv"), ("duckdb", "banded.parquet")):
        other, _, _ = run_banded(capsys, root, engine, data)
        assert other["proxy"] == first["proxy"], (engine, data)
        assert other["items"] == first["items"] and other["segments"] == first["segments"]


def test_self_reported_people_in_score_bands_and_verify_recompute(capsys, banded_lending):
    root, *_ = banded_lending
    extra = ("--self-reported", "race=race_self")
    document, _, _ = run_banded(capsys, root, "duckdb", "banded.parquet", *extra)
    for segment in document["proxy"]["segments"]["segments"]:
        for group in segment["groups"]:
            m = group["metrics"]["selection_rate"]
            narrowed, wide = m["bounds"], m["bounds_without_self_reported"]
            assert wide[0] - 1e-12 <= narrowed[0] and narrowed[1] <= wide[1] + 1e-12
    numpy, _, _ = run_banded(capsys, root, "numpy", "banded.csv", *extra)
    assert numpy["proxy"] == document["proxy"]
    from audit.recompute import recompute

    replay = recompute(numpy, data=root / "banded.csv", model=None)
    assert replay.identical, replay.problems
