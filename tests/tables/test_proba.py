"""Expected counts of a probabilistic feature (audit.tables.proba): the one pass against an independent
computation on expanded rows, the same table from rows, compact frames, DuckDB and Spark, and bad rows."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from audit.pipeline import run_audit
from audit.tables.groups import WEIGHT
from audit.tables.proba import (
    SCALE,
    STATE,
    ProbaError,
    ProbaTextError,
    compact_proba,
    count_proba,
    numbers_of,
    parse_proba,
    proba_sql,
    sort_compact,
)
from tests.flow.test_proxy_intersections import (  # noqa: F401 (a fixture)
    check_intersections_within_bounds,
    crossed_lending,
    run_crossed,
)
from tests.flow.test_proxy_lending import check_truth_within_bounds, lending, run_fairgate  # noqa: F401 (a fixture)
from tests.flow.test_proxy_score_bands import banded_lending, run_banded  # noqa: F401 (a fixture)
from tests.flow.test_proxy_segments import (  # noqa: F401 (a fixture)
    check_segments_within_bounds,
    run_segmented,
    segmented_lending,
)
from tests.flow.test_proxy_windows import check_windows_within_bounds, monthly_lending, run_monthly  # noqa: F401

SPEC = parse_proba("race=p_white,p_black,p_hispanic")
FIELDS = ("expected", "squares", "likely", "cell_rows", "cell_mass")


def synthetic(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([2.0, 1.0, 1.0], n)
    race = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 2)  # drawn from π
    p[:7] = np.nan  # unknown: every column empty
    p[7:20] = np.round(p[7:20], 4)  # rounded: sums off by < 1e-3, accepted and renormalised
    return pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "label": rng.integers(0, 2, n),
            "approved": (rng.random(n) < np.array([0.6, 0.4, 0.5])[race]).astype(int),
            "p_white": p[:, 0],
            "p_black": p[:, 1],
            "p_hispanic": p[:, 2],
        }
    )


def table_of(frame: pd.DataFrame):
    return count_proba(
        frame, spec=SPEC, sensitive=["sex"], y_true=frame["label"].to_numpy(), y_pred=frame["approved"].to_numpy()
    )


def test_expected_counts_equal_a_groupby_of_the_expanded_rows():
    frame = synthetic()
    table = table_of(frame)
    # independent: one row per (person, group) with weight π (normalised), summed by pandas
    p = frame[list(SPEC.columns)].to_numpy()
    known = np.isfinite(p).all(axis=1)
    p = np.where(known[:, None], p / np.where(known, p.sum(axis=1), 1)[:, None], 0)
    long = pd.concat(
        [frame.assign(group=level, w=p[:, k]) for k, level in enumerate(SPEC.levels)]
        + [frame.assign(group="unknown", w=(~known).astype(float))]
    )
    sums = long.groupby(["sex", "group", "label", "approved"])["w"].sum()
    squares = (long.assign(w=long["w"] ** 2)).groupby(["sex", "group", "label", "approved"])["w"].sum()
    for o, (sex,) in enumerate(table.other_keys):
        for g, group in enumerate(table.groups):
            for y in (0, 1):
                for d in (0, 1):
                    want = sums.get((sex, group, y, d), 0.0)
                    assert table.expected[o, g, y, d] == pytest.approx(want, rel=1e-9, abs=1e-6)
                    assert table.squares[o, g, y, d] == pytest.approx(
                        squares.get((sex, group, y, d), 0.0), rel=1e-9, abs=1e-6
                    )
    assert table.unknown_rows == 7
    assert table.expected.sum() == pytest.approx(len(frame), rel=1e-9)  # fixed point: ≤ 2⁻³³ per row and column
    assert table.likely.sum() == len(frame)


def test_rows_compact_frames_and_duckdb_give_the_identical_table():
    frame = synthetic()
    rows = table_of(frame)
    keep = ["sex", "label", "approved"]
    compact = compact_proba(frame, keep=keep, spec=SPEC)
    con = duckdb.connect()
    con.register("src", frame)
    sql = proba_sql(SPEC, keep=keep, source="src", quote=lambda c: '"' + c + '"', dialect="duckdb")
    from_duckdb = sort_compact(con.sql(sql).df(), [*keep, STATE, "__fairgate_ptop__", "__fairgate_pbin__"])
    pd.testing.assert_frame_equal(compact, from_duckdb, check_dtype=False)
    for other in (table_of(compact), table_of(from_duckdb)):
        for name in FIELDS:
            assert np.array_equal(getattr(rows, name), getattr(other, name)), name


def test_proxy_cells_are_kept_per_recorded_group():
    """cell_rows/cell_mass per other-features group (sex here), against an independent computation of the
    proxy cells (most likely group, the first of the largest; tenth of the largest probability) per sex;
    pooled over the groups they are the cells of the feature alone."""
    frame = synthetic()
    table = table_of(frame)
    assert table.cell_rows.shape == (2, 3, 10, 2, 2) and table.cell_mass.shape == (2, 3, 10, 2, 2, 3)
    p = frame[list(SPEC.columns)].to_numpy()
    valid = np.isfinite(p).all(axis=1)
    p = np.where(valid[:, None], p / np.where(valid, p.sum(axis=1), 1)[:, None], 0)
    top, binned = p.argmax(axis=1), np.minimum(np.floor(p.max(axis=1) * 10), 9).astype(int)
    y, d = frame["label"].to_numpy(), frame["approved"].to_numpy()
    for o, (sex,) in enumerate(table.other_keys):
        rows = np.zeros((3, 10, 2, 2))
        mass = np.zeros((3, 10, 2, 2, 3))
        mine = valid & (frame["sex"] == sex).to_numpy()
        np.add.at(rows, (top[mine], binned[mine], y[mine], d[mine]), 1)
        np.add.at(mass, (top[mine], binned[mine], y[mine], d[mine]), p[mine])
        assert np.array_equal(table.cell_rows[o], rows)
        assert np.allclose(table.cell_mass[o], mass, rtol=1e-9, atol=1e-6)
    pooled_rows, pooled_mass = table.cells()
    assert np.array_equal(pooled_rows, table.cell_rows.sum(axis=0).reshape(30, 4))
    assert pooled_rows.sum() == valid.sum()
    women_rows, women_mass = table.cells(np.array([0]))
    assert np.array_equal(women_rows, table.cell_rows[0].reshape(30, 4))
    assert np.allclose(pooled_mass, women_mass + table.cells(np.array([1]))[1], rtol=1e-12)


def test_fixed_point_sums_are_exact_integers_whatever_the_row_order():
    frame = synthetic()
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a, b = table_of(frame), table_of(shuffled)
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(a.expected * SCALE, np.round(a.expected * SCALE))


@pytest.mark.parametrize(
    ("values", "state"),
    [
        ((0.5, np.nan, 0.5), 2),  # some missing
        ((1.2, -0.2, 0.0), 3),  # negative
        ((0.5, 0.3, 0.1), 4),  # sums to 0.9
        ((np.inf, 0.0, 0.0), 4),
        ((50.0, 30.0, 20.0), 5),  # percentages
        ((50.0, 30.0, 20.09), 5),  # 100.09: within 100 × the tolerance of 100
        ((50.0, 30.0, 20.11), 4),  # 100.11: not
        ((0.5, 30.0, 69.5), 5),  # a total of 100, whatever the values: divided by 100 they sum to 1
    ],
)
def test_unusable_rows_are_counted_by_reason(values, state):
    frame = synthetic(200)
    frame.loc[[3, 5], list(SPEC.columns)] = values
    with pytest.raises(ProbaError) as caught:
        table_of(frame)
    assert caught.value.counts == {state: 2}
    assert "p_white, p_black, p_hispanic" in str(caught.value)


@pytest.mark.parametrize("text", ["race", "race=p_a", "=a,b", "race=p_a,p_a", "race=p_a,a", "race=p_unknown,p_b"])
def test_bad_specs_are_refused(text):
    with pytest.raises(ValueError):
        parse_proba(text)


def _proxy_section(path, engine, spark=None, **options):
    result = run_audit(
        data=path,
        policy="four-fifths",
        predictions="approved",
        positive_label="1",
        label="label",
        sensitive=["sex"],
        sensitive_proba=["race=p_white,p_black,p_hispanic"],
        engine=engine,
        ledger=False,
        **options,
    )
    return result.to_dict()


@pytest.fixture(scope="module")
def proba_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("proba") / "lending.parquet"
    synthetic(20_000, seed=5).to_parquet(path)
    return path


def test_numpy_and_duckdb_give_identical_evidence(proba_parquet, tmp_path):
    csv = tmp_path / "lending.csv"
    pd.read_parquet(proba_parquet).to_csv(csv, index=False)
    documents = [_proxy_section(p, e) for p in (proba_parquet, csv) for e in ("numpy", "duckdb")]
    assert [x["scope"] for x in documents[0]["proxy"]["intersections"]] == ["race × sex"]  # judged and compared
    for doc in documents[1:]:
        assert doc["proxy"] == documents[0]["proxy"]
        assert doc["groups"] == documents[0]["groups"]
        assert doc["items"] == documents[0]["items"]


def _labelled_parquet(tmp_path):
    frame = synthetic(6000, seed=9)
    rng = np.random.default_rng(9)
    top = np.nan_to_num(frame[list(SPEC.columns)].to_numpy(), nan=0).argmax(axis=1)
    frame["race_self"] = np.where(rng.random(len(frame)) < 0.3, np.array(SPEC.levels)[top], None)
    path = tmp_path / "labelled.parquet"
    frame.to_parquet(path)
    return frame, path


SELF_REPORTED = {"self_reported": "race=race_self", "where": ["sex == 'F'"]}


def test_self_reported_values_give_identical_evidence_on_every_engine(tmp_path):
    """With --sensitive-proba the SQL engines sum the probabilities in their pass: the proxy's quality on the
    labelled rows comes from a second grouped pass, and must equal the numpy engine's (and a row filter
    applies to it as to the audit)."""
    frame, path = _labelled_parquet(tmp_path)
    documents = [_proxy_section(path, engine, **SELF_REPORTED) for engine in ("numpy", "duckdb")]
    assert documents[0]["proxy"] == documents[1]["proxy"]
    assert documents[0]["items"] == documents[1]["items"]
    quality = documents[0]["proxy"]["self_reported"]["quality"]
    labelled = (frame["sex"] == "F") & frame["race_self"].notna() & frame["p_white"].notna()
    assert quality["labelled"] == int(labelled.sum())


def test_spark_gives_the_same_evidence_with_self_reported_values(tmp_path, spark):
    _, path = _labelled_parquet(tmp_path)
    assert (
        _proxy_section(path, "spark", **SELF_REPORTED)["proxy"]
        == _proxy_section(path, "numpy", **SELF_REPORTED)["proxy"]
    )


def test_spark_gives_the_same_evidence(proba_parquet, spark):
    from_spark = _proxy_section(proba_parquet, "spark")
    assert from_spark["proxy"]["intersections"]  # race × sex: per-stratum cells from Spark's GROUP BY too
    assert from_spark["proxy"] == _proxy_section(proba_parquet, "numpy")["proxy"]


def test_spark_sql_gives_the_identical_table_per_recorded_group(tmp_path, spark):
    """The table itself, per-stratum proxy cells included, from Spark's SQL pass over two recorded
    features, equal to the numpy pass over the rows (bit for bit: fixed-point sums)."""
    frame = synthetic(3000, seed=2)
    frame["age"] = np.random.default_rng(2).choice(["<40", "40+"], len(frame))
    path = tmp_path / "strata.parquet"
    frame.to_parquet(path)
    keep = ["sex", "age", "label", "approved"]
    spark.read.parquet(str(path)).createOrReplaceTempView("fairgate_test_strata")
    sql = proba_sql(SPEC, keep=keep, source="fairgate_test_strata", quote=lambda c: f"`{c}`", dialect="spark")
    compact = sort_compact(
        spark.sql(sql).toArrow().to_pandas(), [*keep, STATE, "__fairgate_ptop__", "__fairgate_pbin__"]
    )

    def table(f: pd.DataFrame):
        return count_proba(
            f, spec=SPEC, sensitive=["sex", "age"], y_true=f["label"].to_numpy(), y_pred=f["approved"].to_numpy()
        )

    rows, from_spark = table(frame), table(compact)
    assert rows.other_keys == from_spark.other_keys and len(rows.other_keys) == 4
    for name in FIELDS:
        assert np.array_equal(getattr(rows, name), getattr(from_spark, name)), name


def test_spark_bisg_audit_bounds_the_true_disparities(capsys, lending, spark):  # noqa: F811 (the fixture)
    root, rates = lending
    document, _ = run_fairgate(capsys, root, "spark", "lending.parquet")
    check_truth_within_bounds(document, rates)


def test_spark_intersection_audit_bounds_the_true_rates(capsys, crossed_lending, spark):  # noqa: F811 (the fixture)
    root, truth = crossed_lending
    document, _ = run_crossed(capsys, root, "spark", "crossed.parquet", "--self-reported", "race=race_self")
    check_intersections_within_bounds(document, truth)
    numpy, _ = run_crossed(capsys, root, "numpy", "crossed.parquet", "--self-reported", "race=race_self")
    assert document["proxy"] == numpy["proxy"] and document["items"] == numpy["items"]


def test_spark_segmented_audit_bounds_the_true_rates(capsys, segmented_lending, spark):  # noqa: F811 (the fixture)
    """segment_by on Spark: the product is one more key of its GROUP BY; the evidence equals numpy's."""
    root, truth = segmented_lending
    document, _ = run_segmented(capsys, root, "spark", "segmented.parquet", "--self-reported", "race=race_self")
    check_segments_within_bounds(document, truth)
    numpy, _ = run_segmented(capsys, root, "numpy", "segmented.parquet", "--self-reported", "race=race_self")
    assert document["proxy"] == numpy["proxy"] and document["items"] == numpy["items"]


