"""The audit's context: what system was audited, for whom, on which data, by whom.

A ``context:`` block in the policy (defaults such as the jurisdiction) and a YAML file passed with
``--context`` (the audit's own facts; its keys override the policy's, mapping by mapping) make one
:class:`AuditContext`. It is recorded in results.json (``context``), shown on the report's cover and
used by the NYC LL144 public summary (6 RCNY § 5-303). A policy names the fields it needs in
``requires_context`` (the LL144 policies do): a missing one stops the audit before anything is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from audit.errors import PolicyError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        # "" or "  " in a YAML file is a field left blank, not an answer; a bare number (`period: 2024`,
        # `version: 2.1`) is meant as text (quote a version such as "2.10" to keep its zero)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return None if isinstance(value, str) and not value.strip() else value


class System(_Strict):
    name: str | None = Field(None, description="The audited system (for LL144: the AEDT), e.g. 'ResumeRank'.")
    version: str | None = Field(None, description="Its version, as its owner names it.")


class DataSource(_Strict):
    source: str | None = Field(None, description="Where the audited data comes from (system, employer, vendor).")
    description: str | None = Field(
        None,
        description="What the data is, in plain words: who is in it and what was recorded (LL144: the explanation).",
    )
    period: str | None = Field(None, description="The period the data covers, e.g. '2024-01-01 to 2024-12-31'.")
    kind: Literal["historical", "test"] | None = Field(
        None, description="historical: real use of the system; test: data made or gathered to test it."
    )
    test_data_reason: str | None = Field(
        None,
        description="With kind: test — why historical data was not used, and how the test data was made "
        "(6 RCNY § 5-301: the summary must explain it).",
    )


class Auditor(_Strict):
    name: str | None = Field(None, description="Who performed the audit (a person or a firm).")
    independence: str | None = Field(
        None,
        description="Why the auditor is independent of the system's maker and user (LL144 § 5-300: not involved in "
        "using, developing or distributing it; no employment or financial interest).",
    )


class AuditContext(_Strict):
    """Facts about the audit the data cannot tell: recorded in results.json and shown on the report."""

    system: System = Field(default_factory=System, description="The system audited: its name and version.")
    owner: str | None = Field(None, description="Who is responsible for the system (the employer, for LL144).")
    intended_use: str | None = Field(None, description="What the system is for, as its owner intends it.")
    decision: str | None = Field(None, description="The decision it supports, e.g. 'which applicants are interviewed'.")
    population: str | None = Field(
        None, description="Who the decisions are about, e.g. 'applicants for warehouse roles'."
    )
    jurisdiction: str | None = Field(None, description="Where the decisions are made and which law applies.")
    data: DataSource = Field(
        default_factory=DataSource,
        description="The data audited: its source, what it is, its period, and whether it is historical or test data.",
    )
    auditor: Auditor = Field(
        default_factory=Auditor, description="Who audited, and their independence from the system's owner."
    )
    distribution_date: dt.date | None = Field(
        None, description="The date the system was first distributed or used (LL144: the AEDT's distribution date)."
    )
    exclusion_justification: str | None = Field(
        None,
        description="Why categories under the policy's exclude_below_share (LL144: 2% of the data) were left out of "
        "the impact ratios (6 RCNY § 5-301(d) requires the auditor's justification in the summary).",
    )
    conclusion: str | None = Field(None, description="The reviewer's conclusion, in their words.")

    def recorded(self) -> dict[str, Any]:
        """As results.json records it: the fields given, nothing left blank."""
        recorded: dict[str, Any] = _without_empty(self.model_dump(mode="json", exclude_none=True))
        return recorded


#: Every field a policy may require, as dotted names (``system.name``, ``data.kind`` …).
FIELDS: tuple[str, ...] = tuple(
    f"{name}.{sub}" if sub else name
    for name, info in AuditContext.model_fields.items()
    for sub in (
        list(info.annotation.model_fields)
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
        else [None]
    )
)
#: With ``data.kind`` required and the data being test data, this field is required too.
TEST_DATA_REASON = "data.test_data_reason"


def check_field_names(names: Iterable[str]) -> list[str]:
    """``names`` if each is a context field, else ValueError naming the first that is not."""
    out = list(names)
    for name in out:
        if name not in FIELDS:
            raise ValueError(f"{name!r} is not a context field (fields: {', '.join(FIELDS)})")
    if len(set(out)) != len(out):
        raise ValueError("a context field is listed twice")
    return out


def merged(policy_context: AuditContext | None, given: Mapping[str, Any] | None) -> AuditContext:
    """The policy's context with ``given`` (the --context file, as recorded) over it, mapping by mapping."""
    base = policy_context.model_dump(mode="json", exclude_none=True) if policy_context else {}
    for key, value in (given or {}).items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    try:
        return AuditContext.model_validate(base)
    except ValueError as exc:  # pydantic's ValidationError: a context handed to the Python API
        first = str(exc).splitlines()
        raise PolicyError(
            f"context: {' '.join(first[1:3]) if len(first) > 2 else first[0]}",
            hint="see docs/policies.md#audit-context for the context's fields",
        ) from None


def value_of(context: AuditContext, name: str) -> object:
    """The value of the dotted field ``name`` (None when absent)."""
    head, _, tail = name.partition(".")
    value = getattr(context, head)
    return getattr(value, tail) if tail else value


def missing(context: AuditContext, required: Iterable[str]) -> list[str]:
    """The required fields ``context`` leaves empty, in the policy's order."""
    wanted = list(required)
    if "data.kind" in wanted and context.data.kind == "test" and TEST_DATA_REASON not in wanted:
        wanted.append(TEST_DATA_REASON)
    return [name for name in wanted if value_of(context, name) is None]


def require(context: AuditContext, required: Iterable[str], *, policy_id: str, given: bool = True) -> None:
    """A PolicyError naming the first missing required field (and the others missing); ``given``: was a
    context (a --context file) given at all."""
    gaps = missing(context, required)
    if not gaps:
        return
    if not given:
        raise PolicyError(
            f"context: policy {policy_id} needs the audit's context ({gaps[0]} and {len(gaps) - 1} more "
            "field(s)), but none was given",
            hint="pass --context FILE.yaml (a filled-in example: examples/ll144/context.yaml; "
            "docs/policies.md#audit-context lists every field)",
        )
    more = f" (and {len(gaps) - 1} more: {', '.join(gaps[1:])})" if len(gaps) > 1 else ""
    raise PolicyError(
        f"context: {gaps[0]} is required by policy {policy_id}, but missing{more}",
        hint=f"{_where(gaps[0])} in the file passed with --context (docs/policies.md#audit-context lists every field)",
    )


def _where(name: str) -> str:
    head, _, tail = name.partition(".")
    return f"add `{tail}:` under `{head}:`" if tail else f"add `{head}:`"


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, None)}
    return value
