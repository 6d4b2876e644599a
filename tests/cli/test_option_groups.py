"""`run`, `monitor` and `verify --recompute` declare their shared options once (the option groups):
the same names, types and defaults wherever they appear; only help texts (and monitor's --out) differ."""

from __future__ import annotations

from audit.cli import monitor, run, verify


def _options(command):
    return {p.name: p for p in command.params}


def test_monitor_and_verify_options_are_runs():
    ran = _options(run)
    for command, own_defaults in ((monitor, {"out_dir"}), (verify, set())):
        shared = {name: p for name, p in _options(command).items() if name in ran}
        assert shared, command.name
        for name, param in shared.items():
            theirs = ran[name]
            assert param.opts == theirs.opts and type(param.type) is type(theirs.type), name
            assert param.multiple == theirs.multiple and param.is_flag == theirs.is_flag, name
            if name not in own_defaults:
                assert param.default == theirs.default, name
    # monitor audits a decision log: everything it takes, `run` takes too
    assert set(_options(monitor)) <= set(ran)
    assert {"data", "model"} <= set(_options(verify)) and not _options(verify)["data"].required
