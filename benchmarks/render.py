"""Does rendering the report grow with the dataset's row count? It must not.

Run on demand, not in CI (the measured result is in ``benchmarks/README.md``)::

    .venv/bin/python -m benchmarks.render                 # 1,000 vs 1,000,000 rows
    .venv/bin/python -m benchmarks.render --rows 1000,10000000 --repeat 5

For each N a seeded synthetic dataset with the same groups (``sex`` 2 levels × ``race`` 5 levels,
so 10 intersections; label and decision depend on the group) is written to a temporary Parquet
file and audited once with ``run_audit`` (policy ``equalized-odds``: three rules, all with
charts). Then only the report is timed: ``render_pdf`` (HTML, charts, WeasyPrint layout,
PDF/A-3b with results.json attached) and ``render_html`` alone, ``--repeat`` times each after
one warm-up render (fonts, imports). The report reads only the results document — a few hundred
numbers whatever N — so the times should match; the target is a ratio below 1.20.

Times are ``time.perf_counter`` seconds: median and best of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

SEXES = ("Female", "Male")
SEX_P = (0.45, 0.55)
RACES = ("White", "Black", "Asian", "Hispanic", "Other")
RACE_P = (0.55, 0.2, 0.1, 0.1, 0.05)
TARGET = 1.20


def make_data(rows: int, path: Path, seed: int) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sex = rng.choice(len(SEXES), size=rows, p=SEX_P)
    race = rng.choice(len(RACES), size=rows, p=RACE_P)
    base = 0.25 + 0.08 * sex + 0.03 * (race == 0)
    label = rng.random(rows) < base
    tpr = 0.75 + 0.05 * sex
    fpr = 0.12 + 0.04 * sex - 0.02 * (race == 1)
    pred = np.where(label, rng.random(rows) < tpr, rng.random(rows) < fpr)
    frame = pd.DataFrame(
        {
            "sex": pd.Categorical.from_codes(sex, SEXES),
            "race": pd.Categorical.from_codes(race, RACES),
            "label": label.astype("int8"),
            "pred": pred.astype("int8"),
        }
    )
    frame.to_parquet(path, index=False)
    return path


def audit_document(path: Path, seed: int) -> dict:
    from audit.pipeline import run_audit

    result = run_audit(
        data=path,
        policy="equalized-odds",
        predictions="pred",
        label="label",
        sensitive=["sex", "race"],
        seed=seed,
        command=["benchmark"],
    )
    return result.to_dict()


def time_render(document: dict, repeat: int) -> dict[str, list[float]]:
    from audit.report.html import ReportContext, render_html
    from audit.report.pdf import render_pdf
    from audit.report.results import canonical_json

    context = ReportContext(generated_at="2025-01-01T00:00:00Z")
    evidence = canonical_json(document)
    times: dict[str, list[float]] = {"pdf": [], "pdf_cpu": [], "html": []}
    for _ in range(repeat):
        start = time.perf_counter()
        render_html(document, context=context)
        times["html"].append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.process_time()
        render_pdf(document, context=context, results_json=evidence)
        times["pdf"].append(time.perf_counter() - start)
        times["pdf_cpu"].append(time.process_time() - cpu)
    return times


def page_count(pdf: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(pdf)).pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000,1000000", help="two or more row counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed renders per size (after one warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.rows.split(",")]

    from audit.report.html import ReportContext
    from audit.report.pdf import render_pdf
    from audit.report.results import canonical_json

    documents = {}
    with tempfile.TemporaryDirectory(prefix="fairgate-render-bench-") as tmp:
        for n in sizes:
            start = time.perf_counter()
            documents[n] = audit_document(make_data(n, Path(tmp) / f"data-{n}.parquet", args.seed), args.seed)
            print(
                f"audited {n:>10,} rows in {time.perf_counter() - start:6.2f} s ({len(documents[n]['groups'])} groups)",
                flush=True,
            )
    warm = documents[sizes[0]]
    render_pdf(warm, context=ReportContext(generated_at="2025-01-01T00:00:00Z"), results_json=canonical_json(warm))

    results = {}
    print(f"\n{'rows':>12}  {'html median':>11}  {'pdf median':>10}  {'pdf best':>8}  {'pdf CPU median':>14}  pages")
    for n in sizes:
        times = time_render(documents[n], args.repeat)
        results[n] = times
        pdf = render_pdf(
            documents[n],
            context=ReportContext(generated_at="2025-01-01T00:00:00Z"),
            results_json=canonical_json(documents[n]),
        )
        print(
            f"{n:>12,}  {statistics.median(times['html']):10.3f}s  {statistics.median(times['pdf']):9.3f}s  "
            f"{min(times['pdf']):7.3f}s  {statistics.median(times['pdf_cpu']):13.3f}s  {page_count(pdf)}"
        )
    small, large = sizes[0], sizes[-1]
    # Both wall-clock and this process's CPU time: on a shared machine other processes inflate the
    # wall clock at random; CPU time is what the render itself costs.
    wall = statistics.median(results[large]["pdf"]) / statistics.median(results[small]["pdf"])
    cpu = statistics.median(results[large]["pdf_cpu"]) / statistics.median(results[small]["pdf_cpu"])
    ok = cpu < TARGET
    print(
        f"\nPDF render time ratio {large:,} / {small:,} rows (medians): wall {wall:.3f}, CPU {cpu:.3f}  "
        f"(target CPU ratio < {TARGET:.2f}: {'OK' if ok else 'TOO SLOW'})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
