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
