"""Issue 18 (6): every threshold of the shipped credit-air policy is tied to the law or guidance it
serves, and none is presented as a federal rule it is not (ECOA and Regulation B set no number)."""

from __future__ import annotations

from audit.policy.interface import load_policy


def test_credit_air_thresholds_cite_the_law_and_say_they_are_practice():
    policy = load_policy("credit-air").policy
    assert "set no numerical threshold" in policy.description
    assert "29 CFR § 1607.4(D)" in policy.description  # the four-fifths rule named as employment guidance
    [air] = policy.rules
    assert air.min_value == 0.9 and "12 CFR § 1002.6(a)" in air.citation and "not set by ECOA" in air.citation
    [smd] = policy.score_rules
    assert smd.max_abs_value == 0.3
    assert "practical significance" in smd.title and "not a federal rule" in smd.citation
