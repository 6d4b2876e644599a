"""Representation bars: drawn from the results document's representativeness check only,
deterministic, and readable without colour (the reference bars are hatched, statuses are words)."""

from __future__ import annotations

import base64

from audit.report.charts import FAIL_COLOUR, PASS_COLOUR, representation_chart
from audit.report.labels import group_label


def _check(statuses=("PASS", "FAIL")):
    groups = [
        {
            "group": "Male",
            "count": 600,
            "observed_share": 0.6,
            "expected_share": 0.49,
            "representation_ratio": 0.6 / 0.49,
            "ci": [1.15, 1.30],
            "status": statuses[0],
        },
        {
            "group": "1.0",
            "count": 400,
            "observed_share": 0.4,
            "expected_share": 0.51,
            "representation_ratio": 0.4 / 0.51,
            "ci": [0.73, 0.84],
            "status": statuses[1],
        },
    ]
    return {"check_id": "sex", "feature": "sex", "groups": groups}


def _svg(chart) -> bytes:
    return base64.b64decode(chart.data_uri.split(",", 1)[1])


def test_representation_chart_is_deterministic_and_greyscale_readable():
    first = representation_chart(_check(), level=0.95)
    assert first == representation_chart(_check(), level=0.95)
    svg = _svg(first)
    assert b"<pattern" in svg  # the hatch: reference bars differ from data bars without colour
    assert FAIL_COLOUR.lower().encode() in svg.lower() and PASS_COLOUR.lower().encode() in svg.lower()
    assert first.rows == 2 and "1 outside the policy limit" in first.alt
    assert b"<dc:date>" not in svg and b"<image" not in svg


def test_no_failing_colour_when_every_group_is_within():
    fail = FAIL_COLOUR.lower().encode()
    none_failing = _svg(representation_chart(_check(("PASS", "PASS")), level=0.95)).lower().count(fail)
    one_failing = _svg(representation_chart(_check(("PASS", "FAIL")), level=0.95)).lower().count(fail)
    assert one_failing > none_failing  # the legend keeps its swatch; the bar and its word add more
    assert representation_chart({"groups": []}, level=0.95) is None


def test_integer_like_float_labels_print_as_integers():
    assert group_label("Non-White × 0.0") == "Non-White × 0"
    assert group_label("1.0") == "1" and group_label("-2.00") == "-2"
    assert group_label("1.5") == "1.5" and group_label("v1.0 beta") == "v1.0 beta" and group_label("10") == "10"


def test_recorded_sentences_print_group_names_as_the_tables_do():
    from audit.report.labels import display_text, relabels

    document = {"groups": [{"features": {"sex": "Female", "minority": "1.0"}}, {"features": {"minority": "0.0"}}]}
    mapping = relabels(document)
    assert mapping == {"1.0": "1", "0.0": "0"}
    text = (
        "The true positive rate of 1.0 (minority) is 16.4 points below that of 0.0, the highest group; "
        "Female × 1.0 (sex × minority) too — 21.0 (not a group), 10.0% vs 80.0 (x)"
    )
    assert display_text(text, mapping) == (
        "The true positive rate of 1 (minority) is 16.4 points below that of 0, the highest group; "
        "Female × 1 (sex × minority) too — 21.0 (not a group), 10.0% vs 80.0 (x)"
    )


def test_a_category_written_both_as_1_and_as_1_0_keeps_two_names():
    """Files that wrote one category as "1" and as "1.0" give two groups: they must not both print "1"."""
    from audit.report.labels import group_label, labels_for, relabels

    document = {
        "groups": [
            {"features": {"band": "1"}},
            {"features": {"band": "1.0"}},
            {"features": {"band": "2.0"}},
            {"features": {"band": "3.0"}},
            {"features": {"band": "3.00"}},
        ]
    }
    with labels_for(document):
        assert group_label("1.0") == "1.0" and group_label("1") == "1" and group_label("2.0") == "2"
        assert group_label("3.0") == "3.0" and group_label("3.00") == "3.00"  # two spellings, no plain 3
        assert relabels(document) == {"2.0": "2"}
    assert group_label("1.0") == "1"  # outside that document's rendering
