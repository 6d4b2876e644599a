"""Synthetic lending files for the probabilistic-feature tests: each person's race given as probabilities,
their true race drawn from them and held back, a quarter of them with a self-reported answer.

Shared by tests/flow/test_proxy_{intersections,segments,windows,score_bands}.py (and, through them, the
Spark tests in tests/tables/test_proba.py); the BISG file of test_proxy_lending.py shares the rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LEVELS = ("white", "black", "hispanic")
PROBA = "race=" + ",".join(f"p_{g}" for g in LEVELS)
#: The warning rule the lending policies add to four-fifths: approval-rate gap against the highest group.
GAP_RULE = """\
rules:
  - id: approval-gap
    title: Approval rate gap against the highest group
    metric: selection_rate
    compare: difference
    against: max
    min_value: -0.1
    severity: warn
"""


def policy_text(policy_id: str, title: str, extra: str = "", *, gap_rule: bool = True) -> str:
    """A policy extending four-fifths, with ``extra`` lines (segment_by, monitoring, proxy, …)."""
    head = f'fairgate: 1\nextends: four-fifths\nid: {policy_id}\nversion: "1"\ntitle: {title}\n'
    return head + extra + (GAP_RULE if gap_rule else "")


def draw_race(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each person's probabilities (Dirichlet 0.8/0.4/0.4 over LEVELS) and a true race drawn from them."""
    p = rng.dirichlet([0.8, 0.4, 0.4], n)
    race = np.array(LEVELS)[(rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 2)]
    return p, race


def probability_columns(p: np.ndarray) -> dict[str, np.ndarray]:
    return {f"p_{g}": p[:, k] for k, g in enumerate(LEVELS)}


def write_files(root: Path, name: str, frame: pd.DataFrame, race: np.ndarray, rng: np.random.Generator, policy: str):
    """A quarter answered the race question (at random): their answer in ``race_self``, everyone else's
    race held back. Writes NAME.csv, NAME.parquet and policy.yaml into ``root``."""
    frame["race_self"] = np.where(rng.random(len(frame)) < 0.25, race, None)
    frame.to_csv(root / f"{name}.csv", index=False)
    frame.to_parquet(root / f"{name}.parquet")
    (root / "policy.yaml").write_text(policy, encoding="utf-8")
