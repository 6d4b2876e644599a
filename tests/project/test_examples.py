"""The drop-in integrations: the GitHub Actions example and the pre-commit hook really work."""

from __future__ import annotations

import shlex

import yaml

from audit.cli import run
from tests.cli.helpers import invoke
from tests.conftest import REPO


def test_workflow_example_uses_only_real_run_options():
    workflow = yaml.safe_load((REPO / "examples" / "github-actions" / "fairness-gate.yml").read_text())
    steps = workflow["jobs"]["fairness"]["steps"]
    command = next(s["run"] for s in steps if "fairgate run" in s.get("run", ""))
    words = shlex.split(command)
    assert words[:2] == ["fairgate", "run"]
    known = {opt for p in run.params for opt in p.opts}
    used = {w for w in words if w.startswith("--")}
    assert used <= known, used - known
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"  # the evidence is kept even when the gate fails the job


def test_pre_commit_hook_validates_the_shipped_policies(capsys):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "fairgate-policy-validate")
    entry = shlex.split(hook["entry"])
    assert entry[0] == "fairgate"
    policies = sorted(str(p) for p in (REPO / "policies").glob("*.yaml"))
    ran = invoke(capsys, [*entry[1:], *policies], exit_code=0)
    assert ran.out.count("ok: ") == len(policies)


def test_pre_commit_hook_fails_on_a_broken_policy(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("fairgate: 1\nid: x\nversion: '1'\ntitle: t\nrules: []\n")
    ran = invoke(capsys, ["policy", "validate", broken], exit_code=2)
    assert f"error: {broken}:1: (top level): a policy needs at least one rule or representativeness check" in ran.err


def test_nightly_monitoring_example_runs_on_a_decision_log(tmp_path, capsys):
    """The example policy validates and the workflow's command runs (on a generated log)."""
    import json

    import numpy as np
    import pandas as pd

    from audit.cli import monitor

    workflow = yaml.safe_load((REPO / "examples" / "monitoring" / "nightly-monitor.yml").read_text())
    command = next(s["run"] for s in workflow["jobs"]["monitor"]["steps"] if "fairgate monitor" in s.get("run", ""))
    words = shlex.split(command)
    assert {w for w in words if w.startswith("--")} <= {o for p in monitor.params for o in p.opts}
    rng = np.random.default_rng(7)
    n = 6000
    log = pd.DataFrame(
        {
            "decided_at": pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 180, n), unit="D"),
            "sex": rng.choice(["Female", "Male"], n),
            "race": rng.choice(["Black", "White", "Asian"], n, p=[0.3, 0.5, 0.2]),
            "approved": rng.choice(["yes", "no"], n, p=[0.4, 0.6]),
        }
    )
    data = tmp_path / "log.parquet"
    log.to_parquet(data)
    policy = REPO / "examples" / "monitoring" / "lending-drift.yaml"
    ran = invoke(
        capsys, ["monitor", "--data", data, "--policy", policy, "--out", tmp_path / "out", "--no-pdf"], exit_code=0
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [w["label"] for w in doc["monitoring"]["windows"]] == [f"2025-{m:02d}" for m in range(1, 7)]
    assert {d["rule_id"] for d in doc["monitoring"]["drift"]} == {
        "approval-rate-drift",
        "impact-ratio-drift",
        "applicant-mix",
    }
    assert "windows (month of decided_at" in ran.out
