"""The command line's option groups, declared once and shared: ``data_options`` (--data, --policy, --model,
--trust-pickle), ``role_options`` (column roles), ``audit_options`` (seed, gate, dates, time windows,
baseline), ``engine_options`` and ``output_options``. `run` takes every option; `monitor` and
`verify --recompute` take some of them, with their own help texts where they differ.

Only Click here (no heavy imports): ``fairgate --help`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

PASSPHRASE_ENV = "FAIRGATE_KEY_PASSPHRASE"
#: One timestamp authority for `run --sign` and `sign` (FAIRGATE_RUN_TSA_URL / FAIRGATE_SIGN_TSA_URL work too).
TSA_ENV = "FAIRGATE_TSA_URL"

_F = TypeVar("_F", bound=Callable[..., Any])
_Spec = tuple[tuple[str, ...], dict[str, Any]]


def _option_group(specs: dict[str, _Spec]) -> Callable[..., Callable[[_F], _F]]:
    """A decorator factory: ``group()`` adds every option of the group, ``group("a", "b", a={"help": …})``
    some of them (in the group's order) with per-command changes (help text, default)."""

    def group(*names: str, **changes: dict[str, Any]) -> Callable[[_F], _F]:
        chosen = [n for n in specs if n in names] if names else list(specs)
        assert set(names) <= set(specs) and set(changes) <= set(chosen), (names, changes)

        def apply(command: _F) -> _F:
            for name in reversed(chosen):  # decorators apply bottom-up: --help lists them in this order
                decls, settings = specs[name]
                command = click.option(*decls, **(settings | changes.get(name, {})))(command)
            return command

        return apply

    return group


_PATH = click.Path(path_type=Path)
data_options = _option_group(
    {
        "data": (
            ("--data", "data"),
            dict(
                required=True,
                type=_PATH,
                help="Labeled dataset: a .csv, .csv.gz, .tsv or .parquet file, a directory of Parquet files, a "
                "quoted glob ('logs/*.parquet', 'exports/*.csv.gz'), or table:NAME with --engine spark.",
            ),
        ),
        "policy": (
            ("--policy",),
            dict(required=True, help="Shipped policy id (see `fairgate policy list`) or a YAML file."),
        ),
        "model": (
            ("--model", "model"),
            dict(type=_PATH, help="Model file: .skops or .onnx (pickle only with --trust-pickle)."),
        ),
        "trust_pickle": (
            ("--trust-pickle",),
            dict(metavar="SHA256", help="Allow loading a pickle/joblib model whose sha256 is exactly this."),
        ),
    }
)
role_options = _option_group(
    {
        "predictions": (
            ("--predictions",),
            dict(metavar="COLUMN", help="Column holding the model's decisions (instead of --model)."),
        ),
        "scores": (
            ("--scores",),
            dict(metavar="COLUMN", help="Column holding scores; decision = score >= --threshold."),
        ),
        "threshold": (
            ("--threshold",),
            dict(
                metavar="T|median",
                help="Decision threshold for --scores (score >= T), or 'median' for NYC LL144 scoring rates.",
            ),
        ),
        "label": (("--label",), dict(metavar="COLUMN", help="True-outcome column (overrides the policy's).")),
        "positive_label": (
            ("--positive-label",),
            dict(metavar="VALUE", help="Value meaning the favourable outcome (e.g. '>50K', 1)."),
        ),
        "model_positive_class": (
            ("--model-positive-class",),
            dict(
                metavar="VALUE",
                help="Which of the model's classes is the favourable decision, when the model codes its "
                "classes differently from the label (e.g. 1 against good/bad).",
            ),
        ),
        "sensitive": (
            ("--sensitive",),
            dict(metavar="COLUMN", multiple=True, help="Sensitive feature column; repeat for several."),
        ),
        "sensitive_proba": (
            ("--sensitive-proba",),
            dict(
                metavar="FEATURE=COL,COL,…",
                multiple=True,
                help="A sensitive feature given as probability columns, one per group, summing to 1 in each row: "
                "from fairgate proxy bisg, race=p_white,p_black,p_api,p_native,p_multiple,p_hispanic. Expected "
                "counts, sampling intervals and partial-identification bounds, alone and crossed with the "
                "--sensitive features as groups.intersections asks.",
            ),
        ),
        "self_reported": (
            ("--self-reported",),
            dict(
                metavar="FEATURE=COLUMN",
                help="Self-reported values of the probabilistic feature, e.g. race=race_self: those people count "
                "in their own group, the bounds narrow, and the proxy's quality is measured on them.",
            ),
        ),
        "features": (
            ("--features",),
            dict(metavar="COL,COL", help="Model input columns, when the model does not record them."),
        ),
        "where": (
            ("--where",),
            dict(
                metavar="CLAUSE",
                multiple=True,
                help='Audit only the rows meeting CLAUSE (e.g. "is_recid != -1"); repeat to add clauses (AND), '
                "after the policy's own where.",
            ),
        ),
    }
)
audit_options = _option_group(
    {
        "seed": (
            ("--seed",),
            dict(type=int, default=0, show_default=True, help="Seed for anything random (bootstrap)."),
        ),
        "fail_on": (
            ("--fail-on",),
            dict(
                type=click.Choice(["fail", "warn"]),
                default="fail",
                show_default=True,
                help="Which findings fail the gate (exit 1): blocking failures only, or warnings too.",
            ),
        ),
        "strict": (("--strict",), dict(is_flag=True, help="INSUFFICIENT_DATA fails the gate too.")),
        "baseline": (
            ("--baseline",),
            dict(
                type=_PATH,
                metavar="RESULTS.json",
                help="Compare with a baseline model's results.json; a blocking regression fails the gate.",
            ),
        ),
        "task": (
            ("--task",),
            dict(
                type=click.Choice(["classification", "regression"]),
                help="classification (binary decisions, the default) or regression (numeric predictions and outcomes).",
            ),
        ),
        "audit_date": (
            ("--audit-date",),
            dict(
                metavar="YYYY-MM-DD",
                help="Date waivers' expiry and the data's age are judged against (default: SOURCE_DATE_EPOCH's day, "
                "else today in UTC); recorded in results.json.",
            ),
        ),
        "context": (
            ("--context", "context_file"),
            dict(
                type=_PATH,
                metavar="FILE.yaml",
                help="The audit's context (system, owner, data source, auditor, distribution date …), over the "
                "policy's context block; recorded in results.json and shown on the report.",
            ),
        ),
        "period_column": (
            ("--period-column",),
            dict(
                metavar="COLUMN",
                help="Timestamp column: audit every time window (trends, drift); the latest window decides.",
            ),
        ),
        "period": (
            ("--period",),
            dict(
                type=click.Choice(["day", "week", "month", "quarter", "year"]),
                help="Window length for --period-column (default: the policy's monitoring.period, else month).",
            ),
        ),
    }
)
engine_options = _option_group(
    {
        "engine": (
            ("--engine",),
            dict(
                type=click.Choice(["auto", "numpy", "duckdb", "spark"]),
                default="auto",
                show_default=True,
                help="Who counts the rows: numpy (in memory), duckdb (out of core), spark (cluster). Same results.",
            ),
        ),
        "engine_threshold": (
            ("--engine-threshold",),
            dict(
                type=float,
                metavar="SHARE",
                help="auto: Parquet larger than this share of RAM goes to DuckDB "
                "(default 0.1 or $FAIRGATE_ENGINE_THRESHOLD).",
            ),
        ),
        "memory_limit": (
            ("--memory-limit",),
            dict(metavar="SIZE", help="DuckDB memory limit, e.g. 2GB (it spills to --temp-directory)."),
        ),
        "temp_directory": (("--temp-directory",), dict(type=_PATH, metavar="DIR", help="DuckDB spill directory.")),
        "spark_master": (
            ("--spark-master",),
            dict(metavar="URL", help="Spark master (default local[*]; an active session is reused)."),
        ),
    }
)
output_options = _option_group(
    {
        "out": (
            ("--out", "out_dir"),
            dict(
                type=_PATH,
                default=Path("audit-out"),
                show_default=True,
                help="Output directory for results.json and report.pdf.",
            ),
        ),
        "sign": (
            ("--sign", "sign_key"),
            dict(
                type=_PATH,
                metavar="KEY.p12",
                help=f"Sign the report with this PKCS#12 key (passphrase from ${PASSPHRASE_ENV} or a prompt).",
            ),
        ),
        "sign_cert": (
            ("--sign-cert",),
            dict(type=_PATH, metavar="CERT.pem", help="With a PEM key for --sign: its certificate."),
        ),
        "sign_chain": (
            ("--sign-chain",),
            dict(
                type=_PATH,
                multiple=True,
                metavar="CA.pem",
                help="With a PEM key: intermediate CA certificates; repeat for several.",
            ),
        ),
        "tsa": (
            ("--tsa", "tsa_url"),
            dict(
                metavar="URL",
                envvar=TSA_ENV,
                help=f"With --sign: RFC 3161 timestamp authority to vouch for the signing time (or ${TSA_ENV}).",
            ),
        ),
        "no_pdf": (("--no-pdf",), dict(is_flag=True, help="Write results.json and summary.md only.")),
        "format": (
            ("--format", "formats"),
            dict(
                metavar="pdf,html,json,md,model-card",
                envvar="FAIRGATE_RUN_FORMAT",
                help="Which outputs to write, comma-separated (default pdf,json,md): report.pdf, report.html, "
                "results.json, summary.md, model-card.md (the fairness section of a Hugging Face model card); "
                "ll144-summary: the NYC LL144 public summary (ll144-summary.pdf and .html).",
            ),
        ),
        "junit": (("--junit",), dict(type=_PATH, metavar="FILE", help="Also write JUnit XML (one case per rule).")),
        "badge": (
            ("--badge",),
            dict(type=_PATH, metavar="FILE.svg", help="Also write a status badge: an SVG of the verdict (no service)."),
        ),
        "json": (
            ("--json", "as_json"),
            dict(is_flag=True, help="Print results.json to stdout instead of the human summary."),
        ),
        "quiet": (
            ("-q", "--quiet"),
            dict(is_flag=True, help="Print nothing but errors (the exit code tells the verdict)."),
        ),
        "verbose": (("-v", "--verbose"), dict(is_flag=True, help="Show how long each stage took.")),
    }
)
