"""A sensitive feature known only as probabilities: from ``--sensitive-proba`` columns, or estimated
inline by BISG/BIFSG from the policy's ``proxy:`` block. The plan says which columns the engine
reads; the estimate (inline) and the counting into a :class:`audit.tables.proba.ProbaTable` follow,
and the policy's rules are evaluated on it (:mod:`audit.judge.proxy`)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.errors import InputError, UsageError
from audit.tables.groups import frame_weights
from audit.tables.proba import TEXT_HINT, TOLERANCE, ProbaError, ProbaSpec, ProbaTextError, count_proba, parse_proba

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pandas as pd

    from audit.flow.request import AuditRequest
    from audit.judge.core import JudgedItem, Judgement
    from audit.judge.proxy import ProxyFinding
    from audit.judge.proxy_segments import ProxySegment
    from audit.judge.segments import Segmented
    from audit.judge.waivers import WaiverRecord
    from audit.judge.windows import Monitored
    from audit.measures.proxy_quality import ProxyQuality
    from audit.policy.load import LoadedPolicy
    from audit.policy.schema import Policy, Proxy, Waiver
    from audit.tables.labelled import LabelledTable
    from audit.tables.proba import ProbaTable


@dataclass(frozen=True)
class ProxyPlan:
    spec: ProbaSpec
    source: str  # "columns" (--sensitive-proba) | "bisg" | "bifsg" (the policy's proxy: block)
    block: Proxy | None = None
    self_reported: str | None = None  # the column of self-reported values (--self-reported FEATURE=COLUMN)
    #: the data's other columns named like the given ones (p_api beside p_white, p_black): a group left out
    #: makes rows miss 1, and the hint then names them
    siblings: tuple[str, ...] = ()

    @property
    def inline(self) -> bool:
        return self.block is not None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns the estimate reads (inline), as text."""
        if self.block is None:
            return ()
        b = self.block
        return (b.surname, *([b.zcta] if b.zcta else (b.tract or [])), *([b.first_name] if b.first_name else []))


@dataclass(frozen=True)
class ProxyOutcome:
    """What the audit of a probabilistic feature produced (results.json ``proxy``)."""

    plan: ProxyPlan
    table: ProbaTable  # the judged table: self-reported people in their recorded group, weight 1
    findings: tuple[ProxyFinding, ...]  # the policy's rules judged on the feature: judged items
    summary: dict[str, Any] | None  # the inline estimate's summary (tables, vintage, sha256, fallbacks)
    labelled: LabelledTable | None = None  # with --self-reported: the proxy-only table and the known counts
    quality: ProxyQuality | None = None  # with --self-reported: the proxy against the self-reported values
    intersections: tuple[tuple[str, ...], ...] = ()  # with recorded features, judged (``race × sex``)
    segment_by: tuple[str, ...] = ()  # the policy's segment_by (and the score band): evidence per segment
    segments: tuple[ProxySegment, ...] = ()  # the rules judged within each segment (not judged items)
    windows: tuple[ProxySegment, ...] = ()  # with time windows: the rules judged within each window

    @property
    def known(self) -> np.ndarray | None:
        return None if self.labelled is None else self.labelled.known

    def items(self) -> tuple[JudgedItem, ...]:
        return tuple(f.item() for f in self.findings)


@dataclass(frozen=True)
class Windows:
    """Every window's rows (before the run keeps those its verdict describes) and each row's window label."""

    frame: pd.DataFrame
    y_true: np.ndarray | None
    y_pred: np.ndarray
    labels: pd.Series


def plan_proxy(
    loaded: LoadedPolicy, request: AuditRequest, header: list[str], sensitive: tuple[str, ...], data: Path
) -> ProxyPlan | None:
    """The probabilistic feature of this audit (one at most), checked against the data's columns."""
    block = loaded.policy.proxy
    given = list(request.sensitive_proba)
    if given and block is not None:
        raise UsageError(
            "--sensitive-proba and the policy's proxy: block both give a probabilistic feature",
            hint="give one: the columns (--sensitive-proba) or the inline estimate (proxy:)",
        )
    if len(given) > 1:
        raise UsageError("--sensitive-proba is given more than once", hint="one probabilistic feature per audit")
    if given:
        try:
            spec = parse_proba(given[0])
        except ValueError as exc:
            raise UsageError(
                f"--sensitive-proba {exc}", hint="e.g. --sensitive-proba race=p_white,p_black,p_hispanic,p_api"
            ) from None
        plan = ProxyPlan(spec, "columns", siblings=_siblings(spec.columns, header))
    elif block is not None:
        from audit.inputs.proxy import PROBABILITY_COLUMNS

        plan = ProxyPlan(ProbaSpec(block.feature, PROBABILITY_COLUMNS), block.method, block)
    else:
        return None
    if request.self_reported is not None:
        plan = dataclasses.replace(plan, self_reported=_self_reported(request.self_reported, plan, header, data))
    if plan.spec.feature in sensitive:
        raise UsageError(
            f"{plan.spec.feature!r} is both a sensitive column and a probabilistic feature",
            hint="name the probabilistic feature differently (FEATURE=… in --sensitive-proba, or proxy.feature)",
        )
    needed = [*(plan.inputs if plan.inline else plan.spec.columns)]
    missing = [c for c in needed if c not in header]
    if missing:
        from audit.util.suggest import columns_hint

        where = " (the policy's proxy: block)" if plan.inline else ""
        raise InputError(
            f"{data}: no column named {', '.join(map(repr, missing))}{where}",
            hint=columns_hint(missing, header, lead="the data's columns", shown=12),
        )
    return plan


