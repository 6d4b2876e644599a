"""Errors that suggest (issue 21, item 5): a wrong column, policy id, format or metric names the
closest valid one, and `policy validate` lists every problem of a file at once, one per line."""

from __future__ import annotations

from tests.cli.helpers import invoke, write_csv


def test_a_mistyped_column_names_the_closest(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [("a", 1, 1), ("b", 0, 1)], header=("race_ethnicity", "label", "pred"))
    args = ["run", "--data", data, "--policy", "four-fifths", "--predictions", "pred", "--sensitive", "Race-Ethnicity"]
    ran = invoke(capsys, [*args, "--out", tmp_path / "out"], exit_code=2)
    assert "no column named 'Race-Ethnicity'" in ran.err
    assert "hint: did you mean 'race_ethnicity'? the file has: race_ethnicity, label, pred" in ran.err
    assert not (tmp_path / "out").exists()


def test_a_mistyped_policy_id_and_format_name_the_closest(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [("a", 1, 1), ("b", 0, 1)], header=("group", "label", "pred"))
    base = ["run", "--data", data, "--predictions", "pred", "--sensitive", "group", "--out", tmp_path / "out"]
    ran = invoke(capsys, [*base, "--policy", "four-fifth"], exit_code=2)
    assert "hint: did you mean 'four-fifths'?" in ran.err
    ran = invoke(capsys, [*base, "--policy", "four-fifths", "--format", "pfd"], exit_code=2)
    assert "hint: did you mean 'pdf'?" in ran.err


def test_policy_validate_lists_every_problem_with_its_line(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        'fairgate: 1\nid: bad\nversion: "1"\ntitle: Bad\ngroups: {min_cuont: 30}\nrules:\n'
        "  - id: air\n    title: AIR\n    metric: selction_rate\n    min_value: 0.8\n"
        "  - id: tpr\n    title: TPR\n    metric: true_positive_rate\n    compare: absolute_difference\n"
        "    max_vlaue: 0.1\n",
        encoding="utf-8",
    )
    ran = invoke(capsys, ["policy", "validate", policy], exit_code=2)
    errors = [line for line in ran.err.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {policy}:5: groups.min_cuont: unknown key (did you mean 'min_count'?)",
        f"error: {policy}:15: rules.1.max_vlaue: unknown key (did you mean 'max_value'?)",
        errors[2],
    ]
    assert errors[2].startswith(f"error: {policy}:9: rules.0.metric: unknown metric 'selction_rate'; ")
    assert "did you mean 'selection_rate'?" in errors[2]
    assert ran.err.splitlines()[-1].startswith("hint: ")


def test_a_mistyped_option_value_names_the_closest_choice(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [("a", 1, 1), ("b", 0, 1)], header=("group", "label", "pred"))
    args = ["run", "--data", data, "--policy", "four-fifths", "--predictions", "pred", "--sensitive", "group"]
    ran = invoke(capsys, [*args, "--engine", "dukdb", "--out", tmp_path / "out"], exit_code=2)
    assert ran.err.splitlines()[-1] == "hint: did you mean 'duckdb'? see 'fairgate run --help'"
    ran = invoke(capsys, [*args, "--engine", "zzz", "--out", tmp_path / "out"], exit_code=2)
    assert ran.err.splitlines()[-1] == "hint: see 'fairgate run --help'"
