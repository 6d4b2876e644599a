"""BISG/BIFSG proxy estimation (audit.inputs.proxy): surgeo as the oracle, every fallback, the CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import InputError, UsageError
from audit.inputs import proxy
from audit.inputs.proxy import PROBABILITY_COLUMNS, RACES, estimate_bisg, shipped_table
from tests.cli.helpers import invoke
from tests.conftest import shared_data

SURNAMES = "prob_race_given_surname_2010"
ZCTAS = "prob_zcta_given_race_2010"
TRACTS = "prob_tract_given_race_2010"
FIRST_NAMES = "prob_first_name_given_race_harvard"


def probabilities(result) -> np.ndarray:
    return result.data[list(PROBABILITY_COLUMNS)].to_numpy()


def table_frame(name: str) -> pd.DataFrame:
    keys = proxy.GEO_KEYS.get(shipped_table(name).info.kind, ("name",))
    return pd.read_csv(
        proxy.TABLES_DIR / f"{name}.csv.gz", dtype=dict.fromkeys(keys, str), keep_default_na=False, na_values=[""]
    )


# --- the shipped tables (no ../shared needed) ------------------------------------------------------


def test_manifest_hashes_match_the_shipped_files():
    for name, entry in proxy.manifest()["tables"].items():
        raw = gzip.decompress((proxy.TABLES_DIR / entry["file"]).read_bytes())
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"], name
        assert shipped_table(name).info.sha256 == entry["sha256"]
        assert entry["vintage"]


def test_a_changed_table_is_refused(tmp_path, monkeypatch):
    changed = tmp_path / "tables"
    changed.mkdir()
    for path in proxy.TABLES_DIR.iterdir():
        (changed / path.name).write_bytes(path.read_bytes())
    raw = gzip.decompress((changed / f"{FIRST_NAMES}.csv.gz").read_bytes()).replace(b"AARON", b"AARONX", 1)
    (changed / f"{FIRST_NAMES}.csv.gz").write_bytes(gzip.compress(raw))
    monkeypatch.setattr(proxy, "TABLES_DIR", changed)
    proxy.shipped_table.cache_clear()
    try:
        with pytest.raises(InputError, match="differs from the manifest"):
            shipped_table(FIRST_NAMES)
    finally:
        proxy.shipped_table.cache_clear()


def test_population_shares_turn_area_given_race_into_race_given_area():
    """P(race | area) ∝ P(area | race) × shares: the recorded shares are the tables' population's."""
    shares = proxy.manifest()["tables"][ZCTAS]["population_shares"]
    assert sum(shares.values()) == pytest.approx(1, abs=1e-12)
    assert shares["white"] > shares["hispanic"] > shares["black"] > shares["api"] > shares["native"]


# --- surgeo 1.1.2 as the oracle ------------------------------------------------------------------


def _messy_inputs(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    """Real surnames, first names and ZCTAs from the tables, with the dirt real data has."""
    rng = np.random.default_rng(seed)
    surnames = table_frame(SURNAMES)["name"]
    # surgeo strips JR/SR/III/IV from the end of the joined name, so it would truncate these real surnames
    surnames = surnames[~surnames.str.contains(r"(?:JR|SR|III|IV)$") & (surnames != "ALL OTHER NAMES")]
    firsts = table_frame(FIRST_NAMES)["name"]
    firsts = firsts[~firsts.str.contains(r"(?:JR|SR|III|IV)$")]  # RAJIV would be RAJ to surgeo
    zctas = table_frame(ZCTAS)["zcta5"]
    sur = rng.choice(surnames.to_numpy(), n)
    sur = np.where(rng.random(n) < 0.3, pd.Series(sur).str.title(), sur)
    sur = np.where(rng.random(n) < 0.1, pd.Series(sur) + " Jr.", sur)
    sur = np.where(rng.random(n) < 0.05, "  " + pd.Series(sur).str.lower() + " ", sur)
    sur[rng.random(n) < 0.03] = "Qzxwv"  # not in the list
    zips = rng.choice(zctas.to_numpy(), n).astype(object)
    zips[rng.random(n) < 0.03] = "99999"  # not a ZCTA
    first = rng.choice(firsts.to_numpy(), n).astype(object)
    first = np.where(rng.random(n) < 0.3, pd.Series(first).str.title(), first)
    return pd.DataFrame({"surname": sur, "zcta": zips, "first": first})


def test_bisg_reproduces_surgeo():
    surgeo = pytest.importorskip("surgeo")
    frame = _messy_inputs()
    expected = surgeo.SurgeoModel().get_probabilities(frame["surname"], frame["zcta"])[list(RACES)].to_numpy()
    ours = estimate_bisg(frame, surname="surname", zcta="zcta")
    got = probabilities(ours)
    found = np.isfinite(expected).all(axis=1)
    assert found.sum() > 0.9 * len(frame)
    np.testing.assert_allclose(got[found], expected[found], rtol=0, atol=1e-9)
    # where surgeo has no answer (a name or area not found), ours falls back, unless both are missing
    unknown = ~np.isfinite(got).all(axis=1)
    assert (frame["surname"][unknown] == "Qzxwv").all() and unknown.sum() == ours.summary.no_information
    assert ours.summary.complete == found.sum()


def test_bifsg_reproduces_surgeo():
    surgeo = pytest.importorskip("surgeo")
    frame = _messy_inputs(seed=11)
    model = surgeo.BIFSGModel()
    expected = model.get_probabilities(frame["first"], frame["surname"], frame["zcta"])[list(RACES)].to_numpy()
    ours = estimate_bisg(frame, surname="surname", zcta="zcta", first_name="first")
    got = probabilities(ours)
    found = np.isfinite(expected).all(axis=1)
    assert found.sum() > 0.8 * len(frame)
    np.testing.assert_allclose(got[found], expected[found], rtol=0, atol=1e-9)
    assert ours.summary.method == "BIFSG"


def test_tract_bisg_reproduces_surgeo_divided_by_the_prior():
    """surgeo 1.1.2's tract model multiplies P(race | surname) by P(race | tract) (its
    ``_get_prob_race_given_tract``), not by P(tract | race) as BISG does; the two differ by the prior:
    P(race | tract) = P(tract | race) × shares / P(tract). So ours = surgeo's / shares, normalised."""
    surgeo = pytest.importorskip("surgeo")
    rng = np.random.default_rng(3)
    tracts = table_frame(TRACTS).sample(2000, random_state=3).reset_index(drop=True)
    surnames = table_frame(SURNAMES)["name"]
    surnames = surnames[~surnames.str.contains(r"(?:JR|SR|III|IV)$") & (surnames != "ALL OTHER NAMES")]
    frame = tracts[["state", "county", "tract"]].assign(surname=rng.choice(surnames.to_numpy(), len(tracts)))
    expected = (
        surgeo.SurgeoModel(geo_level="TRACT")
        .get_probabilities(frame["surname"], frame[["state", "county", "tract"]])[list(RACES)]
        .to_numpy()
    )
    ours = estimate_bisg(frame, surname="surname", tract=["state", "county", "tract"])
    found = np.isfinite(expected).all(axis=1)
    assert found.sum() > 0.9 * len(frame)
    shares = proxy.manifest()["tables"][TRACTS]["population_shares"]
    bisg = expected / np.array([shares[r] for r in RACES])
    bisg /= bisg.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities(ours)[found], bisg[found], rtol=0, atol=1e-9)


