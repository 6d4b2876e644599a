"""The drop-in integrations: the CI examples (GitHub Actions, GitLab CI) and the pre-commit hook really work."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
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


# --- the CI examples run as written ----------------------------------------------------------------
# Each example's shell steps run in a fresh empty directory, with what a runner provides replaced by
# local equivalents: the checkout (the inputs the example names, made here), the environment
# (RUNNER_TEMP, GITHUB_STEP_SUMMARY, GITHUB_ACTIONS; no secrets are set, so the examples' fallbacks —
# a development key — are what runs) and this project's `fairgate` on PATH instead of `pip install`.
# Steps that use an action are not run; the files they publish or upload must exist afterwards.

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@v\d+$")


def _expression(text: str) -> str:
    """The few GitHub expressions the examples use: secrets (none here), `a || 'fallback'`, github.run_id."""
    for term in (t.strip() for t in text.split("||")):
        if term.startswith("secrets."):
            value = ""
        elif term == "github.run_id":
            value = "1"
        elif term[:1] == term[-1:] == "'":
            value = term[1:-1]
        else:
            raise AssertionError(f"the test does not know the expression {text!r}: teach _expression")
        if value:
            return value
    return ""


def _expand(value):
    return _EXPRESSION.sub(lambda m: _expression(m.group(1)), str(value))


def _shim(tmp_path):
    """`fairgate` on PATH: this checkout's code, in this interpreter (not whatever is installed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "fairgate"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m audit "$@"\n')
    shim.chmod(0o755)
    return bin_dir


def _runner_env(tmp_path, workspace):
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRGATE_", "GITHUB_", "CI"))}
    (tmp_path / "runner-temp").mkdir()
    (tmp_path / "home").mkdir()
    return keep | {
        "PATH": f"{_shim(tmp_path)}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path / "home"),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "CI_PROJECT_DIR": str(workspace),
    }


def _bash(script: str, *, cwd, env, name) -> subprocess.CompletedProcess:
    # GitHub's default shell: bash --noprofile --norc -eo pipefail {0}
    ran = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, f"step {name!r} exited {ran.returncode}\n{ran.stdout}\n{ran.stderr}"
    return ran


def _is_install(script: str) -> bool:
    return script.strip().startswith("pip install") and "fairgate" in script


