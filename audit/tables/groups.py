"""The sufficient statistics of a classification audit: one count table per finest group.

Every classification metric is a function of a group's 2×2 confusion counts, and every
disparity is a function of group metrics, so the only per-row work is one counting pass. The
finest groups are the intersection of all sensitive features, with missing values as the
explicit level ``unknown``; marginal groups and ``overall`` are sums of this table (no second
pass over the rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

UNKNOWN = "unknown"
#: Cells of the last two axes: counts[g, y, ŷ] — y and ŷ are 0 (negative) or 1 (positive).
CELLS = ("tn", "fp", "fn", "tp")
_CHUNK = 1 << 18  # rows per bincount chunk: stays in cache (see DESIGN.md measurements)


@dataclass(frozen=True)
class GroupTable:
    """Counts per finest group: ``counts[g, y, yhat]`` with ``keys[g]`` the group's levels."""

    features: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    counts: np.ndarray  # int64, shape (G, 2, 2)
    has_label: bool

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def marginal(self, features: Sequence[str]) -> GroupTable:
        """Sum the table over every feature not in ``features`` (order kept as given)."""
        idx = [self.features.index(f) for f in features]
        sums: dict[tuple[str, ...], np.ndarray] = {}
        for key, cell in zip(self.keys, self.counts, strict=True):
            sub = tuple(key[i] for i in idx)
            sums[sub] = sums[sub] + cell if sub in sums else cell.copy()
        ordered = sorted(sums, key=level_sort_key)
        counts = np.stack([sums[k] for k in ordered]) if ordered else np.zeros((0, 2, 2), np.int64)
        return GroupTable(tuple(features), tuple(ordered), counts, self.has_label)

    def overall(self) -> np.ndarray:
        return self.counts.sum(axis=0)


#: The row-count column of a compact frame (see audit.tables.engines.interface).
WEIGHT = "__fairgate_rows__"


def frame_weights(frame: pd.DataFrame) -> np.ndarray | None:
    """Rows each row of ``frame`` stands for: None for a plain frame (one each)."""
    if WEIGHT not in frame.columns:
        return None
    return frame[WEIGHT].to_numpy(dtype=np.int64)


