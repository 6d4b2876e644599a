"""Time windows (``--period-column``): whether a run is audited window by window, each row's window,
and the count over (sensitive features × window) cut into windows, each judged and drift checked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.errors import InputError, UsageError
from audit.tables.groups import count_groups, frame_weights

if TYPE_CHECKING:
    from audit.flow.roles import Roles
    from audit.judge.windows import Monitored
    from audit.policy.load import LoadedPolicy
    from audit.policy.monitoring import Monitoring
    from audit.policy.schema import Policy
    from audit.tables.groups import GroupTable


@dataclass(frozen=True)
class Windowing:
    period_column: str
    period: str
    monitoring: Monitoring


@dataclass(frozen=True)
class Windowed:
    """The windows' counts and judgements, and the rows the run's verdict (and score metrics) describe."""

    table: GroupTable
    monitored: Monitored
    frame: pd.DataFrame
    y_true: np.ndarray | None
    scores: np.ndarray | None
    y_pred: np.ndarray | None = None  # the decisions of ``frame``'s rows (None: every window's, unchanged)


def resolve_windowing(
    loaded: LoadedPolicy, *, period_column: str | None, period: str | None, task: str
) -> Windowing | None:
    """Whether this run is audited per time window, and how (command line over the policy)."""
    from audit.policy.monitoring import Monitoring

    configured = loaded.policy.monitoring
    column = period_column or (configured.period_column if configured else None)
    if column is None:
        if period is not None:
            raise UsageError("--period needs --period-column COLUMN (the timestamp that places each row in a window)")
        if configured is not None and configured.drift:
            raise UsageError(
                f"policy {loaded.policy.id!r} has drift rules but no period column",
                hint="pass --period-column COLUMN or set monitoring.period_column in the policy",
            )
        return None
    if task != "classification":
        raise UsageError("time windows (--period-column) are for classification audits")
    monitoring = configured or Monitoring()
    if period is not None:
        monitoring = monitoring.model_copy(update={"period": period})
    return Windowing(column, monitoring.period, monitoring)


def drop_untimed(frame: pd.DataFrame, w: Windowing, data: Path) -> tuple[pd.DataFrame, pd.Series, int]:
    """The window label of every row; rows without a time are counted and left out."""
    from audit.tables.windows import parse_times, period_labels

    times = parse_times(frame[w.period_column], where=f"{data}: period column {w.period_column!r}")
    labels = period_labels(times, w.period)
    missing = labels.isna()
    if missing.all():
        raise InputError(f"{data}: period column {w.period_column!r} has no dates")
    if missing.any():
        keep = ~missing.to_numpy()
        weights = frame_weights(frame)  # a compact frame's rows stand for several rows each
        dropped = int(missing.sum()) if weights is None else int(weights[~keep].sum())
        return frame.loc[keep].reset_index(drop=True), labels[keep].reset_index(drop=True), dropped
    return frame, labels.reset_index(drop=True), 0


def count_windows(
    frame: pd.DataFrame,
    labels: pd.Series,
    w: Windowing,
    roles: Roles,
    *,
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
    scores: np.ndarray | None,
    pol: Policy,
    seed: int,
    launch: dict[str, Any] | None,
    no_time: int,
    day: dt.date,
) -> Windowed:
    """One count over (sensitive features × window), cut into windows; each judged, drift checked."""
    from audit.judge.windows import audit_windows, verdict_table
    from audit.tables.groups import WEIGHT
    from audit.tables.windows import WINDOW_KEY, split_windows

    counted = frame[[*roles.sensitive, *([WEIGHT] if WEIGHT in frame.columns else [])]].copy()
    counted[WINDOW_KEY] = labels.to_numpy()
    both = count_groups(counted, sensitive=(*roles.sensitive, WINDOW_KEY), y_true=y_true, y_pred=y_pred)
    windows = split_windows(both, w.period)
    full = both.marginal(roles.sensitive)
    launch_scopes = None
    if launch is not None:
        from audit.judge.compare import scopes_of

        launch_scopes = scopes_of(launch, level=pol.confidence_level, where="--baseline")
    monitored = audit_windows(
        windows,
        policy=pol,
        monitoring=w.monitoring,
        period_column=w.period_column,
        excluded_rows=no_time,
        has_label=y_true is not None,
        seed=seed,
        launch=launch_scopes,
        audit_date=day,
    )
    table = verdict_table(windows, full, w.monitoring.verdict_from)
    if table is full:
        return Windowed(table, monitored, frame, y_true, scores)
    # score metrics describe the same rows as the group tables: the window the verdict comes from
    in_verdict = (labels == windows[-1].label).to_numpy()
    return Windowed(
        table,
        monitored,
        frame.loc[in_verdict].reset_index(drop=True),
        y_true[in_verdict] if y_true is not None else None,
        scores[in_verdict] if scores is not None else None,
        y_pred[in_verdict],
    )
