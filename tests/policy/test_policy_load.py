"""Policies: every shipped one validates; every bad one is refused with file, line and key."""

from __future__ import annotations

import textwrap

import pytest

from audit.errors import PolicyError
from audit.policy.load import load_policy, shipped_policies

GOOD = """\
fairgate: 1
id: custom
version: "2"
title: Custom
groups:
  min_count: 5
rules:
  - id: sr
    title: Selection rate ratio
    metric: selection_rate
    min_value: 0.8
"""


def _write(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("pid", sorted(shipped_policies()))
def test_every_shipped_policy_validates(pid):
    loaded = load_policy(pid)
    assert loaded.policy.id == pid
    assert loaded.policy.rules or loaded.policy.representativeness
    assert all(check.explanation for check in [*loaded.policy.rules, *loaded.policy.representativeness])
    assert loaded.policy.citation  # every shipped policy cites its source


def test_shipped_policies_include_the_required_two():
    assert {"four-fifths", "equalized-odds"} <= set(shipped_policies())


def test_four_fifths_is_the_uniform_guidelines_rule():
    rule = load_policy("four-fifths").policy.rules[0]
    assert (rule.metric, rule.compare, rule.against, rule.min_value) == ("selection_rate", "ratio", "max", 0.8)


def test_a_path_loads_and_is_hashed(tmp_path):
    path = _write(tmp_path, GOOD)
    loaded = load_policy(str(path))
    assert loaded.policy.groups.min_count == 5
    import hashlib

    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_alias_is_accepted_as_precision(tmp_path):
    path = _write(tmp_path, GOOD.replace("selection_rate", "positive_predictive_value"))
    assert load_policy(str(path)).policy.rules[0].metric == "precision"


BAD = [
    (
        "unknown metric",
        GOOD.replace("metric: selection_rate", "metric: happiness"),
        ":10: rules.0.metric: unknown metric 'happiness'",
    ),
    ("unknown key", GOOD.replace("  min_count: 5", "  min_count: 5\n  colour: blue"), ":7: groups.colour: unknown key"),
    ("wrong type", GOOD.replace("min_count: 5", "min_count: many"), ":6: groups.min_count:"),
    ("out of range", GOOD.replace("min_count: 5", "min_count: 0"), ":6: groups.min_count:"),
    ("no bound", GOOD.replace("    min_value: 0.8\n", ""), ":8: rules.0: a rule needs min_value or max_value"),
    ("duplicate key", GOOD.replace('version: "2"', 'version: "2"\nversion: "3"'), ":4: key 'version' appears twice"),
    ("alias bomb", GOOD + "x: &a [1, 2]\ny: *a\n", "YAML aliases are not allowed"),
    ("tab indentation", GOOD.replace("  min_count", "\tmin_count"), "not valid YAML"),
    ("not a mapping", "- 1\n- 2\n", "a policy must be a YAML mapping"),
    ("empty", "", "the policy file is empty"),
    ("wrong language version", GOOD.replace("fairgate: 1", "fairgate: 9"), ":1: fairgate:"),
    (
        "python tag",
        GOOD + "x: !!python/object:os.system {}\n",
        ":12: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
    ),  # noqa: E501
]


@pytest.mark.parametrize(("case", "text", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_policies_name_file_line_and_key(tmp_path, case, text, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        load_policy(str(path))
    assert str(path) in err.value.message
    assert fragment in err.value.message
    assert "\n" not in err.value.message


def test_unknown_policy_id_lists_the_shipped_ones():
    with pytest.raises(PolicyError) as err:
        load_policy("five-sixths")
    assert err.value.message == "five-sixths: unknown policy id"
    assert "four-fifths" in err.value.hint


def test_missing_policy_file():
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy("nowhere/policy.yaml")


def test_every_metric_the_readme_and_the_schema_offer_for_rules_validates(tmp_path):
    """Issue 15 (9): the README and `policy schema` listed `count`, which validate rejected.
    (The metric list moved from the README to docs/policies.md, issue 17.)"""
    import re
    from pathlib import Path

    from audit.policy.schema import Policy

    readme = (Path(__file__).parents[2] / "docs" / "policies.md").read_text()
    listed = readme.split("Metrics (fairlearn's names):", 1)[1].split("A metric whose denominator", 1)[0]
    aliases = re.findall(r"\(alias `(\w+)`\)", listed)
    names = {n.strip() for n in "".join(re.findall(r"`([^`]*)`", re.sub(r"\(alias `\w+`\)", "", listed))).split(",")}
    described = Policy.model_json_schema()["$defs"]["Rule"]["properties"]["metric"]
    offered = {n.strip(" .") for n in described["description"].split(":", 1)[1].split(",")}
    assert {"count", "ppr", "group_size_share", "negative_likelihood_ratio"} <= names & offered and len(offered) >= 18
    assert names == offered and aliases == ["positive_predictive_value"]
    for name in names | set(aliases):
        load_policy(str(_write(tmp_path, GOOD.replace("metric: selection_rate", f"metric: {name}"))))
