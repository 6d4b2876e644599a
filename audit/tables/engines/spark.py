"""The cluster engine: Spark SQL counts the distinct raw values, the rest runs on the driver.

``--data`` is a Parquet path (file, directory, glob: anything ``spark.read.parquet`` reads; on a
cluster, a path every executor can reach such as ``s3://…`` or ``dbfs:/…``) or ``table:NAME``
(a table in the session's catalog). Without a model Spark does one ``GROUP BY`` of the audit's
raw columns; with ``--model`` each executor predicts its partitions with ``mapInPandas`` (the
model file's bytes are broadcast and loaded once per task, with the same safe loaders and
``--trust-pickle`` rule as on the driver) and Spark groups the reduced rows. The driver receives
one row per distinct combination, as from the DuckDB engine. An existing SparkSession (a
``spark-submit`` job, a Databricks notebook) is reused; otherwise one is started on
``--spark-master`` (default ``local[*]``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from audit.errors import InputError, UsageError
from audit.inputs.dataset import integers_as_text
from audit.inputs.provenance import InputFile
from audit.tables.engines.files import unify_parquet
from audit.tables.engines.interface import (
    PRED,
    SCORE,
    WEIGHT,
    Binning,
    Engine,
    EngineOptions,
    Precomputed,
    finish,
)
from audit.tables.proba import BIN, STATE, TOP, ProbaSpec, proba_sql
from audit.tables.scores import CELL, cell_sql, settle_cells
from audit.util.suggest import columns_hint


def _first_line(exc: BaseException) -> str:
    """The message without Java's stack: the line that says what failed (not py4j's "An error
    occurred while calling …" before it)."""
    lines = [
        line.strip().removeprefix(": ")
        for line in str(exc).strip().splitlines()
        if line.strip() and not line.strip().startswith("An error occurred while calling")
    ]
    causes = [line for line in lines if line.startswith("Caused by:")]
    return causes[-1].removeprefix("Caused by:").strip() if causes else lines[0] if lines else type(exc).__name__


def _spark_arrow_type(kind: Any) -> Any:
    """Arrow types Spark has no equivalent for, widened to one it has."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        return _spark_arrow_type(kind.value_type)
    if pa.types.is_unsigned_integer(kind):
        return pa.int64() if kind.bit_width >= 32 else pa.int32()
    if pa.types.is_float16(kind):
        return pa.float32()
    if pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return pa.string()
    return kind


def session(master: str | None = None) -> tuple[Any, bool]:
    """The active SparkSession, or a new one on ``master`` (UI off: an audit needs none); True if new."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UsageError("the Spark engine needs pyspark", hint="pip install 'fairgate[spark]' (and Java 17+)") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local Python workers: this interpreter
    _check_reachable(master)
    try:
        return _start(SparkSession, master), True
    except Exception as exc:  # no Java, a bad master URL, executors larger than any worker
        raise UsageError(
            f"could not start Spark on {master or 'local[*]'} ({_first_line(exc)})",
            hint="Spark needs Java 17+ (JAVA_HOME) and a reachable --spark-master",
        ) from exc


#: Seconds to wait for a standalone master to accept a connection.
CONNECT_SECONDS = 5.0


def _check_reachable(master: str | None) -> None:
    """A ``spark://`` master nobody listens on is refused at once: Spark itself would retry for a
    minute and more, then print a stack trace that does not name the master."""
    if master is None or not master.strip().startswith("spark://"):
        return
    import socket

    reasons = []
    for address in master.strip().removeprefix("spark://").split(","):  # several masters: high availability
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            reasons.append(f"{address}: no port number")
            continue
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS):
                return
        except OSError as exc:
            reasons.append(f"{address}: {exc.strerror or exc}")
    raise UsageError(
        f"the Spark master {master.strip()} is unreachable ({'; '.join(reasons)})",
        hint="start the master (or check the host and port in --spark-master: spark://HOST:PORT, port 7077 by default)",
    )


