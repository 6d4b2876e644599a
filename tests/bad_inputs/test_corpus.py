"""The bad-input corpus (cases.yaml): every case through the CLI, one parametrized test.

For a failure the contract is: the expected exit code, exactly one ``error:`` line on stderr that
contains the case's fragment (naming the file, column, key or rule), exactly one ``hint:`` line
(every case: a user who hits an error is told what to do about it), no traceback, no internal-error
log, and an output directory that holds exactly what it held before (a previous report stays
byte-identical; no partial or temporary file appears).

A case may also say ``requires: [module]`` (skipped, saying why, when it is not installed),
``lock_ledger: FILE`` (a write lock is held on that ledger while the command runs) and
``within_seconds: N`` (the command must give up sooner than that).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.cli import main
from tests.bad_inputs import generators
from tests.conftest import unavailable

HERE = Path(__file__).parent
MANIFEST = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
CASES = MANIFEST["cases"]
PREVIOUS = {"results.json": b'{"previous": true}\n', "report.pdf": b"%PDF-previous report\n"}


def _command(case: dict[str, Any]) -> list[str]:
    if "args" in case:
        return [str(a) for a in case["args"]]
    options = {**MANIFEST["run_defaults"], **case.get("options", {})}
    args = ["run"]
    for name, value in options.items():
        if value is None or value is False:
            continue
        if value is True:
            args.append(name)
        else:
            for item in value if isinstance(value, list) else [value]:
                args += [name, str(item)]
    return args


def _out_dir(args: list[str]) -> str | None:
    return args[args.index("--out") + 1] if "--out" in args else None


def _lookup(document: Any, dotted: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[[^\]]+\]", dotted):
        if part.startswith("["):
            key, _, value = part[1:-1].partition("=")
            document = next(item for item in document if str(item[key]) == value)
        else:
            document = document[part]
    return document


def test_corpus_is_large_and_ids_are_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    assert sum(c["exit"] == 2 for c in CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path, monkeypatch, capsys):
    for module in case.get("requires", []):
        if importlib.util.find_spec(module) is None:
            unavailable(f"{module} is not installed, and case {case['id']} exercises it")
    monkeypatch.chdir(tmp_path)
    generators.forget_mlflow_stores()
    for variable in ("FAIRGATE_KEY_PASSPHRASE", "FAIRGATE_KEY_PASSPHRASE_FILE", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(variable, raising=False)
    for name, value in case.get("env", {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FAIRGATE_LOG_DIR", str(tmp_path / "logs"))
    for name, text in case.get("files", {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name, function in case.get("generate", {}).items():
        getattr(generators, function)(tmp_path / name)
    args = _command(case)
    out = _out_dir(args)
    failing = case["exit"] != 0
    out_path = tmp_path / out if out else None
    previous = failing and out_path is not None and not out_path.exists() and out_path.parent.is_dir()
    if previous:
        out_path.mkdir()
        for name, data in PREVIOUS.items():
            (out_path / name).write_bytes(data)

    holder = None
    if "lock_ledger" in case:  # another process (here: another connection) holds the ledger's write lock
        holder = sqlite3.connect(tmp_path / case["lock_ledger"], isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    try:
        code = main(args)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    detail = f"args {args}\nexit {code}\nstdout:\n{captured.out}\nstderr:\n{captured.err}"
    assert code == case["exit"], detail
    assert "Traceback" not in captured.err + captured.out, detail
    assert not (tmp_path / "logs").exists(), detail  # no internal error was logged
    if "within_seconds" in case:
        assert elapsed < case["within_seconds"], f"took {elapsed:.1f} s\n{detail}"

    if failing:
        lines = captured.err.strip().splitlines()
        errors = [line for line in lines if line.startswith("error:")]
        hints = [line for line in lines if line.startswith("hint:")]
        assert len(errors) == 1 and len(hints) == 1 and len(lines) == 2, detail
        assert case["error"] in errors[0], detail
        assert len(hints[0].removeprefix("hint:").strip()) > 10, detail  # a hint says something
        if "hint" in case:
            assert case["hint"] in hints[0], detail
        if previous:
            assert sorted(p.name for p in out_path.iterdir()) == sorted(PREVIOUS), detail
            for name, data in PREVIOUS.items():
                assert (out_path / name).read_bytes() == data
        elif out_path is not None and out_path.is_dir():
            assert not any(out_path.iterdir()), detail
    else:
        assert not captured.err.strip(), detail
        document = json.loads((out_path / "results.json").read_bytes())
        for dotted, expected in case.get("results", []):
            actual = _lookup(document, dotted)
            assert actual == (pytest.approx(expected) if isinstance(expected, float) else expected), dotted
        assert not [p.name for p in out_path.iterdir() if p.name.startswith(".")], detail
