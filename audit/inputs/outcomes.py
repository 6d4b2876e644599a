"""Turn a label or prediction column into booleans (positive outcome = True).

Fairgate audits binary decisions. The positive value ("approved", ">50K", 1) comes from the
policy or ``--positive-label``; when it is not given, only 0/1 or true/false columns are accepted,
because guessing which of two words is the favourable outcome would silently invert every metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from audit.errors import InputError

_IMPLICIT_POSITIVE = {"1", "1.0", "true"}
_CHUNK = 1 << 18  # rows per bincount slice
_IMPLICIT_VALUES = {"0", "0.0", "1", "1.0", "true", "false"}


def _canon(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        as_float = float(value)
        return str(int(as_float)) if as_float.is_integer() else repr(as_float)
    text = str(value).strip()
    try:  # "1.0" in a text column or on the command line means the number 1
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def distinct_values(values: pd.Series | np.ndarray) -> np.ndarray | ExtensionArray:
    """The distinct values of a column (order unspecified; a categorical Series gives a Categorical).

    Small-integer and boolean columns — the usual 0/1 outcomes and decisions — need no hash table:
    their minimum and maximum occur, and the few values between are tested directly (10M rows of
    0/1: ~5 ms instead of ~35 ms with pd.unique); wider integer ranges are counted by bincount.
    """
    raw = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if raw.dtype.kind in "biu" and raw.size:
        as_int = raw.view(np.uint8) if raw.dtype.kind == "b" else raw
        low, high = int(as_int.min()), int(as_int.max())
        if high - low < 8:  # the minimum and maximum occur by definition; test the few values between
            inner = [v for v in range(low + 1, high) if (as_int == v).any()]
            present = np.array([low, *inner, high] if high > low else [low])
            return present.astype(bool) if raw.dtype.kind == "b" else present.astype(raw.dtype)
        if high - low < 1 << 16:
            seen = np.zeros(high - low + 1, dtype=np.int64)
            for start in range(0, as_int.size, _CHUNK):  # slices that stay in cache
                part = as_int[start : start + _CHUNK].astype(np.intp)
                seen += np.bincount(part - low if low else part, minlength=seen.size)
            present = np.flatnonzero(seen) + low
            return present.astype(bool) if raw.dtype.kind == "b" else present.astype(raw.dtype)
    return pd.unique(pd.Series(raw) if not isinstance(values, pd.Series) else values)


def missing_rows(values: pd.Series, weights: np.ndarray | None = None) -> int:
    """Rows with a missing value; ``weights`` are the rows each value stands for (a compact frame)."""
    absent = values.isna().to_numpy()
    return int(absent.sum()) if weights is None else int(weights[absent].sum())


def resolve_positive(
    values: pd.Series, *, positive: object | None, where: str, weights: np.ndarray | None = None
) -> str:
    """Return the canonical text of the positive value for ``values``; raise if it is unclear.

    ``weights``: the rows each value stands for when ``values`` is a compact frame's column.
    """
    missing = missing_rows(values, weights)
    if missing:
        raise InputError(
            f"{where}: {missing} missing value(s)",
            hint="drop or fill rows without an outcome before auditing",
        )
    distinct = sorted({_canon(v) for v in distinct_values(values)})
    if len(distinct) > 2:
        raise _not_binary(distinct, where)
    if positive is not None:
        wanted = _canon(positive)
        if wanted not in distinct:
            raise InputError(
                f"{where}: the positive label {wanted!r} does not occur (values: {', '.join(distinct)})",
                hint="set --positive-label (or columns.positive_label in the policy) to one of those values",
            )
        return wanted
    lowered = {d.lower() for d in distinct}
    if lowered <= _IMPLICIT_VALUES:
        return next((d for d in distinct if d.lower() in _IMPLICIT_POSITIVE), "1")
    raise InputError(
        f"{where}: values {', '.join(map(repr, distinct))} — which one is the favourable outcome?",
        hint="set --positive-label (or columns.positive_label in the policy)",
    )


def to_bool(
    values: pd.Series | np.ndarray, *, positive: str, where: str, weights: np.ndarray | None = None
) -> np.ndarray:
    """Boolean array: True where the value equals ``positive`` (compared canonically)."""
    series = pd.Series(values)
    if series.isna().any():
        raise InputError(
            f"{where}: {missing_rows(series, weights)} missing value(s)",
            hint="every row needs a decision: drop or fill the rows without one before auditing",
        )
    uniques = distinct_values(series)
    positives = {u for u in uniques if _canon(u).lower() == positive.lower()}
    distinct = sorted({_canon(u) for u in uniques})
    if len(distinct) > 2:
        raise _not_binary(distinct, where)
    raw = series.to_numpy()
    if raw.dtype.kind in "biuf":  # numbers: one vectorised comparison per positive value (fast at 10M rows)
        out = np.zeros(len(raw), dtype=bool)
        for value in positives:
            out |= raw == value
        return out
    return series.isin(list(positives)).to_numpy(dtype=bool)


def model_positive(
    value: object, *, classes: tuple[object, ...] | None, predicted: pd.Series | np.ndarray | None, where: str
) -> str:
    """``--model-positive-class``: which of the model's classes is the favourable decision, in canonical form.

    It must be one of the model's ``classes_``; a model that does not record them (ONNX) is checked
    against the decisions it made (``predicted``), when there are two of them.
    """
    wanted = _canon(value)
    if classes:
        known = [_canon(c) for c in classes]
    elif predicted is not None:
        known = sorted({_canon(v) for v in distinct_values(pd.Series(predicted).dropna())})
        if len(known) < 2:  # a model that decided one way for everyone: nothing to check against
            return wanted
    else:
        return wanted
    if wanted.lower() not in {k.lower() for k in known}:
        what = "the model's classes" if classes else "the decisions the model made"
        raise InputError(
            f"{where}: --model-positive-class {wanted!r} is not one of {what} ({', '.join(map(repr, known))})",
            hint="pass the one of those classes that means the favourable decision",
        )
    return next(k for k in known if k.lower() == wanted.lower())


def _not_binary(distinct: list[str], where: str) -> InputError:
    shown = ", ".join(_short(d) for d in distinct[:6]) + (" …" if len(distinct) > 6 else "")
    return InputError(
        f"{where}: {len(distinct)} distinct values ({shown}); Fairgate audits binary outcomes",
        hint="map the outcome to two values, or use --scores with --threshold",
    )


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def check_coding(
    decisions: pd.Series | np.ndarray, *, positive: str, label: pd.Series | None, where: str, model: bool = False
) -> None:
    """Refuse decisions coded differently from the outcome (``0/1`` against ``yes/no``).

    Every decision must be the positive value or a value the label column uses; otherwise
    comparing with ``positive`` would silently read every decision as negative. Without a label,
    a two-valued decision column must contain the positive value.
    """
    seen = {_canon(v) for v in distinct_values(pd.Series(decisions).dropna())}
    if label is None:
        # two values and neither is positive: the column is coded some other way. (One value may
        # be everyone receiving the negative decision.)
        if len(seen) == 2 and positive.lower() not in {v.lower() for v in seen}:
            raise InputError(
                f"{where}: values {', '.join(repr(_short(v)) for v in sorted(seen))} do not include the positive "
                f"label {positive!r}",
                hint="set --positive-label to the value that means the positive decision",
            )
        return
    known = sorted({_canon(v) for v in distinct_values(label.dropna())})
    allowed = {positive.lower()} | {v.lower() for v in known}
    foreign = sorted(v for v in seen if v.lower() not in allowed)
    if foreign:
        raise InputError(
            f"{where}: value(s) {', '.join(repr(_short(v)) for v in foreign[:6])} are not the positive label "
            f"{positive!r} nor a value of the label ({', '.join(map(_short, known))})",
            hint="name the model's favourable class with --model-positive-class VALUE (--positive-label stays the "
            "label's), or code the decisions like the outcome"
            if model
            else "code the decisions like the outcome (same values), or set --positive-label to match both",
        )
