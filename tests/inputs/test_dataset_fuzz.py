"""Fuzz the dataset loader (and the audit on top of it): any file gives a frame or a FairgateError.

Random bytes, and valid CSV / gzip / Parquet files with bytes flipped, inserted, deleted or cut
off, are loaded with ``load_dataset`` and audited with ``run_audit``: the only acceptable outcomes
are a result or a ``FairgateError`` whose message is one line naming the file — never another
exception, never a crash. ``FAIRGATE_FUZZ_EXAMPLES`` raises the example count for a longer
campaign (CI keeps the default small).
"""

from __future__ import annotations

import gzip
import io
import os

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.errors import FairgateError
from audit.inputs.dataset import load_dataset
from audit.pipeline import run_audit

EXAMPLES = int(os.environ.get("FAIRGATE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID_CSV = (
    "group,label,pred,score\n" + "".join(f"{'abc'[i % 3]},{i % 2},{(i // 2) % 2},{i / 37:.3f}\n" for i in range(60))
).encode()


def _valid_parquet() -> bytes:
    frame = pd.read_csv(io.BytesIO(VALID_CSV), dtype={"group": "category"})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


VALID = {
    ".csv": VALID_CSV,
    ".csv.gz": gzip.compress(VALID_CSV, mtime=0),
    ".parquet": _valid_parquet(),
    ".tsv": VALID_CSV.replace(b",", b"\t"),
}
SPECIAL = st.sampled_from(
    [
        b",",
        b"\n",
        b"\r",
        b'"',
        b"\x00",
        b"\xff",
        b"\xef\xbb\xbf",
        b"\t",
        b";",
        b"nan",
        b"-inf",
        b"1e309",
        b"\xc3",
        b"PAR1",
        b"\x1f\x8b",
        b" ",
    ]
)


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.one_of(SPECIAL, st.binary(min_size=1, max_size=8)))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


def _check_load(path) -> None:
    try:
        frame = load_dataset(path)
    except FairgateError as exc:
        _one_line(exc, path)
    else:
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0


def _check_audit(path) -> None:
    try:
        run_audit(data=path, policy="four-fifths", label="label", predictions="pred", sensitive=["group"])
    except FairgateError as exc:
        _one_line(exc, path)


def _one_line(exc: FairgateError, path) -> None:
    assert "\n" not in exc.message and (exc.hint is None or "\n" not in exc.hint), exc.message
    assert str(path) in exc.message or exc.message.startswith(("--", "column", "a sensitive")), exc.message


@FUZZ
@given(suffix=st.sampled_from(sorted(VALID)), data=st.binary(max_size=400))
def test_random_bytes(tmp_path, suffix, data):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    _check_load(path)


@FUZZ
@given(data=st.sampled_from(sorted(VALID)).flatmap(lambda s: st.tuples(st.just(s), mutated(VALID[s]))))
def test_mutated_files_load_or_fail_cleanly(tmp_path, data):
    suffix, content = data
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    _check_load(path)


@FUZZ
@given(content=mutated(VALID_CSV))
def test_mutated_csv_audits_or_fails_cleanly(tmp_path, content):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    _check_audit(path)


@FUZZ
@given(content=mutated(VALID[".parquet"]))
def test_mutated_parquet_audits_or_fails_cleanly(tmp_path, content):
    path = tmp_path / "fuzz.parquet"
    path.write_bytes(content)
    _check_audit(path)
