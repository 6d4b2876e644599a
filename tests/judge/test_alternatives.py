"""`fairgate compare --alternatives`: N candidates' performance against disparity, the frontier known by hand."""

from __future__ import annotations

import json
import math

import pytest
from sklearn.metrics import accuracy_score

from audit.cli import main
from audit.errors import UsageError
from audit.judge.alternatives import Candidate, RuleDisparity, compare_alternatives, dominates
from tests.cli.helpers import invoke, write_csv

# (true positives, false positives) per group; every group has 50 positives and 50 negatives.
# accuracy = (TP_a + 50 − FP_a + TP_b + 50 − FP_b) / 200; impact ratio = lower selection rate / higher.
CANDIDATES = {
    "c1": {"a": (50, 0), "b": (30, 0)},  # accuracy 0.90, selection .50/.30: ratio 0.60 (fails four-fifths)
    "c2": {"a": (50, 0), "b": (40, 0)},  # accuracy 0.95, ratio 0.80 (passes, just)
    "c3": {"a": (40, 0), "b": (40, 0)},  # accuracy 0.90, ratio 1.00
    "c4": {"a": (50, 10), "b": (50, 0)},  # accuracy 0.95, selection .60/.50: ratio 0.833
}
# by hand: c1 is dominated by every other; c2 by c4 (as accurate, ratio 0.833 > 0.80); c3 (most equal)
# and c4 (most accurate, least disparate at that accuracy) are the frontier.
FRONTIER = {"c1": False, "c2": False, "c3": True, "c4": True}
ACCURACY = {"c1": 0.90, "c2": 0.95, "c3": 0.90, "c4": 0.95}
RATIO = {"c1": 0.6, "c2": 0.8, "c3": 1.0, "c4": 0.5 / 0.6}


def _rows(spec):
    rows = []
    for group, (tp, fp) in spec.items():
        rows += [(group, 1, int(i < tp)) for i in range(50)]
        rows += [(group, 0, int(i < fp)) for i in range(50)]
    return rows


def _audit(capsys, tmp_path, name, spec):
    data = write_csv(tmp_path / f"{name}.csv", _rows(spec))
    out = tmp_path / name
    args = ["run", "--data", data, "--policy", "four-fifths", "--label", "label", "--predictions", "pred"]
    main([str(a) for a in [*args, "--sensitive", "group", "--out", out, "--no-pdf"]])  # c1 fails the gate (exit 1)
    capsys.readouterr()
    return out / "results.json"


@pytest.fixture
def audited(tmp_path, capsys):
    return {name: _audit(capsys, tmp_path, name, spec) for name, spec in CANDIDATES.items()}


def test_table_numbers_and_frontier_by_hand(audited, tmp_path, capsys):
    paths = [audited[n] for n in CANDIDATES]
    md, svg = tmp_path / "lda.md", tmp_path / "lda.svg"
    ran = invoke(capsys, ["compare", "--alternatives", *paths, "--json", "--markdown", md, "--chart", svg], exit_code=0)
    doc = json.loads(ran.out)
    assert doc["rules"] == ["selection-rate-impact-ratio"] and doc["performance"] == "accuracy"
    by = {c["name"]: c for c in doc["candidates"]}
    for name, spec in CANDIDATES.items():
        c = by[str(audited[name])]
        rows = _rows(spec)
        assert c["accuracy"] == pytest.approx(accuracy_score([r[1] for r in rows], [r[2] for r in rows]))
        assert c["accuracy"] == pytest.approx(ACCURACY[name])
        assert c["disparities"][0]["observed"] == pytest.approx(RATIO[name])
        assert c["disparities"][0]["worst_group"] == "group=b" if name != "c3" else True
        assert c["frontier"] is FRONTIER[name], name
        assert c["passes"] is (name != "c1") and (c["verdict"] == "FAIL") is (name == "c1")
    text = md.read_text()
    assert "On the frontier and passing the policy:" in text and "c3" in text.splitlines()[-1]
    assert svg.read_bytes().startswith(b"<?xml") and b"<svg" in svg.read_bytes()
    # the console table marks the frontier; the same inputs give the same bytes
    console = invoke(capsys, ["compare", "--alternatives", *paths], exit_code=0).out
    assert "* = on the frontier" in console
    line = next(row for row in console.splitlines() if str(audited["c4"]) in row)
    assert "0.9500" in line and "83.3%" in line and "* yes" in line
    again = tmp_path / "again.svg"
    invoke(capsys, ["compare", "--alternatives", *paths, "--chart", again], exit_code=0)
    assert again.read_bytes() == svg.read_bytes()


