"""Proxy race/ethnicity probabilities from surname, geography and first name: BISG and BIFSG.

BISG (Elliott et al. 2008, 2009): P(race | surname, area) ∝ P(race | surname) × P(area | race).
BIFSG (Voicu 2018) multiplies in P(first name | race) as well. Both are normalised over the six
Census groups (``RACES``) and returned as the columns ``p_white … p_hispanic``.

Every lookup is a hash join over the *distinct* values of a column (``pd.factorize``, then
``Index.get_indexer``), and the arithmetic is one numpy product over ``rows × 6``: no Python loop
over rows. Real data is messy; the rules, each counted in :class:`ProxySummary`:

* Surnames: accents dropped (NFKD), upper-cased; whitespace, hyphens, commas, slashes and ``&`` split
  a name into parts; every other non-letter (apostrophes, periods, digits) is removed; a trailing
  generational suffix part (JR, SR, II, III, IV) is dropped. The whole name (its parts joined, so
  ``de la Cruz`` → ``DELACRUZ``, ``O'Brien`` → ``OBRIEN``) is looked up first; when it is not in the
  list, each part in order, and the **first part that is in the list** is used (``Garcia-Lopez`` →
  ``GARCIA``). surgeo joins the parts only (no part lookup); the two agree wherever surgeo finds a name.
* A surname that is empty or not in the list: the estimate falls back to geography alone,
  P(race | area) ∝ P(area | race) × the population shares of the geography table's universe.
* A ZIP/ZCTA that is empty, malformed, or not in the table (or an area with no population): the
  estimate falls back to the surname alone, P(race | surname). ZIP+4 (``12345-6789``) uses its first
  five digits; a ZIP of 1–4 digits (an integer that lost its leading zeros, ``2139`` for ``02139``)
  is zero-padded to five and counted. Tract keys are zero-padded to 2 + 3 + 6 digits likewise.
* Neither a usable surname nor a usable area: all six probabilities are NaN (counted; an audit then
  treats the row as unknown rather than assigning it the national average).
* BIFSG: a first name that is empty or not in the list contributes no factor (the row is BISG).
* When the evidence contradicts itself (the product is zero in all six groups, e.g. a surname only
  ever Asian in an area with no Asian residents), the first-name factor is dropped, then the area's.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.errors import InputError, UsageError
from audit.util.suggest import columns_hint

RACES = ("white", "black", "api", "native", "multiple", "hispanic")
PROBABILITY_COLUMNS = tuple(f"p_{race}" for race in RACES)
TABLES_DIR = Path(__file__).resolve().parent / "proxy_tables"
SURNAME_TABLE = "prob_race_given_surname_2010"
FIRST_NAME_TABLE = "prob_first_name_given_race_harvard"
GEO_TABLES = {"zcta": "prob_zcta_given_race_2010", "tract": "prob_tract_given_race_2010"}
GEO_KEYS = {"zcta": ("zcta5",), "tract": ("state", "county", "tract")}
#: Digits of each tract key part (state FIPS, county FIPS, tract code).
TRACT_WIDTHS = (2, 3, 6)
#: Parts of a name that are a generational suffix, not a surname (dropped when last).
SUFFIXES = ("JR", "SR", "II", "III", "IV")
#: A surname column where more than this share of rows holds no letters is not a surname column.
MAX_NON_NAMES = 0.5
GEO_TABLE_HINT = (
    "--geo-table needs a CSV of P(area | race) shaped like the shipped table: columns {keys}, " + ", ".join(RACES)
)


@dataclass(frozen=True)
class ProxyTable:
    """The identity of one lookup table an estimate used (recorded in the evidence)."""

    name: str
    kind: str
    vintage: str
    sha256: str  # of the uncompressed CSV
    rows: int
    source: str


@dataclass(frozen=True)
class ProxySummary:
    """What an estimate did to each row: counts of every fallback, and the tables it used."""

    method: str  # "BISG" or "BIFSG"
    geography: str  # "zcta" or "tract"
    rows: int
    complete: int  # surname and area used (BIFSG: and the first name when it is in the list; see first_name_*)
    geography_only: int  # no usable surname: P(race | area)
    surname_only: int  # no usable area: P(race | surname)
    no_information: int  # neither: NaN probabilities
    surname_missing: int  # empty, or no letters
    surname_not_found: int
    surname_by_part: int  # a compound name matched by one of its parts
    area_missing: int
    area_invalid: int
    area_not_found: int
    zip_zero_padded: int
    first_name_missing: int = 0
    first_name_not_found: int = 0
    contradictory: int = 0  # a factor dropped because the product was zero everywhere
    tract_zero_padded: int = 0  # rows whose state, county or tract code had fewer digits than its width
    population_shares: dict[str, float] = field(default_factory=dict)
    population_shares_from: str = ""
    tables: tuple[ProxyTable, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The summary as the CLI prints it."""
        n = self.rows

        def share(k: int) -> str:
            return f"{k:,} ({k / n:.1%})" if n else "0"

        out = [
            f"{self.method} ({self.geography.upper()}): {n:,} rows",
            f"  surname and {self.geography}: {share(self.complete)}",
            f"  {self.geography} only (surname missing or not in the list): {share(self.geography_only)}",
            f"  surname only ({self.geography} missing, invalid or not in the table): {share(self.surname_only)}",
            f"  neither (probabilities left empty): {share(self.no_information)}",
            f"  surnames: {self.surname_missing:,} missing, {self.surname_not_found:,} not in the list, "
            f"{self.surname_by_part:,} matched by one part of a compound name",
            f"  {self.geography}: {self.area_missing:,} missing, {self.area_invalid:,} invalid, "
            f"{self.area_not_found:,} not in the table",
        ]
        if self.zip_zero_padded:
            out.append(f"  ZIP codes of 1-4 digits zero-padded to 5: {self.zip_zero_padded:,}")
        if self.tract_zero_padded:
            out.append(
                f"  tract keys with a state, county or tract code zero-padded (to 2, 3, 6 digits): "
                f"{self.tract_zero_padded:,}"
            )
        if self.method == "BIFSG":
            out.append(
                f"  first names: {self.first_name_missing:,} missing, {self.first_name_not_found:,} not in the list "
                "(those rows are BISG)"
            )
        if self.contradictory:
            out.append(f"  contradictory evidence (a factor dropped): {self.contradictory:,}")
        for table in self.tables:
            out.append(f"  table {table.name} ({table.vintage}, {table.rows:,} rows, sha256 {table.sha256})")
        return out


