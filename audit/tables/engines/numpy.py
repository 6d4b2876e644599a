"""The in-memory engine: the file read whole by :func:`audit.inputs.dataset.load_dataset`.

For a Parquet file audited without a model, whose audit columns are all discrete (text,
integers, booleans, dates), the rows are reduced in memory to a *compact* frame — one row per
distinct combination with its count, as the DuckDB and Spark engines return — by Arrow's own
multi-threaded hash aggregation, straight from the dictionary-encoded columns. That skips the
row-by-row conversion to pandas, which otherwise costs more than the counting itself
(benchmarks/README.md, "Scale"). The rest of the audit is the same code for both shapes, so the
results are identical (tests/tables/test_engines.py). Everything else — CSV files, a model to run,
continuous scores or regression targets, timestamps — is handed over row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from audit.errors import InputError
from audit.inputs.dataset import (
    integers_as_text,
    load_dataset,
    out_of_memory,
    parquet_frame,
    read_header,
    read_parquet_table,
)
from audit.inputs.files import file_kind
from audit.tables.engines.files import is_glob, partition_keys, unify_parquet
from audit.tables.engines.interface import Binning, Engine, finish
from audit.tables.groups import WEIGHT
from audit.tables.proba import ProbaSpec
from audit.util.suggest import columns_hint

#: Compact only when the distinct rows are at most this share of the rows.
MAX_SHARE = 0.5
_SAMPLE = 1 << 16  # rows looked at first


class NumpyEngine(Engine):
    name = "numpy"

    def _path(self) -> Path:
        if is_glob(self.files.spec):
            raise InputError(
                f"{self.files.spec}: the numpy engine reads one file or one directory, not a pattern",
                hint="use --engine duckdb (or auto) for globs",
            )
        return Path(self.files.spec)

    def header(self) -> list[str]:
        path = self._path()
        if path.is_dir():  # the files resolve() found (the ones hashed), and their key=value directories
            keys = sorted({k for f in self.files.files for k in partition_keys(self.files, f)})
            return [*unify_parquet(self.files).names, *keys]
        return read_header(path)

    def read(
        self,
        *,
        columns: Sequence[str],
        keep: Sequence[str],
        text_columns: Sequence[str],
        model: Any = None,
        features: Sequence[str] | None = None,
        proba: ProbaSpec | None = None,
        binning: Binning | None = None,  # the rows are in memory: count_scores bins them
    ) -> tuple[pd.DataFrame, Any]:
        path = self._path()
        wanted = list(dict.fromkeys([*columns, *(proba.columns if proba else ())]))
        if proba is not None:  # rows: audit.tables.proba.count_proba sums their probabilities in numpy
            keep = [*keep, *proba.columns]
        if model is None and file_kind(path) == "parquet" and set(wanted) == set(keep):
            table = (
                self._read_directory(wanted, text_columns)
                if path.is_dir()
                else read_parquet_table(path, columns=wanted, text_columns=text_columns)
            )
            if all(discrete(field.type) for field in table.schema):
                frame = compact_table(table, text_columns)
                if frame is not None:
                    return frame, None
            return parquet_frame(table, text_columns), None
        if path.is_dir():
            return parquet_frame(self._read_directory(wanted, text_columns), text_columns), model
        return load_dataset(path, columns=wanted, text_columns=text_columns), model

    def _read_directory(self, columns: list[str], text_columns: Sequence[str]) -> Any:
        """Exactly the files resolve() found and hashed, at the widest type of each column, with
        key=value directories as text columns (``zip=01234`` stays ``01234``), as DuckDB reads them."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        files = self.files
        unified = unify_parquet(files, columns)
        keys = sorted({k for f in files.files for k in partition_keys(files, f)} - set(unified.names))
        missing = [c for c in columns if c not in unified.names and c not in keys]
        if missing:
            raise InputError(
                f"{files.spec}: no column named {', '.join(map(repr, missing))}",
                hint=columns_hint(missing, [*unified.names, *keys]),
            )
        from audit.inputs import memory

        available = memory.available_bytes()  # Arrow aborts the process on a failed allocation: refuse first
        if available is not None:
            needed = memory.estimate_parquet_bytes(Path(files.spec), columns=columns, files=files.files)
            if needed > available:
                raise out_of_memory(Path(files.spec), needed=needed, available=available)
        try:
            dataset = ds.dataset(
                [str(f) for f in files.files],
                format="parquet",
                schema=pa.schema([*unified, *[pa.field(k, pa.string()) for k in keys]]),
                partitioning=ds.partitioning(pa.schema([(k, pa.string()) for k in keys]), flavor="hive")
                if keys
                else None,
                partition_base_dir=str(files.base),
            )
            table = dataset.to_table(columns=columns)
        except MemoryError as exc:
            raise out_of_memory(Path(files.spec)) from exc
        except (pa.ArrowException, OSError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"{files.spec}: not readable Parquet ({reason})") from exc
        if table.num_rows == 0:
            raise InputError(f"{files.spec}: the dataset has no rows", hint="check that the files are not empty")
        return integers_as_text(table, text_columns, encode=True)


def discrete(kind: Any) -> bool:
    """Arrow types whose distinct values a hash aggregation groups exactly (no floats, no timestamps)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        return discrete(kind.value_type)
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_date32(kind)
    )


def compact_table(table: Any, text_columns: Sequence[str]) -> pd.DataFrame | None:
    """One row per distinct combination of ``table``'s values (missing ones included), with :data:`WEIGHT`.

    None when that would not halve the rows (an identifier among the columns, as when exact
    duplicates are judged over every column): the rows themselves are then cheaper. Arrow's
    threads return the groups in any order; they are sorted so that the frame is the same on
    every run.
    """
    names = list(table.column_names)
    if table.num_rows > 2 * _SAMPLE:  # an identifier among the columns shows in a sample: don't hash every row
        sample = table.slice(0, _SAMPLE).unify_dictionaries().group_by(names).aggregate([([], "count_all")])
        if sample.num_rows > MAX_SHARE * _SAMPLE:
            return None
    grouped = table.unify_dictionaries().group_by(names).aggregate([([], "count_all")])
    if grouped.num_rows > MAX_SHARE * table.num_rows:
        return None
    frame = finish(grouped.rename_columns([*names, WEIGHT]).to_pandas(), text_columns)
    return frame.sort_values(names, na_position="last", kind="stable", ignore_index=True)
