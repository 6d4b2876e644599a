"""The policy language: typed, validated, unknown keys rejected.

A policy says which columns play which role, how groups are formed and compared, and which rules
decide the verdict. ``fairgate policy schema`` exports this as JSON Schema for editors.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from audit.measures.metrics import (
    BINOMIAL_RATES,
    LIKELIHOOD_RATIOS,
    METRIC_NAMES,
    SHARES,
    canonical_name,
    is_known,
)
from audit.policy.context import AuditContext, check_field_names
from audit.policy.monitoring import Monitoring

_ID = r"^[a-z0-9][a-z0-9._-]*$"
#: Metrics a rule may compare across groups: every rate, the likelihood ratios, and a group's size
#: (``count``) and shares of its scope (``ppr``, ``group_size_share``), which are compared exactly.
RULE_METRICS = (*METRIC_NAMES, *SHARES)
#: Rule metrics that are not rates: a difference of them is not bounded by ±1.
_NOT_RATES = ("count", *LIKELIHOOD_RATIOS)
Scalar = str | int | float | bool
#: block: a failure fails the gate · warn: flagged, does not block · info: shown for context, never
#: affects the verdict or the exit code.
Severity = Literal["block", "warn", "info"]
_SEVERITY = "block: a failure fails the gate; warn: flagged, never blocks; info: shown for context only."
#: What a ratio or difference rule is judged on when some rows' sensitive value is unknown.
UnknownMode = Literal["ignore", "proportional", "worst_case"]
_UNKNOWN = (
    "What rules are judged on when rows have an unknown sensitive value (the bounds over every assignment of "
    "those rows to the known groups are reported either way): ignore: the known rows, warning when the worst "
    "case would fail; proportional: the unknown rows spread over the groups like the known ones; worst_case: "
    "the least favourable assignment for each group."
)


#: The fields every rule, check and requirement has, described once.
ItemId = Annotated[
    str,
    Field(
        pattern=_ID,
        description="Stable identifier (lower case, digits, . _ -): named by waivers, results.json and JUnit; "
        "keep it when editing the entry.",
    ),
]
Title = Annotated[str, Field(description="Short human name, shown in the report and the terminal.")]
Citation = Annotated[str, Field(description="The law, rule or guidance this entry serves (shown in the report).")]
Explanation = Annotated[str, Field(description="Why this entry exists, in plain words; shown in the report.")]


class _Strict(BaseModel):
    # allow_inf_nan: a bound of .nan or .inf compares false with everything; refused, naming the key
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Columns(_Strict):
    """Column roles; each can be overridden on the command line."""

    label: str | None = Field(
        None, description="True outcome column (optional: without it only selection metrics apply)."
    )  # noqa: E501
    positive_label: Scalar | None = Field(None, description="Value of label/prediction meaning the favourable outcome.")
    sensitive: list[str] = Field(default_factory=list, description="Sensitive-feature columns.")
    prediction: str | None = Field(
        None, description="Column holding the model's decisions, when no model file is given."
    )  # noqa: E501
    score: str | None = Field(None, description="Column holding scores; decision = score >= threshold.")
    threshold: float | Literal["median"] | None = Field(
        None,
        description="Decision threshold for score (decision = score >= threshold), or 'median' for "
        "NYC LL144 scoring rates (decision = score above the sample median).",
    )
    features: list[str] | None = Field(None, description="Model input columns, when the model does not record them.")
    task: Literal["classification", "regression"] = Field(
        "classification", description="classification: binary decisions; regression: numeric predictions and outcomes."
    )
    median_of: Literal["known", "everyone"] | None = Field(
        None,
        description="With threshold: median, whose scores the sample median is taken over (unset: known): known: "
        "the people whose every sensitive category is known (as in the worked example of 6 RCNY § 5-301, whose "
        "unknown-category individuals are not included in the calculations); everyone: every scored person, unknown "
        "category included.",
    )


class Groups(_Strict):
    min_count: int = Field(30, ge=1, description="Smallest sample a metric may rest on before a group is judged.")
    reference: dict[str, str] = Field(default_factory=dict, description="Reference level per sensitive feature.")
    intersections: bool | list[list[str]] = Field(
        True,
        description="Also judge intersections: true: of all sensitive features; false: none; or a list of "
        "feature combinations, each one a scope, e.g. [[sex, race], [race, age_cat]].",
    )
    include_unknown: bool = Field(False, description="Judge groups whose feature value is missing (`unknown`).")
    unknown: UnknownMode = Field("ignore", description=_UNKNOWN)
    exclude_below_share: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Report but do not judge groups under this share of the known data (NYC LL144 allows 0.02).",
    )

    @field_validator("intersections")
    @classmethod
    def _intersection_lists(cls, value: bool | list[list[str]]) -> bool | list[list[str]]:
        if isinstance(value, bool):
            return value
        seen: set[frozenset[str]] = set()
        for combo in value:
            if len(combo) < 2 or len(set(combo)) != len(combo):
                raise ValueError(f"intersection {combo!r} needs two or more different features")
            if frozenset(combo) in seen:
                raise ValueError(f"intersection {combo!r} is listed twice")
            seen.add(frozenset(combo))
        return value


class Rule(_Strict):
    """Compare a metric (or several: `metrics`) across groups: each judged group must fall within
    [min_value, max_value]. With `metrics`, the rule fails when any of its metrics fails."""

    id: ItemId
    title: Title
    metric: str | None = Field(None, description=f"One of: {', '.join(RULE_METRICS)}.")
    metrics: list[str] | None = Field(
        None,
        min_length=2,
        description="Several metrics judged by one rule with the same compare/against/bounds (e.g. "
        "[true_positive_rate, false_positive_rate] for equalized odds); give metric or metrics, not both.",
    )
    compare: Literal["ratio", "odds_ratio", "difference", "absolute_difference"] = Field(
        "ratio",
        description="ratio: the group's value over the comparator's (1 is parity); odds_ratio: the group's odds "
        "p/(1-p) over the comparator's (rates that are a count over a count, e.g. selection_rate); difference: "
        "the group's value minus the comparator's (0 is parity); absolute_difference: its size, either way.",
    )
    against: Literal["max", "min", "reference", "overall"] = Field(
        "max",
        description="The comparator: max/min: the judged group with the highest/lowest value; reference: the "
        "reference group (the rule's `reference`, else groups.reference); overall: the whole population of the "
        "scope (every row with a known value), as fairlearn's to_overall.",
    )
    reference: dict[str, str] | None = Field(
        None,
        description="This rule's reference group per sensitive feature (with against: reference), overriding "
        "groups.reference feature by feature, e.g. {race: Caucasian}.",
    )
    min_value: float | None = Field(None, description="Lower bound: a group at exactly min_value meets it (at least).")
    max_value: float | None = Field(None, description="Upper bound: a group at exactly max_value meets it (at most).")
    strict_bounds: bool = Field(
        False,
        description="Make the bounds strict: a value exactly at min_value or max_value fails "
        "(greater than / less than). Limits are compared exactly on the counts either way.",
    )
    severity: Severity = Field("block", description=_SEVERITY)
    decide_on: Literal["point", "whole_interval", "any_interval", "practical_significance"] = Field(
        "point",
        description=(
            "point: the estimate crosses a bound. whole_interval: the whole confidence interval is "
            "outside the bounds (strong evidence). any_interval: any part of it is (precautionary). "
            "practical_significance: the estimate crosses a bound AND the difference is statistically "
            "significant after Benjamini-Hochberg adjustment."
        ),
    )
    min_count: int | None = Field(None, ge=1, description="Overrides groups.min_count for this rule.")
    unknown: UnknownMode | None = Field(None, description="Overrides groups.unknown for this rule.")
    max_regression: float | None = Field(
        None, ge=0, description="Overrides the policy's max_regression for this rule (see `fairgate compare`)."
    )
    features: list[str] | None = Field(
        None, description="Sensitive features this rule judges (default: all, plus their intersection)."
    )  # noqa: E501
    explanation: str = Field("", description="Why this rule exists, in plain words; shown in the report.")
    citation: Citation = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        return None if value is None else _known(value)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [_known(v) for v in value]
        if len(set(names)) != len(names):
            raise ValueError("a metric is listed twice")
        return names

    @model_validator(mode="after")
    def _reference_needs_against(self) -> Rule:
        if self.reference is not None and self.against != "reference":
            raise ValueError(f"`reference` is given but against is {self.against!r}: add `against: reference`")
        return self

    def references(self, policy_wide: dict[str, str]) -> dict[str, str]:
        """The reference level per feature this rule compares with: its own over the policy's."""
        return {**policy_wide, **(self.reference or {})}

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The metric(s) this rule judges."""
        return tuple(self.metrics) if self.metrics else (self.metric,) if self.metric else ()

    @model_validator(mode="after")
    def _has_bound(self) -> Rule:
        if (self.metric is None) == (self.metrics is None):
            raise ValueError("give `metric` (one) or `metrics` (a list), not both and not neither")
        if self.min_value is None and self.max_value is None:
            raise ValueError("a rule needs min_value or max_value")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError("min_value is larger than max_value")
        ratio = self.compare in ("ratio", "odds_ratio")
        if ratio and any(v < 0 for v in (self.min_value, self.max_value) if v is not None):
            raise ValueError(f"a{'n odds' if self.compare == 'odds_ratio' else ''} ratio bound cannot be negative")
        if ratio and self.min_value is not None and self.min_value > 1:
            raise ValueError(f"min_value {self.min_value} is above 1: write ratios as fractions (0.8, not 80)")
        if self.compare == "odds_ratio":
            other = [m for m in self.metric_names if m not in BINOMIAL_RATES]
            if other:
                raise ValueError(
                    f"an odds ratio compares rates that are a count over a count; {other[0]} is not one "
                    f"(use one of: {', '.join(BINOMIAL_RATES)})"
                )
            if self.against == "overall":
                raise ValueError(
                    "an odds ratio compares two groups: use against: max, min or reference "
                    "(or compare: ratio against the overall population)"
                )
        if (
            not ratio
            and not any(m in _NOT_RATES for m in self.metric_names)
            and any(abs(v) > 1 for v in (self.min_value, self.max_value) if v is not None)
        ):
            raise ValueError("a difference of rates lies between -1 and 1: write 0.1 for 10 points")
        if self.compare == "absolute_difference" and self.max_value is None:
            raise ValueError("an absolute_difference rule needs max_value")
        return self


def _known(value: str) -> str:
    from audit.measures.metrics import regression_metric_names

    if value in regression_metric_names():
        return value
    if not is_known(value):
        from audit.util.suggest import did_you_mean

        names = [*RULE_METRICS, *regression_metric_names()]
        raise ValueError(f"unknown metric {value!r}; {did_you_mean(value, names)}known metrics: {', '.join(names)}")
    return canonical_name(value)


class ReferencePopulation(_Strict):
    """The population a sensitive feature's shares are compared with: shares, or a CSV of counts."""

    shares: dict[str, float] | None = Field(None, description="Reference share per group (normalised to sum 1).")
    csv: str | None = Field(
        None,
        description="CSV with columns dimension, group, count: a path relative to the policy file, or "
        "fairgate:references/<name>.csv for a shipped one.",
    )
    dimension: str | None = Field(None, description="Which rows of the CSV (its `dimension` column) to use.")
    source: str = Field("", description="Where the numbers come from (shown in the report).")
    year: int | None = Field(None, description="The year the reference numbers describe (shown in the report).")

    @model_validator(mode="after")
    def _one_source(self) -> ReferencePopulation:
        # (after loading, a csv reference also carries the shares read from it, for the evidence)
        if self.shares is None and self.csv is None:
            raise ValueError("give shares or csv")
        if self.csv is not None and not self.dimension:
            raise ValueError("a csv reference needs `dimension`")
        if self.shares is not None:
            if not self.shares or any(v <= 0 for v in self.shares.values()):
                raise ValueError("reference shares must be positive")
            total = sum(self.shares.values())
            if abs(total - 1) > 0.02:
                raise ValueError(f"reference shares sum to {total:.3f}, not 1")
        return self