# --- fallbacks and messy values --------------------------------------------------------------------


def _surname_probs(name: str) -> np.ndarray:
    table = shipped_table(SURNAMES)
    row = table.values[table.index.get_loc(name)]
    return row / row.sum()


def _area_probs(zcta: str) -> np.ndarray:
    table = shipped_table(ZCTAS)
    shares = proxy.manifest()["tables"][ZCTAS]["population_shares"]
    row = table.values[table.index.get_loc(int(zcta))] * np.array([shares[r] for r in RACES])
    return row / row.sum()


def test_surname_not_in_the_list_falls_back_to_geography():
    result = estimate_bisg(pd.DataFrame({"s": ["Qzxwv", ""], "z": ["02139", "02139"]}), surname="s", zcta="z")
    np.testing.assert_allclose(probabilities(result), [_area_probs("02139")] * 2, atol=1e-12)
    assert (result.summary.geography_only, result.summary.surname_not_found, result.summary.surname_missing) == (
        2,
        1,
        1,
    )


def test_geography_only_equals_race_given_zcta_table():
    """The fallback P(race | area) is surgeo's own prob_race_given_zcta table (to 1e-12)."""
    pytest.importorskip("surgeo")
    from surgeo.models.base_model import BaseModel

    race_given = BaseModel()._get_prob_race_given_zcta()[list(RACES)].dropna()
    race_given = race_given[race_given.sum(axis=1) > 0].sample(500, random_state=1)
    frame = pd.DataFrame({"s": "Qzxwv", "z": race_given.index})
    got = probabilities(estimate_bisg(frame, surname="s", zcta="z"))
    np.testing.assert_allclose(got, race_given.to_numpy(), atol=1e-12)


