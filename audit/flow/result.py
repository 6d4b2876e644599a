"""What an audit produces: ``AuditResult`` (everything the renderers need; it serialises to
results.json) and the model description it carries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from audit.flow.request import AuditRequest
from audit.flow.roles import Roles
from audit.inputs.provenance import InputFile
from audit.judge.checks import CheckResult
from audit.judge.core import JudgedItem, exit_code_of, verdict_of
from audit.judge.finding import Finding
from audit.judge.status import Status
from audit.judge.waivers import WaiverRecord
from audit.measures.groups import Scope
from audit.policy.load import LoadedPolicy
from audit.tables.groups import GroupTable

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from audit.flow.proxy import ProxyOutcome
    from audit.judge.segments import Segmented
    from audit.judge.windows import Monitored
    from audit.measures.metrics import MetricValue
    from audit.measures.representativeness import Representation
    from audit.policy.context import AuditContext
    from audit.tables.quality import DataQuality


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
    score_accuracy: dict[str, Any] | None = None  # binned score metrics: exact or not, error bounds
    representation: tuple[Representation, ...] = ()
    task: str = "classification"
    score_threshold: float | None = None  # the numeric threshold used (the sample median for "median")
    excluded_rows: dict[str, int] = field(default_factory=dict)
    #: of the rows left out (no score), how many have no value per sensitive feature, and for any ("any")
    excluded_unknown: dict[str, int] = field(default_factory=dict)
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
    segments: Segmented | None = None  # every rule per segment and the segmented selection ratios (segment_by)
    proxy: ProxyOutcome | None = None  # a probabilistic feature (--sensitive-proba or the policy's proxy:)
    context: AuditContext | None = None  # the audit's context: the policy's, with --context over it
    #: the audit ledger's head before this audit was recorded in it (``run_audit``'s ``ledger``), else None
    ledger: dict[str, Any] | None = None

    @property
    def items(self) -> tuple[JudgedItem, ...]:
        """Everything the verdict rests on, in the order every printer lists it."""
        from audit.judge.core import comparison_item, items_of

        proxied = self.proxy.items() if self.proxy is not None else ()
        out = items_of(self.findings, self.representation, self.checks, proxied)
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

    @property
    def by_group(self) -> pd.DataFrame:
        """One row per scope × group: n, tp/fp/fn/tn, and every metric with ``_ci_low``/``_ci_high``."""
        from audit.flow.notebook import by_group

        return by_group(self)

    def ratio(
        self,
        method: str = "between_groups",
        *,
        metrics: Sequence[str] | None = None,
        reference: str | Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """Per scope and metric, the worst ratio between groups (``between_groups``, as fairlearn's
        ``MetricFrame.ratio``), to everyone (``to_overall``) or to a ``reference`` group."""
        from audit.flow.notebook import summary

        return summary(self, "ratio", method=method, metrics=metrics, reference=reference)

    def difference(
        self,
        method: str = "between_groups",
        *,
        metrics: Sequence[str] | None = None,
        reference: str | Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """Per scope and metric, the largest difference between groups, to everyone or to a reference group."""
        from audit.flow.notebook import summary

        return summary(self, "difference", method=method, metrics=metrics, reference=reference)

    def plot(self, rule: str | None = None) -> Figure:
        """The report's chart of ``rule`` (default: the first failing or warning finding) as a Figure."""
        from audit.flow.notebook import figure

        fig: Figure = figure(self, rule)
        return fig

    def __repr__(self) -> str:
        from audit.flow.notebook import short_repr

        return short_repr(self)

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
