"""The ``fairgate`` command line: parse, call the pipeline, print, map to an exit code.

No statistics here. Heavy libraries (scikit-learn, matplotlib, WeasyPrint, pyHanko) are imported
inside the commands that need them so that ``fairgate --help`` starts fast.

Exit codes: 0 pass · 1 a blocking rule failed (or, for ``verify``, the signature check failed)
· 2 cannot run · 3 unexpected internal error (traceback written to a log file) · 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from audit.errors import (
    EXIT_CANNOT_RUN,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    FairgateError,
    SigningError,
    UsageError,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: Every option can also be set as FAIRGATE_<COMMAND>_<OPTION>, e.g. FAIRGATE_RUN_POLICY=four-fifths.
ENV_PREFIX = "FAIRGATE"
PASSPHRASE_ENV = "FAIRGATE_KEY_PASSPHRASE"


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
@click.option("--data", "data", required=True, type=click.Path(path_type=Path),
              help="Labeled dataset: .csv, .csv.gz, .tsv or .parquet.")
@click.option("--policy", required=True, help="Shipped policy id (see `fairgate policy list`) or a YAML file.")
@click.option("--model", type=click.Path(path_type=Path), help="Model file: .skops or .onnx (pickle only with --trust-pickle).")  # noqa: E501
@click.option("--predictions", metavar="COLUMN", help="Column holding the model's decisions (instead of --model).")
@click.option("--scores", metavar="COLUMN", help="Column holding scores; decision = score >= --threshold.")
@click.option("--threshold", metavar="T|median",
              help="Decision threshold for --scores (score >= T), or 'median' for NYC LL144 scoring rates.")
@click.option("--label", metavar="COLUMN", help="True-outcome column (overrides the policy's).")
@click.option("--positive-label", metavar="VALUE", help="Value meaning the favourable outcome (e.g. '>50K', 1).")
@click.option("--sensitive", metavar="COLUMN", multiple=True, help="Sensitive feature column; repeat for several.")
@click.option("--features", metavar="COL,COL", help="Model input columns, when the model does not record them.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("audit-out"), show_default=True,
              help="Output directory for results.json and report.pdf.")
@click.option("--sign", "sign_key", type=click.Path(path_type=Path), metavar="KEY.p12",
              help=f"Sign the report with this PKCS#12 key (passphrase from ${PASSPHRASE_ENV} or a prompt).")
@click.option("--sign-cert", type=click.Path(path_type=Path), metavar="CERT.pem",
              help="With a PEM key for --sign: its certificate.")
@click.option("--sign-chain", type=click.Path(path_type=Path), multiple=True, metavar="CA.pem",
              help="With a PEM key: intermediate CA certificates; repeat for several.")
@click.option("--trust-pickle", metavar="SHA256", help="Allow loading a pickle/joblib model whose sha256 is exactly this.")  # noqa: E501
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for anything random (bootstrap).")
@click.option("--no-pdf", is_flag=True, help="Write results.json and summary.md only.")
@click.option("--fail-on", type=click.Choice(["fail", "warn"]), default="fail", show_default=True,
              help="Which findings fail the gate (exit 1): blocking failures only, or warnings too.")
@click.option("--strict", is_flag=True, help="INSUFFICIENT_DATA fails the gate too.")
@click.option("--junit", type=click.Path(path_type=Path), metavar="FILE", help="Also write JUnit XML (one case per rule).")  # noqa: E501
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of the human summary.")
@click.option("--baseline", type=click.Path(path_type=Path), metavar="RESULTS.json",
              help="Compare with a baseline model's results.json; a blocking regression fails the gate.")
@click.option("--task", type=click.Choice(["classification", "regression"]),
              help="classification (binary decisions, the default) or regression (numeric predictions and outcomes).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (the exit code tells the verdict).")
@click.option("-v", "--verbose", is_flag=True, help="Show how long each stage took.")
@click.option("--engine", type=click.Choice(["auto", "numpy", "duckdb", "spark"]), default="auto", show_default=True,
              help="Who counts the rows: numpy (in memory), duckdb (out of core), spark (cluster). Same results.")
@click.option("--engine-threshold", type=float, metavar="SHARE",
              help="auto: Parquet larger than this share of RAM goes to DuckDB (default 0.1 or $FAIRGATE_ENGINE_THRESHOLD).")  # noqa: E501
@click.option("--memory-limit", metavar="SIZE", help="DuckDB memory limit, e.g. 2GB (it spills to --temp-directory).")
@click.option("--temp-directory", type=click.Path(path_type=Path), metavar="DIR", help="DuckDB spill directory.")
@click.option("--spark-master", metavar="URL", help="Spark master (default local[*]; an active session is reused).")
def run(**opts: object) -> None:
    """Audit a model (or a predictions/score column) on labeled data against a policy."""
    from audit.progress import make_step

    if opts["sign_key"] and opts["no_pdf"]:
        raise UsageError("--sign needs a report to sign: drop --no-pdf")
    if opts["junit"]:
        _check_writable(Path(str(opts["junit"])), "--junit")
    signer = (_load_signer(opts["sign_key"], cert=opts["sign_cert"], chain=opts["sign_chain"])
              if opts["sign_key"] else None)
    features = [f.strip() for f in str(opts["features"]).split(",") if f.strip()] if opts["features"] else None
    step, close = make_step(quiet=bool(opts["quiet"] or opts["as_json"]), verbose=bool(opts["verbose"]))
    try:
        exit_code = _run(opts, step, signer, features)
    finally:
        close()
    raise SystemExit(exit_code)


def _run(opts, step, signer, features) -> int:  # type: ignore[no-untyped-def]
    from audit.pipeline import run_audit

    result = run_audit(
        data=opts["data"], policy=opts["policy"], model=opts["model"],
        predictions=opts["predictions"], scores=opts["scores"], threshold=opts["threshold"],
        label=opts["label"], positive_label=opts["positive_label"], sensitive=opts["sensitive"],
        features=features, trust_pickle=opts["trust_pickle"], seed=opts["seed"],
        command=_command_line(), fail_on=opts["fail_on"], strict=opts["strict"], progress=step, task=opts["task"],
        engine=opts["engine"], engine_options=_engine_options(opts),
    )
    from audit.outputs import write_outputs

    document = result.to_dict()
    exit_code = result.exit_code
    if opts["baseline"]:
        from audit.compare import compare_documents, comparison_document

        baseline = _read_results(Path(str(opts["baseline"])))
        changes, pol = compare_documents(baseline, document, policy=result.policy.policy, seed=result.seed)
        document["comparison"] = comparison_document(changes, pol, baseline, document)
        if document["comparison"]["blocking_regression"]:
            exit_code = document["exit_code"] = 1
    with step("rendering and signing the report" if signer else "writing the report"):
        written = write_outputs(document, opts["out_dir"], signer=signer, pdf=not opts["no_pdf"])
    _ci_outputs(document, junit=opts["junit"], fail_on=str(opts["fail_on"]), strict=bool(opts["strict"]))
    if opts["as_json"]:
        click.echo(written.results.read_text(encoding="utf-8"), nl=False)
    elif not opts["quiet"]:
        _print_summary(result)
        click.echo(f"results: {written.results}")
        if written.report:
            click.echo(f"report:  {written.report}{'' if written.signed else ' (UNSIGNED DRAFT)'}")
        if "comparison" in document:
            _print_comparison(document["comparison"])
    return exit_code


@cli.command(context_settings=CONTEXT)
@click.argument("baseline", type=click.Path(path_type=Path))
@click.argument("candidate", type=click.Path(path_type=Path))
@click.option("--policy", "policy_ref", help="Judge both under this policy (default: the candidate's own).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--markdown", type=click.Path(path_type=Path), metavar="FILE", help="Also write a Markdown summary.")
def compare(baseline: Path, candidate: Path, policy_ref: str | None, seed: int, as_json: bool,
            markdown: Path | None) -> None:
    """Is the candidate model worse than the baseline? Compares two results.json files.

    Exit 1 when a blocking rule regressed beyond the policy's max_regression and noise.
    """
    from audit.compare import compare_documents, comparison_document

    policy = None
    if policy_ref:
        from audit.policy.load import load_policy

        policy = load_policy(policy_ref).policy
    base_doc, cand_doc = _read_results(baseline), _read_results(candidate)
    changes, pol = compare_documents(base_doc, cand_doc, policy=policy, seed=seed)
    doc = comparison_document(changes, pol, base_doc, cand_doc)
    if markdown is not None:
        from audit.atomic import write_bytes
        from audit.report.markdown import render_comparison_markdown

        write_bytes(markdown, render_comparison_markdown(doc).encode())
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        _print_comparison(doc)
    raise SystemExit(1 if doc["blocking_regression"] else 0)


@cli.command(context_settings=CONTEXT)
@click.argument("report", type=click.Path(path_type=Path))
@click.option("--trust", "trust", multiple=True, type=click.Path(path_type=Path), metavar="CERT.pem",
              help="Trusted root or signer certificate; repeat for several.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
@click.option("--recompute", is_flag=True, help="Re-run the recorded audit on --data/--model and compare the evidence.")
@click.option("--data", "data", type=click.Path(path_type=Path), help="With --recompute: the audited dataset.")
@click.option("--model", "model", type=click.Path(path_type=Path), help="With --recompute: the audited model.")
def verify(report: Path, trust: tuple[Path, ...], as_json: bool, recompute: bool, data: Path | None,
           model: Path | None) -> None:
    """Check a report's signatures and attached evidence. Exit 0 valid, 1 invalid, 2 cannot check."""
    from audit.signing.verify import attached_files, verify_pdf

    checked = verify_pdf(report, trust_roots=trust)
    problems = list(checked.problems)
    attachments = attached_files(report)
    evidence = attachments.get("results.json")
    if evidence is None:
        problems.append("results.json is not attached to the report")
    else:
        try:
            json.loads(evidence)
        except ValueError:
            problems.append("the attached results.json is not valid JSON")
    if recompute:
        if data is None:
            raise UsageError("--recompute needs --data (and --model when the audit used one)")
        if evidence is not None:
            from audit.recompute import recompute as rerun

            problems += list(rerun(json.loads(evidence), data=data, model=model).problems)
    ok = checked.ok and not problems[len(checked.problems):]
    if as_json:
        payload = checked.to_dict() | {"ok": ok, "problems": problems}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        for sig in checked.to_dict().get("signatures", []):
            click.echo(f"signature {sig.get('field_name')}: {sig.get('role') or '(role unknown)'} — "
                       f"{sig.get('signer') or '(signer unreadable)'} at {sig.get('signing_time') or '(time unreadable)'}")  # noqa: E501
        for problem in problems:
            click.echo(f"problem: {problem}")
        if "not signed" in problems:
            click.echo("This is an UNSIGNED DRAFT: sign it with `fairgate run … --sign KEY.p12`.")
        if recompute and ok:
            click.echo("recomputed: the same results from the same inputs (hashes match)")
        click.echo(f"{report}: {'VALID' if ok else 'INVALID'}")
    raise SystemExit(0 if ok else 1)


