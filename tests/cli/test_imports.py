"""What a run imports: the libraries a command does not need stay out of it (issue 23).

Structural, not timed: each check runs the CLI in a fresh interpreter and looks at ``sys.modules``.
Importing scipy.stats, scikit-learn, matplotlib, WeasyPrint or pyHanko takes longer than the whole
audit of the demo, so a JSON-only run on a decisions column must import none of them (nor Jinja2, which
only the reports and the badge use).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.helpers import run_args, skewed_rows, write_csv

NOT_NEEDED_FOR_JSON = ("scipy.stats", "sklearn", "skops", "matplotlib", "weasyprint", "pyhanko", "jinja2")


def _imported(args: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        "from audit.cli import main\n"
        f"main({args!r})\n"
        f"print(json.dumps([m for m in {list(NOT_NEEDED_FOR_JSON)!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_json_run_on_a_decisions_column_imports_no_model_chart_pdf_or_scipy_stats_library(tmp_path):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    args = [str(a) for a in run_args(data, tmp_path / "out", "--format", "json", "--no-ledger", "-q")]
    assert _imported(args) == []
    assert (tmp_path / "out" / "results.json").exists()
