"""Fairgate: audit machine-learning models for fairness before they ship."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.flow.request import AuditRequest
    from audit.pipeline import AuditResult, run, run_audit

__all__ = ["run_audit", "run", "AuditRequest", "AuditResult"]


def __getattr__(name: str) -> Any:
    # Lazy: importing ``audit`` (e.g. for ``fairgate --help``) must not pull in pandas & co.
    if name in __all__:
        from audit import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