@dataclass(frozen=True)
class ProxyResult:
    data: pd.DataFrame  # the input frame plus PROBABILITY_COLUMNS
    summary: ProxySummary


@dataclass(frozen=True)
class _Lookup:
    """A probability table: keys → row of six values (NaN-free; unusable rows left out)."""

    index: pd.Index
    values: np.ndarray  # (rows, 6) float64
    info: ProxyTable


# --- tables ---------------------------------------------------------------------------------


@functools.cache
def manifest() -> dict[str, Any]:
    """The shipped tables' manifest (vintage, source, sha256, population shares)."""
    result: dict[str, Any] = json.loads((TABLES_DIR / "manifest.json").read_text(encoding="utf-8"))
    return result


def _read_verified(path: Path, *, expected: str | None) -> tuple[bytes, str]:
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable gzip file ({exc})") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if expected is not None and digest != expected:
        raise InputError(
            f"{path}: sha256 {digest} differs from the manifest's {expected}",
            hint="the installation's proxy tables were changed: reinstall Fairgate",
        )
    return raw, digest


@functools.cache
def shipped_table(name: str) -> _Lookup:
    """A shipped table, its sha256 checked against the manifest."""
    entry = manifest()["tables"][name]
    raw, digest = _read_verified(TABLES_DIR / entry["file"], expected=entry["sha256"])
    info = ProxyTable(name, entry["kind"], entry["vintage"], digest, 0, entry["source"])
    return _parse(raw, path=TABLES_DIR / entry["file"], kind=entry["kind"], info=info)


