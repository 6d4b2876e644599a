"""Group-metric rows that are reported but not judged say why: small, unknown value, or under the
policy's share threshold (exclude_below_share, as in NYC LL144 audits)."""

from __future__ import annotations

import re

from audit.pipeline import run_audit
from audit.report.html import ReportContext, render_html
from tests.cli.helpers import write_csv


def test_excluded_small_and_unknown_rows_are_marked(tmp_path):
    rows = (
        [("big", i % 2, i % 3 == 0) for i in range(400)]
        + [("mid", i % 2, i % 4 == 0) for i in range(120)]
        + [("rare", i % 2, 1) for i in range(10)]
        + [("", i % 2, 0) for i in range(40)]
    )
    data = write_csv(tmp_path / "d.csv", [(g, y, int(p)) for g, y, p in rows])
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "fairgate: 1\nid: share\nversion: '1'\ntitle: share\n"
        "groups: {min_count: 30, exclude_below_share: 0.05}\n"
        "rules:\n  - {id: sr, title: SR, metric: selection_rate, compare: ratio, min_value: 0.8,"
        " explanation: x.}\n"
    )
    document = run_audit(
        data=data, policy=str(policy), predictions="pred", label="label", sensitive=["group"]
    ).to_dict()
    # independently: 'rare' is 10 of the 530 rows with a known group (1.9% < 5%); 'mid' is 22.6%
    reasons = {o["group"]: o["reason"] for d in document["disparities"] for o in d["groups"]}
    assert reasons["group=rare"].startswith("under 5% of the data") and reasons["group=mid"] is None
    html = render_html(document, context=ReportContext(generated_at="2025-01-01T00:00:00Z"))
    table = html[html.index("3. Group metrics") : html.index("4. Methodology")]

    def row(name: str) -> str:
        return re.search(rf'<tr[^>]*>\s*<td class="col-group">{name}\b.*?</tr>', table, re.S).group(0)

    assert "under 5.0% of the data: not judged" in row("rare") and 'class="row-notjudged"' in row("rare")
    assert "small" in row("rare")  # 10 < min_count 30 as well
    assert "not judged" not in row("mid") and "not judged" not in row("big")
    assert "unknown value" in row("unknown") and "under 5.0%" not in row("unknown")
