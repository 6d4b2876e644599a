"""Aequitas' ``ppr`` and group-size share, and the likelihood ratios LR+ = TPR/FPR and LR− = FNR/TNR,
checked against independent computations: pandas counts on the COMPAS data Aequitas ships (its
definitions: ppr = a group's predicted positives over all predicted positives of the attribute,
group size share = group size over all entities), and a hand-worked 2×2 table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.measures.groups import build_scopes
from audit.measures.metrics import compute, scope_shares
from audit.tables.groups import count_groups

COMPAS = Path(__file__).resolve().parents[3] / "shared" / "data" / "compas_for_aequitas.csv"


def _scopes(frame, features, y, p):
    table = count_groups(frame, sensitive=features, y_true=y, y_pred=p)
    return {(s.name, g.label): g for s in build_scopes(table, intersections=True, level=0.95) for g in s.groups}


@pytest.mark.skipif(not COMPAS.exists(), reason="shared COMPAS data not present")
def test_ppr_and_group_size_share_match_aequitas_definitions_on_compas():
    frame = pd.read_csv(COMPAS)
    y, p = frame["label_value"].to_numpy(int), frame["score"].to_numpy() >= 1
    groups = _scopes(frame, ["race", "sex"], y, p)
    for feature in ("race", "sex"):
        k = frame[p].groupby(feature).size()  # Aequitas' k: predicted positives per group
        size = frame.groupby(feature).size()
        for value in size.index:
            g = groups[(feature, value)]
            assert g.metrics["ppr"].value == pytest.approx(k.get(value, 0) / k.sum(), abs=1e-12)
            assert (g.metrics["ppr"].numerator, g.metrics["ppr"].denominator) == (k.get(value, 0), k.sum())
            assert g.metrics["group_size_share"].value == pytest.approx(size[value] / len(frame), abs=1e-12)
            assert g.metrics["ppr"].ci_method is None  # exact share, no interval
    # the shares of a scope add up to one, in every scope (the intersection too)
    for scope in ("race", "sex", "race × sex"):
        members = [g for (s, _), g in groups.items() if s == scope]
        assert math.fsum(g.metrics["ppr"].value for g in members) == pytest.approx(1.0)
        assert math.fsum(g.metrics["group_size_share"].value for g in members) == pytest.approx(1.0)
    # by hand: African-Americans are 3,696 of 7,214 people and 2,174 of the 3,317 predicted high risk
    # (ppr = 2174 / 3317 = 0.655)
    aa = groups[("race", "African-American")]
    assert (aa.metrics["group_size_share"].numerator, aa.metrics["group_size_share"].denominator) == (3696, 7214)
    assert (aa.metrics["ppr"].numerator, aa.metrics["ppr"].denominator) == (2174, 3317)
    assert round(aa.metrics["ppr"].value, 3) == 0.655


@pytest.mark.skipif(not COMPAS.exists(), reason="shared COMPAS data not present")
def test_likelihood_ratios_match_a_propublica_style_hand_computation_on_compas():
    frame = pd.read_csv(COMPAS)
    y, p = frame["label_value"].to_numpy(int), frame["score"].to_numpy() >= 1
    groups = _scopes(frame, ["race"], y, p)
    for race, sub in frame.groupby("race"):
        yy, pp = sub["label_value"] == 1, sub["score"] >= 1
        tp, fn = (yy & pp).sum(), (yy & ~pp).sum()
        fp, tn = (~yy & pp).sum(), (~yy & ~pp).sum()
        g = groups[("race", race)]
        if fp == 0 or tp + fn == 0 or tn + fp == 0:
            assert g.metrics["positive_likelihood_ratio"].value is None
            continue
        assert g.metrics["positive_likelihood_ratio"].value == pytest.approx((tp / (tp + fn)) / (fp / (fp + tn)))
        assert g.metrics["negative_likelihood_ratio"].value == pytest.approx((fn / (tp + fn)) / (tn / (fp + tn)))


def test_likelihood_ratios_hand_worked_table_with_simel_interval():
    # [y, ŷ]: tn=40 fp=20 / fn=10 tp=30 → TPR 3/4, FPR 1/3, FNR 1/4, TNR 2/3
    cells = np.array([[40, 20], [10, 30]])
    plus = compute("positive_likelihood_ratio", cells, has_label=True, level=0.95)
    minus = compute("negative_likelihood_ratio", cells, has_label=True, level=0.95)
    assert plus.value == pytest.approx(2.25) and minus.value == pytest.approx(0.375)
    se = math.sqrt(1 / 30 - 1 / 40 + 1 / 20 - 1 / 60)  # Simel, Samsa & Matchar (1991)
    z = 1.959963984540054
    assert (plus.ci_low, plus.ci_high) == pytest.approx((2.25 * math.exp(-z * se), 2.25 * math.exp(z * se)))
    assert plus.ci_method == "katz-log"
    # no false positive: LR+ would be infinite → undefined, with the reason
    none = compute("positive_likelihood_ratio", np.array([[40, 0], [10, 30]]), has_label=True, level=0.95)
    assert none.value is None and "infinite" in str(none.ci_method)
    assert compute("positive_likelihood_ratio", cells, has_label=False, level=0.95).value is None


def test_scope_shares_hand_worked():
    # group a: 10 people, 4 selected; group b: 30 people, 12 selected; unknown: 10, 4 selected
    a, b, u = np.array([[6, 4], [0, 0]]), np.array([[18, 12], [0, 0]]), np.array([[6, 4], [0, 0]])
    shares = scope_shares([a, b, u])
    assert [s["ppr"].value for s in shares] == [0.2, 0.6, 0.2]
    assert [s["group_size_share"].value for s in shares] == [0.2, 0.6, 0.2]
    nobody = scope_shares([np.zeros((2, 2), int), np.zeros((2, 2), int)])
    assert nobody[0]["ppr"].value is None and nobody[0]["group_size_share"].value is None