def _siblings(columns: Sequence[str], header: Sequence[str]) -> tuple[str, ...]:
    """Columns of ``header`` that share the given probability columns' common prefix (``p_``) and are not
    among them: most likely the groups left out."""
    prefix = os.path.commonprefix(list(columns))
    if len(prefix) < 2:
        return ()
    return tuple(c for c in header if c.startswith(prefix) and c not in columns)


def _self_reported(text: str, plan: ProxyPlan, header: list[str], data: Path) -> str:
    """``--self-reported FEATURE=COLUMN``: the column, checked (the feature must be the probabilistic one)."""
    feature, sep, column = (part.strip() for part in text.partition("="))
    if not sep or not feature or not column:
        raise UsageError(
            f"--self-reported {text!r} is not FEATURE=COLUMN",
            hint=f"e.g. --self-reported {plan.spec.feature}=race_self",
        )
    if feature != plan.spec.feature:
        raise UsageError(
            f"--self-reported names feature {feature!r}; the probabilistic feature is {plan.spec.feature!r}",
            hint=f"--self-reported {plan.spec.feature}={column}",
        )
    if column not in header:
        from audit.util.suggest import columns_hint

        raise InputError(f"{data}: no column named {column!r}", hint=columns_hint([column], header))
    if column in plan.spec.columns or column in plan.inputs:
        raise UsageError(
            f"--self-reported column {column!r} is one of the proxy's own columns",
            hint="name the column holding the self-reported values",
        )
    return column


def proxy_feature(loaded: LoadedPolicy, request: AuditRequest) -> str | None:
    """The probabilistic feature's name, before any data is read (``groups.intersections`` may name it);
    None without one, or when ``--sensitive-proba`` is malformed (plan_proxy says why, later)."""
    if request.sensitive_proba:
        name = request.sensitive_proba[0].partition("=")[0].strip()
        return name or None
    return loaded.policy.proxy.feature if loaded.policy.proxy is not None else None


def recorded_intersections(intersections: bool | list[list[str]], plan: ProxyPlan | None) -> bool | list[list[str]]:
    """``groups.intersections`` for the recorded features' scopes: a listed combination that names the
    probabilistic feature is judged on its expected counts (audit.judge.proxy), not among them."""
    if plan is None or isinstance(intersections, bool):
        return intersections
    return [combo for combo in intersections if plan.spec.feature not in combo]


def no_self_reported(request: AuditRequest) -> None:
    if request.self_reported is not None:
        raise UsageError(
            "--self-reported needs a probabilistic feature (--sensitive-proba or the policy's proxy: block)",
            hint="a recorded feature is audited with --sensitive COLUMN",
        )


