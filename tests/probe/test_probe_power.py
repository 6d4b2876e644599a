"""The probe finds an injected name bias with the right sign, and does not find one that is not there.

In process, through the Python-callable adapter (the same path as an HTTP endpoint but for the transport):
a small design (30 profiles × White/Black names) per seed; the stub's noise is fresh for each request.
"""

from __future__ import annotations

from audit.probe.run import ProbeSettings, collect, finish, prepare
from tests.probe import stubs

SEEDS = range(40)
ALPHA = 0.05


def profiles(path, n=30):
    rows = ["resume,first_name,last_name,years"] + [f"r{i},Pat,Doe,{i % 10}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def paired(tmp_path, *, endpoint, seed):
    stubs.DRAW = seed
    settings = ProbeSettings(
        profiles=profiles(tmp_path / "profiles.csv"),
        endpoint=endpoint,
        policy="nyc-ll144-selection",
        cache_dir=tmp_path / f"cache-{seed}",
        names="race",
        last_name_column="last_name",
        groups=("white", "black"),
        seed=seed,
    )
    plan = prepare(settings)
    collect(plan)
    _, section = finish(plan, level=1 - ALPHA, request_options={})
    (item,) = section["statistics"]["paired"]
    return item


def test_unbiased_screener_false_positive_rate_is_under_the_nominal_level(tmp_path):
    found = [paired(tmp_path, endpoint="tests.probe.stubs:unbiased", seed=s)["significant"] for s in SEEDS]
    rate = sum(found) / len(found)
    print(f"false-positive rate over {len(found)} seeds: {rate:.3f}")
    assert rate <= ALPHA


def test_biased_screener_is_detected_with_the_right_sign(tmp_path):
    """The stub takes 1.0 off a score whose request noise has SD 1 (paired differences: SD 1.41); with 30 pairs
    the test's power is about 97%: at least 90% of the seeds detect it, and never with the wrong sign."""
    items = [paired(tmp_path, endpoint="tests.probe.stubs:biased", seed=s) for s in SEEDS]
    detected = [i for i in items if i["significant"]]
    print(f"detected in {len(detected)} of {len(items)} seeds")
    assert len(detected) >= 0.9 * len(items)
    assert all(i["direction"] == "lower" and i["p_adjusted"] < ALPHA for i in detected)
    assert all(i["group"] == "Black" and i["reference"] == "White" for i in items)
    covered = sum(i["ci_low"] <= -stubs.PENALTY <= i["ci_high"] for i in items)
    assert covered >= 0.85 * len(items)  # the 95% interval of the mean paired difference holds the injected effect
