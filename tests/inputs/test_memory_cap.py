"""A dataset larger than the memory cap gives one clear line (exit 2), never a crash or a kill.

Arrow's CSV reader aborts the process when an allocation fails under a cap, so Fairgate must
refuse before reading. The test caps the address space (RLIMIT_AS) of a child process a little
above what a small audit needs, then feeds it a ~120 MB CSV whose columns need far more.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

from tests.conftest import REPO

ARGS = [
    "--policy",
    "four-fifths",
    "--label",
    "label",
    "--predictions",
    "pred",
    "--sensitive",
    "group",
    "--no-pdf",
    "-q",
]
#: Few threads, few malloc arenas: the child's address space then depends little on the machine's cores.
ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
#: The address space a child has mapped once the reading stack is imported (KiB).
MAPPED = (
    "import os; import audit.cli, audit.pipeline, pyarrow.csv, pyarrow.parquet; "
    "print([l.split()[1] for l in open(f'/proc/{os.getpid()}/status') if l.startswith('VmSize:')][0])"
)


def _write(path, rows: int) -> None:
    block = "".join(f"{'ab'[i % 2]},{i % 2},{(i // 2) % 2}\n" for i in range(1000)).encode()
    with open(path, "wb") as handle:
        handle.write(b"group,label,pred\n")
        for _ in range(rows // 1000):
            handle.write(block)


def _run(tmp_path, data=None, *, cap_bytes=None, code=None):
    def limit() -> None:
        if cap_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    argv = ["run", "--data", str(data), "--out", str(tmp_path / "out"), *ARGS]
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "audit", *argv]
    env = {**os.environ, **ENV, "FAIRGATE_LOG_DIR": str(tmp_path / "logs")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, preexec_fn=limit, timeout=300)


def test_dataset_over_the_memory_cap_is_a_clear_error(tmp_path):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _write(small, 2_000)
    _write(big, 8_000_000)  # ~48 MB of text, ~0.5 GB as Arrow columns plus their pandas copy
    baseline = _run(tmp_path, code=MAPPED)
    assert baseline.returncode == 0, baseline.stderr
    cap = (int(baseline.stdout.split()[-1]) << 10) + (300 << 20)

    fits = _run(tmp_path, small, cap_bytes=cap)  # the cap leaves room for a normal audit
    assert fits.returncode == 0, fits.stderr

    over = _run(tmp_path, big, cap_bytes=cap)
    assert over.returncode == 2, (over.returncode, over.stderr[-2000:])  # not 3, not -6 (abort) or -9
    lines = over.stderr.strip().splitlines()
    assert len(lines) == 2, over.stderr
    assert lines[0].startswith(f"error: {big}: not enough memory to load the dataset (about ")
    assert lines[1].startswith("hint: audit a smaller sample of the rows") and "--engine duckdb" in lines[1]
    assert not (tmp_path / "logs").exists()
    assert (
        not (tmp_path / "out").exists()
        or not any((tmp_path / "out").iterdir())
        or sorted(p.name for p in (tmp_path / "out").iterdir()) == ["results.json", "summary.md"]
    )
