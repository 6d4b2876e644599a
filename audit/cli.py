"""The ``fairgate`` command line: parse, call the pipeline, print, map to an exit code.

No statistics here. Heavy libraries (scikit-learn, matplotlib, WeasyPrint, pyHanko) are imported
inside the commands that need them so that ``fairgate --help`` starts fast.

Exit codes: 0 pass · 1 a blocking rule failed (or, for ``verify``, the signature check failed)
· 2 cannot run · 3 unexpected internal error (traceback written to a log file) · 130 interrupted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from audit.cli_options import (
    PASSPHRASE_ENV,
    TSA_ENV,
    audit_options,
    data_options,
    engine_options,
    output_options,
    role_options,
)
from audit.errors import (
    EXIT_CANNOT_RUN,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    FairgateError,
    PolicyError,
    SigningError,
    UsageError,
)
from audit.probe.options import probe_options

if TYPE_CHECKING:  # the commands import what they need when they run: `fairgate --help` starts fast
    from pyhanko.sign.signers import SimpleSigner as Signer

    from audit.flow.request import AuditRequest
    from audit.pipeline import AuditResult
    from audit.report.base import Attachment
    from audit.signing.ledger import Ledger
    from audit.tables.engines.interface import EngineOptions
    from audit.util.progress import Step

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: Every option can also be set as FAIRGATE_<COMMAND>_<OPTION>, e.g. FAIRGATE_RUN_POLICY=four-fifths.
ENV_PREFIX = "FAIRGATE"
LEDGER_ENV = "FAIRGATE_LEDGER"  # (audit.signing.ledger.LEDGER_ENV; not imported here to keep start-up light)


_F = TypeVar("_F", bound=Callable[..., Any])


def _ledger_options(command: _F) -> _F:
    """--ledger PATH / --no-ledger, shared by every command that records into the audit ledger."""
    command = click.option("--no-ledger", is_flag=True, help="Do not record this command in the audit ledger.")(command)
    command = click.option(
        "--ledger-create",
        is_flag=True,
        help="Create the --ledger file's directory if it does not exist (else a missing one is an error).",
    )(command)
    return click.option(
        "--ledger",
        "ledger_path",
        type=click.Path(path_type=Path),
        envvar=LEDGER_ENV,
        metavar="PATH",
        help=f"Audit ledger (SQLite) to append a record to (${LEDGER_ENV}; default "
        "~/.local/share/fairgate/ledger.sqlite).",
    )(command)


@click.group(context_settings={**CONTEXT, "auto_envvar_prefix": ENV_PREFIX})
@click.version_option(package_name="fairgate", prog_name="fairgate")
def cli() -> None:
    """Audit a model's decisions for fairness against a policy; write signed evidence.

    \b
    Exit codes: 0 pass, 1 a blocking policy rule failed, 2 cannot run
    (bad input, policy or usage), 3 internal error, 130 interrupted.

    \b
    Every option can also be set in the environment as FAIRGATE_<COMMAND>_<OPTION>,
    e.g. FAIRGATE_RUN_POLICY=four-fifths or FAIRGATE_RUN_SENSITIVE="sex race".
    """


@cli.command(context_settings=CONTEXT)
@data_options()
@role_options()
@audit_options()
@output_options()
@engine_options()
@_ledger_options
@click.option(
    "--mlflow",
    is_flag=True,
    help="Also log the verdict, each rule's status and figures, and the output files to the MLflow run "
    "(active, $MLFLOW_RUN_ID, or new; server $MLFLOW_TRACKING_URI). --model also takes models:/ and runs:/ URIs.",
)
def run(**opts: Any) -> None:
    """Audit a model (or a predictions/score column) on labeled data against a policy."""
    outputs = _output_plan(opts)
    with _mlflow_model(opts):  # a model from an MLflow URI is downloaded for the audit, removed after it
        _run_command(opts, outputs)


def _run_command(opts: dict[str, Any], outputs: _Outputs) -> None:
    from audit.util.progress import make_step

    request = _request(opts)
    signer = _load_signer(opts["sign_key"], cert=opts["sign_cert"], chain=opts["sign_chain"]) if outputs.sign else None
    ledger = _open_ledger(opts["ledger_path"], opts["no_ledger"], create=opts["ledger_create"])
    from audit.outputs import FORMATS
    from audit.util.atomic import output_lock

    step, close = make_step(quiet=bool(opts["quiet"] or opts["as_json"]), verbose=bool(opts["verbose"]))
    try:
        # held for the whole run: a second run into the same directory stops at once
        with output_lock(outputs.out_dir, names=list(FORMATS.values())):
            exit_code = _run(request, outputs, step, signer, ledger, close)
    finally:
        close()
    raise SystemExit(exit_code)


@dataclass(frozen=True)
class _Outputs:
    """What `run` writes and prints, checked before any work is done."""

    out_dir: Path
    formats: frozenset[str]
    sign: bool
    tsa_url: str | None
    junit: Path | None
    as_json: bool
    quiet: bool
    mlflow: bool = False
    badge: Path | None = None


@contextlib.contextmanager
def _mlflow_model(opts: dict[str, Any]) -> Iterator[None]:
    """--model models:/… or runs:/…: fetch the model's .skops or .onnx file (never a pickle) and audit that."""
    from audit.inputs.mlflow_model import fetch_model, is_mlflow_uri

    if not is_mlflow_uri(opts["model"]):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="fairgate-mlflow-") as directory:
        opts["model"] = fetch_model(str(opts["model"]), Path(directory))
        yield


def _output_plan(opts: dict[str, Any]) -> _Outputs:
    """The outputs the options ask for; contradictions are usage errors (nothing written yet)."""
    if opts["sign_key"] and opts["no_pdf"]:
        raise UsageError(
            "--sign needs a report to sign: drop --no-pdf",
            hint="--sign signs report.pdf; without it, results.json and summary.md are not signed",
        )
    tsa_url = _check_tsa(opts["tsa_url"], signing=bool(opts["sign_key"]))
    from audit.outputs import parse_formats

    formats = parse_formats(opts["formats"])
    if opts["no_pdf"] and opts["formats"] and "pdf" in formats:
        raise UsageError("--no-pdf contradicts --format pdf: use one of them")
    formats = formats - {"pdf"} if opts["no_pdf"] else formats
    if opts["sign_key"] and "pdf" not in formats:
        raise UsageError(
            "--sign needs a report to sign: add pdf to --format", hint="--sign signs report.pdf, e.g. --format pdf,json"
        )
    from audit.outputs import prepare_file

    junit = prepare_file(opts["junit"], "--junit") if opts["junit"] else None
    badge = prepare_file(opts["badge"], "--badge") if opts.get("badge") else None
    if opts.get("mlflow"):
        from audit.tracking import require_mlflow

        require_mlflow()
    return _Outputs(
        out_dir=Path(str(opts["out_dir"])),
        formats=frozenset(formats),
        sign=bool(opts["sign_key"]),
        tsa_url=tsa_url,
        junit=junit,
        as_json=bool(opts["as_json"]),
        quiet=bool(opts["quiet"]),
        mlflow=bool(opts.get("mlflow")),
        badge=badge,
    )


def _request(opts: dict[str, Any]) -> AuditRequest:
    """The audit the options ask for (checked as it is built: a contradiction is a usage error)."""
    from audit.flow.request import AuditRequest, split_columns

    context = _context(opts)
    return AuditRequest(
        data=opts["data"],
        policy=opts["policy"],
        model=opts["model"],
        predictions=opts["predictions"],
        scores=opts["scores"],
        threshold=opts["threshold"],
        label=opts["label"],
        positive_label=opts["positive_label"],
        model_positive_class=opts["model_positive_class"],
        sensitive=opts["sensitive"],
        sensitive_proba=tuple(opts.get("sensitive_proba") or ()),
        self_reported=opts.get("self_reported"),
        features=split_columns(opts["features"]),
        where=tuple(opts.get("where") or ()),
        trust_pickle=opts["trust_pickle"],
        seed=opts["seed"],
        task=opts["task"],
        fail_on=opts["fail_on"],
        strict=opts["strict"],
        audit_date=opts["audit_date"],
        period_column=opts["period_column"],
        period=opts["period"],
        baseline_source=str(opts["baseline"]) if opts["baseline"] else None,
        context=context,
        engine=opts["engine"],
        engine_options=_engine_options(opts),
        command=tuple(_command_line()),
    )


