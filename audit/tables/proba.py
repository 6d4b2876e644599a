"""Probabilistic group membership: expected counts from probability columns (a proxy such as BISG).

A sensitive feature given as K probability columns (``--sensitive-proba race=p_white,p_black,…``)
spreads each row over the K groups with weights π_ik. The audit's counts become *expected* counts:
Σ π_ik over the rows of each (group, y, ŷ) cell. Everything an audit needs from the rows comes out
of the engine's one GROUP BY, keyed by the raw columns it already groups by plus three derived
keys per row —

- ``STATE``: 0 valid, 1 unknown (every column missing: an explicit ``unknown`` group, as a missing
  recorded value is), 2 some but not all missing, 3 a negative value, 4 not summing to 1 within
  :data:`TOLERANCE`, 5 summing to 100 instead (percentages), 6 text that is not a number (SQL engines;
  numpy names the text at once) (2–6 stop the audit with a one-line error);
- ``TOP``: the most likely group (the first of the largest), for the most-likely-group comparison;
- ``BIN``: the largest probability in :data:`BINS` equal-width bins: with ``TOP`` it forms the
  *proxy cells* the partial-identification bounds are computed over (audit.measures.proba);

and per column k the sums Σ π_ik and Σ π_ik² (the latter for effective sample sizes). Each row's
probabilities are divided by their sum (so rounding in a file does not leak mass) and each sum is
taken in fixed point — ``floor(π·2³² + 0.5)`` as a 64-bit integer — so that the totals are exact
integers whatever order an engine adds the rows in: numpy, DuckDB and Spark give identical tables.
The rounding is at most 2⁻³³ per row and column (a relative error below 10⁻⁹ on any expected count).

The raw columns grouped by include the recorded sensitive features, so every sum — the expected
counts and the proxy cells alike — comes out per combination of their values: intersections of the
probabilistic feature with recorded ones (``black × F``) are sums of the same table, no second pass.

:func:`compact_proba` does this pass in numpy (the in-memory engine, and rows whose probabilities
were estimated inline from a policy's ``proxy:`` block); :func:`proba_sql` writes the same pass as
one SQL query for DuckDB and Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.tables.groups import UNKNOWN, WEIGHT, finest_groups, frame_weights, level_sort_key

#: A row's probabilities must sum to 1 within this (absolute); they are then divided by their sum.
TOLERANCE = 1e-3
#: Bins of the largest probability: with the most likely group, the proxy cells of the bounds.
BINS = 10
#: Fixed-point scale of the per-row sums (2³²): exact 64-bit sums up to 2³¹ rows.
SCALE = 1 << 32
STATE = "__fairgate_pstate__"
TOP = "__fairgate_ptop__"
BIN = "__fairgate_pbin__"
STATES = {
    0: "valid",
    1: "unknown",
    2: "partly missing",
    3: "negative",
    4: "not summing to 1",
    5: "summing to 100 (percentages)",
    6: "holding text that is not a number",  # SQL engines only: numpy raises ProbaTextError, naming the text
}
#: Words a text column may hold for "no value" (as pandas reads them from a CSV file), besides empty text.
MISSING_WORDS = frozenset({"", "na", "n/a", "nan", "null", "none", "<na>"})
#: What is stripped from both ends of a text value before it is read: ASCII whitespace, alike on every engine.
BLANKS = " \t\n\r\x0b\x0c"
#: A text value that is a number: a plain decimal, signed or not, with or without an exponent. Nothing else
#: ("inf", "1_0", "0x1p-1", "1d") is, on any engine: each engine's own number parser accepts a different
#: set of spellings, so a text column would otherwise count differently on numpy, DuckDB and Spark.
NUMBER = "[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"


def sum_column(k: int) -> str:
    return f"__fairgate_ps{k}__"


def square_column(k: int) -> str:
    return f"__fairgate_pq{k}__"


@dataclass(frozen=True)
class ProbaSpec:
    """One sensitive feature given as probability columns: its name, the columns and their levels."""

    feature: str
    columns: tuple[str, ...]

    @property
    def levels(self) -> tuple[str, ...]:
        """Group names: the column names without a ``p_``/``prob_`` prefix (``p_white`` → ``white``)."""
        out = []
        for column in self.columns:
            name = column
            for prefix in ("prob_", "p_"):
                if name.lower().startswith(prefix) and len(name) > len(prefix):
                    name = name[len(prefix) :]
                    break
            out.append(name)
        return tuple(out)

    def to_text(self) -> str:
        return f"{self.feature}={','.join(self.columns)}"

    def aggregates(self) -> list[str]:
        return [
            *(sum_column(k) for k in range(len(self.columns))),
            *(square_column(k) for k in range(len(self.columns))),
        ]


def parse_proba(text: str) -> ProbaSpec:
    """``race=p_white,p_black,…`` → a :class:`ProbaSpec` (ValueError with the reason otherwise)."""
    feature, sep, rest = text.partition("=")
    columns = tuple(c.strip() for c in rest.split(",") if c.strip())
    if not sep or not feature.strip():
        raise ValueError(f"{text!r} is not FEATURE=COLUMN,COLUMN,…")
    if len(columns) < 2:
        raise ValueError(f"{text!r} names {len(columns)} probability column(s); a feature needs at least 2")
    if len(set(columns)) != len(columns):
        raise ValueError(f"{text!r} names a column twice")
    spec = ProbaSpec(feature.strip(), columns)
    if len(set(spec.levels)) != len(columns) or UNKNOWN in spec.levels:
        raise ValueError(
            f"{text!r}: the columns' group names {', '.join(spec.levels)} must be distinct, not {UNKNOWN!r}"
        )
    return spec


# --- the pass in numpy ----------------------------------------------------------------------


def _fixed(values: np.ndarray) -> np.ndarray:
    return np.floor(values * float(SCALE) + 0.5).astype(np.int64)


def derived_cells(k: int) -> int:
    """Values of the derived key :func:`row_cells` gives for K columns: ``top·BINS + bin`` for a valid
    row, then ``K·BINS + state − 1`` for the five unusable states."""
    return k * BINS + len(STATES) - 1


def row_cells(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per row of the K float64 arrays ``columns``: the derived key (see :func:`derived_cells`) and the
    normalised probabilities (zero unless valid) — the operations of :func:`proba_sql`, in its order.

    Validation is one test in the common case: a row is valid exactly when its total is within
    :data:`TOLERANCE` of 1 (false for a missing value: NaN) and its smallest value is ≥ 0; only the
    rows that fail it are looked at again to tell missing, partly missing, negative and off apart.
    """
    p = list(columns)
    k = len(p)
    with np.errstate(all="ignore"):
        total = p[0] + p[1]
        for x in p[2:]:  # left to right, as the SQL adds them
            total += x
        valid = np.abs(total - 1.0) <= TOLERANCE
        low = np.minimum(p[0], p[1])
        for x in p[2:]:
            np.minimum(low, x, out=low)
        valid &= low >= 0
        normal = [x / total for x in p]
        largest = normal[0].copy()
        for x in normal[1:]:
            np.maximum(largest, x, out=largest)
        key = np.minimum(np.trunc(largest * float(BINS)), BINS - 1).astype(np.int64)
        top = np.full(len(total), (k - 1) * BINS, np.int64)
        for j in range(k - 2, -1, -1):  # the first of the largest
            top[normal[j] == largest] = j * BINS
        key += top
    if not valid.all():
        bad = ~valid
        key[bad] = k * BINS - 1 + _states(np.column_stack([x[bad] for x in p]))
        for x in normal:
            x[bad] = 0.0
    return key, normal