@cli.command(context_settings=CONTEXT)
@click.argument("report", type=click.Path(path_type=Path))
@click.option("--key", "key", required=True, type=click.Path(path_type=Path), metavar="KEY.p12",
              help=f"The countersigner's PKCS#12 key (passphrase from ${PASSPHRASE_ENV} or a prompt).")
@click.option("--role", type=click.Choice(["reviewer", "approver"]), required=True, help="Who is signing.")
@click.option("--reason", help="Why (default: 'Fairgate audit report: <role>').")
@click.option("--trust", "trust", multiple=True, type=click.Path(path_type=Path), metavar="CERT.pem",
              help="Certificates the existing signatures must chain to; repeat for several.")
def sign(report: Path, key: Path, role: str, reason: str | None, trust: tuple[Path, ...]) -> None:
    """Countersign a report (reviewer or approver) as a further incremental signature.

    Refuses a report whose existing signatures do not verify against --trust.
    """
    from audit.signing.sign import sign_pdf
    from audit.signing.verify import verify_pdf

    checked = verify_pdf(report, trust_roots=trust)
    if not checked.signatures:
        raise UsageError(f"{report}: not signed yet: the author signs with `fairgate run … --sign`")
    if not checked.ok:
        raise SigningError(f"{report}: refusing to countersign: {checked.problems[0]}",
                           hint="pass the existing signers' certificates with --trust")
    signer = _load_signer(key)
    sign_pdf(report, report, signer=signer, role=role, reason=reason)
    click.echo(f"{report}: countersigned as {role}; verify with `fairgate verify {report} --trust …`")


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
    click.echo(f"key:         {files.p12}")
    click.echo(f"certificate: {files.cert_pem}  (pass to `fairgate verify --trust`)")
    click.echo("This key is for development only: its certificate says so and reports signed with it show it.")


