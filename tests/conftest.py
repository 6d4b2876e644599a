"""Shared fixtures: the real public datasets in ../shared/data, and small hand-made frames."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a dataset, tool or library — or, in CI (FAIRGATE_REQUIRE_SHARED_DATA=1), fail:
    there every test must run."""
    if os.environ.get("FAIRGATE_REQUIRE_SHARED_DATA") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def shared_data(name: str) -> Path:
    """Path to a file in ../shared/data; skip (or, in CI, fail) when it is not there."""
    path = SHARED_DATA / name
    if not path.exists():
        unavailable(f"needs {path} (../shared/data sits beside the repo on developer machines and CI only)")
    return path


@pytest.fixture
def compas_csv() -> Path:
    return shared_data("compas-scores-two-years.csv")


@pytest.fixture
def userguide_csv() -> Path:
    return shared_data("fairlearn_userguide_example.csv")


@pytest.fixture(autouse=True)
def _isolated_ledger(tmp_path_factory, monkeypatch):
    """Every test records into its own audit ledger, never the developer's ~/.local/share one."""
    monkeypatch.setenv("FAIRGATE_LEDGER", str(tmp_path_factory.mktemp("ledger") / "ledger.sqlite"))


def pytest_addoption(parser: pytest.Parser) -> None:
    # tests/report/test_golden.py: rewrite the golden files instead of comparing (or FAIRGATE_UPDATE_GOLDEN=1)
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")


#: Fixtures whose tests are slow by nature: a Spark session, or a PDF rendered (and signed) once per module.
SLOW_FIXTURES = frozenset({"spark", "unsigned", "signed", "many", "rendered", "countersigned"})
#: Whole modules that start processes (real signals, ptys, memory caps, runs in parallel).
SLOW_MODULES = frozenset(
    {
        "tests/util/test_interrupts.py",
        "tests/inputs/test_memory_cap.py",
        "tests/report/test_determinism.py",
        "tests/cli/test_terminal.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test-fast` (-m "not slow") skips Spark, PDF rendering and subprocess tests; `make test`
    (CI) runs everything."""
    for item in items:
        module = Path(str(item.fspath)).resolve().relative_to(REPO).as_posix()
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
