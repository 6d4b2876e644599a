"""The one place the stages are connected: inputs → tables → measures → findings → evidence.

``run(request)`` (or ``run_audit(**keywords)``) returns an ``AuditResult``; turning it into files
(results.json, report.pdf, signature) is ``audit.outputs``. Nothing here prints or exits: the CLI and
notebooks share it. The steps between the stages live in ``audit.flow`` (the request, roles, reading
the frame, time windows, the result type and the parts assembled around the judging).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import ArgumentError, UsageError
from audit.flow import frames, proxy
from audit.flow.assemble import (
    audit_context,
    audit_day,
    baseline_name,
    compared,
    dated,
    describe_model,
    input_files,
    launch_of,
    library_versions,
    representation_of,
    score_metrics_of,
)
from audit.flow.request import AuditRequest
from audit.flow.result import AuditResult, ModelInfo
from audit.flow.roles import Roles, check_intersections, resolve_roles
from audit.inputs.held import is_location
from audit.judge.core import judge
from audit.judge.waivers import uses_audit_date
from audit.measures.groups import build_scopes
from audit.policy.load import LoadedPolicy, load_policy, load_policy_mapping
from audit.policy.needs import table_needs
from audit.tables.engines.interface import row_count
from audit.tables.groups import count_groups
from audit.util.progress import Step, silent

if TYPE_CHECKING:
    import pandas as pd

    from audit.flow.frames import Fitted
    from audit.tables.engines.interface import Binning, Engine, EngineOptions
    from audit.tables.quality import DataQuality

__all__ = ["AuditRequest", "AuditResult", "ModelInfo", "Roles", "run", "run_audit"]


def run_audit(
    request: AuditRequest | None = None,
    *,
    data: Path | str | pd.DataFrame | None = None,
    policy: str | Path | Mapping[str, Any] | None = None,
    model: Path | str | Any | None = None,
    predictions: str | None = None,
    scores: str | None = None,
    threshold: float | str | None = None,
    label: str | None = None,
    positive_label: str | None = None,
    model_positive_class: str | None = None,
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
    sensitive_proba: Sequence[str] | Mapping[str, Sequence[str]] | str = (),
    self_reported: str | Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    ledger: bool | Path | str = True,
) -> AuditResult:
    """Audit ``data`` (with ``model`` or a predictions/score column) against ``policy``: the keywords
    are those of :class:`AuditRequest` (``launch``/``launch_source``: its ``baseline``/``baseline_source``),
    or pass a built request alone (``run_audit(request)``, the same as ``run(request)``).

    What a notebook holds is audited in memory: ``data`` a pandas DataFrame, ``model`` a fitted
    scikit-learn estimator, ``policy`` a dict (validated like a policy file). An argument of the wrong
    kind is an :class:`audit.errors.ArgumentError` naming it and the kinds accepted.

    ``audit_date``: the day waivers' expiry and the data's age are judged against (default: the day of
    SOURCE_DATE_EPOCH, else today in UTC); recorded in the evidence when the policy uses it.
    ``launch``: a baseline's results.json (``--baseline``, read from ``launch_source``); one that cannot be
    compared with this audit at all is refused before any data is read.
    ``ledger``: the audit is recorded in the audit ledger like ``fairgate run`` records it (True: the
    ledger ``$FAIRGATE_LEDGER`` names, else the default one, best effort; a path: that ledger, which
    must work; False: not recorded). ``run(request)`` records nothing.
    ``sensitive_proba``: a feature given as probability columns, as ``--sensitive-proba`` takes it
    (``"race=p_white,p_black"``) or as a mapping (``{"race": ["p_white", "p_black"]}``);
    ``self_reported``: ``"race=race_self"`` or ``{"race": "race_self"}``.
    """
    from audit.flow.api import check_arguments, record_in_ledger

    if isinstance(sensitive, str):  # one column
        sensitive = (sensitive,)
    if isinstance(sensitive_proba, str):
        sensitive_proba = (sensitive_proba,)
    elif isinstance(sensitive_proba, Mapping):
        sensitive_proba = tuple(
            f"{feature}={columns if isinstance(columns, str) else ','.join(columns)}"
            for feature, columns in sensitive_proba.items()
        )
    if isinstance(self_reported, Mapping):
        self_reported = ",".join(f"{feature}={column}" for feature, column in self_reported.items()) or None
    given = {k: v for k, v in locals().items() if k not in ("request", "progress", "ledger")}
    given = {k: v for k, v in given.items() if k in _KEYWORDS}
    if request is not None:
        mixed = [k for k, v in given.items() if v is not _KEYWORDS[k] and not _same(v, _KEYWORDS[k])]
        if mixed:
            raise ArgumentError(f"run_audit(request) takes no other inputs (got {', '.join(mixed)})")
        if not isinstance(request, AuditRequest):
            raise ArgumentError(f"run_audit(request): expected an AuditRequest, got {type(request).__name__}")
    else:
        if data is None or policy is None:
            raise ArgumentError("run_audit() needs data= and policy= (or an AuditRequest)")
        check_arguments(data=data, model=model, policy=policy, sensitive=sensitive, ledger=ledger)
        request = AuditRequest(
            **{k: v for k, v in given.items() if k not in ("launch", "launch_source")},
            baseline=launch,
            baseline_source=launch_source if launch is not None else None,
        )
    return record_in_ledger(run(request, progress=progress), ledger)


def _same(value: Any, default: Any) -> bool:
    """``value == default`` for plain values (a DataFrame or an estimator compares as different)."""
    if not isinstance(value, str | int | float | bool | tuple | list | type(None)):
        return False
    return bool(value == default)


#: run_audit's keywords and their defaults (a request comes alone).
_KEYWORDS = {
    name: p.default
    for name, p in inspect.signature(run_audit).parameters.items()
    if name not in ("request", "progress", "ledger")
}


def run(request: AuditRequest, *, progress: Step = silent) -> AuditResult:
    """Audit as ``request`` asks; the request is recorded whole in the result (and its results.json)."""
    policy = request.policy
    loaded = load_policy(str(policy)) if isinstance(policy, str) or is_location(policy) else load_policy_mapping(policy)
    context = audit_context(loaded.policy, request.context)  # a required field missing: stop before any reading
    day = audit_day(request.audit_date)
    roles = resolve_roles(loaded, request)
    check_intersections(loaded, roles.sensitive, proxy.proxy_feature(loaded, request))
    if request.baseline is not None:
        from audit.judge.compare import check_comparable

        check_comparable(
            dict(request.baseline),
            features=roles.sensitive,
            policy=loaded.policy,
            names=(baseline_name(request), f"this audit of {request.data_name}"),
        )
    task = request.task or loaded.policy.columns.task
    if task not in ("classification", "regression"):
        raise UsageError(f"--task must be 'classification' or 'regression', not {task!r}")
    if task == "regression" and (roles.source == "score_threshold" or roles.label is None):
        raise UsageError("a regression audit needs --label COLUMN (numeric outcomes) and --model or --predictions")
    source = _open(request)
    try:
        result = _audit(source, request, loaded=loaded, roles=roles, task=task, day=day, progress=progress)
    finally:
        source.close()
    return dataclasses.replace(
        result,
        context=context,
        audit_date=result.audit_date or (day.isoformat() if dated(loaded.policy) else None),
    )


def _open(request: AuditRequest) -> Engine:
    """The engine that reads the data: numpy, duckdb or spark for a path; a DataFrame is read as it is."""
    if not is_location(request.data):
        import pandas as pd

        from audit.tables.engines.frame import FrameEngine

        if request.engine not in ("auto", "numpy"):
            raise UsageError(
                f"engine={request.engine!r} reads files: a DataFrame is audited in memory",
                hint="leave engine out (or 'numpy'), or write the frame to Parquet and audit the file",
            )
        assert isinstance(request.data, pd.DataFrame)  # run_audit checked it
        return FrameEngine(request.data, request.engine_options)
    from audit.tables.engines import open_engine

    # numpy, duckdb or spark; probability columns counted in the engine's pass may change what auto picks
    return open_engine(
        Path(request.data), request.engine, request.engine_options, weighted=bool(request.sensitive_proba)
    )


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

    data = Path(request.data_name)
    header = source.header()
    clauses = frames.filter_clauses([*loaded.policy.where, *request.where], header, data)
    segment_by = frames.segment_columns(loaded.policy.segment_by, header, data, tuple(roles.sensitive))
    fitted = None
    if request.model is not None:
        from audit.inputs.model import from_estimator, load_model

        with progress("loading the model"):
            if is_location(request.model):
                fitted = load_model(Path(request.model), trust_pickle_sha256=request.trust_pickle)
            else:
                fitted = from_estimator(request.model, name=request.model_name)
    model_columns = list(roles.features or (fitted.feature_names if fitted else None) or [])
    if fitted is not None and not model_columns:
        model_columns = header  # the model will say which it needs; load everything
    windowing = resolve_windowing(loaded, period_column=request.period_column, period=request.period, task=task)
    wanted = [c for c in (roles.label, roles.prediction, roles.score) if c] + list(roles.sensitive)
    need = table_needs(loaded.policy)
    wanted += [need["timestamp"]] if need["timestamp"] else []
    wanted += [c.column for c in clauses if c.column not in wanted]
    wanted += [c for c in segment_by if c not in wanted]
    if windowing is not None:
        wanted.append(windowing.period_column)
    plan = proxy.plan_proxy(loaded, request, header, tuple(roles.sensitive), data)
    if plan is not None and task == "regression":
        raise UsageError(
            "a probabilistic feature (--sensitive-proba or proxy:) works in a classification audit",
            hint="audit the regression with recorded values (--sensitive COLUMN)",
        )
    if plan is None:
        proxy.no_self_reported(request)
    if plan is not None and plan.inline:
        wanted += [c for c in plan.inputs if c not in wanted]
    recorded = [plan.self_reported] if plan is not None and plan.self_reported else []
    wanted += [c for c in recorded if c not in wanted]
    binning = _binning(roles, fitted, wanted, clauses, plan=plan, windowing=windowing, duplicates=need["duplicates"])
    binning = binning if loaded.policy.score_bands is None else None
    source.start_hashing()  # the dataset's sha256 for provenance, computed while the rows are read
    with progress("reading the data"):
        # exact duplicate rows are judged over every column of the file: read them all only then
        columns = header if need["duplicates"] else list(dict.fromkeys(wanted + model_columns))
        frame, fitted = source.read(
            columns=columns,
            keep=header if need["duplicates"] else wanted,
            text_columns=[*roles.sensitive, *segment_by, *(plan.inputs if plan is not None else ()), *recorded],
            model=fitted,
            features=roles.features,
            proba=plan.spec if plan is not None and not plan.inline else None,
            binning=binning,
        )
    shape = (row_count(frame), len(header))  # the dataset as read, for its provenance
    frame, row_filter = frames.apply_filter(frame, clauses, data)  # the audited population, before anything else
    proxy_summary = None
    if plan is not None and plan.inline:
        with progress(f"estimating {plan.spec.feature} ({plan.source.upper()})"):
            frame, proxy_summary = proxy.estimate_inline(frame, plan, data)
    proxy_quality = None
    if plan is not None and plan.self_reported is not None:
        with progress(f"checking {plan.spec.feature} against the self-reported values"):
            proxy_quality = proxy.quality_of(frame, plan, data)
            if proxy_quality is None:  # the engine summed the probabilities in its pass: read them per row
                proxy_quality = proxy.quality_of(_proba_rows(source, plan, clauses, roles, data), plan, data)
    frames.check_sensitive(frame, roles, data)
    frame, quality, excluded = frames.quality(frame, roles, loaded.policy, need)
    if (segment_by or loaded.policy.score_bands is not None) and (task == "regression" or windowing is not None):
        raise UsageError(
            "segment_by and score_bands work in a classification audit without time windows",
            hint="remove segment_by / score_bands, or audit without --period-column / monitoring",
        )
    if task == "regression":
        return _regression_audit(
            frame,
            request,
            roles,
            fitted,
            loaded,
            source=source,
            progress=progress,
            quality=quality,
            day=day,
            shape=shape,
        )
    frame, unscored, unscored_unknown = frames.drop_unscored(frame, roles)
    excluded = unscored | excluded
    if windowing is not None:
        frame, window_labels, no_time = drop_untimed(frame, windowing, data)
        if no_time:
            excluded = {**excluded, "no time": no_time}
    y_true, positive = frames.labels(frame, roles, data)
    with progress("predicting" if fitted is not None else "reading decisions"):
        scores, cut = frames.scores(
            frame, roles, data, fitted, positive, median_of=loaded.policy.columns.median_of or "known"
        )
        y_pred, positive = frames.decisions(frame, roles, data, fitted, positive, scores=scores, cut=cut)
    roles = dataclasses.replace(roles, positive_label=positive)
    pol = loaded.policy
    judging = proxy.recorded_policy(pol, plan)  # the recorded features' rules (a proxy's reference left out)
    if pol.score_bands is not None:  # a derived segment: the band of each row's score
        frame, segment_by = frames.with_score_bands(frame, scores, pol.score_bands, segment_by, data)
    monitored = None
    every_window = None
    with progress("counting groups"):
        segmented = None
        if windowing is None and segment_by:  # one pass: the segments are an extra key, marginalised away
            segmented = count_groups(frame, sensitive=[*roles.sensitive, *segment_by], y_true=y_true, y_pred=y_pred)
            table = segmented.marginal(roles.sensitive)
        elif windowing is None:
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
                pol=judging,
                seed=request.seed,
                launch=launch_of(request),
                no_time=excluded.get("no time", 0),
                day=day,
            )
            table, monitored = windowed.table, windowed.monitored
            if plan is not None:  # every window's rows, for the probabilistic feature's findings per window
                every_window = proxy.Windows(frame, y_true, y_pred, window_labels)
            frame, y_true, scores = windowed.frame, windowed.y_true, windowed.scores
            y_pred = y_pred if windowed.y_pred is None else windowed.y_pred  # the rows the verdict describes
    proxied = None
    if plan is not None:
        with progress(f"counting {plan.spec.feature} (expected counts)"):
            proxied = proxy.outcome(
                frame,
                plan,
                pol,
                sensitive=tuple(roles.sensitive),
                y_true=y_true,
                y_pred=y_pred,
                data=data,
                summary=proxy_summary,
                audit_date=day,
                quality=proxy_quality,
                segment_by=tuple(segment_by) if windowing is None else (),
                windows=every_window,
            )
        if monitored is not None:  # each window's verdict counts its findings on the probabilistic feature
            monitored = proxy.with_proxy_windows(monitored, proxied, recorded_features=bool(roles.sensitive))
    with progress("statistics and findings"):
        scopes = build_scopes(
            table,
            intersections=proxy.recorded_intersections(pol.groups.intersections, plan),
            level=pol.confidence_level,
            seed=request.seed,
        )
        per_group_scores, score_accuracy = score_metrics_of(
            frame,
            roles,
            y_true,
            scores,
            scopes,
            level=pol.confidence_level,
            seed=request.seed,
            median=cut if roles.threshold == "median" else None,
            split_at=cut if roles.source == "score_threshold" and roles.threshold != "median" else None,
            rows_read=shape[0],
        )
        judged = judge(
            judging,
            scopes,
            has_label=y_true is not None,
            seed=request.seed,
            representation=representation_of(pol, scopes, loaded),
            quality=quality,
            label=roles.label,
            score_metrics=per_group_scores,
            audit_date=day,
            scoring=roles.source == "score_threshold" and roles.threshold == "median",
            judged_elsewhere=proxy.names_a_group(proxied),
        )
        if proxied is not None:  # the waivers' records say what they did on the probabilistic feature too
            judged = proxy.with_proxy(judged, proxied, recorded_features=bool(roles.sensitive))
            proxied = proxy.note_waivers_naming_no_group(proxied, judged.waivers)
        segments = None
        if segmented is not None:
            from audit.judge.segments import audit_segments

            segments = audit_segments(
                segmented,
                policy=judging,
                pooled=judged.findings,
                has_label=y_true is not None,
                seed=request.seed,
                audit_date=day,
                scoring=roles.source == "score_threshold" and roles.threshold == "median",
                segment_by=segment_by,
            )
            if proxied is not None and not roles.sensitive:  # as with_proxy does for the pooled findings
                segments = proxy.without_replaced(segments, proxied)
    result = AuditResult(
        policy=loaded,
        roles=roles,
        rows=table.n,
        table=table,
        scopes=scopes,
        monitoring=monitored,
        findings=judged.findings,
        inputs=input_files(request, loaded, fitted, source, shape),
        representation=judged.representation,
        model=describe_model(fitted),
        seed=request.seed,
        command=request.command,
        versions=library_versions(),
        score_metrics=per_group_scores,
        score_accuracy=score_accuracy,
        score_threshold=cut,
        excluded_rows=excluded,
        excluded_unknown=unscored_unknown,
        fail_on=request.fail_on,
        strict=request.strict,
        checks=judged.checks,
        waivers=judged.waivers,
        audit_date=day.isoformat() if uses_audit_date(pol) else None,
        quality=quality,
        request=request,
        row_filter=row_filter,
        segments=segments,
        proxy=proxied,
    )
    return compared(result, request)


def _proba_rows(source: Engine, plan: proxy.ProxyPlan, clauses: Any, roles: Roles, data: Path) -> pd.DataFrame:
    """A second grouped pass: the self-reported values with each row's own probabilities (and the row
    filter's columns, applied as in the audit), for the proxy's quality on the labelled rows."""
    assert plan.self_reported is not None
    columns = list(dict.fromkeys([plan.self_reported, *plan.spec.columns, *(c.column for c in clauses)]))
    text = [c for c in columns if c == plan.self_reported or c in roles.sensitive]
    rows, _ = source.read(columns=columns, keep=columns, text_columns=text)
    rows, _ = frames.apply_filter(rows, clauses, data)
    return rows


def _binning(
    roles: Roles, fitted: Any, wanted: list[str], clauses: Any, *, plan: Any, windowing: Any, duplicates: Any
) -> Binning | None:
    """Whether the engine may count a score column's probabilities in cells (bounded memory): a score
    with a numeric threshold, read for nothing else (no model, filter on it, windows, proxy)."""
    from audit.tables.engines.interface import Binning

    score = roles.score
    if roles.source != "score_threshold" or roles.threshold == "median" or score is None or fitted is not None:
        return None
    if plan is not None or windowing is not None or duplicates or wanted.count(score) != 1:
        return None
    if any(c.column == score for c in clauses):
        return None
    return Binning(score, float(roles.threshold))  # type: ignore[arg-type]  # a number when not "median"


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
    shape: tuple[int, int] | None = None,
) -> AuditResult:
    """Numeric outcomes and predictions: per-group means and errors, judged by the same rules."""
    from audit.measures.groups import build_regression_scopes
    from audit.tables.scores import count_regression

    with progress("predicting" if fitted is not None else "reading predictions"):
        y_true, y_pred = frames.regression_values(frame, roles, Path(request.data_name), fitted)
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
            representation=representation_of(pol, scopes, loaded),
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
        inputs=input_files(request, loaded, fitted, source, shape),
        model=describe_model(fitted),
        seed=request.seed,
        command=request.command,
        versions=library_versions(),
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