def test_spark_score_band_audit_gives_the_same_evidence(capsys, banded_lending, spark):  # noqa: F811 (the fixture)
    """score_bands on Spark: the bands cut at the same scores (each compact row by its weight), the same
    expected counts per band, bit for bit."""
    root, *_ = banded_lending
    document, _, _ = run_banded(capsys, root, "spark", "banded.parquet")
    numpy, _, _ = run_banded(capsys, root, "numpy", "banded.parquet")
    assert len(document["proxy"]["segments"]["segments"]) == 4
    assert document["proxy"] == numpy["proxy"] and document["items"] == numpy["items"]


def test_spark_window_audit_bounds_the_true_rates(capsys, monthly_lending, spark):  # noqa: F811 (the fixture)
    """Time windows on Spark: the proxy counted per window from Spark's pass, equal to numpy's."""
    root, truth = monthly_lending
    document, _ = run_monthly(capsys, root, "spark", "monthly.parquet", "--self-reported", "race=race_self")
    check_windows_within_bounds(document, truth)
    numpy, _ = run_monthly(capsys, root, "numpy", "monthly.parquet", "--self-reported", "race=race_self")
    assert document["proxy"] == numpy["proxy"] and document["items"] == numpy["items"]


def awkward(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Rows that test the pass's shortcuts: ties for the largest value, one-hot rows (largest = 1.0, the
    last bin), values that normalise to the same double, -0.0, rounding within the tolerance, unknown
    rows as NaN and as nulls, a missing kept value."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([1.0, 0.5, 0.5], n)
    p[:100] = [0.5, 0.5, 0.0]
    p[100:200] = [1 / 3, 1 / 3, 1 / 3]
    p[200:300] = np.eye(3)[rng.integers(0, 3, 100)]
    x = rng.random(100) / 3
    p[300:400] = np.column_stack([x, np.nextafter(x, 1), 1 - 2 * x]) / 1.0000003
    p[400:500] = np.column_stack([p[400:500, 0], np.full(100, -0.0), 1 - p[400:500, 0]])
    p[500:700] = np.round(p[500:700], 4)
    p[700:710] = np.nan
    frame = pd.DataFrame(p, columns=list(SPEC.columns))
    frame["sex"] = pd.array(rng.choice(["F", "M"], n), dtype="string")
    frame.loc[5:9, "sex"] = pd.NA
    frame["label"] = rng.integers(0, 2, n).astype("int8")
    frame["approved"] = rng.integers(0, 2, n).astype("int8")
    return frame


