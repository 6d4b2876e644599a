"""A probe from start to end: plan → collect (or replay) → outcomes → the ``fairgate run`` pipeline.

``prepare`` reads the profiles, builds the counterfactual design and every request (in an order shuffled
with the seed, so no group is always asked first or last), and counts what the cache already holds: the
plan is printed and checked against the budget before anything is sent. ``collect`` sends the rest
(``--replay``: nothing; a request missing from the cache is an error). ``finish`` reads every answer
back from the cache, writes ``outcomes.csv`` and returns the ``AuditRequest`` that audits it under the
policy, plus the results' ``probe`` section (the paired statistics and how the test data was made).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.errors import UsageError
from audit.flow.request import AuditRequest
from audit.probe import design as designs
from audit.probe.adapters import Adapter, ServiceError, load_adapter
from audit.probe.cache import Cache, request_key
from audit.probe.client import ClientSettings, Pending, send_all
from audit.probe.evidence import (
    ANSWER_PREFIX,
    ANSWERED,
    CAN_SHOW,
    CANNOT_SHOW,
    PROBLEMS,
    PROFILE,
    TEST_DATA_WHY,
    UNPARSABLE,
    outcome_column,
    paired_section,
)
from audit.report.base import Attachment

OUTCOMES_NAME = "outcomes.csv"


@dataclass(frozen=True)
class ProbeSettings:
    profiles: Path
    endpoint: str
    policy: str
    cache_dir: Path
    adapter_file: Path | None = None
    swap: str | None = None
    names: str | None = None
    first_name_column: str = "first_name"
    last_name_column: str | None = None
    groups: tuple[str, ...] = ()
    reference: str | None = None
    min_share: float = 0.8
    names_per_group: int = 20
    id_column: str | None = None
    repeats: int = 1
    seed: int = 0
    replay: bool = False
    threshold: str | None = None
    test_data_reason: str | None = None
    client: ClientSettings = field(default_factory=ClientSettings)


@dataclass(frozen=True)
class Item:
    variant: designs.Variant
    sample: int
    key: str
    request: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    settings: ProbeSettings
    adapter: Adapter
    design: designs.Design
    items: tuple[Item, ...]
    cached: int

    @property
    def to_send(self) -> int:
        return len({i.key for i in self.items}) - self.cached

    def describe(self) -> str:
        d, s = self.design, self.settings
        return (
            f"plan: {d.profiles} profiles × {len(d.groups)} variants ({', '.join(d.groups)}) × {s.repeats} "
            f"repeat{'s' if s.repeats != 1 else ''} = {len(self.items)} requests "
            f"to {self.adapter.describe()['endpoint']}; "
            f"{self.cached} in the cache, {self.to_send} to send"
            + ("" if s.replay else f" (budget --max-requests {s.client.budget}, retries included)")
        )


def prepare(settings: ProbeSettings) -> Plan:
    if settings.repeats < 1:
        raise UsageError(f"--repeats {settings.repeats}: must be at least 1", hint="--repeats 1 asks once per prompt")
    if (settings.swap is None) == (settings.names is None):
        raise UsageError(
            "probe needs one way to vary the signal: --swap COLUMN or --names race|FILE",
            hint="--swap sex --groups female,male swaps a column; --names race draws names that signal race/ethnicity",
        )
    adapter = load_adapter(settings.endpoint, settings.adapter_file)
    profiles = designs.read_profiles(settings.profiles, id_column=settings.id_column)
    source = str(settings.profiles)
    if settings.swap is not None:
        design = designs.attribute_design(
            profiles, column=settings.swap, groups=settings.groups, reference=settings.reference, source=source
        )
    else:
        assert settings.names is not None
        design = designs.names_design(
            profiles,
            names=settings.names,
            first_name=settings.first_name_column,
            last_name=settings.last_name_column,
            groups=settings.groups,
            reference=settings.reference,
            min_share=settings.min_share,
            per_group=settings.names_per_group,
            seed=settings.seed,
            source=source,
        )
    missing = sorted(adapter.placeholders() - set(profiles.columns))
    if missing:
        raise UsageError(
            f"the adapter's template uses {{{missing[0]}}}, which is not a column of {source}",
            hint="columns: " + ", ".join(c for c in profiles.columns if c != "__profile__"),
        )
    items = []
    for variant in design.variants:
        for sample in range(settings.repeats):
            request = adapter.request(variant.record, sample)
            items.append(Item(variant, sample, request_key(request), request))
    random.Random(settings.seed).shuffle(items)  # paired variants are not sent side by side, nor in group order
    cache = Cache(settings.cache_dir)
    cached = sum(1 for k in {i.key for i in items} if cache.has(k))
    return Plan(settings, adapter, design, tuple(items), cached)


def collect(plan: Plan, *, advance: Callable[[int], None] = lambda n: None) -> int:
    """Send what the cache lacks (``--replay``: nothing); the number of attempts made."""
    cache = Cache(plan.settings.cache_dir)
    seen: set[str] = set()
    pending = []
    for item in plan.items:
        if item.key not in seen and not cache.has(item.key):
            pending.append(Pending(item.key, item.request))
        seen.add(item.key)
    if plan.settings.replay and pending:
        raise ServiceError(
            f"--replay: {len(pending)} of {len(seen)} requests are not in the cache {plan.settings.cache_dir}",
            hint="replay needs the cache of the original probe (same profiles, adapter, design, --repeats, --seed)",
        )
    if plan.settings.client.budget < len(pending):
        raise UsageError(
            f"the plan needs {len(pending)} requests, more than --max-requests {plan.settings.client.budget}",
            hint="raise --max-requests, or probe fewer profiles, groups or --repeats",
        )
    if pending:
        plan.adapter.check_environment()
    return send_all(pending, plan.adapter, cache, plan.settings.client, advance=advance)


def finish(
    plan: Plan,
    *,
    level: float,
    request_options: dict[str, Any],
) -> tuple[AuditRequest, dict[str, Any]]:
    """Read every answer back from the cache, write outcomes.csv beside it, and return the audit of it
    (``request_options``: the AuditRequest's other keywords: seed, gate, command …) and the probe section."""
    cache = Cache(plan.settings.cache_dir)
    design, adapter, repeats = plan.design, plan.adapter, plan.settings.repeats
    answers: dict[tuple[str, str], list[float]] = defaultdict(lambda: [float("nan")] * repeats)
    problems: dict[tuple[str, str], list[str]] = defaultdict(list)
    kinds: set[str] = set()
    models: set[str] = set()
    versions: set[str] = set()
    dates: list[str] = []
    for item in plan.items:
        response, received = cache.get(item.key)
        dates.append(received)
        models.update([response.model] if response.model else [])
        versions.update([response.version] if response.version else [])
        answer = adapter.parse(response)
        cell = (item.variant.profile, item.variant.group)
        if answer.value is None:
            problems[cell].append(answer.problem or "unreadable")
        else:
            kinds.add(answer.kind)
            answers[cell][item.sample] = answer.value
    if not kinds:
        raise ServiceError(
            f"not one of the {len(plan.items)} answers could be read as a score or a decision",
            hint="check the adapter's response field or answer parsing against a response in the cache",
        )
    if len(kinds) > 1:
        raise ServiceError("the answers mix scores and decisions", hint="set output: score or decision in the adapter")
    output = kinds.pop()
    frame = _outcomes(design, answers, problems, repeats=repeats, output=output)
    manifest = cache.manifest(i.key for i in plan.items)
    cache.write_manifest(manifest)
    path = Path(plan.settings.cache_dir) / OUTCOMES_NAME
    frame.to_csv(path, index=False, lineterminator="\n")
    column = outcome_column(output)
    request = AuditRequest(
        data=path,
        policy=plan.settings.policy,
        scores=column if output == "score" else None,
        threshold=(plan.settings.threshold or "median") if output == "score" else None,
        predictions=column if output == "decision" else None,
        positive_label="1" if output == "decision" else None,
        sensitive=(design.column,),
        where=(f"{ANSWERED} == 1",),
        **request_options,
    )
    section = {
        "test_data": {
            "used": True,
            "why": plan.settings.test_data_reason or TEST_DATA_WHY,
            "how": design.rule.get("selection", ""),
        },
        "adapter": {
            **adapter.describe(),
            "reported_models": sorted(models),
            "reported_versions": sorted(versions),
        },
        "design": {
            **design.as_dict(),
            "repeats": repeats,
            "order": "every request shuffled with --seed",
            "order_seed": plan.settings.seed,
            "requests": len(plan.items),
        },
        "cache": {"manifest_sha256": manifest["sha256"], "entries": manifest["entries"]},
        "collected": {"first": min(dates), "last": max(dates)},
        "output": output,
        "statistics": paired_section(
            frame, column=design.column, groups=design.groups, reference=design.reference, output=output, level=level
        ),
        "can_show": CAN_SHOW,
        "cannot_show": CANNOT_SHOW,
    }
    return request, section


def _outcomes(
    design: designs.Design,
    answers: dict[tuple[str, str], list[float]],
    problems: dict[tuple[str, str], list[str]],
    *,
    repeats: int,
    output: str,
) -> pd.DataFrame:
    rows = []
    for variant in design.variants:
        cell = (variant.profile, variant.group)
        values = np.array(answers[cell], dtype=float)
        finite = values[np.isfinite(values)]
        if not finite.size:
            outcome: float | int | None = None
        elif output == "score":
            outcome = float(finite.mean())
        else:
            outcome = int(finite.mean() > 0.5)  # the majority of the readable repeats (a tie is not selected)
        rows.append(
            {
                PROFILE: variant.profile,
                design.column: variant.group,
                outcome_column(output): outcome,
                ANSWERED: int(finite.size > 0),
                UNPARSABLE: len(problems.get(cell, [])),
                PROBLEMS: ";".join(sorted(problems.get(cell, []))),
                **{f"{ANSWER_PREFIX}{k + 1}": _text(v) for k, v in enumerate(values)},
            }
        )
    return pd.DataFrame(rows)


def _text(value: float) -> str:
    return "" if not np.isfinite(value) else repr(float(value))


def groups_option(text: str | None) -> tuple[str, ...]:
    return tuple(g.strip() for g in (text or "").split(",") if g.strip())


def all_keys(plan: Plan) -> Sequence[str]:
    return [i.key for i in plan.items]


#: the transcripts are attached to the PDF whole up to this size (gzip); above it, the cache's manifest
MAX_TRANSCRIPTS = 20 * 1024 * 1024
TRANSCRIPTS_NAME = "probe-transcripts.jsonl.gz"
MANIFEST_NAME = "probe-manifest.json"


def transcripts_attachment(plan: Plan) -> Attachment:
    """Every request and response of the audit, for the PDF: one cache entry per line (its stored bytes,
    so each line's sha256 is the manifest's entry), sorted by key, gzip-compressed without a timestamp
    (the same transcripts give the same bytes). Over ``MAX_TRANSCRIPTS`` compressed, the manifest alone
    (keys and sha256s) is attached, and the cache directory holds the transcripts it names."""
    import gzip

    from audit.probe.cache import canonical

    cache = Cache(Path(plan.settings.cache_dir))
    keys = sorted({item.key for item in plan.items})
    lines = b"".join(cache.path(key).read_bytes().rstrip(b"\n") + b"\n" for key in keys)
    packed = gzip.compress(lines, compresslevel=9, mtime=0)
    if len(packed) <= MAX_TRANSCRIPTS:
        return Attachment(
            TRANSCRIPTS_NAME,
            packed,
            f"the probe's {len(keys):,} requests and responses, one cache entry per line (JSON Lines, gzip); "
            "each line's sha256 is its entry in the cache manifest",
        )
    listing = cache.manifest(keys)["listing"]
    return Attachment(
        MANIFEST_NAME,
        canonical(listing),
        f"the manifest of the probe's {len(keys):,} cached requests and responses (too large to attach: "
        f"{len(packed):,} bytes compressed); the cache directory holds them",
    )
