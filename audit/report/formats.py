"""Every renderer behind the one :class:`~audit.report.base.Renderer` protocol, and the exhaustive
map from output format to renderer (``renderer_for`` ends in ``assert_never``: a new ``Format``
without a renderer is a type error, and a test renders every format in the map)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never, get_args

from audit.report.base import Format, Renderer, RenderInputs


@dataclass(frozen=True)
class PdfRenderer:
    """report.pdf: PDF/A-3b with results.json attached byte for byte."""

    format: Format = "pdf"
    media_type: str = "application/pdf"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.html import ReportContext
        from audit.report.pdf import render_pdf

        context = ReportContext(generated_at=inputs.generated_at, signers=list(inputs.signers))
        return render_pdf(document, context=context, results_json=inputs.results_json, attachments=inputs.attachments)


@dataclass(frozen=True)
class HtmlRenderer:
    """report.html: the same document for a browser (never signed)."""

    format: Format = "html"
    media_type: str = "text/html"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.html import ReportContext, render_html

        context = ReportContext(generated_at=inputs.generated_at, medium="html", companion_pdf=inputs.companion_pdf)
        return render_html(document, context=context).encode("utf-8")


@dataclass(frozen=True)
class JsonRenderer:
    """results.json: the evidence, canonical and deterministic."""

    format: Format = "json"
    media_type: str = "application/json"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.results import canonical_json

        return canonical_json(document)


@dataclass(frozen=True)
class MarkdownRenderer:
    """summary.md: for launch docs and CI step summaries."""

    format: Format = "md"
    media_type: str = "text/markdown"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.markdown import render_markdown

        return render_markdown(document, report=inputs.companion_pdf).encode("utf-8")


@dataclass(frozen=True)
class JUnitRenderer:
    """JUnit XML for CI: one test case per judged item."""

    format: Format = "junit"
    media_type: str = "application/xml"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.junit import render_junit

        return render_junit(document, fail_on=inputs.fail_on, strict=inputs.strict)


@dataclass(frozen=True)
class LL144SummaryRenderer:
    """ll144-summary.pdf: the one-page public summary of an NYC LL144 bias audit (6 RCNY § 5-303)."""

    format: Format = "ll144-summary"
    media_type: str = "application/pdf"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.ll144 import render_ll144_pdf

        return render_ll144_pdf(document, generated_at=inputs.generated_at)


@dataclass(frozen=True)
class LL144SummaryHtmlRenderer:
    """ll144-summary.html: the same public summary as a web page."""

    format: Format = "ll144-summary-html"
    media_type: str = "text/html"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.ll144 import render_ll144_html

        return render_ll144_html(document, generated_at=inputs.generated_at).encode("utf-8")


@dataclass(frozen=True)
class ModelCardRenderer:
    """model-card.md: the fairness section of a model card (Hugging Face layout)."""

    format: Format = "model-card"
    media_type: str = "text/markdown"

    def render(self, document: dict[str, Any], inputs: RenderInputs) -> bytes:
        from audit.report.model_card import render_model_card

        return render_model_card(document, report=inputs.companion_pdf).encode("utf-8")


def renderer_for(fmt: Format) -> Renderer:
    """The renderer of ``fmt``; exhaustive over :data:`~audit.report.base.Format`."""
    match fmt:
        case "pdf":
            return PdfRenderer()
        case "html":
            return HtmlRenderer()
        case "json":
            return JsonRenderer()
        case "md":
            return MarkdownRenderer()
        case "junit":
            return JUnitRenderer()
        case "ll144-summary":
            return LL144SummaryRenderer()
        case "ll144-summary-html":
            return LL144SummaryHtmlRenderer()
        case "model-card":
            return ModelCardRenderer()
        case _:
            assert_never(fmt)


#: Every format, each with its renderer.
FORMAT_RENDERERS: dict[Format, Renderer] = {fmt: renderer_for(fmt) for fmt in get_args(Format)}
