"""`--format model-card`: the fairness section of a model card in the Hugging Face layout, checked against the
results.json written beside it; data text is Markdown-escaped."""

from __future__ import annotations

import json

from audit.report.model_card import HEADINGS, render_model_card
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv


def test_model_card_matches_results(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    out = tmp_path / "out"
    invoke(capsys, run_args(data, out, "--format", "json,model-card", "--no-ledger"), exit_code=1)
    card = (out / "model-card.md").read_text(encoding="utf-8")
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    positions = [card.index(f"\n{h}\n") if i else card.index(f"{h}\n") for i, h in enumerate(HEADINGS)]
    assert positions == sorted(positions) and card.startswith("## Bias, Risks, and Limitations\n")
    assert "---" not in card.splitlines()[0]  # a section: no front matter of its own
    assert f"verdict **❌ FAIL** on {document['audit']['rows']:,} rows" in card
    results = card[card.index("### Results") :]
    for f in document["findings"]:
        assert f"| {f['title']} | ❌ FAIL | {f['observed'] * 100:.1f}% | ≥ 80.0% | b |" in results
    factors = card[card.index("#### Factors") : card.index("#### Metrics")]
    for g in document["groups"]:
        assert f"| {g['scope']} | {g['label']} | {g['n']:,} |" in factors
    import hashlib

    assert hashlib.sha256((out / "results.json").read_bytes()).hexdigest() in card


def test_model_card_escapes_data_text(tmp_path, capsys):
    rows = [(name.replace("b", "**b**|<x>"), *rest) for name, *rest in skewed_rows()]
    data = write_csv(tmp_path / "d.csv", rows)
    out = tmp_path / "out"
    invoke(capsys, run_args(data, out, "--format", "json", "--no-ledger"), exit_code=1)
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    card = render_model_card(document)
    assert "\\*\\*b\\*\\*\\|\\<x\\>" in card
    assert "**b**" not in card and "<x>" not in card
