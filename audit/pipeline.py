"""The one place the stages are connected: inputs → tables → measures → findings → evidence.

``run_audit`` returns an ``AuditResult``; turning it into files (results.json, report.pdf,
signature) is ``audit.outputs``. Nothing here prints or exits: the CLI and notebooks share it.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.errors import InputError, UsageError
from audit.findings import Finding, Status, evaluate, verdict
from audit.inputs.outcomes import resolve_positive, to_bool
from audit.inputs.provenance import InputFile
from audit.measures.groups import Scope, build_scopes
from audit.policy.load import LoadedPolicy, load_policy
from audit.progress import Step, silent
from audit.tables.engines.interface import row_count
from audit.tables.groups import GroupTable, count_groups, frame_weights
from audit.tables.scores import sample_median

#: A sensitive column with more distinct values than this is almost surely an identifier.
MAX_LEVELS = 1000
_VERSIONED = ("fairgate", "numpy", "pandas", "scipy", "pyarrow", "scikit-learn", "skops",
              "onnxruntime", "jinja2", "weasyprint", "matplotlib", "pyhanko", "pydantic")


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


@dataclass(frozen=True)
class AuditResult:
    policy: LoadedPolicy
    roles: Roles
    rows: int
    table: GroupTable | None  # None for a regression audit (its scopes carry the group sums)
    scopes: tuple[Scope, ...]
    findings: tuple[Finding, ...]
    verdict: Status
    inputs: tuple[InputFile, ...]
    model: dict[str, Any] | None
    seed: int
    command: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    score_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    representation: tuple[Any, ...] = ()  # audit.measures.representativeness.Representation
    task: str = "classification"
    score_threshold: float | None = None  # the numeric threshold used (the sample median for "median")
    excluded_rows: dict[str, int] = field(default_factory=dict)
    fail_on: str = "fail"  # "fail" | "warn": which findings fail the release gate
    strict: bool = False  # INSUFFICIENT_DATA fails the gate too

    @property
    def exit_code(self) -> int:
        failing = {Status.FAIL}
        if self.fail_on == "warn":
            failing.add(Status.WARN)
        if self.strict:
            failing.add(Status.INSUFFICIENT_DATA)
        statuses = [f.status for f in self.findings] + [Status(r.status) for r in self.representation]
        return 1 if any(s in failing for s in statuses) else 0

    def to_dict(self) -> dict[str, Any]:
        from audit.evidence import result_document

        return result_document(self)

    # --- notebook use ------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Group metrics as a tidy frame: one row per group, one column per metric value."""
        rows = []
        for scope in self.scopes:
            for group in scope.groups:
                row: dict[str, Any] = {"scope": scope.name, "group": group.label, "n": group.n}
                row.update({name: mv.value for name, mv in group.metrics.items() if name != "count"})
                rows.append(row)
        return pd.DataFrame(rows)

    def save(self, out_dir: Path | str, *, pdf: bool = True, signer: Any | None = None) -> Path:
        """Write results.json, summary.md and (unless ``pdf`` is False) report.pdf into ``out_dir``."""
        from audit.outputs import write_outputs

        return write_outputs(self.to_dict(), Path(out_dir), signer=signer, pdf=pdf).results

    def _repr_html_(self) -> str:
        from audit.report.notebook import render_notebook_html

        return render_notebook_html(self.to_dict())


def run_audit(
    *,
    data: Path,
    policy: str,
    model: Path | None = None,
    predictions: str | None = None,
    scores: str | None = None,
    threshold: float | None = None,
    label: str | None = None,
    positive_label: str | None = None,
    sensitive: Sequence[str] = (),
    features: Sequence[str] | None = None,
    trust_pickle: str | None = None,
    seed: int = 0,
    command: Sequence[str] = (),
    fail_on: str = "fail",
    strict: bool = False,
    progress: Step = silent,
    task: str | None = None,
    engine: str = "auto",
    engine_options: Any = None,
) -> AuditResult:
    """Audit ``data`` (with ``model`` or a predictions/score column) against ``policy``."""
    if fail_on not in ("fail", "warn"):
        raise UsageError(f"--fail-on must be 'fail' or 'warn', not {fail_on!r}")
    loaded = load_policy(policy)
    roles = _resolve_roles(
        loaded, model=model, predictions=predictions, scores=scores, threshold=threshold,
        label=label, positive_label=positive_label, sensitive=sensitive, features=features,
    )
    task = task or loaded.policy.columns.task
    if task not in ("classification", "regression"):
        raise UsageError(f"--task must be 'classification' or 'regression', not {task!r}")
    if task == "regression" and (roles.source == "score_threshold" or roles.label is None):
        raise UsageError("a regression audit needs --label COLUMN (numeric outcomes) and --model or --predictions")
    data = Path(data)
    from audit.tables.engines import open_engine

    source = open_engine(data, engine, engine_options)  # numpy (in memory), duckdb or spark
    try:
        return _audit(source, data=data, loaded=loaded, roles=roles, task=task, model=model,
                      trust_pickle=trust_pickle, seed=seed, command=command, fail_on=fail_on, strict=strict,
                      progress=progress)
    finally:
        source.close()


