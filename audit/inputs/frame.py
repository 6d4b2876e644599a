"""A pandas DataFrame audited in memory (the Python API): its identity and its columns as an audit reads them.

A DataFrame has no file to hash, so its provenance is the sha256 of a canonical serialisation:
the column names and dtypes as JSON (one line), then ``pandas.util.hash_pandas_object(frame,
index=False)`` — one 64-bit hash per row, over the values only, written little-endian. It is
deterministic (the same values give the same hash in every run and on every machine with the same
pandas), cheap (vectorised, no copy of the data written anywhere) and ignores the index, which an
audit never reads. It does not equal the sha256 of any file the frame was read from or written to,
so ``fairgate verify --recompute`` cannot re-read the data: the evidence says so (:data:`FRAME_NOTE`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from audit.errors import InputError
from audit.inputs.held import FRAME as FRAME_PATH
from audit.inputs.provenance import InputFile

FRAME_NOTE = (
    "a pandas DataFrame audited in memory: sha256 of its column names and dtypes (JSON) followed by "
    "pandas.util.hash_pandas_object(frame, index=False) (uint64, little-endian); "
    "`fairgate verify --recompute` cannot re-read it"
)


def frame_provenance(frame: pd.DataFrame) -> InputFile:
    """The dataset's record in results.json: the canonical hash (see the module), rows and columns."""
    header = json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()], ensure_ascii=False).encode() + b"\n"
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype="<u8").tobytes()
    digest = hashlib.sha256(header)
    digest.update(rows)
    return InputFile(
        "dataset",
        FRAME_PATH,
        len(header) + len(rows),
        digest.hexdigest(),
        rows=len(frame),
        columns=frame.shape[1],
        note=FRAME_NOTE,
    )


def frame_header(frame: pd.DataFrame) -> list[str]:
    """The column names, which must be unique text for an audit to name them."""
    names = [str(c) for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"{FRAME_PATH}: duplicated column name(s) {', '.join(map(repr, repeated))}",
            hint="give each column its own name (the copies cannot be told apart)",
        )
    if len(frame) == 0:
        raise InputError(f"{FRAME_PATH}: the DataFrame has no rows", hint="audit a frame with rows")
    return names


def frame_columns(frame: pd.DataFrame, *, columns: Sequence[str], text_columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of ``frame`` (a copy, index dropped) with ``text_columns`` as a file's reader gives them:
    categories stay categories, anything else becomes text (``1``, not ``1.0``, for whole numbers)."""
    header = frame_header(frame)
    missing = [c for c in columns if c not in header]
    if missing:
        shown = ", ".join(header[:20]) + (", …" if len(header) > 20 else "")
        raise InputError(
            f"{FRAME_PATH}: no column named {', '.join(map(repr, missing))}", hint=f"the frame has: {shown}"
        )
    out = frame.set_axis(header, axis=1)[list(dict.fromkeys(columns))].reset_index(drop=True)
    for col in text_columns:
        values = out[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            continue
        if values.dtype.kind == "f":
            known = values.dropna().to_numpy()
            if np.all(np.isfinite(known)) and np.all(known == np.round(known)):
                values = values.astype("Int64")  # a whole-number column with gaps: 1 stays 1
        out[col] = values.astype("string")
    return out