def load_geo_table(path: Path, *, kind: str) -> _Lookup:
    """A user-supplied P(area | race) table (e.g. 2020 geography) shaped like the shipped one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint="--geo-table names a CSV (or .csv.gz) file")
    raw, digest = _read_verified(path, expected=None)
    info = ProxyTable(path.name, kind, "supplied by the user", digest, 0, str(path))
    return _parse(raw, path=path, kind=kind, info=info)


def _parse(raw: bytes, *, path: Path, kind: str, info: ProxyTable) -> _Lookup:
    keys = GEO_KEYS.get(kind, ("name",))
    first_line = raw.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip()
    header = [c.strip() for c in first_line.split(",")]
    missing = [c for c in (*keys, *RACES) if c not in header]
    if missing:
        raise InputError(
            f"{path}: not a {kind} probability table: no column {', '.join(map(repr, missing))}",
            hint=GEO_TABLE_HINT.format(keys=", ".join(keys)),
        )
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            usecols=[*keys, *RACES],
            dtype={**dict.fromkeys(keys, "str"), **dict.fromkeys(RACES, "float64")},
            keep_default_na=False,  # NAN and NULL are surnames
            na_values={r: [""] for r in RACES},
            encoding="utf-8-sig",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a readable {kind} table ({str(exc).splitlines()[0]})") from exc
    values = frame[list(RACES)].to_numpy(dtype="float64")
    usable = np.isfinite(values).all(axis=1) & (values >= 0).all(axis=1) & (values.sum(axis=1) > 0)
    if kind in GEO_KEYS:
        index = _area_index(frame, kind)
        usable &= index >= 0
        lookup = pd.Index(index[usable])
    else:
        names = frame["name"]
        usable &= names.str.fullmatch(r"[A-Z]+").fillna(False).to_numpy(dtype=bool)  # not "ALL OTHER NAMES"
        lookup = pd.Index(names[usable].to_numpy(dtype=object))
    if not lookup.is_unique:
        raise InputError(f"{path}: the {kind} table lists a key more than once")
    info = ProxyTable(info.name, info.kind, info.vintage, info.sha256, len(frame), info.source)
    return _Lookup(lookup, np.ascontiguousarray(values[usable]), info)


def _area_index(frame: pd.DataFrame, kind: str) -> np.ndarray:
    """Each area's key as one int64 (ZCTA: the five digits; tract: state·10⁹ + county·10⁶ + tract)."""
    if kind == "zcta":
        key, _, _ = _digits(frame["zcta5"], width=5)
        return key
    key = np.zeros(len(frame), dtype="int64")
    for column, width in zip(GEO_KEYS["tract"], TRACT_WIDTHS, strict=True):
        part, _, _ = _digits(frame[column], width=width)
        key = np.where((key >= 0) & (part >= 0), key * 10**width + part, -1)
    return key


# --- normalisation of distinct values ---------------------------------------------------------


def _distinct(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Per-row codes (-1 for missing) and the distinct values as text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy(dtype="int64")
        uniques = pd.Series(column.cat.categories)
    else:
        codes, values = pd.factorize(column, use_na_sentinel=True)
        uniques = pd.Series(values)
    if pd.api.types.is_float_dtype(uniques.dtype):  # integers that went float because of a missing value
        numbers = uniques.to_numpy(dtype="float64")
        integral = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e15)
        whole = np.where(integral, numbers, 0).astype("int64").astype(str)
        uniques = pd.Series(np.where(integral, whole, "invalid"))
    return np.asarray(codes, dtype="int64"), uniques.astype(str).str.strip()