def _audit(source, *, data, loaded, roles, task, model, trust_pickle, seed, command, fail_on, strict,  # type: ignore[no-untyped-def]
           progress) -> AuditResult:
    header = source.header()
    fitted = None
    if model is not None:
        from audit.inputs.model import load_model

        with progress("loading the model"):
            fitted = load_model(Path(model), trust_pickle_sha256=trust_pickle)
    model_columns = list(roles.features or (fitted.feature_names if fitted else None) or [])
    if fitted is not None and not model_columns:
        model_columns = header  # the model will say which it needs; load everything
    wanted = [c for c in (roles.label, roles.prediction, roles.score) if c] + list(roles.sensitive)
    with progress("reading the data"):
        frame, fitted = source.read(columns=list(dict.fromkeys(wanted + model_columns)), keep=wanted,
                                    text_columns=roles.sensitive, model=fitted, features=roles.features)
    _check_sensitive(frame, roles, data)
    if task == "regression":
        return _regression_audit(frame, roles, data, fitted, loaded, model=model, seed=seed, command=command,
                                 fail_on=fail_on, strict=strict, progress=progress, source=source)
    frame, excluded = _drop_unscored(frame, roles)
    y_true, positive = _labels(frame, roles, data)
    with progress("predicting" if fitted is not None else "reading decisions"):
        scores, cut = _scores(frame, roles, data, fitted, positive)
        y_pred, positive = _decisions(frame, roles, data, fitted, positive, scores=scores, cut=cut)
    roles = Roles(**{**roles.__dict__, "positive_label": positive})
    with progress("counting groups"):
        table = count_groups(frame, sensitive=roles.sensitive, y_true=y_true, y_pred=y_pred)
    pol = loaded.policy
    with progress("statistics and findings"):
        scopes = build_scopes(table, intersections=pol.groups.intersections, level=pol.confidence_level, seed=seed)
        findings = tuple(evaluate(pol, scopes, has_label=y_true is not None, seed=seed))
        per_group_scores = _score_metrics(frame, roles, y_true, scores, scopes,
                                          level=pol.confidence_level, seed=seed)
        representation = _representation(pol, scopes, loaded)
    inputs = _inputs(data, loaded, model, fitted, source)
    return AuditResult(
        policy=loaded, roles=roles, rows=row_count(frame), table=table, scopes=scopes,
        findings=findings, verdict=verdict(list(findings), tuple(r.status for r in representation)),
        inputs=tuple(inputs), representation=representation,
        model=_describe_model(fitted), seed=seed, command=tuple(command), versions=_versions(),
        score_metrics=per_group_scores, score_threshold=cut, excluded_rows=excluded,
        fail_on=fail_on, strict=strict,
    )