class Representativeness(_Strict):
    """Is the audited data representative of a reference population for one sensitive feature?"""

    id: ItemId
    title: Title = ""
    feature: str = Field(description="The sensitive feature whose shares are compared (one of the audit's).")
    reference: ReferencePopulation = Field(description="The population the data's shares are compared with.")
    mapping: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="Data value → reference group name (or a list of them: the value covers all of those groups), "
        "where they differ. Reference groups one value names together are compared as one group, with the data "
        "values mapped to any of them.",
    )
    min_representation_ratio: float | None = Field(
        None, gt=0, description="Fail a group whose observed share / expected share is below this."
    )
    max_share_gap: float | None = Field(
        None, gt=0, lt=1, description="Fail a group whose observed share differs from the expected by more."
    )
    severity: Severity = Field("warn", description=_SEVERITY)
    explanation: Explanation = ""
    citation: Citation = ""

    @model_validator(mode="after")
    def _has_bound(self) -> Representativeness:
        if self.min_representation_ratio is None and self.max_share_gap is None:
            raise ValueError("a representativeness check needs min_representation_ratio or max_share_gap")
        return self

    @model_validator(mode="after")
    def _mapping_names_reference_groups(self) -> Representativeness:
        # (a csv reference carries its shares once loaded; before that only declared shares can be checked)
        known = self.reference.shares
        for value, target in self.mapping.items():
            targets = [target] if isinstance(target, str) else target
            if not targets:
                raise ValueError(f"mapping: {value!r} maps to no reference group (give one, or a list)")
            if len(set(targets)) != len(targets):
                raise ValueError(f"mapping: {value!r} names a reference group twice")
            unknown = [t for t in targets if known is not None and t not in known]
            if unknown:
                raise ValueError(
                    f"mapping: {value!r} → {unknown[0]!r} is not a group of the reference population "
                    f"(its groups: {', '.join(repr(k) for k in known or {})})"
                )
        return self