def estimate_inline(frame: pd.DataFrame, plan: ProxyPlan, data: Path) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The frame with the probability columns of the policy's ``proxy:`` block, and the estimate's summary."""
    if plan.block is None:
        return frame, None
    from audit.inputs.proxy import estimate_bisg

    b = plan.block
    result = estimate_bisg(
        frame,
        surname=b.surname,
        zcta=b.zcta,
        tract=b.tract,
        first_name=b.first_name,
        source=str(data),
        weights=frame_weights(frame),
    )
    return result.data, result.summary.as_dict()


def count(
    frame: pd.DataFrame,
    plan: ProxyPlan,
    *,
    sensitive: tuple[str, ...],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
    data: Path,
) -> ProbaTable:
    try:
        return count_proba(frame, spec=plan.spec, sensitive=sensitive, y_true=y_true, y_pred=y_pred)
    except ProbaError as exc:
        raise InputError(f"{data}: {exc}", hint=_hint(exc, plan.siblings)) from None
    except ProbaTextError as exc:
        raise InputError(f"{data}: {exc}", hint=TEXT_HINT) from None


def outcome(
    frame: pd.DataFrame,
    plan: ProxyPlan,
    policy: Any,
    *,
    sensitive: tuple[str, ...],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
    data: Path,
    summary: dict[str, Any] | None,
    audit_date: Any = None,
    quality: ProxyQuality | None = None,
    segment_by: tuple[str, ...] = (),
    windows: Windows | None = None,
) -> ProxyOutcome:
    """Count the probabilistic feature (with its self-reported people in their recorded groups) and
    judge the policy's rules on it, alone and in the intersections with the recorded ``sensitive``
    features that the policy's ``groups.intersections`` asks for; with ``segment_by`` (columns of
    ``frame``), also within each segment (audit.judge.proxy_segments), counted with the segment columns
    as more keys. The pooled table is counted without them, exactly as in an audit without segments.
    With ``windows`` (time windows: ``frame`` holds the rows the verdict describes), the rules are also
    judged within every window, the window label one more key of the count, as for a segment."""
    from audit.judge.proxy import check_rules
    from audit.measures.proba import intersection_cuts

    table, labelled = _tables(frame, plan, sensitive=sensitive, y_true=y_true, y_pred=y_pred, data=data)
    cuts = tuple(intersection_cuts(policy.groups.intersections, plan.spec.feature, sensitive))
    findings = check_rules(
        policy,
        table,
        **_labelled_counts(labelled),
        audit_date=audit_date,
        intersections=cuts,
    )
    segments: tuple[ProxySegment, ...] = ()
    if segment_by:
        from audit.judge.proxy_segments import segment_findings

        keys = (*sensitive, *segment_by)
        split, split_labelled = _tables(frame, plan, sensitive=keys, y_true=y_true, y_pred=y_pred, data=data)
        segments = segment_findings(
            policy,
            split,
            segment_by,
            **_labelled_counts(split_labelled),
            audit_date=audit_date,
            intersections=cuts,
        )
    judged_windows: tuple[ProxySegment, ...] = ()
    if windows is not None:
        judged_windows = _windows(windows, plan, policy, sensitive=sensitive, data=data, cuts=cuts, day=audit_date)
    return ProxyOutcome(
        plan, table, findings, summary, labelled, quality, cuts, tuple(segment_by), segments, judged_windows
    )


def _windows(
    w: Windows,
    plan: ProxyPlan,
    policy: Any,
    *,
    sensitive: tuple[str, ...],
    data: Path,
    cuts: tuple[tuple[str, ...], ...],
    day: Any,
) -> tuple[ProxySegment, ...]:
    """The rules judged within every time window (audit.judge.proxy_segments: a window is a segment)."""
    from audit.judge.proxy_segments import segment_findings
    from audit.tables.windows import WINDOW_KEY

    keyed = w.frame.assign(**{WINDOW_KEY: w.labels.to_numpy()})
    keys = (*sensitive, WINDOW_KEY)
    split, labelled = _tables(keyed, plan, sensitive=keys, y_true=w.y_true, y_pred=w.y_pred, data=data)
    return segment_findings(
        policy,
        split,
        (WINDOW_KEY,),
        **_labelled_counts(labelled),
        audit_date=day,
        intersections=cuts,
    )


def window_label(segment: ProxySegment) -> str:
    """The window a per-window part of the outcome (``ProxyOutcome.windows``) describes: ``2024-03``."""
    from audit.tables.windows import WINDOW_KEY

    return segment.segment[WINDOW_KEY]


def _tables(
    frame: pd.DataFrame,
    plan: ProxyPlan,
    *,
    sensitive: tuple[str, ...],
    y_true: np.ndarray | None,
    y_pred: np.ndarray,
    data: Path,
) -> tuple[ProbaTable, LabelledTable | None]:
    """The judged table, and with self-reported values the three tables it comes from."""
    if plan.self_reported is None:
        return count(frame, plan, sensitive=sensitive, y_true=y_true, y_pred=y_pred, data=data), None
    from audit.tables.labelled import check_names_a_group, count_labelled

    check_names_a_group(
        frame[plan.self_reported],
        plan.spec.levels,
        column=plan.self_reported,
        feature=plan.spec.feature,
        source=str(data),
    )
    try:
        labelled = count_labelled(
            frame, spec=plan.spec, column=plan.self_reported, sensitive=sensitive, y_true=y_true, y_pred=y_pred
        )
    except ProbaError as exc:
        raise InputError(f"{data}: {exc}", hint=_hint(exc, plan.siblings)) from None
    except ProbaTextError as exc:
        raise InputError(f"{data}: {exc}", hint=TEXT_HINT) from None
    return labelled.table, labelled


def _hint(exc: ProbaError, siblings: Sequence[str] = ()) -> str:
    """What to do about the unusable rows, by what is wrong with them."""
    states = set(exc.counts)
    if 6 in states:
        return TEXT_HINT
    if states == {5}:
        return "the values look like percentages: divide them by 100 (each row's must sum to 1)"
    if states == {3}:
        return "a probability lies between 0 and 1: fix or drop those rows"
    if states == {2}:
        return "give every column of those rows a value, or leave all of them empty for a person without an estimate"
    if 4 in states and siblings:
        return (
            f"the data also has {', '.join(siblings[:6])}{' …' if len(siblings) > 6 else ''}: list every group's "
            "column, so that each row's probabilities sum to 1"
        )
    return (
        f"fix or drop those rows; each row is divided by its sum, so a sum within {TOLERANCE:g} of 1 is fine "
        "(many columns each rounded to 3 decimals can miss by more: keep 4)"
    )


def quality_of(frame: pd.DataFrame, plan: ProxyPlan, data: Path) -> ProxyQuality | None:
    """The proxy against the self-reported values, on the rows of ``frame`` that carry both, when ``frame``
    holds the probabilities per row (rows, or compact rows that kept them); None otherwise."""
    if plan.self_reported is None or not all(c in frame.columns for c in plan.spec.columns):
        return None
    try:
        return _quality_of(frame, plan)
    except ProbaTextError as exc:
        raise InputError(f"{data}: {exc}", hint=TEXT_HINT) from None


def _quality_of(frame: pd.DataFrame, plan: ProxyPlan) -> ProxyQuality:
    assert plan.self_reported is not None
    import pandas as pd

    from audit.measures.proxy_quality import proxy_quality
    from audit.tables.labelled import recorded_codes
    from audit.tables.proba import probabilities_of

    weights = frame_weights(frame)
    hit = recorded_codes(frame[plan.self_reported], plan.spec.levels) >= 0
    rows = np.flatnonzero(hit)
    if weights is not None:  # a compact frame: each of its rows stands for WEIGHT people
        rows = np.repeat(rows, weights[rows])
    part = frame.iloc[rows].reset_index(drop=True)
    probabilities = probabilities_of(part, plan.spec)
    codes = recorded_codes(part[plan.self_reported], plan.spec.levels)
    # one order whatever order the engine returned the rows in: the float sums are then identical
    order = np.lexsort([*np.nan_to_num(probabilities, nan=-1.0).T[::-1], codes])
    names = pd.Series(np.asarray(plan.spec.levels, dtype=object)[codes[order]])
    quality = proxy_quality(probabilities[order], plan.spec.levels, names)
    # the rows without a value (or naming no group) were never handed over: count them as proxy_quality would
    total = len(frame) if weights is None else int(weights.sum())
    values = frame[plan.self_reported].astype("string").str.strip().fillna("") != ""
    unmatched = (
        int((values.to_numpy() & ~hit).sum()) if weights is None else int(weights[values.to_numpy() & ~hit].sum())
    )
    missing = total - quality.labelled - unmatched
    return dataclasses.replace(quality, unmatched=unmatched, missing=missing)


def with_proxy(judged: Judgement, proxied: ProxyOutcome, *, recorded_features: bool) -> Judgement:
    """The judgement of the recorded features beside the probabilistic one: a rule judged on the
    probabilistic feature that has no recorded scope to judge (there are no recorded features, or its
    ``features:`` names only the probabilistic one) has a scope-less finding, which would read "not enough
    data" and count as INSUFFICIENT_DATA: it gives way to the judged item ``RULE.FEATURE``. The waivers'
    records count what they waived there."""
    from audit.judge.proxy import merge_records

    replaced = {f.rule.id for f in proxied.findings}
    findings = tuple(f for f in judged.findings if f.rule.id not in replaced or (recorded_features and f.scopes))
    return dataclasses.replace(judged, findings=findings, waivers=merge_records(judged.waivers, proxied.findings))


def note_waivers_naming_no_group(proxied: ProxyOutcome, records: Sequence[WaiverRecord]) -> ProxyOutcome:
    """A waiver of a rule judged on the probabilistic feature whose group is none of the audit's, recorded or
    estimated (a typo: ``hispnic``), waived nothing: the feature's finding says so, as a recorded finding
    does (without recorded features, no other sentence would)."""
    typos = [r.waiver for r in records if r.state == "no such group" and r.waiver.group is not None]
    if not typos:
        return proxied
    findings = []
    for finding in proxied.findings:
        mine = [w for w in typos if w.rule == finding.rule.id]
        if mine and not finding.features:
            notes = tuple(
                f"A waiver names group {w.group!r}, which is not among the groups this rule judged; it waived nothing."
                for w in mine
            )
            finding = dataclasses.replace(
                finding, message=" ".join([finding.message, *notes]), waivers=(*finding.waivers, *notes)
            )
        findings.append(finding)
    return dataclasses.replace(proxied, findings=tuple(findings))


def recorded_policy(policy: Policy, plan: ProxyPlan | None) -> Policy:
    """The policy the recorded features are judged by: a rule's own ``reference`` without its entry for the
    probabilistic feature, which the recorded features' judge would refuse as naming no sensitive feature
    of the audit (its typo check); the rules on the probabilistic feature are judged with the policy as
    written (audit.judge.proxy). The evidence's policy document is the policy as written."""
    if plan is None:
        return policy
    feature = plan.spec.feature
    if not any(rule.reference and feature in rule.reference for rule in policy.rules):
        return policy
    rules = [
        rule.model_copy(update={"reference": {k: v for k, v in rule.reference.items() if k != feature} or None})
        if rule.reference and feature in rule.reference
        else rule
        for rule in policy.rules
    ]
    return policy.model_copy(update={"rules": rules})


