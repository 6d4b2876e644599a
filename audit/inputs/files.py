"""What kind of data file a path is, and how its text is split: shared by the reader in
:mod:`audit.inputs.dataset` and the engines in :mod:`audit.tables.engines` that read files themselves."""

from __future__ import annotations

from pathlib import Path

from audit.errors import InputError

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def file_kind(path: Path) -> str:
    """``"parquet"`` (a Parquet file or a directory of them) or ``"csv"`` (CSV/TSV, gzipped or not)."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES) or path.is_dir():
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise InputError(
        f"{path}: unsupported dataset format",
        hint="use a .csv, .csv.gz, .tsv or .parquet file",
    )


def csv_delimiter(path: Path) -> str:
    """Tab for ``.tsv``/``.tsv.gz``, comma otherwise."""
    return "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","


def unique_names(header: list[str]) -> list[str]:
    """``a, b, a`` → ``a, b, a.1`` (as pandas does), so repeated columns can be read apart."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}.{count}")
    return names