QUIET_LOG4J = Path(__file__).with_name("log4j2-quiet.properties")
#: Python workers (mapInPandas) would print pyspark's pandas-3 warning for every task.
_WORKER_WARNINGS = "ignore:PySpark does not yet fully support pandas:FutureWarning"


def _start(SparkSession: Any, master: str | None) -> Any:  # noqa: N803 - the pyspark class, passed in
    builder = (
        SparkSession.builder.master(master or "local[*]")
        .appName("fairgate")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.executorEnv.PYTHONWARNINGS", _WORKER_WARNINGS)
    )
    quiet = os.environ.get("FAIRGATE_SPARK_LOG") != "1" and "LOG4J_CONFIGURATION_FILE" not in os.environ
    if quiet:  # the driver JVM starts in getOrCreate and reads this (not spark.driver.extraJavaOptions,
        # which would replace the user's own settings from spark-defaults.conf)
        os.environ["LOG4J_CONFIGURATION_FILE"] = str(QUIET_LOG4J)
    before = _children()
    try:
        spark = builder.getOrCreate()
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) while the driver JVM was starting: pyspark loses the handle of
        # the process it launched, which would outlive this run; end it here
        for pid in _children() - before:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        raise
    finally:
        if quiet:
            os.environ.pop("LOG4J_CONFIGURATION_FILE", None)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _children() -> set[int]:
    """This process's child processes (Linux /proc; elsewhere none are known)."""
    me, found = os.getpid(), set()
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.add(int(entry))
    return found


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pyspark 4 warns that pandas 3 is untested; the engine converts through Arrow itself."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