def _engine_frames(frame: pd.DataFrame, tmp_path, *, doubles=SPEC.columns):
    """The compact frame of ``frame`` from compact_proba (rows), DuckDB's SQL (with and without casts) and
    the numpy engine's Arrow pass, all sorted alike."""
    import pyarrow as pa

    from audit.tables.engines.numpy import compact_proba_table

    keep = ["sex", "label", "approved"]
    by = [*keep, STATE, "__fairgate_ptop__", "__fairgate_pbin__"]
    con = duckdb.connect()
    con.register("src", frame)
    quote = lambda c: '"' + c + '"'  # noqa: E731
    frames = {"rows": compact_proba(frame, keep=keep, spec=SPEC)}
    for name, given in (("duckdb", doubles), ("duckdb cast", ())):
        sql = proba_sql(SPEC, keep=keep, source="src", quote=quote, dialect="duckdb", doubles=given)
        frames[name] = sort_compact(con.sql(sql).df(), by)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("sex"), "sex", table.column("sex").dictionary_encode())
    frames["numpy engine"] = compact_proba_table(table, keep=keep, spec=SPEC, text_columns=["sex"])
    return frames


def _same(frames: dict[str, pd.DataFrame]) -> None:
    """The same rows (values alike, whatever the dtypes and the order of categories) in every frame."""

    def rows(frame: pd.DataFrame) -> list[tuple]:
        values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        return sorted(values, key=repr)

    first = next(iter(frames.values()))
    for name, other in frames.items():
        assert other is not None, name
        assert list(other.columns) == list(first.columns), name
        assert rows(other) == rows(first), name