class _Check(_Strict):
    id: ItemId
    title: Title = ""
    severity: Severity = Field("warn", description=_SEVERITY)
    explanation: str = Field("", description="Why this requirement exists, in plain words; shown in the report.")
    citation: Citation = ""


class MissingSensitive(_Check):
    """Share of rows whose sensitive value is missing (empty or absent), per sensitive feature."""

    check: Literal["missing_sensitive"] = Field(description="The kind of data requirement (see docs/policies.md).")
    max_share: float = Field(ge=0, lt=1, description="Fail a feature with a larger share of missing values.")
    features: list[str] | None = Field(None, description="Features checked (default: every sensitive feature).")


class MissingLabel(_Check):
    """Share of rows without a true outcome. Rows without one are left out of the audit (counted)."""

    check: Literal["missing_label"] = Field(description="The kind of data requirement (see docs/policies.md).")
    max_share: float = Field(ge=0, lt=1, description="Fail when a larger share of rows has no label.")


class MinGroupRows(_Check):
    """Every group (each sensitive feature, and their intersection) has at least `min_rows` rows."""

    check: Literal["min_group_rows"] = Field(description="The kind of data requirement (see docs/policies.md).")
    min_rows: int = Field(ge=1, description="Fail a group with fewer rows.")
    features: list[str] | None = Field(None, description="Features checked (default: all, plus their intersection).")  # noqa: E501


