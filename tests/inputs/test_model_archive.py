"""A skops file is a zip archive: its sizes and member count are checked before skops unpacks it.

Before the check, a 400 KB file whose schema.json unpacks to 400 MB took about 1 GB to refuse, and one
with 100,000 empty members about 320 MB. Each case here is refused with one line naming the file and
the limit, and (measured with tracemalloc, or under an address-space cap for the CLI) without the
process allocating anything like the unpacked size.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from audit.errors import InputError, UsageError
from audit.inputs import archive
from audit.inputs.model import load_model
from tests.cli.helpers import balanced_rows, write_csv
from tests.conftest import REPO

MB = 1 << 20


def _schema_bomb(path, megabytes: int):
    """A small zip whose schema.json unpacks to ``megabytes`` MB of spaces (deflate, ~1000:1)."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open("schema.json", "w", force_zip64=True) as handle,
    ):
        handle.write(b'{"content": "')
        block = b" " * MB
        for _ in range(megabytes):
            handle.write(block)
        handle.write(b'"}')
    return path


def _many_members(path, count: int):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("schema.json", b"{}")
        for i in range(count):
            z.writestr(f"{i}.npy", b"")
    return path


def _refused_lightly(path) -> InputError:
    """Load ``path``; it must be refused while Python allocates little beyond the file itself."""
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < os.path.getsize(path) + 16 * MB, f"peak {peak / MB:.0f} MB while refusing {path}"
    assert "\n" not in caught.value.message and caught.value.hint
    assert caught.value.message.startswith(f"{path}: ")
    return caught.value


@pytest.fixture(scope="module")
def small_model():
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=["a", "b", "c"])
    return LogisticRegression().fit(x, (x["a"] > 0).astype(int)), x


def test_huge_schema_is_refused_before_it_is_unpacked(tmp_path):
    bomb = _schema_bomb(tmp_path / "bomb.skops", 400)
    assert os.path.getsize(bomb) < MB
    error = _refused_lightly(bomb)
    assert "schema.json unpacks to 400.0 MB, over the 64.0 MB limit" in error.message


def test_too_many_members_are_refused_before_zipfile_lists_them(tmp_path):
    error = _refused_lightly(_many_members(tmp_path / "many.skops", 100_000))
    assert "100,001 members, over the limit of 50,000" in error.message


def test_total_unpacked_size_limit_and_its_override(tmp_path, monkeypatch, small_model):
    model, x = small_model
    path = tmp_path / "m.skops"
    skops.io.dump(model, path)
    monkeypatch.setenv("FAIRGATE_MAX_MODEL_SIZE", "1KB")
    with pytest.raises(InputError, match="over the 1.0 KB limit for a model") as caught:
        load_model(path)  # the file itself is over the limit: refused before it is read
    assert "FAIRGATE_MAX_MODEL_SIZE" in caught.value.hint
    monkeypatch.setenv("FAIRGATE_MAX_MODEL_SIZE", "lots")
    with pytest.raises(UsageError, match="FAIRGATE_MAX_MODEL_SIZE='lots' is not a size"):
        load_model(path)
    monkeypatch.setenv("FAIRGATE_MAX_MODEL_SIZE", "1MB")
    assert archive.max_model_bytes() == MB
    assert (load_model(path).predict(x) == model.predict(x)).all()


def test_members_unpacking_past_the_total_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.skops"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("schema.json", b"{}")
        for i in range(3):
            z.writestr(f"{i}.npy", os.urandom(MB).hex().encode())  # 2 MB each, packed about 2:1
    assert os.path.getsize(path) < 4 * MB
    monkeypatch.setenv("FAIRGATE_MAX_MODEL_SIZE", "4MB")
    with pytest.raises(InputError, match="members unpack to more than 4.0 MB"):
        load_model(path)


def test_a_highly_compressed_array_is_refused(tmp_path):
    path = tmp_path / "zeros.skops"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("schema.json", b"{}")
        z.writestr("1.npy", bytes(50 * MB))
    error = _refused_lightly(path)
    assert "member '1.npy' unpacks to 50.0 MB from " in error.message
    assert "over the 200:1 compression limit" in error.message


