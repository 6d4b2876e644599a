"""Intersections of a probabilistic feature with recorded ones (audit.measures.proba.scope_of): each group's
expected counts against a pandas groupby of the rows, and its partial-identification bounds — computed within
its recorded group's proxy cells only — against a linear programme on cells derived independently from the
rows, and against every integer assignment on a tiny table; with self-reported people, the narrowed bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from audit.measures.proba import _masks, group_estimates, intersection_cuts, rate_bounds, scope_of
from audit.tables.labelled import count_labelled
from audit.tables.proba import count_proba, parse_proba
from tests.measures.test_proba import METRICS, lp_bounds

SPEC = parse_proba("race=p_white,p_black,p_hispanic")
LEVELS = SPEC.levels


def frame_of(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Probabilities, two recorded features (sex with some missing values, age), a label and decisions
    that depend on race drawn from the probabilities and on sex."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([2.0, 1.0, 1.0], n)
    race = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 2)
    sex = rng.choice(["F", "M"], n)
    p[:5] = np.nan  # unknown race
    frame = pd.DataFrame(p, columns=list(SPEC.columns))
    frame["sex"] = pd.Series(sex, dtype=object)
    frame.loc[5:9, "sex"] = None  # unknown sex
    frame["age"] = rng.choice(["<40", "40+"], n)
    frame["label"] = (rng.random(n) < 0.5).astype(int)
    rate = np.array([0.6, 0.35, 0.5])[race] + np.where(sex == "F", -0.1, 0.05)
    frame["approved"] = (rng.random(n) < rate).astype(int)
    return frame


def table_of(frame: pd.DataFrame, sensitive=("sex", "age")):
    return count_proba(
        frame,
        spec=SPEC,
        sensitive=list(sensitive),
        y_true=frame["label"].to_numpy(),
        y_pred=frame["approved"].to_numpy(),
    )


def normalised(frame: pd.DataFrame) -> np.ndarray:
    """Each row's probabilities divided by their sum (rows without any: zeros)."""
    p = frame[list(SPEC.columns)].to_numpy(dtype=float)
    known = np.isfinite(p).all(axis=1)
    return np.where(known[:, None], p / np.where(known, p.sum(axis=1), 1.0)[:, None], 0.0)


@pytest.mark.parametrize("features", [("race", "sex"), ("sex", "race"), ("race", "sex", "age"), ("age", "race")])
def test_expected_counts_of_each_intersection_cell_equal_a_pandas_groupby(features):
    frame = frame_of()
    scope = scope_of(table_of(frame), features)
    recorded = [f for f in features if f != "race"]
    p = normalised(frame)
    keyed = frame.assign(**{f: frame[f].fillna("unknown") for f in recorded})
    sums = {
        level: keyed.assign(w=p[:, g]).groupby([*recorded, "label", "approved"])["w"].sum()
        for g, level in enumerate(LEVELS)
    }
    squares = {
        level: keyed.assign(w=p[:, g] ** 2).groupby([*recorded, "label", "approved"])["w"].sum()
        for g, level in enumerate(LEVELS)
    }
    strata = keyed.groupby(recorded).size()
    assert len(scope.groups) == len(LEVELS) * len(strata)
    assert scope.name == " × ".join(features)
    for group in scope.groups:
        key = tuple(group.features[f] for f in recorded)
        level = group.features["race"]
        assert group.label == " × ".join(group.features[f] for f in features)
        for y in (0, 1):
            for d in (0, 1):
                want = sums[level].get((*key, y, d), 0.0)
                assert group.expected[y, d] == pytest.approx(want, rel=1e-9, abs=1e-6)
                assert group.squares[y, d] == pytest.approx(squares[level].get((*key, y, d), 0.0), rel=1e-9, abs=1e-6)
    # the groups of a scope add up to the feature alone
    alone = scope_of(table_of(frame))
    for g, level in enumerate(LEVELS):
        parts = sum(grp.expected for grp in scope.groups if grp.features["race"] == level)
        assert np.allclose(parts, alone.groups[g].expected, rtol=1e-12)