def _labelled_counts(labelled: LabelledTable | None) -> dict[str, Any]:
    """The judge's ``known`` and ``proxy_only`` tables (the self-reported people, and everyone through the
    proxy), or None for both without ``--self-reported``."""
    return (
        {"known": None, "proxy_only": None}
        if labelled is None
        else {"known": labelled.known, "proxy_only": labelled.proxy}
    )


def names_a_group(proxied: ProxyOutcome | None) -> Callable[[Waiver], bool] | None:
    """For the recorded features' judge: whether a waiver names a group judged on the probabilistic
    feature (so that its sentence there does not say the waiver named no group and waived nothing)."""
    if proxied is None:
        return None
    from audit.judge.proxy import names_a_group as names

    findings = proxied.findings
    return lambda waiver: names(findings, waiver)


def without_replaced(segmented: Segmented, proxied: ProxyOutcome) -> Segmented:
    """The recorded features' segments without the findings of the rules judged on the probabilistic
    feature, when there is no recorded feature: as :func:`with_proxy` does for the pooled findings (each
    segment's rules on the probabilistic feature are in ``proxied.segments``)."""
    replaced = {f.rule.id for f in proxied.findings}
    segments = tuple(
        dataclasses.replace(s, findings=tuple(f for f in s.findings if f.rule.id not in replaced))
        for s in segmented.segments
    )
    return dataclasses.replace(segmented, segments=segments)


