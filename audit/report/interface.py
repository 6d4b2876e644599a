"""The report stage (judged audit → evidence and documents), as the stages around it see it.

In: an audit's result, any :class:`AuditOutcome` (``audit.pipeline.AuditResult`` is one).
Out: the evidence document (``result_document``) and its canonical bytes (``canonical_json``,
``SCHEMA_VERSION``), and every output format behind one :class:`Renderer` protocol:
``FORMAT_RENDERERS`` maps each :data:`Format` (pdf, html, json, md, junit) to its renderer, which
turns the document plus :class:`RenderInputs` into the file's bytes. Signing takes the PDF bytes on.
"""

from __future__ import annotations

from audit.report.base import AuditOutcome, Format, Renderer, RenderInputs
from audit.report.evidence import result_document
from audit.report.formats import FORMAT_RENDERERS, renderer_for
from audit.report.results import SCHEMA_VERSION, canonical_json

__all__ = [
    "FORMAT_RENDERERS",
    "SCHEMA_VERSION",
    "AuditOutcome",
    "Format",
    "RenderInputs",
    "Renderer",
    "canonical_json",
    "renderer_for",
    "result_document",
]
