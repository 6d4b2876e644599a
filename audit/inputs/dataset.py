"""Read the labeled dataset (CSV or Parquet) into a pandas frame, with one-line errors.

Only the columns the audit needs are read. Sensitive-feature columns are read as text so that
``1`` and ``1.0`` or leading zeros are never silently merged; missing values stay missing here
and become the explicit ``unknown`` level when groups are counted.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from audit.errors import InputError
from audit.inputs.files import PARQUET_SUFFIXES, csv_delimiter, file_kind, unique_names
from audit.util.suggest import columns_hint

#: What to do when a file does not fit in memory (true whichever engines are installed).
MEMORY_HINT = (
    "audit a smaller sample of the rows (every row is held in memory), or audit it with the "
    "DuckDB engine (--engine duckdb) where available"
)
#: Errors that a damaged compressed file raises from inside the reader.
MISSING_DATA_HINT = (
    "check the --data path (relative to the current directory); quote a glob such as "
    "'logs/*.parquet' so the shell does not expand it"
)
PARQUET_HINT = "the file is damaged, truncated or not Parquet: copy it again completely, or check its format"
_DAMAGED = (EOFError, zlib.error, gzip.BadGzipFile)


def read_header(path: Path) -> list[str]:
    """Column names of the file, without reading its rows."""
    path = Path(path)
    _check_exists(path)
    if file_kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            if path.is_dir():  # a partitioned dataset: its files' columns and its key=value directories'
                return list(pq.ParquetDataset(path).schema.names)
            return list(pq.read_schema(path).names)
        except MemoryError:
            raise
        except Exception as exc:  # pyarrow raises several types for broken files
            raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})", hint=PARQUET_HINT) from exc
    return _csv_header(path)


def load_dataset(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Load ``columns`` (all when None) of a CSV or Parquet file; ``text_columns`` as strings."""
    path = Path(path)
    _check_exists(path)
    try:
        return _load(path, columns=columns, text_columns=text_columns)
    except MemoryError as exc:
        raise out_of_memory(path) from exc


def out_of_memory(path: Path, *, needed: int | None = None, available: int | None = None) -> InputError:
    """The one-line error for a dataset that does not fit under this machine's memory limit."""
    try:
        size = f"{path.stat().st_size / 1e6:,.0f} MB file"
    except OSError:
        size = "the file"
    if needed is not None and available is not None:
        detail = f"about {needed / 1e6:,.0f} MB needed to read it, {available / 1e6:,.0f} MB available; {size}"
    else:
        detail = size
    return InputError(f"{path}: not enough memory to load the dataset ({detail})", hint=MEMORY_HINT)


def _check_memory(path: Path, *, header: list[str], columns: list[str]) -> None:
    """Refuse before reading when the columns clearly will not fit (Arrow aborts the process on
    an allocation failure instead of raising)."""
    from audit.inputs import memory

    available = memory.available_bytes()
    if available is None:
        return
    try:
        if file_kind(path) == "parquet":
            needed = memory.estimate_parquet_bytes(path, columns=columns)
        else:
            needed = memory.estimate_csv_bytes(path, header=header, columns=columns)
    except Exception:  # noqa: BLE001 - a file we cannot size is left to the reader to report
        return
    if needed > available:
        raise out_of_memory(path, needed=needed, available=available)


def _load(path: Path, *, columns: Sequence[str] | None, text_columns: Sequence[str]) -> pd.DataFrame:
    header = read_header(path)
    wanted = list(dict.fromkeys(columns)) if columns is not None else list(dict.fromkeys(header))
    missing = [c for c in wanted if c not in header]
    if missing:
        raise InputError(f"{path}: no column named {', '.join(map(repr, missing))}", hint=_header_hint(header, missing))
    _check_memory(path, header=header, columns=wanted)
    if file_kind(path) == "parquet":
        frame = parquet_frame(_parquet_table(path, header, wanted, text_columns), text_columns)
    else:
        names = unique_names(header)
        copies = {c: [n for n, h in zip(names, header, strict=True) if h == c] for c in wanted}
        frame = _read_csv(
            path,
            names=names,
            columns=[n for c in wanted for n in copies[c]],
            text_columns=[n for c in text_columns for n in copies.get(c, [c])],
        )
        for column, same in copies.items():
            _drop_identical_copies(frame, path, column, same[1:])
    if len(frame) == 0:
        raise InputError(f"{path}: the dataset has no rows", hint="check that the file is not a header only")
    return frame


