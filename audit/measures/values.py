"""The value a metric hands on: shared by the classification registry (:mod:`audit.measures.metrics`)
and the score/regression metrics (:mod:`audit.measures.scores`), so neither imports the other's
module for it (metrics reads the regression registry from scores; scores needs only this)."""

from __future__ import annotations

from dataclasses import dataclass

#: Below this many people, a rate's interval is Clopper–Pearson (exact, conservative) not Wilson.
EXACT_BELOW = 10


@dataclass(frozen=True)
class MetricValue:
    """A group's metric: value (None when undefined), the counts behind it, and its interval."""

    value: float | None
    numerator: int | None
    denominator: int | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None

    @classmethod
    def estimate(
        cls,
        value: float | None,
        numerator: int | None,
        denominator: int | None,
        ci: tuple[float, float] | None,
        ci_method: str | None,
    ) -> MetricValue:
        """A value with its interval (``ci``: (low, high), or None when there is none)."""
        low, high = ci if ci is not None else (None, None)
        return cls(value, numerator, denominator, low, high, ci_method)

    def to_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "ci": None if self.ci_low is None else [self.ci_low, self.ci_high],
            "ci_method": self.ci_method,
        }