def level_sort_key(key: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Sort levels by name, with ``unknown`` last, so output order never depends on row order."""
    return tuple((1 if level == UNKNOWN else 0, level) for level in key)


def _codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer level codes per row and the level names (missing and blank → ``unknown``).

    Categorical (dictionary-encoded) columns are cleaned per *category*, never per row: at 10M
    rows that is the difference between milliseconds and seconds (benchmarks/README.md).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _categorical_codes(column)
    text = column.astype("string").str.strip()
    text = text.mask(text == "", pd.NA).fillna(UNKNOWN)
    codes, uniques = pd.factorize(text, sort=False)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _categorical_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    names = pd.Series(column.cat.categories.astype(str)).str.strip()
    cleaned: list[str] = names.mask(names == "", UNKNOWN).tolist()
    levels = list(dict.fromkeys(cleaned))  # categories that clean to the same text become one level
    index = {name: i for i, name in enumerate(levels)}
    category_level = np.array([index[name] for name in cleaned], dtype=np.int64)
    codes = column.cat.codes.to_numpy()
    missing = (codes < 0).any()
    if not missing and len(levels) == len(cleaned):  # categories are the levels already: no gather needed
        return codes, levels  # the dictionary's own small integers (int8 for a few levels): no copy
    if missing:  # missing values
        if UNKNOWN not in index:
            index[UNKNOWN] = len(levels)
            levels.append(UNKNOWN)
        category_level = np.append(category_level, index[UNKNOWN])  # code -1 indexes this last slot
    return category_level[codes], levels


def finest_groups(frame: pd.DataFrame, sensitive: Sequence[str]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Per-row index into the *present* finest groups, and their keys in ``level_sort_key`` order.

    The full cross product of levels can be large (five features of ten levels are 10⁵ cells,
    times 2·bins histogram cells each), so rows are first mapped onto the groups that occur.
    """
    n = len(frame)
    per_feature = [_codes(frame[f]) for f in sensitive]
    sizes = [max(len(levels), 1) for _, levels in per_feature]
    if per_feature:
        full = np.ravel_multi_index([codes for codes, _ in per_feature], sizes)
    else:
        full = np.zeros(n, dtype=np.int64)
    present = np.flatnonzero(np.bincount(full, minlength=int(np.prod(sizes))))
    keys = [
        tuple(levels[i] for (_, levels), i in zip(per_feature, np.unravel_index(g, sizes), strict=True))
        for g in present
    ]
    order = sorted(range(len(keys)), key=lambda i: level_sort_key(keys[i]))
    remap = np.empty(int(np.prod(sizes)), dtype=np.int64)
    remap[present[order]] = np.arange(len(order), dtype=np.int64)
    return remap[full], [keys[i] for i in order]


_FULL_SPACE_MAX = 1 << 20  # cells: count over every level combination when the cross product is this small


def _count_full_space(
    frame: pd.DataFrame, sensitive: Sequence[str], y_true: np.ndarray | None, y_pred: np.ndarray
) -> GroupTable | None:
    """count_groups over the full cross product of levels, then keep the groups present.

    Two passes over the rows fewer than mapping rows onto the present groups first (the
    cross product of a few features with a few levels each is small); same table.
    """
    per_feature = [_codes(frame[f]) for f in sensitive]
    sizes = [max(len(levels), 1) for _, levels in per_feature]
    cells = int(np.prod(sizes)) * 4
    if cells > _FULL_SPACE_MAX:
        return None
    # cell = ((code₀·size₁ + code₁)·size₂ + …)·4 + 2·y + ŷ: row-major like np.ravel_multi_index. Built
    # chunk by chunk in 32-bit integers (cells ≤ 2²⁰), so every intermediate stays in cache.
    multipliers = [int(np.prod(sizes[i + 1 :])) * 4 for i in range(len(sizes))]
    codes = [c for c, _ in per_feature]
    y_hat = np.asarray(y_pred)
    y = None if y_true is None else np.asarray(y_true)
    flat = np.zeros(cells, dtype=np.int64)
    packed = np.empty(min(_CHUNK, len(y_hat)), dtype=np.int32)
    for start in range(0, len(y_hat), _CHUNK):
        stop = min(start + _CHUNK, len(y_hat))
        part = packed[: stop - start]
        np.copyto(part, y_hat[start:stop], casting="unsafe")
        if y is not None:
            part += y[start:stop]
            part += y[start:stop]
        for c, m in zip(codes, multipliers, strict=True):
            part += c[start:stop].astype(np.int32) * np.int32(m)
        flat += np.bincount(part, minlength=cells)
    full = flat.reshape(-1, 2, 2)
    present = np.flatnonzero(full.sum(axis=(1, 2)))
    keys = [
        tuple(levels[i] for (_, levels), i in zip(per_feature, np.unravel_index(g, sizes), strict=True))
        for g in present
    ]
    order = sorted(range(len(keys)), key=lambda i: level_sort_key(keys[i]))
    return GroupTable(
        features=tuple(sensitive),
        keys=tuple(keys[i] for i in order),
        counts=full[present[order]],
        has_label=y_true is not None,
    )


def count_groups(
    frame: pd.DataFrame,
    *,
    sensitive: Sequence[str],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
) -> GroupTable:
    """One pass: confusion counts per intersection of the ``sensitive`` columns.

    ``y_true`` may be None (audits without ground truth): the counts then sit in the y=0 row and
    only selection-based metrics are defined. A compact frame (one row per distinct combination,
    with a :data:`WEIGHT` column of row counts, as the DuckDB and Spark engines return) counts
    each of its rows that many times.
    """
    n = len(frame)
    weights = frame_weights(frame)
    if weights is None and sensitive:
        fast = _count_full_space(frame, sensitive, y_true, y_pred)
        if fast is not None:
            return fast
    index, keys = finest_groups(frame, sensitive)
    y = np.zeros(n, dtype=np.int64) if y_true is None else np.asarray(y_true, dtype=np.int64)
    packed = index * 4 + y * 2 + np.asarray(y_pred, dtype=np.int64)
    total = len(keys) * 4
    if weights is not None:  # a compact frame (DuckDB/Spark engines): each row stands for `weights` rows
        flat = np.zeros(total, dtype=np.int64)
        np.add.at(flat, packed, weights)
    else:
        flat = np.zeros(total, dtype=np.int64)
        for start in range(0, n, _CHUNK):
            flat += np.bincount(packed[start : start + _CHUNK], minlength=total)
    return GroupTable(
        features=tuple(sensitive),
        keys=tuple(keys),
        counts=flat.reshape(-1, 2, 2),
        has_label=y_true is not None,
    )