def _context(opts: dict[str, Any]) -> dict[str, Any] | None:
    """--context FILE's content (validated), or None."""
    if opts.get("context_file") is None:
        return None
    from audit.policy.load import load_context

    return load_context(Path(opts["context_file"]))


def _run(
    request: AuditRequest,
    outputs: _Outputs,
    step: Step,
    signer: Signer | None,
    ledger: Ledger | None,
    close: Callable[[], None],
    sections: dict[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
) -> int:
    from audit.pipeline import run

    if request.baseline_source is not None:
        request = request.replace(baseline=_read_results(Path(request.baseline_source)))
    result = run(request, progress=step)  # recorded in the ledger below, with the report's hash
    from audit.outputs import write_outputs

    document = result.to_dict()  # with --baseline, the comparison is one of its judged items
    document.update(sections or {})  # `probe`: its paired findings
    if ledger is not None:  # the head before this audit is recorded: a signed report anchors the ledger
        document["ledger"] = ledger.head()
    exit_code = result.exit_code
    with step("rendering and signing the report" if signer else "writing the report"):
        junit = {}
        if outputs.junit is not None:  # in the same all-or-nothing set as the report and results.json
            from audit.report.junit import render_junit

            junit[outputs.junit] = render_junit(document, fail_on=request.fail_on, strict=request.strict)
        if outputs.badge is not None:
            from audit.report.ci import render_badge

            junit[outputs.badge] = render_badge(document)
        written = write_outputs(
            document,
            outputs.out_dir,
            signer=signer,
            formats=outputs.formats,
            tsa_url=outputs.tsa_url if signer else None,
            extra=junit,
            attachments=attachments,
        )
    _step_summary(document, markdown=written.summary_text)
    run_id = _log_mlflow(document, written, step) if outputs.mlflow else None
    _annotate(document, fail_on=request.fail_on, strict=request.strict, to_stderr=outputs.as_json)
    if ledger is not None:
        from audit.signing.ledger import run_entry

        signer_name = _signer_name(signer)
        _append_ledger(ledger, run_entry(document, command=_command_line(), report=written.report, signer=signer_name))
    close()  # the progress display ends before the summary: the two must not share the screen's last lines
    if outputs.as_json:
        click.echo(written.results_bytes.decode("utf-8"), nl=False)  # byte for byte: results.json
    elif not outputs.quiet:
        _print_summary(result)
        if written.results:
            _echo(f"results: {written.results}")
        if written.report:
            _echo(f"report:  {written.report}{'' if written.signed else ' (UNSIGNED DRAFT)'}")
        if written.html:
            _echo(f"html:    {written.html}")
        if written.ll144_summary:
            _echo(f"ll144:   {written.ll144_summary} (the public summary, 6 RCNY § 5-303)")
        if run_id:
            _echo(f"mlflow:  run {run_id}")
        if "comparison" in document:
            _print_comparison(document["comparison"])
        if "monitoring" in document:
            _print_monitoring(document["monitoring"])
    return exit_code


def _log_mlflow(document: dict, written: Any, step: Step) -> str:
    """The audit and its files, logged to an MLflow run (``audit.tracking``)."""
    from audit.tracking import log_audit

    files = [p for p in (written.results, written.report, written.html, written.summary, written.model_card) if p]
    with step("logging to MLflow"):
        return log_audit(document, files=files, results_bytes=written.results_bytes, summary_text=written.summary_text)


@cli.command(context_settings=CONTEXT)
@data_options(
    "data",
    "policy",
    data={"help": "Decision log holding the decisions (or scores): CSV/TSV (.gz), Parquet, a directory or a glob."},
    policy={"help": "Shipped policy id or a YAML file (its monitoring: block applies)."},
)
@audit_options(
    "context",
    "period_column",
    "period",
    period_column={"help": "Timestamp of each decision (default: the policy's)."},
    period={"help": "Window length (default: the policy's monitoring.period, else month)."},
)
@role_options(
    "predictions",
    "scores",
    "threshold",
    "label",
    "positive_label",
    "sensitive",
    "sensitive_proba",
    "self_reported",
    "where",
    predictions={"help": "Column holding the decisions."},
    threshold={"help": "Decision threshold for --scores."},
    label={"help": "True-outcome column, when outcomes are known."},
    positive_label={"help": "Value meaning the favourable outcome."},
)
@output_options("out", out={"default": Path("monitor-out"), "help": "Output directory."})
@audit_options(
    "baseline",
    baseline={"help": "The launch audit's results.json (for drift rules with `baseline: launch`, and a comparison)."},
)
@output_options(
    "sign", "no_pdf", "format", sign={"help": "Sign the report."}, format={"envvar": "FAIRGATE_MONITOR_FORMAT"}
)
@audit_options(
    "seed",
    "fail_on",
    "strict",
    "audit_date",
    fail_on={"help": "Which findings fail the job (exit 1)."},
    strict={"help": "INSUFFICIENT_DATA (a window's group too small to judge) fails the job too."},
)
@output_options(
    "junit",
    "badge",
    "json",
    "quiet",
    junit={"help": "Also write JUnit XML."},
    json={"help": "Print results.json to stdout."},
    quiet={"help": "Print nothing but errors."},
)
@engine_options(
    "engine",
    "memory_limit",
    engine={"help": "Who counts the rows: numpy (in memory), duckdb (out of core; globs), spark (cluster)."},
    memory_limit={"help": "DuckDB memory limit, e.g. 2GB."},
)
@_ledger_options
@click.pass_context
def monitor(ctx: click.Context, **opts: Any) -> None:
    """Audit a decision log window by window (a nightly job): trends, drift, the latest window's verdict.

    The same audit as `fairgate run --period-column …`, for logs that already hold the decisions.
    """
    _require_windows(str(opts["policy"]), opts["period_column"])
    ctx.invoke(run, **opts)


def _require_windows(policy: str, period_column: str | None) -> None:
    """`monitor` audits time windows: a period column from the command line or the policy."""
    if period_column:
        return
    from audit.policy.load import load_policy

    configured = load_policy(policy).policy.monitoring
    if configured is None or configured.period_column is None:
        raise UsageError("monitor needs --period-column COLUMN (or monitoring.period_column in the policy)")


@cli.command(context_settings=CONTEXT)
@click.argument(
    "results", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="BASELINE CANDIDATE | RESULTS..."
)
@click.option("--policy", "policy_ref", help="Judge both under this policy (default: the candidate's own).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--markdown", type=click.Path(path_type=Path), metavar="FILE", help="Also write a Markdown summary.")
@click.option("--strict", is_flag=True, help="INSUFFICIENT_DATA (a rule with no group to compare) exits 1 too.")
@click.option(
    "--alternatives",
    is_flag=True,
    help="Instead: a less-discriminatory-alternatives view of two or more candidates' results.json files.",
)
@click.option(
    "--performance",
    type=click.Choice(["accuracy", "auc"]),
    default="accuracy",
    show_default=True,
    help="With --alternatives: rank performance by accuracy (overall counts) or the recorded AUC.",
)
@click.option(
    "--chart",
    type=click.Path(path_type=Path),
    metavar="FILE.svg",
    help="With --alternatives: also write a chart of performance against each rule's worst disparity.",
)
def compare(
    results: tuple[Path, ...],
    policy_ref: str | None,
    seed: int,
    as_json: bool,
    markdown: Path | None,
    strict: bool,
    alternatives: bool,
    performance: str,
    chart: Path | None,
) -> None:
    """Is the candidate model worse than the baseline? Compares two results.json files.

    Status REGRESSED, INSUFFICIENT_DATA (a rule had no group judged in both files) or NO_REGRESSION.
    Exit 1 when a blocking rule regressed beyond the policy's max_regression and noise (or, with
    --strict, on INSUFFICIENT_DATA); exit 2 when the two files cannot be compared at all
    (different sensitive features, or policies with no rule measuring the same thing).

    With --alternatives A.json B.json C.json …: each candidate's performance, its worst disparity
    per rule, its verdict and whether it is on the Pareto frontier (no other candidate at least as
    good in both, better in one), to document a search for a less discriminatory alternative. Exit 0,
    or 2 when the candidates do not share the policy and sensitive features.
    """
    if alternatives:
        if policy_ref or strict:
            raise UsageError(
                "--alternatives shows each candidate under its own audit's policy: --policy and --strict do not apply",
                hint="audit every candidate under the same policy, then compare --alternatives their results.json",
            )
        from audit.outputs import prepare_file

        for option, path in (("--markdown", markdown), ("--chart", chart)):
            if path is not None:
                prepare_file(path, option)
        _compare_alternatives(results, as_json=as_json, markdown=markdown, performance=performance, chart=chart)
        return
    if len(results) != 2:
        raise UsageError(
            f"compare takes two results files, BASELINE CANDIDATE (got {len(results)})",
            hint="for three or more candidates use `fairgate compare --alternatives A.json B.json C.json`",
        )
    if chart is not None or performance != "accuracy":
        raise UsageError("--chart and --performance apply only with --alternatives", hint="add --alternatives")
    if markdown is not None:
        from audit.outputs import prepare_file

        prepare_file(markdown, "--markdown")
    baseline, candidate = results
    from audit.judge.compare import compare_documents, comparison_document
    from audit.judge.core import comparison_item, exit_code_of

    policy = None
    if policy_ref:
        from audit.policy.load import load_policy

        policy = load_policy(policy_ref).policy
    base_doc, cand_doc = _read_results(baseline), _read_results(candidate)
    compared = compare_documents(base_doc, cand_doc, policy=policy, seed=seed, names=(str(baseline), str(candidate)))
    doc = comparison_document(compared, base_doc, cand_doc)
    if markdown is not None:
        from audit.report.markdown import render_comparison_markdown
        from audit.util.atomic import write_bytes

        write_bytes(markdown, render_comparison_markdown(doc).encode())
    if as_json:
        _echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        _print_comparison(doc)
    # the same gate as `run --baseline`: a blocking regression fails; INSUFFICIENT_DATA only under --strict
    raise SystemExit(exit_code_of([comparison_item(doc)], strict=strict))


@cli.command(context_settings=CONTEXT)
@probe_options
@data_options("policy")
@audit_options("seed", "fail_on", "strict", "audit_date", "context")
@output_options(out={"default": Path("probe-out"), "help": "Output directory."})
@_ledger_options
def probe(**opts: Any) -> None:
    """Audit a model you can only call: paired counterfactual profiles, judged by a policy.

    Every profile is sent once per group (a swapped column or names that signal the group); the outcomes
    are audited like `fairgate run`, with paired tests (McNemar, Wilcoxon) beside. See docs/probe.md.
    """
    from audit.outputs import FORMATS
    from audit.policy.load import load_policy
    from audit.probe.options import probe_settings
    from audit.probe.run import collect, finish, prepare, transcripts_attachment
    from audit.util.atomic import output_lock
    from audit.util.progress import make_counter, make_step

    outputs = _output_plan(opts)
    from audit.flow.assemble import audit_context

    settings = probe_settings(opts)
    policy = load_policy(settings.policy).policy
    level = policy.confidence_level
    context = _context(opts)
    audit_context(policy, context)  # a context the policy requires but lacks: stop before anything is sent
    plan = prepare(settings)
    if not (outputs.quiet or outputs.as_json):
        _echo(plan.describe())  # on stdout, before anything is sent (--json keeps stdout for results.json)
    signer = _load_signer(opts["sign_key"], cert=opts["sign_cert"], chain=opts["sign_chain"]) if outputs.sign else None
    ledger = _open_ledger(opts["ledger_path"], opts["no_ledger"])
    step, close = make_step(quiet=bool(opts["quiet"] or opts["as_json"]), verbose=bool(opts["verbose"]))
    try:
        with output_lock(outputs.out_dir, names=list(FORMATS.values())):
            advance, stop = make_counter(plan.to_send, "probing", quiet=bool(opts["quiet"] or opts["as_json"]))
            try:
                collect(plan, advance=advance)
            finally:
                stop()
            request, section = finish(
                plan,
                level=level,
                request_options={
                    "seed": opts["seed"],
                    "fail_on": opts["fail_on"],
                    "strict": opts["strict"],
                    "audit_date": opts["audit_date"],
                    "context": context,
                    "command": tuple(_command_line()),
                },
            )
            exit_code = _run(
                request,
                outputs,
                step,
                signer,
                ledger,
                close,
                sections={"probe": section},
                attachments=(transcripts_attachment(plan),),
            )
    finally:
        close()
    if not (outputs.quiet or outputs.as_json):
        for item in section["statistics"]["paired"]:
            _echo(f"paired: {item['sentence']}")
    raise SystemExit(exit_code)


@cli.command(context_settings=CONTEXT)
@click.argument("report", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="CERT.pem",
    help="Trusted root or signer certificate; repeat for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
@click.option(
    "--require-role",
    "require_role",
    metavar="ROLE[,ROLE]",
    help="Roles that must have signed, e.g. reviewer,approver; INVALID (exit 1) names any missing one.",
)
@click.option("--recompute", is_flag=True, help="Re-run the recorded audit on --data/--model and compare the evidence.")
@data_options(
    "data",
    "model",
    model={"help": "With --recompute: the audited model."},
    data={"required": False, "help": "With --recompute: the audited dataset (the same file, directory or glob)."},
)
@_ledger_options
def verify(
    report: Path,
    trust: tuple[Path, ...],
    as_json: bool,
    require_role: str | None,
    recompute: bool,
    data: Path | None,
    model: Path | None,
    ledger_path: Path | None,
    no_ledger: bool,
    ledger_create: bool,
) -> None:
    """Check a report's signatures and attached evidence. Exit 0 valid, 1 invalid, 2 cannot check."""
    from audit.errors import VerificationError
    from audit.signing.verify import attached_files, missing_role_problem, missing_roles, verify_pdf

    if recompute and data is None:
        raise UsageError("--recompute needs --data (and --model when the audit used one)")
    required = _roles(require_role)
    ledger = _open_ledger(ledger_path, no_ledger, create=ledger_create)

    checked = verify_pdf(report, trust_roots=trust)
    problems = list(checked.problems)
    if checked.signatures:  # an unsigned or unreadable file is already INVALID for that reason
        problems += [missing_role_problem(role) for role in missing_roles(checked, required)]
    try:
        evidence, readable = attached_files(report).get("results.json"), True
    except VerificationError as exc:
        evidence, readable = None, False
        if checked.ok:  # otherwise the file is already INVALID (e.g. damaged or truncated)
            problems.append(f"the attached files cannot be read ({exc.message})")
    if evidence is None and readable:
        problems.append("results.json is not attached to the report")
    elif evidence is not None:
        try:
            json.loads(evidence)
        except ValueError:
            problems.append("the attached results.json is not valid JSON")
    if (
        recompute
        and data is not None
        and evidence is not None
        and "the attached results.json is not valid JSON" not in problems
    ):
        from audit.recompute import recompute as rerun

        recorded = json.loads(evidence)
        missing = [k for k in ("audit", "policy", "provenance") if not isinstance(recorded, dict) or k not in recorded]
        if missing:
            problems.append(f"the attached results.json is not Fairgate evidence (no {', '.join(missing)})")
        else:
            problems += list(rerun(recorded, data=data, model=model).problems)
    ok = checked.ok and not problems[len(checked.problems) :]
    from audit.signing import summary

    if as_json:
        payload = summary.as_json(checked, ok=ok, problems=problems, recompute=recompute, required_roles=required)
        _echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        for line in summary.human_lines(
            report,
            checked,
            ok=ok,
            problems=problems,
            recompute=recompute,
            trust_count=len(trust),
            required_roles=required,
        ):
            _echo(line)
        if "not signed" in problems:
            _echo("This is an UNSIGNED DRAFT: sign it with `fairgate run … --sign KEY.p12`.")
        if recompute and ok:
            _echo("recomputed: the same results from the same inputs (hashes match)")
        _echo(f"{report}: {'VALID' if ok else 'INVALID'}")
    if ledger is not None:
        from audit.signing.ledger import report_entry

        parsed = _json_or_none(evidence)
        signers = [
            f"{s.signer} ({s.role or 'role unknown'}{': ' + s.decision if s.decision else ''})"
            for s in checked.signatures
        ]
        _append_ledger(
            ledger,
            report_entry(
                "verify",
                report,
                command=_command_line(),
                verdict="VALID" if ok else "INVALID",
                evidence=parsed,
                signers=signers,
            ),
        )
    raise SystemExit(0 if ok else 1)


@cli.command(context_settings=CONTEXT)
@click.argument("report", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "key",
    required=True,
    type=click.Path(path_type=Path),
    metavar="KEY.p12",
    help=f"The countersigner's PKCS#12 key (passphrase from ${PASSPHRASE_ENV} or a prompt).",
)
@click.option("--role", type=click.Choice(["reviewer", "approver"]), required=True, help="Who is signing.")
@click.option(
    "--decision",
    type=click.Choice(["approve", "approve-with-conditions", "reject"]),
    help="The countersigner's decision (required for a reviewer); recorded in the signature and the ledger.",
)
@click.option(
    "--comment",
    metavar="TEXT",
    help="One line: the conditions, or why rejected (required with approve-with-conditions and reject).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    metavar="SIGNED.pdf",
    help="Write the countersigned report here (default: update REPORT in place).",
)
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="CERT.pem",
    help="Certificates the existing signatures must chain to; repeat for several.",
)
@_ledger_options
@click.option(
    "--tsa",
    "tsa_url",
    metavar="URL",
    envvar=TSA_ENV,
    help=f"RFC 3161 timestamp authority to vouch for the signing time (or ${TSA_ENV}).",
)
@click.option(
    "--cert",
    "cert",
    type=click.Path(path_type=Path),
    metavar="CERT.pem",
    help="With a PEM key for --key: its certificate.",
)
@click.option(
    "--chain",
    "chain",
    type=click.Path(path_type=Path),
    multiple=True,
    metavar="CA.pem",
    help="With a PEM key: intermediate CA certificates; repeat for several.",
)
def sign(
    report: Path,
    key: Path,
    role: str,
    decision: str | None,
    comment: str | None,
    out: Path | None,
    trust: tuple[Path, ...],
    tsa_url: str | None,
    cert: Path | None,
    chain: tuple[Path, ...],
    ledger_path: Path | None,
    no_ledger: bool,
    ledger_create: bool,
) -> None:
    """Countersign a report (reviewer or approver) as a further incremental signature.

    Fills the role's signature field on the sign-off page with a visible stamp (name, role, decision,
    date). Refuses a report whose existing signatures do not verify against --trust.
    """
    from audit.signing.sign import check_decision, sign_pdf
    from audit.signing.verify import verify_pdf

    recorded = decision.replace("-", " ") if decision else None
    if role == "reviewer" and recorded is None:
        raise UsageError(
            "a reviewer's countersignature records a decision: add --decision",
            hint="--decision approve, approve-with-conditions or reject (with --comment for the last two)",
        )
    check_decision(recorded, comment)
    checked = verify_pdf(report, trust_roots=trust)
    if not checked.signatures and checked.problems == ("not signed",):
        raise UsageError(f"{report}: not signed yet: the author signs with `fairgate run … --sign`")
    if not checked.ok:
        raise SigningError(
            f"{report}: refusing to countersign: {checked.problems[0]}",
            hint="pass the existing signers' (and timestamp authorities') certificates with --trust",
        )
    signer = _load_signer(key, cert=cert, chain=chain)
    ledger = _open_ledger(ledger_path, no_ledger, create=ledger_create)
    target = out or report
    field = sign_pdf(report, target, signer=signer, role=role, tsa_url=tsa_url, decision=recorded, comment=comment)
    if ledger is not None:
        from audit.signing.ledger import report_entry
        from audit.signing.verify import attached_files

        evidence = _json_or_none(attached_files(target).get("results.json"))
        _append_ledger(
            ledger,
            report_entry(
                "sign",
                target,
                command=_command_line(),
                verdict=f"signed as {role}" + (f": {recorded}" if recorded else ""),
                evidence=evidence,
                signers=[f"{_signer_name(signer)} ({role})"],
                countersignature={"role": role, "decision": recorded, "comment": comment, "field": field.name},
            ),
        )
    where = "in place" if out is None or out.resolve() == report.resolve() else f"to {out} ({report} is unchanged)"
    shown = f"a stamp on the {role} line of the sign-off page" if field.visible else "an invisible signature"
    _echo(f"{target}: countersigned as {role}{f' ({recorded})' if recorded else ''}, written {where}")
    _echo(f"  field {field.name}: {shown}; verify with `fairgate verify {target} --trust …`")


@cli.command(context_settings=CONTEXT)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), metavar="KEY.p12")
@click.option("--name", default="Fairgate development key", show_default=True, help="Common name of the signer.")
@click.option("--no-passphrase", is_flag=True, help="Leave the key file unencrypted (development only).")
def keygen(out: Path, name: str, no_passphrase: bool) -> None:
    """Create a self-signed DEVELOPMENT signing key (.p12) and its certificate (.cert.pem)."""
    from audit.signing.keys import generate_dev_key

    passphrase = None if no_passphrase else _passphrase(confirm=True)
    if passphrase is None and not no_passphrase:
        raise UsageError(f"no passphrase: set {PASSPHRASE_ENV}, run in a terminal, or pass --no-passphrase")
    files = generate_dev_key(out, passphrase=passphrase, common_name=name)
    _echo(f"key:         {files.p12}")
    _echo(f"certificate: {files.cert_pem}  (pass to `fairgate verify --trust`)")
    _echo("This key is for development only: its certificate says so and reports signed with it show it.")


