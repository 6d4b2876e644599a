"""The parts of an ``AuditResult`` the pipeline assembles around the judging: the inputs'
provenance, library versions, the model's description, per-group score metrics, representativeness,
the baseline comparison and the audit date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import UsageError
from audit.flow.request import AuditRequest
from audit.flow.roles import Roles
from audit.inputs.held import POLICY, is_location
from audit.inputs.provenance import InputFile
from audit.judge.waivers import default_audit_date
from audit.measures.groups import Scope
from audit.policy.load import POLICY_DICT, LoadedPolicy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from audit.flow.frames import Fitted
    from audit.measures.metrics import MetricValue
    from audit.measures.representativeness import Representation
    from audit.policy.context import AuditContext
    from audit.policy.schema import Policy
    from audit.tables.engines.interface import Engine

from audit.flow.result import AuditResult, ModelInfo

_VERSIONED = (
    "fairgate",
    "numpy",
    "pandas",
    "scipy",
    "pyarrow",
    "scikit-learn",
    "skops",
    "onnxruntime",
    "duckdb",
    "pyspark",
    "jinja2",
    "weasyprint",
    "matplotlib",
    "pyhanko",
    "pydantic",
)


def launch_of(request: AuditRequest) -> dict[str, Any] | None:
    return dict(request.baseline) if request.baseline is not None else None


def baseline_name(request: AuditRequest) -> str:
    return request.baseline_source or "the baseline"


def compared(result: AuditResult, request: AuditRequest) -> AuditResult:
    """With the launch audit's evidence (``--baseline``), the comparison with it joins the judged items."""
    launch = launch_of(request)
    if launch is None:
        return result
    from audit.judge.compare import compare_documents, comparison_document

    document = result.to_dict()
    compared = compare_documents(
        launch,
        document,
        policy=result.policy.policy,
        seed=result.seed,
        names=(baseline_name(request), "this audit"),
        policy_is_candidates=True,
    )
    return dataclasses.replace(result, comparison=comparison_document(compared, launch, document))


def audit_context(policy: Policy, given: Mapping[str, Any] | None) -> AuditContext | None:
    """The policy's context with the request's over it; every field the policy requires must be there."""
    from audit.policy.context import merged, require

    if policy.context is None and not given and not policy.requires_context:
        return None
    context = merged(policy.context, given)
    require(context, policy.requires_context, policy_id=policy.id, given=bool(given))
    return context


def dated(policy: Policy) -> bool:
    """Does the evidence record the audit date for this policy's sake (its validity, or its context)?"""
    return policy.valid_for_days is not None or bool(policy.requires_context)


def audit_day(value: dt.date | str | None) -> dt.date:
    if value is None:
        return default_audit_date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(
            f"--audit-date must be a date YYYY-MM-DD, not {value!r}",
            hint="e.g. --audit-date 2024-03-31 (a real calendar day); leave it out for today",
        ) from None


def score_metrics_of(
    frame: pd.DataFrame,
    roles: Roles,
    y_true: np.ndarray | None,
    scores: np.ndarray | None,
    scopes: tuple[Scope, ...],
    *,
    level: float,
    seed: int,
    median: float | None = None,
    split_at: float | None = None,
    rows_read: int = 0,
) -> tuple[dict[str, dict[str, MetricValue]], dict[str, Any] | None]:
    """Every group's score metrics and how exact they are (None: all exact; see ``score_accuracy``).

    ``split_at``: the decision threshold on the scores (so that no binned cell straddles it);
    ``rows_read``: the dataset's rows as read, which decide whether scores may be binned."""
    import numpy as np

    if scores is None or not np.isfinite(scores).all():
        return {}, None
    from audit.measures.score_groups import score_accuracy, score_metrics
    from audit.tables.scores import bins_scores, count_scores

    probability = bool(scores.min() >= 0 and scores.max() <= 1)
    table = count_scores(
        frame,
        sensitive=roles.sensitive,
        y_true=y_true,
        scores=scores,
        score_range=(0.0, 1.0) if probability else None,
        # the scoring rate's median: the audit's own (``columns.median_of``) when it has one, else the
        # whole sample's (exact when every score is known; located within its cell when binned)
        threshold=median,
        split_at=split_at,
        bin_rows=bins_scores(rows_read),
    )
    return score_metrics(table, scopes, level=level, seed=seed), score_accuracy(table, scopes)


