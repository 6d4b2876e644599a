"""Turn an ``AuditResult`` into files: results.json, report.pdf (signed when a key is given),
report.html and summary.md — whichever formats were asked for (``--format pdf,html,json,md``).

Nothing is half-written: every file goes to a temporary name in the output directory and is
renamed into place only when all of them are complete, and the PDF is rendered and signed before
anything is published, so a failure leaves any earlier report in that directory untouched. The
renames happen together with Ctrl-C held back (``audit.util.atomic.atomic_paths``), results.json last:
the directory holds the previous set of files or the new one, never a mix — a failing rename rolls
back the ones made, and a second run into the same directory is refused while one writes there.

Default formats: pdf, json and md. The issue asked for pdf+json; summary.md stays in the default
because it costs milliseconds, CI jobs upload the whole output directory for launch docs, and it
carries the sha256 of the very report.pdf it sits beside (the GitHub step summary is the same
text). ``--format pdf,json`` drops it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import UsageError

# The light modules, not audit.report.interface (which loads the judge and pandas): `fairgate run`
# parses --format with this module before any heavy import.
from audit.report.base import Attachment, RenderInputs
from audit.report.formats import FORMAT_RENDERERS
from audit.util.atomic import atomic_paths, output_lock
from audit.util.suggest import did_you_mean

RESULTS_NAME = "results.json"
REPORT_NAME = "report.pdf"
HTML_NAME = "report.html"
SUMMARY_NAME = "summary.md"
MODEL_CARD_NAME = "model-card.md"

LL144_NAME = "ll144-summary.pdf"
LL144_HTML_NAME = "ll144-summary.html"

#: Output formats, in the order they are produced, and the file each one writes.
FORMATS = {
    "pdf": REPORT_NAME,
    "html": HTML_NAME,
    "json": RESULTS_NAME,
    "md": SUMMARY_NAME,
    "ll144-summary": LL144_NAME,
    "ll144-summary-html": LL144_HTML_NAME,
    "model-card": MODEL_CARD_NAME,
}
#: A name on the command line that stands for several formats: the LL144 summary is published as PDF and HTML.
ALIASES = {"ll144-summary": ("ll144-summary", "ll144-summary-html")}
DEFAULT_FORMATS = frozenset({"pdf", "json", "md"})


@dataclass(frozen=True)
class Outputs:
    results: Path | None
    report: Path | None
    signed: bool
    html: Path | None = None
    summary: Path | None = None
    #: The Markdown summary's text (also for CI step summaries), whether or not it was written.
    summary_text: str = ""
    #: results.json's bytes, whether or not the file was written (``--json`` prints them).
    results_bytes: bytes = b""
    #: The NYC LL144 public summary (``--format ll144-summary``): its PDF, else its HTML.
    ll144_summary: Path | None = None
    model_card: Path | None = None


def parse_formats(text: str | Iterable[str] | None) -> frozenset[str]:
    """``"pdf,html"`` → {"pdf", "html"}; None → the default. Unknown names are a usage error."""
    if text is None:
        return DEFAULT_FORMATS
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [item.strip().lower() for item in items if item.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise UsageError(
            f"--format: unknown format {unknown[0]!r}",
            hint=f"{did_you_mean(unknown[0], FORMATS)}choose from {', '.join(FORMATS)} "
            "(comma-separated, e.g. --format pdf,html,json)",
        )
    if not names:
        raise UsageError("--format: no format given", hint=f"choose from {', '.join(FORMATS)}")
    return frozenset(f for n in names for f in ALIASES.get(n, (n,)))


def prepare_file(path: Path, option: str) -> Path:
    """An extra output file (``--junit``, ``--badge``, ``--markdown``, ``--chart``): its directory is created,
    as ``--out`` is (a CI job starts from a fresh checkout: ``--junit reports/junit.xml`` needs no mkdir
    first). One that cannot be created or written is refused before any work is done."""
    path = Path(path)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a regular file in the way (FileExistsError, NotADirectoryError), no permission
        raise UsageError(
            f"{option} {path}: cannot write there ({parent} cannot be created: {exc.strerror or exc})",
            hint="name a file in a directory you can write to",
        ) from None
    if not os.access(parent, os.W_OK):
        raise UsageError(
            f"{option} {path}: cannot write there ({parent} is not writable)",
            hint="name a file in a directory you can write to",
        )
    return path


def generated_at() -> str:
    """Report date: SOURCE_DATE_EPOCH when set (reproducible builds), else now, in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit() else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_outputs(
    document: dict[str, Any],
    out_dir: Path,
    *,
    signer: Any | None = None,
    role: str = "author",
    pdf: bool = True,
    tsa_url: str | None = None,
    formats: Iterable[str] | None = None,
    extra: Mapping[Path, bytes] | None = None,
    attachments: Sequence[Attachment] = (),
) -> Outputs:
    """Write the requested ``formats`` (default pdf, json, md; ``pdf=False`` drops the PDF) into
    ``out_dir``. A file of a format not requested, left there by an earlier run, is removed: it
    would disagree with these results. ``extra`` files (JUnit XML) join the same all-or-nothing set."""
    out_dir = Path(out_dir)
    wanted = parse_formats(formats) if formats is not None else DEFAULT_FORMATS
    if not pdf:
        wanted = wanted - {"pdf"}
    if signer is not None and "pdf" not in wanted:
        raise UsageError("signing needs a PDF report: add pdf to --format")
    results_bytes = FORMAT_RENDERERS["json"].render(document, RenderInputs())
    paths = {fmt: out_dir / name for fmt, name in FORMATS.items() if fmt in wanted}
    date = generated_at()
    report_info = None

    # Every file is complete under a temporary name before any is renamed into place; the renames
    # happen together, results.json last (a new results.json means its report and summary are new too).
    order = [
        fmt
        for fmt in ("pdf", "html", "md", "model-card", "ll144-summary", "ll144-summary-html", "json")
        if fmt in paths
    ]
    others = list((extra or {}).items())
    # a file of a format not asked for, left by an earlier run, would disagree with these results:
    # it goes in the same transaction as the new files
    stale = [out_dir / name for fmt, name in FORMATS.items() if fmt not in wanted]
    destinations = [Path(p) for p, _ in others] + [paths[fmt] for fmt in order]
    with output_lock(out_dir, names=list(FORMATS.values())), atomic_paths(destinations, remove=stale) as temps:
        for (_, data), tmp_extra in zip(others, temps, strict=False):
            tmp_extra.write_bytes(data)
        tmp = dict(zip(order, temps[len(others) :], strict=True))
        if "pdf" in tmp:
            _write_report(
                tmp["pdf"],
                document,
                results_bytes,
                signer=signer,
                role=role,
                date=date,
                tsa_url=tsa_url,
                attachments=attachments,
            )
            data = tmp["pdf"].read_bytes()
            report_info = {
                "name": REPORT_NAME,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size_bytes": len(data),
                "signed": signer is not None,
            }
        if "html" in tmp:
            tmp["html"].write_bytes(
                FORMAT_RENDERERS["html"].render(document, RenderInputs(generated_at=date, companion_pdf=report_info))
            )
        summary = FORMAT_RENDERERS["md"].render(document, RenderInputs(companion_pdf=report_info))
        summary_text = summary.decode("utf-8")
        if "md" in tmp:
            tmp["md"].write_bytes(summary)
        for fmt in ("ll144-summary", "ll144-summary-html"):  # the NYC LL144 public summary (audit.report.ll144)
            if fmt in tmp:
                tmp[fmt].write_bytes(FORMAT_RENDERERS[fmt].render(document, RenderInputs(generated_at=date)))
        if "model-card" in tmp:
            tmp["model-card"].write_bytes(
                FORMAT_RENDERERS["model-card"].render(document, RenderInputs(companion_pdf=report_info))
            )
        if "json" in tmp:
            tmp["json"].write_bytes(results_bytes)
    return Outputs(
        results=paths.get("json"),
        report=paths.get("pdf"),
        signed=signer is not None and "pdf" in wanted,
        html=paths.get("html"),
        summary=paths.get("md"),
        summary_text=summary_text,
        results_bytes=results_bytes,
        ll144_summary=paths.get("ll144-summary") or paths.get("ll144-summary-html"),
        model_card=paths.get("model-card"),
    )


def _write_report(
    path: Path,
    document: dict[str, Any],
    results_bytes: bytes,
    *,
    signer: Any | None,
    role: str,
    date: str,
    tsa_url: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> None:
    signers = []
    if signer is not None:
        from audit.signing.keys import signer_description

        info = signer_description(signer)
        signers.append(
            {
                "name": info["common_name"],
                "role": role,
                "development_only": info["development_only"],
                "fingerprint": info["sha256_fingerprint"],
                "tsa": tsa_url,
            }
        )
    inputs = RenderInputs(generated_at=date, results_json=results_bytes, signers=signers, attachments=attachments)
    path.write_bytes(FORMAT_RENDERERS["pdf"].render(document, inputs))
    if signer is not None:
        from audit.signing.sign import sign_pdf

        sign_pdf(path, path, signer=signer, role=role, tsa_url=tsa_url)
