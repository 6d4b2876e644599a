"""The tables stage (rows → counts), as the stages after it see it.

Hands on: ``GroupTable`` (the finest-group confusion counts, from ``count_groups``), the score and
regression tables (``count_scores``, ``count_regression``, ``sample_median``), data quality
(``drop_missing``, ``summarize_quality``), time windows (``parse_times``, ``period_labels``,
``split_windows``, ``WINDOW_KEY``), and the engines that count (``open_engine``, ``EngineOptions``,
``row_count``). Everything after this stage is engine-free and works on these tables.
"""

from __future__ import annotations

from audit.tables.engines import open_engine
from audit.tables.engines.interface import EngineOptions, row_count
from audit.tables.groups import UNKNOWN, WEIGHT, GroupTable, count_groups, frame_weights
from audit.tables.quality import drop_missing, summarize_quality
from audit.tables.scores import RegressionTable, ScoreTable, count_regression, count_scores, sample_median
from audit.tables.windows import WINDOW_KEY, parse_times, period_labels, split_windows

__all__ = [
    "UNKNOWN",
    "WEIGHT",
    "WINDOW_KEY",
    "EngineOptions",
    "GroupTable",
    "RegressionTable",
    "ScoreTable",
    "count_groups",
    "count_regression",
    "count_scores",
    "drop_missing",
    "frame_weights",
    "open_engine",
    "parse_times",
    "period_labels",
    "row_count",
    "sample_median",
    "split_windows",
    "summarize_quality",
]