@cli.command(context_settings=CONTEXT)
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path),
    envvar=LEDGER_ENV,
    metavar="PATH",
    help=f"The ledger to read (${LEDGER_ENV}; default ~/.local/share/fairgate/ledger.sqlite).",
)
@click.option("--model-sha", metavar="SHA256", help="Only audits of this model (a prefix of its sha256 is enough).")
@click.option("--data-sha", metavar="SHA256", help="Only audits of this dataset (sha256 or a prefix).")
@click.option("--policy", "policy_id", metavar="ID", help="Only records under this policy id.")
@click.option("--action", type=click.Choice(["run", "monitor", "sign", "verify"]), help="Only this kind of record.")
@click.option("--verify", "check_chain", is_flag=True, help="Check the hash chain: exit 0 intact, 1 broken.")
@click.option(
    "--against",
    type=click.Path(path_type=Path),
    metavar="REPORT.pdf|results.json",
    help="With --verify: the ledger must still hold the head this report's audit recorded, and its record.",
)
@click.option(
    "--expiring",
    is_flag=True,
    help="Only audits older than their policy's validity (valid_for_days; NYC LL144: one year), with the later "
    "audit that supersedes each, if any.",
)
@click.option(
    "--as-of", metavar="YYYY-MM-DD", help="With --expiring: judge validity on this day (default: today, UTC)."
)
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=0,
    metavar="DAYS",
    help="With --expiring: also those expiring within DAYS.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records (or the chain check) as JSON.")
