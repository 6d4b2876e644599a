"""A probabilistic feature some of whose people also have a self-reported (recorded) value.

A person whose group is recorded counts in that group with weight 1, whatever the proxy says of
them; only the others are counted through their probabilities. From the frame an engine returned
(rows, or a compact frame with the keys of :mod:`audit.tables.proba` — the self-reported column is
one more GROUP BY key of the same one pass, so every engine gives the same counts) this module
builds three things, each with :func:`audit.tables.proba.count_proba` itself:

- ``proxy``: the table of every row through its probabilities (self-reported values ignored) — the
  proxy's own figures and the bounds *without* the labelled subset;
- ``table``: the table the audit judges: labelled rows in their recorded group with weight 1 (their
  probabilities replaced by the recorded group's indicator), the others with their probabilities;
  its proxy cells (``cell_rows``, ``cell_mass``) hold only the unlabelled rows;
- ``known[o, g, y, ŷ]``: labelled rows per other-features group ``o`` (the table's ``other_keys``),
  recorded group and outcome cell, placed exactly by the bounds (audit.measures.proba.rate_bounds),
  which are narrowed that way — per ``o``, so that an intersection's bounds (``black × F``) place
  only its own recorded group's labelled people.

Self-reported values are matched to the feature's groups by name, stripped and case-insensitively
(as ``fairgate proxy quality`` matches them); a value naming no group, and an empty one, leaves the
row to its probabilities (``unmatched`` counts the former).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from audit.errors import InputError
from audit.tables.groups import finest_groups, frame_weights
from audit.tables.proba import (
    BIN,
    BINS,
    SCALE,
    STATE,
    TOP,
    ProbaSpec,
    ProbaTable,
    count_proba,
    numbers_of,
    square_column,
    sum_column,
)


@dataclass(frozen=True)
class LabelledTable:
    column: str  # the self-reported column
    proxy: ProbaTable  # every row through its probabilities
    table: ProbaTable  # labelled rows in their recorded group; proxy cells of the unlabelled rows only
    known: np.ndarray  # (O, K, 2, 2) integer counts of labelled rows per other-features group and recorded group
    labelled: int  # rows whose self-reported value names a group
    unmatched: int  # rows whose self-reported value names no group


def recorded_codes(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Per row the index of the level ``values`` names (-1: none, or no value)."""
    names = {str(g).strip().casefold(): i for i, g in enumerate(levels)}
    text = values.astype("string").str.strip().str.casefold()
    return text.map(names).fillna(-1).to_numpy(dtype=np.int64)


def check_names_a_group(values: pd.Series, levels: Sequence[str], *, column: str, feature: str, source: str) -> None:
    """Self-reported values of which none names a group (``Black or African American`` for the group
    ``black``, or the wrong column) would leave every person to the proxy while the output spoke of a
    self-reported subset: a one-line error naming the column, the groups and a few of its values."""
    if (recorded_codes(values, levels) >= 0).any():
        return
    given = values.astype("string").str.strip().dropna()
    given = given[given != ""]
    if given.empty:
        return
    seen = list(dict.fromkeys(given.tolist()))
    shown = ", ".join(repr(v) for v in seen[:4]) + (", …" if len(seen) > 4 else "")
    raise InputError(
        f"{source}: none of the {len(given):,} values of column {column!r} names a group of {feature} "
        f"({', '.join(levels)}): {shown}",
        hint="self-reported values must be the group names (case ignored): recode them, or name the right column",
    )


def as_recorded(frame: pd.DataFrame, spec: ProbaSpec, codes: np.ndarray) -> pd.DataFrame:
    """``frame`` with every row whose ``codes`` ≥ 0 certain of its group: its probabilities (rows) or its
    derived keys and fixed-point sums (a compact frame) replaced by the recorded group's indicator."""
    out = frame.copy()
    hit = codes >= 0
    if not hit.any():
        return out
    if STATE in frame.columns:  # compact: the same keys row_keys gives an indicator row
        weights = frame_weights(frame)
        w = np.ones(len(frame), np.int64) if weights is None else weights
        fixed: dict[str, np.ndarray | int] = {STATE: 0, TOP: codes, BIN: BINS - 1}
        for name, value in fixed.items():
            out[name] = np.where(hit, value, frame[name].to_numpy(dtype=np.int64))
        for j in range(len(spec.columns)):
            indicator = np.where(codes == j, w * SCALE, 0)
            for name in (sum_column(j), square_column(j)):
                out[name] = np.where(hit, indicator, frame[name].to_numpy(dtype=np.int64)).astype(np.int64)
        return out
    for j, column in enumerate(spec.columns):
        values = np.array(numbers_of(out[column], column), dtype=np.float64)
        values[hit] = (codes[hit] == j).astype(np.float64)
        out[column] = values
    return out


def count_labelled(
    frame: pd.DataFrame,
    *,
    spec: ProbaSpec,
    column: str,
    sensitive: Sequence[str],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
) -> LabelledTable:
    """The three tables of a probabilistic feature whose self-reported values are in ``column``."""
    y_pred = np.asarray(y_pred)
    proxy = count_proba(frame, spec=spec, sensitive=sensitive, y_true=y_true, y_pred=y_pred)  # validates every row
    codes = recorded_codes(frame[column], spec.levels)
    recorded = count_proba(
        as_recorded(frame, spec, codes), spec=spec, sensitive=sensitive, y_true=y_true, y_pred=y_pred
    )
    rest = codes < 0
    k = len(spec.columns)
    other = len(recorded.other_keys)
    cell_rows, cell_mass = np.zeros((other, k, BINS, 2, 2), np.int64), np.zeros((other, k, BINS, 2, 2, k))
    if rest.any():
        others = count_proba(
            frame.loc[rest].reset_index(drop=True),
            spec=spec,
            sensitive=sensitive,
            y_true=None if y_true is None else np.asarray(y_true)[rest],
            y_pred=y_pred[rest],
        )
        # the unlabelled rows may lack some other-features groups: their cells go to the full table's ``o``
        at = {key: o for o, key in enumerate(recorded.other_keys)}
        place = np.asarray([at[key] for key in others.other_keys], np.int64)
        cell_rows[place], cell_mass[place] = others.cell_rows, others.cell_mass
    weights = frame_weights(frame)
    w = np.ones(len(frame), np.int64) if weights is None else weights
    y = np.zeros(len(frame), np.int64) if y_true is None else np.asarray(y_true, dtype=np.int64)
    hit = ~rest
    strata, _ = finest_groups(frame, sensitive)  # the ``o`` of every row, as count_proba numbers them
    index = ((strata[hit] * k + codes[hit]) * 2 + y[hit]) * 2 + y_pred[hit].astype(np.int64)
    known = np.bincount(index, weights=w[hit], minlength=other * k * 4).round().astype(np.int64)
    return LabelledTable(
        column=column,
        proxy=proxy,
        table=replace(recorded, cell_rows=cell_rows, cell_mass=cell_mass),
        known=known.reshape(other, k, 2, 2),
        labelled=int(w[hit].sum()),
        unmatched=int(w[(codes < 0) & _has_value(frame[column])].sum()),
    )


def _has_value(values: pd.Series) -> np.ndarray:
    return (values.astype("string").str.strip().fillna("") != "").to_numpy()
