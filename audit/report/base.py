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
    from audit.judge.status import Status
    from audit.judge.waivers import WaiverRecord
    from audit.judge.windows import Monitored
    from audit.measures.groups import Scope
    from audit.measures.representativeness import Representation
    from audit.policy.load import LoadedPolicy
    from audit.tables.groups import GroupTable


class AuditOutcome(Protocol):
    """Everything :func:`audit.report.evidence.result_document` reads from an audit.

    ``audit.pipeline.AuditResult`` has these attributes; the report stage names them here instead
    of importing the pipeline (which sits above it), so the arrow points one way only.
    """

    policy: LoadedPolicy
    roles: Any  # audit.pipeline.Roles: label, positive_label, sensitive, source, prediction, score, …
    rows: int
    table: GroupTable | None
    scopes: tuple[Scope, ...]
    findings: tuple[Finding, ...]
    inputs: tuple[InputFile, ...]
    model: dict[str, Any] | None
    seed: int
    command: tuple[str, ...]
    versions: dict[str, str]
    score_metrics: dict[str, dict[str, Any]]
    representation: tuple[Representation, ...]
    task: str
    score_threshold: float | None
    excluded_rows: dict[str, int]
    fail_on: str
    strict: bool
    checks: tuple[CheckResult, ...]
    waivers: tuple[WaiverRecord, ...]
    audit_date: str | None
    quality: Any
    monitoring: Monitored | None
    comparison: dict[str, Any] | None

    @property
    def items(self) -> tuple[JudgedItem, ...]: ...

    @property
    def verdict(self) -> Status: ...

    @property
    def exit_code(self) -> int: ...


#: Every output format a renderer exists for. ``FORMAT_RENDERERS`` in :mod:`audit.report.formats`
#: maps each one (a test checks the map is exhaustive).
Format = Literal["pdf", "html", "json", "md", "junit"]


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


class Renderer(Protocol):
    """One output format: the results document (plus :class:`RenderInputs`) → the file's bytes."""

    format: Format
    media_type: str

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes: ...
