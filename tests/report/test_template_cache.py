"""The compiled-template cache (FAIRGATE_TEMPLATE_CACHE): a speed-up that must never change a report.

Jinja2 compiles the report's templates on every run unless a bytecode cache keeps them; these tests
render the same report with the cache off, cold, warm, after a template's entry was corrupted, and
into a directory that cannot be written, and require the same HTML each time.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import jinja2
import pytest

from audit.report.html import ReportContext, render_html
from audit.report.html import render as render_module
from tests.report.test_golden import _document

WHEN = "2025-06-30T12:00:00Z"


@pytest.fixture
def cache_env(monkeypatch: pytest.MonkeyPatch):
    """Set FAIRGATE_TEMPLATE_CACHE and rebuild the (memoised) environment around each setting."""

    def use(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(render_module.CACHE_ENV, raising=False)
        else:
            monkeypatch.setenv(render_module.CACHE_ENV, value)
        render_module._environment.cache_clear()

    yield use
    render_module._environment.cache_clear()


def _render(document: dict) -> str:
    return render_html(document, context=ReportContext(generated_at=WHEN))


def test_cached_templates_render_the_same_report(tmp_path, monkeypatch, cache_env):
    document = _document(tmp_path, monkeypatch)
    cache_env("off")
    assert render_module.environment().bytecode_cache is None
    reference = _render(document)

    where = tmp_path / "cache"
    cache_env(str(where))
    cold = _render(document)
    entries = sorted(where.iterdir())
    assert len(entries) >= 2, "the report and its section templates are cached"
    assert all(e.name.endswith(".cache") for e in entries)
    assert stat.S_IMODE(where.stat().st_mode) & 0o077 == 0, "a new cache directory is the user's alone"

    cache_env(str(where))  # a new process: the environment is built again and loads what is cached
    loaded = []
    original = render_module._Cache.load_bytecode

    def spy(self, bucket):
        original(self, bucket)
        loaded.append(bucket.code is not None)

    monkeypatch.setattr(render_module._Cache, "load_bytecode", spy)
    warm = _render(document)
    assert loaded and all(loaded), "every template came from the cache"
    assert cold == reference
    assert warm == reference


def test_a_corrupt_entry_is_compiled_again(tmp_path, monkeypatch, cache_env):
    document = _document(tmp_path, monkeypatch)
    cache_env("off")
    reference = _render(document)
    where = tmp_path / "cache"
    cache_env(str(where))
    _render(document)
    for entry in where.iterdir():  # truncated and garbled entries, as a crash mid-write would leave
        entry.write_bytes(entry.read_bytes()[:40] + b"\x00garbage")
    cache_env(str(where))
    assert _render(document) == reference


def test_an_edited_template_is_not_served_from_the_cache(tmp_path, monkeypatch, cache_env):
    """The entry is checked against the template's source: a changed template is compiled again."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.html.j2").write_text("one {{ x }}", encoding="utf-8")
    where = tmp_path / "cache"
    cache_env(str(where))
    assert render_module._environment(str(templates)).get_template("t.html.j2").render(x=1) == "one 1"
    (templates / "t.html.j2").write_text("two {{ x }}", encoding="utf-8")
    render_module._environment.cache_clear()
    assert render_module._environment(str(templates)).get_template("t.html.j2").render(x=1) == "two 1"


def test_an_unwritable_cache_never_fails_a_render(tmp_path, monkeypatch, cache_env):
    """A full disk or a read-only directory (root ignores permissions, so the write itself fails here)."""
    document = _document(tmp_path, monkeypatch)
    cache_env("off")
    reference = _render(document)

    def full(self, bucket):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", full)
    where = tmp_path / "cache"
    cache_env(str(where))
    assert _render(document) == reference
    assert not list(where.iterdir())


def test_an_uncreatable_cache_directory_compiles_each_run(tmp_path, monkeypatch, cache_env):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    cache_env(str(blocker / "cache"))
    assert render_module.environment().bytecode_cache is None
    document = _document(tmp_path, monkeypatch)
    cache_env("off")
    assert _render(document) == _render(document)


def test_the_default_cache_is_jinjas_per_user_directory(cache_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    cache_env(None)
    cache = render_module.environment().bytecode_cache
    assert cache is not None
    directory = Path(cache.directory)
    assert directory.parent == tmp_path
    assert directory.name == f"_jinja2-cache-{os.getuid()}"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