def test_candidates_under_different_policies_or_features_exit_2(audited, tmp_path, capsys):
    other = tmp_path / "other.csv"
    write_csv(other, [(g, y, p, "x") for g, y, p in _rows(CANDIDATES["c2"])], header=("group", "label", "pred", "k"))
    out = tmp_path / "o"
    args = ["run", "--data", other, "--policy", "four-fifths", "--label", "label", "--predictions", "pred"]
    invoke(capsys, [*args, "--sensitive", "group", "--sensitive", "k", "--out", out, "--no-pdf"], exit_code=0)
    ran = invoke(capsys, ["compare", "--alternatives", audited["c1"], audited["c2"], out / "results.json"], exit_code=2)
    assert "error:" in ran.err and "different sensitive features" in ran.err and "hint:" in ran.err
    doc = json.loads(audited["c3"].read_text())
    doc["policy"]["version"] = "9"
    (tmp_path / "v9.json").write_text(json.dumps(doc))
    ran = invoke(capsys, ["compare", "--alternatives", audited["c1"], tmp_path / "v9.json"], exit_code=2)
    assert "audited under policy four-fifths 9, not four-fifths 1.0.0" in ran.err


def test_usage_errors_and_two_file_compare_unchanged(audited, capsys):
    ran = invoke(capsys, ["compare", "--alternatives", audited["c1"]], exit_code=2)
    assert "at least two results files" in ran.err
    ran = invoke(capsys, ["compare", audited["c1"], audited["c2"], audited["c3"]], exit_code=2)
    assert "compare takes two results files" in ran.err and "--alternatives" in ran.err
    ran = invoke(capsys, ["compare", "--alternatives", "--strict", audited["c1"], audited["c2"]], exit_code=2)
    assert "--policy and --strict do not apply" in ran.err
    # two files: today's comparison (c1 is worse than c3 for group b: a blocking regression)
    ran = invoke(capsys, ["compare", audited["c3"], audited["c1"]], exit_code=1)
    assert ran.out.startswith("comparison with baseline: REGRESSED")
    ran = invoke(
        capsys, ["compare", "--alternatives", "--performance", "auc", audited["c1"], audited["c2"]], exit_code=2
    )
    assert "records no AUC" in ran.err and "--performance accuracy" in ran.err


def _cand(name, perf, *bad):
    disparities = tuple(RuleDisparity(f"r{i}", "ratio", None, None, b, "PASS") for i, b in enumerate(bad))
    return Candidate(name, perf, None, perf, disparities, "PASS", True)


def test_dominance_over_several_rules():
    a = _cand("a", 0.9, 0.1, 0.2)
    b = _cand("b", 0.9, 0.1, 0.3)  # as accurate, worse on r1: dominated by a
    c = _cand("c", 0.95, 0.05, 0.4)  # more accurate, better r0, worse r1: a trade-off
    d = _cand("d", 0.95, 0.05, math.inf)  # no value for r1: the worst possible there
    assert dominates(a, b) and not dominates(b, a)
    assert not dominates(a, c) and not dominates(c, a)
    assert dominates(c, d) and not dominates(a, a)


def test_view_needs_two_documents():
    with pytest.raises(UsageError, match="at least two"):
        compare_alternatives([])


def test_ranked_by_recorded_auc(tmp_path, capsys):
    # two scored candidates on the same labels: the audit's AUC (DeLong) is the frontier's performance
    rng = __import__("numpy").random.default_rng(7)
    labels = rng.integers(0, 2, 400)
    groups = ["a" if i % 2 else "b" for i in range(400)]
    paths, aucs = [], []
    from sklearn.metrics import roc_auc_score

    for name, noise in (("sharp", 0.3), ("blurred", 1.0)):
        scores = labels + noise * rng.normal(size=400)
        rows = [(g, int(y), f"{s:.6f}") for g, y, s in zip(groups, labels, scores, strict=True)]
        data = write_csv(tmp_path / f"{name}.csv", rows, header=("group", "label", "score"))
        args = ["run", "--data", data, "--policy", "four-fifths", "--label", "label", "--scores", "score"]
        main(
            [
                str(a)
                for a in [*args, "--threshold", "0.5", "--sensitive", "group", "--out", tmp_path / name, "--no-pdf"]
            ]
        )
        capsys.readouterr()
        paths.append(tmp_path / name / "results.json")
        aucs.append(roc_auc_score(labels, scores))
    ran = invoke(capsys, ["compare", "--alternatives", "--performance", "auc", *paths, "--json"], exit_code=0)
    doc = json.loads(ran.out)
    assert [c["auc"] for c in doc["candidates"]] == pytest.approx(aucs)
    assert [c["performance"] for c in doc["candidates"]] == [c["auc"] for c in doc["candidates"]]