def with_proxy_windows(monitored: Monitored, proxied: ProxyOutcome | None, *, recorded_features: bool) -> Monitored:
    """The windows with their findings on the probabilistic feature, which count in each window's verdict
    (``verdict_from: worst`` gates on it); without recorded features, without the scope-less findings of
    the rules judged on the probabilistic feature (as :func:`with_proxy` does for the run's findings)."""
    if proxied is None or not proxied.windows:
        return monitored
    by_label = {window_label(w): w.findings for w in proxied.windows}
    replaced = {f.rule.id for f in proxied.findings}
    feature = proxied.plan.spec.feature
    windows = []
    for w in monitored.windows:
        findings = w.findings if recorded_features else tuple(f for f in w.findings if f.rule.id not in replaced)
        drift = tuple(_drift_on_proxy(d, feature, replaced, recorded_features=recorded_features) for d in w.drift)
        windows.append(dataclasses.replace(w, findings=findings, drift=drift, proxy=by_label.get(w.window.label, ())))
    return dataclasses.replace(monitored, windows=tuple(windows))


def _drift_on_proxy(check: Any, feature: str, replaced: set[str], *, recorded_features: bool) -> Any:
    """A drift check that found nothing to compare because what it watches is the probabilistic feature
    (``feature: race``, or a rule judged only on it) says so: drift is not evaluated on it (still
    INSUFFICIENT_DATA, never PASS)."""
    from audit.judge.proxy_segments import NO_DRIFT
    from audit.judge.status import Status

    rule = check.rule
    on_proxy = rule.feature == feature or (not recorded_features and rule.kind == "disparity" and rule.rule in replaced)
    if check.status is not Status.INSUFFICIENT_DATA or not on_proxy:
        return check
    return dataclasses.replace(check, message=f"Drift on {feature!r} is {NO_DRIFT}")
