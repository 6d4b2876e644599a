"""Fuzz the policy loader: any bytes give a Policy or a PolicyError — never another exception."""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.errors import PolicyError
from audit.policy.load import load_policy

#: FAIRGATE_FUZZ_EXAMPLES raises the count for a longer campaign (CI keeps the default).
EXAMPLES = int(os.environ.get("FAIRGATE_FUZZ_EXAMPLES", "150"))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["selection_rate", "ratio", "max", "block", "1"]),
)
keys = st.sampled_from(
    [
        "fairgate",
        "id",
        "version",
        "title",
        "rules",
        "groups",
        "metric",
        "min_value",
        "max_value",
        "compare",
        "against",
        "severity",
        "min_count",
        "columns",
        "x",
    ]
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=20,
)


def _check(tmp_path, text: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text)
    try:
        load_policy(str(path))
    except PolicyError as exc:
        assert exc.message.startswith(str(path)) and "\n" not in exc.message


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents)
def test_structured_documents(tmp_path, document):
    _check(tmp_path, yaml.safe_dump(document).encode())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_arbitrary_bytes(tmp_path, data):
    _check(tmp_path, data)
