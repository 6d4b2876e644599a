"""``AuditRequest``: every input that shapes an audit, built once (by the CLI or the Python API).

The request is recorded whole in results.json (``request``) and ``verify --recompute`` replays it,
with the reviewer's own copies of the data and model in place of the recorded paths. Recorded as
given: paths as typed on the command line (never made absolute), values as passed. Left out of the
record, because they do not change the results and would make the evidence depend on the machine or
the run: the engine and its options (every engine gives byte-identical results), the command line
(``provenance.command`` has it), and the baseline's document (its path is recorded; the comparison
has its own section).

This module is light: it imports neither pandas nor the engines, so building a request costs nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.errors import UsageError
from audit.inputs.held import FRAME, POLICY, estimator_name, is_location

if TYPE_CHECKING:
    from audit.tables.engines.interface import EngineOptions

FAIL_ON = ("fail", "warn")
TASKS = ("classification", "regression")
#: The fields results.json records, in this order (``to_dict``); the rest are run-time only.
RECORDED = (
    "data",
    "policy",
    "model",
    "predictions",
    "scores",
    "threshold",
    "label",
    "positive_label",
    "sensitive",
    "features",
    "trust_pickle",
    "seed",
    "task",
    "fail_on",
    "strict",
    "audit_date",
    "period_column",
    "period",
    "baseline",
    "where",
)
#: Recorded only when given, after the others (so that audits without them record what they always did):
#: the probability columns of a feature, the --context file's content, the model's favourable class.
OPTIONAL = ("sensitive_proba", "context", "model_positive_class", "self_reported")
#: Recorded fields that name where a file lies: a replay gives its own (their hashes are checked instead).
LOCATIONS = ("data", "policy", "model", "baseline")


@dataclass(frozen=True, kw_only=True)
class AuditRequest:
    """What to audit and how. ``None`` for a column role means "the policy's ``columns`` default"."""

    #: a file, a directory, a quoted glob, or table:NAME (Spark); or a pandas DataFrame (the Python API)
    data: Path | str | Any
    policy: str | Mapping[str, Any]  # a shipped policy id or a YAML file; or a policy as a dict (Python API)
    model: Path | str | Any | None = None  # a file as given, or a fitted scikit-learn estimator (Python API)
    predictions: str | None = None  # column holding the decisions
    scores: str | None = None  # column holding scores; decision = score >= threshold
    threshold: float | str | None = None  # a number, or "median" (NYC LL144 scoring rates), as given
    label: str | None = None
    positive_label: str | None = None
    model_positive_class: str | None = None  # which of the model's classes is the favourable decision
    sensitive: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None  # the model's input columns, when it does not record them
    trust_pickle: str | None = None  # the sha256 of a pickle/joblib model allowed to load (not a secret)
    seed: int = 0
    task: str | None = None  # "classification" | "regression" (None: the policy's)
    fail_on: str = "fail"  # "fail" | "warn": which findings fail the release gate
    strict: bool = False  # INSUFFICIENT_DATA fails the gate too
    audit_date: dt.date | str | None = None  # waivers and data ages are judged on this day (None: today)
    period_column: str | None = None  # audit every time window of this timestamp column
    period: str | None = None  # day | week | month | quarter | year (None: the policy's, else month)
    baseline: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)  # a results.json
    baseline_source: str | None = None  # where ``baseline`` was read from, as given (recorded as ``baseline``)
    where: tuple[str, ...] = ()  # row filter clauses (--where), applied after the policy's own ``where``
    sensitive_proba: tuple[str, ...] = ()  # FEATURE=COLUMN,COLUMN,… : a feature given as probability columns
    self_reported: str | None = None  # FEATURE=COLUMN: the probabilistic feature's self-reported values
    # the audit's context (--context FILE's content, as JSON types), over the policy's ``context``: recorded
    # whole (not its path), so a replay needs no copy of the file
    context: Mapping[str, Any] | None = field(default=None, hash=False)
    # run-time only: how the rows are counted (never the results) and how the run was invoked
    engine: str = "auto"
    engine_options: EngineOptions | None = None
    command: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.fail_on not in FAIL_ON:
            raise UsageError(f"--fail-on must be 'fail' or 'warn', not {self.fail_on!r}")
        normal = {
            "sensitive": tuple(str(s) for s in self.sensitive),
            "where": tuple(str(w) for w in self.where),
            "sensitive_proba": tuple(str(p) for p in self.sensitive_proba),
            "features": tuple(str(f) for f in self.features) if self.features else None,
            "positive_label": None if self.positive_label is None else str(self.positive_label),
            "model_positive_class": None if self.model_positive_class is None else str(self.model_positive_class),
            "command": tuple(str(c) for c in self.command),
            "seed": int(self.seed),
            "strict": bool(self.strict),
        }
        if isinstance(self.threshold, numbers.Real) and not isinstance(self.threshold, bool):  # e.g. numpy's
            normal["threshold"] = (
                int(self.threshold) if isinstance(self.threshold, numbers.Integral) else float(self.threshold)
            )
        if self.trust_pickle is not None:
            from audit.inputs.model import check_trusted_sha256

            normal["trust_pickle"] = check_trusted_sha256(str(self.trust_pickle))
        for name, value in normal.items():
            object.__setattr__(self, name, value)

    # --- results.json ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The recorded request (JSON types only; paths as given)."""
        out: dict[str, Any] = {
            "data": self.data_name,
            "policy": self.policy if isinstance(self.policy, str) else POLICY,
            "model": None if self.model is None else self.model_name,
            "predictions": self.predictions,
            "scores": self.scores,
            "threshold": self.threshold,
            "label": self.label,
            "positive_label": self.positive_label,
            "sensitive": list(self.sensitive),
            "features": None if self.features is None else list(self.features),
            "trust_pickle": self.trust_pickle,
            "seed": self.seed,
            "task": self.task,
            "fail_on": self.fail_on,
            "strict": self.strict,
            "audit_date": self.audit_date.isoformat() if isinstance(self.audit_date, dt.date) else self.audit_date,
            "period_column": self.period_column,
            "period": self.period,
            "baseline": self.baseline_source,
            "where": list(self.where),
        }
        assert tuple(out) == RECORDED
        if self.sensitive_proba:
            out["sensitive_proba"] = list(self.sensitive_proba)
        if self.context:
            out["context"] = dict(self.context)
        if self.model_positive_class is not None:
            out["model_positive_class"] = self.model_positive_class
        if self.self_reported is not None:
            out["self_reported"] = self.self_reported
        return out

    # --- inputs held in memory (the Python API) ----------------------------------------------

    @property
    def data_name(self) -> str:
        """The data as messages and the evidence name it: the path as given, or ``<in-memory DataFrame>``."""
        return str(self.data) if is_location(self.data) else FRAME

    @property
    def model_name(self) -> str:
        """The model as named in messages and the evidence: the path as given, or ``<in-memory TYPE>``."""
        return str(self.model) if is_location(self.model) else estimator_name(self.model)

    @classmethod
    def from_dict(cls, recorded: Mapping[str, Any], **run_time: Any) -> AuditRequest:
        """The request a results.json recorded; ``run_time`` sets the fields it does not record (engine,
        engine_options, command, baseline) or replaces recorded ones (e.g. ``data`` for a replay)."""
        given = {k: v for k, v in recorded.items() if k in (*RECORDED, *OPTIONAL) and k != "baseline"}
        unknown = sorted(set(recorded) - set(RECORDED) - set(OPTIONAL))
        if unknown:
            raise UsageError(
                f"the recorded request has unknown field(s) {', '.join(unknown)}",
                hint="recompute it with the Fairgate version that wrote it",
            )
        if recorded.get("baseline") is not None:
            given["baseline_source"] = recorded["baseline"]
        for name in ("sensitive", "features", "where", "sensitive_proba"):
            if given.get(name) is not None:
                given[name] = tuple(given[name])
        return cls(**(given | run_time))

    def replace(self, **changes: Any) -> AuditRequest:
        return dataclasses.replace(self, **changes)


def split_columns(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``--features a,b`` as column names (blank entries dropped); None when none are given."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    columns = tuple(p.strip() for p in parts if p.strip())
    return columns or None