def test_every_pass_gives_the_identical_compact_frame_on_awkward_rows(tmp_path):
    frame = awkward()
    frames = _engine_frames(frame, tmp_path)
    _same(frames)
    table = table_of(frames["numpy engine"])
    assert table.unknown_rows == 10
    assert table.rows == len(frame)


def test_non_double_probability_columns_give_the_same_frame(tmp_path):
    frame = awkward()
    frame[list(SPEC.columns)] = frame[list(SPEC.columns)].astype("float32")
    _same(_engine_frames(frame, tmp_path, doubles=()))
    one_hot = awkward().iloc[200:300].reset_index(drop=True)
    one_hot[list(SPEC.columns)] = one_hot[list(SPEC.columns)].astype("int64")
    _same(_engine_frames(one_hot, tmp_path, doubles=()))


@pytest.mark.parametrize(
    ("values", "state"),
    [
        ((0.5, np.nan, 0.5), 2),
        ((1.2, -0.2, 0.0), 3),
        ((0.5, 0.3, 0.1), 4),
        ((np.inf, 0.0, 0.0), 4),
        ((50.0, 30.0, 20.09), 5),
        ((50.0, 30.0, 20.11), 4),
    ],
)
def test_unusable_rows_are_counted_alike_by_every_pass(values, state, tmp_path):
    frame = awkward(800)
    frame.loc[[3, 50, 51], list(SPEC.columns)] = values
    frames = _engine_frames(frame, tmp_path)
    _same(frames)
    counts = frames["duckdb"].groupby(STATE)[WEIGHT].sum().to_dict()
    assert counts[state] == 3 and counts[1] == 10


