"""The one place the stages are connected: inputs → tables → measures → findings → evidence.

``run_audit`` returns an ``AuditResult``; turning it into files (results.json, report.pdf,
signature) is ``audit.outputs``. Nothing here prints or exits: the CLI and notebooks share it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.errors import InputError, UsageError
from audit.inputs.interface import InputFile, check_coding, missing_rows, resolve_positive, to_bool
from audit.judge.interface import (
    CheckResult,
    Finding,
    JudgedItem,
    Status,
    WaiverRecord,
    default_audit_date,
    exit_code_of,
    judge,
    uses_audit_date,
    verdict_of,
)
from audit.measures.interface import Scope, build_scopes
from audit.policy.interface import LoadedPolicy, load_policy, table_needs
from audit.tables.interface import GroupTable, count_groups, frame_weights, row_count, sample_median
from audit.util.progress import Step, silent

if TYPE_CHECKING:
    from audit.judge.windows import Monitored
    from audit.measures.representativeness import Representation

#: A sensitive column with more distinct values than this is almost surely an identifier.
MAX_LEVELS = 1000
_VERSIONED = ("fairgate", "numpy", "pandas", "scipy", "pyarrow", "scikit-learn", "skops",
              "onnxruntime", "duckdb", "pyspark", "jinja2", "weasyprint", "matplotlib", "pyhanko", "pydantic")


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
    inputs: tuple[InputFile, ...]
    model: dict[str, Any] | None
    seed: int
    command: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    score_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    representation: tuple[Representation, ...] = ()
    task: str = "classification"
    score_threshold: float | None = None  # the numeric threshold used (the sample median for "median")
    excluded_rows: dict[str, int] = field(default_factory=dict)
    fail_on: str = "fail"  # "fail" | "warn": which findings fail the release gate
    strict: bool = False  # INSUFFICIENT_DATA fails the gate too
    checks: tuple[CheckResult, ...] = ()  # data requirements and score rules
    waivers: tuple[WaiverRecord, ...] = ()
    audit_date: str | None = None  # the date waivers and data ages were judged against (None: not used)
    quality: Any = None  # audit.tables.quality.DataQuality, when the policy has data requirements
    monitoring: Monitored | None = None  # windows, trends and drift (--period-column)
    comparison: dict[str, Any] | None = None  # against the launch audit's results.json (--baseline)

    @property
    def items(self) -> tuple[JudgedItem, ...]:
        """Everything the verdict rests on, in the order every printer lists it."""
        from audit.judge.core import comparison_item, items_of

        out = items_of(self.findings, self.representation, self.checks)
        if self.monitoring is not None:
            out += self.monitoring.items()
        if self.comparison is not None:
            out += (comparison_item(self.comparison),)
        return out

    @property
    def verdict(self) -> Status:
        return verdict_of(self.items)

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.items, fail_on=self.fail_on, strict=self.strict)

    def to_dict(self) -> dict[str, Any]:
        from audit.report.evidence import result_document

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

    def save(self, out_dir: Path | str, *, pdf: bool = True, signer: Any | None = None,
             formats: Sequence[str] | None = None) -> Path:
        """Write results.json, summary.md and (unless ``pdf`` is False) report.pdf into ``out_dir``;
        ``formats`` chooses among pdf, html, json, md like ``fairgate run --format``."""
        from audit.outputs import write_outputs

        written = write_outputs(self.to_dict(), Path(out_dir), signer=signer, pdf=pdf, formats=formats)
        return written.results or Path(out_dir)

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
    audit_date: dt.date | str | None = None,
    period_column: str | None = None,
    period: str | None = None,
    launch: dict[str, Any] | None = None,
    launch_source: str = "the baseline",
    engine: str = "auto",
    engine_options: Any = None,
) -> AuditResult:
    """Audit ``data`` (with ``model`` or a predictions/score column) against ``policy``.

    ``audit_date``: the day waivers' expiry and the data's age are judged against (default: the day of
    SOURCE_DATE_EPOCH, else today in UTC); recorded in the evidence when the policy uses it.
    ``launch``: a baseline's results.json (``--baseline``, read from ``launch_source``); one that cannot be
    compared with this audit at all is refused before any data is read.
    """
    if fail_on not in ("fail", "warn"):
        raise UsageError(f"--fail-on must be 'fail' or 'warn', not {fail_on!r}")
    loaded = load_policy(policy)
    day = _audit_date(audit_date)
    roles = _resolve_roles(
        loaded, model=model, predictions=predictions, scores=scores, threshold=threshold,
        label=label, positive_label=positive_label, sensitive=sensitive, features=features,
    )
    if launch is not None:
        from audit.judge.compare import check_comparable

        check_comparable(launch, features=roles.sensitive, policy=loaded.policy,
                         names=(launch_source, f"this audit of {data}"))
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
                      progress=progress, day=day, period_column=period_column, period=period, launch=launch,
                      launch_source=launch_source)
    finally:
        source.close()


def _audit(source, *, data, loaded, roles, task, model, trust_pickle, seed, command, fail_on, strict,  # type: ignore[no-untyped-def]
           progress, day, period_column, period, launch, launch_source) -> AuditResult:
    header = source.header()
    fitted = None
    if model is not None:
        from audit.inputs.model import load_model

        with progress("loading the model"):
            fitted = load_model(Path(model), trust_pickle_sha256=trust_pickle)
    model_columns = list(roles.features or (fitted.feature_names if fitted else None) or [])
    if fitted is not None and not model_columns:
        model_columns = header  # the model will say which it needs; load everything
    windowing = _windowing(loaded, period_column=period_column, period=period, task=task)
    wanted = [c for c in (roles.label, roles.prediction, roles.score) if c] + list(roles.sensitive)
    need = table_needs(loaded.policy)
    wanted += [need["timestamp"]] if need["timestamp"] else []
    if windowing is not None:
        wanted.append(windowing.period_column)
    source.start_hashing()  # the dataset's sha256 for provenance, computed while the rows are read
    with progress("reading the data"):
        # exact duplicate rows are judged over every column of the file: read them all only then
        columns = header if need["duplicates"] else list(dict.fromkeys(wanted + model_columns))
        frame, fitted = source.read(columns=columns, keep=header if need["duplicates"] else wanted,
                                    text_columns=roles.sensitive, model=fitted, features=roles.features)
    _check_sensitive(frame, roles, data)
    frame, quality, unlabeled = _quality(frame, roles, loaded.policy, need)
    if task == "regression":
        return _regression_audit(frame, roles, data, fitted, loaded, model=model, seed=seed, command=command,
                                 fail_on=fail_on, strict=strict, progress=progress, quality=quality, day=day,
                                 source=source)
    frame, excluded = _drop_unscored(frame, roles)
    excluded |= unlabeled
    window_labels = None
    if windowing is not None:
        frame, window_labels, no_time = _drop_untimed(frame, windowing, data)
        if no_time:
            excluded = {**excluded, "no time": no_time}
    y_true, positive = _labels(frame, roles, data)
    with progress("predicting" if fitted is not None else "reading decisions"):
        scores, cut = _scores(frame, roles, data, fitted, positive)
        y_pred, positive = _decisions(frame, roles, data, fitted, positive, scores=scores, cut=cut)
    roles = Roles(**{**roles.__dict__, "positive_label": positive})
    pol = loaded.policy
    monitored = None
    with progress("counting groups"):
        if windowing is None:
            table = count_groups(frame, sensitive=roles.sensitive, y_true=y_true, y_pred=y_pred)
        else:
            table, monitored, in_verdict = _windowed(frame, window_labels, windowing, roles, y_true, y_pred,
                                                     pol, seed=seed, launch=launch, day=day,
                                                     no_time=excluded.get("no time", 0))
            if in_verdict is not None:  # score metrics describe the same rows as the group tables
                frame, scores = frame.loc[in_verdict].reset_index(drop=True), scores[in_verdict] if scores is not None else None  # noqa: E501
                y_true = y_true[in_verdict] if y_true is not None else None
    with progress("statistics and findings"):
        scopes = build_scopes(table, intersections=pol.groups.intersections, level=pol.confidence_level, seed=seed)
        per_group_scores = _score_metrics(frame, roles, y_true, scores, scopes,
                                          level=pol.confidence_level, seed=seed)
        judged = judge(pol, scopes, has_label=y_true is not None, seed=seed,
                       representation=_representation(pol, scopes, loaded), quality=quality, label=roles.label,
                       score_metrics=per_group_scores, audit_date=day,
                       scoring=roles.source == "score_threshold" and roles.threshold == "median")
    inputs = _inputs(data, loaded, model, fitted, source)
    result = AuditResult(
        policy=loaded, roles=roles, rows=table.n, table=table, scopes=scopes, monitoring=monitored,
        findings=judged.findings,
        inputs=tuple(inputs), representation=judged.representation,
        model=_describe_model(fitted), seed=seed, command=tuple(command), versions=_versions(),
        score_metrics=per_group_scores, score_threshold=cut, excluded_rows=excluded,
        fail_on=fail_on, strict=strict, checks=judged.checks, waivers=judged.waivers,
        audit_date=day.isoformat() if uses_audit_date(pol) else None, quality=quality,
    )
    return _compared(result, launch, launch_source)


def _compared(result: AuditResult, launch: dict[str, Any] | None, source: str) -> AuditResult:
    """With the launch audit's evidence (``--baseline``), the comparison with it joins the judged items."""
    if launch is None:
        return result
    from audit.judge.compare import compare_documents, comparison_document

    document = result.to_dict()
    compared = compare_documents(launch, document, policy=result.policy.policy, seed=result.seed,
                                 names=(source, "this audit"), policy_is_candidates=True)
    return dataclasses.replace(result, comparison=comparison_document(compared, launch, document))