def _resolve_roles(loaded: LoadedPolicy, **cli: Any) -> Roles:
    cols = loaded.policy.columns
    sensitive = tuple(cli["sensitive"]) or tuple(cols.sensitive)
    if not sensitive:
        raise UsageError(
            f"{loaded.path}: no sensitive features given",
            hint="pass --sensitive COLUMN (repeatable) or set columns.sensitive in the policy",
        )
    if len(set(sensitive)) != len(sensitive):
        raise UsageError("a sensitive feature is named twice")
    chosen = [k for k in ("model", "predictions", "scores") if cli[k] is not None]
    if len(chosen) > 1:
        raise UsageError(f"give only one of --model, --predictions, --scores (got {', '.join(chosen)})")
    threshold = cli["threshold"] if cli["threshold"] is not None else cols.threshold
    features = tuple(cli["features"]) if cli["features"] else (tuple(cols.features) if cols.features else None)
    common = dict(
        label=cli["label"] or cols.label,
        positive_label=None if cli["positive_label"] is None and cols.positive_label is None
        else str(cli["positive_label"] if cli["positive_label"] is not None else cols.positive_label),
        sensitive=sensitive, features=features,
    )
    if cli["threshold"] is not None and cli["scores"] is None and not cols.score:
        raise UsageError("--threshold applies only to --scores COLUMN")
    roles_used = {c for c in (common["label"], cli["predictions"] or cols.prediction, cli["scores"] or cols.score) if c}
    clash = [s for s in sensitive if s in roles_used]
    if clash:
        raise UsageError(f"column {clash[0]!r} cannot be both a sensitive feature and the label, prediction or score")
    if common["label"] is None:
        from audit.measures.metrics import needs_label

        blocking = [r.id for r in loaded.policy.rules if r.severity == "block" and needs_label(r.metric)]
        if blocking:
            raise UsageError(
                f"policy {loaded.policy.id!r}: blocking rule {blocking[0]!r} needs the true outcome, and no label was given",  # noqa: E501
                hint="pass --label COLUMN (or set columns.label in the policy); without labels, use a policy "
                "whose blocking rules need only the decisions, such as four-fifths or nyc-ll144",
            )
    if cli["model"] is not None:
        return Roles(source="model", **common)
    if cli["predictions"] is not None or (not chosen and cols.prediction):
        return Roles(source="prediction_column", prediction=cli["predictions"] or cols.prediction, **common)
    score = cli["scores"] or cols.score
    if score is None:
        raise UsageError("no predictions: pass --model FILE, --predictions COLUMN or --scores COLUMN --threshold T")
    if threshold is None:
        raise UsageError(f"--scores {score} needs --threshold T (decision = score >= T) or --threshold median")
    return Roles(source="score_threshold", score=score, threshold=_threshold(threshold), **common)


def _threshold(value: object) -> float | str:
    if isinstance(value, str) and value.strip().lower() == "median":
        return "median"
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"--threshold must be a number or 'median', not {value!r}") from None


def _numeric(values: pd.Series | np.ndarray, where: str) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    bad = int((~np.isfinite(numbers)).sum())
    if bad:
        raise InputError(f"{where}: {bad} missing or non-numeric value(s); a regression audit needs numbers")
    return numbers


def _regression_audit(frame, roles, data, fitted, loaded, *, model, seed, command, fail_on, strict,  # type: ignore[no-untyped-def]
                      progress, source=None) -> AuditResult:
    """Numeric outcomes and predictions: per-group means and errors, judged by the same rules."""
    from audit.measures.groups import build_regression_scopes
    from audit.tables.scores import count_regression

    y_true = _numeric(frame[roles.label], f"{data}: label column {roles.label!r}")
    with progress("predicting" if fitted is not None else "reading predictions"):
        if fitted is not None:
            raw = fitted.predict(frame, features=roles.features)
            where = f"{fitted.path}: predictions"
        else:
            raw = frame[roles.prediction]
            where = f"{data}: prediction column {roles.prediction!r}"
        y_pred = _numeric(raw, where)
    pol = loaded.policy
    with progress("counting groups"):
        table = count_regression(frame, sensitive=list(roles.sensitive), y_true=y_true, y_pred=y_pred)
    with progress("statistics and findings"):
        scopes = build_regression_scopes(table, intersections=pol.groups.intersections, level=pol.confidence_level)
        findings = tuple(evaluate(pol, scopes, has_label=True, seed=seed))
        representation = _representation(pol, scopes, loaded)
    return AuditResult(
        policy=loaded, roles=roles, rows=row_count(frame), table=None, scopes=scopes, findings=findings,
        verdict=verdict(list(findings), tuple(r.status for r in representation)),
        inputs=_inputs(data, loaded, model, fitted, source), model=_describe_model(fitted), seed=seed,
        command=tuple(command), versions=_versions(), representation=representation, task="regression",
        fail_on=fail_on, strict=strict,
    )


def _inputs(data: Path, loaded: LoadedPolicy, model: Path | None, fitted: Any, source: Any = None) -> tuple[InputFile, ...]:  # noqa: E501
    policy_file = InputFile.of("policy", loaded.path)
    if loaded.source != str(loaded.path):  # a shipped id: record where it lives in the package, not this disk
        policy_file = InputFile("policy", f"fairgate:policies/{loaded.path.name}", policy_file.size_bytes,
                                policy_file.sha256)
    inputs = [source.provenance() if source is not None else InputFile.of("dataset", data), policy_file]
    if fitted is not None:
        # the hash of the very bytes that were loaded (the file cannot change in between)
        inputs.insert(1, InputFile("model", str(model), Path(model).stat().st_size, fitted.sha256))
    return tuple(inputs)


def _representation(pol: Any, scopes: tuple[Scope, ...], loaded: LoadedPolicy) -> tuple[Any, ...]:
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


