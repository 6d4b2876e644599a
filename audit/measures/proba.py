"""Group rates and disparities of a probabilistic feature: weighted estimates, sampling intervals,
partial-identification bounds, and the most-likely-group estimate for comparison.

**Weighted estimate.** A group's rate is the ratio of expected counts, Σ π_ig·[row in numerator] /
Σ π_ig·[row in denominator] (audit.tables.proba). It equals the group's true rate when the proxy is
calibrated and group membership is independent of the outcome given the proxy's inputs; assigning
each person their most likely group instead biases disparities towards zero (Chen, Kallus, Mao,
Svacha & Udell 2019), so that estimate is computed only to be shown beside this one, labelled.

**Sampling interval.** The estimator is a ratio of weighted sums over i.i.d. rows. Its linearised
variance is Σ_i π_i² (a_i − r)² / (Σ_i π_i)² (a_i: the row is in the numerator), computable exactly
from the per-cell sums of π² the engines return, since a_i is constant on a cell. The interval is
Wilson's at the *effective* sample size n_eff = r(1 − r) / variance (Korn & Graubard 1998's
design-effect-adjusted score interval); at r ∈ {0, 1} n_eff is Kish's (Σπ)² / Σπ². Coverage is
checked by simulation (tests/measures/test_proba.py). This is *sampling* uncertainty only: the
proxy's own error is a separate uncertainty, which the bounds describe.

**Partial-identification bounds** (Kallus, Mao & Zhou 2020). Without assuming independence of
group and outcome given the proxy, all that is known is, per *proxy cell* (rows with the same most
likely group and the same decile of the largest probability), how many rows fall in each outcome
cell and how much of each group's expected mass the cell holds, Σ π_ig. A group's rate can be any
value obtained by placing each cell's mass of the group on the cell's rows in any way. The extremes
of that linear-fractional programme are attained by one greedy fill for every ratio (Dinkelbach):
the upper bound fills numerator cells first, then cells outside the denominator, then the rest of
the denominator; the lower bound the reverse. Coarser cells give wider, still valid, bounds; cells
finer than the data can populate would make them falsely tight, hence deciles. Disparity bounds
combine the groups' bounds (outer bounds: valid, not always sharp, since two groups cannot both
take the same rows). These are bounds on the population quantity given a calibrated proxy; they do
not include sampling error.

**Intersections with recorded features** (``race × sex``: groups such as ``black × F``). A recorded
feature is known for every person, so an intersection group is the probabilistic group within one
recorded group (a *stratum*): its expected counts are Σ π over the stratum's rows, its interval is
Wilson's at the effective size of those rows, and its bounds place its mass on the proxy cells of
the stratum only (the women's cells for ``black × F``) — the men cannot be black women. Every figure
is a sum of the one table (audit.tables.proba), computed per scope by :func:`scope_of`; the feature
alone is the scope with one stratum holding everyone, pooled cells included, exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audit.measures.intervals import z_value
from audit.measures.metrics import REGISTRY, canonical_name
from audit.tables.groups import UNKNOWN
from audit.tables.proba import ProbaTable

#: Cell order of a flattened [y, ŷ] table, as in audit.measures.metrics.
_CELL = {"tn": 0, "fp": 1, "fn": 2, "tp": 3}


def supported(metric: str) -> bool:
    """Rates that are one ratio of cell sums (no F1, balanced accuracy, likelihood ratios, counts)."""
    name = canonical_name(metric)
    return name in REGISTRY and REGISTRY[name].numerator_weight == 1


def _masks(metric: str) -> tuple[np.ndarray, np.ndarray]:
    spec = REGISTRY[canonical_name(metric)]
    num = np.zeros(4, bool)
    den = np.zeros(4, bool)
    num[[_CELL[c] for c in spec.numerator]] = True
    den[[_CELL[c] for c in spec.denominator]] = True
    return num, den


# --- scopes: the feature alone, or within the groups of recorded features ---------------------------


@dataclass(frozen=True)
class ProbaGroup:
    """One group of a scope: a level of the probabilistic feature, alone (``black``) or within one
    group of recorded features (``black × F``), with the sums of the table its estimates need."""

    features: dict[str, str]  # the scope's features → this group's values, in the scope's order
    expected: np.ndarray  # (2, 2) Σ π over the stratum's rows per (y, ŷ)
    squares: np.ndarray  # (2, 2) Σ π²
    likely: np.ndarray  # (2, 2) rows whose most likely group is the level
    cell_rows: np.ndarray  # (C, 4) rows per proxy cell of the stratum (those counted through the proxy)
    cell_mass: np.ndarray  # (C,) the level's expected count per proxy cell of the stratum
    known: np.ndarray | None = None  # (2, 2) self-reported people of the level in the stratum

    @property
    def label(self) -> str:
        """``black``, or ``black × F`` (as a recorded intersection group is labelled)."""
        return " × ".join(self.features.values())

    @property
    def has_unknown(self) -> bool:
        """A recorded value is missing (the probabilistic level never is: its unknowns form no group)."""
        return UNKNOWN in self.features.values()


@dataclass(frozen=True)
class ProbaScope:
    """The groups of one cut: the probabilistic feature alone, or its intersection with recorded features."""

    feature: str  # the probabilistic feature
    features: tuple[str, ...]  # the scope's features, in order (the probabilistic one among them)
    groups: tuple[ProbaGroup, ...]
    population: np.ndarray  # (2, 2) expected counts of everyone with known values (``against: overall``)

    @property
    def name(self) -> str:
        """``race``, or ``race × sex``: as a recorded scope is named (audit.measures.groups.scope_name)."""
        return " × ".join(self.features)


def intersection_cuts(
    intersections: bool | Sequence[Sequence[str]], feature: str, recorded: Sequence[str]
) -> list[tuple[str, ...]]:
    """The intersections of the probabilistic ``feature`` the policy's ``groups.intersections`` asks for:
    ``true`` — with every recorded feature together, as for recorded features (``race × sex × age``), when
    there is one; a list — the combinations that name ``feature``, in their own order."""
    if isinstance(intersections, bool):
        return [(feature, *recorded)] if intersections and recorded else []
    return [tuple(combo) for combo in intersections if feature in combo]


def scope_of(table: ProbaTable, features: Sequence[str] = (), *, known: np.ndarray | None = None) -> ProbaScope:
    """The scope ``features`` of ``table`` (default: the feature alone): per level and stratum of the
    recorded features among ``features``, the sums of the table over the stratum's other-features groups
    (the feature alone: one stratum of every group, so its figures are those of ``table.marginal()``).

    ``known[o, g, y, ŷ]``: people whose group is recorded (a self-reported value, audit.tables.labelled),
    summed likewise: with it ``table`` counts them in their group and its proxy cells hold only the others.
    """
    features = tuple(features) or (table.feature,)
    recorded = [f for f in features if f != table.feature]
    strata = table.strata(recorded)
    groups: list[ProbaGroup] = []
    population = np.zeros((2, 2))
    for key, members in strata:
        stratum = _stratum(table, members, known, features=features, values=dict(zip(recorded, key, strict=True)))
        groups += stratum
        if UNKNOWN not in key:
            population = population + sum(g.expected for g in stratum)
    rank = _ranks(table, recorded, [key for key, _ in strata])
    ordered = sorted(groups, key=lambda grp: tuple(rank[f][grp.features[f]] for f in features))
    return ProbaScope(table.feature, features, tuple(ordered), population)


def _stratum(
    table: ProbaTable,
    members: np.ndarray,
    known: np.ndarray | None,
    *,
    features: tuple[str, ...],
    values: dict[str, str],
) -> list[ProbaGroup]:
    """The groups of one stratum (the other-features groups ``members``, whose recorded ``values`` they
    share), one per level: sums of the table, each group named by the scope's ``features`` in order."""
    expected = table.expected[members].sum(axis=0)
    squares = table.squares[members].sum(axis=0)
    likely = table.likely[members].sum(axis=0)
    rows, mass = table.cells(members)
    seen = None if known is None else np.asarray(known)[members].sum(axis=0)
    return [
        ProbaGroup(
            features={f: name if f == table.feature else values[f] for f in features},
            expected=expected[g],
            squares=squares[g],
            likely=likely[g],
            cell_rows=rows,
            cell_mass=mass[..., g].sum(axis=1),
            known=None if seen is None else seen[g],
        )
        for g, name in enumerate(table.levels)
    ]


