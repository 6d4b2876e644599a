"""A probabilistic feature within segments (audit.tables.proba.split_proba, audit.judge.proxy_segments): each
segment's expected counts against a pandas groupby of π × the cell indicators over the segment's rows, its
partial-identification bounds against a linear programme over proxy cells derived independently from the
segment's rows only, and the segments adding up to the table counted without them; with self-reported people,
the narrowed bounds per segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.judge.proxy_segments import segment_findings
from audit.measures.proba import group_estimates, scope_of
from audit.policy.schema import Policy
from audit.tables.labelled import count_labelled
from audit.tables.proba import SCALE, count_proba, split_proba
from tests.measures.test_proba import METRICS, lp_bounds
from tests.measures.test_proba_intersections import LEVELS, SPEC, frame_of, normalised, proxy_cells


def segmented_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """frame_of's rows with a product line (A, B, C; a few rows without one: the segment ``unknown``)."""
    frame = frame_of(n, seed=seed)
    rng = np.random.default_rng(seed + 100)
    frame["product"] = pd.Series(rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]), dtype=object)
    frame.loc[20:24, "product"] = None
    return frame


def table_of(frame: pd.DataFrame, sensitive=("sex", "product")):
    return count_proba(
        frame,
        spec=SPEC,
        sensitive=list(sensitive),
        y_true=frame["label"].to_numpy(),
        y_pred=frame["approved"].to_numpy(),
    )


def test_each_segments_expected_counts_equal_a_pandas_groupby_of_its_rows():
    frame = segmented_frame()
    parts = split_proba(table_of(frame), ["product"])
    assert [segment for segment, _, _ in parts] == [{"product": v} for v in ("A", "B", "C", "unknown")]
    p = normalised(frame)
    keyed = frame.assign(product=frame["product"].fillna("unknown"), sex=frame["sex"].fillna("unknown"))
    for segment, sub, _ in parts:
        rows = (keyed["product"] == segment["product"]).to_numpy()
        assert sub.other_features == ("sex",)
        assert sub.rows == int(rows.sum())
        assert sub.unknown_rows == int((rows & ~np.isfinite(frame["p_white"].to_numpy())).sum())
        for features, recorded in ((("race",), []), (("race", "sex"), ["sex"])):
            scope = scope_of(sub, features)
            for g, level in enumerate(LEVELS):
                mine = keyed[rows].assign(w=p[rows, g], q=p[rows, g] ** 2)
                sums = mine.groupby([*recorded, "label", "approved"])[["w", "q"]].sum()
                for group in (x for x in scope.groups if x.features["race"] == level):
                    key = tuple(group.features[f] for f in recorded)
                    for y in (0, 1):
                        for d in (0, 1):
                            want = sums.loc[(*key, y, d)] if (*key, y, d) in sums.index else pd.Series({"w": 0, "q": 0})
                            assert group.expected[y, d] == pytest.approx(want["w"], rel=1e-9, abs=1e-6)
                            assert group.squares[y, d] == pytest.approx(want["q"], rel=1e-9, abs=1e-6)


def test_the_segments_add_up_exactly_to_the_table_counted_without_them():
    """Fixed-point sums: the segments' expected counts, cells and rows add up to the pooled pass's exactly."""
    frame = segmented_frame(2000, seed=1)
    pooled = table_of(frame, ("sex",))
    parts = split_proba(table_of(frame), ["product"])
    for name in ("expected", "squares", "likely", "cell_rows", "cell_mass"):
        total = np.zeros_like(getattr(pooled, name))
        for _, sub, _ in parts:
            at = [pooled.other_keys.index(key) for key in sub.other_keys]
            np.add.at(total, at, getattr(sub, name))
        if name in ("expected", "squares", "cell_mass"):  # compare as the integers they are
            assert np.array_equal(np.round(total * SCALE), np.round(getattr(pooled, name) * SCALE)), name
        else:
            assert np.array_equal(total, getattr(pooled, name)), name
    assert sum(sub.rows for _, sub, _ in parts) == pooled.rows
    assert sum(sub.unknown_rows for _, sub, _ in parts) == pooled.unknown_rows


@pytest.mark.parametrize("metric", METRICS)
def test_each_segments_bounds_equal_the_linear_programme_over_its_own_cells(metric):
    frame = segmented_frame(900, seed=3)
    parts = split_proba(table_of(frame, ("product",)), ["product"])
    pooled_rows, pooled_mass = proxy_cells(frame, np.ones(len(frame), bool))
    checked = differs = 0
    for segment, sub, _ in parts:
        if segment["product"] == "unknown":
            continue
        estimates = {e.level: e for e in group_estimates(scope_of(sub), metric, level=0.95)}
        rows, mass = proxy_cells(frame, (frame["product"] == segment["product"]).to_numpy())
        for g, level in enumerate(LEVELS):
            got = estimates[level].bounds
            assert got is not None
            assert got == pytest.approx(lp_bounds(metric, rows, mass[:, g]), abs=1e-7)
            differs += got != pytest.approx(lp_bounds(metric, pooled_rows, pooled_mass[:, g]), abs=1e-6)
            checked += 1
    assert checked == 9
    assert differs > 0  # the segment's own cells, not the pooled ones


def test_self_reported_people_narrow_each_segments_bounds():
    """Per segment: the self-reported people counted exactly (``known`` sliced with the segment's groups, equal
    to a count of the rows), the narrowed bounds equal to the LP with them fixed, and inside the unnarrowed."""
    frame = segmented_frame(1200, seed=4)
    rng = np.random.default_rng(4)
    top = np.nan_to_num(frame[list(SPEC.columns)].to_numpy(), nan=0).argmax(axis=1)
    frame["race_self"] = np.where(rng.random(len(frame)) < 0.3, np.array(LEVELS)[top], None)
    labelled = count_labelled(
        frame,
        spec=SPEC,
        column="race_self",
        sensitive=["product"],
        y_true=frame["label"].to_numpy(),
        y_pred=frame["approved"].to_numpy(),
    )
    policy = Policy.model_validate(
        {
            "fairgate": 1,
            "id": "p",
            "version": "1",
            "title": "t",
            "rules": [{"id": "r", "title": "r", "metric": "selection_rate", "min_value": 0.8}],
        }
    )
    segments = segment_findings(policy, labelled.table, ["product"], known=labelled.known, proxy_only=labelled.proxy)
    assert [s.label for s in segments] == ["product=A", "product=B", "product=C", "product=unknown"]
    for s in segments[:3]:
        rows_of = (frame["product"] == s.segment["product"]).to_numpy()
        said = frame["race_self"].notna().to_numpy()
        assert s.known is not None and int(s.known.sum()) == int((rows_of & said).sum())
        scope = scope_of(s.table, known=s.known)
        assert s.proxy_only is not None
        wide = {e.level: e for e in group_estimates(scope_of(s.proxy_only), "selection_rate", level=0.95)}
        rows, mass = proxy_cells(frame, rows_of & ~said)
        for g, e in enumerate(group_estimates(scope, "selection_rate", level=0.95)):
            outcome = 2 * frame["label"].to_numpy() + frame["approved"].to_numpy()
            known = np.bincount(outcome[rows_of & (frame["race_self"] == e.level).to_numpy()], minlength=4)
            assert e.bounds == pytest.approx(lp_bounds("selection_rate", rows, mass[:, g], known), abs=1e-7)
            low, high = wide[e.level].bounds
            assert low - 1e-12 <= e.bounds[0] and e.bounds[1] <= high + 1e-12
        (finding,) = s.findings
        assert finding.id == "r.race"