def _states(p: np.ndarray) -> np.ndarray:
    """STATE (1–5) of rows that are not valid: all missing, some missing, a negative value, a total
    within 100·TOLERANCE of 100 (percentages), off 1."""
    missing = np.isnan(p)
    all_missing = missing.all(axis=1)
    with np.errstate(all="ignore"):  # inf, and totals that overflow: not 100 either way
        negative = (p < 0).any(axis=1)
        total = p[:, 0] + p[:, 1]
        for j in range(2, p.shape[1]):  # left to right, as the SQL adds them
            total += p[:, j]
        percent = np.abs(total - 100.0) <= 100.0 * TOLERANCE
    return np.select([all_missing, missing.any(axis=1), negative, percent], [1, 2, 3, 5], 4).astype(np.int64)


def row_keys(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Per row: STATE, TOP, BIN and the fixed-point π and π² of every column (zeros unless valid)."""
    p = np.asarray(probabilities, dtype=np.float64)
    k = p.shape[1]
    key, normal = row_cells([np.ascontiguousarray(p[:, j]) for j in range(k)])
    state, top, binned = split_cells(key, k)
    out = {STATE: state, TOP: top, BIN: binned}
    for j in range(k):
        out[sum_column(j)] = _fixed(normal[j])
        out[square_column(j)] = _fixed(normal[j] * normal[j])
    return out


def split_cells(key: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The derived key of :func:`row_cells` → (STATE, TOP, BIN); TOP and BIN are −1 unless valid."""
    valid = key < k * BINS
    state = np.where(valid, 0, key - (k * BINS - 1)).astype(np.int64)
    top = np.where(valid, key // BINS, -1).astype(np.int64)
    binned = np.where(valid, key % BINS, -1).astype(np.int64)
    return state, top, binned


#: Rows per chunk of :func:`proba_totals`: cache-sized, and far below 2²¹, so that a chunk's float sums of
#: fixed-point values (each at most 2³²) stay below 2⁵³, where float64 adds integers exactly.
TOTALS_CHUNK = 1 << 16


def proba_totals(
    columns: Sequence[np.ndarray], codes: np.ndarray, groups: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The whole pass in numpy, for rows already keyed by ``codes`` (0 ≤ code < ``groups``: the
    combination of the other columns kept): ``out[0, c]`` rows, ``out[1 + j, c]`` Σ fixed-point π_j and
    ``out[1 + K + j, c]`` Σ fixed-point π_j², per cell ``c = code · derived_cells(K) + derived key``.

    Exact int64 totals, so independent of the order of the rows: each chunk is counted with
    ``np.bincount`` (its float sums of integers are exact, see :data:`TOTALS_CHUNK`) and added as integers.
    ``out``: totals of earlier rows to add to (it is returned).
    """
    k = len(columns)
    cells = groups * derived_cells(k)
    if out is None:
        out = np.zeros((1 + 2 * k, cells), np.int64)
    scale = float(SCALE)
    for start in range(0, len(codes), TOTALS_CHUNK):
        stop = start + TOTALS_CHUNK
        key, normal = row_cells([c[start:stop] for c in columns])
        key += codes[start:stop] * derived_cells(k)
        out[0] += np.bincount(key, minlength=cells)
        for j, x in enumerate(normal):
            fixed = x * scale
            fixed += 0.5
            np.floor(fixed, out=fixed)
            out[1 + j] += np.bincount(key, weights=fixed, minlength=cells).astype(np.int64)
            np.multiply(x, x, out=fixed)
            fixed *= scale
            fixed += 0.5
            np.floor(fixed, out=fixed)
            out[1 + k + j] += np.bincount(key, weights=fixed, minlength=cells).astype(np.int64)
    return out


def totals_columns(totals: np.ndarray, k: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The cells of :func:`proba_totals` that hold rows: (their ``code``, and the columns STATE, TOP,
    BIN, :data:`WEIGHT` and the sums of a compact frame)."""
    (cells,) = np.nonzero(totals[0])
    code, key = np.divmod(cells, derived_cells(k))
    state, top, binned = split_cells(key, k)
    columns = {STATE: state, TOP: top, BIN: binned, WEIGHT: totals[0, cells]}
    for j in range(k):
        columns[sum_column(j)] = totals[1 + j, cells]
    for j in range(k):
        columns[square_column(j)] = totals[1 + k + j, cells]
    return code, columns


#: The hint for :class:`ProbaTextError`.
TEXT_HINT = "a probability is a number from 0 to 1; leave all of a row's columns empty for a person without an estimate"


class ProbaTextError(ValueError):
    """Probability columns hold text that is not a number: per column, one example and how many rows."""

    def __init__(self, found: Sequence[tuple[str, str, int]]) -> None:
        self.found = tuple(found)

        def told(example: str, rows: int) -> str:
            return f"{example[:40]!r} ({rows:,} row{'s' if rows != 1 else ''})"

        if len(self.found) == 1:
            ((column, example, rows),) = self.found
            text = f"probability column {column!r} holds text that is not a number: {told(example, rows)}"
        else:
            parts = "; ".join(f"{c!r}: {told(example, rows)}" for c, example, rows in self.found)
            text = f"probability columns hold text that is not a number: {parts}"
        super().__init__(text)


def numbers_of(values: pd.Series, column: str) -> np.ndarray:
    """``values`` as float64: numbers as they are; text stripped of :data:`BLANKS` is a number when it is one
    in the sense of :data:`NUMBER` (read correctly rounded, as DuckDB and Spark read it), missing (NaN) when
    it is empty or one of :data:`MISSING_WORDS`; any other text raises :class:`ProbaTextError` — read as
    missing, it would make its row "partly missing", or a whole row of it an unknown person, unsaid."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)
    text = values.astype("string").str.strip(BLANKS)
    number = text.str.fullmatch(NUMBER).fillna(False).to_numpy(dtype=bool)
    out = np.full(len(values), np.nan)
    if number.any():
        out[number] = [float(x) for x in text[number]]  # Python's float: correctly rounded
    missing = text.isna().to_numpy() | text.str.lower().isin(MISSING_WORDS).fillna(True).to_numpy(dtype=bool)
    bad = ~number & ~missing
    if bad.any():
        raise ProbaTextError([(column, str(values[bad].iloc[0]).strip(BLANKS), int(bad.sum()))])
    return out


def numbers_of_columns(columns: Sequence[tuple[str, pd.Series]]) -> list[np.ndarray]:
    """:func:`numbers_of` for each ``(name, values)``; text in several columns is named in one error."""
    out: list[np.ndarray] = []
    found: list[tuple[str, str, int]] = []
    for name, values in columns:
        try:
            out.append(numbers_of(values, name))
        except ProbaTextError as exc:
            found += exc.found
    if found:
        raise ProbaTextError(found)
    return out


def probabilities_of(frame: pd.DataFrame, spec: ProbaSpec) -> np.ndarray:
    """The probability columns as floats (empty: NaN; text that is not a number: :class:`ProbaTextError`)."""
    return np.column_stack(numbers_of_columns([(c, frame[c]) for c in spec.columns]))


def compact_proba(frame: pd.DataFrame, *, keep: Sequence[str], spec: ProbaSpec) -> pd.DataFrame:
    """``frame`` (rows, or a compact frame with :data:`WEIGHT`) grouped by ``keep`` and the derived keys,
    with the row count and the fixed-point sums: the frame DuckDB and Spark return for the same pass."""
    keys = row_keys(probabilities_of(frame, spec))
    weights = frame_weights(frame)
    part = frame[list(keep)].copy()
    for name in (STATE, TOP, BIN):
        part[name] = keys[name]
    part[WEIGHT] = np.ones(len(part), np.int64) if weights is None else weights
    for name in spec.aggregates():
        part[name] = keys[name] if weights is None else keys[name] * weights
    by = [*keep, STATE, TOP, BIN]
    out = part.groupby(by, dropna=False, observed=True, sort=False)[[WEIGHT, *spec.aggregates()]].sum().reset_index()
    return sort_compact(out, by)


def sort_compact(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows in one order whatever the engine returned (results never depend on it; this keeps it so)."""
    return frame.sort_values(list(by), na_position="last", kind="stable", ignore_index=True)


# --- the pass in SQL (DuckDB, Spark) ---------------------------------------------------------


def proba_sql(
    spec: ProbaSpec,
    *,
    keep: Sequence[str],
    source: str,
    quote: Callable[[str], str],
    dialect: str,
    doubles: Collection[str] = (),
    texts: Collection[str] = (),
) -> str:
    """One GROUP BY over ``source``: ``keep`` and the derived keys, the row count and the fixed-point sums,
    computed per row exactly as :func:`row_cells` does (same operations in the same order).

    ``doubles``: probability columns already DOUBLE (read as they are; the others are cast); ``texts``: those
    of a text type, read as :func:`numbers_of` reads them (:data:`NUMBER`, :data:`BLANKS`). Built for
    speed (benchmarks/README.md, "Probabilistic membership"): one validity test per row, the detailed
    reason only for the rows that fail it; one denominator per row (NULL unless valid, so that the
    per-column values need no CASE); the most likely group and the bin folded into one integer key,
    split again after the GROUP BY (on a few hundred rows). The fixed-point values are at most 2³² each,
    so every group's sum is below 2⁶³ for fewer than 2³¹ rows: the totals are returned as BIGINT (DuckDB
    accumulates them in HUGEINT: measured no slower than a 64-bit sum here).
    """
    k = len(spec.columns)
    cast = "TRY_CAST({} AS DOUBLE)"  # numbers of another type (integers, float32)
    kept = [quote(c) for c in keep]
    v = [f"__v{j}" for j in range(k)]
    n = [f"__n{j}" for j in range(k)]
    one = "CAST(1 AS DOUBLE)"

    def stripped(column: str) -> str:
        if dialect == "duckdb":
            return f"trim({quote(column)}, '{BLANKS}')"
        return f"trim(BOTH '{BLANKS}' FROM {quote(column)})"

    def is_number(text: str) -> str:
        if dialect == "duckdb":
            return f"regexp_full_match({text}, '{NUMBER}')"
        return f"({text} RLIKE '^({NUMBER})$')"

    def value(column: str) -> str:
        if column in doubles:
            return quote(column)
        if column in texts:
            t = stripped(column)
            return f"(CASE WHEN {is_number(t)} THEN CAST({t} AS DOUBLE) END)"
        return cast.format(quote(column))

    values = [value(c) for c in spec.columns]
    # 1: the values as doubles (and, for text columns, how many hold text that is neither a number nor a word
    # for "no value"); 2: their total
    words = ", ".join(f"'{w}'" for w in sorted(MISSING_WORDS))
    texts_flags = [
        f"(CASE WHEN {quote(c)} IS NOT NULL AND NOT {is_number(stripped(c))} "
        f"AND lower({stripped(c)}) NOT IN ({words}) THEN 1 ELSE 0 END)"
        for c in spec.columns
        if c in texts and c not in doubles
    ]
    flag = ["__x"] if texts_flags else []
    first = ", ".join(
        [
            *kept,
            *(f"{e} AS {x}" for e, x in zip(values, v, strict=True)),
            *(f"({' + '.join(texts_flags)}) AS __x" for _ in flag),
        ]
    )
    second = ", ".join([*kept, *v, *flag, "(" + " + ".join(v) + ") AS __t"])
    # 3: the denominator, NULL unless the row is valid (its total within TOLERANCE of 1, no value below 0:
    # a missing value (NULL, or NaN, which compares above every number) fails the first test)
    valid = f"abs(__t - {one}) <= CAST({TOLERANCE!r} AS DOUBLE) AND least({', '.join(v)}) >= CAST(0 AS DOUBLE)"
    third = ", ".join([*kept, *v, *flag, "__t", f"CASE WHEN {valid} THEN __t END AS __d"])
    # 4: STATE (the reason, for the rows that are not valid) and the normalised values
    missing = " + ".join(f"(CASE WHEN {x} IS NULL OR isnan({x}) THEN 1 ELSE 0 END)" for x in v)
    negative = " OR ".join(f"{x} < CAST(0 AS DOUBLE)" for x in v)
    percent = f"abs(__t - CAST(100 AS DOUBLE)) <= CAST({100 * TOLERANCE!r} AS DOUBLE)"
    state = (
        f"CASE WHEN __d IS NOT NULL THEN 0 {'WHEN __x > 0 THEN 6 ' if flag else ''}"
        f"WHEN ({missing}) = {k} THEN 1 WHEN ({missing}) > 0 THEN 2 "
        f"WHEN {negative} THEN 3 WHEN {percent} THEN 5 ELSE 4 END"
    )
    fourth = ", ".join([*kept, f"{state} AS __state", *(f"{x} / __d AS {y}" for x, y in zip(v, n, strict=True))])
    # 5: the largest normalised value
    largest = n[0]
    for x in n[1:]:
        largest = f"if({largest} >= {x}, {largest}, {x})"
    fifth = ", ".join([*kept, "__state", *n, f"{largest} AS __m"])
    # 6: one key (TOP·BINS + BIN when valid, −STATE otherwise) and the fixed-point values
    top = str(k - 1)
    for j in range(k - 2, -1, -1):  # the first of the largest
        top = f"if({n[j]} = __m, {j}, {top})"
    # DuckDB's cast rounds: trunc, which is floor for these values (≥ 0) and cheaper; Spark's cast truncates
    whole = "CAST(trunc({}) AS BIGINT)" if dialect == "duckdb" else "CAST(floor({}) AS BIGINT)"
    scale = f"CAST({SCALE} AS DOUBLE)"
    half = "CAST(0.5 AS DOUBLE)"
    binned = f"least({whole.format(f'__m * CAST({BINS} AS DOUBLE)')}, {BINS - 1})"
    key = f"CASE WHEN __state = 0 THEN ({top}) * {BINS} + {binned} ELSE -__state END"  # least() skips NULLs
    fixed = [
        *(f"{whole.format(f'{x} * {scale} + {half}')} AS __s{j}" for j, x in enumerate(n)),
        *(f"{whole.format(f'({x} * {x}) * {scale} + {half}')} AS __q{j}" for j, x in enumerate(n)),
    ]
    sixth = ", ".join([*kept, f"{key} AS __key", *fixed])
    # 7: the GROUP BY; 8: the key split into STATE, TOP, BIN
    sums = [
        *(f"CAST(coalesce(sum(__s{j}), 0) AS BIGINT) AS {quote(sum_column(j))}" for j in range(k)),
        *(f"CAST(coalesce(sum(__q{j}), 0) AS BIGINT) AS {quote(square_column(j))}" for j in range(k)),
    ]
    grouped = (
        f"SELECT {', '.join([*kept, '__key'])}, CAST(count(*) AS BIGINT) AS {quote(WEIGHT)}, {', '.join(sums)} "
        f"FROM (SELECT {sixth} FROM (SELECT {fifth} FROM (SELECT {fourth} FROM (SELECT {third} FROM "
        f"(SELECT {second} FROM (SELECT {first} FROM {source}) __a) __b) __c) __d) __e) __f "
        f"GROUP BY {', '.join([*kept, '__key'])}"
    )
    split = [
        f"CASE WHEN __key >= 0 THEN 0 ELSE -__key END AS {quote(STATE)}",
        f"CASE WHEN __key >= 0 THEN CAST(floor(__key / CAST({BINS} AS DOUBLE)) AS BIGINT) ELSE -1 END AS {quote(TOP)}",
        f"CASE WHEN __key >= 0 THEN __key % {BINS} ELSE -1 END AS {quote(BIN)}",
    ]
    outer = [quote(WEIGHT), *(quote(sum_column(j)) for j in range(k)), *(quote(square_column(j)) for j in range(k))]
    return f"SELECT {', '.join([*kept, *split, *outer])} FROM ({grouped}) __g"


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbaTable:
    """Expected counts of a probabilistic feature (crossed with the recorded sensitive features).

    ``expected[o, g, y, ŷ]``: Σ π_ig over the rows of other-features group ``o`` (``other_keys[o]``)
    and cell (y, ŷ); ``g`` runs over ``levels`` then ``unknown`` (rows without probabilities, weight 1).
    ``squares``: the same sums of π². ``likely``: integer counts with each row in its most likely
    group. ``cell_rows[o, t, b, y, ŷ]`` and ``cell_mass[o, t, b, y, ŷ, g]``: rows and Σ π_g per proxy
    cell (most likely group t, bin b of the largest probability) within other-features group ``o``,
    valid rows only. They are kept per ``o`` because the recorded features are known: the bounds of an
    intersection (``black × F``) may use only the proxy cells of its own recorded group (the women),
    while the bounds of the feature alone pool the cells over every ``o`` (:meth:`cells`).
    """

    feature: str
    levels: tuple[str, ...]
    other_features: tuple[str, ...]
    other_keys: tuple[tuple[str, ...], ...]
    expected: np.ndarray
    squares: np.ndarray
    likely: np.ndarray
    cell_rows: np.ndarray
    cell_mass: np.ndarray
    has_label: bool
    rows: int
    unknown_rows: int

    @property
    def groups(self) -> tuple[str, ...]:
        return (*self.levels, UNKNOWN)

    def marginal(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(expected, squares, likely) of the probabilistic feature alone: shape (K+1, 2, 2)."""
        return self.expected.sum(axis=0), self.squares.sum(axis=0), self.likely.sum(axis=0)

    def strata(self, features: Sequence[str]) -> tuple[tuple[tuple[str, ...], np.ndarray], ...]:
        """The groups of the recorded ``features`` (some of ``other_features``, in the order given), each
        with the indices ``o`` of the other-features groups it sums, in level order (``unknown`` last).
        No features: one stratum, every ``o``. Sums of this table, as GroupTable.marginal: no second pass."""
        idx = [self.other_features.index(f) for f in features]
        members: dict[tuple[str, ...], list[int]] = {}
        for o, key in enumerate(self.other_keys):
            members.setdefault(tuple(key[i] for i in idx), []).append(o)
        return tuple((key, np.asarray(members[key], np.int64)) for key in sorted(members, key=level_sort_key))

    def cells(self, members: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(rows[c, 4], mass[c, 4, g])`` of the proxy cells ``c`` (most likely group × bin), summed over
        the other-features groups ``members`` (None: all of them, the cells of the feature alone)."""
        k = len(self.levels)
        rows = self.cell_rows if members is None else self.cell_rows[members]
        mass = self.cell_mass if members is None else self.cell_mass[members]
        return rows.sum(axis=0).reshape(k * BINS, 4), mass.sum(axis=0).reshape(k * BINS, 4, k)


class ProbaError(ValueError):
    """Rows whose probabilities are unusable: ``counts[state]`` rows per :data:`STATES` code."""

    def __init__(self, spec: ProbaSpec, counts: dict[int, int]) -> None:
        self.spec = spec
        self.counts = counts
        parts = [f"{n:,} row(s) {STATES[s]}" for s, n in sorted(counts.items())]
        super().__init__(
            f"probability columns {', '.join(spec.columns)} of {spec.feature!r}: {'; '.join(parts)} "
            f"(each row needs values ≥ 0 summing to 1 within {TOLERANCE:g}, or all of them empty for unknown)"
        )


def _totals(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per ``index`` (chunked float bincount: each chunk's sums stay
    below 2⁵³, where float64 adds integers exactly; np.add.at is ten times slower)."""
    out = np.zeros(size, np.int64)
    if len(values) and int(np.abs(values).max()) > (1 << 53) // _CHUNK:  # large sums (a compact frame)
        np.add.at(out, index, values)
        return out
    for start in range(0, len(index), _CHUNK):
        part = np.bincount(index[start : start + _CHUNK], weights=values[start : start + _CHUNK], minlength=size)
        out += part.astype(np.int64)
    return out


_CHUNK = 1 << 20  # rows per chunk: 2²⁰ rows of at most 2³² each sum below 2⁵³


def count_proba(
    frame: pd.DataFrame,
    *,
    spec: ProbaSpec,
    sensitive: Sequence[str],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
) -> ProbaTable:
    """The :class:`ProbaTable` of ``frame``: rows (or a compact frame of rows) holding the probability
    columns, or a frame :func:`compact_proba` or an engine's SQL produced (with the derived keys)."""
    k = len(spec.columns)
    weights = frame_weights(frame)
    weights = np.ones(len(frame), np.int64) if weights is None else weights
    if STATE in frame.columns:
        state = frame[STATE].to_numpy(dtype=np.int64)
        top = frame[TOP].to_numpy(dtype=np.int64)
        binned = frame[BIN].to_numpy(dtype=np.int64)
        sums = [frame[sum_column(j)].to_numpy(dtype=np.int64) for j in range(k)]
        squares = [frame[square_column(j)].to_numpy(dtype=np.int64) for j in range(k)]
    else:
        keys = row_keys(probabilities_of(frame, spec))
        state, top, binned = keys[STATE], keys[TOP], keys[BIN]
        sums = [keys[sum_column(j)] * weights for j in range(k)]
        squares = [keys[square_column(j)] * weights for j in range(k)]
    bad = {int(s): int(weights[state == s].sum()) for s in np.unique(state) if s >= 2}
    if bad:
        raise ProbaError(spec, bad)
    index, keys_ = finest_groups(frame, sensitive)
    other = max(len(keys_), 1)
    y = np.zeros(len(frame), np.int64) if y_true is None else np.asarray(y_true, dtype=np.int64)
    cell = 2 * y + np.asarray(y_pred, dtype=np.int64)
    valid = state == 0
    size = other * (k + 1) * 4
    base = index * ((k + 1) * 4) + cell
    # exact integer totals first (fixed point), converted to floats once
    expected = np.zeros(size, np.int64)
    square = np.zeros(size, np.int64)
    for j in range(k):
        expected += _totals(base + j * 4, sums[j], size)
        square += _totals(base + j * 4, squares[j], size)
    unknown_w = np.where(valid, 0, weights)
    expected += _totals(base + k * 4, unknown_w * SCALE, size)
    square += _totals(base + k * 4, unknown_w * SCALE, size)
    likely = _totals(base + np.where(valid, top, k) * 4, weights, size)
    # proxy cells within each other-features group: the recorded columns are keys of the same pass
    cells = index * (k * BINS * 4) + np.where(
        valid, (np.where(valid, top, 0) * BINS + np.where(valid, binned, 0)) * 4 + cell, 0
    )
    cell_size = other * k * BINS * 4
    cell_rows = _totals(cells, np.where(valid, weights, 0), cell_size)
    cell_mass = np.stack([_totals(cells, np.where(valid, sums[j], 0), cell_size) for j in range(k)], axis=-1)
    shape = (other, k + 1, 2, 2)
    return ProbaTable(
        feature=spec.feature,
        levels=spec.levels,
        other_features=tuple(sensitive),
        other_keys=tuple(keys_) if keys_ else ((),),
        expected=expected.reshape(shape) / SCALE,
        squares=square.reshape(shape) / SCALE,
        likely=likely.reshape(shape),
        cell_rows=cell_rows.reshape(other, k, BINS, 2, 2),
        cell_mass=cell_mass.reshape(other, k, BINS, 2, 2, k) / SCALE,
        has_label=y_true is not None,
        rows=int(weights.sum()),
        unknown_rows=int(weights[~valid].sum()),
    )


def split_proba(table: ProbaTable, segment_by: Sequence[str]) -> list[tuple[dict[str, str], ProbaTable, np.ndarray]]:
    """``(segment, table within it, its other-features groups o)`` per segment present, in level order.

    ``table`` was counted with the ``segment_by`` columns among its other features (one more key of the
    same GROUP BY); each segment's table keeps the other-features groups of its value, every array
    sliced as it is (the segments' tables sum to the table counted without the segment columns). The
    indices ``o`` let arrays kept beside the table (the self-reported counts ``known[o, …]``) be sliced
    alike. As :func:`audit.tables.segments.split_segments` does for a count table."""
    keep = [i for i, f in enumerate(table.other_features) if f not in segment_by]
    cut = [table.other_features.index(f) for f in segment_by]
    parts: dict[tuple[str, ...], list[int]] = {}
    for o, key in enumerate(table.other_keys):
        parts.setdefault(tuple(key[i] for i in cut), []).append(o)
    k = len(table.levels)
    out = []
    for segment in sorted(parts, key=level_sort_key):
        members = np.asarray(parts[segment], np.int64)
        likely = table.likely[members]
        sub = ProbaTable(
            feature=table.feature,
            levels=table.levels,
            other_features=tuple(table.other_features[i] for i in keep),
            other_keys=tuple(tuple(table.other_keys[o][i] for i in keep) for o in members),
            expected=table.expected[members],
            squares=table.squares[members],
            likely=likely,
            cell_rows=table.cell_rows[members],
            cell_mass=table.cell_mass[members],
            has_label=table.has_label,
            rows=int(likely.sum()),  # every row is in exactly one most likely group, or unknown
            unknown_rows=int(likely[:, k].sum()),
        )
        out.append((dict(zip(segment_by, segment, strict=True)), sub, members))
    return out