class LabelBalance(_Check):
    """In every group, each outcome class (positive, negative) makes up at least `min_share`."""

    check: Literal["label_balance"] = Field(description="The kind of data requirement (see docs/policies.md).")
    min_share: float = Field(gt=0, lt=0.5, description="Fail a group in which an outcome class is rarer.")
    features: list[str] | None = Field(None, description="Features checked (default: all, plus their intersection).")  # noqa: E501


class DuplicateRows(_Check):
    """Share of rows that repeat an earlier row exactly (all columns of the file)."""

    check: Literal["duplicate_rows"] = Field(description="The kind of data requirement (see docs/policies.md).")
    max_share: float = Field(ge=0, lt=1, description="Fail when a larger share of rows repeats an earlier one.")


class TimestampAge(_Check):
    """How old the data is, relative to the audit date: the oldest and the newest row of a column."""

    check: Literal["timestamp_age"] = Field(description="The kind of data requirement (see docs/policies.md).")
    column: str = Field(description="Column holding a date or date-time (ISO 8601 text, or a date type).")
    max_age_days: int | None = Field(None, ge=0, description="Fail when the OLDEST row is older than this.")
    max_newest_age_days: int | None = Field(
        None, ge=0, description="Fail when even the NEWEST row is older than this (the data is stale)."
    )

    @model_validator(mode="after")
    def _has_bound(self) -> TimestampAge:
        if self.max_age_days is None and self.max_newest_age_days is None:
            raise ValueError("a timestamp_age requirement needs max_age_days or max_newest_age_days")
        return self


DataRequirement = Annotated[
    MissingSensitive | MissingLabel | MinGroupRows | LabelBalance | DuplicateRows | TimestampAge,
    Field(discriminator="check"),
]
DATA_CHECKS = (
    "missing_sensitive",
    "missing_label",
    "min_group_rows",
    "label_balance",
    "duplicate_rows",
    "timestamp_age",
)


