"""The paired part of the evidence, computed from the collected outcomes alone.

``outcomes.csv`` (one row per profile and group: the outcome aggregated over the repeats, each repeat's
answer, and why an answer could not be read) is both the data the policy pipeline audits and everything
the paired statistics need: ``verify --recompute --data outcomes.csv`` recomputes this section from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.measures.paired import adjust, paired_decisions, paired_scores, within_prompt
from audit.measures.significance import p_text

PROFILE = "profile"
ANSWERED = "answered"
UNPARSABLE = "unparsable"
PROBLEMS = "problems"
ANSWER_PREFIX = "answer_"

TEST_DATA_WHY = (
    "The tool was audited through its interface with test profiles, not with historical data of its use: "
    "no record of the tool's decisions on real candidates was available to the auditor, and a "
    "counterfactual test needs profiles that differ only in the signal of the category."
)
CAN_SHOW = (
    "Whether the tool's output changes when only the name (or the swapped attribute) changes and everything "
    "else in the profile stays the same: a direct dependence on that signal, measured on paired profiles."
)
CANNOT_SHOW = (
    "Disparities that reach the tool through other information correlated with a category (schools, "
    "addresses, gaps in employment, wording); the impact ratios among the real applicants, whose profiles "
    "differ; effects of signals that were not varied. A name signals a category only with some probability "
    "and also signals other things (age, region, class). The results hold for these profiles and for the "
    "model as it answered on the dates recorded; no significant difference is not proof of no effect."
)


def outcome_column(output: str) -> str:
    return "score" if output == "score" else "decision"


def paired_section(
    frame: pd.DataFrame,
    *,
    column: str,
    groups: Sequence[str],
    reference: str,
    output: str,
    level: float,
) -> dict[str, Any]:
    """Per group: answers and unreadable answers; against the reference: the paired tests (BH-adjusted)."""
    alpha = 1 - level
    outcome = outcome_column(output)
    wide = frame.pivot(index=PROFILE, columns=column, values=outcome)
    answered = frame.pivot(index=PROFILE, columns=column, values=ANSWERED).astype(bool)
    failed = frame.pivot(index=PROFILE, columns=column, values=UNPARSABLE) > 0
    per_group = []
    for group in groups:
        rows = frame[frame[column] == group]
        reasons: Counter[str] = Counter()
        for text in rows[PROBLEMS]:
            reasons.update(r for r in str(text).split(";") if r and r != "nan")
        answers = _answers(rows)
        per_group.append(
            {
                "group": group,
                "profiles": int(len(rows)),
                "answered": int(rows[ANSWERED].astype(int).sum()),
                "answers": int(np.isfinite(answers).sum()),
                "unparsable": int(rows[UNPARSABLE].astype(int).sum()),
                "unparsable_share": float(rows[UNPARSABLE].astype(int).sum()) / max(1, answers.size),
                "problems": dict(sorted(reasons.items())),
            }
        )
    others = [g for g in groups if g != reference]
    comparisons: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    for group in others:
        both = answered[reference] & answered[group]
        ref, grp = wide.loc[both, reference].astype(float), wide.loc[both, group].astype(float)
        if output == "score":
            measure = paired_scores(ref.to_numpy(), grp.to_numpy(), level=level).as_dict()
            effect = measure["mean_difference"]
        else:
            measure = paired_decisions(ref.to_numpy() > 0.5, grp.to_numpy() > 0.5).as_dict()
            effect = measure["rate_difference"]
        comparisons.append({"group": group, "reference": reference, **measure, "effect": effect})
        unreadable = paired_decisions(failed[reference].to_numpy(), failed[group].to_numpy()).as_dict()
        refusals.append({"group": group, "reference": reference, **unreadable, "effect": unreadable["rate_difference"]})
    for items in (comparisons, refusals):
        for item, p in zip(items, adjust([i["p_value"] for i in items]), strict=True):
            item["p_adjusted"] = p
            item["significant"] = p is not None and p < alpha
            item["direction"] = _direction(item["effect"]) if item["significant"] else "none"
    for item in comparisons:
        item["sentence"] = _sentence(item, output=output, level=level)
    return {
        "reference": reference,
        "level": level,
        "alpha": alpha,
        "adjustment": "benjamini-hochberg across the groups compared with the reference",
        "groups": per_group,
        "paired": comparisons,
        "unparsable_paired": refusals,
        "variability": _variability(frame),
    }


def _answers(rows: pd.DataFrame) -> np.ndarray:
    columns = [c for c in rows.columns if str(c).startswith(ANSWER_PREFIX)]
    return rows[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)


def _variability(frame: pd.DataFrame) -> dict[str, Any] | None:
    answers = _answers(frame)
    if answers.shape[1] < 2:
        return None
    return {"repeats": int(answers.shape[1]), **within_prompt(answers)}


def _direction(effect: float | None) -> str:
    if effect is None or effect == 0:
        return "none"
    return "lower" if effect < 0 else "higher"


def _sentence(item: dict[str, Any], *, output: str, level: float) -> str:
    group, ref = item["group"], item["reference"]
    if item["pairs"] == 0:
        return f"No profile was answered with both the {group} and the {ref} signal: no paired comparison."
    if output == "score":
        diff = item["mean_difference"]
        ci = f" ({level:.0%} CI {item['ci_low']:+.3g} to {item['ci_high']:+.3g})" if item["ci_low"] is not None else ""
        measured = f"mean paired score difference {diff:+.3g}{ci}, {item['nonzero']} of {item['pairs']} pairs differ"
    else:
        measured = (
            f"{item['flip_share']:.1%} of {item['pairs']} paired decisions flip "
            f"({item['only_group']} selected only as {group}, {item['only_reference']} only as {ref})"
        )
    p = item["p_adjusted"]
    test = "no test possible (no pair differs)" if p is None else f"BH-adjusted {p_text(p)}"
    verdict = (
        f"the {group} signal gets {'lower' if item['direction'] == 'lower' else 'higher'} outcomes than the {ref} "
        "signal on the same profiles"
        if item["significant"]
        else "no significant paired difference"
    )
    return f"{group} vs {ref}: {measured}; {test}: {verdict}."


def read_outcomes(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={PROFILE: str}, keep_default_na=True)


def recomputed(recorded: dict[str, Any], data: Path) -> dict[str, Any]:
    """The recorded probe section with its statistics recomputed from ``data`` (outcomes.csv)."""
    design = recorded["design"]
    frame = read_outcomes(data)
    frame[design["column"]] = frame[design["column"]].astype(str)
    statistics = paired_section(
        frame,
        column=design["column"],
        groups=design["groups"],
        reference=design["reference"],
        output=recorded["output"],
        level=recorded["statistics"]["level"],
    )
    return {**recorded, "statistics": statistics}
