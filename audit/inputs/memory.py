"""Refuse a dataset that will not fit in memory *before* reading it.

Arrow's readers do not always report an allocation failure as an exception: under a memory cap
(``ulimit -v``, a container limit) the CSV reader aborts the whole process (``Check failed …
Out of memory``), which a release pipeline sees as a crash with no explanation. So the in-memory
path estimates what the columns it reads will take — rows × bytes per value, for Arrow and then
pandas — and compares that with what this process may still allocate: the address-space limit
(RLIMIT_AS) minus what is mapped now, the cgroup's memory limit minus its usage, and the
system's available memory. The estimate is deliberately rough (within a small factor); it is a
guard against a clear overrun, not a promise that a file just under it will load.
"""

from __future__ import annotations

import gzip
import os
import resource
from collections.abc import Sequence
from pathlib import Path

#: Bytes per value read: an Arrow buffer (≤ 8) plus the pandas copy (≤ 8) plus the text itself.
_PER_VALUE = 16
#: Fixed cost of a read (parser blocks in flight, dictionary tables).
_OVERHEAD = 96 << 20
#: How much of the file's start is read to measure the average row length.
_SAMPLE = 1 << 20


def available_bytes() -> int | None:
    """What this process may still allocate, or None when nothing limits it that we can see."""
    limits = [_address_space_left(), _cgroup_left(), _system_available()]
    known = [v for v in limits if v is not None]
    return max(0, min(known)) if known else None


def estimate_csv_bytes(path: Path, *, header: Sequence[str], columns: Sequence[str]) -> int:
    """Rough peak memory to read ``columns`` of a CSV file (plain or gzip) into a DataFrame."""
    size = path.stat().st_size
    sample, expanded = _sample(path)
    lines = sample.count(b"\n")
    if lines <= 1 or not sample:
        return _OVERHEAD
    ratio = expanded / max(1, _compressed_read(path, expanded)) if path.name.lower().endswith(".gz") else 1.0
    rows = int(size * ratio / (len(sample) / lines))
    share = len(columns) / max(1, len(header))
    text = len(sample) / lines * share  # the read columns' share of each row's text
    return int(rows * (len(columns) * _PER_VALUE + text)) + _OVERHEAD


def estimate_parquet_bytes(path: Path, *, columns: Sequence[str], files: Sequence[Path] | None = None) -> int:
    """Rough peak memory to read ``columns`` of a Parquet file (or of ``files``, a directory's) into a DataFrame."""
    import pyarrow.parquet as pq

    if files is None:
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    total = 0
    wanted = set(columns)
    for file in files:
        meta = pq.ParquetFile(file).metadata
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                column = group.column(c)
                if column.path_in_schema.split(".")[0] in wanted:
                    total += column.total_uncompressed_size + group.num_rows * _PER_VALUE
    return total + _OVERHEAD


def _sample(path: Path) -> tuple[bytes, int]:
    """The first ``_SAMPLE`` bytes of the (decompressed) text, and how many that is."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read(_SAMPLE)
    except (OSError, EOFError):
        return b"", 0  # a damaged file: the reader itself will say so
    return data, len(data)


def _compressed_read(path: Path, expanded: int) -> int:
    """How many compressed bytes held the first ``expanded`` bytes of text (at least one block)."""
    size = path.stat().st_size
    if expanded < _SAMPLE:  # the whole file decompressed within the sample
        return size
    with open(path, "rb") as compressed, gzip.GzipFile(fileobj=compressed, mode="rb") as handle:
        handle.read(expanded)
        return max(1, min(size, compressed.tell()))


def _address_space_left() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = _status_kib("VmSize")
    return soft - (mapped or 0) * 1024


def _cgroup_left() -> int | None:
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((root / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def _system_available() -> int | None:
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return (int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])) * 1024
    except (OSError, KeyError, ValueError):
        return None


def _status_kib(field: str) -> int | None:
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
