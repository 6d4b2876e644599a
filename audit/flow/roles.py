"""Column roles: which column is the label, the decision or score, the sensitive features, the model's
inputs — the request's choices over the policy's ``columns`` defaults, checked for contradictions."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from audit.errors import UsageError

if TYPE_CHECKING:
    from audit.flow.request import AuditRequest
    from audit.policy.load import LoadedPolicy


@dataclass(frozen=True)
class Roles:
    """Column roles after the policy's defaults and the command line's overrides."""

    label: str | None
    positive_label: str | None
    sensitive: tuple[str, ...]
    source: str  # "model" | "prediction_column" | "score_threshold"
    prediction: str | None = None
    score: str | None = None
    threshold: float | str | None = None  # a number, or "median" (LL144 scoring rate)
    features: tuple[str, ...] | None = None
    model_positive_class: str | None = None  # the model's favourable class, when coded unlike the label


def resolve_roles(loaded: LoadedPolicy, request: AuditRequest) -> Roles:
    cols = loaded.policy.columns
    sensitive = tuple(request.sensitive) or tuple(cols.sensitive)
    proxied = bool(request.sensitive_proba) or loaded.policy.proxy is not None
    if not sensitive and not proxied:
        raise UsageError(
            f"{loaded.path}: no sensitive features given",
            hint="pass --sensitive COLUMN (repeatable) or set columns.sensitive in the policy",
        )
    if len(set(sensitive)) != len(sensitive):
        raise UsageError("a sensitive feature is named twice", hint="give each --sensitive COLUMN once")
    chosen = [k for k in ("model", "predictions", "scores") if getattr(request, k) is not None]
    if len(chosen) > 1:
        raise UsageError(
            f"give only one of --model, --predictions, --scores (got {', '.join(chosen)})",
            hint="--model computes the decisions; --predictions or --scores reads them from a column",
        )
    threshold = request.threshold if request.threshold is not None else cols.threshold
    features = tuple(request.features) if request.features else (tuple(cols.features) if cols.features else None)
    positive = request.positive_label if request.positive_label is not None else cols.positive_label
    label = request.label or cols.label
    common = Roles(
        label=label,
        positive_label=None if positive is None else str(positive),
        sensitive=sensitive,
        source="model",
        features=features,
    )
    if request.threshold is not None and request.scores is None and not cols.score:
        raise UsageError(
            "--threshold applies only to --scores COLUMN",
            hint="drop --threshold, or audit a score column with --scores COLUMN --threshold T",
        )
    roles_used = {c for c in (label, request.predictions or cols.prediction, request.scores or cols.score) if c}
    clash = [s for s in sensitive if s in roles_used]
    if clash:
        raise UsageError(
            f"column {clash[0]!r} cannot be both a sensitive feature and the label, prediction or score",
            hint="--sensitive names the column that forms the groups (e.g. sex or race)",
        )
    if label is None:
        from audit.measures.metrics import needs_label

        blocking = [
            r.id for r in loaded.policy.rules if r.severity == "block" and any(needs_label(m) for m in r.metric_names)
        ]
        if blocking:
            raise UsageError(
                f"policy {loaded.policy.id!r}: blocking rule {blocking[0]!r} needs the true outcome, and no label was given",  # noqa: E501
                hint="pass --label COLUMN (or set columns.label in the policy); without labels, use a policy "
                "whose blocking rules need only the decisions, such as four-fifths or nyc-ll144",
            )
    if request.model is not None:
        return replace(common, model_positive_class=request.model_positive_class)
    if request.model_positive_class is not None:
        raise UsageError(
            "--model-positive-class names one of a model's classes: it needs --model",
            hint="for a predictions column coded unlike the label, recode the column (or drop the option)",
        )
    if request.predictions is not None or (not chosen and cols.prediction):
        return replace(common, source="prediction_column", prediction=request.predictions or cols.prediction)
    score = request.scores or cols.score
    if score is None:
        raise UsageError(
            "no predictions: pass --model FILE, --predictions COLUMN or --scores COLUMN --threshold T",
            hint="or set columns.prediction (or columns.score and columns.threshold) in the policy",
        )
    if threshold is None:
        raise UsageError(
            f"--scores {score} needs --threshold T (decision = score >= T) or --threshold median",
            hint="or set columns.threshold in the policy",
        )
    return replace(common, source="score_threshold", score=score, threshold=parse_threshold(threshold))


def parse_threshold(value: float | str) -> float | str:
    if isinstance(value, str) and value.strip().lower() == "median":
        return "median"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number):
        raise UsageError(
            f"--threshold must be a finite number or 'median', not {value!r}",
            hint="e.g. --threshold 0.5 (decision = score >= 0.5), or --threshold median for NYC LL144",
        )
    return number


def check_intersections(loaded: LoadedPolicy, sensitive: tuple[str, ...], proba: str | None = None) -> None:
    """Every feature of a listed intersection (``groups.intersections: [[sex, race], …]``) must be a
    sensitive feature of this audit — recorded, or the probabilistic one ``proba`` — refused before any
    data is read, naming the policy and the feature."""
    from audit.errors import PolicyError

    listed = loaded.policy.groups.intersections
    if isinstance(listed, bool):
        return
    for combo in listed:
        unknown = [f for f in combo if f not in sensitive and f != proba]
        if unknown:
            raise PolicyError(
                f"{loaded.path}: groups.intersections lists {' × '.join(combo)}, but {unknown[0]!r} is not a "
                "sensitive feature of this audit",
                hint=f"sensitive features: {', '.join([*sensitive, *([proba] if proba else [])]) or 'none'} "
                f"(add --sensitive {unknown[0]})",
            )
