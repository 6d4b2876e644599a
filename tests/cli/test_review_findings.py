"""Regression tests for what a new-user trial of Fairgate found (each was a real bug)."""

from __future__ import annotations

import json
import os

import pytest

from tests.cli.helpers import balanced_rows, invoke, run_args, skewed_rows, write_csv


def _base(tmp_path, data, *extra, policy="four-fifths"):
    return run_args(data, tmp_path / "out", "--no-pdf", *extra, policy=policy)


def test_a_scope_with_nothing_judgeable_is_never_a_pass(tmp_path, capsys):
    # each feature alone has groups of 40 (judgeable, equal rates); their intersection only groups of 20
    rows = [(g, pos, i % 2, int(i % 4 < 2)) for g in ("w", "b") for pos in ("cpt", "lt") for i in range(20)]
    data = write_csv(tmp_path / "d.csv", rows, header=("group", "position", "label", "pred"))
    ran = invoke(capsys, [*_base(tmp_path, data), "--sensitive", "position"], exit_code=0)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    finding = doc["findings"][0]
    assert finding["status"] == "INSUFFICIENT_DATA"
    assert finding["message"].startswith(
        "Not enough data to judge selection rate in group × position [b × lt (20), w × cpt (20), w × lt (20)]"
    )
    assert "3 groups could not be decided (small numbers with an interval that crosses the limit" in finding["message"]
    invoke(capsys, [*_base(tmp_path, data), "--sensitive", "position", "--strict"], exit_code=1)
    assert "INSUFFICIENT_DATA" in ran.out


def test_a_reference_group_that_does_not_exist_stops_the_run(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "fairgate: 1\nid: p\nversion: '1'\ntitle: t\ngroups: {reference: {group: Male}}\nrules:\n"
        "  - {id: r, title: r, metric: selection_rate, against: reference, min_value: 0.8}\n"
    )
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(capsys, _base(tmp_path, data, policy=policy), exit_code=2)
    assert "error: rule 'r': reference group 'Male' does not occur in group" in ran.err
    assert "hint: values present: a, b" in ran.err
    assert not (tmp_path / "out").exists()


def test_against_reference_without_any_reference_stops_the_run(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "fairgate: 1\nid: p\nversion: '1'\ntitle: t\nrules:\n"
        "  - {id: r, title: r, metric: selection_rate, against: reference, min_value: 0.8}\n"
    )
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(capsys, _base(tmp_path, data, policy=policy), exit_code=2)
    assert "nor groups.reference names one for 'group'" in ran.err


def test_unwritable_junit_path_is_refused_before_anything_is_written(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    (tmp_path / "blocker").write_text("a file, not a directory")
    ran = invoke(capsys, _base(tmp_path, data, "--junit", tmp_path / "blocker" / "j.xml"), exit_code=2)
    assert "--junit" in ran.err and "cannot write there" in ran.err
    assert not (tmp_path / "out").exists()


def test_output_files_get_their_directories_created(tmp_path, capsys):
    """A CI job starts in a fresh checkout: `--junit reports/junit.xml` works without a mkdir first."""
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    junit, badge = tmp_path / "reports" / "ci" / "junit.xml", tmp_path / "badges" / "fairness.svg"
    invoke(capsys, _base(tmp_path, data, "--junit", junit, "--badge", badge), exit_code=1)
    assert junit.read_bytes().startswith(b"<?xml") and badge.read_bytes().startswith(b"<svg")


def test_results_only_run_removes_a_stale_report(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.pdf").write_bytes(b"%PDF- an older audit")
    invoke(capsys, _base(tmp_path, data), exit_code=1)
    assert not (tmp_path / "out" / "report.pdf").exists()


def test_outputs_honour_the_umask(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    old = os.umask(0o022)
    try:
        invoke(capsys, _base(tmp_path, data), exit_code=1)
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "results.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--threshold", "0.5"), "--threshold applies only to --scores"),
        (("--sensitive", "pred"), "column 'pred' cannot be both a sensitive feature and the label"),
        (("--sign", "key.p12"), "--sign needs a report to sign: drop --no-pdf"),
    ],
)
def test_inconsistent_options_exit_2(tmp_path, capsys, extra, fragment):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, _base(tmp_path, data, *extra), exit_code=2)
    assert fragment in ran.err


def test_positive_label_written_as_a_float_matches_integer_codes(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    invoke(capsys, _base(tmp_path, data, "--positive-label", "1.0"), exit_code=0)


def test_a_ratio_bound_written_as_a_percentage_is_refused(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "fairgate: 1\nid: p\nversion: '1'\ntitle: t\nrules:\n"
        "  - {id: r, title: r, metric: selection_rate, min_value: 80}\n"
    )
    ran = invoke(capsys, ["policy", "validate", policy], exit_code=2)
    assert "write ratios as fractions (0.8, not 80)" in ran.err


def test_semicolon_csv_gets_a_separator_hint(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("group;label;pred\na;1;1\n")
    ran = invoke(capsys, _base(tmp_path, data), exit_code=2)
    assert "hint: the header looks semicolon-separated" in ran.err


def test_equalized_odds_names_the_groups_with_the_higher_false_positive_rate(tmp_path, capsys, compas_csv):
    invoke(
        capsys,
        [
            "run",
            "--data",
            compas_csv,
            "--policy",
            "equalized-odds",
            "--scores",
            "decile_score",
            "--threshold",
            "5",
            "--label",
            "two_year_recid",
            "--sensitive",
            "race",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    fpr = next(d for d in doc["disparities"] if d["rule_id"] == "fpr-difference" and d["scope"] == "race")
    failing = {g["group"] for g in fpr["groups"] if g["status"] == "FAIL"}
    assert "race=African-American" in failing  # ProPublica: 44.9% vs 23.5% for Caucasian
    assert fpr["comparator"] != "race=African-American"


def test_a_blocking_rule_that_needs_labels_without_a_label_stops_the_run(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            "equalized-odds",
            "--predictions",
            "pred",
            "--sensitive",
            "group",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=2,
    )
    assert "blocking rule 'tpr-difference' needs the true outcome, and no label was given" in ran.err
