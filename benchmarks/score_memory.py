"""Score audits in bounded memory (issue 23): peak RSS of a DuckDB-engine audit of continuous scores.

``python -m benchmarks.score_memory --rows 100000000`` writes (once, with DuckDB from ``range()``) a
Parquet file of ``--rows`` rows: sensitive ``a`` (3 levels) × ``b`` (7 levels), a 0/1 ``label`` and a
continuous probability ``score`` (a logistic of the label plus Gaussian noise: about one distinct
score per row). Then a fresh child process runs ``run_audit(engine="duckdb", scores="score",
threshold=0.5, ...)`` and reports its peak RSS (``ru_maxrss``, the whole process: interpreter,
libraries, DuckDB and the audit), its wall time and the AUC error bound from results.json.
``--check-exact`` also computes the exact overall AUC with a DuckDB rank query (a sort of every row,
spilled to disk) and checks that the reported bound contains it. Run on demand, not in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MIB = 1.5 * 1024


def _connect(memory_limit: str | None, spill: Path):
    import duckdb

    config = {"temp_directory": str(spill), **({"memory_limit": memory_limit} if memory_limit else {})}
    return duckdb.connect(config=config)


def generate(path: Path, rows: int, memory_limit: str | None) -> float:
    start = time.perf_counter()
    con = _connect(memory_limit, path.parent / "duckdb-spill")
    # deterministic pseudo-random uniforms from hashes of the row number
    u = "((hash(i * {k} + {c}) % 4503599627370496)::DOUBLE + 0.5) / 4503599627370496.0"
    con.sql(
        f"""
        COPY (
          WITH r AS (
            SELECT i,
              {u.format(k=5, c=0)} AS u1, {u.format(k=5, c=1)} AS u2,
              {u.format(k=5, c=2)} AS u3, {u.format(k=5, c=3)} AS u4, {u.format(k=5, c=4)} AS u5
            FROM range({rows}) t(i)
          ), g AS (
            SELECT *,
              CASE WHEN u1 < 0.6 THEN 'a0' WHEN u1 < 0.9 THEN 'a1' ELSE 'a2' END AS a,
              CASE WHEN u2 < 0.40 THEN 'b0' WHEN u2 < 0.65 THEN 'b1' WHEN u2 < 0.80 THEN 'b2'
                   WHEN u2 < 0.90 THEN 'b3' WHEN u2 < 0.95 THEN 'b4' WHEN u2 < 0.98 THEN 'b5' ELSE 'b6' END AS b
            FROM r
          ), y AS (
            SELECT *, (u3 < 0.2 + 0.1 * (a = 'a1')::INT + 0.05 * (b IN ('b5', 'b6'))::INT)::INT AS label FROM g
          )
          SELECT a, b, label::TINYINT AS label,
            1.0 / (1.0 + exp(-(-1.0 + 1.6 * label - 0.3 * (a = 'a2')::INT
                               + 1.2 * sqrt(-2.0 * ln(u4)) * cos(2 * pi() * u5)))) AS score
          FROM y
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
        """
    )
    con.close()
    return time.perf_counter() - start


def child(path: str, out: str, memory_limit: str | None) -> None:
    start = time.perf_counter()
    from audit.pipeline import run_audit
    from audit.tables.engines.interface import EngineOptions

    imported = time.perf_counter()
    result = run_audit(
        data=path,
        policy="four-fifths",
        label="label",
        scores="score",
        threshold=0.5,
        sensitive=["a", "b"],
        engine="duckdb",
        engine_options=EngineOptions(memory_limit=memory_limit) if memory_limit else None,
        ledger=False,
    )
    doc = result.to_dict()
    end = time.perf_counter()
    overall = next(g for g in doc["groups"] if g["id"] == "overall")
    Path(out).write_text(
        json.dumps(
            {
                "seconds": end - start,
                "audit_seconds": end - imported,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows": doc["audit"]["rows"],
                "score_accuracy": doc.get("score_accuracy"),
                "overall_auc": overall["score_metrics"]["auc"]["value"],
                "overall_brier": overall["score_metrics"]["brier"]["value"],
                "verdict": doc["verdict"],
            }
        )
    )


def exact_auc(path: Path, memory_limit: str | None) -> tuple[float, float]:
    start = time.perf_counter()
    con = _connect(memory_limit, path.parent / "duckdb-spill")
    ((value,),) = con.sql(
        f"""
        WITH ranked AS (
          SELECT label,
            (2 * rank() OVER (ORDER BY score) + count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r  -- average rank
          FROM read_parquet('{path}')
        ), n AS (SELECT count(*) FILTER (WHERE label = 1) AS p, count(*) FILTER (WHERE label = 0) AS q FROM ranked)
        SELECT (sum(r) FILTER (WHERE label = 1) - any_value(p)::HUGEINT * (any_value(p) + 1) / 2.0)
               / (any_value(p)::DOUBLE * any_value(q))
        FROM ranked, n
        """
    ).fetchall()
    return float(value), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--out-dir", type=Path, default=None, help="where the Parquet goes (kept: it is reused)")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit for the audit, e.g. 1GB")
    parser.add_argument("--check-exact", action="store_true", help="compute the exact overall AUC with DuckDB")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], None if args.child[2] == "-" else args.child[2])
        return 0
    out_dir = args.out_dir or Path(tempfile.gettempdir()) / "fairgate-score-memory"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"scores-{args.rows}.parquet"
    if not path.exists():
        seconds = generate(path, args.rows, "2GB")
        print(f"generated {path} ({path.stat().st_size / 2**20:,.0f} MiB) in {seconds:.0f} s", flush=True)
    report = out_dir / "child.json"
    cmd = [sys.executable, "-m", "benchmarks.score_memory", "--child", str(path), str(report), args.memory_limit or "-"]
    subprocess.run(cmd, check=True, env={**os.environ})
    got = json.loads(report.read_text())
    acc = got["score_accuracy"] or {}
    auc_bound = (acc.get("metrics") or {}).get("auc", {}).get("error_bound")
    print(f"rows {got['rows']:,}; memory limit {args.memory_limit or 'none'}; verdict {got['verdict']}")
    print(f"run_audit (duckdb) incl. imports: {got['seconds']:.1f} s (audit alone {got['audit_seconds']:.1f} s)")
    print(f"peak RSS of the whole process: {got['peak_mib']:,.0f} MiB")
    print(f"overall AUC {got['overall_auc']!r} (bound ±{auc_bound}); Brier {got['overall_brier']!r}")
    print(
        f"score metrics: {'binned, bins ' + str(acc.get('bins')) if acc else 'exact'}; "
        f"largest AUC bound over groups {auc_bound}"
    )
    ok = got["peak_mib"] < TARGET_MIB
    verdict = "PASS" if ok else "MISS"
    print(f"{verdict}  peak RSS < 1.5 GiB for a {args.rows:,}-row score audit: {got['peak_mib']:,.0f} MiB")
    if args.check_exact:
        exact, seconds = exact_auc(path, "4GB")
        inside = auc_bound is not None and abs(got["overall_auc"] - exact) <= auc_bound
        print(
            f"{'OK' if inside else 'FAIL'}  exact overall AUC {exact!r} ({seconds:.0f} s): "
            f"|reported − exact| = {abs(got['overall_auc'] - exact):.2e} ≤ bound {auc_bound}"
        )
        ok = ok and inside
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
