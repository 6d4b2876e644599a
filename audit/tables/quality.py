"""Data-quality counts: the row-level work behind a policy's data requirements, in one place.

Everything a data requirement needs from the rows — missing values per column, exact duplicate
rows, a timestamp column's oldest and newest value — is counted here into a small frozen
``DataQuality``; everything after (shares, ages, statuses) is engine-free. Another engine (DuckDB)
produces the same summary with ``COUNT(*) FILTER (WHERE col IS NULL OR trim(col) = '')``,
``COUNT(*) - COUNT(DISTINCT *)`` and ``MIN``/``MAX``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from audit.tables.groups import WEIGHT, frame_weights


@dataclass(frozen=True)
class TimestampRange:
    column: str
    oldest: dt.date | None
    newest: dt.date | None
    missing: int  # rows with no value
    unparseable: int  # rows whose value is not a date


@dataclass(frozen=True)
class DataQuality:
    rows: int  # before any row is left out
    missing: dict[str, int] = field(default_factory=dict)  # column → rows with no value (empty text counts)
    duplicate_rows: int | None = None  # rows repeating an earlier row over every column of the file
    timestamp: TimestampRange | None = None


def missing_mask(column: pd.Series) -> pd.Series:
    """Missing as the group counter sees it (``audit.tables.groups``): NA, or text that is blank."""
    if column.dtype.kind in "biufcmM":
        return column.isna()
    text = column.astype("string").str.strip()
    return text.isna() | (text == "")


def summarize_quality(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    duplicates: bool = False,
    timestamp: str | None = None,
) -> DataQuality:
    """Count missing values of ``columns``, duplicate rows (over every column of ``frame``) and the
    range of ``timestamp``, in one place.

    A compact frame from an out-of-core engine (one row per distinct combination of values, with
    ``WEIGHT`` counting the rows it stands for) gives the same counts as the rows themselves.
    """
    weights = _weights(frame)
    missing = {c: int(weights[missing_mask(frame[c]).to_numpy()].sum()) for c in dict.fromkeys(columns)}
    dups = _duplicates(frame, weights) if duplicates else None
    stamp = _timestamp_range(frame[timestamp], timestamp, weights) if timestamp else None
    return DataQuality(int(weights.sum()), missing, dups, stamp)


def _weights(frame: pd.DataFrame) -> np.ndarray:
    found = frame_weights(frame)
    return np.ones(len(frame), dtype=np.int64) if found is None else found


def _duplicates(frame: pd.DataFrame, weights: np.ndarray) -> int:
    """Rows repeating an earlier row: per distinct row, every copy after the first."""
    if WEIGHT not in frame.columns:
        return int(frame.duplicated(keep="first").sum())
    values = [c for c in frame.columns if c != WEIGHT]
    per_row = frame.groupby(values, dropna=False, observed=True, sort=False)[WEIGHT].sum()
    return int((per_row - 1).clip(lower=0).sum())


def _timestamp_range(column: pd.Series, name: str, weights: np.ndarray) -> TimestampRange:
    absent = missing_mask(column)
    if column.dtype.kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        parsed = column
    else:
        parsed = pd.to_datetime(
            column.astype("string").str.strip().where(~absent), errors="coerce", utc=True, format="ISO8601"
        )
    bad = int(weights[(parsed.isna() & ~absent).to_numpy()].sum())
    gone = int(weights[absent.to_numpy()].sum())
    valid = parsed.dropna()
    if valid.empty:
        return TimestampRange(name, None, None, gone, bad)
    return TimestampRange(name, valid.min().date(), valid.max().date(), gone, bad)


def drop_missing(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """Rows whose ``column`` has a value, and how many were left out."""
    mask = missing_mask(frame[column])
    dropped = int(_weights(frame)[mask.to_numpy()].sum())
    return (frame.loc[~mask].reset_index(drop=True), dropped) if dropped else (frame, 0)
