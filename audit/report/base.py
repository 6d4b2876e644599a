"""The report stage's types: what it reads from an audit, and the one protocol every renderer follows.

No implementation lives here (see :mod:`audit.report.formats`), so every renderer module may import
these types without a circle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from audit.inputs.provenance import InputFile
    from audit.judge.checks import CheckResult
    from audit.judge.core import JudgedItem
    from audit.judge.finding import Finding
    from audit.judge.segments import Segmented
    from audit.judge.status import Status
    from audit.judge.waivers import WaiverRecord
    from audit.judge.windows import Monitored
    from audit.measures.groups import Scope
    from audit.measures.representativeness import Representation
    from audit.policy.load import LoadedPolicy
    from audit.tables.groups import GroupTable


class Recorded(Protocol):
    """A value results.json records as plain data (the audit's request)."""

    def to_dict(self) -> dict[str, Any]: ...


class AuditOutcome(Protocol):
    """Everything :func:`audit.report.evidence.result_document` reads from an audit.

    ``audit.pipeline.AuditResult`` has these attributes; the report stage names them here instead
    of importing the pipeline (which sits above it), so the arrow points one way only. They are
    read-only properties, as the frozen dataclass's fields are.
    """

    @property
    def policy(self) -> LoadedPolicy: ...

    @property
    def roles(self) -> Any: ...  # audit.pipeline.Roles: label, positive_label, sensitive, source, prediction, score, …

    @property
    def rows(self) -> int: ...

    @property
    def table(self) -> GroupTable | None: ...

    @property
    def scopes(self) -> tuple[Scope, ...]: ...

    @property
    def findings(self) -> tuple[Finding, ...]: ...

    @property
    def inputs(self) -> tuple[InputFile, ...]: ...

    @property
    def model(self) -> Mapping[str, Any] | None: ...

    @property
    def seed(self) -> int: ...

    @property
    def command(self) -> tuple[str, ...]: ...

    @property
    def versions(self) -> dict[str, str]: ...

    @property
    def score_metrics(self) -> dict[str, dict[str, Any]]: ...

    @property
    def score_accuracy(self) -> dict[str, Any] | None: ...  # binned score metrics: exact or not, error bounds

    @property
    def representation(self) -> tuple[Representation, ...]: ...

    @property
    def task(self) -> str: ...

    @property
    def score_threshold(self) -> float | None: ...

    @property
    def excluded_rows(self) -> dict[str, int]: ...

    @property
    def excluded_unknown(self) -> dict[str, int]: ...

    @property
    def context(self) -> Any: ...  # audit.policy.context.AuditContext | None

    @property
    def row_filter(self) -> tuple[dict[str, Any], ...]: ...

    @property
    def fail_on(self) -> str: ...

    @property
    def strict(self) -> bool: ...

    @property
    def checks(self) -> tuple[CheckResult, ...]: ...

    @property
    def waivers(self) -> tuple[WaiverRecord, ...]: ...

    @property
    def audit_date(self) -> str | None: ...

    @property
    def quality(self) -> Any: ...

    @property
    def monitoring(self) -> Monitored | None: ...

    @property
    def comparison(self) -> dict[str, Any] | None: ...

    @property
    def request(self) -> Recorded | None: ...  # audit.flow.request.AuditRequest

    @property
    def segments(self) -> Segmented | None: ...  # the policy's segment_by: rules per segment

    @property
    def items(self) -> tuple[JudgedItem, ...]: ...

    @property
    def verdict(self) -> Status: ...

    @property
    def exit_code(self) -> int: ...


#: Every output format a renderer exists for. ``FORMAT_RENDERERS`` in :mod:`audit.report.formats`
#: maps each one (a test checks the map is exhaustive).
Format = Literal["pdf", "html", "json", "md", "junit", "model-card", "ll144-summary", "ll144-summary-html"]


@dataclass(frozen=True)
class Attachment:
    """A further file attached to the PDF report beside results.json (a PDF/A-3 associated file):
    e.g. the transcripts of a probe. Named, with its bytes and a one-line description."""

    name: str
    data: bytes
    description: str


@dataclass(frozen=True)
class RenderInputs:
    """What a renderer needs besides the results document.

    ``generated_at``: the report's date (ISO 8601, from ``SOURCE_DATE_EPOCH`` or the clock — chosen by
    the caller, never here). ``results_json``: the canonical bytes of the document (attached to the PDF).
    ``signers``: the signatures that will be applied to the PDF. ``companion_pdf``: the report.pdf
    written beside an HTML copy or a summary (``name``, ``sha256``, ``size_bytes``, ``signed``).
    ``fail_on``/``strict``: the gate, for JUnit.
    """

    generated_at: str = ""
    results_json: bytes = b""
    signers: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    companion_pdf: Mapping[str, Any] | None = None
    fail_on: str = "fail"
    strict: bool = False
    attachments: Sequence[Attachment] = ()


class Renderer(Protocol):
    """One output format: the results document (plus :class:`RenderInputs`) → the file's bytes."""

    @property
    def format(self) -> Format: ...

    @property
    def media_type(self) -> str: ...

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes: ...