def _header_hint(header: list[str], missing: Sequence[str] = ()) -> str:
    if len(header) == 1:
        for sep, name in ((";", "semicolon"), ("\t", "tab"), (" ", "space"), ("|", "pipe")):
            if sep in header[0]:
                return (
                    f"the header looks {name}-separated, or there is no header row: convert the file to "
                    "comma-separated CSV with a header naming the columns"
                )
    return columns_hint(missing, header, lead="the file has")


def _drop_identical_copies(frame: pd.DataFrame, path: Path, column: str, copies: list[str]) -> None:
    """A repeated column is usable only when every copy holds the same values."""
    for copy in copies:
        if not frame[column].equals(frame[copy]):
            raise InputError(
                f"{path}: column {column!r} appears more than once with different values",
                hint="rename or remove the duplicate column",
            )
        del frame[copy]


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file", hint=MISSING_DATA_HINT)
    if not path.is_file() and not path.is_dir():  # a device or pipe (/dev/zero would be read forever)
        raise InputError(f"{path}: not a regular file", hint="--data needs a .csv, .csv.gz, .tsv or .parquet file")
    if path.is_dir() and not any(p.name.lower().endswith(PARQUET_SUFFIXES) for p in path.rglob("*")):
        raise InputError(f"{path}: is a directory", hint="--data needs a .csv, .csv.gz, .tsv or .parquet file")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(
            f"{path}: the file is empty",
            hint="check that the export finished writing; remove the file if it belongs to no data",
        )


def _open_text(path: Path) -> TextIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _csv_header(path: Path) -> list[str]:
    try:
        with _open_text(path) as handle:
            first = next(csv.reader(handle, delimiter=csv_delimiter(path)), None)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start} of the header)", hint="re-encode the file as UTF-8"
        ) from exc
    except _DAMAGED as exc:
        raise _damaged(path, exc) from exc
    except (OSError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV file ({_first_line(exc)})") from exc
    if not first:
        raise InputError(f"{path}: the file has no header", hint="the first line must name the columns")
    if "\x00" in "".join(first):
        raise InputError(
            f"{path}: not a text file (NUL bytes in the header)",
            hint="--data needs a comma-separated UTF-8 CSV file with a header row",
        )
    return [name.strip() for name in first]


def _read_csv(path: Path, *, names: list[str], columns: list[str], text_columns: Sequence[str]) -> pd.DataFrame:
    """Parse with Arrow's CSV reader: strict about ragged rows, multithreaded, UTF-8 only."""
    import pyarrow as pa

    try:
        table = _arrow_csv(path, names=names, columns=columns, text_columns=text_columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, *_DAMAGED) as exc:
        reason = _first_line(exc)
        if "UTF8" in reason or "UTF-8" in reason:
            raise InputError(f"{path}: not UTF-8 text ({reason})", hint="re-encode the file as UTF-8") from exc
        if "Expected" in reason and "columns, got" in reason:
            raise _ragged(path, names=names) from exc
        if isinstance(exc, _DAMAGED) or "gzip" in reason.lower() or "zlib" in reason.lower():
            raise _damaged(path, exc) from exc
        raise InputError(f"{path}: not a readable CSV file ({reason})") from exc
    return table.to_pandas()


def _damaged(path: Path, exc: BaseException) -> InputError:
    return InputError(
        f"{path}: not a readable CSV file (damaged or truncated compressed data: {_first_line(exc)})",
        hint="check that the file was copied completely",
    )


def _arrow_csv(
    path: Path,
    *,
    names: list[str],
    columns: list[str],
    text_columns: Sequence[str],
    use_threads: bool = True,
    on_invalid: Callable[[Any], str] | None = None,
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 24, column_names=names, skip_rows=1, use_threads=use_threads),
        parse_options=pacsv.ParseOptions(delimiter=csv_delimiter(path), invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            column_types={c: pa.dictionary(pa.int32(), pa.string()) for c in text_columns},
            strings_can_be_null=True,
        ),
    )