def test_missing_or_invalid_zip_falls_back_to_surname():
    frame = pd.DataFrame({"s": ["Smith"] * 4, "z": [None, "abc", "99999", "123456"]})
    result = estimate_bisg(frame, surname="s", zcta="z")
    np.testing.assert_allclose(probabilities(result), [_surname_probs("SMITH")] * 4, atol=1e-12)
    s = result.summary
    assert (s.surname_only, s.area_missing, s.area_invalid, s.area_not_found) == (4, 1, 2, 1)


def test_neither_gives_nan_and_is_counted():
    result = estimate_bisg(pd.DataFrame({"s": ["Qzxwv", None], "z": [None, "abc"]}), surname="s", zcta="z")
    assert np.isnan(probabilities(result)).all()
    assert result.summary.no_information == 2


def test_rows_sum_to_one():
    result = estimate_bisg(_messy_inputs(500), surname="surname", zcta="zcta", first_name="first")
    np.testing.assert_allclose(probabilities(result).sum(axis=1), 1, atol=1e-12)


@pytest.mark.parametrize(
    "written",
    ["Smith", "SMITH", "smith", "  Smith ", "Smith Jr.", "Smith, Sr.", "Smith III", "Smith3", "S.mith", "Smíth"],
)
def test_case_punctuation_and_suffixes(written):
    result = estimate_bisg(pd.DataFrame({"s": [written], "z": ["02139"]}), surname="s", zcta="z")
    plain = estimate_bisg(pd.DataFrame({"s": ["SMITH"], "z": ["02139"]}), surname="s", zcta="z")
    np.testing.assert_allclose(probabilities(result), probabilities(plain), atol=0)


def test_compound_names_whole_then_first_matching_part():
    names = ["De La Cruz", "O'Brien", "Smith-Qzxwv", "Qzxwv-Nguyen", "Qzxwv Nguyen Smith", "Nguyen-Smith"]
    result = estimate_bisg(pd.DataFrame({"s": names, "z": ["02139"] * 6}), surname="s", zcta="z")
    got = probabilities(result)

    def alone(name):
        return probabilities(estimate_bisg(pd.DataFrame({"s": [name], "z": ["02139"]}), surname="s", zcta="z"))[0]

    assert "DELACRUZ" in shipped_table(SURNAMES).index and "OBRIEN" in shipped_table(SURNAMES).index
    np.testing.assert_allclose(got[0], alone("DELACRUZ"))
    np.testing.assert_allclose(got[1], alone("OBRIEN"))
    np.testing.assert_allclose(got[2], alone("SMITH"))
    np.testing.assert_allclose(got[3], alone("NGUYEN"))
    np.testing.assert_allclose(got[4], alone("NGUYEN"))
    if "NGUYENSMITH" not in shipped_table(SURNAMES).index:
        np.testing.assert_allclose(got[5], alone("NGUYEN"))
    assert result.summary.surname_by_part >= 4


