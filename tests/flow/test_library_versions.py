"""The library versions recorded in results.json: read from each package's METADATA header, the same
strings ``importlib.metadata.version`` gives (which parses the whole file, ~1 ms a package a run)."""

from __future__ import annotations

from importlib import metadata

from audit.flow.assemble import _VERSIONED, installed_version, library_versions


def test_every_installed_distribution_reads_the_same_version_as_importlib_metadata():
    names = {d.metadata["Name"] for d in metadata.distributions()}
    assert len(names) > 50  # the whole environment, not only the libraries results.json names
    for name in sorted(names):
        assert installed_version(name) == metadata.version(name), name


def test_the_recorded_versions_are_importlib_metadatas():
    versions = library_versions()
    expected = {}
    for name in _VERSIONED:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    assert {k: v for k, v in versions.items() if k != "python"} == expected
    assert "pandas" in versions and "numpy" in versions
