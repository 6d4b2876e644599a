"""Group metrics for every scope: each sensitive feature alone, their intersection, overall.

A *scope* is one way of cutting the population (``sex``; ``race``; ``sex × race``). Its groups
are sums of the finest count table, so every scope comes from the same single counting pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audit.measures.metrics import METRIC_NAMES, compute, scope_shares
from audit.measures.values import MetricValue
from audit.tables.groups import UNKNOWN, GroupTable
from audit.tables.scores import RegressionTable


@dataclass(frozen=True)
class Group:
    scope: str
    features: dict[str, str]
    counts: np.ndarray  # 2×2 [y, ŷ] (all zero in a regression audit: see ``size``)
    metrics: dict[str, MetricValue]
    size: int | None = None  # the group's size when it has no confusion counts (regression)

    @property
    def id(self) -> str:
        if not self.features:
            return "overall"
        return "&".join(f"{k}={v}" for k, v in self.features.items())

    @property
    def label(self) -> str:
        """Human name: ``Female`` for a marginal group, ``Female × Black`` for an intersection."""
        return " × ".join(self.features.values()) if self.features else "everyone"

    @property
    def n(self) -> int:
        return self.size if self.size is not None else int(self.counts.sum())

    @property
    def has_unknown(self) -> bool:
        return UNKNOWN in self.features.values()


@dataclass(frozen=True)
class Scope:
    name: str  # "sex", "race", "sex × race", "overall"
    features: tuple[str, ...]
    groups: tuple[Group, ...]
    #: the scope's whole population with known values (every row whose value of each of the scope's
    #: features is known): the comparator of a rule ``against: overall`` (None: not available)
    population: Group | None = None


#: ``intersections``: True (all sensitive features together), False (none) or the combinations to cut
Intersections = bool | Sequence[Sequence[str]]


def intersection_cuts(intersections: Intersections, features: Sequence[str]) -> list[tuple[str, ...]]:
    """The intersections to build, in order: all ``features`` together, none, or those listed."""
    if isinstance(intersections, bool):
        return [tuple(features)] if intersections and len(features) > 1 else []
    return [tuple(combo) for combo in intersections]


def build_regression_scopes(table: RegressionTable, *, intersections: Intersections, level: float) -> tuple[Scope, ...]:
    """Scopes for a regression audit, from a ``RegressionTable`` and its marginals."""
    from audit.measures.scores import REGRESSION_METRIC_NAMES, compute_regression

    cuts: list[tuple[str, ...]] = [()] + [(f,) for f in table.features]
    cuts += intersection_cuts(intersections, table.features)
    scopes = []
    for features in cuts:
        sub = table.marginal(features) if features else table.overall()
        groups = tuple(
            Group(
                scope=scope_name(features),
                features=dict(zip(features, key, strict=True)),
                counts=np.zeros((2, 2), dtype=np.int64),
                metrics={m: compute_regression(m, sub, g, level=level) for m in REGRESSION_METRIC_NAMES},
                size=int(sub.n[g]),
            )
            for g, key in enumerate(sub.keys)
        )
        scopes.append(Scope(scope_name(features), tuple(features), groups))
    return tuple(scopes)


def scope_name(features: Sequence[str]) -> str:
    return " × ".join(features) if features else "overall"


def build_scopes(table: GroupTable, *, intersections: Intersections, level: float, seed: int = 0) -> tuple[Scope, ...]:
    """Overall, one scope per sensitive feature, and the intersections asked for (by default the full
    one; or those listed, each a scope)."""
    cuts: list[tuple[str, ...]] = [()]
    cuts += [(f,) for f in table.features]
    cuts += intersection_cuts(intersections, table.features)
    scopes = []
    for features in cuts:
        name = scope_name(features)
        if features:
            sub = table.marginal(features)
            items = list(zip(sub.keys, sub.counts, strict=True))
        else:
            items = [((), table.overall())]
        shares = scope_shares([cells for _, cells in items])
        groups = tuple(
            Group(
                scope=name,
                features=dict(zip(features, key, strict=True)),
                counts=cells,
                metrics={m: compute(m, cells, has_label=table.has_label, level=level, seed=seed) for m in METRIC_NAMES}
                | share,
            )
            for (key, cells), share in zip(items, shares, strict=True)
        )
        population = population_of(name, groups, has_label=table.has_label, level=level, seed=seed)
        scopes.append(Scope(name, tuple(features), groups, population))
    return tuple(scopes)


def population_of(name: str, groups: Sequence[Group], *, has_label: bool, level: float, seed: int = 0) -> Group | None:
    """The known rows of a scope (classification) as one group (no features: id ``overall``), the
    comparator of ``against: overall``."""
    known = [g.counts for g in groups if g.features and not g.has_unknown]
    if not known:
        return None
    cells = np.sum(known, axis=0)
    return Group(
        scope=name,
        features={},
        counts=cells,
        metrics={m: compute(m, cells, has_label=has_label, level=level, seed=seed) for m in METRIC_NAMES},
    )