@cli.group(context_settings=CONTEXT)
def policy() -> None:
    """List, show and validate policies."""


@policy.command("list")
def policy_list() -> None:
    """List the policies shipped with Fairgate."""
    from audit.policy.load import load_policy, shipped_policies

    for pid in shipped_policies():
        click.echo(f"{pid:<24} {load_policy(pid).policy.title}")


@policy.command("show")
@click.argument("ref")
def policy_show(ref: str) -> None:
    """Print a policy (shipped id or file) as validated, with every default filled in."""
    import yaml

    from audit.policy.load import load_policy

    document = load_policy(ref).policy.model_dump(mode="json")
    click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@policy.command("validate")
@click.argument("files", nargs=-1, required=True)
def policy_validate(files: Sequence[str]) -> None:
    """Validate policy files; exit 0 when all are valid, 2 otherwise."""
    from audit.policy.load import load_policy

    failed = 0
    for ref in files:
        try:
            loaded = load_policy(ref)
        except FairgateError as exc:
            failed += 1
            click.echo(f"error: {exc.message}", err=True)
        else:
            click.echo(f"ok: {ref} ({loaded.policy.id} {loaded.policy.version})")
    raise SystemExit(EXIT_CANNOT_RUN if failed else 0)


@policy.command("schema")
def policy_schema() -> None:
    """Print the policy language as JSON Schema (for editor autocompletion)."""
    from audit.policy.schema import Policy

    click.echo(json.dumps(Policy.model_json_schema(), indent=2, sort_keys=True))


