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
from audit.inputs.dataset import _kind, load_dataset, parquet_frame, read_header, read_parquet_table
from audit.tables.engines.files import is_glob, unify_parquet
from audit.tables.engines.interface import Engine, finish
from audit.tables.groups import WEIGHT

#: Compact only when the distinct rows are at most this share of the rows.
MAX_SHARE = 0.5


class NumpyEngine(Engine):
    name = "numpy"

    def _path(self) -> Path:
        if is_glob(self.files.spec):
            raise InputError(f"{self.files.spec}: the numpy engine reads one file or one directory, not a pattern",
                             hint="use --engine duckdb (or auto) for globs")
        return Path(self.files.spec)

    def header(self) -> list[str]:
        return read_header(self._path())

    def read(
        self, *, columns: Sequence[str], keep: Sequence[str], text_columns: Sequence[str],
        model: Any = None, features: Sequence[str] | None = None,
    ) -> tuple[pd.DataFrame, Any]:
        path = self._path()
        wanted = list(dict.fromkeys(columns))
        if path.is_dir():
            unify_parquet(self.files, wanted)  # every file holds the audited columns, one kind of values each
        if model is None and _kind(path) == "parquet" and set(wanted) == set(keep):
            table = read_parquet_table(path, columns=wanted, text_columns=text_columns)
            if all(discrete(field.type) for field in table.schema):
                frame = compact_table(table, text_columns)
                if frame is not None:
                    return frame, None
            return parquet_frame(table, text_columns), None
        return load_dataset(path, columns=wanted, text_columns=text_columns), model


def discrete(kind: Any) -> bool:
    """Arrow types whose distinct values a hash aggregation groups exactly (no floats, no timestamps)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        return discrete(kind.value_type)
    return bool(pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind)
                or pa.types.is_large_string(kind) or pa.types.is_date32(kind))


def compact_table(table: Any, text_columns: Sequence[str]) -> pd.DataFrame | None:
    """One row per distinct combination of ``table``'s values (missing ones included), with :data:`WEIGHT`.

    None when that would not halve the rows (an identifier among the columns, as when exact
    duplicates are judged over every column): the rows themselves are then cheaper. Arrow's
    threads return the groups in any order; they are sorted so that the frame is the same on
    every run.
    """
    names = list(table.column_names)
    grouped = table.unify_dictionaries().group_by(names).aggregate([([], "count_all")])
    if grouped.num_rows > MAX_SHARE * table.num_rows:
        return None
    frame = finish(grouped.rename_columns([*names, WEIGHT]).to_pandas(), text_columns)
    return frame.sort_values(names, na_position="last", kind="stable", ignore_index=True)
