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

import numpy as np
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
from audit.tables.proba import (
    BIN,
    STATE,
    TEXT_HINT,
    TOP,
    ProbaSpec,
    ProbaTextError,
    derived_cells,
    numbers_of_columns,
    proba_totals,
    sort_compact,
    totals_columns,
)
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
        if proba is not None and model is None and file_kind(path) == "parquet" and set(columns) <= set(keep):
            table = (
                self._read_directory(wanted, text_columns)
                if path.is_dir()
                else read_parquet_table(path, columns=wanted, text_columns=text_columns)
            )
            try:
                frame = compact_proba_table(table, keep=list(keep), spec=proba, text_columns=text_columns)
            except ProbaTextError as exc:
                raise InputError(f"{path}: {exc}", hint=TEXT_HINT) from None
            if frame is not None:
                return frame, None
            return parquet_frame(table, text_columns), None
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


#: Most cells (combinations of the kept columns' values × derived keys) :func:`compact_proba_table` counts
#: into; beyond it the rows are handed over (the bincount arrays would outgrow the chunks).
MAX_PROBA_CELLS = 1 << 18


def compact_proba_table(
    table: Any, *, keep: Sequence[str], spec: ProbaSpec, text_columns: Sequence[str]
) -> pd.DataFrame | None:
    """The compact frame of a probabilistic audit — the frame :func:`audit.tables.proba.proba_sql` gives
    DuckDB and Spark — from an Arrow table in memory, by :func:`audit.tables.proba.proba_totals`: the
    kept columns as integer codes (dictionary indices; small integers offset), the probability columns
    as float64 views of the Arrow buffers, counted chunk by chunk. None when a kept column is not
    discrete or the combinations are too many (the rows are then counted as rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not all(discrete(table.schema.field(c).type) for c in keep):
        return None
    k = len(spec.columns)
    coded: list[tuple[str, Any, int, Any]] = []  # name, codes column, its null code, how to decode
    groups = 1
    columns: dict[str, Any] = {}
    for name in keep:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            columns[name] = column
            coded.append((name, "dictionary", 0, None))
            continue
        if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
            as_int = column if pa.types.is_integer(column.type) else pc.cast(column, pa.int8())
            bounds = pc.min_max(as_int).as_py()
            low, high = bounds["min"] or 0, bounds["max"] or 0
            if high - low < 1 << 16:  # small integers: the value less the smallest is the code
                columns[name] = as_int
                coded.append((name, "offset", low, high - low + 1))
                continue
        columns[name] = pc.dictionary_encode(column)
        coded.append((name, "encoded", 0, None))
    texts = []
    for column_name in spec.columns:
        column = table.column(column_name)
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            columns[column_name] = pc.cast(column, pa.float64())
        else:  # as count_proba reads rows: numbers; empty (or "NA") is missing, other text an error
            texts.append((column_name, column.to_pandas()))
    for (column_name, _), values in zip(texts, numbers_of_columns(texts), strict=True):
        columns[column_name] = pa.chunked_array([values])
    work = pa.table(columns).unify_dictionaries()
    sizes: list[int] = []
    dictionaries: list[Any] = []
    for name, how, low, size in coded:
        column = work.column(name)
        if how == "offset":
            sizes.append(size + 1)
            dictionaries.append(pa.array(range(low, low + size), type=column.type))
        else:
            dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], column.type.value_type)
            sizes.append(len(dictionary) + 1)
            dictionaries.append(dictionary)
    groups = int(np.prod(sizes, dtype=np.int64)) if sizes else 1
    if groups * derived_cells(k) > MAX_PROBA_CELLS:
        return None
    totals = None
    for batch in work.to_batches(max_chunksize=1 << 16):
        codes = np.zeros(batch.num_rows, np.int64)
        for i, (name, how, low, _) in enumerate(coded):
            array = batch.column(name)
            null = sizes[i] - 1
            if how == "offset":
                part = np.asarray(array.fill_null(low + null), dtype=np.int64) - low
            else:
                part = np.asarray(array.indices.fill_null(null), dtype=np.int64)
            codes *= sizes[i]
            codes += part
        probabilities = [batch.column(c).to_numpy(zero_copy_only=False) for c in spec.columns]
        totals = proba_totals(probabilities, codes, groups, out=totals)
    if totals is None:
        return None
    code, sums = totals_columns(totals, k)
    out: dict[str, Any] = {}
    for i in range(len(coded) - 1, -1, -1):  # the last column varies fastest
        name, how, _, _ = coded[i]
        code, index = np.divmod(code, sizes[i])
        indices = pa.array(index, type=pa.int32(), mask=index == sizes[i] - 1)
        if how == "dictionary":
            out[name] = pa.DictionaryArray.from_arrays(indices, dictionaries[i])
        else:
            out[name] = dictionaries[i].take(indices)
    frame = pa.table({**{name: out[name] for name in keep}, **sums}).to_pandas()
    return sort_compact(finish(frame, text_columns), [*keep, STATE, TOP, BIN])
