"""Locate the bundled policies/ and report_templates/ directories.

In a wheel they are shipped as ``audit/_bundled/<name>``; in a source checkout (editable
install, tests) they sit at the repository top level next to ``audit/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # audit/


def bundled_dir(name: str) -> Path:
    """Return the directory holding the bundled ``policies`` or ``report_templates``."""
    for candidate in (_PACKAGE_DIR / "_bundled" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled directory {name!r} is missing from this installation")


def policies_dir() -> Path:
    return bundled_dir("policies")


def templates_dir() -> Path:
    return bundled_dir("report_templates")


def schema_path(name: str) -> Path:
    return _PACKAGE_DIR / "schemas" / name
