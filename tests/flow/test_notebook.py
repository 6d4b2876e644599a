"""The notebook API as a user meets it: a DataFrame, a fitted LogisticRegression and a policy dict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.linear_model import LogisticRegression

import audit
from audit.errors import ArgumentError, PolicyError, UsageError
from audit.signing.ledger import Ledger
from audit.util.resources import policies_dir

FEATURES = ["x1", "x2"]


@pytest.fixture(scope="module")
def held():
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["a", "b", "c"], n),
        }
    )
    frame["x1"] += np.where(frame.sex == "M", 0.8, 0.0)
    frame["y"] = (frame.x1 + rng.normal(size=n) > 0).astype(int)
    model = LogisticRegression().fit(frame[FEATURES], frame.y)
    policy = yaml.safe_load((policies_dir() / "four-fifths.yaml").read_text())
    return frame, model, policy


def _audit(held, **extra):
    frame, model, policy = held
    return audit.run_audit(data=frame, model=model, policy=policy, label="y", sensitive=["sex", "race"], **extra)


@pytest.fixture(scope="module")
def result(held, tmp_path_factory):
    return _audit(held, ledger=tmp_path_factory.mktemp("l") / "ledger.sqlite")


def _fairlearn(held, sensitive):
    frame, model, _ = held
    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
    }
    return MetricFrame(
        metrics=metrics, y_true=frame.y, y_pred=model.predict(frame[FEATURES]), sensitive_features=frame[sensitive]
    )


def test_by_group_has_counts_and_intervals_matching_fairlearn(held, result):
    table = result.by_group
    assert {
        "scope",
        "group",
        "n",
        "tp",
        "fp",
        "fn",
        "tn",
        "selection_rate",
        "selection_rate_ci_low",
        "selection_rate_ci_high",
    } <= set(table.columns)
    frame, model, _ = held
    predicted = model.predict(frame[FEATURES]) == 1
    reference = _fairlearn(held, "sex")
    for sex in ("F", "M"):
        row = table[(table.scope == "sex") & (table.group == sex)].iloc[0]
        rows = (frame.sex == sex).to_numpy()
        truth = frame.y.to_numpy() == 1
        assert (row.tp, row.fp, row.fn, row.tn) == (
            (predicted & truth & rows).sum(),
            (predicted & ~truth & rows).sum(),
            (~predicted & truth & rows).sum(),
            (~predicted & ~truth & rows).sum(),
        )
        assert row.n == rows.sum()
        for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            assert row[metric] == pytest.approx(reference.by_group.loc[sex, metric])
            assert row[f"{metric}_ci_low"] < row[metric] < row[f"{metric}_ci_high"]


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("sensitive", ["sex", "race"])
def test_ratio_and_difference_match_fairlearns_metricframe(held, result, method, sensitive):
    reference = _fairlearn(held, sensitive)
    metrics = ["selection_rate", "true_positive_rate", "false_positive_rate"]
    ours_ratio = result.ratio(method, metrics=metrics).loc[sensitive]
    ours_difference = result.difference(method, metrics=metrics).loc[sensitive]
    for metric in metrics:
        assert ours_ratio[metric] == pytest.approx(reference.ratio(method=method)[metric])
        assert ours_difference[metric] == pytest.approx(reference.difference(method=method)[metric])


def test_the_intersection_matches_fairlearn_with_both_features(held, result):
    reference = _fairlearn(held, ["sex", "race"])
    assert result.ratio().loc["sex × race", "selection_rate"] == pytest.approx(reference.ratio()["selection_rate"])


def test_ratio_to_a_reference_group_and_bad_methods(result):
    table = result.by_group
    sex = table[table.scope == "sex"].set_index("group")["selection_rate"]
    assert result.ratio("reference", reference={"sex": "M"}).loc["sex", "selection_rate"] == pytest.approx(
        min(sex / sex["M"])
    )
    assert result.difference("max").equals(result.difference("between_groups"))
    with pytest.raises(ArgumentError, match="ratio\\(method='reference'\\) needs reference="):
        result.ratio("reference")
    with pytest.raises(ArgumentError, match="expected one of 'between_groups'"):
        result.ratio("biggest")


def test_repr_is_short_and_names_what_failed(result):
    text = repr(result)
    assert len(text) < 300 and len(text.splitlines()) <= 3
    assert text.startswith("<AuditResult FAIL: policy four-fifths")
    assert "selection-rate-impact-ratio" in text


def test_repr_html_names_every_failing_rule(result):
    html = result._repr_html_()
    failing = [i.id for i in result.items if i.status.value == "FAIL"]
    assert failing
    assert all(f"<code>{rule}</code>" in html for rule in failing)


def test_plot_returns_the_reports_figure(result):
    from matplotlib.figure import Figure

    assert isinstance(result.plot(), Figure)
    with pytest.raises(UsageError, match="no such rule"):
        result.plot("nope")


def test_the_evidence_records_what_was_held_in_memory(held, result):
    document = result.to_dict()
    assert document["request"]["data"] == "<in-memory DataFrame>"
    assert document["request"]["model"] == "<in-memory LogisticRegression>"
    assert document["request"]["policy"] == "<policy dict>"
    inputs = {i["role"]: i for i in document["provenance"]["inputs"]}
    assert "cannot re-read" in inputs["dataset"]["note"] and inputs["dataset"]["rows"] == 3000
    assert "skops" in inputs["model"]["note"]
    # the same frame, model and policy give the same hashes in another audit (deterministic)
    again = _audit(held, ledger=False).to_dict()
    assert [i["sha256"] for i in again["provenance"]["inputs"]] == [
        i["sha256"] for i in document["provenance"]["inputs"]
    ]
    assert again["groups"] == document["groups"]


def test_a_dataframe_and_its_csv_give_the_same_groups(held, tmp_path):
    frame, model, policy = held
    import skops.io

    frame.to_csv(tmp_path / "d.csv", index=False)
    skops.io.dump(model, tmp_path / "m.skops")
    from_files = audit.run_audit(
        data=tmp_path / "d.csv",
        model=tmp_path / "m.skops",
        policy="four-fifths",
        label="y",
        sensitive=["sex", "race"],
        ledger=False,
    )
    assert from_files.to_dict()["groups"] == _audit(held, ledger=False).to_dict()["groups"]


def test_the_audit_is_recorded_in_the_ledger_and_ledger_false_skips_it(held, tmp_path):
    book = tmp_path / "ledger.sqlite"
    result = _audit(held, ledger=book)
    (record,) = Ledger(book).records()
    assert record.body["action"] == "run" and record.body["verdict"] == "FAIL"
    assert record.body["command"] == ["audit.run_audit"]
    assert result.to_dict()["ledger"] == {"seq": 0, "hash": "0" * 64}
    from audit.signing.ledger import results_sha256

    assert record.body["results_sha256"] == results_sha256(result.to_dict())
    _audit(held, ledger=False)
    assert len(Ledger(book).records()) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"data": [1, 2]}, "run_audit(data=…): expected a path (str or os.PathLike) or a pandas DataFrame, got list"),
        ({"model": {"coef": 1}}, "run_audit(model=…): expected None, a path"),
        ({"model": LogisticRegression()}, "run_audit(model=…): the LogisticRegression is not fitted"),
        (
            {"policy": 42},
            "run_audit(policy=…): expected a shipped policy id, a path to a YAML file, or a dict, got int",
        ),
        ({"sensitive": 3}, "run_audit(sensitive=…): expected a column name or a list of column names"),
    ],
)
def test_wrong_kinds_of_argument_are_usage_errors_naming_the_argument(held, arguments, message):
    frame, model, policy = held
    given = {"data": frame, "model": model, "policy": policy, "label": "y", "sensitive": ["sex"], "ledger": False}
    with pytest.raises(ArgumentError) as caught:
        audit.run_audit(**(given | arguments))
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, UsageError) and isinstance(caught.value, TypeError)


def test_a_policy_dict_is_validated_like_a_policy_file(held):
    frame, model, policy = held
    broken = {**policy, "rules": [{**policy["rules"][0], "min_vaule": 0.8}]}
    with pytest.raises(PolicyError, match="<policy dict>: rules.0.min_vaule: unknown key") as caught:
        audit.run_audit(data=frame, model=model, policy=broken, label="y", sensitive=["sex"], ledger=False)
    assert "did you mean 'min_value'?" in caught.value.hint


def test_model_positive_class_through_the_api(held):
    frame, model, policy = held
    coded = frame.assign(y=np.where(frame.y == 1, "good", "bad"))
    result = audit.run_audit(
        data=coded,
        model=model,
        policy=policy,
        label="y",
        positive_label="good",
        model_positive_class=1,
        sensitive=["sex"],
        ledger=False,
    )
    expected = _audit(held, ledger=False).by_group
    assert (
        result.by_group["selection_rate"].tolist()
        == expected[expected.scope.isin(["overall", "sex"])]["selection_rate"].tolist()
    )
