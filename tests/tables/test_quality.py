"""The data-quality counts, against a hand-worked frame."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from audit.tables.quality import drop_missing, summarize_quality


def test_counts_by_hand():
    frame = pd.DataFrame(
        {
            "sex": ["F", " ", None, "M", "M", "M"],  # blank and None are missing: 2
            "y": [1, 0, None, 1, 1, 1],  # 1 missing
            "t": ["2024-01-31", "2023-12-01T10:00:00Z", "", "not a date", "2024-02-01", "2024-02-01"],
        }
    )
    q = summarize_quality(frame, columns=["sex", "y"], duplicates=True, timestamp="t")
    assert q.rows == 6
    assert q.missing == {"sex": 2, "y": 1}
    assert q.duplicate_rows == 1  # the last row repeats the one before it
    assert (q.timestamp.oldest, q.timestamp.newest) == (dt.date(2023, 12, 1), dt.date(2024, 2, 1))
    assert (q.timestamp.missing, q.timestamp.unparseable) == (1, 1)
    kept, dropped = drop_missing(frame, "y")
    assert dropped == 1 and len(kept) == 5 and kept["y"].notna().all()


def test_nothing_asked_nothing_counted():
    q = summarize_quality(pd.DataFrame({"a": [1, 1]}), columns=["a"])
    assert q.duplicate_rows is None and q.timestamp is None and q.missing == {"a": 0}
