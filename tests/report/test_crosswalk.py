"""The regulation crosswalk (audit/report/crosswalk.yaml): selected per policy, every section and results.json key
an entry names present in a real run of every shipped policy, and never a word claiming that anything complies."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import yaml

from audit.policy.load import shipped_policies
from audit.report.crosswalk import TABLE, crosswalk_for, load_table, lookup
from audit.report.markdown import render_markdown

#: The command-line roles each shipped policy is run with (a policy's own `columns` fill the rest).
ROLES = {
    "four-fifths": ["--label", "label", "--predictions", "pred", "--sensitive", "sex", "--sensitive", "race_ethnicity"],
    "equalized-odds": ["--label", "label", "--predictions", "pred", "--sensitive", "sex"],
    "eu-ai-act-art10-data": ["--label", "label", "--predictions", "pred"],
    "representation-us-census": ["--label", "label", "--predictions", "pred"],
    "nyc-ll144": ["--predictions", "pred"],
    "nyc-ll144-selection": ["--predictions", "pred"],
    "nyc-ll144-scoring": [],
    "credit-air": ["--label", "label", "--scores", "score", "--threshold", "0.5", "--sensitive", "sex"],
    "regression-error-parity": ["--label", "y_num", "--predictions", "pred_num", "--sensitive", "sex"],
}
#: The frameworks each shipped policy serves (the crosswalk's selection, spelled out).
EXPECTED = {
    "four-fifths": {"nist-ai-rmf", "iso-iec-42001", "colorado-ai-act", "california-ads"},
    "equalized-odds": {"nist-ai-rmf", "iso-iec-42001"},
    "eu-ai-act-art10-data": {"eu-ai-act", "nist-ai-rmf", "iso-iec-42001"},
    "representation-us-census": {"nist-ai-rmf", "iso-iec-42001"},
    "nyc-ll144": {"nist-ai-rmf", "iso-iec-42001", "nyc-ll144", "colorado-ai-act", "california-ads"},
    "nyc-ll144-selection": {"nist-ai-rmf", "iso-iec-42001", "nyc-ll144", "colorado-ai-act", "california-ads"},
    "nyc-ll144-scoring": {"nist-ai-rmf", "iso-iec-42001", "nyc-ll144", "colorado-ai-act", "california-ads"},
    "credit-air": {"nist-ai-rmf", "iso-iec-42001", "colorado-ai-act"},
    "regression-error-parity": {"nist-ai-rmf", "iso-iec-42001"},
}
#: Words that would claim the law is met (the crosswalk only says what the report contains).
CLAIMS = re.compile(r"\b(compl(y|ies|ied|iant|iance)|conform(s|ity|ant)?|certif(y|ies|ied))\b", re.I)


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("crosswalk") / "people.csv"
    lines = ["sex,race_ethnicity,label,pred,score,y_num,pred_num"]
    for i in range(800):
        sex = "Female" if i % 2 else "Male"
        race = ("Black", "White", "Hispanic or Latino")[i % 3]
        score = round(rng.random(), 4)
        label = int(rng.random() < 0.5)
        y = round(rng.uniform(10, 20), 3)
        lines.append(f"{sex},{race},{label},{int(score >= 0.5)},{score},{y},{round(y + rng.gauss(0, 1), 3)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(data_csv, tmp_path_factory):
    """Each shipped policy run once: (results.json, report.html, summary.md)."""
    from audit.cli import main

    out = {}
    for policy in shipped_policies():
        target = tmp_path_factory.mktemp(policy)
        args = ["run", "--data", data_csv, "--policy", policy, *ROLES[policy], "--out", target]
        if policy.startswith("nyc-ll144"):  # the LL144 policies require the audit's context (issue 20)
            args += ["--context", Path(__file__).parents[2] / "examples" / "ll144" / "context.yaml"]
        code = main([str(a) for a in [*args, "--format", "html,json,md", "--no-ledger", "-q"]])
        assert code in (0, 1), f"{policy}: exit {code}"
        out[policy] = (
            json.loads((target / "results.json").read_text(encoding="utf-8")),
            (target / "report.html").read_text(encoding="utf-8"),
            (target / "summary.md").read_text(encoding="utf-8"),
        )
    return out


def test_every_shipped_policy_has_roles_here():
    assert set(ROLES) == set(shipped_policies()) == set(EXPECTED)


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_frameworks_selected_per_policy(runs, policy):
    document = runs[policy][0]
    assert {f["id"] for f in document["crosswalk"]["frameworks"]} == EXPECTED[policy]


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_every_referenced_section_and_key_exists(runs, policy):
    document, html, _ = runs[policy]
    entries = [e for f in document["crosswalk"]["frameworks"] for e in f["entries"]]
    assert entries
    for entry in entries:
        for section in entry["sections"]:
            assert f'<section class="{section["id"]}' in html, (policy, entry["provision"], section)
        for key in entry["keys"]:
            assert lookup(document, key)[0], (policy, entry["provision"], key)
    # the report shows every provision the block holds
    crosswalk = html[html.index('<section class="crosswalk">') :]
    for entry in entries:
        assert entry["provision"] in crosswalk.replace("&amp;", "&")


def test_every_table_entry_is_reached_by_some_shipped_policy(runs):
    """No provision in the table is dead: each one is listed for at least one shipped policy's run."""
    listed = {
        (f["id"], e["provision"])
        for doc, _, _ in runs.values()
        for f in doc["crosswalk"]["frameworks"]
        for e in f["entries"]
    }
    table = {(f["id"], e["provision"]) for f in load_table()["frameworks"] for e in f["entries"]}
    assert listed == table