def _audit_date(value: dt.date | str | None) -> dt.date:
    if value is None:
        return default_audit_date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"--audit-date must be a date YYYY-MM-DD, not {value!r}",
                         hint="e.g. --audit-date 2024-03-31 (a real calendar day); leave it out for today") from None


def _quality(frame: pd.DataFrame, roles: Roles, pol: Any, need: dict[str, Any]) -> tuple[pd.DataFrame, Any, dict]:
    """The data-quality counts a policy's data requirements need; rows without a label left out (counted)
    when the policy judges the share of missing labels."""
    if not pol.data_requirements:
        return frame, None, {}
    from audit.tables.quality import drop_missing, summarize_quality

    columns = [*roles.sensitive, *([roles.label] if roles.label else [])]
    quality = summarize_quality(frame, columns=columns, duplicates=need["duplicates"], timestamp=need["timestamp"])
    if need["drop_unlabeled"] and roles.label:
        frame, dropped = drop_missing(frame, roles.label)
        if len(frame) == 0:
            raise InputError(f"label column {roles.label!r} has no values")
        return frame, quality, {"no label": dropped} if dropped else {}
    return frame, quality, {}


def _resolve_roles(loaded: LoadedPolicy, **cli: Any) -> Roles:
    cols = loaded.policy.columns
    sensitive = tuple(cli["sensitive"]) or tuple(cols.sensitive)
    if not sensitive:
        raise UsageError(
            f"{loaded.path}: no sensitive features given",
            hint="pass --sensitive COLUMN (repeatable) or set columns.sensitive in the policy",
        )
    if len(set(sensitive)) != len(sensitive):
        raise UsageError("a sensitive feature is named twice", hint="give each --sensitive COLUMN once")
    chosen = [k for k in ("model", "predictions", "scores") if cli[k] is not None]
    if len(chosen) > 1:
        raise UsageError(f"give only one of --model, --predictions, --scores (got {', '.join(chosen)})",
                         hint="--model computes the decisions; --predictions or --scores reads them from a column")
    threshold = cli["threshold"] if cli["threshold"] is not None else cols.threshold
    features = tuple(cli["features"]) if cli["features"] else (tuple(cols.features) if cols.features else None)
    common = dict(
        label=cli["label"] or cols.label,
        positive_label=None if cli["positive_label"] is None and cols.positive_label is None
        else str(cli["positive_label"] if cli["positive_label"] is not None else cols.positive_label),
        sensitive=sensitive, features=features,
    )
    if cli["threshold"] is not None and cli["scores"] is None and not cols.score:
        raise UsageError("--threshold applies only to --scores COLUMN",
                         hint="drop --threshold, or audit a score column with --scores COLUMN --threshold T")
    roles_used = {c for c in (common["label"], cli["predictions"] or cols.prediction, cli["scores"] or cols.score) if c}
    clash = [s for s in sensitive if s in roles_used]
    if clash:
        raise UsageError(f"column {clash[0]!r} cannot be both a sensitive feature and the label, prediction or score",
                         hint="--sensitive names the column that forms the groups (e.g. sex or race)")
    if common["label"] is None:
        from audit.measures.metrics import needs_label

        blocking = [r.id for r in loaded.policy.rules
                    if r.severity == "block" and any(needs_label(m) for m in r.metric_names)]
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
        raise UsageError("no predictions: pass --model FILE, --predictions COLUMN or --scores COLUMN --threshold T",
                         hint="or set columns.prediction (or columns.score and columns.threshold) in the policy")
    if threshold is None:
        raise UsageError(f"--scores {score} needs --threshold T (decision = score >= T) or --threshold median",
                         hint="or set columns.threshold in the policy")
    return Roles(source="score_threshold", score=score, threshold=_threshold(threshold), **common)