@pytest.mark.parametrize("written", [2139, 2139.0, "2139", "02139", "02139-4307", "021394307", " 02139 "])
def test_zip_forms(written):
    column = pd.Series([written, None], dtype=object if isinstance(written, str) else None)
    result = estimate_bisg(pd.DataFrame({"s": ["Smith", "Smith"], "z": column}), surname="s", zcta="z")
    plain = estimate_bisg(pd.DataFrame({"s": ["Smith"], "z": ["02139"]}), surname="s", zcta="z")
    np.testing.assert_allclose(probabilities(result)[:1], probabilities(plain), atol=0)
    assert result.summary.zip_zero_padded == (1 if str(written).strip().startswith("2139") else 0)


def test_integer_zip_column_is_zero_padded_and_counted():
    frame = pd.DataFrame({"s": ["Smith"] * 3, "z": [2139, 601, 10027]})
    result = estimate_bisg(frame, surname="s", zcta="z")
    assert result.summary.zip_zero_padded == 2
    assert result.summary.complete == 3


def test_tract_keys_are_zero_padded():
    frame = pd.DataFrame({"s": ["Smith", "Smith"], "st": [1, "01"], "co": [1, "001"], "tr": [20100, "020100"]})
    result = estimate_bisg(frame, surname="s", tract=["st", "co", "tr"])
    got = probabilities(result)
    np.testing.assert_allclose(got[0], got[1], atol=0)
    assert result.summary.complete == 2
    assert result.summary.tract_zero_padded == 1 and result.summary.zip_zero_padded == 0  # the first row's
    assert any("zero-padded (to 2, 3, 6 digits): 1" in line for line in result.summary.lines())


@pytest.mark.parametrize(
    "values", [["123", "456", "789", "Smith"], [None, None, "", "Smith"], [1.0, 2.0, 3.0, 4.0]], ids=str
)
def test_a_column_of_numbers_or_blanks_is_not_a_surname_column(values):
    frame = pd.DataFrame({"s": values, "z": ["02139"] * 4})
    with pytest.raises(InputError, match=r"column 's' does not hold surnames"):
        estimate_bisg(frame, surname="s", zcta="z")


def test_bifsg_first_name_not_found_is_bisg():
    frame = pd.DataFrame({"s": ["Smith", "Smith"], "z": ["02139"] * 2, "f": ["Qzxwv", None]})
    result = estimate_bisg(frame, surname="s", zcta="z", first_name="f")
    bisg = estimate_bisg(frame, surname="s", zcta="z")
    np.testing.assert_allclose(probabilities(result), probabilities(bisg), atol=0)
    assert (result.summary.first_name_not_found, result.summary.first_name_missing) == (1, 1)


def test_contradictory_evidence_drops_a_factor():
    """A surname whose only group is absent from the area: the area factor is dropped."""
    table = shipped_table(SURNAMES)
    one_group = np.flatnonzero((table.values > 0).sum(axis=1) == 1)
    name = table.index[one_group[0]]
    group = int(np.argmax(table.values[one_group[0]]))
    areas = shipped_table(ZCTAS)
    empty_area = areas.index[np.flatnonzero(areas.values[:, group] == 0)[0]]
    frame = pd.DataFrame({"s": [name], "z": [f"{empty_area:05d}"]})
    result = estimate_bisg(frame, surname="s", zcta="z")
    np.testing.assert_allclose(probabilities(result)[0], _surname_probs(name), atol=1e-12)
    assert result.summary.contradictory == 1


