"""Speed of BISG/BIFSG proxy estimation (``audit.inputs.proxy.estimate_bisg``) on synthetic people.

Run on demand, not in CI (the measured table is in ``benchmarks/README.md``)::

    .venv/bin/python -m benchmarks.bisg_speed --rows 1000000
    .venv/bin/python -m benchmarks.bisg_speed --rows 100000,1000000,5000000 --repeat 5

People are drawn (seeded) from the shipped tables themselves: surnames from the 2010 Census list with
Zipf weights over a random order (so a million people have the tens of thousands of distinct surnames a
real file has), ZCTAs and first names likewise, then made messy as real data is: 25% title case, 3%
hyphenated pairs, 2% "Jr.", 3% surnames not in the list, 2% empty surnames; 5% ZIPs that lost their
leading zeros, 2% ZIP+4, 2% empty. Columns are pandas strings (object) or, with ``--categorical``, pandas
categoricals as ``fairgate proxy bisg`` reads a CSV.

Timed: loading the tables once (decompress, sha256 check, parse; cached for the process afterwards),
then ``estimate_bisg`` on the frame in memory, BISG and BIFSG, best of ``--repeat``
(``time.perf_counter``). Reading and writing the file are not included. The target (issue 19): 1M
people in at most 2 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

TARGET_ROWS, TARGET_SECONDS = 1_000_000, 2.0


def people(rows: int, *, seed: int = 0, categorical: bool = False):
    import numpy as np
    import pandas as pd

    from audit.inputs.proxy import FIRST_NAME_TABLE, GEO_TABLES, SURNAME_TABLE, shipped_table

    rng = np.random.default_rng(seed)

    def zipf_draw(keys: np.ndarray, n: int) -> np.ndarray:
        order = rng.permutation(len(keys))
        weights = 1.0 / (np.arange(len(keys)) + 10.0)
        return keys[order][rng.choice(len(keys), n, p=weights / weights.sum())]

    surnames = zipf_draw(shipped_table(SURNAME_TABLE).index.to_numpy(dtype=object), rows)
    firsts = zipf_draw(shipped_table(FIRST_NAME_TABLE).index.to_numpy(dtype=object), rows)
    zctas = zipf_draw(shipped_table(GEO_TABLES["zcta"]).index.to_numpy(), rows)

    sur = pd.Series(surnames, dtype=object)
    u = rng.random(rows)
    sur[u < 0.25] = sur[u < 0.25].str.title()
    pair = (u >= 0.25) & (u < 0.28)
    sur[pair] = sur[pair] + "-" + pd.Series(rng.choice(surnames, rows))[pair]
    sur[(u >= 0.28) & (u < 0.30)] = sur[(u >= 0.28) & (u < 0.30)] + " Jr."
    sur[(u >= 0.30) & (u < 0.33)] = "Qzx" + pd.Series(rng.integers(0, 5000, rows)).astype(str)[(u >= 0.30) & (u < 0.33)]
    sur[(u >= 0.33) & (u < 0.35)] = None

    z = pd.Series(zctas).map("{:05d}".format).astype(object)
    v = rng.random(rows)
    z[v < 0.05] = z[v < 0.05].str.lstrip("0")
    z[(v >= 0.05) & (v < 0.07)] = z[(v >= 0.05) & (v < 0.07)] + "-1234"
    z[(v >= 0.07) & (v < 0.09)] = None

    frame = pd.DataFrame({"surname": sur, "zip": z, "first": pd.Series(firsts, dtype=object).str.title()})
    if categorical:
        frame = frame.astype("category")
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000", help="comma list of row counts (default 1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--categorical", action="store_true", help="columns as pandas categoricals")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from audit.inputs import proxy

    for name in (proxy.SURNAME_TABLE, proxy.GEO_TABLES["zcta"], proxy.FIRST_NAME_TABLE):
        proxy.shipped_table(name)
    load = time.perf_counter() - started
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"tables loaded and verified (import included): {load:.2f} s")
    print(f"{'rows':>10}  {'distinct surnames':>17}  {'BISG s':>7}  {'BIFSG s':>7}  {'complete':>8}")
    verdict = 0
    for rows in (int(r) for r in args.rows.split(",")):
        frame = people(rows, seed=args.seed, categorical=args.categorical)
        times = {}
        for method, first in (("BISG", None), ("BIFSG", "first")):
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                result = proxy.estimate_bisg(frame, surname="surname", zcta="zip", first_name=first)
                best = min(best, time.perf_counter() - t0)
            times[method] = best
        share = result.summary.complete / rows
        print(
            f"{rows:>10,}  {frame['surname'].nunique():>17,}  {times['BISG']:>7.3f}  {times['BIFSG']:>7.3f}  "
            f"{share:>8.1%}"
        )
        if rows == TARGET_ROWS:
            ok = max(times.values()) <= TARGET_SECONDS
            print(f"target: {TARGET_ROWS:,} rows in <= {TARGET_SECONDS} s: {'PASS' if ok else 'FAIL'}")
            verdict |= 0 if ok else 1
    return verdict


if __name__ == "__main__":
    raise SystemExit(main())
