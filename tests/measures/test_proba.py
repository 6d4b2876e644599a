"""Weighted rates of a probabilistic feature (audit.measures.proba): the greedy bounds against a linear
programme, the sampling interval's coverage by simulation, and the bounds containing the truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from audit.measures.proba import _masks, rate_bounds, weighted_rate

METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")


def lp_bounds(metric, rows, mass, known=None):
    """Charnes–Cooper: max/min (K_n + N(x))/(K_d + D(x)) over 0 ≤ x ≤ rows, Σ_cells x = mass per proxy
    cell (K: the recorded people, fixed), as an LP in (x·t, t) with K_d·t + D(x·t) = 1."""
    num, den = _masks(metric)
    known = np.zeros(4) if known is None else np.asarray(known, float)
    c_cells, _ = rows.shape
    nvar = c_cells * 4 + 1
    objective = np.zeros(nvar)
    for c in range(c_cells):
        objective[c * 4 : c * 4 + 4] = (num & den).astype(float)
    objective[-1] = known[num & den].sum()
    a_eq, b_eq = [], []
    row = np.zeros(nvar)
    for c in range(c_cells):
        row[c * 4 : c * 4 + 4] = den.astype(float)
    row[-1] = known[den].sum()
    a_eq.append(row)
    b_eq.append(1.0)
    for c in range(c_cells):  # Σ y = mass·t
        r = np.zeros(nvar)
        r[c * 4 : c * 4 + 4] = 1.0
        r[-1] = -mass[c]
        a_eq.append(r)
        b_eq.append(0.0)
    a_ub, b_ub = [], []
    for c in range(c_cells):  # y ≤ rows·t
        for j in range(4):
            r = np.zeros(nvar)
            r[c * 4 + j] = 1.0
            r[-1] = -rows[c, j]
            a_ub.append(r)
            b_ub.append(0.0)
    out = []
    for sign in (1, -1):
        res = linprog(sign * objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * nvar)
        assert res.status == 0
        out.append(sign * res.fun)
    return out[0], out[1]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("seed", range(15))
def test_greedy_bounds_equal_the_linear_programme(metric, seed):
    rng = np.random.default_rng(seed)
    num, den = _masks(metric)
    while True:  # redraw (deterministically) until some placement must put people in the denominator
        cells = int(rng.integers(1, 5))
        rows = rng.integers(0, 6, size=(cells, 4)).astype(float)
        rows[rows.sum(axis=1) == 0, 0] = 1
        mass = rows.sum(axis=1) * rng.uniform(0.05, 0.95, cells)
        if rows[:, den].sum() > 0 and not (rows[:, ~den].sum(axis=1) >= mass).all():
            break
    got = rate_bounds(metric, rows, mass)
    assert got is not None
    want = lp_bounds(metric, rows, mass)
    assert got == pytest.approx(want, abs=1e-7)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("seed", range(10))
def test_narrowed_bounds_equal_the_linear_programme_and_lie_inside_the_unnarrowed(metric, seed):
    """People whose group is recorded are placed exactly: the greedy fill plus their counts equals the LP,
    and the bounds are inside those obtained when the same people are left to the proxy cells."""
    rng = np.random.default_rng(500 + seed)
    num, den = _masks(metric)
    while True:
        cells = int(rng.integers(1, 5))
        rows = rng.integers(0, 6, size=(cells, 4)).astype(float)
        rows[rows.sum(axis=1) == 0, 0] = 1
        mass = rows.sum(axis=1) * rng.uniform(0.05, 0.95, cells)
        known = rng.integers(0, 4, size=4).astype(float)
        if known[den].sum() > 0:
            break
    got = rate_bounds(metric, rows, mass, known)
    assert got is not None
    assert got == pytest.approx(lp_bounds(metric, rows, mass, known), abs=1e-7)
    # unnarrowed: the recorded people are one more proxy cell, all of whose rows might be anyone's
    spread = rate_bounds(metric, np.vstack([rows, known * 2]), np.append(mass, known.sum()))
    assert spread is not None and spread[0] <= got[0] + 1e-12 and got[1] <= spread[1] + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_narrowed_bounds_contain_every_integer_assignment_brute_force(seed):
    """Tiny cases with recorded people: every placement of the others gives a rate inside, one attains an end."""
    import itertools

    rng = np.random.default_rng(300 + seed)
    rows = rng.integers(0, 3, size=(2, 4))
    rows[:, 0] += 1
    masses = [int(rng.integers(1, r.sum() + 1)) for r in rows]
    known = np.array([0, 1, 1, 2]) * int(rng.integers(0, 3))
    low, high = rate_bounds("true_positive_rate", rows, np.array(masses, float), known)
    people = [[j for j in range(4) for _ in range(int(r[j]))] for r in rows]
    rates = []
    for picks in itertools.product(
        *[itertools.combinations(range(len(p)), m) for p, m in zip(people, masses, strict=True)]
    ):
        cells = known.astype(float).copy()
        for c, chosen in enumerate(picks):
            for i in chosen:
                cells[people[c][i]] += 1
        if cells[2] + cells[3]:
            rates.append(cells[3] / (cells[2] + cells[3]))
    assert min(rates) >= low - 1e-12 and max(rates) <= high + 1e-12
    assert min(rates) == pytest.approx(low) and max(rates) == pytest.approx(high)


@pytest.mark.parametrize("seed", range(8))
def test_bounds_contain_every_integer_assignment_brute_force(seed):
    """Tiny cases: every way of placing whole people (the cell's mass an integer) gives a rate inside."""
    import itertools

    rng = np.random.default_rng(100 + seed)
    rows = rng.integers(0, 3, size=(2, 4))
    rows[:, 0] += 1
    masses = [int(rng.integers(1, r.sum() + 1)) for r in rows]
    low, high = rate_bounds("true_positive_rate", rows, np.array(masses, float))
    rates = []
    people = [[j for j in range(4) for _ in range(int(r[j]))] for r in rows]
    for picks in itertools.product(
        *[itertools.combinations(range(len(p)), m) for p, m in zip(people, masses, strict=True)]
    ):
        cells = np.zeros(4)
        for c, chosen in enumerate(picks):
            for i in chosen:
                cells[people[c][i]] += 1
        if cells[2] + cells[3]:
            rates.append(cells[3] / (cells[2] + cells[3]))
    assert min(rates) >= low - 1e-12 and max(rates) <= high + 1e-12
    assert min(rates) == pytest.approx(low) or max(rates) == pytest.approx(high)


def test_the_sampling_interval_covers_the_weighted_rate_at_its_level():
    """Rows i.i.d. from a population where the outcome depends on π: the design-effect Wilson interval
    covers the population's weighted rate E[π a] / E[π] about 95% of the time."""
    rng = np.random.default_rng(7)
    big = rng.dirichlet([0.6, 0.3, 0.3], 2_000_000)
    prob = 0.2 + 0.6 * big[:, 0]  # outcome probability rises with π_0
    truth = [float((big[:, g] * prob).sum() / big[:, g].sum()) for g in range(3)]
    hits = np.zeros(3)
    trials = 400
    for _ in range(trials):
        idx = rng.integers(0, len(big), 600)
        p = big[idx]
        a = rng.random(600) < prob[idx]
        for g in range(3):
            cells = np.array([[(p[~a, g]).sum(), 0.0], [0.0, (p[a, g]).sum()]])  # y = ŷ = a
            squares = np.array([[(p[~a, g] ** 2).sum(), 0.0], [0.0, (p[a, g] ** 2).sum()]])
            rate = weighted_rate("selection_rate", cells, squares, level=0.95)
            assert rate.ci is not None
            hits[g] += rate.ci[0] <= truth[g] <= rate.ci[1]
    coverage = hits / trials
    assert (coverage > 0.92).all() and (coverage < 0.98).all(), coverage
