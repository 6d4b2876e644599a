"""The regulation crosswalk: which provisions of which frameworks a report's sections and results.json keys
answer, read from the declarative table ``crosswalk.yaml`` beside this module.

``crosswalk_for(document)`` selects the frameworks the audit's policy serves (its id, or the id of a shipped
policy it extends, is in a framework's ``policies``; ``all`` applies to every policy) and the entries whose
``requires`` keys hold something in this document, and returns the results.json ``crosswalk`` block. The
statements describe what the report contains; they never say that anything meets a law or standard.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).with_name("crosswalk.yaml")
#: Every field an entry of the table has (``requires`` is optional).
ENTRY_FIELDS = ("provision", "asks", "sections", "keys", "covers")


@lru_cache(maxsize=1)
def load_table() -> dict[str, Any]:
    """The crosswalk table, checked: every entry complete, every section it names declared."""
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    sections = table["sections"]
    for framework in table["frameworks"]:
        policies = framework["policies"]
        if policies != "all" and not (isinstance(policies, list) and policies):
            raise ValueError(f"crosswalk {framework['id']}: policies must be `all` or a list of policy ids")
        for entry in framework["entries"]:
            missing = [f for f in ENTRY_FIELDS if not entry.get(f)]
            unknown = [s for s in entry["sections"] if s not in sections]
            if missing or unknown:
                raise ValueError(f"crosswalk {framework['id']} {entry.get('provision')}: {missing or unknown}")
    return table


def lookup(document: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key such as ``provenance.inputs`` in ``document``."""
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def policy_lineage(document: Mapping[str, Any]) -> tuple[str, ...]:
    """The audit's policy id and the sources of the policies it extends (shipped ids, or paths)."""
    policy = document["policy"]
    return (policy["id"], *(str(e["source"]) for e in policy.get("extends") or ()))


def crosswalk_for(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The results.json ``crosswalk`` block for ``document`` (None when no framework applies)."""
    table = load_table()
    lineage = set(policy_lineage(document))
    frameworks = []
    for framework in table["frameworks"]:
        if framework["policies"] != "all" and not lineage & set(framework["policies"]):
            continue
        entries = [_entry(e, table["sections"]) for e in framework["entries"] if _met(e, document)]
        if entries:
            frameworks.append(
                {
                    "id": framework["id"],
                    "name": framework["name"],
                    "instrument": " ".join(framework["instrument"].split()),
                    "entries": entries,
                }
            )
    if not frameworks:
        return None
    return {"version": table["version"], "note": " ".join(table["note"].split()), "frameworks": frameworks}


def _met(entry: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    """Each key the entry ``requires`` is in the document and not empty."""
    for key in entry.get("requires") or ():
        found, value = lookup(document, key)
        if not found or value in (None, [], {}):
            return False
    return True


def _entry(entry: Mapping[str, Any], sections: Mapping[str, str]) -> dict[str, Any]:
    return {
        "provision": entry["provision"],
        "asks": " ".join(entry["asks"].split()),
        "sections": [{"id": s, "title": sections[s]} for s in entry["sections"]],
        "keys": list(entry["keys"]),
        "covers": " ".join(entry["covers"].split()),
    }
