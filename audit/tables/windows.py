"""Time windows: the period of each row is one more grouping key of the single counting pass.

``period_labels`` turns a timestamp column into sortable window labels (``2024-03``,
``2024-Q1``, ``2024-W05`` …); the count table is then built over the sensitive features *and*
the window, and ``split_windows`` cuts it into one finest-group table per window. No window
needs a pass of its own, and the windows' counts sum to the whole by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.errors import InputError
from audit.tables.groups import GroupTable

PERIODS = ("day", "week", "month", "quarter", "year")
#: The name of the window key while it rides along with the sensitive features.
WINDOW_KEY = "__fairgate_window__"
_EPOCH_1980 = 315_532_800  # 1980-01-01T00:00:00Z in Unix seconds


@dataclass(frozen=True)
class Window:
    label: str  # "2024-03"
    start: str  # first day, ISO date
    end: str  # last day, ISO date
    table: GroupTable


def parse_times(values: pd.Series, *, where: str) -> pd.Series:
    """Timestamps (UTC) from a datetime, date-string or epoch-seconds column; NaT where missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        times = pd.to_datetime(values, utc=True)
    elif pd.api.types.is_numeric_dtype(values):
        # numbers are read as Unix epoch seconds; values before 1980 are far likelier to be something
        # else (an age, a count, a month number) than a decision time, and would all land in one window
        early = values.notna() & (values < _EPOCH_1980)
        if early.any():
            raise InputError(
                f"{where}: numbers such as {values[early].iloc[0]!r} are not decision times "
                "(as Unix epoch seconds they fall before 1980)",
                hint="name a date or timestamp column, or one of epoch seconds",
            )
        times = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
        bad = values.notna() & times.isna()
        if bad.any():
            raise InputError(f"{where}: {int(bad.sum())} value(s) are not epoch seconds (e.g. {values[bad].iloc[0]!r})")
    else:
        text = values.astype("string").str.strip()
        text = text.mask(text == "", pd.NA)
        times = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        bad = text.notna() & times.isna()
        if bad.any():
            raise InputError(
                f"{where}: {int(bad.sum())} value(s) are not dates (e.g. {str(text[bad].iloc[0])[:40]!r})",
                hint="use ISO 8601 dates or timestamps (2024-03-05 or 2024-03-05T14:30:00Z)",
            )
    return times


def period_labels(times: pd.Series, period: str) -> pd.Series:
    """The window label of every timestamp (missing stays missing); labels sort in time order."""
    if period not in PERIODS:
        raise InputError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    if period == "day":
        labels = naive.dt.strftime("%Y-%m-%d")
    elif period == "week":
        iso = naive.dt.isocalendar()
        labels = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
    elif period == "month":
        labels = naive.dt.strftime("%Y-%m")
    elif period == "quarter":
        labels = naive.dt.year.astype("string") + "-Q" + naive.dt.quarter.astype("string")
    else:
        labels = naive.dt.year.astype("string")
    return labels.astype("string").mask(times.isna(), pd.NA)


def window_bounds(label: str, period: str) -> tuple[str, str]:
    """First and last day of a window, as ISO dates."""
    if period == "day":
        start = pd.Timestamp(label)
        end = start
    elif period == "week":
        year, week = label.split("-W")
        start = pd.Timestamp.fromisocalendar(int(year), int(week), 1)
        end = start + pd.Timedelta(days=6)
    elif period == "month":
        start = pd.Timestamp(label + "-01")
        end = start + pd.offsets.MonthEnd(0)
    elif period == "quarter":
        year, quarter = label.split("-Q")
        start = pd.Timestamp(year=int(year), month=3 * int(quarter) - 2, day=1)
        end = start + pd.offsets.QuarterEnd(0)
    else:
        start = pd.Timestamp(year=int(label), month=1, day=1)
        end = pd.Timestamp(year=int(label), month=12, day=31)
    return start.date().isoformat(), end.date().isoformat()


def split_windows(table: GroupTable, period: str) -> list[Window]:
    """Cut a table whose last feature is the window into one table per window, in time order."""
    if not table.features or table.features[-1] != WINDOW_KEY:
        raise ValueError("the table was not counted with the window key last")
    features = table.features[:-1]
    by_window: dict[str, list[int]] = {}
    for i, key in enumerate(table.keys):
        by_window.setdefault(key[-1], []).append(i)
    windows = []
    for label in sorted(by_window):
        rows = by_window[label]
        keys = tuple(table.keys[i][:-1] for i in rows)  # already in level order within a window
        counts = table.counts[np.array(rows, dtype=np.int64)]
        start, end = window_bounds(label, period)
        windows.append(Window(label, start, end, GroupTable(features, keys, counts, table.has_label)))
    return windows