def test_totals_do_not_depend_on_the_chunks(monkeypatch, tmp_path):
    from audit.tables import proba

    frame = awkward()
    before = _engine_frames(frame, tmp_path)["numpy engine"]
    monkeypatch.setattr(proba, "TOTALS_CHUNK", 97)
    after = _engine_frames(frame.sample(frac=1.0, random_state=1).reset_index(drop=True), tmp_path)["numpy engine"]
    pd.testing.assert_frame_equal(before, after)


def test_text_that_is_not_a_number_is_named_not_read_as_missing():
    """numpy names the text and how many rows hold it; the words for "no value" are missing values."""
    values = pd.Series(["0.5", "", " NA ", "null", None, "high", "0.25", "n/a", "high"], dtype=object)
    with pytest.raises(ProbaTextError) as caught:
        numbers_of(values, "p_white")
    assert str(caught.value) == "probability column 'p_white' holds text that is not a number: 'high' (2 rows)"
    fine = numbers_of(values[values != "high"], "p_white")
    assert fine[0] == 0.5 and fine[-2] == 0.25 and np.isnan(fine[[1, 2, 3, 4, 6]]).all()
    assert numbers_of(pd.Series([0.5, np.nan]), "p").tolist()[0] == 0.5  # numbers pass as they are


def test_text_rows_are_counted_by_the_sql_pass_and_refused_by_numpy(tmp_path):
    """DuckDB's pass (the columns are text, so cast) counts a row holding text in its own state; rows
    of "no value" words are unknown on every pass, as NaN rows are."""
    import pyarrow as pa

    from audit.tables.engines.numpy import compact_proba_table

    frame = awkward(800)
    text = frame.copy()
    for c in SPEC.columns:
        text[c] = [str(float(v)) for v in frame[c]]  # as exact as the doubles (repr)
    text.loc[20:22, list(SPEC.columns)] = "NA"
    numbers = frame.copy()
    numbers.loc[20:22, list(SPEC.columns)] = np.nan
    keep = ["sex", "label", "approved"]
    quote = lambda c: '"' + c + '"'  # noqa: E731
    con = duckdb.connect()
    con.register("src", text)
    by = [*keep, STATE, "__fairgate_ptop__", "__fairgate_pbin__"]
    sql = proba_sql(SPEC, keep=keep, source="src", quote=quote, dialect="duckdb", texts=SPEC.columns)
    _same({"duckdb on text": sort_compact(con.sql(sql).df(), by), "rows": compact_proba(numbers, keep=keep, spec=SPEC)})
    text.loc[7, "p_black"] = "high"
    con.register("src", text)
    counts = con.sql(sql).df().groupby(STATE)[WEIGHT].sum().to_dict()
    assert counts[6] == 1 and counts[1] == 10 + 3
    text.loc[9, "p_hispanic"] = "low"
    with pytest.raises(ProbaTextError) as caught:  # every column holding text, each with an example
        compact_proba(text, keep=keep, spec=SPEC)
    assert str(caught.value) == (
        "probability columns hold text that is not a number: 'p_black': 'high' (1 row); 'p_hispanic': 'low' (1 row)"
    )
    table = pa.Table.from_pandas(text, preserve_index=False)
    with pytest.raises(ProbaTextError, match="'p_hispanic': 'low' \\(1 row\\)"):
        compact_proba_table(table, keep=keep, spec=SPEC, text_columns=["sex"])


