"""Turn a label or prediction column into booleans (positive outcome = True).

Fairgate audits binary decisions. The positive value ("approved", ">50K", 1) comes from the
policy or ``--positive-label``; when it is not given, only 0/1 or true/false columns are accepted,
because guessing which of two words is the favourable outcome would silently invert every metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.errors import InputError

_IMPLICIT_POSITIVE = {"1", "1.0", "true"}
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


def resolve_positive(values: pd.Series, *, positive: object | None, where: str) -> str:
    """Return the canonical text of the positive value for ``values``; raise if it is unclear."""
    missing = int(values.isna().sum())
    if missing:
        raise InputError(
            f"{where}: {missing} missing value(s)",
            hint="drop or fill rows without an outcome before auditing",
        )
    distinct = sorted({_canon(v) for v in pd.unique(values)})
    if len(distinct) > 2:
        shown = ", ".join(distinct[:6]) + (" …" if len(distinct) > 6 else "")
        raise InputError(
            f"{where}: {len(distinct)} distinct values ({shown}); Fairgate audits binary outcomes",
            hint="map the outcome to two values, or use --scores with --threshold",
        )
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


def to_bool(values: pd.Series | np.ndarray, *, positive: str, where: str) -> np.ndarray:
    """Boolean array: True where the value equals ``positive`` (compared canonically)."""
    series = pd.Series(values)
    if series.isna().any():
        raise InputError(f"{where}: {int(series.isna().sum())} missing value(s)")
    uniques = pd.unique(series)
    positives = {u for u in uniques if _canon(u).lower() == positive.lower()}
    if len({_canon(u) for u in uniques}) > 2:
        raise InputError(f"{where}: more than two distinct values; Fairgate audits binary outcomes")
    raw = series.to_numpy()
    if raw.dtype.kind in "biuf":  # numbers: one vectorised comparison per positive value (fast at 10M rows)
        out = np.zeros(len(raw), dtype=bool)
        for value in positives:
            out |= raw == value
        return out
    return series.isin(list(positives)).to_numpy(dtype=bool)
