"""The rows as read: checks on them and the arrays the counting needs (labels, scores, decisions).

Everything the audit does with a pandas frame before counting lives here; the pipeline passes the
frame along without looking inside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.errors import InputError, UsageError
from audit.inputs.outcomes import check_coding, missing_rows, model_positive, resolve_positive, to_bool
from audit.tables.filters import Clause, FilterError, pandas_mask, parse_filter
from audit.tables.groups import UNKNOWN, frame_weights
from audit.tables.scores import sample_median
from audit.util.suggest import columns_hint

if TYPE_CHECKING:
    from audit.flow.roles import Roles
    from audit.inputs.model import LoadedModel
    from audit.policy.schema import Policy
    from audit.tables.engines.interface import Precomputed
    from audit.tables.quality import DataQuality

    Fitted = LoadedModel | Precomputed  # a model, or its outputs computed while the engine read the rows

#: A sensitive column with more distinct values than this is almost surely an identifier.
MAX_LEVELS = 1000


def filter_clauses(texts: list[str], header: list[str], data: Path) -> tuple[Clause, ...]:
    """The row filter's parsed clauses; one naming a column the data lacks stops the run before reading."""
    try:
        clauses = parse_filter(texts)
    except FilterError as exc:
        raise UsageError(str(exc), hint="see docs/policies.md#row-filters for the clauses a filter can use") from None
    for clause in clauses:
        if clause.column not in header:
            raise InputError(
                f"{data}: where clause {clause.text!r}: no column named {clause.column!r}",
                hint=columns_hint([clause.column], header, lead="the data's columns", shown=12),
            )
    return clauses


def segment_columns(columns: list[str], header: list[str], data: Path, sensitive: tuple[str, ...]) -> tuple[str, ...]:
    """The policy's ``segment_by`` columns; one the data lacks (or a sensitive feature) stops the run before reading."""
    for column in columns:
        if column not in header:
            raise InputError(
                f"{data}: segment_by: no column named {column!r}",
                hint=columns_hint([column], header, lead="the data's columns", shown=12),
            )
        if column in sensitive:
            raise UsageError(
                f"segment_by: {column!r} is a sensitive feature",
                hint="segment by a column that is not compared (a score band, product or region)",
            )
    return tuple(columns)


#: The name of the derived segment column ``score_bands`` adds.
SCORE_BAND = "score band"


