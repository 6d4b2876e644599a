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


def _proba_frame(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    n = 400
    p = rng.dirichlet([1.0, 1.0], n)
    frame = pd.DataFrame({"approved": (rng.random(n) < 0.5).astype(int), "p_a": p[:, 0], "p_b": p[:, 1]})
    frame["sex"] = rng.choice(["F", "M"], n)
    path = tmp_path / "proba.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("recorded", [[], ["sex"]], ids=["proxy-only", "proxy-and-recorded"])
def test_a_probabilistic_feature_audit_validates(tmp_path, recorded):
    """A proxy-only audit has no recorded sensitive feature: the schema allows the empty list only then."""
    schema = json.loads(schema_path("results.schema.json").read_text())
    result = run_audit(
        data=_proba_frame(tmp_path),
        policy="four-fifths",
        predictions="approved",
        positive_label="1",
        sensitive=recorded,
        sensitive_proba=["race=p_a,p_b"],
        ledger=False,
    )
    document = json.loads(canonical_json(result.to_dict()))
    assert document["audit"]["sensitive_features"] == recorded
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    if not recorded:  # the same document without its proxy section is no audit of anything
        del document["proxy"]
        with pytest.raises(jsonschema.ValidationError, match="should be non-empty"):
            jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