def history(
    ledger_path: Path | None,
    model_sha: str | None,
    data_sha: str | None,
    policy_id: str | None,
    action: str | None,
    check_chain: bool,
    against: Path | None,
    expiring: bool,
    as_of: str | None,
    within: int,
    as_json: bool,
) -> None:
    """List the audits recorded in the ledger, or check that nobody edited or deleted one."""
    from audit.signing.ledger import Ledger, default_path, matches

    ledger = Ledger(ledger_path or default_path())
    if against is not None and not check_chain:
        raise UsageError("--against checks the ledger against a report: add --verify")
    if (as_of is not None or within) and not expiring:
        raise UsageError("--as-of and --within apply to --expiring: add --expiring")
    if expiring:
        if check_chain:
            raise UsageError("--expiring lists audits; --verify checks the chain: use one of them")
        _print_expiring(ledger, as_of=as_of, within=within, as_json=as_json, policy_id=policy_id)
        return
    if check_chain:
        anchor = _ledger_anchor(against) if against is not None else None
        check = ledger.verify()
        problems, own = list(check.problems), None
        if anchor is not None:
            from audit.signing.ledger import results_sha256

            own, missing = ledger.check_anchor(anchor[0], results_sha256(anchor[1]))
            problems += missing
        ok = not problems
        if as_json:
            payload = {"ok": ok, "records": check.records, "head": check.head, "problems": problems}
            if anchor is not None:
                payload["against"] = {"file": str(against), "anchor": anchor[0], "audit_record": own}
            _echo(json.dumps(payload, indent=2, sort_keys=True))
        else:
            for problem in problems:
                _echo(f"problem: {problem}")
            if anchor is not None and ok:
                _echo(
                    f"{against}: the ledger still holds the head its audit recorded (record "
                    f"{anchor[0]['seq']}) and the audit's own record ({own})"
                )
            _echo(f"{ledger.path}: {'INTACT' if ok else 'BROKEN'} — {check.records} record(s), head {check.head}")
        raise SystemExit(0 if ok else 1)
    chosen = [
        r
        for r in ledger.records()
        if matches(r, model_sha=model_sha, data_sha=data_sha, policy_id=policy_id, action=action)
    ]
    if as_json:
        _echo(json.dumps([{"seq": r.seq, "hash": r.hash, **r.body} for r in chosen], indent=2, sort_keys=True))
        return
    if not chosen:
        _echo("no matching records")
        return
    for r in chosen:
        b = r.body
        inputs = b.get("inputs") or {}
        pol = b.get("policy") or {}
        short = {k: (v or "")[:12] for k, v in inputs.items() if k in ("dataset", "model")}
        parts = [
            f"{r.seq:>5}",
            b.get("time", "?"),
            f"{b.get('action', '?'):<6}",
            f"{b.get('verdict') or '-':<17}",
            f"policy {pol.get('id') or '-'} {pol.get('version') or ''}".rstrip(),
            f"data {short.get('dataset') or '-'}",
            f"model {short.get('model') or '-'}",
            f"report {(b.get('report_sha256') or '-')[:12]}",
            f"by {b.get('user', '?')}",
        ]
        if b.get("signer"):
            parts.append(f"signed {b['signer']}")
        _echo("  ".join(parts))


