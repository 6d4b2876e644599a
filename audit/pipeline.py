"""The one place the stages are connected: inputs → tables → measures → findings → evidence.

``run(request)`` (or ``run_audit(**keywords)``) returns an ``AuditResult``; turning it into files
(results.json, report.pdf, signature) is ``audit.outputs``. Nothing here prints or exits: the CLI and
notebooks share it. The rows themselves are handled in ``audit.inputs`` (frames, roles, windowing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from audit.errors import UsageError
from audit.flow import frames
from audit.flow.request import AuditRequest
from audit.flow.roles import Roles, resolve_roles
from audit.inputs.provenance import InputFile
from audit.judge.checks import CheckResult
from audit.judge.core import JudgedItem, exit_code_of, judge, verdict_of
from audit.judge.finding import Finding
from audit.judge.status import Status
from audit.judge.waivers import WaiverRecord, default_audit_date, uses_audit_date
from audit.measures.groups import Scope, build_scopes
from audit.policy.load import LoadedPolicy, load_policy
from audit.policy.needs import table_needs
from audit.tables.engines.interface import row_count
from audit.tables.groups import GroupTable, count_groups, frame_weights
from audit.tables.scores import sample_median
from audit.util.progress import Step, silent

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from audit.flow.frames import Fitted
    from audit.judge.windows import Monitored
    from audit.measures.metrics import MetricValue
    from audit.measures.representativeness import Representation
    from audit.policy.schema import Policy
    from audit.tables.engines.interface import Engine, EngineOptions
    from audit.tables.quality import DataQuality

__all__ = ["AuditRequest", "AuditResult", "ModelInfo", "Roles", "run", "run_audit"]

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


class ModelInfo(TypedDict):
    """The audited model as results.json describes it (``audit.predictions``)."""

    kind: str
    feature_names: list[str] | None
    classes: list[str] | None


@dataclass(frozen=True)
class AuditResult:
    policy: LoadedPolicy
    roles: Roles
    rows: int
    table: GroupTable | None  # None for a regression audit (its scopes carry the group sums)
    scopes: tuple[Scope, ...]
    findings: tuple[Finding, ...]
    inputs: tuple[InputFile, ...]
    model: ModelInfo | None
    seed: int
    command: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)
    score_metrics: dict[str, dict[str, MetricValue]] = field(default_factory=dict)  # group id → score metrics
    representation: tuple[Representation, ...] = ()
    task: str = "classification"
    score_threshold: float | None = None  # the numeric threshold used (the sample median for "median")
    excluded_rows: dict[str, int] = field(default_factory=dict)
    #: the row filter applied (policy ``where`` then ``--where``): each clause and the rows it removed
    row_filter: tuple[dict[str, Any], ...] = ()
    fail_on: str = "fail"  # "fail" | "warn": which findings fail the release gate
    strict: bool = False  # INSUFFICIENT_DATA fails the gate too
    checks: tuple[CheckResult, ...] = ()  # data requirements and score rules
    waivers: tuple[WaiverRecord, ...] = ()
    audit_date: str | None = None  # the date waivers and data ages were judged against (None: not used)
    quality: DataQuality | None = None  # when the policy has data requirements
    monitoring: Monitored | None = None  # windows, trends and drift (--period-column)
    comparison: dict[str, object] | None = None  # against the launch audit's results.json (--baseline)
    request: AuditRequest | None = None  # what was asked for (recorded as results.json's ``request``)

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
        import pandas as pd

        rows = []
        for scope in self.scopes:
            for group in scope.groups:
                row: dict[str, object] = {"scope": scope.name, "group": group.label, "n": group.n}
                row.update({name: mv.value for name, mv in group.metrics.items() if name != "count"})
                rows.append(row)
        return pd.DataFrame(rows)

    def save(
        self,
        out_dir: Path | str,
        *,
        pdf: bool = True,
        signer: object | None = None,
        formats: Sequence[str] | None = None,
    ) -> Path:
        """Write results.json, summary.md and (unless ``pdf`` is False) report.pdf into ``out_dir``;
        ``formats`` chooses among pdf, html, json, md like ``fairgate run --format``."""
        from audit.outputs import write_outputs

        written = write_outputs(self.to_dict(), Path(out_dir), signer=signer, pdf=pdf, formats=formats)
        return written.results or Path(out_dir)

    def _repr_html_(self) -> str:
        from audit.report.notebook import render_notebook_html

        return render_notebook_html(self.to_dict())


def run_audit(
    request: AuditRequest | None = None,
    *,
    data: Path | str | None = None,
    policy: str | None = None,
    model: Path | str | None = None,
    predictions: str | None = None,
    scores: str | None = None,
    threshold: float | str | None = None,
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
    launch: Mapping[str, Any] | None = None,
    launch_source: str = "the baseline",
    engine: str = "auto",
    engine_options: EngineOptions | None = None,
    where: Sequence[str] = (),
) -> AuditResult:
    """Audit ``data`` (with ``model`` or a predictions/score column) against ``policy``: the keywords
    are those of :class:`AuditRequest` (``launch``/``launch_source``: its ``baseline``/``baseline_source``),
    or pass a built request alone (``run_audit(request)``, the same as ``run(request)``).

    ``audit_date``: the day waivers' expiry and the data's age are judged against (default: the day of
    SOURCE_DATE_EPOCH, else today in UTC); recorded in the evidence when the policy uses it.
    ``launch``: a baseline's results.json (``--baseline``, read from ``launch_source``); one that cannot be
    compared with this audit at all is refused before any data is read.
    """
    given = {k: v for k, v in locals().items() if k not in ("request", "progress")}
    if request is not None:
        mixed = [k for k, v in given.items() if v is not _KEYWORDS[k] and v != _KEYWORDS[k]]
        if mixed:
            raise TypeError(f"run_audit(request) takes no other inputs (got {', '.join(mixed)})")
        return run(request, progress=progress)
    if data is None or policy is None:
        raise TypeError("run_audit() needs data= and policy= (or an AuditRequest)")
    request = AuditRequest(
        **{k: v for k, v in given.items() if k not in ("launch", "launch_source")},
        baseline=launch,
        baseline_source=launch_source if launch is not None else None,
    )
    return run(request, progress=progress)


#: run_audit's keywords and their defaults (a request comes alone).
_KEYWORDS = {
    name: p.default
    for name, p in inspect.signature(run_audit).parameters.items()
    if name not in ("request", "progress")
}


def run(request: AuditRequest, *, progress: Step = silent) -> AuditResult:
    """Audit as ``request`` asks; the request is recorded whole in the result (and its results.json)."""
    loaded = load_policy(request.policy)
    day = _audit_date(request.audit_date)
    roles = resolve_roles(loaded, request)
    if request.baseline is not None:
        from audit.judge.compare import check_comparable

        check_comparable(
            dict(request.baseline),
            features=roles.sensitive,
            policy=loaded.policy,
            names=(_baseline_name(request), f"this audit of {request.data}"),
        )
    task = request.task or loaded.policy.columns.task
    if task not in ("classification", "regression"):
        raise UsageError(f"--task must be 'classification' or 'regression', not {task!r}")
    if task == "regression" and (roles.source == "score_threshold" or roles.label is None):
        raise UsageError("a regression audit needs --label COLUMN (numeric outcomes) and --model or --predictions")
    from audit.tables.engines import open_engine

    source = open_engine(Path(request.data), request.engine, request.engine_options)  # numpy, duckdb or spark
    try:
        return _audit(source, request, loaded=loaded, roles=roles, task=task, day=day, progress=progress)
    finally:
        source.close()


def _audit(
    source: Engine,
    request: AuditRequest,
    *,
    loaded: LoadedPolicy,
    roles: Roles,
    task: str,
    day: dt.date,
    progress: Step,
) -> AuditResult:
    from audit.flow.windowing import count_windows, drop_untimed, resolve_windowing

    data = Path(request.data)
    header = source.header()
    clauses = frames.filter_clauses([*loaded.policy.where, *request.where], header, data)
    fitted = None
    if request.model is not None:
        from audit.inputs.model import load_model

        with progress("loading the model"):
            fitted = load_model(Path(request.model), trust_pickle_sha256=request.trust_pickle)
    model_columns = list(roles.features or (fitted.feature_names if fitted else None) or [])
    if fitted is not None and not model_columns:
        model_columns = header  # the model will say which it needs; load everything
    windowing = resolve_windowing(loaded, period_column=request.period_column, period=request.period, task=task)
    wanted = [c for c in (roles.label, roles.prediction, roles.score) if c] + list(roles.sensitive)
    need = table_needs(loaded.policy)
    wanted += [need["timestamp"]] if need["timestamp"] else []
    wanted += [c.column for c in clauses if c.column not in wanted]
    if windowing is not None:
        wanted.append(windowing.period_column)
    source.start_hashing()  # the dataset's sha256 for provenance, computed while the rows are read
    with progress("reading the data"):
        # exact duplicate rows are judged over every column of the file: read them all only then
        columns = header if need["duplicates"] else list(dict.fromkeys(wanted + model_columns))
        frame, fitted = source.read(
            columns=columns,
            keep=header if need["duplicates"] else wanted,
            text_columns=roles.sensitive,
            model=fitted,
            features=roles.features,
        )
    frame, row_filter = frames.apply_filter(frame, clauses, data)  # the audited population, before anything else
    frames.check_sensitive(frame, roles, data)
    frame, quality, excluded = frames.quality(frame, roles, loaded.policy, need)
    if task == "regression":
        return _regression_audit(
            frame, request, roles, fitted, loaded, source=source, progress=progress, quality=quality, day=day
        )
    frame, unscored = frames.drop_unscored(frame, roles)
    excluded = unscored | excluded
    if windowing is not None:
        frame, window_labels, no_time = drop_untimed(frame, windowing, data)
        if no_time:
            excluded = {**excluded, "no time": no_time}
    y_true, positive = frames.labels(frame, roles, data)
    with progress("predicting" if fitted is not None else "reading decisions"):
        scores, cut = frames.scores(frame, roles, data, fitted, positive)
        y_pred, positive = frames.decisions(frame, roles, data, fitted, positive, scores=scores, cut=cut)
    roles = dataclasses.replace(roles, positive_label=positive)
    pol = loaded.policy
    monitored = None
    with progress("counting groups"):
        if windowing is None:
            table = count_groups(frame, sensitive=roles.sensitive, y_true=y_true, y_pred=y_pred)
        else:
            windowed = count_windows(
                frame,
                window_labels,
                windowing,
                roles,
                y_true=y_true,
                y_pred=y_pred,
                scores=scores,
                pol=pol,
                seed=request.seed,
                launch=_launch(request),
                no_time=excluded.get("no time", 0),
                day=day,
            )
            table, monitored = windowed.table, windowed.monitored
            frame, y_true, scores = windowed.frame, windowed.y_true, windowed.scores
    with progress("statistics and findings"):
        scopes = build_scopes(
            table, intersections=pol.groups.intersections, level=pol.confidence_level, seed=request.seed
        )
        per_group_scores = _score_metrics(
            frame, roles, y_true, scores, scopes, level=pol.confidence_level, seed=request.seed
        )
        judged = judge(
            pol,
            scopes,
            has_label=y_true is not None,
            seed=request.seed,
            representation=_representation(pol, scopes, loaded),
            quality=quality,
            label=roles.label,
            score_metrics=per_group_scores,
            audit_date=day,
            scoring=roles.source == "score_threshold" and roles.threshold == "median",
        )
    result = AuditResult(
        policy=loaded,
        roles=roles,
        rows=table.n,
        table=table,
        scopes=scopes,
        monitoring=monitored,
        findings=judged.findings,
        inputs=_inputs(request, loaded, fitted, source),
        representation=judged.representation,
        model=_describe_model(fitted),
        seed=request.seed,
        command=request.command,
        versions=_versions(),
        score_metrics=per_group_scores,
        score_threshold=cut,
        excluded_rows=excluded,
        fail_on=request.fail_on,
        strict=request.strict,
        checks=judged.checks,
        waivers=judged.waivers,
        audit_date=day.isoformat() if uses_audit_date(pol) else None,
        quality=quality,
        request=request,
        row_filter=row_filter,
    )
    return _compared(result, request)


def _regression_audit(
    frame: pd.DataFrame,
    request: AuditRequest,
    roles: Roles,
    fitted: Fitted | None,
    loaded: LoadedPolicy,
    *,
    source: Engine,
    progress: Step,
    quality: DataQuality | None,
    day: dt.date,
) -> AuditResult:
    """Numeric outcomes and predictions: per-group means and errors, judged by the same rules."""
    from audit.measures.groups import build_regression_scopes
    from audit.tables.scores import count_regression

    with progress("predicting" if fitted is not None else "reading predictions"):
        y_true, y_pred = frames.regression_values(frame, roles, Path(request.data), fitted)
    pol = loaded.policy
    with progress("counting groups"):
        table = count_regression(frame, sensitive=list(roles.sensitive), y_true=y_true, y_pred=y_pred)
    with progress("statistics and findings"):
        scopes = build_regression_scopes(table, intersections=pol.groups.intersections, level=pol.confidence_level)
        judged = judge(
            pol,
            scopes,
            has_label=True,
            seed=request.seed,
            representation=_representation(pol, scopes, loaded),
            quality=quality,
            label=roles.label,
            score_metrics={},
            audit_date=day,
        )
    return AuditResult(
        policy=loaded,
        roles=roles,
        rows=row_count(frame),
        table=None,
        scopes=scopes,
        findings=judged.findings,
        inputs=_inputs(request, loaded, fitted, source),
        model=_describe_model(fitted),
        seed=request.seed,
        command=request.command,
        versions=_versions(),
        representation=judged.representation,
        task="regression",
        fail_on=request.fail_on,
        strict=request.strict,
        checks=judged.checks,
        waivers=judged.waivers,
        audit_date=day.isoformat() if uses_audit_date(pol) else None,
        quality=quality,
        request=request,
    )


def _launch(request: AuditRequest) -> dict[str, Any] | None:
    return dict(request.baseline) if request.baseline is not None else None


def _baseline_name(request: AuditRequest) -> str:
    return request.baseline_source or "the baseline"


def _compared(result: AuditResult, request: AuditRequest) -> AuditResult:
    """With the launch audit's evidence (``--baseline``), the comparison with it joins the judged items."""
    launch = _launch(request)
    if launch is None:
        return result
    from audit.judge.compare import compare_documents, comparison_document

    document = result.to_dict()
    compared = compare_documents(
        launch,
        document,
        policy=result.policy.policy,
        seed=result.seed,
        names=(_baseline_name(request), "this audit"),
        policy_is_candidates=True,
    )
    return dataclasses.replace(result, comparison=comparison_document(compared, launch, document))


