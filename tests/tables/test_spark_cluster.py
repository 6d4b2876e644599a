"""A real Spark cluster, not only local[*]: a standalone master and two workers started from the
installed pyspark on the loopback interface, audited through ``--spark-master spark://127.0.0.1:…``.

The results are the numpy engine's, and a worker killed while its tasks run is survived (Spark runs
them again on the other worker) or reported as a one-line error, never a hang. Each worker has one
core and 512 MB (executors of 480 MB: Spark's least); the whole module takes a few minutes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.report.results import canonical_json
from tests.conftest import REPO, unavailable

pytestmark = pytest.mark.slow

#: Bounds: the cluster coming up (JVMs on a busy 2-core machine), and one audit.
START_SECONDS = 180
AUDIT_SECONDS = 300
FILES, ROWS_PER_FILE = 24, 25_000

#: Read by the master, the workers and the driver (SPARK_CONF_DIR). One task per file (a file costs
#: more than maxPartitionBytes to open), so a job has many tasks on both workers and a worker can
#: be killed while it runs some.
SPARK_DEFAULTS = """\
spark.executor.memory 480m
spark.executor.cores 1
spark.master.rest.enabled false
spark.sql.files.maxPartitionBytes 1m
spark.sql.shuffle.partitions 4
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kill(process: subprocess.Popen) -> None:
    """The process and everything it started (a worker's executors): its own process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)


@dataclass
class Cluster:
    url: str
    webui: int
    env: dict[str, str]
    root: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui}/json/", timeout=5) as answer:
            return json.load(answer)

    def work_dir(self, index: int) -> Path:
        return self.root / f"work{index}"

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            for log in sorted(self.root.glob("*.log"))
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("the Spark cluster test needs Java 17+ on PATH (or JAVA_HOME)")
    try:
        import pyspark
    except ImportError:
        unavailable("the Spark cluster test needs pyspark (pip install -e '.[test]')")
    home = Path(pyspark.__file__).parent
    spark_class = home / "bin" / "spark-class"
    if not spark_class.exists():
        unavailable(f"{spark_class}: not in this pyspark")
    root = tmp_path_factory.mktemp("cluster")
    conf = root / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text(SPARK_DEFAULTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
    env.update(
        SPARK_HOME=str(home),
        SPARK_CONF_DIR=str(conf),
        SPARK_LOCAL_IP="127.0.0.1",  # the driver and every daemon on the loopback interface only
        SPARK_MASTER_HOST="127.0.0.1",
        SPARK_DAEMON_MEMORY="256m",
        SPARK_LOCAL_DIRS=str(root / "local"),
        PYSPARK_PYTHON=sys.executable,  # executors run this interpreter
    )
    webui = _free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(root / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                [str(spark_class), *args],
                env=env,
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a process group of its own, killed whole in the finaliser
            )
        processes.append(process)
        return process

    try:
        start_master = time.monotonic()
        master = "org.apache.spark.deploy.master.Master"
        start("master", master, "--host", "127.0.0.1", "--port", "0", "--webui-port", str(webui))
        cluster = Cluster("", webui, env, root)
        cluster.url = _wait(cluster, lambda s: s.get("status") == "ALIVE", "the master")["url"]
        for index in (1, 2):
            cluster.work_dir(index).mkdir()
            cluster.workers.append(
                start(
                    f"worker{index}",
                    "org.apache.spark.deploy.worker.Worker",
                    cluster.url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    "512m",
                    "--webui-port",
                    "0",
                    "--work-dir",
                    str(cluster.work_dir(index)),
                )
            )
        _wait(cluster, lambda s: s.get("aliveworkers") == 2, "two ALIVE workers")
        print(f"cluster {cluster.url} up in {time.monotonic() - start_master:.0f} s")
        yield cluster
    finally:
        for process in reversed(processes):
            _kill(process)


def _wait(cluster: Cluster, ready, what: str) -> dict:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            state = cluster.state()
            if ready(state):
                return state
        time.sleep(0.5)
    unavailable(f"the local Spark cluster had no {what} after {START_SECONDS} s:\n{cluster.log_tails()}")
    raise AssertionError  # not reached


@pytest.fixture(scope="module")
def decisions(tmp_path_factory) -> Path:
    """Generated decisions in many Parquet files: 600,000 rows, 3 sensitive features."""
    root = tmp_path_factory.mktemp("decisions")
    rng = np.random.default_rng(23)
    for index in range(FILES):
        n = ROWS_PER_FILE
        sex = rng.choice(["female", "male"], n)
        race = rng.choice(["Black", "White", "Hispanic", "Asian", "Other"], n, p=[0.3, 0.4, 0.15, 0.1, 0.05])
        age = rng.choice(["<25", "25-45", ">45"], n)
        label = rng.integers(0, 2, n)
        approved = (rng.random(n) < np.where(sex == "female", 0.3, 0.5) + 0.1 * label).astype(np.int64)
        table = pa.table({"sex": sex, "race": race, "age_cat": age, "repaid": label, "approved": approved})
        pq.write_table(table, root / f"part-{index:03}.parquet")
    return root


def _command(data: Path, out: Path, *engine: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "audit",
        "run",
        "--data",
        str(data),
        *engine,
        "--policy",
        "four-fifths",
        "--label",
        "repaid",
        "--predictions",
        "approved",
        "--sensitive",
        "sex",
        "--sensitive",
        "race",
        "--sensitive",
        "age_cat",
        "--out",
        str(out),
        "--no-pdf",
        "--no-ledger",
        "-q",
    ]


def _evidence(out: Path) -> bytes:
    """results.json without the command line (the one field that says which engine counted)."""
    doc = json.loads((out / "results.json").read_text())
    del doc["provenance"]["command"]
    return canonical_json(doc)


def _spark(cluster: Cluster, data: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(data, out, "--engine", "spark", "--spark-master", cluster.url),
        env=cluster.env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    """Exit code and the stderr lines that are Fairgate's (the JVM's incubator notice aside)."""
    try:
        _, stderr = process.communicate(timeout=AUDIT_SECONDS)
    except subprocess.TimeoutExpired:
        _kill(process)
        pytest.fail(f"the audit on the cluster hung (no exit after {AUDIT_SECONDS} s)")
    return process.returncode, [line for line in stderr.splitlines() if not line.startswith("WARNING: Using incubator")]


@pytest.fixture(scope="module")
def numpy_evidence(decisions, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("numpy")
    done = subprocess.run(_command(decisions, out, "--engine", "numpy"), cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # the generated data fails four-fifths for sex
    return _evidence(out)


def test_an_audit_on_a_standalone_cluster_is_the_numpy_engines(cluster, decisions, numpy_evidence, tmp_path):
    started = time.monotonic()
    rc, stderr = _finish(_spark(cluster, decisions, tmp_path))
    assert (rc, stderr) == (1, [])
    assert _evidence(tmp_path) == numpy_evidence
    # both workers ran executors of the application (a real cluster, not the driver alone)
    assert all(list(cluster.work_dir(i).glob("app-*/*/stderr")) for i in (1, 2))
    print(f"audit on {cluster.url}: {time.monotonic() - started:.0f} s")


def _running_tasks(work_dir: Path) -> int:
    """Tasks an executor of this worker has started and not finished (from its log)."""
    running = 0
    for log in work_dir.glob("app-*/*/stderr"):
        text = log.read_text(errors="replace")
        running += text.count("Executor: Running task") - text.count("Executor: Finished task")
    return running


def test_a_worker_killed_mid_audit_is_survived_or_reported(cluster, decisions, numpy_evidence, tmp_path):
    """SIGKILL one worker (and its executor) while it runs tasks: Spark runs them again on the other
    worker and the results are the same, or Fairgate reports one error line; never a hang."""
    for index in (1, 2):  # the logs of the previous test's application
        for app in cluster.work_dir(index).glob("app-*"):
            shutil.rmtree(app)
    started = time.monotonic()
    process = _spark(cluster, decisions, tmp_path)
    killed = None
    try:
        while process.poll() is None and killed is None and time.monotonic() - started < AUDIT_SECONDS:
            for index, worker in enumerate(cluster.workers, start=1):
                if _running_tasks(cluster.work_dir(index)) > 0:
                    _kill(worker)
                    killed = (index, time.monotonic() - started)
                    break
            time.sleep(0.1)
        rc, stderr = _finish(process)
    finally:
        _kill(process)
    assert killed is not None, "the audit ended before any task ran: nothing was killed mid-audit"
    print(f"worker {killed[0]} killed {killed[1]:.0f} s in; audit exit {rc} after {time.monotonic() - started:.0f} s")
    if rc in (0, 1):
        assert stderr == []
        assert _evidence(tmp_path) == numpy_evidence
    else:
        assert rc in (2, 3), stderr
        assert len(stderr) <= 2 and stderr[0].startswith("error: "), stderr
