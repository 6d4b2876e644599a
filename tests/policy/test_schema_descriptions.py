"""Every field of the policy language has a description (issue 21, item 5): it is what
`fairgate policy schema` gives editors for autocompletion and what docs/policies.md points to."""

from __future__ import annotations

from audit.policy.schema import Policy


def test_every_field_of_every_policy_model_has_a_description():
    schema = Policy.model_json_schema()
    models = {"Policy": schema, **schema.get("$defs", {})}
    missing = [
        f"{name}.{field}"
        for name, model in models.items()
        for field, spec in (model.get("properties") or {}).items()
        if not str(spec.get("description", "")).strip()
    ]
    assert not missing, f"fields without a description: {', '.join(missing)}"
    assert len(models) > 10  # the walk saw the nested models (rules, checks, waivers, monitoring …)
