"""The report's rendering: the Jinja2 environment and ``render_html``.

Everything shown comes from ``document`` (exactly what is written to results.json) plus a small
``ReportContext`` (the date and the signers to be applied), so the report can never disagree
with the evidence. The renderer reads no clock and no files other than its templates.

Safety: templates are always autoescaped (``autoescape=True``; ``select_autoescape`` would not
cover ``.html.j2``), undefined names are errors (``StrictUndefined``), and no value from the
document is ever placed inside CSS, a ``style`` attribute or a URL attribute — element ids and
links use positions, CSS classes come from fixed allow-lists. The browser copy (``medium="html"``)
adds the explore layer (``explore.py``): a contents list and a Content-Security-Policy that allows
only the report's own inline script and styles, by hash, and no fetch at all.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from audit.errors import RenderError
from audit.report.html.explore import add_contents, add_security_policy
from audit.report.html.format import FILTERS, shorten
from audit.report.html.view import build_view
from audit.report.labels import labels_for
from audit.util.resources import templates_dir

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
#: The browser copy's explore layer (audit/report/html/explore.py): never in the PDF.
EXPLORE_STYLESHEET = "explore.css"
EXPLORE_SCRIPT = "explore.js"


@dataclass(frozen=True)
class ReportContext:
    """What the report needs besides the results document.

    ``generated_at``: ISO 8601 date-time with a time zone, passed in (never read from the clock
    here, so the same inputs give the same report). ``signers``: the signatures that WILL be
    applied to the PDF, each ``{"name", "role", "development_only", "fingerprint", "tsa"}``; empty means
    the report is an unsigned draft and says so on every page.
    """

    generated_at: str
    signers: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    #: "pdf" (paged, may be signed) or "html" (the same document for a browser; never signed).
    medium: str = "pdf"
    #: For the HTML copy: the report.pdf written beside it (``name``, ``sha256``, ``signed``), if any.
    companion_pdf: Mapping[str, Any] | None = None


# --- environment ---------------------------------------------------------------------------


#: Where compiled templates are kept between runs: ``off`` compiles them every run; a directory keeps
#: them there; unset, Jinja2's own per-user cache (``$TMPDIR/_jinja2-cache-UID``, created mode 0700 and
#: refused when another user owns it).
CACHE_ENV = "FAIRGATE_TEMPLATE_CACHE"


class _Cache(jinja2.FileSystemBytecodeCache):
    """A cache that never fails a render: an entry that cannot be read (truncated, garbled, from another
    Jinja2) is compiled afresh, and one that cannot be written is compiled again next run."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 — whatever a damaged entry raises, compiling is the answer
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja2's file-system bytecode cache: compiling the report's templates takes ~0.3-0.4 s of every
    run, loading them ~10 ms. Each entry is keyed by the template's path and checked against its
    source, so an edited template is compiled again; the cache holds only code compiled from our own
    templates, never data. Without a safe directory the templates are compiled every run."""
    where = os.environ.get(CACHE_ENV, "")
    if where.lower() in {"off", "0", "no", "false"}:
        return None
    try:
        if where:
            Path(where).mkdir(parents=True, exist_ok=True, mode=0o700)
            return _Cache(where)
        return _Cache()
    except (OSError, RuntimeError):  # unwritable, or a directory another user owns: compile each run
        return None


@lru_cache(maxsize=4)
def _environment(directory: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        # no trim_blocks: a newline after a block tag is a space between words in prose
        keep_trailing_newline=True,
        finalize=shorten,
    )
    env.filters.update(FILTERS)
    return env


def environment() -> jinja2.Environment:
    """The report's Jinja2 environment over the bundled ``report_templates/``."""
    return _environment(str(templates_dir()))


def template_source(name: str) -> str:
    """The raw text of a bundled template file (used for the stylesheets)."""
    env = environment()
    assert env.loader is not None
    try:
        return env.loader.get_source(env, name)[0]
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"report template {name!r} is missing from {templates_dir()}") from exc


# --- public API ----------------------------------------------------------------------------


def render_html(
    document: Mapping[str, Any],
    *,
    context: ReportContext,
    evidence: Mapping[str, Any] | None = None,
) -> str:
    """The complete, self-contained report as HTML (stylesheet inlined, charts as data URIs).

    ``evidence`` describes the results.json the report accompanies (``name``, ``sha256``,
    ``size_bytes``, ``attached``); by default it is the canonical serialisation of ``document``.
    Raises ``RenderError`` (one line) when the document or a template cannot be rendered.
    """
    with labels_for(document):
        return _render_html(document, context=context, evidence=evidence)


def _render_html(document: Mapping[str, Any], *, context: ReportContext, evidence: Mapping[str, Any] | None) -> str:
    try:
        view = build_view(document, context=context, evidence=evidence)
    except RenderError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RenderError(
            f"results document cannot be rendered: {type(exc).__name__}: {_one_line(exc)}",
            hint="render the document written by this version of fairgate (results.json)",
        ) from exc
    try:
        view["stylesheet"] = Markup(template_source(STYLESHEET))  # our own file, not data
        view["explore"] = _explore_assets() if context.medium == "html" else None
        html = environment().get_template(TEMPLATE).render(**view)
        if context.medium == "html":
            html = add_security_policy(add_contents(html))
        return html
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"report template {exc.name or exc.filename}:{exc.lineno}: {_one_line(exc)}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"report template error: {type(exc).__name__}: {_one_line(exc)}") from exc
    except RenderError:
        raise
    except Exception as exc:  # a filter or a chart failing on unexpected data
        raise RenderError(f"report could not be rendered: {type(exc).__name__}: {_one_line(exc)}") from exc


def _explore_assets() -> dict[str, Markup]:
    """The explore layer's stylesheet and script, inlined (our own files, not data)."""
    script = template_source(EXPLORE_SCRIPT)
    if "</" in script:  # it would end the <script> element early
        raise RenderError(f"report template {EXPLORE_SCRIPT!r} must not contain '</'")
    return {"stylesheet": Markup(template_source(EXPLORE_STYLESHEET)), "script": Markup(script)}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
