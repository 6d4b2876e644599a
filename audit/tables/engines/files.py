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

import glob
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

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
            raise InputError(f"{self.spec}: mixes file formats ({', '.join(sorted(kinds))})",
                             hint="point --data at files of one format")
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
        return InputFile(role, self.spec, self.size_bytes, manifest_sha256(self, stop))


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
            raise InputError(f"{spec}: no file matches this pattern")
        head = spec[: min(spec.index(c) for c in _WILDCARDS if c in spec)]
        base = Path(head) if head.endswith(("/", "\\")) else Path(head).parent
        return DataFiles(spec, base, tuple(matches))
    path = Path(spec)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(PARQUET_SUFFIXES))
        if not found:
            raise InputError(f"{path}: is a directory with no Parquet files",
                             hint="--data needs a file, a directory of .parquet files or a glob")
        return DataFiles(spec, path, tuple(found))
    if not path.exists():
        raise InputError(f"{path}: no such file")
    return DataFiles(spec, path.parent, (path,))


def manifest(files: DataFiles, stop: threading.Event | None = None) -> str:
    lines = []
    for f in sorted(files.files, key=lambda p: p.relative_to(files.base).as_posix()):
        lines.append(f"{f.relative_to(files.base).as_posix()}\t{f.stat().st_size}\t{sha256_file(f, stop)}\n")
    return "".join(lines)


def manifest_sha256(files: DataFiles, stop: threading.Event | None = None) -> str:
    return hashlib.sha256(manifest(files, stop).encode("utf-8")).hexdigest()