def _audit_date(value: dt.date | str | None) -> dt.date:
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


def _score_metrics(
    frame: pd.DataFrame,
    roles: Roles,
    y_true: np.ndarray | None,
    scores: np.ndarray | None,
    scopes: tuple[Scope, ...],
    *,
    level: float,
    seed: int,
) -> dict[str, dict[str, MetricValue]]:
    import numpy as np

    if scores is None or not np.isfinite(scores).all():
        return {}
    from audit.measures.score_groups import score_metrics
    from audit.tables.scores import count_scores

    probability = bool(scores.min() >= 0 and scores.max() <= 1)
    table = count_scores(
        frame,
        sensitive=roles.sensitive,
        y_true=y_true,
        scores=scores,
        score_range=(0.0, 1.0) if probability else None,
        threshold=sample_median(scores, frame_weights(frame)),
    )
    return score_metrics(table, scopes, level=level, seed=seed)


def _inputs(
    request: AuditRequest, loaded: LoadedPolicy, fitted: Fitted | None, source: Engine
) -> tuple[InputFile, ...]:
    policy_file = InputFile.of("policy", loaded.path)
    if loaded.source != str(loaded.path):  # a shipped id: record where it lives in the package, not this disk
        policy_file = InputFile(
            "policy", f"fairgate:policies/{loaded.path.name}", policy_file.size_bytes, policy_file.sha256
        )
    inputs = [source.provenance(), policy_file]
    if fitted is not None and request.model is not None:
        # the hash of the very bytes that were loaded (the file cannot change in between)
        inputs.insert(1, InputFile("model", str(request.model), Path(request.model).stat().st_size, fitted.sha256))
    return tuple(inputs)


def _representation(pol: Policy, scopes: tuple[Scope, ...], loaded: LoadedPolicy) -> tuple[Representation, ...]:
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


def _describe_model(fitted: Fitted | None) -> ModelInfo | None:
    if fitted is None:
        return None
    classes = getattr(fitted, "classes", None)
    return {
        "kind": fitted.kind,
        "feature_names": list(fitted.feature_names) if fitted.feature_names else None,
        "classes": [str(c) for c in classes] if classes is not None else None,
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