def with_score_bands(
    frame: pd.DataFrame, scores: np.ndarray | None, bands: str | list[float], segment_by: tuple[str, ...], data: Path
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The frame with each row's score band as one more segment column (``score band``)."""
    from audit.tables.scores import band_cuts, band_labels

    if scores is None:
        raise UsageError(
            "score_bands needs scores: this audit's decisions come from a column without them",
            hint="audit with --scores COLUMN --threshold T, or a model that gives probabilities",
        )
    if SCORE_BAND in frame.columns:
        raise InputError(
            f"{data}: a column is named {SCORE_BAND!r}, the name score_bands gives the bands", hint="rename that column"
        )
    cuts = band_cuts(scores, bands, frame_weights(frame))
    return frame.assign(**{SCORE_BAND: band_labels(scores, cuts)}), (*segment_by, SCORE_BAND)


def apply_filter(
    frame: pd.DataFrame, clauses: tuple[Clause, ...], data: Path
) -> tuple[pd.DataFrame, tuple[dict[str, Any], ...]]:
    """The rows meeting every clause, and per clause how many rows it removed (of those the clauses before
    it kept). A grouped frame (DuckDB, Spark) counts its rows by weight, so every engine reports the same."""
    if not clauses:
        return frame, ()
    weights = frame_weights(frame)
    keep = np.ones(len(frame), dtype=bool)
    records = []
    for clause in clauses:
        try:
            met = np.asarray(pandas_mask(clause, frame[clause.column]), dtype=bool)
        except FilterError as exc:
            raise InputError(
                f"{data}: {exc}", hint="compare a number column with numbers and a text column with 'quoted text'"
            ) from None
        removed = keep & ~met
        records.append(
            {**clause.to_dict(), "removed": int(removed.sum()) if weights is None else int(weights[removed].sum())}
        )
        keep &= met
    if not keep.any():
        raise InputError(
            f"{data}: no row meets the where clauses ({'; '.join(c.text for c in clauses)})",
            hint="check the clauses against the data: each one's count of removed rows is in the error's order",
        )
    return frame.loc[keep].reset_index(drop=True), tuple(records)


def quality(
    frame: pd.DataFrame, roles: Roles, pol: Policy, need: dict[str, Any]
) -> tuple[pd.DataFrame, DataQuality | None, dict[str, int]]:
    """The data-quality counts a policy's data requirements need; rows without a label left out (counted)
    when the policy judges the share of missing labels."""
    if not pol.data_requirements:
        return frame, None, {}
    from audit.tables.quality import drop_missing, summarize_quality

    columns = [*roles.sensitive, *([roles.label] if roles.label else [])]
    summary = summarize_quality(frame, columns=columns, duplicates=need["duplicates"], timestamp=need["timestamp"])
    if need["drop_unlabeled"] and roles.label:
        frame, dropped = drop_missing(frame, roles.label)
        if len(frame) == 0:
            raise InputError(f"label column {roles.label!r} has no values")
        return frame, summary, {"no label": dropped} if dropped else {}
    return frame, summary, {}


def check_sensitive(frame: pd.DataFrame, roles: Roles, data: Path) -> None:
    for column in roles.sensitive:
        distinct = frame[column].nunique(dropna=True)
        if distinct > MAX_LEVELS:
            raise InputError(
                f"{data}: sensitive column {column!r} has {distinct} distinct values — is it an identifier?",
                hint=f"sensitive features must be categories (at most {MAX_LEVELS}); bin numeric ones such as age first",  # noqa: E501
            )


def labels(frame: pd.DataFrame, roles: Roles, data: Path) -> tuple[np.ndarray | None, str | None]:
    if roles.label is None:
        return None, roles.positive_label
    where = f"{data}: label column {roles.label!r}"
    weights = frame_weights(frame)
    positive = resolve_positive(frame[roles.label], positive=roles.positive_label, where=where, weights=weights)
    return to_bool(frame[roles.label], positive=positive, where=where, weights=weights), positive


def drop_unscored(frame: pd.DataFrame, roles: Roles) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """For LL144 scoring rates (``--threshold median``), people without a score are counted and left out.

    Also returned: how many of those left out have no value for each sensitive feature (and for any,
    ``"any"``), so that the report can still count them in the unknown category."""
    if roles.source != "score_threshold" or roles.threshold != "median":
        return frame, {}, {}
    missing = frame[roles.score].isna()
    if not missing.any():
        return frame, {}, {}
    weights = frame_weights(frame)
    gone = missing.to_numpy()

    def count(mask: np.ndarray) -> int:
        return int(mask.sum()) if weights is None else int(weights[mask].sum())

    unknown = {column: count(gone & ~known_values(frame[column])) for column in roles.sensitive}
    if roles.sensitive:
        unknown["any"] = count(gone & ~known_category(frame, roles))
    return frame.loc[~missing].reset_index(drop=True), {"no score": count(gone)}, unknown


def known_values(column: pd.Series) -> np.ndarray:
    """Rows whose value is known: not missing, not blank, not the explicit ``unknown`` level (as the tables see it)."""
    text = column.astype("string").str.strip()
    return (text.notna() & (text != "") & (text != UNKNOWN)).fillna(False).to_numpy(dtype=bool)


def known_category(frame: pd.DataFrame, roles: Roles) -> np.ndarray:
    """Rows whose every sensitive value is known (LL144: not in the unknown category)."""
    known = np.ones(len(frame), dtype=bool)
    for column in roles.sensitive:
        known &= known_values(frame[column])
    return known


def median_cut(frame: pd.DataFrame, roles: Roles, scores: np.ndarray, median_of: str) -> float:
    """The sample median of the scores: of the known-category people (``median_of="known"``, the default,
    as the worked example of 6 RCNY § 5-301 leaves its unknown-category individuals out of the
    calculations), or of everyone scored (``"everyone"``). When nobody's category is known: everyone's."""
    weights = frame_weights(frame)
    if median_of == "known" and roles.sensitive:
        known = known_category(frame, roles)
        if known.any() and not known.all():
            return sample_median(scores[known], None if weights is None else weights[known])
    return sample_median(scores, weights)


def scores(
    frame: pd.DataFrame,
    roles: Roles,
    data: Path,
    fitted: Fitted | None,
    positive: str | None,
    *,
    median_of: str = "known",
) -> tuple[np.ndarray | None, float | None]:
    """The score of every row (a score column, or the model's positive-class probability)."""
    if roles.source == "score_threshold":
        assert roles.score is not None and roles.threshold is not None
        values = pd.to_numeric(frame[roles.score], errors="coerce")
        bad = missing_rows(values, frame_weights(frame))
        if bad:
            raise InputError(
                f"{data}: score column {roles.score!r} has {bad} missing or non-numeric value(s)",
                hint="every row needs a numeric score: drop or fill those rows before auditing",
            )
        out = values.to_numpy(dtype=float)
        if not np.isfinite(out).all():
            raise InputError(
                f"{data}: score column {roles.score!r} has infinite values",
                hint="scores must be finite numbers: clip or drop the infinite ones before auditing",
            )
        cut = median_cut(frame, roles, out, median_of) if roles.threshold == "median" else float(roles.threshold)
        return out, cut
    if roles.source == "model" and fitted is not None:
        predicted = fitted.predict_scores(frame, features=roles.features)
        if predicted is None:
            return None, None
        out = np.asarray(predicted, dtype=float)
        classes = [str(c) for c in (fitted.classes or ())]
        favourable = positive
        if roles.model_positive_class is not None:
            if (
                not classes
            ):  # ONNX: which class the probability is for is not recorded; no scores rather than wrong ones
                return None, None
            favourable = model_positive(
                roles.model_positive_class, classes=fitted.classes, predicted=None, where=str(fitted.path)
            )
        # the model's probability is for its second class; flip it when the favourable outcome is the first
        if len(classes) == 2 and favourable is not None and classes[0].lower() == favourable.lower():
            out = 1.0 - out
        return out, None
    return None, None


def decisions(
    frame: pd.DataFrame,
    roles: Roles,
    data: Path,
    fitted: Fitted | None,
    positive: str | None,
    *,
    scores: np.ndarray | None,
    cut: float | None,
) -> tuple[np.ndarray, str | None]:
    if roles.source == "score_threshold":
        assert scores is not None and cut is not None
        # LL144's scoring rate counts scores strictly above the median; a threshold T selects score >= T
        return (scores > cut) if roles.threshold == "median" else (scores >= cut), positive
    if roles.source == "prediction_column":
        assert roles.prediction is not None
        raw = frame[roles.prediction]
        where = f"{data}: prediction column {roles.prediction!r}"
    else:
        assert fitted is not None
        raw = pd.Series(fitted.predict(frame, features=roles.features))
        where = f"{fitted.path}: predictions"
        if len(raw) != len(frame):
            raise InputError(f"{fitted.path}: the model returned {len(raw)} predictions for {len(frame)} rows")
    weights = frame_weights(frame)
    if roles.source == "model" and roles.model_positive_class is not None:
        assert fitted is not None
        # the model's own coding, declared: its favourable class against the label's favourable value
        favourable = model_positive(
            roles.model_positive_class, classes=fitted.classes, predicted=raw, where=str(fitted.path)
        )
        return to_bool(raw, positive=favourable, where=where, weights=weights), positive or favourable
    if positive is None:
        positive = resolve_positive(raw, positive=None, where=where, weights=weights)
    out = to_bool(raw, positive=positive, where=where, weights=weights)
    check_coding(
        raw, positive=positive, label=frame[roles.label] if roles.label else None, where=where, model=fitted is not None
    )
    return out, positive


def regression_values(
    frame: pd.DataFrame, roles: Roles, data: Path, fitted: Fitted | None
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric outcomes and predictions (the model's, or a prediction column's) of every row."""
    weights = frame_weights(frame)
    y_true = numeric(frame[roles.label], f"{data}: label column {roles.label!r}", weights)
    raw: pd.Series | np.ndarray
    if fitted is not None:
        raw = fitted.predict(frame, features=roles.features)
        where = f"{fitted.path}: predictions"
    else:
        raw = frame[roles.prediction]
        where = f"{data}: prediction column {roles.prediction!r}"
    return y_true, numeric(raw, where, weights)


def numeric(values: pd.Series | np.ndarray, where: str, weights: np.ndarray | None = None) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    bad = int(bad.sum()) if weights is None else int(weights[bad].sum())
    if bad:
        raise InputError(
            f"{where}: {bad} missing or non-numeric value(s); a regression audit needs numbers",
            hint="drop or fill those rows, or audit decisions (--task classification)",
        )
    return numbers


def rows_where(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows ``keep`` marks, renumbered."""
    return frame.loc[keep].reset_index(drop=True)