def _ranks(table: ProbaTable, recorded: Sequence[str], keys: Sequence[tuple[str, ...]]) -> dict[str, dict[str, int]]:
    """Sort positions of every value: the probabilistic feature's levels in their columns' order, the
    recorded values in level order (``unknown`` last), so groups follow the scope's features."""
    rank = {table.feature: {name: g for g, name in enumerate(table.levels)}}
    for i, f in enumerate(recorded):
        values = sorted({key[i] for key in keys}, key=lambda v: (v == UNKNOWN, v))
        rank[f] = {v: j for j, v in enumerate(values)}
    return rank


@dataclass(frozen=True)
class WeightedRate:
    value: float | None
    expected_n: float  # Σ π over the denominator's rows
    effective_n: float | None
    ci: tuple[float, float] | None


def weighted_rate(metric: str, expected: np.ndarray, squares: np.ndarray, *, level: float) -> WeightedRate:
    """A group's rate from its expected 2×2 counts and sums of π², with its sampling interval."""
    num, den = _masks(metric)
    e = np.asarray(expected, float).reshape(4)
    q = np.asarray(squares, float).reshape(4)
    total = float(e[den].sum())
    if total <= 0:
        return WeightedRate(None, total, None, None)
    r = float(e[num & den].sum()) / total
    r = min(max(r, 0.0), 1.0)
    variance = float((q[den] * (num[den].astype(float) - r) ** 2).sum()) / (total * total)
    if 0 < r < 1 and variance > 0:
        n_eff = r * (1 - r) / variance
    else:
        square_sum = float(q[den].sum())
        n_eff = total * total / square_sum if square_sum > 0 else 0.0
    if n_eff <= 0:
        return WeightedRate(r, total, None, None)
    return WeightedRate(r, total, n_eff, _wilson(r, n_eff, level=level))


