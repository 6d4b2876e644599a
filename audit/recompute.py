"""Recompute to verify: re-run the audit a signed report records and compare the evidence.

Anyone holding the report and the same input files can check that the numbers were not
edited by hand: the input hashes must match the ones recorded, and a fresh audit with the
recorded policy, column roles and seed must give the same results, section by section.
The fresh audit replays the recorded ``request`` (every input that shaped the audit: column roles,
``--features``, seed, gate, time windows …) on the reviewer's copies of the files. Only what
legitimately differs between two runs is set aside: the command line, where the files lie on disk
(in ``provenance`` and ``request``), (when the policy must be rebuilt from the evidence) the policy
file's hash, and the audit ledger's head when the audit ran (reused as recorded).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import InputError, UsageError
from audit.flow.request import LOCATIONS, AuditRequest
from audit.inputs.provenance import sha256_file


@dataclass(frozen=True)
class Recomputation:
    identical: bool
    problems: tuple[str, ...]


def recompute(recorded: dict[str, Any], *, data: Path, model: Path | None) -> Recomputation:
    problems = _check_inputs(recorded, data=data, model=model)
    if problems:
        return Recomputation(False, tuple(problems))
    from audit.pipeline import run

    with tempfile.TemporaryDirectory() as tmp:
        try:
            request = replayed(recorded, data=data, model=model, policy=_policy_ref(recorded, Path(tmp)))
        except (TypeError, ValueError) as exc:
            return Recomputation(False, (f"the recorded request cannot be replayed ({exc})",))
        fresh = run(request).to_dict()
    if isinstance(recorded.get("probe"), dict):  # `fairgate probe`: the paired statistics, from the same outcomes
        from audit.probe.evidence import recomputed

        fresh["probe"] = recomputed(recorded["probe"], Path(data))
    if "request" in recorded and isinstance(fresh.get("request"), dict):
        if recorded["request"].get("audit_date") is None:  # judged on the audit's own day (see ``replayed``)
            fresh["request"]["audit_date"] = None
    else:
        fresh.pop("request", None)  # evidence written before the request was recorded
    if "comparison" in recorded:
        fresh["comparison"] = recorded["comparison"]  # needs the baseline file; checked by `compare`
    if "crosswalk" in recorded:  # selected by the recorded policy's lineage (a replayed policy loses its extends)
        from audit.report.crosswalk import crosswalk_for

        fresh["crosswalk"] = crosswalk_for({**fresh, "policy": recorded["policy"]})
    else:
        fresh.pop("crosswalk", None)  # evidence written before the crosswalk
    if "ledger" in recorded:
        fresh["ledger"] = recorded["ledger"]  # the ledger's head when the audit ran: `history --against` checks it
    differing = [
        key
        for key in sorted(set(recorded) | set(fresh))
        if _comparable(key, recorded.get(key)) != _comparable(key, fresh.get(key))
    ]
    return Recomputation(
        not differing, tuple(f"recomputed {key!r} differs from the signed evidence" for key in differing)
    )


def replayed(recorded: dict[str, Any], *, data: Path, model: Path | None, policy: str) -> AuditRequest:
    """The request the evidence records, on the reviewer's copies of the data and model (and ``policy``,
    the recorded policy). A request that did not fix the audit date is replayed on the day the audit
    recorded (when its policy used one), not today. Evidence from before the request was recorded is
    replayed from its ``audit`` section (column roles, seed, gate, time windows)."""
    audit = recorded["audit"]
    day = audit.get("audit_date")
    if "request" in recorded:
        if not isinstance(recorded["request"], dict):
            raise ValueError("not an object")
        request = AuditRequest.from_dict(recorded["request"], data=data, model=model, policy=policy)
        return request.replace(audit_date=request.audit_date or day)
    source = audit["predictions"]
    return AuditRequest(
        data=data,
        policy=policy,
        model=model,
        predictions=source.get("column") if source["source"] == "prediction_column" else None,
        scores=source.get("column") if source["source"] == "score_threshold" else None,
        threshold=_threshold(source),
        label=audit["label"],
        positive_label=audit["positive_label"],
        sensitive=audit["sensitive_features"],
        seed=audit["seed"],
        task=audit.get("task"),
        fail_on=audit["gate"]["fail_on"],
        strict=audit["gate"]["strict"],
        audit_date=day,
        period_column=(recorded.get("monitoring") or {}).get("period_column"),
        period=(recorded.get("monitoring") or {}).get("period"),
    )


def _check_inputs(recorded: dict[str, Any], *, data: Path, model: Path | None) -> list[str]:
    inputs = {i["role"]: i for i in recorded["provenance"]["inputs"]}
    held = [i for role, i in inputs.items() if role in ("dataset", "model") and "note" in i]
    if held:  # audited in memory (the Python API): no file holds these bytes to re-read
        return [f"the signed audit read {i['path']} (no file): {i['note']}" for i in held]
    problems = []
    for role, path in (("dataset", data), ("model", model)):
        if role not in inputs:
            if path is not None:
                raise UsageError(
                    f"--{'data' if role == 'dataset' else role} {path}: the signed audit used no {role}",
                    hint=f"drop --{'data' if role == 'dataset' else role} to recompute this report",
                )
            continue
        if path is None:
            option = "--data" if role == "dataset" else "--model"
            raise UsageError(
                f"--recompute needs {option}: the signed audit used a {role} "
                f"({Path(inputs[role].get('path') or '?').name}, sha256 {inputs[role]['sha256'][:12]}…)",
                hint=f"pass the audited {role} with {option}",
            )
        elif role == "dataset" and "files" in inputs[role]:
            problems += _check_files(inputs[role], Path(path))
        elif _sha256(role, Path(path)) != inputs[role]["sha256"]:
            problems.append(
                f"{path}: sha256 differs from the {role} the report records "
                f"({inputs[role]['sha256'][:12]}…): not the audited file"
            )
    return problems


def _check_files(recorded: dict[str, Any], data: Path) -> list[str]:
    """A dataset of several files: which files were added, removed or changed since the audit."""
    from audit.tables.engines.files import resolve

    given = resolve(data).provenance("dataset")
    if given.sha256 == recorded["sha256"]:
        return []
    before = {f["path"]: f["sha256"] for f in recorded["files"]}
    now = {p: h for p, _, h in given.files or ((Path(given.path).name, given.size_bytes, given.sha256),)}
    changes = (
        [f"{p} changed" for p in sorted(before) if p in now and now[p] != before[p]]
        + [f"{p} is missing" for p in sorted(before) if p not in now]
        + [f"{p} was not audited" for p in sorted(now) if p not in before]
    )
    shown = "; ".join(changes[:5]) + (f"; and {len(changes) - 5} more" if len(changes) > 5 else "")
    return [
        f"{data}: sha256 differs from the dataset the report records ({recorded['sha256'][:12]}…): "
        f"not the audited files ({shown or 'the same files, listed in another order'})"
    ]


def _sha256(role: str, path: Path) -> str:
    """As the audit recorded it: a dataset may be a directory or a glob of files (their manifest's sha256)."""
    if role == "dataset":
        from audit.tables.engines.files import resolve

        return resolve(path).provenance("dataset").sha256
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint="give the model file the audit used (--model)")
    return sha256_file(path)


def _policy_ref(recorded: dict[str, Any], tmp: Path) -> str:
    """The shipped policy when its bytes are the recorded ones, else the recorded document itself."""
    from audit.policy.load import shipped_policies

    policy = recorded["policy"]
    shipped = shipped_policies().get(policy["source"])
    if shipped is not None and sha256_file(shipped) == policy["sha256"]:
        return policy["source"]
    path = tmp / "policy-from-evidence.yaml"
    path.write_text(json.dumps(policy["document"]), encoding="utf-8")  # JSON is valid YAML
    return str(path)


def _threshold(source: dict[str, Any]) -> str | float | None:
    if source["source"] != "score_threshold":
        return None
    return "median" if source.get("rule") == "score > sample median" else source["threshold"]


def _comparable(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "provenance":
        inputs = [{k: v for k, v in i.items() if k != "path"} for i in value["inputs"] if i["role"] != "policy"]
        return {"inputs": inputs, "versions": value["versions"]}
    if key == "policy":
        return {k: v for k, v in value.items() if k not in ("source", "sha256", "extends")}
    if key == "request" and isinstance(value, dict):  # where the files lie: their hashes are checked instead
        return {k: v for k, v in value.items() if k not in LOCATIONS}
    return value