def _digits(values: pd.Series, *, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area keys as integers (-1 invalid), with masks of the empty values and of those zero-padded.

    Exactly ``width`` digits is the key; 1 to ``width``-1 digits is zero-padded; a ZIP+4 (5 digits,
    a hyphen or nothing, 4 digits) keeps its first five.
    """
    text = values.astype(str).str.strip()
    empty = (text == "") | values.isna()
    text = text.str.replace(r"^(\d+)\.0*$", r"\1", regex=True)  # 2139.0: a number written by a float column
    if width == 5:
        text = text.str.replace(r"^(\d{5})-?\d{4}$", r"\1", regex=True)
    ok = text.str.fullmatch(rf"\d{{1,{width}}}").fillna(False).to_numpy(dtype=bool) & ~empty.to_numpy()
    padded = ok & (text.str.len().to_numpy() < width)
    key = np.full(len(text), -1, dtype="int64")
    key[ok] = text[ok].astype("int64").to_numpy()
    return key, np.asarray(empty, dtype=bool), padded


def _name_parts(names: pd.Series) -> pd.Series:
    """Each name as its list of cleaned parts (the rules in the module docstring)."""
    text = names.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.upper()
    text = text.str.replace(r"[\s\-/,&+]+", " ", regex=True).str.replace(r"[^A-Z ]", "", regex=True).str.strip()
    parts = text.str.split()
    suffix = re.compile("|".join(SUFFIXES))

    def drop_suffix(p: list[str]) -> list[str]:  # per distinct name, not per row
        return p[:-1] if len(p) > 1 and suffix.fullmatch(p[-1]) else p

    return parts.map(drop_suffix)


def _match_names(uniques: pd.Series, table: _Lookup) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct name: its row in ``table`` (-1 none), whether it has no letters, and
    whether it matched by one part of a compound name."""
    found = np.full(len(uniques), -1, dtype="int64")
    # fast path: a name of letters only is its own key (the full rules give the same string)
    plain = uniques.str.fullmatch(r"[A-Za-z]+").fillna(False).to_numpy(dtype=bool)
    found[plain] = table.index.get_indexer(pd.Index(uniques[plain].str.upper()))
    rest = np.flatnonzero(~plain)
    empty = np.zeros(len(uniques), dtype=bool)
    by_part = np.zeros(len(uniques), dtype=bool)
    if len(rest):
        parts = _name_parts(uniques.iloc[rest].reset_index(drop=True))
        whole = parts.str.join("")
        empty[rest] = (whole == "").to_numpy()
        found[rest] = table.index.get_indexer(pd.Index(whole))
        exploded = parts[(found[rest] < 0) & (parts.str.len() > 1).to_numpy()].explode()
        if len(exploded):
            hits = pd.Series(
                table.index.get_indexer(pd.Index(exploded.astype(str))).astype("int64"), index=exploded.index
            )
            first = hits[hits >= 0].groupby(level=0, sort=False).first()  # the first part in the list
            found[rest[first.index.to_numpy()]] = first.to_numpy()
            by_part[rest[first.index.to_numpy()]] = True
    return found, empty, by_part


# --- the estimate -------------------------------------------------------------------------------


def estimate_bisg(
    frame: pd.DataFrame,
    *,
    surname: str,
    zcta: str | None = None,
    tract: Sequence[str] | None = None,
    first_name: str | None = None,
    geo_table: Path | None = None,
    population_shares: Mapping[str, float] | None = None,
    source: str = "the data",
    weights: np.ndarray | None = None,
) -> ProxyResult:
    """BISG (BIFSG with ``first_name``) probabilities for every row of ``frame``.

    Exactly one of ``zcta`` (a column of ZIP codes) or ``tract`` (state, county and tract FIPS
    columns) names the geography. ``geo_table`` replaces the shipped 2010 P(area | race) table (e.g.
    with 2020 geography); ``population_shares`` (race → share) replaces the prior that turns it into
    P(race | area) for rows without a usable surname (default: the shipped table's 2010 shares).
    ``source`` names the data in error messages. Returns the frame with ``PROBABILITY_COLUMNS`` added.
    ``weights``: the people each row stands for (a compact frame's row counts), for the summary's counts.
    """
    if (zcta is None) == (tract is None):
        raise UsageError(
            "give exactly one geography: --zcta COLUMN or --tract STATE,COUNTY,TRACT",
            hint="BISG needs where each person lives: a ZIP code column, or the three census tract columns",
        )
    kind = "zcta" if zcta is not None else "tract"
    geo_columns = [zcta] if zcta is not None else list(tract or ())
    if kind == "tract" and len(geo_columns) != 3:
        raise UsageError(
            f"--tract needs three columns (state, county, tract), got {len(geo_columns)}",
            hint="separate the three column names with commas: --tract state,county,tract",
        )
    wanted = [surname, *geo_columns, *([first_name] if first_name else [])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: no column named {', '.join(map(repr, missing))}",
            hint=columns_hint(missing, frame.columns),
        )
    clash = [c for c in PROBABILITY_COLUMNS if c in frame.columns]
    if clash:
        raise InputError(
            f"{source}: already has column(s) {', '.join(map(repr, clash))}",
            hint="rename or drop them: the estimate writes these columns",
        )
    n = len(frame) if weights is None else int(np.sum(weights))

    def count(mask: np.ndarray) -> int:
        return int(np.count_nonzero(mask)) if weights is None else int(np.asarray(weights)[mask].sum())

    surnames = shipped_table(SURNAME_TABLE)
    codes, uniques = _distinct(frame[surname])
    row_of, no_letters, by_part = _match_names(uniques, surnames)
    _check_surnames(frame[surname], codes, no_letters, surname=surname, source=source)
    s_missing = (codes < 0) | np.append(no_letters, False)[codes]
    s_index = np.where(codes >= 0, np.append(row_of, -1)[codes], -1)
    has_s = s_index >= 0

    geo = load_geo_table(geo_table, kind=kind) if geo_table is not None else shipped_table(GEO_TABLES[kind])
    g_index, a_missing, a_invalid, padded = _area_rows(frame, geo_columns, kind=kind, table=geo)
    has_g = g_index >= 0

    shares_from = f"{GEO_TABLES[kind]} (2010)"
    if population_shares is None:
        population_shares = manifest()["tables"][GEO_TABLES[kind]]["population_shares"]
    else:
        shares_from = "supplied by the caller"
    prior = np.array([float(population_shares[r]) for r in RACES])

    tables = [surnames.info, geo.info]
    # missing → an extra last row: the prior for a surname, ones (no factor) for the others
    factors = [np.vstack([surnames.values, prior]), np.vstack([geo.values, np.ones(6)])]
    indexes = [np.where(has_s, s_index, len(surnames.values)), np.where(has_g, g_index, len(geo.values))]
    f_missing = f_not_found = 0
    has_f = np.zeros(len(frame), dtype=bool)
    if first_name:
        firsts = shipped_table(FIRST_NAME_TABLE)
        tables.append(firsts.info)
        f_codes, f_uniques = _distinct(frame[first_name])
        f_row, f_empty, _ = _match_names(f_uniques, firsts)
        f_index = np.where(f_codes >= 0, np.append(f_row, -1)[f_codes], -1)
        has_f = f_index >= 0
        f_blank = (f_codes < 0) | np.append(f_empty, False)[f_codes]
        f_missing = count(f_blank)
        f_not_found = count(~f_blank & ~has_f)
        factors.append(np.vstack([firsts.values, np.ones(6)]))
        indexes.append(np.where(has_f, f_index, len(firsts.values)))

    probabilities, contradictory = _posterior(factors, indexes)
    none = ~has_s & ~has_g
    probabilities[none] = np.nan
    contradictory &= ~none

    data = frame.assign(**{col: probabilities[:, i] for i, col in enumerate(PROBABILITY_COLUMNS)})
    summary = ProxySummary(
        method="BIFSG" if first_name else "BISG",
        geography=kind,
        rows=n,
        complete=count(has_s & has_g),  # the first name's use is counted apart (first_name_*)
        geography_only=count(~has_s & has_g),
        surname_only=count(has_s & ~has_g),
        no_information=count(none),
        surname_missing=count(s_missing),
        surname_not_found=count(~s_missing & ~has_s),
        surname_by_part=count(has_s & np.append(by_part, False)[codes]),
        area_missing=count(a_missing),
        area_invalid=count(a_invalid),
        area_not_found=count(~a_missing & ~a_invalid & ~has_g),
        zip_zero_padded=count(padded) if kind == "zcta" else 0,
        tract_zero_padded=count(padded) if kind == "tract" else 0,
        first_name_missing=f_missing,
        first_name_not_found=f_not_found,
        contradictory=count(contradictory),
        population_shares=dict(zip(RACES, map(float, prior), strict=True)),
        population_shares_from=shares_from,
        tables=tuple(tables),
    )
    return ProxyResult(data=data, summary=summary)


def _posterior(factors: list[np.ndarray], indexes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The normalised product of the factors' rows; where it is zero in every group, the last
    factors are dropped one by one (first name, then area) until it is not."""
    product = factors[0][indexes[0]]
    partial = [product.copy()]
    for table, index in zip(factors[1:], indexes[1:], strict=True):
        product *= table[index]
        partial.append(product if table is factors[-1] else product.copy())
    total = product.sum(axis=1)
    zero = total <= 0
    contradictory = zero.copy()
    for earlier in reversed(partial[:-1]):
        if not zero.any():
            break
        product[zero] = earlier[zero]
        total[zero] = product[zero].sum(axis=1)
        zero = total <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        product /= total[:, None]
    return product, contradictory


def _check_surnames(column: pd.Series, codes: np.ndarray, no_letters: np.ndarray, *, surname: str, source: str) -> None:
    """A column that is mostly numbers or empty is not a surname column (a wrong --surname)."""
    if len(codes) == 0:
        return
    if pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(column.dtype, pd.CategoricalDtype):
        bad = len(codes)
    else:
        bad = int(np.count_nonzero((codes < 0) | np.append(no_letters, True)[codes]))
    if bad / len(codes) > MAX_NON_NAMES:
        raise InputError(
            f"{source}: column {surname!r} does not hold surnames ({bad / len(codes):.0%} of its values are "
            "empty or numbers)",
            hint="--surname names the column of family names",
        )


def _area_rows(
    frame: pd.DataFrame, columns: list[str], *, kind: str, table: _Lookup
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's row in the geography table (-1 none), and masks: missing, invalid, zero-padded."""
    n = len(frame)
    widths = (5,) if kind == "zcta" else TRACT_WIDTHS
    key = np.zeros(n, dtype="int64")
    missing = np.zeros(n, dtype=bool)
    invalid = np.zeros(n, dtype=bool)
    padded = np.zeros(n, dtype=bool)
    for column, width in zip(columns, widths, strict=True):
        codes, uniques = _distinct(frame[column])
        u_key, u_empty, u_padded = _digits(uniques, width=width)
        u_key, u_empty, u_padded = np.append(u_key, -1), np.append(u_empty, True), np.append(u_padded, False)
        part, empty = u_key[codes], u_empty[codes]
        missing |= empty
        invalid |= ~empty & (part < 0)
        padded |= u_padded[codes]
        key = np.where((key >= 0) & (part >= 0), key * 10**width + part, -1)
    invalid &= ~missing
    rows = np.where(key >= 0, table.index.get_indexer(pd.Index(key)), -1)
    return rows, missing, invalid, padded & ~missing & ~invalid


# --- files --------------------------------------------------------------------------------------


OUTPUT_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")


def estimate_bisg_file(
    *,
    data: Path,
    out: Path,
    surname: str,
    zcta: str | None = None,
    tract: Sequence[str] | None = None,
    first_name: str | None = None,
    geo_table: Path | None = None,
) -> ProxySummary:
    """``fairgate proxy bisg``: read ``data``, estimate, write ``out`` (all of it or nothing)."""
    from audit.inputs.dataset import load_dataset

    if not str(out).lower().endswith(OUTPUT_SUFFIXES):
        raise UsageError(f"{out}: unsupported output format", hint="--out needs a .csv, .csv.gz, .tsv or .parquet file")
    text = [surname, *([zcta] if zcta else list(tract or ())), *([first_name] if first_name else [])]
    frame = load_dataset(Path(data), text_columns=text)
    result = estimate_bisg(
        frame, surname=surname, zcta=zcta, tract=tract, first_name=first_name, geo_table=geo_table, source=str(data)
    )
    output = result.data
    if str(data).lower().endswith(".parquet"):  # typed input: the name and area columns go out as they came in
        given = load_dataset(Path(data), columns=list(dict.fromkeys(text)))
        if len(given) == len(output):
            output = output.assign(**{c: given[c].set_axis(output.index) for c in given.columns})
    write_table(output, Path(out))
    return result.summary


def write_table(frame: pd.DataFrame, out: Path) -> None:
    """Write ``frame`` as CSV/TSV (gzipped by suffix) or Parquet, atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from audit.util.atomic import atomic_path

    table = pa.Table.from_pandas(frame, preserve_index=False)
    name = out.name.lower()
    with atomic_path(out) as tmp:
        if name.endswith(".parquet"):
            pq.write_table(table, tmp)
            return
        columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.itercolumns()]
        table = pa.Table.from_arrays(columns, names=table.column_names)
        options = pacsv.WriteOptions(delimiter="\t" if ".tsv" in name else ",")
        if name.endswith(".gz"):
            with pa.CompressedOutputStream(str(tmp), "gzip") as stream:
                pacsv.write_csv(table, stream, write_options=options)
        else:
            pacsv.write_csv(table, tmp, write_options=options)


def read_probabilities(frame: pd.DataFrame, columns: Sequence[str], *, source: str, tolerance: float) -> np.ndarray:
    """The rows × groups probability matrix from ``columns`` of ``frame``: each value in [0, 1] and each
    row summing to 1 within ``tolerance`` — the audit's (audit.tables.proba.TOLERANCE), so that a file
    one command accepts the other does too; the values are used as given, as the audit's own quality
    section uses them. A row with every value missing has no proxy (NaN row). Anything else is an
    ``InputError`` naming the file, the column and how many rows."""
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise InputError(
            f"{source}: no probability column named {absent[0]!r}",
            hint=f"the file has: {', '.join(map(str, frame.columns))}",
        )
    matrix = np.empty((len(frame), len(columns)))
    for j, c in enumerate(columns):
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = int((values.isna() & frame[c].notna()).sum())
        if bad:
            raise InputError(
                f"{source}: column {c!r} has {bad:,} values that are not numbers",
                hint="probability columns hold numbers between 0 and 1 (empty: no estimate)",
            )
        matrix[:, j] = values.to_numpy(dtype=float)
    empty = np.isnan(matrix).all(axis=1)
    partial = np.isnan(matrix).any(axis=1) & ~empty
    if partial.any():
        j = int(np.isnan(matrix[partial]).any(axis=0).argmax())
        raise InputError(
            f"{source}: column {columns[j]!r} is empty in {int(partial.sum()):,} rows "
            "whose other probabilities are given",
            hint="give every group's probability in a row, or leave all of them empty for no estimate",
        )
    given = matrix[~empty]
    with np.errstate(invalid="ignore"):
        percent = (given >= 0).all(axis=1) & (np.abs(given.sum(axis=1) - 100) <= 100 * tolerance)
    if percent.any() and (given > 1).any():  # as the audit's pass tells them (audit.tables.proba STATES 5)
        raise InputError(
            f"{source}: the probabilities {', '.join(columns)} sum to 100 in {int(percent.sum()):,} rows (percentages)",
            hint="the values look like percentages: divide them by 100 (each row's must sum to 1)",
        )
    out_of_range = (matrix < 0) | (matrix > 1)
    if out_of_range.any():
        j = int(out_of_range.any(axis=0).argmax())
        raise InputError(
            f"{source}: column {columns[j]!r} has {int(out_of_range[:, j].sum()):,} values outside [0, 1]",
            hint="a probability lies between 0 and 1",
        )
    sums = matrix[~empty].sum(axis=1)
    off = np.abs(sums - 1) > tolerance
    if off.any():
        raise InputError(
            f"{source}: the probabilities {', '.join(columns)} do not sum to 1 (within {tolerance:g}) in "
            f"{int(off.sum()):,} rows",
            hint="each row's probabilities must cover every group once; leave all of them empty for no estimate",
        )
    return matrix