def test_groups_follow_the_scopes_feature_order():
    scope = scope_of(table_of(frame_of(400)), ("sex", "race"))
    labels = [g.label for g in scope.groups]
    assert labels[:3] == ["F × white", "F × black", "F × hispanic"]  # levels in their columns' order
    assert labels[-3:] == ["unknown × white", "unknown × black", "unknown × hispanic"]  # unknown last
    assert [g.has_unknown for g in scope.groups].count(True) == 3


def test_the_population_of_an_intersection_leaves_out_unknown_values():
    frame = frame_of()
    scope = scope_of(table_of(frame), ("race", "sex"))
    p = normalised(frame)
    keep = frame["sex"].notna().to_numpy()
    want = pd.DataFrame({"w": p[keep].sum(axis=1), "label": frame["label"][keep], "approved": frame["approved"][keep]})
    cells = want.groupby(["label", "approved"])["w"].sum()
    for (y, d), value in cells.items():
        assert scope.population[y, d] == pytest.approx(value, rel=1e-9)


def proxy_cells(frame: pd.DataFrame, rows_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independently of the pass: per proxy cell (most likely group, the first of the largest; tenth of the
    largest probability) of the rows ``rows_of``, the rows per outcome cell and each level's mass."""
    p = normalised(frame)[rows_of]
    valid = np.isfinite(frame[list(SPEC.columns)].to_numpy(dtype=float)[rows_of]).all(axis=1)
    top = p.argmax(axis=1)
    binned = np.minimum(np.floor(p.max(axis=1) * 10), 9).astype(int)
    cell = top * 10 + binned
    outcome = 2 * frame["label"].to_numpy()[rows_of] + frame["approved"].to_numpy()[rows_of]
    rows = np.zeros((30, 4))
    mass = np.zeros((30, 3))
    np.add.at(rows, (cell[valid], outcome[valid]), 1)
    np.add.at(mass, cell[valid], p[valid])
    used = rows.sum(axis=1) > 0
    return rows[used], mass[used]


@pytest.mark.parametrize("metric", METRICS)
def test_intersection_bounds_equal_the_linear_programme_over_their_recorded_groups_cells(metric):
    frame = frame_of(600, seed=3)
    scope = scope_of(table_of(frame), ("race", "sex"))
    estimates = {e.level: e for e in group_estimates(scope, metric, level=0.95)}
    num, den = _masks(metric)
    checked = 0
    for sex in ("F", "M"):
        rows, mass = proxy_cells(frame, (frame["sex"] == sex).to_numpy())
        pooled_rows, pooled_mass = proxy_cells(frame, np.ones(len(frame), bool))
        for g, level in enumerate(LEVELS):
            got = estimates[f"{level} × {sex}"].bounds
            assert got is not None
            want = lp_bounds(metric, rows, mass[:, g])
            assert got == pytest.approx(want, abs=1e-7)
            checked += 1
            # the feature alone pools the cells of both sexes: different (and wider) for the same group
            spread = rate_bounds(metric, pooled_rows, pooled_mass[:, g])
            assert spread is not None and spread != pytest.approx(got, abs=1e-6)
    assert checked == 6


def tiny() -> pd.DataFrame:
    """A handful of people per sex whose masses are whole numbers in every proxy cell: half white half
    black (two such people are one black person), certainly black, certainly white. The men's shared cell
    holds refusals the women's lacks: bounds over the pooled cells would reach lower."""
    people = []
    for sex, approved_half, approved_black in (("F", [1, 1, 1, 0], [1, 0]), ("M", [0, 0, 0, 0, 1, 1], [0])):
        people += [{"p_white": 0.5, "p_black": 0.5, "sex": sex, "approved": a} for a in approved_half]
        people += [{"p_white": 0.0, "p_black": 1.0, "sex": sex, "approved": a} for a in approved_black]
        people += [{"p_white": 1.0, "p_black": 0.0, "sex": sex, "approved": 1}]
    frame = pd.DataFrame(people)
    frame["p_hispanic"] = 0.0
    frame["label"] = frame["approved"]
    return frame


def test_tiny_intersection_bounds_are_attained_by_integer_assignments_within_the_recorded_group():
    """Every way of choosing which of the women are black (as many as their cells' masses) gives a
    selection rate of ``black × F`` inside its bounds, and the extremes are attained: the men play no part."""
    frame = tiny()
    scope = scope_of(table_of(frame, ("sex",)), ("race", "sex"))
    (estimate,) = [e for e in group_estimates(scope, "selection_rate", level=0.95) if e.level == "black × F"]
    women = frame[frame["sex"] == "F"].reset_index(drop=True)
    half = np.flatnonzero(women["p_black"] == 0.5)  # their cell's black mass: len(half) / 2
    certain = np.flatnonzero(women["p_black"] == 1.0)
    rates = []
    for chosen in itertools.combinations(half, len(half) // 2):
        black = [*chosen, *certain]
        rates.append(women["approved"].to_numpy()[black].mean())
    low, high = estimate.bounds
    assert min(rates) == pytest.approx(low) and max(rates) == pytest.approx(high)
    assert (low, high) == pytest.approx((2 / 4, 3 / 4))
    assert estimate.weighted.expected_n == pytest.approx(len(half) / 2 + len(certain))


def labelled_frame(seed: int = 4) -> pd.DataFrame:
    frame = frame_of(800, seed=seed)
    rng = np.random.default_rng(seed)
    top = np.nan_to_num(frame[list(SPEC.columns)].to_numpy(), nan=0).argmax(axis=1)
    frame["race_self"] = np.where(rng.random(len(frame)) < 0.3, np.array(LEVELS)[top], None)
    return frame


@pytest.mark.parametrize("metric", METRICS)
def test_self_reported_people_narrow_the_intersection_bounds_within_their_recorded_group(metric):
    """The self-reported people of ``black × F`` are placed exactly (the LP's fixed part: the women who said
    black), the others bounded through the women's proxy cells of the unlabelled; narrowed ⊂ unnarrowed."""
    frame = labelled_frame()
    labelled = count_labelled(
        frame,
        spec=SPEC,
        column="race_self",
        sensitive=["sex", "age"],
        y_true=frame["label"].to_numpy(),
        y_pred=frame["approved"].to_numpy(),
    )
    narrowed = {
        e.level: e
        for e in group_estimates(scope_of(labelled.table, ("race", "sex"), known=labelled.known), metric, level=0.95)
    }
    wide = {e.level: e for e in group_estimates(scope_of(labelled.proxy, ("race", "sex")), metric, level=0.95)}
    said = frame["race_self"].to_numpy()
    outcome = 2 * frame["label"].to_numpy() + frame["approved"].to_numpy()
    for sex in ("F", "M"):
        mine = (frame["sex"] == sex).to_numpy()
        rows, mass = proxy_cells(frame, mine & pd.isna(said))
        for g, level in enumerate(LEVELS):
            known = np.bincount(outcome[mine & (said == level)], minlength=4).astype(float)
            got = narrowed[f"{level} × {sex}"].bounds
            assert got == pytest.approx(lp_bounds(metric, rows, mass[:, g], known), abs=1e-7)
            spread = wide[f"{level} × {sex}"].bounds
            assert spread[0] <= got[0] + 1e-12 and got[1] <= spread[1] + 1e-12


@pytest.mark.parametrize(
    ("intersections", "recorded", "want"),
    [
        (True, ["sex"], [("race", "sex")]),
        (True, ["sex", "age"], [("race", "sex", "age")]),  # all together, as for recorded features
        (True, [], []),
        (False, ["sex", "age"], []),
        ([["race", "sex"]], ["sex", "age"], [("race", "sex")]),
        ([["sex", "age"], ["age", "race"]], ["sex", "age"], [("age", "race")]),  # the recorded one is not ours
    ],
)
def test_which_intersections_the_policy_asks_for(intersections, recorded, want):
    assert intersection_cuts(intersections, "race", recorded) == want
