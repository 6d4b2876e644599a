"""``fairgate probe``'s own options (Click only: ``fairgate --help`` stays fast) and the settings they make."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])
_PATH = click.Path(path_type=Path)

#: (declarations, settings), in the order --help lists them.
OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--profiles",), dict(required=True, type=_PATH, metavar="FILE", help="Base profiles: a CSV or Parquet file.")),
    (
        ("--endpoint",),
        dict(
            required=True,
            metavar="URL|MODULE:FUNCTION",
            help="The model to probe: an http(s) URL (described by --adapter) or a Python callable.",
        ),
    ),
    (
        ("--adapter", "adapter_file"),
        dict(type=_PATH, metavar="FILE", help="Adapter YAML: kind http or openai, templates, answer parsing."),
    ),
    (("--swap",), dict(metavar="COLUMN", help="Vary the signal by setting this column to each of --groups.")),
    (
        ("--names",),
        dict(
            metavar="race|FILE",
            help="Vary the signal by names: 'race' (built-in tables) or a CSV with group,first_name[,last_name].",
        ),
    ),
    (
        ("--first-name-column",),
        dict(default="first_name", show_default=True, metavar="COLUMN", help="With --names: the first-name column."),
    ),
    (("--last-name-column",), dict(metavar="COLUMN", help="With --names: the surname column (also replaced).")),
    (
        ("--groups",),
        dict(metavar="A,B,…", help="The groups (--swap values, or name groups: white,black,hispanic,api)."),
    ),
    (("--reference",), dict(metavar="GROUP", help="The group the others are paired with (default: the first).")),
    (
        ("--min-share",),
        dict(
            type=float,
            default=0.8,
            show_default=True,
            metavar="P",
            help="--names race: keep names with P(group | name) >= P.",
        ),
    ),
    (
        ("--names-per-group",),
        dict(
            type=int,
            default=20,
            show_default=True,
            metavar="N",
            help="--names race: first names and surnames per group.",
        ),
    ),
    (("--id-column",), dict(metavar="COLUMN", help="Profile id column (default: the row number).")),
    (
        ("--repeats",),
        dict(type=int, default=1, show_default=True, metavar="K", help="Ask K times per prompt (stochastic models)."),
    ),
    (
        ("--threshold",),
        dict(metavar="T|median", help="For scores: selected = score >= T (default median: LL144 scoring rates)."),
    ),
    (
        ("--max-requests",),
        dict(
            type=int,
            default=1000,
            show_default=True,
            metavar="N",
            help="Request budget, retries included: refuse to start a plan that needs more.",
        ),
    ),
    (
        ("--concurrency",),
        dict(type=int, default=4, show_default=True, metavar="N", help="Requests in flight at most."),
    ),
    (("--timeout",), dict(type=float, default=30.0, show_default=True, metavar="S", help="Seconds per request.")),
    (
        ("--retries",),
        dict(type=int, default=5, show_default=True, metavar="N", help="Retries on 429, 5xx and timeouts (backoff)."),
    ),
    (
        ("--cache", "cache_dir"),
        dict(type=_PATH, metavar="DIR", help="Response cache (default OUT/probe-cache): resume and replay from it."),
    ),
    (("--replay",), dict(is_flag=True, help="Send nothing: recompute everything from the cache (offline).")),
    (
        ("--test-data-reason",),
        dict(metavar="TEXT", help="Why test data rather than historical data (LL144 § 5-302; a default is given)."),
    ),
)


def probe_options(command: _F) -> _F:
    for decls, settings in reversed(OPTIONS):
        command = click.option(*decls, **settings)(command)
    return command


def probe_settings(opts: dict[str, Any]) -> Any:
    """The ``ProbeSettings`` the options ask for."""
    from audit.probe.client import ClientSettings
    from audit.probe.run import ProbeSettings, groups_option

    out_dir = Path(str(opts["out_dir"]))
    return ProbeSettings(
        profiles=opts["profiles"],
        endpoint=opts["endpoint"],
        policy=opts["policy"],
        cache_dir=opts["cache_dir"] or out_dir / "probe-cache",
        adapter_file=opts["adapter_file"],
        swap=opts["swap"],
        names=opts["names"],
        first_name_column=opts["first_name_column"],
        last_name_column=opts["last_name_column"],
        groups=groups_option(opts["groups"]),
        reference=opts["reference"],
        min_share=opts["min_share"],
        names_per_group=opts["names_per_group"],
        id_column=opts["id_column"],
        repeats=opts["repeats"],
        seed=opts["seed"],
        replay=opts["replay"],
        threshold=opts["threshold"],
        test_data_reason=opts["test_data_reason"],
        client=ClientSettings(
            concurrency=opts["concurrency"],
            timeout=opts["timeout"],
            retries=opts["retries"],
            budget=opts["max_requests"],
        ),
    )
