"""The policy (YAML → a typed, validated ``Policy``), as the stages after it see it.

Hands on: ``load_policy`` → ``LoadedPolicy`` (the policy, its text and hash), ``shipped_policies``,
the schema types (``Policy``, ``Rule``, ``Monitoring``), and ``table_needs`` (which tables the rules
need counted).
"""

from __future__ import annotations

from audit.policy.load import LoadedPolicy, load_policy, shipped_policies
from audit.policy.monitoring import Monitoring
from audit.policy.needs import table_needs
from audit.policy.schema import Policy, Rule

__all__ = [
    "LoadedPolicy",
    "Monitoring",
    "Policy",
    "Rule",
    "load_policy",
    "shipped_policies",
    "table_needs",
]