def _print_expiring(ledger: Ledger, *, as_of: str | None, within: int, as_json: bool, policy_id: str | None) -> None:
    """`history --expiring`: the audits past their policy's validity, oldest first."""
    from audit.signing.ledger import expiring

    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise UsageError(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}", hint="e.g. --as-of 2025-12-31") from None
    records = [r for r in ledger.records() if policy_id is None or (r.body.get("policy") or {}).get("id") == policy_id]
    found = expiring(records, as_of=day, within_days=within)
    if as_json:
        rows = [
            {"seq": e.record.seq, "valid_until": e.valid_until.isoformat(), "superseded_by": e.superseded_by}
            | {k: e.record.body.get(k) for k in ("audit_date", "policy", "system", "inputs", "verdict")}
            for e in found
        ]
        _echo(json.dumps({"as_of": day.isoformat(), "within_days": within, "audits": rows}, indent=2, sort_keys=True))
        return
    if not found:
        _echo(f"no audit past its validity on {day.isoformat()}" + (f" or within {within} days" if within else ""))
        return
    for e in found:
        b = e.record.body
        pol = b.get("policy") or {}
        system = b.get("system") or {}
        what = (
            " ".join(str(v) for v in (system.get("name"), system.get("version")) if v)
            or (f"model {(b.get('inputs') or {}).get('model') or '-'}"[:18])
        )
        state = "expired" if e.valid_until < day else "expires"
        _echo(
            "  ".join(
                [
                    f"{e.record.seq:>5}",
                    f"audit {b.get('audit_date', '?')}",
                    f"{state} after {e.valid_until.isoformat()}",
                    f"policy {pol.get('id') or '-'} {pol.get('version') or ''}".rstrip(),
                    what,
                    f"{b.get('verdict') or '-'}",
                    f"superseded by record {e.superseded_by}" if e.superseded_by else "NOT RE-AUDITED",
                ]
            )
        )


@cli.group(context_settings=CONTEXT)
def policy() -> None:
    """List, show and validate policies."""


@policy.command("list")
def policy_list() -> None:
    """List the policies shipped with Fairgate."""
    from audit.policy.load import load_policy, shipped_policies

    for pid in shipped_policies():
        _echo(f"{pid:<24} {load_policy(pid).policy.title}")


@policy.command("show")
@click.argument("ref")
def policy_show(ref: str) -> None:
    """Print a policy (shipped id or file) as resolved (after `extends`), with every default filled in."""
    import yaml

    from audit.policy.load import load_policy

    loaded = load_policy(ref)
    for entry in loaded.extends:
        _echo(f"# extends {entry.source} ({entry.path}, sha256 {entry.sha256})")
    # resolved: `extends`/`remove` have been applied (the lines above say from which files)
    document = loaded.policy.model_dump(mode="json", exclude={"extends", "remove"})
    _echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@policy.command("validate")
@click.argument("files", nargs=-1, required=True)
@click.option("--as-of", metavar="YYYY-MM-DD", help="Judge waiver expiry on this date (default: today in UTC).")
def policy_validate(files: Sequence[str], as_of: str | None) -> None:
    """Validate policy files; exit 0 when all are valid, 2 otherwise (an expired waiver is an error)."""
    from audit.judge.waivers import check_not_expired
    from audit.policy.load import load_policy

    failed = 0
    for ref in files:
        try:
            loaded = load_policy(ref)
            check_not_expired(loaded, as_of)
        except FairgateError as exc:
            failed += 1
            # every problem of the file on its own line (file:line: key: message), then one hint
            for problem in exc.problems if isinstance(exc, PolicyError) else (exc.message,):
                _echo(f"error: {problem}", err=True)
            if exc.hint:
                _echo(f"hint: {exc.hint}", err=True)
        else:
            _echo(f"ok: {ref} ({loaded.policy.id} {loaded.policy.version})")
    raise SystemExit(EXIT_CANNOT_RUN if failed else 0)