def _ragged(path: Path, *, names: list[str]) -> InputError:
    """Name the first row whose field count differs from the header's (only on the error path:
    Arrow knows row numbers only when it parses on one thread)."""
    found = []

    def remember(row: Any) -> str:
        found.append(row)
        return "error"

    # the first read already failed; this one only locates the row
    with contextlib.suppress(Exception):
        _arrow_csv(path, names=names, columns=names[:1], text_columns=(), use_threads=False, on_invalid=remember)
    if not found:
        return InputError(f"{path}: not a readable CSV file (a row's field count differs from the header's)")
    row = found[0]
    text = row.text if len(row.text) <= 60 else row.text[:60] + "…"
    line = f"line {row.number}" if row.number is not None else "a row"
    return InputError(
        f"{path}: {line} has {row.actual_columns} fields, the header has {row.expected_columns}: {text!r}",
        hint="every row needs one value per header column; quote values that contain the delimiter",
    )


def read_parquet_table(path: Path, *, columns: Sequence[str], text_columns: Sequence[str] = ()) -> Any:
    """``columns`` of a Parquet file (or directory) as an Arrow table, after load_dataset's checks.

    Text columns are dictionary-encoded; :func:`parquet_frame` turns the table into the frame
    :func:`load_dataset` returns.
    """
    path = Path(path)
    header = read_header(path)
    wanted = list(dict.fromkeys(columns))
    missing = [c for c in wanted if c not in header]
    if missing:
        raise InputError(f"{path}: no column named {', '.join(map(repr, missing))}", hint=_header_hint(header, missing))
    _check_memory(path, header=header, columns=wanted)
    try:
        return _parquet_table(path, header, wanted, text_columns)
    except MemoryError as exc:
        raise out_of_memory(path) from exc


def parquet_frame(table: Any, text_columns: Sequence[str]) -> pd.DataFrame:
    """The pandas frame of a table from :func:`read_parquet_table`: text columns as strings or categories."""
    frame = table.to_pandas()
    for col in text_columns:  # dictionary-encoded columns stay categorical (cheap to count)
        if not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("string")
    return frame


def _parquet_table(path: Path, header: list[str], wanted: list[str], text_columns: Sequence[str]) -> Any:
    repeated = [c for c in wanted if header.count(c) > 1]
    if repeated:
        raise InputError(
            f"{path}: duplicated column name(s) {', '.join(map(repr, repeated))}",
            hint="rewrite the file with one column per name: the copies cannot be told apart",
        )
    table = _read_parquet(path, wanted, dictionary=text_columns)
    if table.num_rows == 0:
        raise InputError(f"{path}: the dataset has no rows", hint="check that the file is not a header only")
    return table


def _read_parquet(path: Path, columns: list[str], dictionary: Sequence[str] = ()) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # text sensitive columns dictionary-encoded from the file onward, even when the writer
        # (DuckDB, Spark) recorded no Arrow schema: ~10× cheaper to count than row strings
        schema = pq.ParquetDataset(path).schema if path.is_dir() else pq.read_schema(path)
        text = [c for c in dictionary if c in schema.names and pa.types.is_string(schema.field(c).type)]
        table = pq.read_table(path, columns=columns, read_dictionary=text or None)
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(exc)})", hint=PARQUET_HINT) from exc
    # the frame comes from the Arrow types alone, as the out-of-core engines' frames do: a pandas
    # writer's recorded dtypes would give a file written by pandas other columns than the same
    # data written by DuckDB or Spark
    return integers_as_text(table.replace_schema_metadata(None), dictionary)


def integers_as_text(table: Any, text_columns: Sequence[str], *, encode: bool = False) -> Any:
    """Integer columns among ``text_columns`` as (dictionary-encoded) Arrow text.

    ``1`` stays the group ``1`` when the column has a missing value; pandas would make the column
    float and the group ``1.0``. Every engine converts its Arrow results with this. ``encode``
    dictionary-encodes the text columns too, so that pandas holds a small code per row instead of
    a string (a compact frame of continuous scores has about one row per row of data).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if field.name not in text_columns:
            continue
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if pa.types.is_integer(kind):
            column = pc.cast(table.column(i), pa.string()).dictionary_encode()
        elif encode and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            column = table.column(i).dictionary_encode()
        else:
            continue
        table = table.set_column(i, pa.field(field.name, column.type), column)
    return table


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
