"""One way to call the CLI from tests: ``invoke(args, exit_code=…)``."""

from __future__ import annotations

from dataclasses import dataclass

from audit.cli import main


@dataclass
class Ran:
    code: int
    out: str
    err: str


def invoke(capsys, args, *, exit_code: int) -> Ran:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == exit_code, f"exit {code} != {exit_code}\nstdout:\n{captured.out}\nstderr:\n{captured.err}"
    return Ran(code, captured.out, captured.err)


def write_csv(path, rows, header=("group", "label", "pred")):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def balanced_rows(n_per_group=50):
    """Two groups with identical confusion counts: every rule passes."""
    rows = []
    for group in ("a", "b"):
        for i in range(n_per_group):
            rows.append((group, int(i % 2 == 0), int(i % 4 < 2)))
    return rows


def skewed_rows(n_per_group=50):
    """Group b is selected far less often than group a: four-fifths fails."""
    rows = []
    for i in range(n_per_group):
        rows.append(("a", int(i % 2 == 0), int(i % 10 < 6)))
        rows.append(("b", int(i % 2 == 0), int(i % 10 < 2)))
    return rows


def run_args(data, out, *extra, policy="four-fifths"):
    """`fairgate run` on a decisions file with columns group, label, pred (as ``write_csv`` writes it)."""
    return [
        "run",
        "--data",
        data,
        "--policy",
        policy,
        "--label",
        "label",
        "--predictions",
        "pred",
        "--sensitive",
        "group",
        "--out",
        out,
        *extra,
    ]
