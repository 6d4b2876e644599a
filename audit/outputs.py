"""Turn an ``AuditResult`` into files: results.json, summary.md, report.pdf (signed when a key is given).

Nothing is half-written: every file goes to a temporary name in the output directory and is
renamed into place only when complete, and the PDF is rendered and signed before results.json
is published, so a failure leaves any earlier report in that directory untouched. The renames
happen together with Ctrl-C held back (``audit.atomic.atomic_paths``): the directory holds the
previous set of files or the new one, never a mix.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.atomic import atomic_paths
from audit.results import canonical_json

RESULTS_NAME = "results.json"
REPORT_NAME = "report.pdf"
SUMMARY_NAME = "summary.md"


@dataclass(frozen=True)
class Outputs:
    results: Path
    report: Path | None
    signed: bool


def generated_at() -> str:
    """Report date: SOURCE_DATE_EPOCH when set (reproducible builds), else now, in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit()
              else dt.datetime.now(dt.UTC))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_outputs(
    document: dict[str, Any],
    out_dir: Path,
    *,
    signer: Any | None = None,
    role: str = "author",
    pdf: bool = True,
    tsa_url: str | None = None,
) -> Outputs:
    """Write results.json and (unless ``pdf`` is False) report.pdf into ``out_dir``."""
    out_dir = Path(out_dir)
    results_bytes = canonical_json(document)
    results_path = out_dir / RESULTS_NAME
    report_path = out_dir / REPORT_NAME if pdf else None
    # Every file is complete under a temporary name before any is renamed into place (together).
    from audit.report.markdown import render_markdown

    # results.json is renamed last: a new results.json means its report and summary are new too
    names = ([report_path] if report_path is not None else []) + [out_dir / SUMMARY_NAME, results_path]
    with atomic_paths(names) as temps:
        *report_tmp, summary_tmp, results_tmp = temps
        results_tmp.write_bytes(results_bytes)
        summary_tmp.write_text(render_markdown(document), encoding="utf-8")
        if report_tmp:
            _write_report(report_tmp[0], document, results_bytes, signer=signer, role=role, tsa_url=tsa_url)
    if report_path is None:
        # a report from an earlier run next to these results would disagree with them
        (out_dir / REPORT_NAME).unlink(missing_ok=True)
    return Outputs(results_path, report_path, signer is not None and pdf)


def _write_report(
    path: Path, document: dict[str, Any], results_bytes: bytes, *, signer: Any | None, role: str,
    tsa_url: str | None = None,
) -> None:
    from audit.report.html import ReportContext
    from audit.report.pdf import render_pdf

    signers = []
    if signer is not None:
        from audit.signing.keys import signer_description

        info = signer_description(signer)
        signers.append({"name": info["common_name"], "role": role,
                        "development_only": info["development_only"],
                        "fingerprint": info["sha256_fingerprint"], "tsa": tsa_url})
    context = ReportContext(generated_at=generated_at(), signers=signers)
    path.write_bytes(render_pdf(document, context=context, results_json=results_bytes))
    if signer is not None:
        from audit.signing.sign import sign_pdf

        sign_pdf(path, path, signer=signer, role=role, tsa_url=tsa_url)
