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


def to_bool(values: pd.Series | np.ndarray, *, positive: str, where: str) -> np.ndarray:
    """Boolean array: True where the value equals ``positive`` (compared canonically)."""
    series = pd.Series(values)
    if series.isna().any():
        raise InputError(f"{where}: {int(series.isna().sum())} missing value(s)")
    uniques = pd.unique(series)
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


def _not_binary(distinct: list[str], where: str) -> InputError:
    shown = ", ".join(_short(d) for d in distinct[:6]) + (" …" if len(distinct) > 6 else "")
    return InputError(
        f"{where}: {len(distinct)} distinct values ({shown}); Fairgate audits binary outcomes",
        hint="map the outcome to two values, or use --scores with --threshold",
    )


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def check_coding(decisions: pd.Series | np.ndarray, *, positive: str, label: pd.Series | None, where: str) -> None:
    """Refuse decisions coded differently from the outcome (``0/1`` against ``yes/no``).

    Every decision must be the positive value or a value the label column uses; otherwise
    comparing with ``positive`` would silently read every decision as negative. Without a label,
    a two-valued decision column must contain the positive value.
    """
    seen = {_canon(v) for v in pd.unique(pd.Series(decisions).dropna())}
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
    known = sorted({_canon(v) for v in pd.unique(label.dropna())})
    allowed = {positive.lower()} | {v.lower() for v in known}
    foreign = sorted(v for v in seen if v.lower() not in allowed)
    if foreign:
        raise InputError(
            f"{where}: value(s) {', '.join(repr(_short(v)) for v in foreign[:6])} are not the positive label "
            f"{positive!r} nor a value of the label ({', '.join(map(_short, known))})",
            hint="code the decisions like the outcome (same values), or set --positive-label to match both",
        )