@policy.command("schema")
def policy_schema() -> None:
    """Print the policy language as JSON Schema (for editor autocompletion)."""
    from audit.policy.schema import Policy

    _echo(json.dumps(Policy.model_json_schema(), indent=2, sort_keys=True))


@cli.group(context_settings=CONTEXT)
def proxy() -> None:
    """Estimate race/ethnicity probabilities where the data has none (docs/proxy.md)."""


@proxy.command("bisg")
@click.option("--data", required=True, type=click.Path(path_type=Path), metavar="FILE", help="CSV or Parquet file.")
@click.option("--surname", required=True, metavar="COLUMN", help="Column of family names.")
@click.option("--zcta", metavar="COLUMN", help="Column of ZIP codes (5 digits; ZIP+4 and lost leading zeros accepted).")
@click.option("--tract", metavar="STATE,COUNTY,TRACT", help="The three columns of census tract FIPS codes.")
@click.option("--first-name", metavar="COLUMN", help="Column of first names: BIFSG instead of BISG.")
@click.option(
    "--geo-table",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="P(area | race) table to use instead of the shipped 2010 one (same columns), e.g. 2020 geography.",
)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), metavar="FILE", help="Output .csv, .csv.gz or .parquet."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def proxy_bisg(
    data: Path,
    surname: str,
    zcta: str | None,
    tract: str | None,
    first_name: str | None,
    geo_table: Path | None,
    out: Path,
    as_json: bool,
) -> None:
    """Write --data plus p_white, p_black, p_api, p_native, p_multiple, p_hispanic (BISG, or BIFSG
    with --first-name), and print how many rows fell back to surname or geography alone."""
    from audit.inputs.proxy import estimate_bisg_file

    if (zcta is None) == (tract is None):
        raise UsageError(
            "give exactly one geography: --zcta COLUMN or --tract STATE,COUNTY,TRACT",
            hint="BISG needs where each person lives: a ZIP code column, or the three census tract columns",
        )
    summary = estimate_bisg_file(
        data=data,
        out=out,
        surname=surname,
        zcta=zcta,
        tract=[c.strip() for c in tract.split(",")] if tract else None,
        first_name=first_name,
        geo_table=geo_table,
    )
    if as_json:
        _echo(json.dumps(summary.as_dict(), indent=2))
    else:
        for line in summary.lines():
            _echo(line)
        _echo(f"wrote {out}")


@proxy.command("quality")
@click.option("--data", required=True, type=click.Path(path_type=Path), metavar="FILE", help="CSV or Parquet file.")
@click.option(
    "--self-reported", required=True, metavar="COLUMN", help="Column of self-reported values (empty: not reported)."
)
@click.option(
    "--proba",
    metavar="COLUMNS",
    help="Comma-separated probability columns, one per group, named p_<group> "
    "(default: the six written by `proxy bisg`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the quality as JSON (with the calibration tables).")
def proxy_quality_command(data: Path, self_reported: str, proba: str | None, as_json: bool) -> None:
    """How well probability columns (BISG or any proxy) match the self-reported values where the data
    has both: per-group AUC, Brier score and a calibration table."""
    from audit.inputs.dataset import load_dataset
    from audit.inputs.proxy import PROBABILITY_COLUMNS, read_probabilities
    from audit.measures.proxy_quality import proxy_quality
    from audit.tables.proba import TOLERANCE
    from audit.util.suggest import columns_hint

    columns = [c.strip() for c in proba.split(",")] if proba else list(PROBABILITY_COLUMNS)
    frame = load_dataset(Path(data), text_columns=[self_reported])
    if self_reported not in frame.columns:
        raise UsageError(
            f"{data}: no column named {self_reported!r}",
            hint=columns_hint([self_reported], frame.columns, lead="the file has"),
        )
    matrix = read_probabilities(frame, columns, source=str(data), tolerance=TOLERANCE)
    groups = [c.removeprefix("p_") for c in columns]
    from audit.tables.labelled import check_names_a_group

    check_names_a_group(frame[self_reported], groups, column=self_reported, feature="the proxy", source=str(data))
    quality = proxy_quality(matrix, groups, frame[self_reported])
    if as_json:
        _echo(json.dumps(quality.as_dict(), indent=2))
    else:
        for line in quality.lines():
            _echo(line)


# --- helpers -------------------------------------------------------------------------------


def _engine_options(opts: dict[str, Any]) -> EngineOptions:
    from audit.tables.engines.interface import EngineOptions

    return EngineOptions(
        memory_limit=opts["memory_limit"],
        temp_directory=opts["temp_directory"],
        spark_master=opts["spark_master"],
        threshold=opts["engine_threshold"],
    )


#: The arguments ``main`` was called with (None: the process's own, sys.argv), for the evidence.
_ARGV: list[str] | None = None


def _command_line() -> list[str]:
    if _ARGV is not None:
        return ["fairgate", *_ARGV]
    return ["fairgate", *sys.argv[1:]] if sys.argv and sys.argv[0] else ["fairgate"]


def _passphrase(*, confirm: bool = False) -> bytes | None:
    """From $FAIRGATE_KEY_PASSPHRASE, a file named by $FAIRGATE_KEY_PASSPHRASE_FILE (a mounted
    secret), or a hidden prompt on a terminal; never from argv."""
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV].encode()
    secret_file = os.environ.get(PASSPHRASE_ENV + "_FILE")
    if secret_file:
        try:
            return Path(secret_file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise SigningError(f"{secret_file}: cannot read the passphrase file ({exc.strerror})") from None
    if sys.stdin.isatty():
        return click.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True).encode()
    return None


def _load_signer(key: Path, *, cert: Path | None = None, chain: Sequence[Path] = ()) -> Signer:
    from audit.signing.keys import KeyOpenError, load_signer

    if not Path(key).is_file():
        raise SigningError(
            f"{key}: no such key file", hint="check the path; `fairgate keygen --out KEY.p12` makes a development key"
        )
    passphrase = _passphrase()
    try:
        return load_signer(Path(key), passphrase=passphrase, cert=cert, chain=tuple(chain))
    except KeyOpenError:
        if passphrase is None:
            raise SigningError(
                f"{key}: the key needs a passphrase: {PASSPHRASE_ENV} is not set and there is no terminal to ask",
                hint=f"set {PASSPHRASE_ENV} (for example from your CI's secret store)",
            ) from None
        raise


def _open_ledger(path: Path | None, disabled: bool, *, create: bool = False) -> Ledger | None:
    """The ledger to append to, checked writable before any work is done; None when disabled.

    A ledger the user named (--ledger or $FAIRGATE_LEDGER) must work, or the command stops (exit 2),
    and its directory must exist unless --ledger-create: a mistyped path would otherwise start a new,
    empty ledger unnoticed. The default one in the home directory is created as needed and is best
    effort: a warning, and the command goes on.
    """
    if disabled:
        return None
    from audit.signing.ledger import Ledger, LedgerError, default_path, require_directory

    if path is not None and not create:
        require_directory(Path(path))

    ledger = Ledger(path or default_path())
    try:
        ledger.ensure_writable()
    except LedgerError as exc:
        if path is not None:
            raise
        _echo(f"warning: not recording in the audit ledger: {exc.message}", err=True)
        return None
    return ledger


def _append_ledger(ledger: Ledger, entry: dict[str, Any]) -> None:
    from audit.signing.ledger import LedgerError

    try:
        ledger.append(entry)
    except LedgerError as exc:
        # the outputs are complete and in place; say loudly that the ledger missed them
        raise LedgerError(
            f"{exc.message} — the outputs were written, but this command is NOT in the ledger", hint=exc.hint
        ) from None


def _signer_name(signer: Signer | None) -> str | None:
    if signer is None:
        return None
    from audit.signing.keys import signer_description

    info = signer_description(signer)
    return f"{info['common_name']} (sha256 {info['sha256_fingerprint'][:16]})"


