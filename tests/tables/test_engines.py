"""Every engine gives the same results.json, byte for byte, on real and generated data."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import pipeline
from audit.errors import InputError, UsageError
from audit.policy.load import load_context
from audit.report.results import canonical_json
from audit.tables.engines import choose_engine, open_engine
from audit.tables.engines.files import resolve
from audit.tables.engines.interface import EngineOptions
from audit.tables.scores import sample_median
from tests.conftest import REPO, shared_data

ADULT = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]


def run_audit(*args, **kw):
    """Engines compared document to document: no ledger head (it moves with every recorded audit)."""
    return pipeline.run_audit(*args, ledger=False, **kw)


def _audit(data, engine, **kw):
    return canonical_json(run_audit(data=data, engine=engine, **kw).to_dict())


def _same_everywhere(data, engines, **kw):
    docs = {e: _audit(data, e, **kw) for e in engines}
    first = docs[engines[0]]
    for engine, doc in docs.items():
        assert doc == first, f"{engine} differs from {engines[0]}"
    return first


@pytest.fixture(scope="module")
def compas_parquet(tmp_path_factory):
    from audit.inputs.dataset import load_dataset

    frame = load_dataset(
        shared_data("compas-scores-two-years.csv"),
        columns=["race", "sex", "age_cat", "two_year_recid", "decile_score"],
        text_columns=["race", "sex", "age_cat"],
    )
    path = tmp_path_factory.mktemp("compas") / "compas.parquet"
    frame.to_parquet(path)
    return path


def test_compas_csv_numpy_and_duckdb_identical():
    data = shared_data("compas-scores-two-years.csv")
    doc = _same_everywhere(
        data,
        ["numpy", "duckdb"],
        policy="equalized-odds",
        scores="decile_score",
        threshold=5,
        label="two_year_recid",
        sensitive=["race", "sex"],
    )
    assert b'"rows": 7214' in doc


@pytest.mark.slow
def test_compas_parquet_identical_on_every_engine_with_the_ll144_median(compas_parquet, spark):
    doc = _same_everywhere(
        compas_parquet,
        ["numpy", "duckdb", "spark"],
        policy="nyc-ll144",
        scores="decile_score",
        threshold="median",
        sensitive=["race", "sex", "age_cat"],
        context=load_context(REPO / "examples" / "ll144" / "context.yaml"),
    )
    import json

    parsed = json.loads(doc)
    frame = pd.read_parquet(compas_parquet)
    overall = next(g for g in parsed["groups"] if g["id"] == "overall")
    # independent: the share of people scoring strictly above the sample median
    assert overall["score_metrics"]["scoring_rate"]["value"] == pytest.approx(
        (frame.decile_score > frame.decile_score.median()).mean()
    )


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """Adult (../shared/data) as Parquet, and a small scikit-learn model saved with skops."""
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_csv(shared_data("adult.data"), names=ADULT, skipinitialspace=True, na_values="?")
    frame = frame.head(12_000)
    features = ["age", "hours_per_week", "education_num", "sex", "race"]
    model = make_pipeline(
        ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), ["sex", "race"]), ("num", StandardScaler(), features[:3])]
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(frame[features].head(4000), frame["income"].head(4000))
    root = tmp_path_factory.mktemp("adult")
    sio.dump(model, root / "m.skops")
    holdout = frame.iloc[4000:].reset_index(drop=True)
    # an integer sensitive feature with missing values: the group "1" on every engine, never "1.0"
    holdout["kids"] = pd.array(
        np.where(np.arange(len(holdout)) % 7 == 0, None, np.arange(len(holdout)) % 3), dtype="Int64"
    )
    pq.write_table(
        pa.Table.from_pandas(holdout, preserve_index=False), root / "adult.parquet", row_group_size=3000
    )  # several row groups: batches must be re-cut to the model's size
    return root / "adult.parquet", root / "m.skops", model, holdout, features


@pytest.mark.slow
def test_adult_with_a_model_identical_on_every_engine(adult, spark):
    data, model_path, model, holdout, features = adult
    doc = _same_everywhere(
        data,
        ["numpy", "duckdb", "spark"],
        policy="equalized-odds",
        model=model_path,
        label="income",
        positive_label=">50K",
        sensitive=["sex", "race", "kids"],
    )
    import json

    parsed = json.loads(doc)
    assert {g["id"] for g in parsed["groups"]} >= {"kids=0", "kids=1", "kids=2", "kids=unknown"}
    overall = next(g for g in parsed["groups"] if g["id"] == "overall")
    expected = (model.predict(holdout[features]) == ">50K").mean()
    assert overall["metrics"]["selection_rate"]["value"] == pytest.approx(expected)
    auc = overall["score_metrics"]["auc"]["value"]
    from sklearn.metrics import roc_auc_score

    assert auc == pytest.approx(
        roc_auc_score(holdout["income"] == ">50K", model.predict_proba(holdout[features])[:, 1]), abs=1e-12
    )


def test_adult_regression_identical(adult):
    data, *_ = adult
    _same_everywhere(
        data,
        ["numpy", "duckdb"],
        policy="regression-error-parity",
        task="regression",
        label="hours_per_week",
        predictions="education_num",
        sensitive=["sex"],
    )


# --- generated data ------------------------------------------------------------------------------

messy = st.sampled_from(["a", "b", " a", "b ", "", "  ", None, "unknown", "Ç"])
rows = st.lists(
    st.tuples(
        messy,
        st.sampled_from(["x", "y", None]),
        st.booleans(),
        st.booleans(),
        st.integers(0, 20),
        st.sampled_from([1, 2, None]),
    ),
    min_size=1,
    max_size=120,
)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, as_csv=st.booleans())
def test_generated_data_identical_in_numpy_and_duckdb(tmp_path, data, as_csv):
    frame = pd.DataFrame(data, columns=["f", "g", "label", "pred", "score", "h"])
    frame["score"] = frame["score"] / 20  # probabilities with ties
    frame["h"] = frame["h"].astype("Int64")  # an integer sensitive feature, with missing values
    path = tmp_path / ("d.csv" if as_csv else "d.parquet")
    if as_csv:
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    for kw in ({"predictions": "pred"}, {"scores": "score", "threshold": "median"}):
        docs = {}
        for engine in ("numpy", "duckdb"):
            try:
                docs[engine] = _audit(
                    path, engine, policy="equalized-odds", label="label", sensitive=["f", "g", "h"], **kw
                )
            except InputError as exc:
                docs[engine] = str(exc).encode()
        assert docs["numpy"] == docs["duckdb"]


def _rows_only(monkeypatch):
    """Make the numpy engine hand over the rows themselves, never a compact frame."""
    import audit.tables.engines.numpy as numpy_engine

    monkeypatch.setattr(numpy_engine, "discrete", lambda kind: False)


discrete_rows = st.lists(
    st.tuples(
        messy,
        st.sampled_from([1, 2, None]),
        st.sampled_from([0, 1, None]),
        st.sampled_from([True, False, None]),
        st.sampled_from(["2024-01-03", "2024-02-09"]),
        st.sampled_from([1, 5, 9, None]),
    ),
    min_size=1,
    max_size=120,
)
AUDITS = {
    "equalized-odds": dict(policy="equalized-odds", label="label", predictions="pred"),
    "duplicates": dict(policy="eu-ai-act-art10-data", label="label", predictions="pred"),
    "regression": dict(policy="regression-error-parity", task="regression", label="hours", predictions="label"),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=discrete_rows, audit=st.sampled_from(sorted(AUDITS)))
def test_numpy_engine_compact_parquet_equals_its_rows(tmp_path_factory, data, audit):
    """The numpy engine's Arrow-aggregated frame gives the audit its rows give, byte for byte (the
    errors too, row counts included): blanks, whitespace and missing values in text, integer and
    boolean columns, exact duplicates, integer regression targets."""
    frame = pd.DataFrame(data, columns=["f", "g", "label", "pred", "day", "hours"])
    frame["g"] = frame["g"].astype("Int64")  # integer sensitive feature with missing values
    frame["label"] = frame["label"].astype("Int8")
    frame["hours"] = frame["hours"].astype("Int16")
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    path = tmp_path_factory.mktemp("compact") / "d.parquet"
    frame.to_parquet(path)
    kw = dict(AUDITS[audit], sensitive=["f", "g"])

    def run() -> bytes:
        try:
            return _audit(path, "numpy", **kw)
        except InputError as exc:
            return str(exc).encode()

    import audit.tables.engines.numpy as numpy_engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numpy_engine, "MAX_SHARE", 1.0)  # compact even when few rows repeat
        compact = run()
    with pytest.MonkeyPatch.context() as patch:
        _rows_only(patch)
        rows = run()
    assert compact == rows


def test_numpy_engine_compacts_discrete_parquet_only(tmp_path, compas_parquet):
    from audit.tables.groups import WEIGHT

    engine = open_engine(compas_parquet, "numpy")
    cols = ["race", "sex", "two_year_recid"]
    frame, _ = engine.read(columns=cols, keep=cols, text_columns=["race", "sex"])
    source = pd.read_parquet(compas_parquet)
    assert frame[WEIGHT].sum() == len(source) and len(frame) == len(source.groupby(cols, dropna=False))
    expected = {tuple(map(str, k)): int(v) for k, v in source.groupby(cols, dropna=False).size().items()}
    got = {tuple(map(str, r[:3])): int(r[3]) for r in frame[[*cols, WEIGHT]].itertuples(index=False)}
    assert got == expected
    # a continuous column (scores) is handed over row by row
    cols = ["race", "decile_score"]
    source["decile_score"] = source["decile_score"].astype(float)
    source.to_parquet(tmp_path / "f.parquet")
    frame, _ = open_engine(tmp_path / "f.parquet", "numpy").read(columns=cols, keep=cols, text_columns=["race"])
    assert WEIGHT not in frame.columns and len(frame) == len(source)
    # nor is a table whose rows are mostly distinct (an identifier among the columns)
    source["id"] = np.arange(len(source))
    source.to_parquet(tmp_path / "i.parquet")
    cols = ["race", "id"]
    frame, _ = open_engine(tmp_path / "i.parquet", "numpy").read(columns=cols, keep=cols, text_columns=["race"])
    assert WEIGHT not in frame.columns and len(frame) == len(source)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5, allow_nan=False), st.integers(1, 4)), min_size=1, max_size=30))
def test_weighted_median_equals_numpy_median_of_the_rows(pairs):
    values = np.array([p[0] for p in pairs])
    weights = np.array([p[1] for p in pairs])
    assert sample_median(values, weights) == np.median(np.repeat(values, weights))


# --- out of core ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_duckdb_audits_a_parquet_larger_than_its_memory_limit(tmp_path):
    """40 MB memory limit, a Parquet file over 160 MB: counts exact (known from the generator)."""
    import duckdb

    n = 12_000_000
    path = tmp_path / "big.parquet"
    duckdb.sql(f"""COPY (SELECT ['p','q','r'][(i % 3) + 1] AS a, (i // 3) % 2 AS label, (i // 6) % 2 AS pred,
                   hash(i)::DOUBLE AS filler1, hash(i + {n})::DOUBLE AS filler2
                   FROM range({n}) t(i)) TO '{path}' (FORMAT parquet, COMPRESSION uncompressed)""")
    assert path.stat().st_size > 160e6
    engine = open_engine(path, "duckdb", EngineOptions(memory_limit="40MB", temp_directory=tmp_path / "spill"))
    try:
        limit = engine.connection().sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.replace(" ", "").upper().startswith(("38.1MIB", "40.0MB", "40MB", "38.1MB"))
    finally:
        engine.close()
    result = run_audit(
        data=path,
        engine="duckdb",
        engine_options=EngineOptions(memory_limit="40MB"),
        policy="equalized-odds",
        label="label",
        predictions="pred",
        sensitive=["a"],
    )
    assert result.rows == n
    # rows i with i % 12 in a fixed residue class share (a, label, pred): each cell holds n/12 rows
    assert (result.table.counts == n // 12).all()


def test_directory_and_glob_inputs_hash_every_file_in_a_defined_order(tmp_path, compas_parquet):
    frame = pd.read_parquet(compas_parquet)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[chunk].to_parquet(parts / f"part-{i}.parquet")
    kw = dict(policy="four-fifths", scores="decile_score", threshold=5, sensitive=["race", "sex"])
    single = run_audit(data=compas_parquet, engine="numpy", **kw).to_dict()
    for spec in (parts, str(parts / "part-*.parquet")):
        doc = run_audit(data=spec, engine="duckdb", **kw).to_dict()
        dataset = doc["provenance"]["inputs"][0]
        listing = "".join(
            f"part-{i}.parquet\t{(parts / f'part-{i}.parquet').stat().st_size}\t"
            f"{hashlib.sha256((parts / f'part-{i}.parquet').read_bytes()).hexdigest()}\n"
            for i in range(3)
        )
        assert dataset["sha256"] == hashlib.sha256(listing.encode()).hexdigest()
        assert dataset["size_bytes"] == sum(p.stat().st_size for p in parts.iterdir())
        for key in ("groups", "findings", "disparities", "audit"):
            assert doc[key] == single[key]


def test_auto_engine_sends_large_parquet_and_globs_to_duckdb(tmp_path, compas_parquet, monkeypatch):
    files = resolve(compas_parquet)
    assert choose_engine(files, EngineOptions()) == "numpy"
    assert choose_engine(files, EngineOptions(threshold=0.0)) == "duckdb"
    monkeypatch.setenv("FAIRGATE_ENGINE_THRESHOLD", "0")
    assert choose_engine(files, EngineOptions()) == "duckdb"
    assert choose_engine(resolve(str(compas_parquet.parent / "*.parquet")), EngineOptions(threshold=1)) == "duckdb"
    assert choose_engine(resolve(shared_data("compas-scores-two-years.csv")), EngineOptions(threshold=0)) == "numpy"


def _weighted_parquet(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(3)
    p = rng.dirichlet([1.0, 1.0], rows)
    frame = pd.DataFrame({"label": rng.integers(0, 2, rows), "pred": rng.integers(0, 2, rows)})
    frame["sex"] = rng.choice(["F", "M"], rows)
    frame["p_a"], frame["p_b"] = p[:, 0], p[:, 1]
    frame.to_parquet(path, row_group_size=100)
    return path


def test_auto_engine_counts_a_large_weighted_parquet_audit_in_duckdb(tmp_path, monkeypatch):
    """The weighted pass is faster in DuckDB from a few million rows on: auto sends a weighted audit of
    Parquet with at least WEIGHTED_ROWS rows there (exactly at the limit: DuckDB; one row fewer: numpy),
    an unweighted one or a CSV file stays in numpy, and the results are the same bytes either way."""
    from audit.tables import engines
    from audit.tables.engines.duckdb import DuckdbEngine

    data = _weighted_parquet(tmp_path / "w.parquet", 250)
    files = resolve(data)
    monkeypatch.setattr(engines, "WEIGHTED_ROWS", 250)
    assert choose_engine(files, EngineOptions(), weighted=True) == "duckdb"
    assert choose_engine(files, EngineOptions()) == "numpy"
    csv = tmp_path / "w.csv"
    pd.read_parquet(data).to_csv(csv, index=False)
    assert choose_engine(resolve(csv), EngineOptions(), weighted=True) == "numpy"
    kw = dict(data=data, policy="four-fifths", predictions="pred", label="label", positive_label="1")
    kw |= dict(sensitive=["sex"], sensitive_proba=["race=p_a,p_b"], audit_date="2024-06-01")
    counted = []
    read = DuckdbEngine.read
    monkeypatch.setattr(DuckdbEngine, "read", lambda self, **a: counted.append(1) or read(self, **a))
    at_limit = run_audit(**kw).to_dict()
    assert counted  # the rows went to DuckDB
    monkeypatch.setattr(engines, "WEIGHTED_ROWS", 251)
    counted.clear()
    below = run_audit(**kw).to_dict()
    assert not counted  # one row short of the limit: numpy
    for key in ("groups", "findings", "proxy", "items", "verdict"):
        assert canonical_json(at_limit[key]) == canonical_json(below[key]), key


def test_engine_errors_are_one_line_input_or_usage_errors(tmp_path, compas_parquet):
    with pytest.raises(UsageError, match="--engine must be one of"):
        open_engine(compas_parquet, "polars")
    with pytest.raises(InputError, match="no file matches"):
        open_engine(str(tmp_path / "nothing-*.parquet"), "duckdb")
    with pytest.raises(InputError, match="not a pattern"):
        open_engine(str(compas_parquet.parent / "*.parquet"), "numpy").header()
    with pytest.raises(UsageError, match="--memory-limit"):
        open_engine(compas_parquet, "duckdb", EngineOptions(memory_limit="lots")).header()
    with pytest.raises(UsageError, match="a cluster path needs --engine spark"):
        open_engine(Path("s3://bucket/decisions.parquet"), "duckdb")  # pathlib folds // (restored)
    with pytest.raises(UsageError, match="s3://bucket/x"):
        open_engine("s3://bucket/x", "numpy")
    with pytest.raises(InputError, match="no column named 'nope'"):
        run_audit(data=compas_parquet, engine="duckdb", policy="four-fifths", predictions="nope", sensitive=["race"])


def test_every_engine_choice_is_mapped():
    import importlib

    from audit.tables.engines import ENGINES
    from audit.tables.engines.interface import Engine

    assert set(ENGINES) == {"numpy", "duckdb", "spark"}
    for name in ENGINES:
        module = importlib.import_module(f"audit.tables.engines.{name}")
        found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Engine) and v is not Engine]
        assert [e.name for e in found] == [name]


def test_cli_engine_options_give_the_same_evidence(tmp_path, capsys):
    import json

    from tests.cli.helpers import invoke

    data = shared_data("compas-scores-two-years.csv")
    docs = []
    for extra in ([], ["--engine", "duckdb", "--memory-limit", "64MB", "--temp-directory", tmp_path / "spill"]):
        out = tmp_path / f"out{len(docs)}"
        invoke(
            capsys,
            [
                "run",
                "--data",
                data,
                "--policy",
                "four-fifths",
                "--predictions",
                "is_recid",
                "--label",
                "two_year_recid",
                "--sensitive",
                "race",
                "--out",
                out,
                "--no-pdf",
                "--no-ledger",
                *extra,
            ],
            exit_code=1,
        )
        doc = json.loads((out / "results.json").read_text())
        doc["provenance"].pop("command")  # the command line as typed: the one field that may name the engine
        docs.append(doc)
    assert docs[0] == docs[1]
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            "four-fifths",
            "--predictions",
            "is_recid",
            "--sensitive",
            "race",
            "--engine",
            "duckdb",
            "--memory-limit",
            "plenty",
            "--no-pdf",
            "--out",
            tmp_path / "bad",
        ],
        exit_code=2,
    )
    assert "--memory-limit must be a size such as 512MB or 4GB, not 'plenty'" in ran.err
    assert not (tmp_path / "bad").exists()


def test_spark_reads_a_catalog_table(compas_parquet, spark):
    spark.read.parquet(str(compas_parquet)).createOrReplaceTempView("compas_view")
    kw = dict(policy="four-fifths", scores="decile_score", threshold=5, sensitive=["race", "sex"])
    table = run_audit(data="table:compas_view", engine="spark", **kw).to_dict()
    local = run_audit(data=compas_parquet, engine="numpy", **kw).to_dict()
    for key in ("groups", "findings", "disparities", "audit"):
        assert table[key] == local[key]
    dataset = table["provenance"]["inputs"][0]
    assert dataset["path"] == "table:compas_view" and len(dataset["sha256"]) == 64


def test_dataset_sha256_is_computed_beside_the_read_and_abandoned_on_close(tmp_path, compas_parquet, monkeypatch):
    from audit.inputs import provenance

    engine = open_engine(compas_parquet, "numpy")
    engine.start_hashing()
    engine.read(columns=["race"], keep=["race"], text_columns=["race"])
    assert engine.provenance().sha256 == hashlib.sha256(compas_parquet.read_bytes()).hexdigest()
    engine.close()
    # an audit that ends early (an error, Ctrl-C) stops hashing at the next chunk instead of finishing the file
    monkeypatch.setattr(provenance, "_CHUNK", 16)
    big = tmp_path / "big.parquet"
    big.write_bytes(b"\0" * 8_000_000)  # 500,000 chunks of 16 bytes
    engine = open_engine(big, "duckdb")
    engine.start_hashing()
    thread = engine._hashing._thread
    engine.close()
    assert not thread.is_alive()
    with pytest.raises(provenance.Stopped):
        engine.provenance()


def test_duckdb_audits_a_glob_of_csv_files_as_one_dataset(tmp_path):
    source = shared_data("compas-scores-two-years.csv")
    frame = pd.read_csv(source)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 3)):
        name = parts / (f"part-{i}.csv.gz" if i == 2 else f"part-{i}.csv")
        frame.iloc[chunk].to_csv(name, index=False)
    kw = dict(policy="equalized-odds", predictions="is_recid", label="two_year_recid", sensitive=["race", "sex"])
    whole = run_audit(data=source, engine="numpy", **kw).to_dict()
    split = run_audit(data=str(parts / "part-*"), engine="auto", **kw).to_dict()
    assert split["provenance"]["inputs"][0]["path"] == str(parts / "part-*")
    for key in ("groups", "findings", "disparities", "audit"):
        assert split[key] == whole[key]
    # a file whose header differs, or whose values do not fit the first file's column types, is named
    frame.head(5).rename(columns={"sex": "gender"}).to_csv(parts / "part-3.csv", index=False)
    with pytest.raises(InputError, match=r"part-3\.csv: its columns differ from those of .*part-0\.csv"):
        run_audit(data=str(parts / "part-*"), engine="duckdb", **kw)
    bad = frame.head(5).astype({"two_year_recid": object})
    bad.loc[bad.index[2], "two_year_recid"] = "maybe"
    bad.to_csv(parts / "part-3.csv", index=False)
    unreadable = r"part-3\.csv: not a readable CSV file \(in column 'two_year_recid'.*'maybe'"
    with pytest.raises(InputError, match=unreadable) as caught:
        run_audit(data=str(parts / "part-*"), engine="duckdb", **kw)
    assert "types of" in caught.value.hint and "part-0.csv" in caught.value.hint


def test_a_hive_partitioned_directory_reads_the_same_in_memory_and_in_duckdb(tmp_path, compas_parquet):
    """key=value directories are a column (here the audit's second sensitive feature) on both engines."""
    frame = pd.read_parquet(compas_parquet)
    root = tmp_path / "by-sex"
    for sex, rows in frame.groupby("sex"):
        (root / f"sex={sex}").mkdir(parents=True)
        rows.drop(columns="sex").to_parquet(root / f"sex={sex}" / "part-0.parquet")
    kw = dict(
        policy="four-fifths", scores="decile_score", threshold=5, label="two_year_recid", sensitive=["race", "sex"]
    )
    docs = {engine: run_audit(data=root, engine=engine, **kw).to_dict() for engine in ("auto", "numpy", "duckdb")}
    flat = run_audit(data=compas_parquet, engine="numpy", **kw).to_dict()
    for doc in docs.values():
        for key in ("groups", "findings", "disparities"):
            assert doc[key] == flat[key]


def test_many_parquet_files_mean_the_same_on_every_engine(tmp_path, spark):
    """A Hive glob, files written at other integer widths, a file missing an audited column or holding
    another kind of values in it: the same groups, or the same one-line error, on every engine."""
    from audit.tables.groups import UNKNOWN

    rows = pd.DataFrame({"s": ["a", "b"] * 20, "y": [0, 1] * 20, "p": [1, 0, 0, 1] * 10, "age": [1, 2] * 20})
    hive = tmp_path / "hive"
    for region, part in (("north", rows.iloc[:24]), ("south", rows.iloc[24:])):
        (hive / f"region={region}").mkdir(parents=True)
        table = pa.Table.from_pandas(part, preserve_index=False)
        if region == "south":  # the same integers, written 32 bits wide
            table = table.cast(
                pa.schema([pa.field(f.name, pa.int32() if f.name in ("y", "p") else f.type) for f in table.schema])
            )
        pq.write_table(table, hive / f"region={region}" / "part-0.parquet")
    kw = dict(policy="four-fifths", predictions="p", label="y")
    glob = str(hive / "region=*" / "*.parquet")
    for spec, engines in ((hive, ("numpy", "duckdb", "spark")), (glob, ("duckdb", "spark"))):
        docs = {e: run_audit(data=spec, engine=e, sensitive=["s", "region"], **kw).to_dict() for e in engines}
        counts = {e: {g["id"]: g["metrics"]["count"]["value"] for g in d["groups"]} for e, d in docs.items()}
        for engine in engines:
            assert counts[engine] == {
                "overall": 40,
                "s=a": 20,
                "s=b": 20,
                "region=north": 24,
                "region=south": 16,
                "s=a&region=north": 12,
                "s=a&region=south": 8,
                "s=b&region=north": 12,
                "s=b&region=south": 8,
            }, engine
            assert not any(UNKNOWN in g for g in counts[engine])
    # a file without an audited column, and a file with text where the others have integers
    flat = tmp_path / "flat"
    flat.mkdir()
    rows.to_parquet(flat / "p0.parquet")
    rows.drop(columns="age").to_parquet(flat / "p1.parquet")
    for engine in ("numpy", "duckdb", "spark"):
        with pytest.raises(InputError, match=r"p1\.parquet: no column 'age', which .*p0\.parquet has"):
            run_audit(data=flat, engine=engine, sensitive=["s", "age"], **kw)
    rows.astype({"y": str}).to_parquet(flat / "p1.parquet")
    for engine in ("numpy", "duckdb", "spark"):
        with pytest.raises(InputError, match=r"p1\.parquet: column 'y' holds text, but in .*p0\.parquet it holds int"):
            run_audit(data=flat, engine=engine, sensitive=["s"], **kw)


def test_duckdb_options_are_checked_before_anything_is_read(tmp_path, compas_parquet):
    """A memory limit is never silently ignored: a bad size, another engine, a file as the spill
    directory and a limit too small to read the file each give one line naming the option."""
    for bad in ("lots", "-1GB", "0MB", "12"):
        with pytest.raises(UsageError, match=r"--memory-limit must be a size such as 512MB or 4GB"):
            open_engine(compas_parquet, "auto", EngineOptions(memory_limit=bad))
    for engine in ("numpy", "spark"):
        with pytest.raises(UsageError, match=rf"--memory-limit is for the DuckDB engine, not --engine {engine}"):
            open_engine(compas_parquet, engine, EngineOptions(memory_limit="1GB"))
    assert open_engine(compas_parquet, "auto", EngineOptions(memory_limit="1GB")).name == "duckdb"
    assert open_engine(compas_parquet, "auto", EngineOptions(temp_directory=tmp_path)).name == "duckdb"
    a_file = tmp_path / "spill.txt"
    a_file.write_text("x")
    with pytest.raises(UsageError, match=r"--temp-directory .*spill\.txt: not a directory"):
        open_engine(compas_parquet, "duckdb", EngineOptions(temp_directory=a_file))
    with pytest.raises(InputError, match=r"DuckDB ran out of memory under --memory-limit 1KB") as caught:
        run_audit(
            data=compas_parquet,
            engine="duckdb",
            engine_options=EngineOptions(memory_limit="1KB"),
            policy="four-fifths",
            scores="decile_score",
            threshold=5,
            sensitive=["race"],
        )
    assert "raise --memory-limit" in caught.value.hint


def test_a_spark_session_fairgate_starts_prints_only_fairgate_lines(tmp_path, compas_parquet, spark):
    """Spark's own warnings and Java stack traces (238 lines for a master Spark cannot reach; an
    unreachable spark:// master is now refused before Spark starts: tests/bad_inputs) stay off the console."""
    import subprocess
    import sys

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "FAIRGATE_SPARK_LOG"}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "audit",
                "run",
                "--data",
                str(compas_parquet),
                "--engine",
                "spark",
                "--policy",
                "four-fifths",
                "--scores",
                "decile_score",
                "--threshold",
                "5",
                "--sensitive",
                "race",
                "--format",
                "json",
                "--no-ledger",
                "-q",
                *extra,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    ok = run("--out", str(tmp_path / "ok"), "--spark-master", "local[1]")
    assert ok.returncode == 1, ok.stderr
    noise = [line for line in ok.stderr.splitlines() if not line.startswith("WARNING: Using incubator modules")]
    assert noise == []
    # a master Spark cannot parse is refused before Java starts (spark-submit would print its stack trace)
    bad = run("--out", str(tmp_path / "bad"), "--spark-master", "bogus://x")
    assert bad.returncode == 2 and bad.stderr.splitlines() == [
        "error: --spark-master must be local[*], local[N], spark://HOST:PORT, yarn or k8s://URL, not 'bogus://x'",
        "hint: leave it out to use the active session, or local[*]",
    ]


def test_a_directory_is_read_file_for_file_as_hashed_on_every_engine(tmp_path, spark):
    """A file without a Parquet suffix or under _temporary/ is neither read nor hashed; partition values
    stay text (zip=01234 and zip=1234 are two groups); widths and an all-missing file are widened."""
    base = pa.table({"s": ["a", "b"] * 15, "y": [0, 1] * 15, "p": [1, 0, 0, 1, 1, 0] * 5})
    root = tmp_path / "zips"
    for zip_code in ("01234", "1234"):
        (root / f"zip={zip_code}").mkdir(parents=True)
        pq.write_table(base, root / f"zip={zip_code}" / "part-0.parquet")
    pq.write_table(base, root / "zip=1234" / "part-00001")  # no suffix: not part of the dataset
    (root / "_temporary" / "0").mkdir(parents=True)
    pq.write_table(base, root / "_temporary" / "0" / "part-9.parquet")  # a job still writing
    kw = dict(policy="four-fifths", predictions="p", label="y", sensitive=["s", "zip"])
    for engine in ("numpy", "duckdb", "spark"):
        doc = run_audit(data=root, engine=engine, **kw).to_dict()
        counts = {g["id"]: g["metrics"]["count"]["value"] for g in doc["groups"]}
        assert counts["overall"] == 60 and counts["zip=01234"] == 30 and counts["zip=1234"] == 30, engine
        assert [f["path"] for f in doc["provenance"]["inputs"][0]["files"]] == [
            "zip=01234/part-0.parquet",
            "zip=1234/part-0.parquet",
        ]
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(
        base.append_column("g", pa.array([1] * 30, pa.int32())).append_column("t", pa.nulls(30)), mixed / "a.parquet"
    )
    pq.write_table(
        base.append_column("g", pa.array([3_000_000_000] * 30, pa.int64())).append_column(
            "t", pa.array(["x", "y"] * 15)
        ),
        mixed / "b.parquet",
    )
    for engine in ("numpy", "duckdb"):
        doc = run_audit(
            data=mixed, engine=engine, policy="four-fifths", predictions="p", label="y", sensitive=["g", "t"]
        ).to_dict()
        counts = {g["id"]: g["metrics"]["count"]["value"] for g in doc["groups"]}
        assert counts["g=1"] == 30 and counts["g=3000000000"] == 30 and counts["t=unknown"] == 30, engine


def test_a_header_only_first_csv_file_takes_its_types_from_the_next(tmp_path):
    parts = tmp_path / "daily"
    parts.mkdir()
    (parts / "2026-11-01.csv").write_text("group,label,pred\n")
    (parts / "2026-11-02.csv").write_text("group,label,pred\n" + "a,1,1\nb,0,1\n" * 20)
    (parts / "2026-11-03.csv").write_text("group,label,pred\n" + "a,0,0\nb,1,0\n" * 20)
    doc = run_audit(
        data=str(parts / "*.csv"),
        engine="duckdb",
        policy="four-fifths",
        predictions="pred",
        label="label",
        sensitive=["group"],
    ).to_dict()
    assert doc["audit"]["rows"] == 80


def test_numpy_engine_refuses_a_directory_too_large_for_memory_before_reading(tmp_path, monkeypatch):
    from audit.inputs import memory

    root = tmp_path / "parts"
    root.mkdir()
    for i in range(2):
        pq.write_table(pa.table({"s": ["a", "b"] * 500, "y": [0, 1] * 500}), root / f"p{i}.parquet")
    needed = memory.estimate_parquet_bytes(root, columns=["s", "y"], files=sorted(root.iterdir()))
    monkeypatch.setattr(memory, "available_bytes", lambda: needed - 1)
    with pytest.raises(InputError, match=r"parts: not enough memory to load the dataset \(about") as caught:
        run_audit(data=root, engine="numpy", policy="four-fifths", predictions="y", sensitive=["s"])
    assert "--engine duckdb" in caught.value.hint
    monkeypatch.setattr(memory, "available_bytes", lambda: needed)
    assert run_audit(data=root, engine="numpy", policy="four-fifths", predictions="y", sensitive=["s"]).rows == 2000


def test_a_column_no_file_has_is_the_plain_missing_column_error(tmp_path):
    root = tmp_path / "parts"
    root.mkdir()
    for i in range(2):
        pq.write_table(pa.table({"s": ["a", "b"] * 5, "y": [0, 1] * 5}), root / f"p{i}.parquet")
    for engine in ("numpy", "duckdb"):
        with pytest.raises(InputError, match=r"parts: no column named 'p'") as caught:
            run_audit(data=root, engine=engine, policy="four-fifths", predictions="p", sensitive=["s"])
        assert "the data has: s, y" in caught.value.hint and "every file" not in caught.value.hint


def test_an_unreachable_spark_master_is_refused_before_spark_starts(monkeypatch):
    """Every master of a high-availability list is tried; each one's reason is named."""
    pyspark_sql = pytest.importorskip("pyspark.sql")
    from audit.tables.engines.spark import session

    # as in a fresh process (the spark fixture's session, when started, would be reused instead)
    monkeypatch.setattr(pyspark_sql.SparkSession, "getActiveSession", classmethod(lambda cls: None))

    with pytest.raises(UsageError) as caught:
        session("spark://127.0.0.1:1,127.0.0.1")
    assert str(caught.value) == (
        "the Spark master spark://127.0.0.1:1,127.0.0.1 is unreachable "
        "(127.0.0.1:1: Connection refused; 127.0.0.1: no port number)"
    )
    assert "spark://HOST:PORT" in caught.value.hint