class ScoreRule(_Strict):
    """Scores: each group's standardized mean difference (SMD) of scores vs the highest-mean group."""

    id: ItemId
    title: Title
    metric: Literal["smd_vs_highest"] = Field(
        "smd_vs_highest",
        description="Standardized mean difference of the group's scores vs the group with the "
        "highest mean score (Hedges-Olkin interval).",
    )
    max_abs_value: float = Field(gt=0, description="Flag a group whose |SMD| is larger (e.g. 0.3).")
    severity: Severity = Field("warn", description=_SEVERITY)
    min_count: int | None = Field(None, ge=1, description="Overrides groups.min_count for this rule.")
    features: list[str] | None = Field(
        None, description="Sensitive features judged (default: all, plus their intersection)."
    )  # noqa: E501
    explanation: Explanation = ""
    citation: Citation = ""


class Waiver(_Strict):
    """An approved exception: a failing rule (or one group of it) is reported as WAIVED, not failing."""

    rule: str = Field(description="Id of the rule, representativeness check, data requirement or score rule.")
    group: str | None = Field(
        None,
        description="One group: its label (`Female`, `Female × Black`) or feature=value (`sex=Female`, "
        "`sex=Female&race=Black`). Absent: the whole rule.",
    )
    reason: str = Field(min_length=1, description="Why the exception is accepted (shown in the report).")
    approved_by: str = Field(min_length=1, description="Who approved the exception (a person or a body).")
    expires: dt.date = Field(description="Last day the waiver applies (YYYY-MM-DD), judged against the audit date.")


class Proxy(_Strict):
    """A sensitive feature estimated from the data by `fairgate run` itself (BISG/BIFSG, docs/proxy.md):
    its probability columns are computed inline and audited as probabilistic group membership."""

    method: Literal["bisg", "bifsg"] = Field("bisg", description="bisg: surname and geography; bifsg: also first name.")
    feature: str = Field("race", description="The name the estimated feature is reported under.")
    surname: str = Field(description="The surname column.")
    zcta: str | None = Field(None, description="The ZIP code (ZCTA) column; give zcta or tract.")
    tract: list[str] | None = Field(
        None, min_length=3, max_length=3, description="The state, county and tract FIPS columns."
    )
    first_name: str | None = Field(None, description="The first-name column (bifsg).")

    @model_validator(mode="after")
    def _one_geography(self) -> Proxy:
        if (self.zcta is None) == (self.tract is None):
            raise ValueError("give exactly one geography: zcta: COLUMN or tract: [STATE, COUNTY, TRACT]")
        if (self.method == "bifsg") != (self.first_name is not None):
            raise ValueError("method bifsg needs first_name, and first_name needs method bifsg")
        return self


