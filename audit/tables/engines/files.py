"""Which files a ``--data`` argument names, and one identity (size, sha256) for all of them.

``--data`` is a file, a directory of Parquet files (a partitioned dataset, read recursively) or a
glob such as ``logs/2026-*/part-*.parquet``. For one file the provenance is that file's own size
and sha256, as before. For several, the recorded ``sha256`` is the sha256 of a manifest listing
every file as ``<path relative to the base>\\t<size>\\t<sha256 of the file>\\n``, sorted by relative
path (the base is the directory given, or the glob's directory part before its first wildcard),
and ``size_bytes`` is their total. Anyone can rebuild the manifest with ``sha256sum``, and renaming,
adding, dropping or changing any file changes the digest; moving the whole dataset does not.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import InputError
from audit.inputs.provenance import InputFile, sha256_file

_WILDCARDS = ("*", "?", "[")
PARQUET_SUFFIXES = (".parquet", ".pq")


def is_glob(data: str | Path) -> bool:
    return any(ch in str(data) for ch in _WILDCARDS)


@dataclass(frozen=True)
class DataFiles:
    """The files behind ``--data``: ``spec`` as given, ``base`` their common root, ``files`` sorted."""

    spec: str
    base: Path
    files: tuple[Path, ...]

    @property
    def kind(self) -> str:
        """``parquet`` or ``csv`` (all files must be of one kind)."""
        kinds = {_kind_of(f) for f in self.files}
        if len(kinds) != 1:
            raise InputError(
                f"{self.spec}: mixes file formats ({', '.join(sorted(kinds))})",
                hint="point --data at files of one format",
            )
        return kinds.pop()

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    @property
    def single(self) -> bool:
        return len(self.files) == 1 and not is_glob(self.spec) and Path(self.spec).is_file()

    def provenance(self, role: str = "dataset", stop: threading.Event | None = None) -> InputFile:
        if self.single:
            return InputFile.of(role, self.files[0], stop)
        entries = manifest_entries(self, stop)
        return InputFile(role, self.spec, sum(size for _, size, _ in entries), manifest_sha256(entries), files=entries)


def _kind_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    raise InputError(f"{path}: unsupported dataset format", hint="use .csv, .csv.gz, .tsv or .parquet files")


def resolve(data: str | Path) -> DataFiles:
    """The files ``data`` names; an InputError when there are none."""
    spec = str(data)
    if is_glob(spec):
        matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not matches:
            raise InputError(
                f"{spec}: no file matches this pattern",
                hint="a pattern names files, such as 'decisions/*/*.parquet' (quote it so that the "
                "shell leaves it to Fairgate); a directory of Parquet files can be given as it is",
            )
        head = spec[: min(spec.index(c) for c in _WILDCARDS if c in spec)]
        base = Path(head) if head.endswith(("/", "\\")) else Path(head).parent
        return DataFiles(spec, base, tuple(matches))
    path = Path(spec)
    if path.is_dir():
        # hidden and underscore paths are not data (_SUCCESS, _temporary/ of a job still writing, .crc), as
        # Spark and Arrow treat them
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.name.lower().endswith(PARQUET_SUFFIXES)
            and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
        )
        if not found:
            csv = any(p.name.lower().endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")) for p in path.iterdir())
            raise InputError(
                f"{path}: is a directory with no Parquet files",
                hint=f"name its CSV files with a quoted glob: '{path}/*.csv'"
                if csv
                else "--data needs a file, a directory of .parquet files or a glob",
            )
        return DataFiles(spec, path, tuple(found))
    if not path.exists():
        from audit.inputs.dataset import MISSING_DATA_HINT

        raise InputError(f"{path}: no such file", hint=MISSING_DATA_HINT)
    return DataFiles(spec, path.parent, (path,))


def manifest_entries(files: DataFiles, stop: threading.Event | None = None) -> tuple[tuple[str, int, str], ...]:
    """(relative path, size, sha256) of every file, sorted by relative path: the manifest's lines."""
    ordered = sorted(files.files, key=lambda p: p.relative_to(files.base).as_posix())
    return tuple((f.relative_to(files.base).as_posix(), f.stat().st_size, sha256_file(f, stop)) for f in ordered)


def manifest_sha256(entries: Sequence[tuple[str, int, str]]) -> str:
    """The sha256 of the manifest: one ``path<TAB>size<TAB>sha256`` line per entry."""
    text = "".join(f"{path}\t{size}\t{digest}\n" for path, size, digest in entries)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------
