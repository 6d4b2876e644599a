"""A probabilistic feature with self-reported values (audit.tables.labelled): labelled people count in their
recorded group with weight 1, the proxy cells hold only the others, and rows, compact frames and DuckDB's
one pass give the identical tables."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from audit.tables.labelled import count_labelled
from audit.tables.proba import BIN, STATE, TOP, compact_proba, count_proba, proba_sql, sort_compact
from tests.tables.test_proba import SPEC, synthetic

FIELDS = ("expected", "squares", "likely", "cell_rows", "cell_mass")


def labelled_frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    frame = synthetic(n, seed)
    rng = np.random.default_rng(seed + 1)
    values = np.array(["White", "black ", "HISPANIC", "martian", ""], dtype=object)
    frame["race_self"] = np.where(rng.random(n) < 0.25, values[rng.integers(0, 5, n)], None)
    frame.loc[0, "race_self"] = "black"  # row 0 has no probabilities (unknown): its value places it
    return frame


def table_of(frame: pd.DataFrame):
    return count_labelled(
        frame,
        spec=SPEC,
        column="race_self",
        sensitive=["sex"],
        y_true=frame["label"].to_numpy(),
        y_pred=frame["approved"].to_numpy(),
    )


def test_labelled_people_count_in_their_recorded_group_and_leave_the_proxy_cells():
    frame = labelled_frame()
    got = table_of(frame)
    code = frame["race_self"].astype("string").str.strip().str.casefold().map({"white": 0, "black": 1, "hispanic": 2})
    hit = code.notna().to_numpy()
    assert got.labelled == int(hit.sum()) and got.unmatched == int((frame["race_self"] == "martian").sum())
    # independent: the probabilities of labelled rows replaced by the indicator of their group, counted as rows
    p = frame[list(SPEC.columns)].to_numpy().copy()
    p[hit] = np.eye(3)[code[hit].astype(int)]
    onehot = frame.assign(**{c: p[:, j] for j, c in enumerate(SPEC.columns)})
    want = count_proba(
        onehot, spec=SPEC, sensitive=["sex"], y_true=frame["label"].to_numpy(), y_pred=frame["approved"].to_numpy()
    )
    assert np.array_equal(got.table.expected, want.expected) and np.array_equal(got.table.likely, want.likely)
    rest = frame[~hit].reset_index(drop=True)
    others = count_proba(
        rest, spec=SPEC, sensitive=["sex"], y_true=rest["label"].to_numpy(), y_pred=rest["approved"].to_numpy()
    )
    assert np.array_equal(got.table.cell_rows, others.cell_rows) and np.array_equal(
        got.table.cell_mass, others.cell_mass
    )
    # per recorded stratum (sex), recorded group and outcome cell: the narrowed bounds of an intersection
    known = pd.crosstab([frame["sex"][hit], code[hit], frame["label"][hit]], frame["approved"][hit])
    strata = [key for (key,) in got.table.other_keys]
    for (sex, g, y), row in known.iterrows():
        for d, n in row.items():
            assert got.known[strata.index(sex), int(g), y, d] == n
    assert got.known.sum() == got.labelled
    assert got.proxy.unknown_rows == 7  # rows 0-6 have no probabilities; those with a value are placed by it
    assert got.table.unknown_rows == 7 - int(hit[:7].sum()) and hit[0]


def test_rows_compact_frames_and_duckdb_give_the_identical_labelled_tables():
    frame = labelled_frame()
    rows = table_of(frame)
    keep = ["sex", "label", "approved", "race_self"]
    compact = compact_proba(frame, keep=keep, spec=SPEC)
    con = duckdb.connect()
    con.register("src", frame)
    sql = proba_sql(SPEC, keep=keep, source="src", quote=lambda c: '"' + c + '"', dialect="duckdb")
    from_duckdb = sort_compact(con.sql(sql).df(), [*keep, STATE, TOP, BIN])
    for other in (table_of(compact), table_of(from_duckdb)):
        for part in ("proxy", "table"):
            for name in FIELDS:
                assert np.array_equal(getattr(getattr(rows, part), name), getattr(getattr(other, part), name)), name
        assert np.array_equal(rows.known, other.known)
        assert (rows.labelled, rows.unmatched) == (other.labelled, other.unmatched)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_nobody_or_everybody_labelled(share):
    frame = synthetic(300)
    frame = frame[frame["p_white"].notna()].reset_index(drop=True)
    top = frame[list(SPEC.columns)].to_numpy().argmax(axis=1)
    frame["race_self"] = np.where(np.arange(len(frame)) < share * len(frame), np.array(SPEC.levels)[top], None)
    got = table_of(frame)
    if share == 0.0:
        assert got.labelled == 0 and np.array_equal(got.table.expected, got.proxy.expected)
    else:
        assert got.labelled == len(frame) and got.table.cell_rows.sum() == 0
        assert np.array_equal(got.table.expected, got.table.likely.astype(float))
