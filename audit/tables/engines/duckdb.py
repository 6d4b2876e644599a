"""The out-of-core engine: DuckDB runs the GROUP BY over Parquet/CSV files, globs or directories.

Without a model the audit's columns never enter Python row by row: DuckDB scans the files
(projection pushed down, several threads, spilling to ``temp_directory`` when the aggregation
outgrows ``memory_limit``) and returns one row per distinct combination of the raw values with
its count. CSV files are parsed by Arrow's streaming reader with exactly the options
:func:`audit.inputs.dataset.load_dataset` uses (so types are inferred the same way) and streamed
into DuckDB. With ``--model`` the rows are streamed as Arrow record batches of
:data:`audit.inputs.model.BATCH_ROWS` rows (the batch size the in-memory engine predicts with),
each predicted and reduced to partial counts: the whole frame is never in memory.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from audit.errors import InputError, UsageError, interruption
from audit.inputs.dataset import integers_as_text
from audit.tables.engines.files import unify_parquet
from audit.tables.engines.interface import (
    WEIGHT,
    Binning,
    Engine,
    EngineOptions,
    Precomputed,
    compact,
    finish,
    reduce_batch,
)
from audit.tables.proba import ProbaSpec, proba_sql
from audit.tables.scores import CELL, cell_sql, settle_cells
from audit.util.suggest import columns_hint

_NUMBERS = {"DOUBLE", "FLOAT", "REAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
_NUMBERS |= {"U" + k for k in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")}
_RECOMPACT_EVERY = 16  # batches between merges of the partial counts (bounds their memory)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class DuckdbEngine(Engine):
    name = "duckdb"

    def __init__(self, files: Any, options: EngineOptions) -> None:
        super().__init__(files, options)
        self._con: Any = None
        self._tmp: str | None = None
        self._header: list[str] | None = None
        self._stream_error: InputError | None = None  # why the CSV stream DuckDB read stopped

    # --- connection ------------------------------------------------------------------------

    def connection(self) -> Any:
        if self._con is None:
            import duckdb

            temp = self.options.temp_directory
            if temp is None:
                self._tmp = tempfile.mkdtemp(prefix="fairgate-duckdb-")
                temp = Path(self._tmp)
            config: dict[str, Any] = {"temp_directory": str(temp), "preserve_insertion_order": False}
            if self.options.memory_limit:
                config["memory_limit"] = self.options.memory_limit
            if self.options.threads:
                config["threads"] = int(self.options.threads)
            try:
                self._con = duckdb.connect(":memory:", config=config)
            except duckdb.Error as exc:
                given = " and ".join(
                    name
                    for name, value in (
                        ("--memory-limit", self.options.memory_limit),
                        ("--temp-directory", self.options.temp_directory),
                        ("--threads", self.options.threads),
                    )
                    if value
                )
                raise UsageError(
                    f"DuckDB refused {given or 'its settings'} ({_first_line(exc)})",
                    hint="--memory-limit takes a size such as 512MB or 4GB",
                ) from exc
        return self._con

    def close(self) -> None:
        super().close()
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _source(self) -> str:
        files = [str(f) for f in self.files.files]
        listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        # columns matched by name at the widest type across files (int32 and int64, an all-null
        # file); key=value directories kept as text (zip=01234 stays 01234), as the other engines read them
        return f"read_parquet({listing}, union_by_name = true, hive_types_autocast = false)"

    # --- Engine ----------------------------------------------------------------------------

    def header(self) -> list[str]:
        if self.files.kind == "csv":
            return self._csv_header()
        con = self.connection()
        try:
            rows = con.sql(f"DESCRIBE SELECT * FROM {self._source()}").fetchall()
        except Exception as exc:
            self._out_of_memory(exc)
            raise InputError(f"{self.files.spec}: not readable Parquet ({_first_line(exc)})") from exc
        return [str(r[0]) for r in rows]

    def _out_of_memory(self, exc: BaseException) -> None:
        """DuckDB's out-of-memory error is about --memory-limit, not about the files."""
        if "out of memory" in str(exc).lower():
            limit = f" under --memory-limit {self.options.memory_limit}" if self.options.memory_limit else ""
            raise InputError(
                f"{self.files.spec}: DuckDB ran out of memory{limit} ({_first_line(exc)})",
                hint="raise --memory-limit (reading needs some tens of MB), or give "
                "--temp-directory a disk with room to spill",
            ) from exc

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
        if self.files.kind == "parquet" and len(self.files.files) > 1:
            unify_parquet(self.files, columns)  # every file holds the audited columns, one kind of values each
        header = self.header()
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(
                f"{self.files.spec}: no column named {', '.join(map(repr, missing))}",
                hint=columns_hint(missing, header),
            )
        if model is not None:
            keep = [*keep, *(proba.columns if proba else ())]  # rows predicted in Python keep their probabilities
            parts: list[pd.DataFrame] = []
            by: list[str] = []
            copies = self._csv_copies(columns)
            extra = [c for same in copies.values() for c in same]
            for i, batch in enumerate(self.batches([*columns, *extra], text_columns)):
                batch = self._drop_copies(batch, copies)
                part = reduce_batch(batch, keep=keep, model=model, features=features, text_columns=text_columns)
                by = [c for c in part.columns if c != WEIGHT]
                parts.append(part)
                if i % _RECOMPACT_EVERY == _RECOMPACT_EVERY - 1:
                    parts = [compact(parts, by)]
            frame = compact(parts, by)
            self._check_rows(frame)
            return finish(frame, text_columns), Precomputed(model)
        counted: pd.DataFrame | None = None
        if binning is not None and proba is None and self.files.kind == "parquet" and self._numeric(binning.score):
            cells = self._group_by(list(keep), text_columns, binning=binning)
            counted = settle_cells(cells, binning.score) if len(cells) else cells
        if counted is None:  # few rows, or scores outside [0, 1]: every distinct score
            counted = self._group_by(list(keep), text_columns, proba=proba)
        self._check_rows(counted)
        return finish(counted, text_columns), None

    # --- internals -------------------------------------------------------------------------

    def _check_rows(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            raise InputError(
                f"{self.files.spec}: the dataset has no rows", hint="check that the file is not a header only"
            )

    def _numeric(self, column: str) -> bool:
        """Whether a Parquet column holds floats or integers (others keep the plain read and its messages)."""
        rows = self.connection().sql(f"DESCRIBE SELECT {quote(column)} FROM {self._source()}").fetchall()
        kind = str(rows[0][1]).upper()
        return kind in _NUMBERS  # not DECIMAL: its cast to a double may round differently from pandas'/Arrow's

    def _group_by(
        self,
        keep: list[str],
        text_columns: Sequence[str],
        proba: ProbaSpec | None = None,
        binning: Binning | None = None,
    ) -> pd.DataFrame:
        con = self.connection()
        copies = self._csv_copies(keep)
        if proba is not None:  # probability columns: summed in the same pass (audit.tables.proba)
            copies = {}
            cols = ", ".join(quote(c) for c in [*keep, *proba.columns])
        cols = ", ".join(quote(c) for c in [*keep, *[c for same in copies.values() for c in same]])
        if self.files.kind == "csv":
            reader = self._csv_reader(
                [*keep, *[c for same in copies.values() for c in same], *(proba.columns if proba else ())],
                text_columns=text_columns,
            )
            con.register("fairgate_csv", reader)
            source = "fairgate_csv"
            types = {field.name: str(field.type) for field in reader.schema}
        else:
            source = self._source()
            types = {}
        sql = f"SELECT {cols}, count(*)::BIGINT AS {quote(WEIGHT)} FROM {source} GROUP BY ALL"
        if proba is not None:  # DOUBLE columns are read as they are, text parsed as numpy parses it, others cast
            if self.files.kind != "csv":  # (a CSV file's types are its Arrow reader's, above)
                try:
                    described = con.sql(f"DESCRIBE SELECT {', '.join(quote(c) for c in proba.columns)} FROM {source}")
                    types = {str(name): str(kind) for name, kind, *_ in described.fetchall()}
                except Exception:  # the query below says what is wrong with the files
                    types = {}
            doubles = [c for c in proba.columns if types.get(c) in ("DOUBLE", "double")]
            texts = [c for c in proba.columns if types.get(c) in ("VARCHAR", "string", "large_string")]
            sql = proba_sql(
                proba, keep=keep, source=source, quote=quote, dialect="duckdb", doubles=doubles, texts=texts
            )
        if binning is not None:  # probabilities in cells: bounded whatever the rows (audit.tables.scores)
            cell, aggregates = cell_sql(binning.score, split_at=binning.split_at, quote=quote)
            others = [quote(c) for c in keep if c != binning.score]
            sql = (
                f"SELECT {', '.join([*others, f'{cell} AS {quote(CELL)}'])}, count(*)::BIGINT AS {quote(WEIGHT)}, "
                f"{', '.join(aggregates)} FROM {source} GROUP BY ALL"
            )
        try:
            table = con.sql(sql).to_arrow_table()
        except Exception as exc:
            if self._stream_error is not None:
                raise self._stream_error from exc
            if "interrupted" in str(exc).lower():  # a signal reached DuckDB first: an interrupt, not bad data
                raise interruption() from exc
            self._out_of_memory(exc)
            raise InputError(
                f"{self.files.spec}: DuckDB could not count the groups ({_first_line(exc)})",
                hint="if it ran out of memory, raise --memory-limit or free the temp directory",
            ) from exc
        finally:
            if self.files.kind == "csv":
                unwinding = sys.exc_info()[0] is not None
                try:
                    con.unregister("fairgate_csv")
                except Exception as exc:
                    if not unwinding:  # while another error unwinds, that one says more: keep it
                        self._out_of_memory(exc)
                        raise
        return self._drop_copies(integers_as_text(table, text_columns, encode=True).to_pandas(), copies)

    def _csv_copies(self, wanted: Sequence[str]) -> dict[str, list[str]]:
        """Repeated CSV column names: ``a`` → [``a.1``, …] (read apart, as load_dataset does)."""
        if self.files.kind != "csv":
            return {}
        from audit.inputs.files import unique_names

        header = self._csv_header()
        names = unique_names(header)
        return {c: [n for n, h in zip(names, header, strict=True) if h == c][1:] for c in wanted if header.count(c) > 1}

    def _drop_copies(self, frame: pd.DataFrame, copies: dict[str, list[str]]) -> pd.DataFrame:
        """A repeated column is usable only when every copy holds the same values in every row."""
        for column, same in copies.items():
            for copy in same:
                if not frame[column].equals(frame[copy]):
                    raise InputError(
                        f"{self.files.spec}: column {column!r} appears more than once with different values",
                        hint="rename or remove the duplicate column",
                    )
                del frame[copy]
        return frame

    def batches(self, columns: list[str], text_columns: Sequence[str] = ()) -> Iterator[pd.DataFrame]:
        """The rows as pandas frames of exactly BATCH_ROWS rows (the last one shorter)."""
        import pyarrow as pa

        from audit.inputs.model import BATCH_ROWS

        if self.files.kind == "csv":
            reader = self._csv_reader(columns, text_columns=text_columns)
            schema, stream = reader.schema, iter(reader)
        else:
            import pyarrow.dataset as ds

            dataset = ds.dataset([str(f) for f in self.files.files], format="parquet")
            scanner = dataset.scanner(columns=columns, batch_size=BATCH_ROWS)
            schema, stream = scanner.projected_schema, iter(scanner.to_batches())
        schema = schema.remove_metadata()  # as audit.inputs.dataset reads Parquet: Arrow types alone
        pending: list[Any] = []
        count = 0
        for batch in stream:
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            count += batch.num_rows
            while count >= BATCH_ROWS:
                table = pa.Table.from_batches(pending, schema=schema)
                yield integers_as_text(table.slice(0, BATCH_ROWS), text_columns).to_pandas()
                rest = table.slice(BATCH_ROWS)
                pending, count = rest.to_batches(), rest.num_rows
        if count:
            yield integers_as_text(pa.Table.from_batches(pending, schema=schema), text_columns).to_pandas()

    def _csv_header(self) -> list[str]:
        """The header every CSV file shares (files of one dataset must agree, in order)."""
        from audit.inputs.dataset import read_header

        if self._header is None:
            first, *rest = self.files.files
            header = read_header(first)
            for path in rest:
                other = read_header(path)
                if other != header:
                    raise InputError(
                        f"{path}: its columns differ from those of {first}",
                        hint="every CSV file of one dataset needs the same header, in the same order",
                    )
            self._header = header
        return self._header

    def _csv_reader(self, columns: list[str], *, text_columns: Sequence[str]) -> Any:
        """The CSV files one after another, as one stream of Arrow record batches.

        Each file is parsed by Arrow's streaming reader with load_dataset's options (same type
        inference). The first file's types hold for the others, which are parsed with them, so
        that a column means the same in every file; a file whose values do not fit is named.
        """
        import pyarrow as pa

        files = self.files.files
        first = self._open_csv(files[0], columns, text_columns=text_columns)
        schema = first.schema
        for path in files[1:]:  # a column with no value in the first file (a header-only export) takes
            untyped = [f.name for f in schema if pa.types.is_null(f.type)]  # its type from the next file with one
            if not untyped:
                break
            probe = self._open_csv(path, untyped, text_columns=text_columns).schema
            schema = pa.schema(
                [
                    probe.field(f.name) if f.name in untyped and not pa.types.is_null(probe.field(f.name).type) else f
                    for f in schema
                ]
            )
        fixed = {f.name: f.type for f in schema if not pa.types.is_null(f.type)}
        self._stream_error = None

        def stream() -> Iterator[Any]:
            path = files[0]
            try:
                for batch in first:
                    yield batch.cast(schema)
                for path in files[1:]:
                    reader = self._open_csv(path, columns, text_columns=text_columns, types=fixed)
                    for batch in reader:
                        yield batch.cast(schema)
            except InputError as exc:
                self._stream_error = exc
                raise
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
                # raised inside DuckDB's scan, which would bury it in its own message: kept for _group_by
                hint = None if path == files[0] else f"its columns are read with the types of {files[0].name}"
                reason = self._name_column(_first_line(exc))
                self._stream_error = InputError(f"{path}: not a readable CSV file ({reason})", hint=hint)
                raise self._stream_error from exc

        return pa.RecordBatchReader.from_batches(schema, stream())

    def _open_csv(
        self, path: Path, columns: list[str], *, text_columns: Sequence[str], types: dict[str, Any] | None = None
    ) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        from audit.inputs.files import csv_delimiter, unique_names

        header = self._csv_header()
        kinds = {**(types or {}), **{c: pa.dictionary(pa.int32(), pa.string()) for c in text_columns if c in columns}}
        try:
            return pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 24, column_names=unique_names(header), skip_rows=1),
                parse_options=pacsv.ParseOptions(delimiter=csv_delimiter(path)),
                convert_options=pacsv.ConvertOptions(
                    include_columns=list(columns),
                    column_types={c: t for c, t in kinds.items() if c in columns},
                    strings_can_be_null=True,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            hint = (
                f"its columns are read with the types of the first file, {self.files.files[0].name}"
                if types is not None
                else None
            )
            raise InputError(
                f"{path}: not a readable CSV file ({self._name_column(_first_line(exc))})", hint=hint
            ) from exc

    def _name_column(self, reason: str) -> str:
        """Arrow's "In CSV column #8" counts from 0 over the file's columns: name the column instead."""
        header = self._csv_header()

        def name(match: re.Match[str]) -> str:
            index = int(match.group(1))
            return f"in column {header[index]!r}" if index < len(header) else match.group(0)

        return re.sub(r"In CSV column #(\d+)", name, reason)