def _roles(text: str | None) -> list[str]:
    """``--require-role reviewer,approver`` → ["reviewer", "approver"] (repeats dropped)."""
    roles = list(dict.fromkeys(part.strip().lower() for part in (text or "").split(",") if part.strip()))
    bad = [role for role in roles if not re.fullmatch(r"[a-z][a-z0-9_]*", role)]
    if bad or (text is not None and not roles):
        raise UsageError(
            f"--require-role: {bad[0]!r} is not a role" if bad else "--require-role: no role given",
            hint="comma-separated roles, e.g. --require-role reviewer,approver",
        )
    return roles


def _json_or_none(raw: str | bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _check_tsa(url: str | None, *, signing: bool) -> str | None:
    """--tsa only timestamps a signature; a URL from the environment is simply unused when not signing."""
    if not url:
        return url
    if not signing:
        source = click.get_current_context().get_parameter_source("tsa_url")
        if source == click.core.ParameterSource.COMMANDLINE:
            raise UsageError("--tsa timestamps a signature: add --sign KEY.p12")
        return None
    from audit.signing.sign import check_tsa_url

    check_tsa_url(str(url))
    return url


RESULTS_HINT = "name a results.json that `fairgate run` wrote (in its --out directory)"


def _ledger_anchor(path: Path) -> tuple[dict, dict]:
    """The ledger head a report (its attached results.json) or a results.json recorded, and that document."""
    from audit.errors import InputError

    try:
        with Path(path).open("rb") as handle:
            is_pdf = handle.read(5) == b"%PDF-"
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", hint="pass the report (PDF) or its results.json") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if is_pdf:
        from audit.signing.verify import attached_files

        attached = attached_files(path).get("results.json")
        if attached is None:
            raise InputError(f"{path}: no results.json is attached to this report")
        try:
            document = json.loads(attached)
        except ValueError:
            raise InputError(f"{path}: the attached results.json is not valid JSON") from None
    else:
        document = _read_results(path)
    anchor = document.get("ledger") if isinstance(document, dict) else None
    if not isinstance(anchor, dict):
        raise InputError(
            f"{path}: the audit recorded no ledger head (it ran with --no-ledger, without a "
            "ledger, or before Fairgate recorded one)",
            hint="check the ledger alone with `fairgate history --verify`",
        )
    return anchor, document


def _read_results(path: Path) -> dict:
    from audit.errors import InputError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", hint=RESULTS_HINT) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable results.json ({str(exc).splitlines()[0]})", hint=RESULTS_HINT
        ) from None
    except RecursionError:  # JSON nested thousands of levels deep
        raise InputError(f"{path}: not a readable results.json (nested too deeply)", hint=RESULTS_HINT) from None
    if not isinstance(document, dict) or "groups" not in document:
        raise InputError(f"{path}: not a Fairgate results.json", hint=RESULTS_HINT)
    return document


