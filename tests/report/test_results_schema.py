"""results.json matches the JSON Schema shipped in the package, for several audit shapes."""

from __future__ import annotations

import json

import jsonschema
import pytest

from audit.pipeline import run_audit
from audit.report.results import canonical_json
from audit.util.resources import schema_path


@pytest.mark.parametrize(
    ("policy", "extra"),
    [
        ("four-fifths", {"label": "two_year_recid"}),
        ("equalized-odds", {"label": "two_year_recid"}),
        ("four-fifths", {}),
    ],
    ids=["four-fifths", "equalized-odds", "no-label"],
)
def test_results_validate_against_shipped_schema(compas_csv, policy, extra):
    schema = json.loads(schema_path("results.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    result = run_audit(
        data=compas_csv, policy=policy, scores="decile_score", threshold=5, sensitive=["race", "sex"], **extra
    )
    document = json.loads(canonical_json(result.to_dict()))
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    if not extra:
        assert document["audit"]["has_label"] is False
        overall = next(g for g in document["groups"] if g["id"] == "overall")
        assert overall["metrics"]["accuracy"]["value"] is None
        assert overall["metrics"]["accuracy"]["ci_method"] == "not applicable: no label"


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json({"x": float("nan")})