class SparkEngine(Engine):
    name = "spark"

    def __init__(
        self, files: Any, options: EngineOptions, *, table: str | None = None, remote: str | None = None
    ) -> None:
        super().__init__(files, options)
        self.table = table
        self.remote = remote  # a path only the cluster can read (s3://, dbfs:/, hdfs://)
        self._frame: Any = None
        self._digest: str | None = None
        self._started: Any = None  # a session this engine started (stopped on close), not a reused one

    @classmethod
    def for_table(cls, name: str, options: EngineOptions) -> SparkEngine:
        return cls(None, options, table=name)

    @classmethod
    def for_remote(cls, path: str, options: EngineOptions) -> SparkEngine:
        return cls(None, options, remote=path)

    @property
    def where(self) -> str:
        return f"table {self.table}" if self.table else self.remote or self.files.spec

    def _spark_frame(self) -> Any:
        if self._frame is None:
            if self.files is not None and self.files.kind != "parquet":  # before Spark takes seconds to start
                raise InputError(
                    f"{self.files.spec}: the Spark engine reads Parquet or a table",
                    hint="convert the CSV to Parquet, or use --engine duckdb",
                )
            with _quiet():
                spark, new = session(self.options.spark_master)
            if new:
                self._started = spark
            try:
                if self.table is not None:
                    self._frame = spark.table(self.table)
                elif self.remote is not None:
                    self._frame = spark.read.parquet(self.remote)
                else:
                    self._frame = self._read_files(spark)
            except InputError:
                raise
            except Exception as exc:
                raise InputError(f"{self.where}: Spark could not read it ({str(exc).strip().splitlines()[0]})") from exc
        return self._frame

    def _read_files(self, spark: Any, schema: Any = None) -> Any:
        """Exactly the local Parquet files resolve() found (the ones hashed); key=value directories
        are text columns (``zip=01234`` stays ``01234``), as DuckDB and Arrow read them.

        ``schema`` (Arrow, the audited columns at their widest type from unify_parquet): Spark
        would take one file's types for all and fail on a file written at another width."""
        reader = spark.read.option("basePath", str(self.files.base))
        if schema is not None:
            from pyspark.sql.pandas.types import from_arrow_type
            from pyspark.sql.types import StructField, StructType

            reader = reader.schema(
                StructType([StructField(f.name, from_arrow_type(_spark_arrow_type(f.type))) for f in schema])
            )
        inference = "spark.sql.sources.partitionColumnTypeInference.enabled"
        before = spark.conf.get(inference, None)
        spark.conf.set(inference, "false")
        try:
            return reader.parquet(*[str(f) for f in self.files.files])
        finally:
            if before is None:
                spark.conf.unset(inference)
            else:
                spark.conf.set(inference, before)

    def header(self) -> list[str]:
        return list(self._spark_frame().columns)

    def close(self) -> None:
        super().close()
        if self._started is not None:
            self._started.stop()
            self._started = None

    def provenance(self) -> InputFile:
        if self.files is not None:
            return super().provenance()
        # a table (or files only the cluster reads) has no local bytes to hash: record the sha256 of
        # the rows the audit counted, sorted, as CSV
        return InputFile("dataset", f"table:{self.table}" if self.table else str(self.remote), 0, self._digest or "")

    def read(
        self,
        *,
        columns: Sequence[str],
        keep: Sequence[str],
        text_columns: Sequence[str],
        model: Any = None,
        features: Sequence[str] | None = None,
        proba: ProbaSpec | None = None,
        binning: Binning | None = None,
    ) -> tuple[pd.DataFrame, Any]:
        with _quiet():
            if binning is not None and model is None and proba is None and self.files is not None:
                frame, _ = self._read(
                    columns=columns, keep=keep, text_columns=text_columns, model=None, features=None, binning=binning
                )
                settled = settle_cells(frame, binning.score) if frame is not None else None
                if settled is not None:
                    return settled, None
            frame, fitted = self._read(
                columns=columns, keep=keep, text_columns=text_columns, model=model, features=features, proba=proba
            )
            assert frame is not None  # only a binned read may decline
            return frame, fitted

    def _read(
        self,
        *,
        columns: Sequence[str],
        keep: Sequence[str],
        text_columns: Sequence[str],
        model: Any,
        features: Sequence[str] | None,
        proba: ProbaSpec | None = None,
        binning: Binning | None = None,
    ) -> tuple[pd.DataFrame | None, Any]:
        import pyarrow as pa
        from pyspark.sql import functions as F

        many = self.files is not None and len(self.files.files) > 1
        # every file holds the audited columns, one kind of values each: checked before Spark starts
        unified = unify_parquet(self.files, columns) if many else None
        df = self._spark_frame()
        if unified is not None:
            audited = [unified.field(c) for c in dict.fromkeys(columns) if c in unified.names]
            df = self._read_files(df.sparkSession, pa.schema(audited))
        missing = [c for c in columns if c not in df.columns]
        where = self.where
        if missing:
            raise InputError(
                f"{where}: no column named {', '.join(map(repr, missing))}",
                hint=columns_hint(missing, df.columns),
            )
        by = list(keep)
        if model is not None and proba is not None:  # rows predicted in Python keep their probabilities
            by += list(proba.columns)
        if model is not None:
            df, extra = _predicted(
                df, model, columns=list(columns), keep=by, features=features, text_columns=text_columns
            )
            by += extra
        if proba is not None and model is None:  # probability columns: summed in the same pass (audit.tables.proba)
            view = f"fairgate_proba_{id(self)}"
            df.createOrReplaceTempView(view)
            doubles = [c for c in proba.columns if df.schema[c].dataType.typeName() == "double"]  # read as they are
            texts = [c for c in proba.columns if df.schema[c].dataType.typeName() == "string"]  # as numpy reads them
            counted = df.sparkSession.sql(
                proba_sql(
                    proba,
                    keep=by,
                    source=view,
                    quote=lambda c: "`" + c.replace("`", "``") + "`",
                    dialect="spark",
                    doubles=doubles,
                    texts=texts,
                )
            )
            by = [*by, STATE, TOP, BIN]
        elif binning is not None:  # probabilities in cells, as DuckDB counts them (audit.tables.scores)
            kind = dict(df.dtypes).get(binning.score, "")
            if kind not in ("double", "float", "tinyint", "smallint", "int", "bigint"):  # as read in pandas: exact
                return None, None
            view = f"fairgate_cells_{id(self)}"
            df.createOrReplaceTempView(view)

            def tick(c: str) -> str:
                return "`" + c.replace("`", "``") + "`"

            cell, aggregates = cell_sql(binning.score, split_at=binning.split_at, quote=tick, dialect="spark")
            others = [tick(c) for c in by if c != binning.score]
            keys = [*others, cell]
            counted = df.sparkSession.sql(
                f"SELECT {', '.join([*others, f'{cell} AS {tick(CELL)}'])}, count(1) AS {tick(WEIGHT)}, "
                f"{', '.join(aggregates)} FROM {view} GROUP BY {', '.join(keys)}"
            )
        else:
            counted = df.groupBy(*[F.col(f"`{c}`") for c in by]).agg(F.count(F.lit(1)).alias(WEIGHT))
        # Arrow, then pandas as the other engines convert
        try:
            table = counted.toArrow()
        except Exception as exc:  # a file Spark cannot read as the schema says, a lost executor
            raise InputError(f"{where}: Spark could not count the groups ({_first_line(exc)})") from exc
        frame = integers_as_text(table, text_columns, encode=True).to_pandas()
        if len(frame) == 0:
            raise InputError(f"{where}: the dataset has no rows")
        if self.files is None:
            ordered = frame.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)
            self._digest = hashlib.sha256(ordered.to_csv(index=False).encode()).hexdigest()
        return finish(frame, text_columns), (Precomputed(model) if model is not None else None)