def _compare_alternatives(
    paths: tuple[Path, ...], *, as_json: bool, markdown: Path | None, performance: str, chart: Path | None
) -> None:
    from audit.judge.alternatives import alternatives_document, compare_alternatives
    from audit.util.atomic import write_bytes

    view = compare_alternatives([(str(p), _read_results(p)) for p in paths], performance=performance)
    doc = alternatives_document(view)
    if markdown is not None:
        from audit.report.markdown import render_alternatives_markdown

        write_bytes(markdown, render_alternatives_markdown(doc).encode())
    if chart is not None:
        from audit.report.charts.alternatives import alternatives_chart

        write_bytes(chart, alternatives_chart(doc))
    if as_json:
        _echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        from audit.report.markdown import alternatives_rows

        header, rows = alternatives_rows(doc)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        _echo(
            f"alternatives under policy {doc['policy']['id']} {doc['policy']['version']}: {len(rows)} candidates, "
            f"performance = {performance}; * = on the frontier"
        )
        for row in [header, *rows]:
            _echo("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _print_comparison(doc: dict) -> None:
    from audit.judge.compare import comparison_status

    regressed = [c for c in doc["changes"] if c["regressed"]]
    count = len(doc["changes"])
    plural = "" if count == 1 else "s"
    _echo(
        f"comparison with baseline: {comparison_status(doc).value} ({count} group comparison{plural})"
        + (f": {doc['reason']}" if doc.get("reason") else "")
    )
    for r in doc.get("rules") or []:
        if r["status"] == "INSUFFICIENT_DATA":  # regressed groups are listed below
            _echo(f"  {r['status']:<17} {r['rule_id']}: {r['reason']}")
    for c in regressed:
        ci = "no CI" if c["ci"] is None else f"CI {c['ci'][0]:+.3f} to {c['ci'][1]:+.3f}"
        _echo(
            f"  {c['rule_id']}: {c['group']} {c['baseline']:.3f} -> {c['candidate']:.3f} "
            f"(change {c['change']:+.3f}, {ci})"
        )


def _print_monitoring(doc: dict) -> None:
    windows = doc["windows"]
    _echo(
        f"windows ({doc['period']} of {doc['period_column']}, verdict from the {doc['verdict_from']}): "
        + ", ".join(f"{w['label']} {w['verdict']}" for w in windows)
    )
    # the latest window's drift checks are judged items, already printed with the others


def _step_summary(document: dict, *, markdown: str | None = None) -> None:
    """A Markdown summary into GitHub Actions' step summary, when it is set (appended, as Actions expects)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from audit.report.markdown import render_markdown

        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown or render_markdown(document))


def _annotate(document: dict, *, fail_on: str, strict: bool, to_stderr: bool) -> None:
    """In GitHub Actions: an annotation per item that fails the gate or deserves a look (on stderr with
    --json, whose stdout is results.json alone; the runner reads workflow commands from both)."""
    from audit.report.ci import GITHUB_ACTIONS_ENV, github_annotations

    if os.environ.get(GITHUB_ACTIONS_ENV) == "true":
        for line in github_annotations(document, fail_on=fail_on, strict=strict):
            _echo(line, err=to_stderr)


def _print_summary(result: AuditResult) -> None:
    from audit.util.display import visible
    from audit.util.progress import styled_stdout

    if styled_stdout():
        _print_rich_summary(result)
        return
    where = f"{result.rows} rows"
    if result.monitoring is not None:  # the verdict is the latest (or worst) window's: say so up front
        windows = result.monitoring.windows
        where = (
            f"{result.monitoring.verdict_from} of {len(windows)} windows; "
            f"{windows[-1].window.label}: {result.rows} rows"
        )
    _echo(
        f"verdict: {result.verdict.value}  (policy {result.policy.policy.id} {result.policy.policy.version}, {where})"
    )
    for item in result.items:  # every judged item the verdict rests on
        _echo(f"  {item.status.value:<17} {visible(item.id)}: {visible(item.message)}")
    for line in _segment_lines(result) + _proxy_notes(result):
        _echo(line)


def _proxy_notes(result: AuditResult) -> list[str]:
    """What a reader of the summary must not miss about the self-reported values: those that name no group
    (e.g. "Black or African American" for the group black) were left to the proxy."""
    from audit.util.display import visible

    proxied = result.proxy
    labelled = proxied.labelled if proxied is not None else None
    if proxied is None or labelled is None or not labelled.unmatched:
        return []
    spec = proxied.plan.spec
    return [
        f"note: {labelled.unmatched:,} value(s) of {visible(labelled.column)} name no group of "
        f"{visible(spec.feature)} and were left to the proxy ({labelled.labelled:,} matched); the groups are "
        f"{', '.join(map(visible, spec.levels))}"
    ]


def _segment_entries(result: AuditResult) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """The rules within each segment (policy ``segment_by``: evidence beside the verdict) — on the recorded
    features and on a probabilistic one — and, for a probabilistic feature, within each time window
    (counted in the window's verdict): per heading, (status, rule id, where, message) rows."""
    from audit.util.display import visible

    proxied = result.proxy
    within = []
    if result.segments is not None:
        for segment in result.segments.segments:
            for finding in segment.findings:
                within.append(
                    (finding.status.value, visible(finding.rule.id), visible(segment.label), visible(finding.message))
                )
    if proxied is not None:
        for s in proxied.segments:
            for f in s.findings:
                within.append((f.status.value, visible(f.id), visible(s.label), visible(f.message)))
    out = []
    if within:
        if result.segments is not None:
            columns = result.segments.columns
        else:
            columns = proxied.segment_by if proxied is not None else ()
        out.append(
            (f"within segments ({', '.join(columns)}; evidence only, the verdict is the pooled audit's):", within)
        )
    if proxied is not None and proxied.windows:
        from audit.flow.proxy import window_label

        rows = [
            (f.status.value, visible(f.id), f"window {visible(window_label(w))}", visible(f.message))
            for w in proxied.windows
            for f in w.findings
        ]
        out.append(("per window (each window's verdict counts them):", rows))
    return out


def _segment_lines(result: AuditResult) -> list[str]:
    """:func:`_segment_entries` as plain lines (pipes, CI logs)."""
    lines = []
    for heading, rows in _segment_entries(result):
        lines.append(heading)
        lines += [f"  {status:<17} {rule} [{where}]: {message}" for status, rule, where, message in rows]
    return lines


#: Every Status has a style (tested), so a new status cannot crash the terminal summary.
STYLE = {
    "PASS": "bold green",
    "WARN": "bold yellow",
    "FAIL": "bold red",
    "INSUFFICIENT_DATA": "bold",
    "WAIVED": "bold magenta",
    "INFO": "bold blue",
}


def _print_rich_summary(result: AuditResult) -> None:
    """A coloured verdict table, on a terminal only."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from audit.util.display import visible

    console = Console()
    table = Table(
        title=f"Fairgate — policy {result.policy.policy.id} {result.policy.policy.version}, {result.rows:,} rows",
        show_lines=True,
    )
    table.add_column("rule")
    table.add_column("status")
    table.add_column("finding", overflow="fold")
    for item in result.items:
        # ids and messages carry names from the data: escape them, never interpret them as markup
        table.add_row(
            escape(visible(item.id)),
            f"[{STYLE[item.status.value]}]{item.status.value}[/]",
            escape(visible(item.message)),
        )
    console.print(table)
    for heading, rows in _segment_entries(result):  # a table each, so that long findings wrap in their column
        part = Table(title=escape(heading), title_justify="left", show_lines=False)
        part.add_column("where")
        part.add_column("rule")
        part.add_column("status")
        part.add_column("finding", overflow="fold")
        for status, rule, where, message in rows:
            part.add_row(escape(where), escape(rule), f"[{STYLE[status]}]{status}[/]", escape(message))
        console.print(part)
    for line in _proxy_notes(result):
        console.print(escape(line), highlight=False)  # plain, as the table's cells are
    console.print(f"verdict: [{STYLE[result.verdict.value]}]{result.verdict.value}[/]")


def _log_internal_error(exc: BaseException) -> Path:
    log_dir = Path(os.environ.get("FAIRGATE_LOG_DIR") or tempfile.gettempdir())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = log_dir / f"fairgate-error-{stamp}-{os.getpid()}.log"
    try:
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        return Path("(could not write the log)")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (one error boundary for every command)."""
    # pyHanko logs whole tracebacks for expected outcomes (an untrusted signer), pypdf a warning per repair
    # of a damaged file; we report those ourselves, in one line each.
    for name in ("pyhanko", "pyhanko_certvalidator", "fontTools", "pypdf"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # py4j reports an interrupted Spark call with logging.exception on the root logger, which would
    # print a traceback to the terminal: Fairgate reports outcomes itself, in one line
    if not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
    global _ARGV
    _ARGV = [str(a) for a in argv] if argv is not None else None  # what the evidence records as the command
    try:
        with _termination_as_interrupt():
            cli.main(args=list(argv) if argv is not None else None, prog_name="fairgate", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_CANNOT_RUN
    except FairgateError as exc:
        if _terminated():
            return _interrupted(_terminated())
        _echo(f"error: {exc.message}", err=True)
        if exc.hint:
            _echo(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, EOFError):  # click turns any EOFError into Abort: not a Ctrl-C
            return _internal_error(exc.__cause__)
        return _interrupted(exc.__cause__)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "fairgate"
        _echo(f"error: {exc.format_message()}", err=True)
        _echo(f"hint: {_choice_suggestion(exc)}see '{command} --help'", err=True)
        return EXIT_CANNOT_RUN
    except click.ClickException as exc:
        _echo(f"error: {exc.format_message()}", err=True)
        return EXIT_CANNOT_RUN
    except MemoryError:
        return _out_of_memory()
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # noqa: BLE001 - the boundary for the unexpected
        if _terminated():  # e.g. Spark's JVM got the same SIGTERM (its process group) and went first
            return _interrupted(_terminated())
        if _is_out_of_memory(exc):
            return _out_of_memory()
        return _internal_error(exc)
    return 0


def _terminated() -> BaseException | None:
    """The termination signal this command received, if any: a failure after it is its consequence."""
    from audit.errors import RECEIVED, interruption

    return interruption() if RECEIVED else None


def _echo(message: object = "", **kwargs: Any) -> None:
    """Every line the CLI prints: text from the data (group values, column and file names) shows
    control and format characters as visible escapes, so the data cannot drive the terminal."""
    from audit.util.display import visible

    click.echo(visible(str(message), multiline=True), **kwargs)


def _interrupted(exc: BaseException | None) -> int:
    """Ctrl-C, SIGTERM or SIGHUP: every temporary file is gone, the previous outputs untouched."""
    from audit.errors import Terminated

    _echo(f"interrupted ({exc.name})" if isinstance(exc, Terminated) else "interrupted", err=True)
    return EXIT_INTERRUPTED


@contextlib.contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Terminated`` (a KeyboardInterrupt) for the command's duration, so
    they unwind like Ctrl-C: temporary files removed, DuckDB and Spark work cancelled, exit 130."""
    import signal
    import threading

    from audit.errors import RECEIVED, Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    RECEIVED.clear()

    def terminate(signum: int, _frame: object) -> None:
        RECEIVED.append(signum)
        raise Terminated(signum)

    previous = {
        sig: signal.signal(sig, terminate)
        for sig in (getattr(signal, n, None) for n in ("SIGTERM", "SIGHUP"))
        if sig is not None
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _is_out_of_memory(exc: BaseException) -> bool:
    """A lazy import or a mapping refused under a memory cap is not a bug in Fairgate."""
    import errno

    return (isinstance(exc, OSError) and exc.errno == errno.ENOMEM) or (
        isinstance(exc, ImportError) and "failed to map segment" in str(exc)
    )


def _out_of_memory() -> int:
    from audit.inputs.dataset import MEMORY_HINT

    _echo("error: not enough memory for this audit (the process hit its memory limit)", err=True)
    _echo(f"hint: {MEMORY_HINT}", err=True)
    return EXIT_CANNOT_RUN


def _choice_suggestion(exc: click.UsageError) -> str:
    """'did you mean 'duckdb'? ' for a mistyped value of an option with fixed choices, else ''."""
    import re

    from audit.util.suggest import did_you_mean

    param = getattr(exc, "param", None)
    if param is None or not isinstance(param.type, click.Choice):
        return ""
    found = re.match(r"'(.*)' is not one of", exc.message)
    return did_you_mean(found.group(1), param.type.choices) if found else ""


def _internal_error(exc: BaseException) -> int:
    log = _log_internal_error(exc)
    _echo(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} (traceback in {log})", err=True)
    return EXIT_INTERNAL
