"""Identity of every input file: what was audited, byte for byte."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


class Stopped(Exception):
    """Hashing was abandoned (the audit ended first: an error or an interrupt)."""


def sha256_file(path: Path, stop: threading.Event | None = None) -> str:
    """The file's sha256; ``stop`` set from another thread abandons it (:class:`Stopped`)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if stop is not None and stop.is_set():
                raise Stopped(str(path))
            digest.update(chunk)  # releases the GIL: the rows are read meanwhile
    return digest.hexdigest()


@dataclass(frozen=True)
class InputFile:
    """One input as recorded in results.json: its role, the path as given, size and sha256."""

    role: str
    path: str
    size_bytes: int
    sha256: str
    #: For a dataset of several files: each file's path (relative to the directory or the glob's
    #: directory part), size and sha256, in manifest order; ``sha256`` is that of the manifest.
    files: tuple[tuple[str, int, str], ...] | None = None
    #: For the dataset: the rows read (before any row filter or exclusion) and the columns it has.
    rows: int | None = None
    columns: int | None = None
    #: For an input held in memory (the Python API): what was hashed and what cannot be re-read.
    note: str | None = None

    @classmethod
    def of(cls, role: str, path: Path, stop: threading.Event | None = None) -> InputFile:
        path = Path(path)
        return cls(role=role, path=str(path), size_bytes=path.stat().st_size, sha256=sha256_file(path, stop))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "role": self.role,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }
        if self.files is not None:
            out["files"] = [{"path": p, "size_bytes": n, "sha256": h} for p, n, h in self.files]
        if self.rows is not None:
            out["rows"] = self.rows
        if self.columns is not None:
            out["columns"] = self.columns
        if self.note is not None:
            out["note"] = self.note
        return out