# many Parquet files: one schema


_NOTHING = "nothing (every value missing)"


def _kind_of_type(kind: Any) -> str:
    """What a column holds, in words; widths (int32/int64, float/double) and encodings do not count."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    for test, name in (
        (pa.types.is_boolean, "booleans"),
        (pa.types.is_integer, "integers"),
        (pa.types.is_floating, "decimal numbers"),
        (pa.types.is_string, "text"),
        (pa.types.is_large_string, "text"),
        (pa.types.is_date, "dates"),
        (pa.types.is_timestamp, "timestamps"),
        (pa.types.is_null, _NOTHING),
    ):
        if test(kind):
            return name
    return str(kind)


def _widest(kinds: list[Any]) -> Any:
    """One Arrow type for the same kind of values written at several widths."""
    import pyarrow as pa

    plain = [k.value_type if pa.types.is_dictionary(k) else k for k in kinds]
    plain = [k for k in plain if not pa.types.is_null(k)] or plain
    first = plain[0]
    if all(k == first for k in plain):
        return first
    if all(pa.types.is_integer(k) for k in plain):
        return pa.int64()
    if all(pa.types.is_floating(k) for k in plain):
        return pa.float64()
    if all(pa.types.is_string(k) or pa.types.is_large_string(k) for k in plain):
        return pa.string()
    if all(pa.types.is_timestamp(k) for k in plain):
        return pa.timestamp("us", tz=first.tz)
    return first


def partition_keys(files: DataFiles, path: Path) -> set[str]:
    """Hive-style ``key=value`` directory names between the dataset's base and the file."""
    try:
        parts = path.parent.relative_to(files.base).parts
    except ValueError:
        return set()
    return {p.split("=", 1)[0] for p in parts if "=" in p}


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4096)
def _footer_schema(path: str, size: int, mtime_ns: int) -> Any:
    """A file's schema, read from its footer once per audit (header, checks and reads all ask);
    keyed by size and modification time, so a rewritten file is read again."""
    import pyarrow.parquet as pq

    return pq.read_schema(path)


def unify_parquet(files: DataFiles, columns: Sequence[str] | None = None) -> Any:
    """The one Arrow schema of a many-file Parquet dataset (the widest type of each column).

    Every file must hold each of ``columns`` (or have it as a ``key=value`` directory), and hold
    the same kind of values in it: a file without a column would otherwise be counted as
    ``unknown`` by one engine and refused by another, and a column of integers in one file and
    text in another has no one meaning. Raises an InputError naming the file and the column.
    Columns outside ``columns`` keep the first file's type.
    """
    import pyarrow as pa

    wanted = list(columns) if columns is not None else None
    seen: dict[str, list[Any]] = {}
    kind_of: dict[str, tuple[str, Path]] = {}  # the first kind of values seen in each audited column
    schemas = []
    for path in files.files:
        try:
            schema = _footer_schema(str(path), *_identity(path))
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for broken files
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            from audit.inputs.dataset import PARQUET_HINT

            raise InputError(f"{path}: not a readable Parquet file ({reason})", hint=PARQUET_HINT) from exc
        schemas.append((path, set(schema.names) | partition_keys(files, path), schema))
    for name in wanted or []:
        having = next((path for path, names, _ in schemas if name in names), None)
        lacking = next((path for path, names, _ in schemas if name not in names), None)
        if having is None:  # in no file: the engine says so, with the columns the data has
            continue
        if lacking is not None:
            raise InputError(
                f"{lacking}: no column {name!r}, which {having} has",
                hint="every file of one dataset needs the audited columns; audit the files apart, or add the "
                "column to every file",
            )
    for path, _, schema in schemas:
        for field in schema:
            types = seen.setdefault(field.name, [])
            if field.type not in types:  # distinct types only: thousands of files hold a few
                types.append(field.type)
            kind = _kind_of_type(field.type)
            if wanted is not None and field.name in wanted and kind != _NOTHING:
                first = kind_of.setdefault(field.name, (kind, path))
                if first[0] != kind:
                    raise InputError(
                        f"{path}: column {field.name!r} holds {kind}, but in {first[1]} it holds {first[0]}",
                        hint="write the column with one type in every file (cast it), or audit the files apart",
                    )
    fields = []
    for name, kinds in seen.items():
        fields.append(pa.field(name, _widest(kinds) if wanted is None or name in wanted else _widest(kinds[:1])))
    return pa.schema(fields)