def test_usage_and_column_errors():
    frame = pd.DataFrame({"s": ["Smith"], "z": ["02139"]})
    with pytest.raises(UsageError, match="exactly one geography"):
        estimate_bisg(frame, surname="s")
    with pytest.raises(InputError, match="no column named 'zip'"):
        estimate_bisg(frame, surname="s", zcta="zip")
    with pytest.raises(InputError, match="already has column"):
        estimate_bisg(frame.assign(p_white=1.0), surname="s", zcta="z")


# --- a user-supplied geography table ---------------------------------------------------------------


def test_geo_table_replaces_the_shipped_one(tmp_path):
    table = tmp_path / "zcta2020.csv"
    table.write_text("zcta5,white,black,api,native,multiple,hispanic\n02139,0.1,0.1,0.1,0.1,0.1,0.1\n")
    frame = pd.DataFrame({"s": ["Smith"], "z": ["02139"]})
    result = estimate_bisg(frame, surname="s", zcta="z", geo_table=table)
    np.testing.assert_allclose(probabilities(result)[0], _surname_probs("SMITH"), atol=1e-12)
    assert result.summary.tables[1].name == "zcta2020.csv"
    assert result.summary.tables[1].sha256 == hashlib.sha256(table.read_bytes()).hexdigest()


def test_geo_table_with_other_columns_is_one_line_error(tmp_path):
    table = tmp_path / "geo.csv"
    table.write_text("zip,w,b\n02139,0.5,0.5\n")
    with pytest.raises(InputError) as raised:
        estimate_bisg(pd.DataFrame({"s": ["Smith"], "z": ["02139"]}), surname="s", zcta="z", geo_table=table)
    message = str(raised.value)
    assert "\n" not in message and str(table) in message
    for column in ("zcta5", "white", "hispanic"):
        assert repr(column) in message


# --- the command line ----------------------------------------------------------------------------


def _people(path: Path) -> Path:
    path.write_text(
        "id,last,zip,first\n1,Smith,2139,John\n2,Garcia-Lopez,10027,Maria\n3,,60601,\n4,Qzxwv,,Ann\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_cli_writes_the_data_plus_six_columns(tmp_path, capsys, suffix):
    out = tmp_path / f"out{suffix}"
    ran = invoke(
        capsys,
        ["proxy", "bisg", "--data", _people(tmp_path / "in.csv"), "--surname", "last", "--zcta", "zip", "--out", out],
        exit_code=0,
    )
    assert "BISG (ZCTA): 4 rows" in ran.out and "zero-padded to 5: 1" in ran.out and "sha256" in ran.out
    written = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype={"zip": str})
    assert list(written.columns) == ["id", "last", "zip", "first", *PROBABILITY_COLUMNS]
    assert written["zip"].iloc[0] == "2139"  # the input as it was; the lookup used 02139
    assert written.loc[3, list(PROBABILITY_COLUMNS)].isna().all()  # no surname, no ZIP


def test_cli_keeps_a_parquet_inputs_column_types(tmp_path, capsys):
    """An integer ZIP column (leading zeros lost) is zero-padded for the lookup but written back as the
    integers it was: the output is the input plus six columns, as the docs say, not a text copy of it."""
    data = tmp_path / "in.parquet"
    pd.DataFrame({"last": ["Smith", "Garcia"], "zip": [2139, 10027], "n": [1.5, 2.5]}).to_parquet(data)
    out = tmp_path / "out.parquet"
    args = ["proxy", "bisg", "--data", data, "--surname", "last", "--zcta", "zip", "--out", out]
    ran = invoke(capsys, args, exit_code=0)
    assert "zero-padded to 5: 1" in ran.out
    written = pd.read_parquet(out)
    given = pd.read_parquet(data)
    assert written[list(given.columns)].dtypes.to_dict() == given.dtypes.to_dict()
    assert written["zip"].tolist() == [2139, 10027]
    assert written.loc[:, list(PROBABILITY_COLUMNS)].notna().all().all()