# --- helpers -------------------------------------------------------------------------------

def _engine_options(opts):  # type: ignore[no-untyped-def]
    from audit.tables.engines.interface import EngineOptions

    return EngineOptions(memory_limit=opts["memory_limit"], temp_directory=opts["temp_directory"],
                         spark_master=opts["spark_master"], threshold=opts["engine_threshold"])


def _command_line() -> list[str]:
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
        return click.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm,
                            err=True).encode()
    return None


def _load_signer(key: Path, *, cert: Path | None = None, chain: Sequence[Path] = ()):  # type: ignore[no-untyped-def]
    from audit.signing.keys import load_signer

    if not Path(key).is_file():
        raise SigningError(f"{key}: no such key file")
    passphrase = _passphrase()
    try:
        return load_signer(Path(key), passphrase=passphrase, cert=cert, chain=tuple(chain))
    except SigningError:
        if passphrase is None:
            raise SigningError(
                f"{key}: the key needs a passphrase: {PASSPHRASE_ENV} is not set and there is no terminal to ask",
                hint=f"set {PASSPHRASE_ENV} (for example from your CI's secret store)",
            ) from None
        raise


def _check_writable(path: Path, option: str) -> None:
    """Refuse an unwritable extra output before anything is written (no partial output)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path}: cannot write there (no such directory or not writable)")


def _read_results(path: Path) -> dict:
    from audit.errors import InputError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable results.json ({str(exc).splitlines()[0]})") from None
    if not isinstance(document, dict) or "groups" not in document:
        raise InputError(f"{path}: not a Fairgate results.json")
    return document


def _print_comparison(doc: dict) -> None:
    regressed = [c for c in doc["changes"] if c["regressed"]]
    state = "REGRESSED" if regressed else "no regression"
    click.echo(f"comparison with baseline: {state} ({len(doc['changes'])} group comparisons)")
    for c in regressed:
        click.echo(f"  {c['rule_id']}: {c['group']} {c['baseline']:.3f} -> {c['candidate']:.3f} "
                   f"(change {c['change']:+.3f}, CI {c['ci'][0]:+.3f} to {c['ci'][1]:+.3f})")


def _ci_outputs(document: dict, *, junit: Path | None, fail_on: str, strict: bool) -> None:
    """JUnit XML when asked; a Markdown summary into GitHub Actions' step summary when set."""
    if junit is not None:
        from audit.atomic import write_bytes
        from audit.report.junit import render_junit

        write_bytes(Path(junit), render_junit(document, fail_on=fail_on, strict=strict))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from audit.report.markdown import render_markdown

        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(document))