def _check_sensitive(frame: pd.DataFrame, roles: Roles, data: Path) -> None:
    for column in roles.sensitive:
        distinct = frame[column].nunique(dropna=True)
        if distinct > MAX_LEVELS:
            raise InputError(
                f"{data}: sensitive column {column!r} has {distinct} distinct values — is it an identifier?",
                hint=f"sensitive features must be categories (at most {MAX_LEVELS}); bin numeric ones such as age first",  # noqa: E501
            )


def _labels(frame: pd.DataFrame, roles: Roles, data: Path) -> tuple[np.ndarray | None, str | None]:
    if roles.label is None:
        return None, roles.positive_label
    where = f"{data}: label column {roles.label!r}"
    positive = resolve_positive(frame[roles.label], positive=roles.positive_label, where=where)
    return to_bool(frame[roles.label], positive=positive, where=where), positive


def _drop_unscored(frame: pd.DataFrame, roles: Roles) -> tuple[pd.DataFrame, dict[str, int]]:
    """For LL144 scoring rates (``--threshold median``), people without a score are counted and left out."""
    if roles.source != "score_threshold" or roles.threshold != "median":
        return frame, {}
    missing = frame[roles.score].isna()
    if not missing.any():
        return frame, {}
    weights = frame_weights(frame)
    dropped = int(missing.sum()) if weights is None else int(weights[missing.to_numpy()].sum())
    return frame.loc[~missing].reset_index(drop=True), {"no score": dropped}


def _scores(
    frame: pd.DataFrame, roles: Roles, data: Path, fitted: Any, positive: str | None
) -> tuple[np.ndarray | None, float | None]:
    """The score of every row (a score column, or the model's positive-class probability)."""
    if roles.source == "score_threshold":
        assert roles.score is not None
        values = pd.to_numeric(frame[roles.score], errors="coerce")
        bad = int(values.isna().sum())
        if bad:
            raise InputError(f"{data}: score column {roles.score!r} has {bad} missing or non-numeric value(s)")
        scores = values.to_numpy(dtype=float)
        if not np.isfinite(scores).all():
            raise InputError(f"{data}: score column {roles.score!r} has infinite values")
        cut = sample_median(scores, frame_weights(frame)) if roles.threshold == "median" else float(roles.threshold)
        return scores, cut
    if roles.source == "model" and fitted is not None:
        scores = fitted.predict_scores(frame, features=roles.features)
        if scores is None:
            return None, None
        scores = np.asarray(scores, dtype=float)
        classes = [str(c) for c in (fitted.classes or ())]
        # the model's probability is for its second class; flip it when the favourable outcome is the first
        if len(classes) == 2 and positive is not None and classes[0].lower() == positive.lower():
            scores = 1.0 - scores
        return scores, None
    return None, None


def _score_metrics(frame, roles, y_true, scores, scopes, *, level, seed):  # type: ignore[no-untyped-def]
    if scores is None or not np.isfinite(scores).all():
        return {}
    from audit.measures.score_groups import score_metrics
    from audit.tables.scores import count_scores

    probability = bool(scores.min() >= 0 and scores.max() <= 1)
    table = count_scores(frame, sensitive=roles.sensitive, y_true=y_true, scores=scores,
                         score_range=(0.0, 1.0) if probability else None,
                         threshold=sample_median(scores, frame_weights(frame)))
    return score_metrics(table, scopes, level=level, seed=seed)


def _decisions(
    frame: pd.DataFrame, roles: Roles, data: Path, fitted: Any, positive: str | None, *,
    scores: np.ndarray | None, cut: float | None,
) -> tuple[np.ndarray, str | None]:
    if roles.source == "score_threshold":
        assert scores is not None and cut is not None
        # LL144's scoring rate counts scores strictly above the median; a threshold T selects score >= T
        return (scores > cut) if roles.threshold == "median" else (scores >= cut), positive
    if roles.source == "prediction_column":
        assert roles.prediction is not None
        raw = frame[roles.prediction]
        where = f"{data}: prediction column {roles.prediction!r}"
    else:
        raw = pd.Series(fitted.predict(frame, features=roles.features))
        where = f"{fitted.path}: predictions"
        if len(raw) != len(frame):
            raise InputError(f"{fitted.path}: the model returned {len(raw)} predictions for {len(frame)} rows")
    if positive is None:
        positive = resolve_positive(raw, positive=None, where=where)
    return to_bool(raw, positive=positive, where=where), positive


def _describe_model(fitted: Any) -> dict[str, Any] | None:
    if fitted is None:
        return None
    return {
        "kind": fitted.kind,
        "feature_names": list(fitted.feature_names) if fitted.feature_names else None,
        "classes": [str(c) for c in fitted.classes] if getattr(fitted, "classes", None) is not None else None,
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