def test_a_member_that_understates_its_size_is_refused_in_bounded_steps(tmp_path):
    """The central directory says 1,000 bytes (with the right CRC for them); the stream holds 100 MB."""
    content = b" " * (100 * MB)
    stream = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = stream.compress(content) + stream.flush()
    declared = 1000
    info = zipfile.ZipInfo("schema.json")
    info.compress_type = zipfile.ZIP_DEFLATED
    path = tmp_path / "liar.skops"
    with zipfile.ZipFile(path, "w") as z:  # write a tiny honest member, then swap its bytes and sizes
        z.writestr(info, content[:declared])
    data = bytearray(path.read_bytes())
    honest = zipfile.ZipFile(path).getinfo("schema.json")
    crc = zlib.crc32(content[:declared])
    header = 30 + len("schema.json")
    body_end = honest.header_offset + header + honest.compress_size
    central = data[body_end:]
    name_at = central.index(b"schema.json")
    central[name_at - 46 + 16 : name_at - 46 + 28] = (
        crc.to_bytes(4, "little") + len(raw).to_bytes(4, "little") + declared.to_bytes(4, "little")
    )
    eocd = central.rindex(b"PK\x05\x06")
    central[eocd + 16 : eocd + 20] = (header + len(raw)).to_bytes(4, "little")  # the central directory moved
    local = data[:header]
    local[14:26] = central[name_at - 46 + 16 : name_at - 46 + 28]
    path.write_bytes(bytes(local) + raw + bytes(central))
    del content
    assert zipfile.ZipFile(path).getinfo("schema.json").file_size == declared
    error = _refused_lightly(path)
    assert "member 'schema.json': unpacks to more than the 1,000 bytes it declares" in error.message


def test_other_compression_methods_are_refused(tmp_path):
    path = tmp_path / "bz.skops"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("schema.json", b"{}")
    error = _refused_lightly(path)
    assert "compression method 12" in error.message and "ZIP_DEFLATED" in error.hint


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_ordinary_models_pass_the_checks(tmp_path, small_model, compression):
    model, x = small_model
    path = tmp_path / "m.skops"
    skops.io.dump(model, path, compression=compression)
    assert (load_model(path).predict(x) == model.predict(x)).all()


# --- the CLI, under an address-space cap ------------------------------------------------------

ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
MAPPED = (
    "import os; import audit.cli, audit.pipeline, pyarrow.csv; "
    "print([l.split()[1] for l in open(f'/proc/{os.getpid()}/status') if l.startswith('VmSize:')][0])"
)


def _run(tmp_path, argv=None, *, cap_bytes=None, code=None):
    def limit() -> None:
        if cap_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "audit", *argv]
    env = {**os.environ, **ENV, "FAIRGATE_LOG_DIR": str(tmp_path / "logs")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, preexec_fn=limit, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["schema", "members"])
def test_cli_refuses_a_zip_bomb_with_exit_2_under_a_small_memory_cap(tmp_path, bomb):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    if bomb == "schema":
        model, limit = _schema_bomb(tmp_path / "bomb.skops", 400), "over the 64.0 MB limit"
    else:
        model, limit = _many_members(tmp_path / "bomb.skops", 100_000), "over the limit of 50,000"
    baseline = _run(tmp_path, code=MAPPED)
    assert baseline.returncode == 0, baseline.stderr
    cap = (int(baseline.stdout.split()[-1]) << 10) + (200 << 20)  # the unpacked schema alone is 400 MB
    argv = [
        "run",
        "--data",
        data,
        "--model",
        model,
        "--policy",
        "four-fifths",
        "--label",
        "label",
        "--sensitive",
        "group",
        "--out",
        tmp_path / "out",
        "--no-pdf",
        "-q",
        "--no-ledger",
    ]
    ran = _run(tmp_path, [str(a) for a in argv], cap_bytes=cap)
    assert ran.returncode == 2, (ran.returncode, ran.stderr[-2000:])
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 2, ran.stderr
    assert lines[0].startswith(f"error: {model}: refusing to open a skops file") and limit in lines[0]
    assert lines[1].startswith("hint: ")