def _threshold(value: object) -> float | str:
    if isinstance(value, str) and value.strip().lower() == "median":
        return "median"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number):
        raise UsageError(f"--threshold must be a finite number or 'median', not {value!r}",
                         hint="e.g. --threshold 0.5 (decision = score >= 0.5), or --threshold median for NYC LL144")
    return number


def _numeric(values: pd.Series | np.ndarray, where: str, weights: np.ndarray | None = None) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    bad = int(bad.sum()) if weights is None else int(weights[bad].sum())
    if bad:
        raise InputError(f"{where}: {bad} missing or non-numeric value(s); a regression audit needs numbers",
                         hint="drop or fill those rows, or audit decisions (--task classification)")
    return numbers


def _regression_audit(frame, roles, data, fitted, loaded, *, model, seed, command, fail_on, strict,  # type: ignore[no-untyped-def]
                      progress, quality=None, day=None, source=None) -> AuditResult:
    """Numeric outcomes and predictions: per-group means and errors, judged by the same rules."""
    from audit.measures.groups import build_regression_scopes
    from audit.tables.scores import count_regression

    y_true = _numeric(frame[roles.label], f"{data}: label column {roles.label!r}", frame_weights(frame))
    with progress("predicting" if fitted is not None else "reading predictions"):
        if fitted is not None:
            raw = fitted.predict(frame, features=roles.features)
            where = f"{fitted.path}: predictions"
        else:
            raw = frame[roles.prediction]
            where = f"{data}: prediction column {roles.prediction!r}"
        y_pred = _numeric(raw, where, frame_weights(frame))
    pol = loaded.policy
    with progress("counting groups"):
        table = count_regression(frame, sensitive=list(roles.sensitive), y_true=y_true, y_pred=y_pred)
    with progress("statistics and findings"):
        scopes = build_regression_scopes(table, intersections=pol.groups.intersections, level=pol.confidence_level)
        judged = judge(pol, scopes, has_label=True, seed=seed, representation=_representation(pol, scopes, loaded),
                       quality=quality, label=roles.label, score_metrics={}, audit_date=day or default_audit_date())
    return AuditResult(
        policy=loaded, roles=roles, rows=row_count(frame), table=None, scopes=scopes, findings=judged.findings,
        inputs=_inputs(data, loaded, model, fitted, source), model=_describe_model(fitted), seed=seed,
        command=tuple(command), versions=_versions(), representation=judged.representation, task="regression",
        fail_on=fail_on, strict=strict, checks=judged.checks, waivers=judged.waivers,
        audit_date=(day or default_audit_date()).isoformat() if uses_audit_date(pol) else None, quality=quality,
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


@dataclass(frozen=True)
class _Windowing:
    period_column: str
    period: str
    monitoring: Any  # audit.policy.monitoring.Monitoring


def _windowing(loaded: LoadedPolicy, *, period_column: str | None, period: str | None,
               task: str) -> _Windowing | None:
    """Whether this run is audited per time window, and how (command line over the policy)."""
    from audit.policy.monitoring import Monitoring

    configured = loaded.policy.monitoring
    column = period_column or (configured.period_column if configured else None)
    if column is None:
        if period is not None:
            raise UsageError("--period needs --period-column COLUMN (the timestamp that places each row in a window)")
        if configured is not None and configured.drift:
            raise UsageError(f"policy {loaded.policy.id!r} has drift rules but no period column",
                             hint="pass --period-column COLUMN or set monitoring.period_column in the policy")
        return None
    if task != "classification":
        raise UsageError("time windows (--period-column) are for classification audits")
    monitoring = configured or Monitoring()
    if period is not None:
        monitoring = monitoring.model_copy(update={"period": period})
    return _Windowing(column, monitoring.period, monitoring)


def _drop_untimed(frame: pd.DataFrame, w: _Windowing, data: Path) -> tuple[pd.DataFrame, pd.Series, int]:
    """The window label of every row; rows without a time are counted and left out."""
    from audit.tables.windows import parse_times, period_labels

    times = parse_times(frame[w.period_column], where=f"{data}: period column {w.period_column!r}")
    labels = period_labels(times, w.period)
    missing = labels.isna()
    if missing.all():
        raise InputError(f"{data}: period column {w.period_column!r} has no dates")
    if missing.any():
        keep = ~missing.to_numpy()
        weights = frame_weights(frame)  # a compact frame's rows stand for several rows each
        dropped = int(missing.sum()) if weights is None else int(weights[~keep].sum())
        return frame.loc[keep].reset_index(drop=True), labels[keep].reset_index(drop=True), dropped
    return frame, labels.reset_index(drop=True), 0


def _windowed(frame, labels, w, roles, y_true, y_pred, pol, *, seed, launch, no_time, day):  # type: ignore[no-untyped-def]
    """One count over (sensitive features × window), cut into windows; each judged, drift checked."""
    from audit.judge.windows import audit_windows, verdict_table
    from audit.tables.groups import WEIGHT
    from audit.tables.windows import WINDOW_KEY, split_windows

    counted = frame[[*roles.sensitive, *([WEIGHT] if WEIGHT in frame.columns else [])]].copy()
    counted[WINDOW_KEY] = labels.to_numpy()
    both = count_groups(counted, sensitive=(*roles.sensitive, WINDOW_KEY), y_true=y_true, y_pred=y_pred)
    windows = split_windows(both, w.period)
    full = both.marginal(roles.sensitive)
    launch_scopes = None
    if launch is not None:
        from audit.judge.compare import scopes_of

        launch_scopes = scopes_of(launch, level=pol.confidence_level, where="--baseline")
    monitored = audit_windows(windows, policy=pol, monitoring=w.monitoring, period_column=w.period_column,
                              excluded_rows=no_time, has_label=y_true is not None, seed=seed, launch=launch_scopes,
                              audit_date=day)
    table = verdict_table(windows, full, w.monitoring.verdict_from)
    in_verdict = None if table is full else (labels == windows[-1].label).to_numpy()
    return table, monitored, in_verdict


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
    weights = frame_weights(frame)
    positive = resolve_positive(frame[roles.label], positive=roles.positive_label, where=where, weights=weights)
    return to_bool(frame[roles.label], positive=positive, where=where, weights=weights), positive


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
        bad = missing_rows(values, frame_weights(frame))
        if bad:
            raise InputError(f"{data}: score column {roles.score!r} has {bad} missing or non-numeric value(s)",
                             hint="every row needs a numeric score: drop or fill those rows before auditing")
        scores = values.to_numpy(dtype=float)
        if not np.isfinite(scores).all():
            raise InputError(f"{data}: score column {roles.score!r} has infinite values",
                             hint="scores must be finite numbers: clip or drop the infinite ones before auditing")
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
    weights = frame_weights(frame)
    if positive is None:
        positive = resolve_positive(raw, positive=None, where=where, weights=weights)
    decisions = to_bool(raw, positive=positive, where=where, weights=weights)
    check_coding(raw, positive=positive, label=frame[roles.label] if roles.label else None, where=where)
    return decisions, positive


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