POLICY_NOTE = "a policy dict given to the Python API: sha256 of its YAML form (yaml.safe_dump, keys in the given order)"
ESTIMATOR_NOTE = (
    "a fitted estimator audited in memory (no file; size_bytes 0): sha256 of its skops serialisation with the "
    "zip timestamps and skops' object ids normalised (the same for the same fitted estimator and library "
    "versions; not the sha256 of a .skops file); `fairgate verify --recompute` cannot re-load it"
)


def input_files(
    request: AuditRequest,
    loaded: LoadedPolicy,
    fitted: Fitted | None,
    source: Engine,
    shape: tuple[int, int] | None = None,
) -> tuple[InputFile, ...]:
    """Every input's provenance; ``shape`` is the dataset's (rows read, columns)."""
    if loaded.path == POLICY_DICT:  # given as a dict: its YAML form was hashed
        policy_file = InputFile("policy", POLICY, len(loaded.text.encode()), loaded.sha256, note=POLICY_NOTE)
    else:
        policy_file = InputFile.of("policy", loaded.path)
    if loaded.source != str(loaded.path):  # a shipped id: record where it lives in the package, not this disk
        policy_file = InputFile(
            "policy", f"fairgate:policies/{loaded.path.name}", policy_file.size_bytes, policy_file.sha256
        )
    dataset = source.provenance()
    if shape is not None:
        dataset = dataclasses.replace(dataset, rows=shape[0], columns=shape[1])
    inputs = [dataset, policy_file]
    if fitted is not None and request.model is not None:
        # the hash of the very bytes that were loaded (the file cannot change in between)
        if is_location(request.model):
            inputs.insert(1, InputFile("model", str(request.model), Path(request.model).stat().st_size, fitted.sha256))
        else:
            inputs.insert(1, InputFile("model", request.model_name, 0, fitted.sha256, note=ESTIMATOR_NOTE))
    return tuple(inputs)


def representation_of(pol: Policy, scopes: tuple[Scope, ...], loaded: LoadedPolicy) -> tuple[Representation, ...]:
    if not pol.representativeness:
        return ()
    from audit.errors import PolicyError
    from audit.measures.representativeness import assess

    by_feature = {s.features[0]: s for s in scopes if len(s.features) == 1}
    out = []
    for check in pol.representativeness:
        if check.feature not in by_feature:
            raise PolicyError(
                f"{loaded.path}: representativeness check {check.id!r} is for {check.feature!r}, "
                "which is not a sensitive feature of this audit",
                hint=f"add --sensitive {check.feature}",
            )
        out.append(assess(check, by_feature[check.feature], level=pol.confidence_level))
    return tuple(out)


def describe_model(fitted: Fitted | None) -> ModelInfo | None:
    if fitted is None:
        return None
    classes = getattr(fitted, "classes", None)
    return {
        "kind": fitted.kind,
        "feature_names": list(fitted.feature_names) if fitted.feature_names else None,
        "classes": [str(c) for c in classes] if classes is not None else None,
    }


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            out[dist] = installed_version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def installed_version(name: str) -> str:
    """``importlib.metadata.version(name)``, read from the ``Version:`` header of the installed METADATA
    without parsing the whole file as an e-mail message (which ``version()`` does: ~1 ms a package,
    16 packages on every run). Falls back to ``version()`` where that header is not found."""
    dist = metadata.distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.splitlines():
        if not line:  # the headers end at the first empty line
            break
        if line.startswith("Version:"):
            return line[len("Version:") :].strip()
    return dist.version