def _predicted(
    df: Any,
    model: Any,
    *,
    columns: list[str],
    keep: list[str],
    features: Sequence[str] | None,
    text_columns: Sequence[str],
) -> tuple[Any, list[str]]:
    """``df[keep]`` plus the model's decision (and score) per row, predicted on the executors."""
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField, StructType

    from audit.inputs.model import BATCH_ROWS

    spark = df.sparkSession
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_ROWS))
    sample = df.select(*[f"`{c}`" for c in columns]).limit(100).toArrow().to_pandas()
    probe = model.predict(sample, features=features)
    kind = probe.dtype.kind
    pred_type = (
        BooleanType() if kind == "b" else LongType() if kind in "iu" else DoubleType() if kind == "f" else StringType()
    )
    has_score = model.predict_scores(sample, features=features) is not None
    fields = [df.schema[c] for c in keep] + [StructField(PRED, pred_type)]
    if has_score:
        fields.append(StructField(SCORE, DoubleType()))
    shipped = spark.sparkContext.broadcast((Path(model.path).suffix, Path(model.path).read_bytes(), model.sha256))
    text = list(text_columns)
    # integer text columns become "1", not pandas' "1.0" when one is missing (audit.inputs.dataset)
    integers = {
        f.name
        for f in df.schema.fields
        if f.name in text and f.dataType.typeName() in ("byte", "short", "integer", "long")
    }

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import os
        import tempfile

        from audit.inputs.model import load_model

        suffix, blob, sha = shipped.value
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model" + suffix)
            with open(path, "wb") as handle:
                handle.write(blob)
            loaded = load_model(Path(path), trust_pickle_sha256=sha)
        for batch in batches:
            out = batch[keep].copy()  # the raw values, as the schema declares them
            for col in text:
                batch[col] = batch[col].astype("Int64" if col in integers else "string").astype("string")
            out[PRED] = loaded.predict(batch, features=features)
            if has_score:
                out[SCORE] = loaded.predict_scores(batch, features=features)
            yield out

    return df.select(*[f"`{c}`" for c in columns]).mapInPandas(predict, StructType(fields)), (
        [PRED, SCORE] if has_score else [PRED]
    )