def _wilson(p: float, n: float, *, level: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``p`` at a (real-valued) effective sample size ``n``."""
    z = z_value(level)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_bounds(
    metric: str, rows: np.ndarray, mass: np.ndarray, known: np.ndarray | None = None
) -> tuple[float, float] | None:
    """Bounds on one group's rate over every placement of its mass consistent with the proxy cells.

    ``rows[c, 4]``: rows per proxy cell and outcome cell (the rows whose group is not recorded);
    ``mass[c]``: the group's expected count in each proxy cell; ``known[4]``: the group's people whose
    group is recorded (a self-reported value), per outcome cell — placed exactly, they narrow the
    bounds. None when no placement has people in the denominator.

    The greedy fill stays optimal with the known people added: for the ratio (K_n + N(x)) / (K_d + D(x))
    Dinkelbach's parametric objective is K_n − λK_d + (1 − λ)·x_num − λ·x_den-only + 0·x_outside with
    λ ∈ [0, 1], whose best order of filling does not depend on λ or on the constants.
    """
    num, den = _masks(metric)
    rows = np.asarray(rows, float).reshape(-1, 4)
    mass = np.minimum(np.asarray(mass, float).reshape(-1), rows.sum(axis=1))
    fixed = np.zeros(4) if known is None else np.asarray(known, float).reshape(4)
    first, middle, last = num & den, ~den, den & ~num
    high = _fill(rows, mass, (first, middle, last))
    low = _fill(rows, mass, (last, middle, first))
    out = []
    for placed in (low, high):
        d = float(placed[:, den].sum()) + float(fixed[den].sum())
        if d <= 0:
            return None
        out.append((float(placed[:, num & den].sum()) + float(fixed[num & den].sum())) / d)
    return out[0], out[1]


def _fill(rows: np.ndarray, mass: np.ndarray, order: Sequence[np.ndarray]) -> np.ndarray:
    """Place each proxy cell's mass on its outcome cells, the classes of ``order`` one after another."""
    placed = np.zeros_like(rows)
    left = mass.copy()
    for cls in order:
        for j in np.flatnonzero(cls):
            take = np.minimum(left, rows[:, j])
            placed[:, j] = take
            left = left - take
    return placed


@dataclass(frozen=True)
class GroupEstimate:
    level: str  # the group's label: ``black``, or ``black × F`` in an intersection
    weighted: WeightedRate
    bounds: tuple[float, float] | None
    likely: float | None  # the most-likely-group estimate (biased; for comparison)
    likely_n: int
    features: dict[str, str] = field(default_factory=dict)  # the scope's features → the group's values

    @property
    def has_unknown(self) -> bool:
        return UNKNOWN in self.features.values()


def group_estimates(scope: ProbaScope, metric: str, *, level: float) -> tuple[GroupEstimate, ...]:
    """Every group of ``scope`` (levels of the probabilistic feature, not ``unknown``, within each
    stratum): weighted rate, bounds, most-likely rate. The bounds place the group's self-reported
    people exactly when ``scope`` has them (:func:`scope_of`'s ``known``): they are then narrowed."""
    num, den = _masks(metric)
    out = []
    for grp in scope.groups:
        counts = np.asarray(grp.likely).reshape(4)
        d = int(counts[den].sum())
        out.append(
            GroupEstimate(
                level=grp.label,
                weighted=weighted_rate(metric, grp.expected, grp.squares, level=level),
                bounds=rate_bounds(metric, grp.cell_rows, grp.cell_mass, grp.known),
                likely=int(counts[num & den].sum()) / d if d else None,
                likely_n=d,
                features=grp.features,
            )
        )
    return tuple(out)


def population_rate(scope: ProbaScope, metric: str) -> float | None:
    """The rate of everyone whose values are known (``against: overall``): no proxy involved for the
    feature alone; in an intersection, everyone with known probabilities and recorded values."""
    num, den = _masks(metric)
    known = np.asarray(scope.population, float).reshape(4)
    d = float(known[den].sum())
    return float(known[num & den].sum()) / d if d > 0 else None


@dataclass(frozen=True)
class ProxyDisparity:
    """One group against the comparator: weighted estimate, its sampling interval, the bounds, the
    most-likely-group value. ``small``: the group's expected size is under ``min_count`` (compared, but
    judged like a small recorded group, audit.judge.proxy); ``expected_n``: its expected denominator."""

    level: str  # the group's label (``black``, ``black × F``)
    comparator: str
    value: float | None
    ci: tuple[float, float] | None
    bounds: tuple[float | None, float | None] | None
    likely: float | None
    small: bool = False
    expected_n: float = 0.0
    features: dict[str, str] = field(default_factory=dict)  # the scope's features → the group's values

    @property
    def id(self) -> str:
        """``race=black``, ``race=black&sex=F``: as recorded groups are identified."""
        return "&".join(f"{k}={v}" for k, v in self.features.items())


def _contrast(kind: str, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if kind == "ratio":
        return a / b if b > 0 else None
    d = a - b
    return abs(d) if kind == "absolute_difference" else d


def _interval(
    kind: str, a: WeightedRate, b: WeightedRate | None, b_value: float, level: float
) -> tuple[float, float] | None:
    """Sampling interval of a ratio (log scale, effective counts) or difference (Newcombe's MOVER from
    the Wilson intervals). The two estimates share people counted partly in both groups; that
    covariance is non-negative, so treating them as independent makes the interval conservative."""
    if a.value is None or a.ci is None or a.effective_n is None:
        return None
    b_ci = (b_value, b_value) if b is None else b.ci
    if b_ci is None or (b is not None and b.effective_n is None):
        return None
    if kind == "ratio":
        if a.value <= 0 or b_value <= 0:
            return None
        var = (1 - a.value) / (a.effective_n * a.value)
        if b is not None and b.effective_n is not None:
            var += (1 - b_value) / (b.effective_n * b_value)
        ratio, half = a.value / b_value, z_value(level) * math.sqrt(max(var, 0.0))
        return ratio * math.exp(-half), ratio * math.exp(half)
    d = a.value - b_value
    low = d - math.sqrt((a.value - a.ci[0]) ** 2 + (b_ci[1] - b_value) ** 2)
    high = d + math.sqrt((a.ci[1] - a.value) ** 2 + (b_value - b_ci[0]) ** 2)
    if kind == "absolute_difference":
        return (0.0 if low <= 0 <= high else min(abs(low), abs(high))), max(abs(low), abs(high))
    return low, high


def _range(kind: str, a: tuple[float, float], b: tuple[float, float]) -> tuple[float | None, float | None]:
    """Outer bounds of a contrast of a ∈ [a₀, a₁] with b ∈ [b₀, b₁] (None: unbounded above)."""
    if kind == "ratio":
        low = a[0] / b[1] if b[1] > 0 else None
        high = a[1] / b[0] if b[0] > 0 else None
        return low, high
    low, high = a[0] - b[1], a[1] - b[0]
    if kind == "absolute_difference":
        return (0.0 if low <= 0 <= high else min(abs(low), abs(high))), max(abs(low), abs(high))
    return low, high


def disparities(
    scope: ProbaScope,
    metric: str,
    *,
    compare: str,
    against: str,
    reference: str | None,
    min_count: int,
    level: float,
    include_unknown: bool = False,
) -> tuple[ProxyDisparity, ...]:
    """Each group of ``scope`` with an estimate against the comparator ``against`` asks for. The comparator
    is chosen among the groups whose expected denominator is at least ``min_count``; smaller groups are
    compared too, marked ``small``. Nothing when no group reaches ``min_count`` (or the reference does not).
    Groups with a missing recorded value take part only with ``include_unknown`` (as recorded groups)."""
    estimates = [
        e
        for e in group_estimates(scope, metric, level=level)
        if e.weighted.value is not None and (include_unknown or not e.has_unknown)
    ]
    judged = [e for e in estimates if e.weighted.expected_n >= min_count]
    if not judged:
        return ()
    kind = compare
    out = []

    def disparity(
        e: GroupEstimate, comparator: str, value: float | None, ci: Any, bounds: Any, likely: float | None
    ) -> ProxyDisparity:
        small = e.weighted.expected_n < min_count
        return ProxyDisparity(e.level, comparator, value, ci, bounds, likely, small, e.weighted.expected_n, e.features)

    if against == "overall":
        rate = population_rate(scope, metric)
        if rate is None:
            return ()
        for e in estimates:
            value = _contrast(kind, e.weighted.value, rate)
            bounds = None if e.bounds is None else _range(kind, e.bounds, (rate, rate))
            interval = _interval(kind, e.weighted, None, rate, level)
            out.append(disparity(e, "overall", value, interval, bounds, _contrast(kind, e.likely, rate)))
        return tuple(out)
    if against == "reference":
        chosen = [e for e in judged if e.level == reference]
        if not chosen:
            return ()
        comparator = chosen[0]
        comparators = [comparator]
    else:
        pick = max if against == "max" else min
        comparator = pick(judged, key=lambda e: e.weighted.value or 0.0)
        comparators = judged
    likely_values = [e.likely for e in comparators if e.likely is not None]
    likely_comparator = (
        comparator.likely
        if against == "reference"
        else (max(likely_values) if against == "max" else min(likely_values))
        if likely_values
        else None
    )
    bounded = [e.bounds for e in comparators if e.bounds is not None]
    for e in estimates:
        if e is comparator:
            continue
        assert comparator.weighted.value is not None
        bounds = None
        if e.bounds is not None and len(bounded) == len(comparators):
            if against == "reference":
                assert comparator.bounds is not None
                bounds = _range(kind, e.bounds, comparator.bounds)
            else:  # the comparator is whichever group is highest (lowest) under each joint distribution
                low_end = max(b[0] for b in bounded) if against == "max" else min(b[0] for b in bounded)
                high_end = max(b[1] for b in bounded) if against == "max" else min(b[1] for b in bounded)
                lo, hi = _range(kind, e.bounds, (low_end, high_end))
                if not any(c is e for c in comparators):  # a small level may exceed every compared one
                    pass
                elif against == "max":  # no group exceeds the highest: a ratio ≤ 1, a difference ≤ 0
                    hi = 1.0 if kind == "ratio" and (hi is None or hi > 1) else hi
                    hi = min(hi, 0.0) if kind == "difference" and hi is not None else hi
                else:
                    lo = max(lo, 1.0) if kind == "ratio" and lo is not None else lo
                    lo = max(lo, 0.0) if kind == "difference" and lo is not None else lo
                bounds = (lo, hi)
        out.append(
            disparity(
                e,
                comparator.level,
                _contrast(kind, e.weighted.value, comparator.weighted.value),
                _interval(kind, e.weighted, comparator.weighted, comparator.weighted.value, level),
                bounds,
                _contrast(kind, e.likely, likely_comparator),
            )
        )
    return tuple(out)