def _print_summary(result) -> None:  # type: ignore[no-untyped-def]
    from audit.progress import interactive

    if interactive():
        _print_rich_summary(result)
        return
    click.echo(f"verdict: {result.verdict.value}  (policy {result.policy.policy.id} {result.policy.policy.version}, "
               f"{result.rows} rows)")
    for finding in result.findings:
        click.echo(f"  {finding.status.value:<17} {finding.rule.id}: {finding.message}")
    for rep in result.representation:
        click.echo(f"  {rep.status:<17} {rep.check.id}: {rep.message}")


_STYLE = {"PASS": "bold green", "WARN": "bold yellow", "FAIL": "bold red", "INSUFFICIENT_DATA": "bold"}


def _print_rich_summary(result) -> None:  # type: ignore[no-untyped-def]
    """A coloured verdict table, on a terminal only."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title=f"Fairgate — policy {result.policy.policy.id} {result.policy.policy.version}, "
                        f"{result.rows:,} rows", show_lines=True)
    table.add_column("rule")
    table.add_column("status")
    table.add_column("finding", overflow="fold")
    for f in result.findings:
        # rule ids and messages carry names from the data: escape them, never interpret them as markup
        table.add_row(escape(f.rule.id), f"[{_STYLE[f.status.value]}]{f.status.value}[/]", escape(f.message))
    for rep in result.representation:
        table.add_row(escape(rep.check.id), f"[{_STYLE[rep.status]}]{rep.status}[/]", escape(rep.message))
    console.print(table)
    console.print(f"verdict: [{_STYLE[result.verdict.value]}]{result.verdict.value}[/]")


def _log_internal_error() -> Path:
    log_dir = Path(os.environ.get("FAIRGATE_LOG_DIR") or tempfile.gettempdir())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = log_dir / f"fairgate-error-{stamp}-{os.getpid()}.log"
    try:
        path.write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        return Path("(could not write the log)")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (one error boundary for every command)."""
    # pyHanko logs whole tracebacks for expected outcomes (an untrusted signer); we report those
    # ourselves, in one line each.
    for name in ("pyhanko", "pyhanko_certvalidator", "fontTools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="fairgate", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_CANNOT_RUN
    except FairgateError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the boundary for the unexpected
        log = _log_internal_error()
        click.echo(f"internal error: {type(exc).__name__}: {exc} (traceback in {log})", err=True)
        return EXIT_INTERNAL
    return 0
