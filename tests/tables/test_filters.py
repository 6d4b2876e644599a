"""Row filters (issue 18, item 1): one parsed grammar, the same rows on pandas, DuckDB and Spark."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.tables.filters import Clause, FilterError, pandas_mask, parse_clause, parse_filter
from tests.conftest import shared_data

# --- independent references: the same parsed clause as DuckDB SQL and as a Spark column expression ---


def sql(clause: Clause, quote: Any) -> tuple[str, list[Any]]:
    """(SQL condition, bound parameters) for DuckDB; ``quote`` quotes an identifier."""
    column = quote(clause.column)
    if clause.op == "is null":
        return f"{column} IS NULL", []
    if clause.op == "is not null":
        return f"{column} IS NOT NULL", []
    if clause.op in ("between", "not between"):
        inside = f"({column} BETWEEN ? AND ?)"
        # NOT BETWEEN must still drop missing values, as pandas and Spark do
        return (inside if clause.op == "between" else f"({column} IS NOT NULL AND NOT {inside})"), list(clause.values)
    if clause.op in ("in", "not in"):
        marks = ", ".join("?" for _ in clause.values)
        keyword = "IN" if clause.op == "in" else "NOT IN"
        return f"({column} IS NOT NULL AND {column} {keyword} ({marks}))", list(clause.values)
    return f"({column} {clause.op.replace('==', '=')} ?)", list(clause.values)


def spark_condition(clause: Clause) -> Any:
    """A Spark Column that is true exactly where ``clause`` is met (missing values not met)."""
    from pyspark.sql import functions as F  # noqa: N812 - Spark's convention

    column = F.col(f"`{clause.column.replace('`', '``')}`")
    if clause.op == "is null":
        return column.isNull()
    if clause.op == "is not null":
        return column.isNotNull()
    present = column.isNotNull()
    if clause.op in ("between", "not between"):
        inside = column.between(F.lit(clause.values[0]), F.lit(clause.values[1]))
        return present & (inside if clause.op == "between" else ~inside)
    if clause.op in ("in", "not in"):
        member = column.isin([F.lit(v) for v in clause.values])
        return present & (member if clause.op == "in" else ~member)
    value = F.lit(clause.values[0])
    compared = {
        "==": column == value,
        "!=": column != value,
        "<": column < value,
        "<=": column <= value,
        ">": column > value,
        ">=": column >= value,
    }[clause.op]
    return present & compared


PROPUBLICA = [
    "days_b_screening_arrest between -30 and 30",
    "is_recid != -1",
    "c_charge_degree != 'O'",
    "score_text != 'N/A'",
]

FRAME = pd.DataFrame(
    {
        "n": [1, 2, 3, None, 5, -1],
        "t": ["a", "b", None, "it's", "O", "N/A"],
        "two words": [10, 20, 30, 40, 50, 60],
    }
)


@pytest.mark.parametrize(
    ("clause", "rows"),
    [
        ("n = 2", [1]),
        ("n == 2", [1]),
        ("n != 2", [0, 2, 4, 5]),
        ("n <> 2", [0, 2, 4, 5]),
        ("n < 2", [0, 5]),
        ("n <= 2", [0, 1, 5]),
        ("n > 2", [2, 4]),
        ("n >= 2", [1, 2, 4]),
        ("n between -1 and 2", [0, 1, 5]),
        ("n not between -1 and 2", [2, 4]),
        ("n in (1, 5)", [0, 4]),
        ("n not in (1, 5)", [1, 2, 5]),
        ("n is null", [3]),
        ("n is not null", [0, 1, 2, 4, 5]),
        ("t = 'it''s'", [3]),
        ("t != 'O'", [0, 1, 3, 5]),
        ("t not in ('O', 'N/A')", [0, 1, 3]),
        ('"two words" >= 40', [3, 4, 5]),
        ("n >= 1.5e0", [1, 2, 4]),
    ],
)
def test_each_operator_meets_sql_semantics(clause, rows):
    """Expected rows worked by hand: a comparison with a missing value is never met (SQL), except IS NULL."""
    parsed = parse_clause(clause)
    assert list(np.flatnonzero(pandas_mask(parsed, FRAME[parsed.column]))) == rows
    import duckdb

    con = duckdb.connect()
    con.register("frame", FRAME)
    condition, params = sql(parsed, lambda name: '"' + name.replace('"', '""') + '"')
    got = con.execute(
        f"SELECT rowid FROM (SELECT row_number() OVER () - 1 AS rowid, * FROM frame) WHERE {condition} ORDER BY rowid",
        params,
    ).fetchall()
    assert [r[0] for r in got] == rows


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        ("n", "not understood"),
        ("= 3", "must start with a column name"),
        ("n > ", "expected one value"),
        ("n > open('/etc/passwd')", "expected one value"),
        ("n > __import__", "not a value"),
        ("n between 1", "between A and B"),
        ("n in 1, 2", "in (A, B"),
        ("n > 1; DROP TABLE x", "unexpected"),
        ("n > 1 or n < 0", "expected one value"),
        ("", "empty"),
        ("n > 1e999", "not a finite number"),
        ("t > x", "not a value"),
    ],
)
def test_bad_clauses_are_refused_naming_the_clause(clause, fragment):
    with pytest.raises(FilterError) as err:
        parse_clause(clause)
    assert repr(clause) in str(err.value) and fragment in str(err.value)


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        ("t > 3", "holds text"),
        ("n = 'x'", "holds numbers"),
        ("n = true", "not true/false"),
    ],
)
def test_type_mismatches_are_refused(clause, fragment):
    parsed = parse_clause(clause)
    with pytest.raises(FilterError, match=fragment):
        pandas_mask(parsed, FRAME[parsed.column])


def test_propublica_filter_reproduces_the_published_row_count():
    """ProPublica's COMPAS analysis keeps 6,172 of the 7,214 rows (compas-analysis, Cox model notebook)."""
    data = pd.read_csv(shared_data("compas-scores-two-years.csv"))
    assert len(data) == 7214
    mask = np.ones(len(data), dtype=bool)
    for clause in parse_filter(PROPUBLICA):
        mask &= pandas_mask(clause, data[clause.column])
    assert int(mask.sum()) == 6172


def test_spark_meets_the_same_rows(spark):
    frame = spark.createDataFrame(FRAME.assign(i=range(len(FRAME))).astype({"n": "float64"}))
    for clause in [
        "n != 2",
        "n not between -1 and 2",
        "n not in (1, 5)",
        "t != 'O'",
        "n is null",
        '"two words" >= 40',
        "t not in ('O', 'N/A')",
    ]:
        parsed = parse_clause(clause)
        got = sorted(r["i"] for r in frame.where(spark_condition(parsed)).select("i").collect())
        assert got == list(np.flatnonzero(pandas_mask(parsed, FRAME[parsed.column]))), clause