def _checkout_gate(workspace):
    """What the fairness-gate examples read from the repository: a holdout set, a model, production's results."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    from audit.cli import main

    rng = np.random.default_rng(3)
    n = 800
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame["approved"] = np.where(frame["x1"] + 0.3 * rng.normal(size=n) > 0, "yes", "no")
    frame["sex"] = rng.choice(["Female", "Male"], n)
    frame["race"] = rng.choice(["Black", "White"], n)
    (workspace / "data").mkdir()
    (workspace / "models").mkdir()
    frame.to_parquet(workspace / "data" / "holdout.parquet")
    dump(LogisticRegression().fit(frame[["x1", "x2"]], frame["approved"]), workspace / "models" / "candidate.skops")
    production = workspace / "production-audit"
    args = [
        "run",
        "--data",
        workspace / "data" / "holdout.parquet",
        "--model",
        workspace / "models" / "candidate.skops",
    ]
    args += ["--policy", "four-fifths", "--label", "approved", "--positive-label", "yes"]
    args += ["--sensitive", "sex", "--sensitive", "race", "--out", production, "--no-pdf", "--no-ledger", "-q"]
    assert main([str(a) for a in args]) == 0
    (workspace / "audit").mkdir()
    (production / "results.json").rename(workspace / "audit" / "production-results.json")


def _checkout_monitor(workspace):
    import numpy as np
    import pandas as pd

    from audit.cli import main

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
    (workspace / "decision-logs").mkdir()
    log.iloc[: n // 2].to_parquet(workspace / "decision-logs" / "part-1.parquet")
    log.iloc[n // 2 :].to_parquet(workspace / "decision-logs" / "part-2.parquet")
    (workspace / "examples" / "monitoring").mkdir(parents=True)
    policy = workspace / "examples" / "monitoring" / "lending-drift.yaml"
    policy.write_bytes((REPO / "examples" / "monitoring" / "lending-drift.yaml").read_bytes())
    launch = workspace / "launch-audit"
    args = ["run", "--data", workspace / "decision-logs", "--policy", policy, "--out", launch]
    assert main([str(a) for a in [*args, "--no-pdf", "--no-ledger", "-q"]]) == 0
    (workspace / "audit").mkdir()
    (launch / "results.json").rename(workspace / "audit" / "launch-results.json")


def _action_paths(step) -> list[str]:
    """The files a publishing step reads (JUnit reports, uploaded or cached paths)."""
    inputs = step.get("with") or {}
    paths = []
    for key in ("report_paths", "path"):
        if key in inputs:
            paths += [p.strip() for p in str(inputs[key]).splitlines() if p.strip()]
    return paths


GITHUB_EXAMPLES = {
    "examples/github-actions/fairness-gate.yml": _checkout_gate,
    "examples/monitoring/nightly-monitor.yml": _checkout_monitor,
}


@pytest.mark.parametrize("name", sorted(GITHUB_EXAMPLES))
def test_github_example_is_well_formed(name):
    """A light lint (actionlint does not install from PyPI here: its wrapper downloads the binary from GitHub
    at build time): every step runs a shell script or uses an action pinned to a major version."""
    workflow = yaml.safe_load((REPO / name).read_text())
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert _PINNED.match(step["uses"]), step["uses"]
        uses = [s["uses"] for s in job["steps"] if "uses" in s]
        assert any(u.startswith("mikepenz/action-junit-report@") for u in uses)
        assert any(u.startswith("actions/upload-artifact@v4") for u in uses)
        for step in job["steps"]:
            if "uses" in step and step["uses"].split("@")[0] in (
                "mikepenz/action-junit-report",
                "actions/upload-artifact",
            ):
                assert step.get("if") == "always()", step  # published even when the gate fails the job
        runs = " ".join(s["run"] for s in job["steps"] if "run" in s)
        assert "--sign " in runs and "--junit " in runs


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GITHUB_EXAMPLES))
def test_github_example_runs_as_written(name, tmp_path):
    workflow = yaml.safe_load((REPO / name).read_text())
    ((job_name, job),) = workflow["jobs"].items()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    GITHUB_EXAMPLES[name](workspace)
    base = _runner_env(tmp_path, workspace)
    env = base | {k: _expand(v) for k, v in {**workflow.get("env", {}), **job.get("env", {})}.items()}
    installs = 0
    for step in job["steps"]:
        if "uses" in step:
            continue
        script = _expand(step["run"])
        if _is_install(script):
            installs += 1
            continue
        step_env = env | {k: _expand(v) for k, v in (step.get("env") or {}).items()}
        _bash(script, cwd=workspace, env=step_env, name=step.get("name", script[:40]))
    assert installs == 1
    for step in job["steps"]:
        for path in _action_paths(step) if "uses" in step else []:
            assert (workspace / _expand(path)).exists(), f"{step['uses']} reads {path}, which no step wrote"
    out = workspace / ("audit-out" if "gate" in name else "monitor-out")
    assert {"results.json", "report.pdf", "junit.xml", "fairness-badge.svg"} <= {p.name for p in out.iterdir()}
    summary = (tmp_path / "step-summary.md").read_text()
    assert "Fairgate" in summary
    from audit.signing.verify import verify_pdf

    cert = tmp_path / "runner-temp" / "fairgate" / "signer.cert.pem"
    assert verify_pdf(out / "report.pdf", trust_roots=[cert]).ok  # signed, with the development key it made


@pytest.mark.slow
def test_gitlab_example_runs_as_written(tmp_path):
    pipeline = yaml.safe_load((REPO / "examples" / "gitlab-ci" / ".gitlab-ci.yml").read_text())
    job = pipeline["fairness-gate"]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    _checkout_gate(workspace)
    env = _runner_env(tmp_path, workspace)
    for key, value in job.get("variables", {}).items():
        env[key] = os.path.expandvars(str(value).replace("$CI_PROJECT_DIR", str(workspace)))
    assert all(_is_install(line) for line in job["before_script"])
    _bash("\n".join(job["script"]), cwd=workspace, env=env, name="script")
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert (workspace / artifacts["reports"]["junit"]).is_file()
    for path in artifacts["paths"]:
        assert (workspace / path).exists()
    assert (workspace / "audit-out" / "report.pdf").is_file()
