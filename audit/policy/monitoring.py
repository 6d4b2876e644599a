"""The policy's ``monitoring:`` block: time windows and drift rules.

```yaml
monitoring:
  period_column: decided_at     # overridable with --period-column
  period: month                 # day | week | month | quarter | year
  verdict_from: latest          # latest window | worst window | pooled (all windows together)
  drift:
    - id: tpr-drift
      title: True positive rate stable within 5 points
      kind: metric              # metric | disparity | shares
      metric: true_positive_rate
      max_change: 0.05
      baseline: first           # first window | previous window | launch (--baseline results.json)
      severity: warn
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID = r"^[a-z0-9][a-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DriftRule(_Strict):
    """Did something change between a baseline window and each later window, beyond noise?"""

    id: str = Field(
        pattern=_ID,
        description="Stable identifier (lower case, digits, . _ -): named by waivers, results.json and JUnit.",
    )
    title: str = Field("", description="Short human name, shown in the report and the terminal.")
    kind: Literal["metric", "disparity", "shares"] = Field(
        "metric",
        description=(
            "metric: a group's rate (e.g. true_positive_rate) moved by more than max_change; "
            "disparity: a policy rule's ratio/difference for a group got worse by more than max_change; "
            "shares: a sensitive feature's group shares shifted (total variation distance above max_change)."
        ),
    )
    metric: str | None = Field(None, description="kind metric: the group metric to watch (a rate).")
    rule: str | None = Field(None, description="kind disparity: the id of the policy rule whose disparity to watch.")
    feature: str | None = Field(
        None, description="kind shares: the sensitive feature; kind metric: limit to this feature (default all)."
    )
    max_change: float = Field(gt=0, le=1, description="Largest tolerated change (rate points, ratio, or TVD).")
    baseline: Literal["first", "previous", "launch"] = Field(
        "first",
        description="Compare each window with the first window, the one before it, or the launch "
        "audit's results.json (--baseline).",
    )
    decide_on: Literal["point", "practical_significance"] = Field(
        "practical_significance",
        description="point: the change alone decides; practical_significance: the change must also be "
        "statistically significant (two-proportion / chi-square test, Benjamini-Hochberg-adjusted).",
    )
    severity: Literal["block", "warn"] = Field(
        "warn", description="block: drift fails the gate; warn: flagged, never blocks."
    )
    explanation: str = Field("", description="Why this check exists, in plain words; shown in the report.")

    @field_validator("metric")
    @classmethod
    def _rate_metric(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from audit.measures.metrics import REGISTRY, canonical_name, is_known

        name = canonical_name(value) if is_known(value) else value
        if name not in REGISTRY or REGISTRY[name].numerator_weight != 1:
            rates = ", ".join(n for n, s in REGISTRY.items() if s.numerator_weight == 1)
            raise ValueError(f"drift needs a rate metric; {value!r} is not one of: {rates}")
        return name

    @model_validator(mode="after")
    def _kind_fields(self) -> DriftRule:
        if self.kind == "metric" and self.metric is None:
            raise ValueError("a metric drift rule needs `metric`")
        if self.kind == "disparity" and self.rule is None:
            raise ValueError("a disparity drift rule needs `rule` (the id of a policy rule)")
        if self.kind == "shares" and self.feature is None:
            raise ValueError("a shares drift rule needs `feature`")
        return self


class Monitoring(_Strict):
    """Audit per time window; the run's verdict comes from the latest window unless set otherwise."""

    period_column: str | None = Field(None, description="Timestamp column that places each row in a window.")
    period: Literal["day", "week", "month", "quarter", "year"] = Field(
        "month", description="The length of a window (calendar periods, UTC)."
    )
    verdict_from: Literal["latest", "worst", "pooled"] = Field(
        "latest",
        description="latest: the newest window decides the run's verdict; worst: the worst window "
        "does; pooled: all windows together do.",
    )
    drift: list[DriftRule] = Field(
        default_factory=list, description="Checks that compare each window with its baseline."
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> Monitoring:
        ids = [d.id for d in self.drift]
        dup = next((i for i in ids if ids.count(i) > 1), None)
        if dup:
            raise ValueError(f"drift rule id {dup!r} is used twice")
        return self
