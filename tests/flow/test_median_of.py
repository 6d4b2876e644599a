"""LL144 scoring rates: whose scores the sample median is taken over (``columns.median_of``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli.helpers import invoke

POLICY = """fairgate: 1
extends: nyc-ll144-scoring
id: scoring-median
version: "1"
title: t
requires_context: []
columns: {{sensitive: [sex], median_of: {median_of}}}
"""


@pytest.mark.parametrize("median_of", ["known", "everyone", None])
def test_unknown_category_people_enter_the_median_only_when_asked(tmp_path, capsys, median_of):
    # known: scores 1..10 (median 5.5); unknown sex: five people scoring 100 pull everyone's median up to 8
    rows = [("F" if i % 2 else "M", i) for i in range(1, 11)] + [("", 100)] * 5
    frame = pd.DataFrame(rows, columns=["sex", "score"])
    frame.to_csv(tmp_path / "d.csv", index=False)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(median_of=median_of or "null"))
    invoke(
        capsys,
        ["run", "--data", tmp_path / "d.csv", "--policy", policy, "--out", tmp_path / "out", "--format", "json"],
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    known = frame["sex"].notna() & (frame["sex"] != "")
    expected = frame["score"].median() if median_of == "everyone" else frame.loc[known, "score"].median()
    assert doc["audit"]["predictions"]["threshold"] == expected == (8.0 if median_of == "everyone" else 5.5)
    female = next(g for g in doc["groups"] if g["id"] == "sex=F")
    assert female["metrics"]["selection_rate"]["numerator"] == int(
        ((frame["sex"] == "F") & (frame["score"] > expected)).sum()
    )
    assert doc["audit"]["unknown_counts"] == {"sex": 5}