#: Text values each engine's own number parser reads differently (DuckDB: "1_0" is 10, "-nan" NaN; Spark:
#: "1d", "0.5f", "0x1p-1" are numbers; Python strips "\xa0"): read alike everywhere through NUMBER and BLANKS.
TRICKY = ["\t", "\n", " 0.5 ", "\t0.5\n", "-nan", "1_0", "1d", "0.5f", "0x1p-1", "\xa0", "inf", "+.5", "5.", "5e-1"]
TRICKY += ["NA", "", "null", "0.5e", "٠.5", "1e400", ".", "-0.0"]


def _tricky_frame() -> pd.DataFrame:
    """One row per tricky value in p_white, with p_black and p_hispanic as text too."""
    n = len(TRICKY)
    return pd.DataFrame(
        {
            "sex": ["F"] * n,
            "label": np.zeros(n, "int8"),
            "approved": np.ones(n, "int8"),
            "p_white": TRICKY,
            "p_black": ["0.5"] * n,
            "p_hispanic": ["0"] * n,
        }
    )


def _state_of_each(frame: pd.DataFrame) -> list:
    """Per row of ``frame``: 'text' when numpy refuses its text, else the state numpy gives it."""
    out = []
    for i in range(len(frame)):
        row = frame.iloc[[i]].reset_index(drop=True)
        try:
            compact = compact_proba(row, keep=["sex"], spec=SPEC)
        except ProbaTextError:
            out.append("text")
            continue
        out.append(int(compact[STATE].iloc[0]))
    return out


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_text_values_are_read_alike_by_numpy_and_duckdb(value):
    row = _tricky_frame().iloc[[TRICKY.index(value)]].reset_index(drop=True)
    con = duckdb.connect()
    con.register("src", row)
    quote = lambda c: '"' + c + '"'  # noqa: E731
    sql = proba_sql(SPEC, keep=["sex"], source="src", quote=quote, dialect="duckdb", texts=SPEC.columns)
    state = int(con.sql(sql).df()[STATE].iloc[0])
    (numpy_state,) = _state_of_each(row)
    assert ("text" if state == 6 else state) == numpy_state, value
    if state == 0:  # a number: the same sums, to the bit
        by = ["sex", STATE, "__fairgate_ptop__", "__fairgate_pbin__"]
        _same({"duckdb": sort_compact(con.sql(sql).df(), by), "rows": compact_proba(row, keep=["sex"], spec=SPEC)})