class Policy(_Strict):
    fairgate: Literal[1] = Field(description="Policy language version.")
    extends: str | None = Field(
        None,
        description="A shipped policy id or a path (relative to this file) whose content this policy "
        "starts from; this file's keys override it (mappings merged key by key, rules merged by id).",
    )
    remove: list[str] = Field(
        default_factory=list,
        description="With extends: ids of the extended policy's rules, checks or data "
        "requirements to drop (to replace one, remove it and add a rule with the same id).",
    )
    id: ItemId
    version: str = Field(description="The policy's own version, recorded with every audit (e.g. '1.2.0').")
    title: Title
    description: str = Field("", description="What the policy is for, in a few sentences (shown in the report).")
    citation: Citation = ""
    columns: Columns = Field(
        default_factory=Columns, description="Default column roles (label, decision, sensitive features)."
    )
    groups: Groups = Field(
        default_factory=Groups, description="Who is judged: sample sizes, reference groups, intersections."
    )
    confidence_level: float = Field(
        0.95, gt=0.5, lt=1.0, description="Level of every confidence interval and significance test (0.95: 95%)."
    )
    where: list[str] = Field(
        default_factory=list,
        description='Audit only the rows meeting every clause, e.g. ["days_b_screening_arrest between -30 and 30", '
        "\"c_charge_degree != 'O'\"]: COLUMN OP VALUE (= != < <= > >=), COLUMN [not] between A and B, COLUMN "
        "[not] in (A, B), COLUMN is [not] null; text in single quotes. A missing value never meets a comparison. "
        "The report and results.json state each clause and how many rows it removed.",
    )
    segment_by: list[str] = Field(
        default_factory=list,
        description="Columns whose values split the audited rows into segments (score bands, products, regions): "
        "every rule is also evaluated within each segment, and a selection_rate rule gets a segmented adverse "
        "impact ratio (Mantel–Haenszel common odds ratio and rate ratio, Cochran–Mantel–Haenszel test, Breslow–Day "
        "homogeneity). The verdict stays the pooled one; the segments are evidence.",
    )
    score_bands: Literal["quartiles", "quintiles", "deciles"] | list[float] | None = Field(
        None,
        description="Split the audited rows into bands of the decision score — equal-count quartiles, quintiles or "
        "deciles of the sample, or a list of increasing cut-offs (a band holds the scores above the previous "
        "cut-off up to and including its own) — and evaluate every rule within each band as a segment "
        "(see segment_by): the adverse impact ratio by score band of fair-lending practice. Needs scores "
        "(--scores, or a model with probabilities).",
    )
    max_regression: float = Field(
        0.0,
        ge=0,
        description=(
            "How much worse a candidate model's disparity may be than the baseline's before `fairgate "
            "compare` flags a regression (the change must also be beyond its confidence interval)."
        ),
    )
    rules: list[Rule] = Field(
        default_factory=list, description="Group-metric rules: each compares a metric across groups."
    )
    representativeness: list[Representativeness] = Field(
        default_factory=list, description="Checks of the data's shares of a feature against a reference population."
    )
    data_requirements: list[DataRequirement] = Field(
        default_factory=list,
        description="Checks on the data itself: completeness, group sizes, label balance, "
        "duplicates, age. `check` chooses the kind.",
    )
    score_rules: list[ScoreRule] = Field(default_factory=list, description="Rules over score distributions.")
    waivers: list[Waiver] = Field(
        default_factory=list, description="Approved, dated exceptions: a waived failure is reported as WAIVED."
    )
    monitoring: Monitoring | None = Field(
        None, description="Audit per time window (trends) and judge drift between windows."
    )
    proxy: Proxy | None = Field(
        None,
        description="Estimate a sensitive feature inline (BISG/BIFSG from surname and geography) and audit it "
        "as probabilistic group membership: weighted estimates, sampling intervals and partial-identification "
        "bounds (docs/proxy.md).",
    )
    context: AuditContext | None = Field(
        None,
        description="Facts about the audit (system, owner, data, auditor …) shared by every audit under this policy; "
        "a --context file's values override them. Recorded in results.json and shown on the report's cover.",
    )
    requires_context: list[str] = Field(
        default_factory=list,
        description="Context fields an audit under this policy must give (dotted names such as system.name, "
        "data.source, auditor.independence, distribution_date): a missing one stops the audit (exit 2).",
    )
    valid_for_days: int | None = Field(
        None,
        ge=1,
        description="How long an audit under this policy stays valid, in days from its audit date (NYC LL144: 365); "
        "`fairgate history --expiring` lists the audits past it.",
    )

    @field_validator("where")
    @classmethod
    def _parsed_where(cls, value: list[str]) -> list[str]:
        from audit.tables.filters import FilterError, parse_clause

        for clause in value:
            try:
                parse_clause(clause)
            except FilterError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("score_bands")
    @classmethod
    def _increasing_cuts(cls, value: str | list[float] | None) -> str | list[float] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one cut-off (or quartiles, quintiles, deciles)")
            if any(not math.isfinite(v) for v in value) or any(b <= a for a, b in zip(value, value[1:], strict=False)):
                raise ValueError("score band cut-offs must be finite and strictly increasing")
        return value

    @field_validator("requires_context")
    @classmethod
    def _context_fields(cls, value: list[str]) -> list[str]:
        return check_field_names(value)

    @field_validator("segment_by")
    @classmethod
    def _distinct_segments(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a segment column is listed twice")
        return value

    def all_ids(self) -> list[str]:
        return [r.id for r in [*self.rules, *self.representativeness, *self.data_requirements, *self.score_rules]]

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Policy:
        if not (self.rules or self.representativeness or self.data_requirements or self.score_rules):
            raise ValueError(
                "a policy needs at least one rule or representativeness check (or a data requirement or score rule)"
            )
        seen: set[str] = set()
        for rule in [*self.rules, *self.representativeness, *self.data_requirements, *self.score_rules]:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        for drift in self.monitoring.drift if self.monitoring else ():
            if drift.id in seen:
                raise ValueError(f"rule id {drift.id!r} is used twice")
            if drift.kind == "disparity" and drift.rule not in {r.id for r in self.rules}:
                raise ValueError(
                    f"drift rule {drift.id!r} watches rule {drift.rule!r}, which this policy does not have"
                )
        return self