def test_cli_bifsg_and_json_summary(tmp_path, capsys):
    out = tmp_path / "out.csv"
    args = ["proxy", "bisg", "--data", _people(tmp_path / "in.csv"), "--surname", "last", "--zcta", "zip"]
    ran = invoke(capsys, [*args, "--first-name", "first", "--out", out, "--json"], exit_code=0)
    summary = json.loads(ran.out)
    assert summary["method"] == "BIFSG" and summary["rows"] == 4 and summary["no_information"] == 1
    assert [t["name"] for t in summary["tables"]] == [SURNAMES, ZCTAS, FIRST_NAMES]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--surname", "zip", "--zcta", "zip"], "column 'zip' does not hold surnames"),
        (["--surname", "nope", "--zcta", "zip"], "no column named 'nope'"),
        (["--surname", "last"], "exactly one geography"),
        (["--surname", "last", "--zcta", "zip", "--tract", "a,b,c"], "exactly one geography"),
        (["--surname", "last", "--tract", "a,b"], "three columns"),
        (["--surname", "last", "--zcta", "zip", "--geo-table", "GEO"], "not a zcta probability table"),
    ],
)
def test_cli_errors_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, extra, message):
    geo = tmp_path / "geo.csv"
    geo.write_text("zip,w\n02139,1\n")
    extra = [str(geo) if a == "GEO" else a for a in extra]
    out = tmp_path / "out" / "people.csv"
    ran = invoke(capsys, ["proxy", "bisg", "--data", _people(tmp_path / "in.csv"), *extra, "--out", out], exit_code=2)
    error = [line for line in ran.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and message in error[0], ran.err
    assert not out.exists() and not list(tmp_path.rglob(".people.csv.*"))


def test_cli_unsupported_output_format(tmp_path, capsys):
    args = ["proxy", "bisg", "--data", _people(tmp_path / "in.csv"), "--surname", "last", "--zcta", "zip"]
    ran = invoke(capsys, [*args, "--out", tmp_path / "out.xlsx"], exit_code=2)
    assert "unsupported output format" in ran.err


# --- ../shared/data: the shipped tables are the published ones ----------------------------------------


@pytest.mark.parametrize("name", [SURNAMES, ZCTAS, TRACTS, FIRST_NAMES])
def test_shipped_tables_are_the_shared_copies(name):
    shared = shared_data(f"bisg/{name}.csv.gz")
    assert (proxy.TABLES_DIR / f"{name}.csv.gz").read_bytes() == shared.read_bytes()


def test_population_shares_reproduce_the_shared_race_given_tract_table():
    shared = shared_data("bisg/prob_race_given_tract_2010.csv.gz")
    race_given = pd.read_csv(shared, dtype={"state": str, "county": str, "tract": str}).dropna()
    race_given = race_given[race_given[list(RACES)].sum(axis=1) > 0].sample(500, random_state=2)
    frame = race_given[["state", "county", "tract"]].assign(s="Qzxwv")
    got = probabilities(estimate_bisg(frame, surname="s", tract=["state", "county", "tract"]))
    np.testing.assert_allclose(got, race_given[list(RACES)].to_numpy(), atol=1e-12)


def test_the_bifsg_summary_counts_every_person_once():
    """surname and area + area only + surname only + neither = every row, with or without a usable first
    name: "surname and area" once counted only those whose first name was found too, so people with a
    surname, an area and an unknown first name were in no line (the lines summed to less than the rows)."""
    frame = pd.DataFrame(
        {
            "s": ["Smith", "Smith", "Garcia", "", "Smith", ""],
            "f": ["John", "Zzyzxq", "", "Maria", "John", ""],
            "z": ["02139", "02139", "10027", "10027", "", ""],
        }
    )
    summary = estimate_bisg(frame, surname="s", zcta="z", first_name="f").summary
    parts = (summary.complete, summary.geography_only, summary.surname_only, summary.no_information)
    assert parts == (3, 1, 1, 1) and sum(parts) == summary.rows == 6
    assert (summary.first_name_missing, summary.first_name_not_found) == (2, 1)
