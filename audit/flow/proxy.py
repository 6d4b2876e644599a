"""A sensitive feature known only as probabilities: from ``--sensitive-proba`` columns, or estimated
inline by BISG/BIFSG from the policy's ``proxy:`` block. The plan says which columns the engine
reads; the estimate (inline) and the counting into a :class:`audit.tables.proba.ProbaTable` follow,
and the policy's rules are evaluated on it (:mod:`audit.judge.proxy`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.errors import InputError, UsageError
from audit.tables.groups import frame_weights
from audit.tables.proba import TOLERANCE, ProbaError, ProbaSpec, count_proba, parse_proba

if TYPE_CHECKING:
    import pandas as pd

    from audit.flow.request import AuditRequest
    from audit.judge.proxy import ProxyCheck
    from audit.policy.load import LoadedPolicy
    from audit.policy.schema import Proxy
    from audit.tables.proba import ProbaTable


@dataclass(frozen=True)
class ProxyPlan:
    spec: ProbaSpec
    source: str  # "columns" (--sensitive-proba) | "bisg" | "bifsg" (the policy's proxy: block)
    block: Proxy | None = None

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
    table: ProbaTable
    checks: tuple[ProxyCheck, ...]
    summary: dict[str, Any] | None  # the inline estimate's summary (tables, vintage, sha256, fallbacks)


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
        plan = ProxyPlan(spec, "columns")
    elif block is not None:
        from audit.inputs.proxy import PROBABILITY_COLUMNS

        plan = ProxyPlan(ProbaSpec(block.feature, PROBABILITY_COLUMNS), block.method, block)
    else:
        return None
    if plan.spec.feature in sensitive:
        raise UsageError(
            f"{plan.spec.feature!r} is both a sensitive column and a probabilistic feature",
            hint="name the probabilistic feature differently (FEATURE=… in --sensitive-proba, or proxy.feature)",
        )
    needed = plan.inputs if plan.inline else plan.spec.columns
    missing = [c for c in needed if c not in header]
    if missing:
        shown = ", ".join(header[:12]) + (", …" if len(header) > 12 else "")
        raise InputError(
            f"{data}: no column named {', '.join(map(repr, missing))}", hint=f"the data's columns: {shown}"
        )
    return plan


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
        raise InputError(
            f"{data}: {exc}",
            hint="fix or drop those rows; probabilities are divided by their sum, so rounding within "
            f"{TOLERANCE:g} is fine",
        ) from None


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
) -> ProxyOutcome:
    """Count the probabilistic feature and evaluate the policy's rules on it."""
    from audit.judge.proxy import check_rules

    table = count(frame, plan, sensitive=sensitive, y_true=y_true, y_pred=y_pred, data=data)
    return ProxyOutcome(plan, table, check_rules(policy, table), summary)