def test_extends_inherits_the_frameworks(runs, tmp_path):
    """A policy of one's own that extends a shipped one serves what that one serves."""
    document = runs["nyc-ll144-selection"][0]
    own = {
        **document,
        "policy": {**document["policy"], "id": "acme-hiring", "extends": [{"source": "nyc-ll144-selection"}]},
    }
    assert {f["id"] for f in crosswalk_for(own)["frameworks"]} == EXPECTED["nyc-ll144-selection"]
    alone = {**document, "policy": {**document["policy"], "id": "acme-hiring"}}
    assert {f["id"] for f in crosswalk_for(alone)["frameworks"]} == {"nist-ai-rmf", "iso-iec-42001"}


def test_entry_requires_what_it_points_to(runs):
    """Art. 10 entries point at representativeness and data requirements: listed only where the audit has them."""
    document = runs["eu-ai-act-art10-data"][0]
    eu = next(f for f in document["crosswalk"]["frameworks"] if f["id"] == "eu-ai-act")
    assert [e["provision"] for e in eu["entries"]] == [
        "Annex IV, point 2(g)",
        "Art. 10(2)(f)-(g)",
        "Art. 10(3)",
        "Art. 10(5)",
    ]
    without = {k: v for k, v in document.items() if k not in ("checks", "crosswalk")}
    eu = next(f for f in crosswalk_for(without)["frameworks"] if f["id"] == "eu-ai-act")
    assert "Art. 10(2)(f)-(g)" not in [e["provision"] for e in eu["entries"]]


def test_no_text_claims_compliance(runs):
    table_text = TABLE.read_text(encoding="utf-8")
    text_only = yaml.safe_dump(yaml.safe_load(table_text))  # the statements, not the file's comments
    assert not CLAIMS.search(text_only), CLAIMS.search(text_only)
    for policy, (document, html, summary) in runs.items():
        section = html[html.index('<section class="crosswalk">') :].split("</section>")[0]
        for text in (json.dumps(document["crosswalk"]), section, summary):
            assert not CLAIMS.search(text), (policy, CLAIMS.search(text))


def test_summary_line(runs):
    summary = runs["nyc-ll144-selection"][2]
    line = next(line for line in summary.splitlines() if line.startswith("Regulation crosswalk:"))
    assert "NYC Local Law 144 (1 provision)" in line and "not a legal opinion" in line
    document = runs["nyc-ll144-selection"][0]
    assert "Regulation crosswalk" not in render_markdown({k: v for k, v in document.items() if k != "crosswalk"})


def test_crosswalk_in_schema_and_citations():
    """The citations the table must carry, spelled as the instruments are."""
    text = TABLE.read_text(encoding="utf-8")
    for citation in (
        "Regulation (EU) 2024/1689",
        "Annex IV, point 2(g)",
        "Art. 10(2)(f)-(g)",
        "Art. 10(5)",
        "NIST AI 100-1",
        "MEASURE 2.11",
        "ISO/IEC 42001:2023",
        "6 RCNY § 5-303",
        "SB 24-205",
        "tit. 2, § 11008 et seq.",
    ):
        assert citation in text, citation