def test_the_tricky_values_fall_where_expected():
    """The reading itself, against a hand-made table: blanks stripped, plain decimals read, NA words missing,
    every other spelling text."""
    states = dict(zip(TRICKY, _state_of_each(_tricky_frame()), strict=True))
    for value in (" 0.5 ", "\t0.5\n"):  # 0.5 + 0.5 + 0: valid
        assert states[value] == 0
    for value in ("+.5", "5e-1", "-0.0", "5."):  # numbers; 5 + 0.5 is off 1, −0.0 + 0.5 is too
        assert states[value] in (0, 4)
    for value in ("\t", "\n", "NA", "", "null"):  # no value: some missing
        assert states[value] == 2
    for value in ("-nan", "1_0", "1d", "0.5f", "0x1p-1", "\xa0", "inf", "0.5e", "٠.5", "."):
        assert states[value] == "text", value


def test_spark_reads_the_tricky_text_values_as_numpy_does(tmp_path, spark):
    frame = _tricky_frame()
    frame["row"] = np.arange(len(frame))
    path = tmp_path / "tricky.parquet"
    frame.to_parquet(path)
    spark.read.parquet(str(path)).createOrReplaceTempView("fairgate_test_tricky")
    sql = proba_sql(
        SPEC,
        keep=["row"],
        source="fairgate_test_tricky",
        quote=lambda c: f"`{c}`",
        dialect="spark",
        texts=SPEC.columns,
    )
    got = spark.sql(sql).toArrow().to_pandas().sort_values("row")
    spark_states = ["text" if s == 6 else int(s) for s in got[STATE]]
    assert spark_states == _state_of_each(frame.drop(columns="row"))
