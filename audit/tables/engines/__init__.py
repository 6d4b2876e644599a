"""Engines that produce the audit's rows to count: numpy (in memory), DuckDB (out of core), Spark.

:func:`open_engine` maps ``--engine`` to an implementation; ``auto`` keeps small inputs in
memory and sends Parquet inputs larger than a share of RAM (``--engine-threshold``, or the
``FAIRGATE_ENGINE_THRESHOLD`` environment variable; default 0.1) and globs to DuckDB.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from audit.errors import UsageError
from audit.tables.engines.files import DataFiles, is_glob, resolve
from audit.tables.engines.interface import (
    DEFAULT_THRESHOLD,
    ENGINES,
    THRESHOLD_ENV,
    Engine,
    EngineOptions,
    memory_bytes,
)

__all__ = ["ENGINES", "Engine", "EngineOptions", "choose_engine", "open_engine"]

TABLE_PREFIX = "table:"


_DOUBLE_SLASH = ("s3", "s3a", "s3n", "gs", "hdfs", "abfs", "abfss", "wasb", "wasbs")


def _remote(spec: str) -> str | None:
    """A cluster URL (``s3://…``, ``dbfs:/…``; pathlib folds ``//`` to ``/``, restored here), else None."""
    scheme, sep, rest = spec.partition(":")
    if not sep or len(scheme) < 2 or not scheme.isalnum():
        return None
    if scheme.lower() in _DOUBLE_SLASH:
        return f"{scheme}://{rest.lstrip('/')}"
    if scheme.lower() == "dbfs":
        return spec
    return None


#: ``auto`` counts a weighted audit (probability columns, ``--sensitive-proba``) of Parquet with at least this
#: many rows in DuckDB: its multi-threaded pass over the probabilities overtakes numpy's between one and ten
#: million rows (1M: numpy 0.16 s, DuckDB 0.21 s; 10M: numpy 1.87 s, DuckDB 0.95 s; benchmarks/README.md).
#: The results are identical on every engine; only the time differs.
WEIGHTED_ROWS = 4_000_000


def parquet_rows(files: DataFiles) -> int:
    """The rows of Parquet ``files``, from their footers (no data is read)."""
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(f).num_rows for f in files.files)


def choose_engine(files: DataFiles, options: EngineOptions, *, weighted: bool = False) -> str:
    """``auto``: numpy, unless the input is a glob or Parquet larger than the threshold share of RAM — or,
    for a ``weighted`` audit, Parquet of at least :data:`WEIGHTED_ROWS` rows."""
    if is_glob(files.spec):
        return "duckdb"
    if files.kind != "parquet":
        return "numpy"
    if weighted:
        try:
            if parquet_rows(files) >= WEIGHTED_ROWS:
                return "duckdb"
        except (OSError, ValueError):  # not readable Parquet: the engine that reads it says so, in one line
            pass
    share = options.threshold
    if share is None:
        raw = os.environ.get(THRESHOLD_ENV)
        try:
            share = float(raw) if raw else DEFAULT_THRESHOLD
            if not (math.isfinite(share) and share >= 0):
                raise ValueError(raw)
        except ValueError:
            raise UsageError(
                f"{THRESHOLD_ENV}={raw!r} is not a share of RAM (a number >= 0 such as 0.1)",
                hint=f"unset {THRESHOLD_ENV} for the default, 0.1",
            ) from None
    ram = memory_bytes()
    return "duckdb" if ram is not None and files.size_bytes > share * ram else "numpy"


_SIZE = re.compile(r"\s*(\d+(\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE)


_MASTER = re.compile(r"local(\[(\*|\d+)(,\s*\d+)?\])?|spark://\S+|yarn|k8s://\S+|sc://\S+")


def _check_options(options: EngineOptions) -> None:
    if options.memory_limit is not None:
        match = _SIZE.fullmatch(options.memory_limit)
        if match is None or float(match.group(1)) <= 0:
            raise UsageError(
                f"--memory-limit must be a size such as 512MB or 4GB, not {options.memory_limit!r}",
                hint="a number and a unit: B, KB, MB, GB or TB (KiB … TiB for powers of 1024)",
            )
    master = options.spark_master
    if master is not None and not _MASTER.fullmatch(master.strip()):
        raise UsageError(
            f"--spark-master must be local[*], local[N], spark://HOST:PORT, yarn or k8s://URL, not {master!r}",
            hint="leave it out to use the active session, or local[*]",
        )
    temp = options.temp_directory
    if temp is not None and Path(temp).exists() and not Path(temp).is_dir():
        raise UsageError(f"--temp-directory {temp}: not a directory", hint="name a directory DuckDB may spill to")


def open_engine(
    data: Path | str, engine: str = "auto", options: EngineOptions | None = None, *, weighted: bool = False
) -> Engine:
    """The engine that will read ``data`` (a file, a Parquet directory, a glob, or ``table:NAME`` for Spark);
    ``weighted``: the audit counts probability columns (it may change what ``auto`` picks, never the results)."""
    options = options or EngineOptions()
    if engine not in (*ENGINES, "auto"):
        raise UsageError(f"--engine must be one of auto, {', '.join(ENGINES)}; not {engine!r}")
    if options.threshold is not None and not (math.isfinite(options.threshold) and options.threshold >= 0):
        raise UsageError(
            f"--engine-threshold must be a share of RAM (>= 0), not {options.threshold}",
            hint="0.1 sends Parquet inputs larger than a tenth of this machine's memory to DuckDB",
        )
    _check_options(options)
    spec = str(data)
    if (options.memory_limit or options.temp_directory) and engine != "duckdb":
        if engine in ("numpy", "spark") or spec.startswith(TABLE_PREFIX) or _remote(spec) is not None:
            given = "--memory-limit" if options.memory_limit else "--temp-directory"
            chosen = engine if engine != "auto" else "spark"
            raise UsageError(
                f"{given} is for the DuckDB engine, not --engine {chosen}",
                hint="numpy reads the data into memory; Spark takes its memory settings from the cluster",
            )
        engine = "duckdb"  # auto: a memory limit asks for the engine that keeps to one
    if spec.startswith(TABLE_PREFIX):
        if engine not in ("spark", "auto"):
            raise UsageError(f"--data {spec}: a table name needs --engine spark")
        from audit.tables.engines.spark import SparkEngine

        return SparkEngine.for_table(spec[len(TABLE_PREFIX) :], options)
    remote = _remote(spec)
    if remote is not None:
        if engine not in ("spark", "auto"):
            raise UsageError(f"--data {remote}: a cluster path needs --engine spark")
        from audit.tables.engines.spark import SparkEngine

        return SparkEngine.for_remote(remote, options)  # read by the cluster, not this machine
    files = resolve(spec)
    if engine == "auto":
        engine = choose_engine(files, options, weighted=weighted)
    if engine == "numpy":
        from audit.tables.engines.numpy import NumpyEngine

        return NumpyEngine(files, options)
    if engine == "duckdb":
        from audit.tables.engines.duckdb import DuckdbEngine

        return DuckdbEngine(files, options)
    from audit.tables.engines.spark import SparkEngine

    return SparkEngine(files, options)
