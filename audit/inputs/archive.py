"""Check a skops file's zip archive before skops reads any of it.

A skops file is a zip archive: ``schema.json`` (parsed whole, as JSON) plus one ``.npy`` member per
array. Its central directory states each member's size, but nothing forces those sizes to be small
or true: a 400 KB file whose ``schema.json`` unpacks to 400 MB made Fairgate allocate about 1 GB,
and a 2 MB one about 4 GB. So, before skops opens the archive, :func:`check_skops_archive`

* counts the central-directory entries in the raw bytes (zipfile would build an object per entry);
* checks every member's *declared* sizes: ``schema.json`` at most :data:`MAX_SCHEMA_BYTES`, all
  members together at most :func:`max_model_bytes`, no member unpacking to more than
  :data:`MAX_RATIO` times its compressed size (beyond :data:`RATIO_FLOOR`), stored or deflated only,
  not encrypted;
* then unpacks every member once in 1 MB steps, discarding the output, and checks that it ends
  exactly at its declared size — a member whose header understates its size is refused, instead of
  being unpacked in one piece by zipfile's ``read()``.

Default limits, and why: a 300-tree random forest fitted on 20,000 rows is a 213 MB file with
1,502 members and a 4.6 MB schema; 1,000 histogram-gradient-boosting trees make 3,029 members and a
2.7 MB schema. The limits leave at least ten times that room and still refuse a file that would
take gigabytes. ``FAIRGATE_MAX_MODEL_SIZE`` (for example ``8GB``) changes the total for a model that
really is larger.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path

from audit.errors import InputError, UsageError

MAX_SCHEMA_BYTES = 64 << 20
MAX_MEMBERS = 50_000
DEFAULT_MAX_MODEL_BYTES = 2 << 30
MAX_RATIO = 200
#: Members that unpack to less than this are not held to :data:`MAX_RATIO` (small JSON compresses well).
RATIO_FLOOR = 1 << 20
ENV_MAX_MODEL_SIZE = "FAIRGATE_MAX_MODEL_SIZE"

_STEP = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
_RESAVE = "re-save the model with skops.io.dump(model, 'model.skops')"


def max_model_bytes() -> int:
    """The most a skops file may unpack to: ``FAIRGATE_MAX_MODEL_SIZE`` or 2 GB."""
    text = os.environ.get(ENV_MAX_MODEL_SIZE, "").strip()
    if not text:
        return DEFAULT_MAX_MODEL_BYTES
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?B?)", text.upper())
    if match is None or match.group(2) not in _UNITS:
        raise UsageError(
            f"{ENV_MAX_MODEL_SIZE}={text!r} is not a size",
            hint=f"write a number of bytes or a size such as 4GB or 512MB, e.g. {ENV_MAX_MODEL_SIZE}=8GB",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def check_skops_file_size(path: Path, size: int) -> None:
    """Refuse, before reading it, a file larger than everything it may unpack to."""
    limit = max_model_bytes()
    if size > limit:
        raise InputError(
            f"{path}: refusing to open a {_mb(size)} model file, over the {_mb(limit)} limit for a model",
            hint=_size_hint(),
        )


def check_skops_archive(path: Path, data: bytes) -> None:
    """Refuse a skops archive whose members would take more memory than a real model needs."""
    entries = data.count(b"PK\x01\x02")  # an upper bound on what zipfile would parse
    if entries > MAX_MEMBERS:
        raise InputError(
            f"{path}: refusing to open a skops file with {entries:,} members, over the limit of {MAX_MEMBERS:,}",
            hint="a saved scikit-learn model has a few members per estimator; " + _RESAVE,
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise InputError(f"{path}: not a readable skops model (not a zip archive: {exc})", hint=_RESAVE) from exc
    limit = max_model_bytes()
    total = 0
    for info in infos:
        _check_declared(path, info)
        total += info.file_size
        if total > limit:
            raise InputError(
                f"{path}: refusing to open a skops file whose members unpack to more than {_mb(limit)} "
                f"(the limit for a model)",
                hint=_size_hint(),
            )
    view = memoryview(data)
    for info in infos:
        _check_stream(path, view, info)


def _check_declared(path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise InputError(f"{path}: refusing to open a skops file with an encrypted member ({name!r})", hint=_RESAVE)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputError(
            f"{path}: refusing to open a skops file whose member {name!r} uses zip compression method "
            f"{info.compress_type} (only stored and deflated members are read)",
            hint="re-save the model with skops.io.dump(model, 'model.skops') (uncompressed, the default) "
            "or with compression=zipfile.ZIP_DEFLATED",
        )
    if name == "schema.json" and info.file_size > MAX_SCHEMA_BYTES:
        raise InputError(
            f"{path}: refusing to open a skops file whose schema.json unpacks to {_mb(info.file_size)}, "
            f"over the {_mb(MAX_SCHEMA_BYTES)} limit",
            hint="the schema of a real model is a few MB (a 300-tree forest: 4.6 MB); " + _RESAVE,
        )
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise InputError(
            f"{path}: refusing to open a skops file whose member {name!r} unpacks to {_mb(info.file_size)} "
            f"from {_mb(info.compress_size)}, over the {MAX_RATIO}:1 compression limit",
            hint="a model's arrays compress far less than that; " + _RESAVE + " (uncompressed, the default)",
        )


def _check_stream(path: Path, data: memoryview, info: zipfile.ZipInfo) -> None:
    """Unpack one member in bounded steps; it must end exactly at its declared size."""
    name = info.filename
    start = info.header_offset
    header = bytes(data[start : start + _LOCAL_HEADER.size])
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _damaged(path, name, "no local header")
    fields = _LOCAL_HEADER.unpack(header)
    begin = start + _LOCAL_HEADER.size + fields[10] + fields[11]
    raw = data[begin : begin + info.compress_size]
    if len(raw) < info.compress_size:
        raise _damaged(path, name, "truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise _damaged(path, name, "stored size differs from its size")
        return
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    produced, offset = 0, 0
    pending: bytes | memoryview = b""
    try:
        while not inflate.eof:
            if not pending and offset < len(raw):
                pending, offset = raw[offset : offset + _STEP], offset + _STEP
            out = inflate.decompress(pending, _STEP)
            produced += len(out)
            if produced > info.file_size:
                raise _damaged(path, name, f"unpacks to more than the {info.file_size:,} bytes it declares")
            pending = inflate.unconsumed_tail
            if not out and not pending and offset >= len(raw):
                break  # the input is used up and nothing more comes out
    except zlib.error as exc:
        raise _damaged(path, name, str(exc)) from exc
    if not inflate.eof or produced != info.file_size:
        raise _damaged(path, name, f"unpacks to {produced:,} bytes, not the {info.file_size:,} it declares")


def _damaged(path: Path, name: str, problem: str) -> InputError:
    return InputError(f"{path}: not a readable skops model (member {name!r}: {problem})", hint=_RESAVE)


def _size_hint() -> str:
    return (
        f"a real model this large needs {ENV_MAX_MODEL_SIZE} raised (e.g. {ENV_MAX_MODEL_SIZE}=8GB) "
        "on a machine with the memory for it; otherwise the file is not a plain saved model"
    )


def _mb(size: int) -> str:
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GB"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MB"
    return f"{size / (1 << 10):.1f} KB"
