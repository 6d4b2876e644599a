"""The documentation cannot drift from the code (issue 17, item 4).

- README.md is a ten-minute read: under 250 lines, with a table of contents, linking every docs page.
- Every relative link in README.md and docs/*.md resolves (file, and heading anchor in a Markdown page).
- docs/cli.md is exactly what scripts/cli_docs.py generates from the commands' `--help`.
- docs/troubleshooting.md's generated table is exactly what scripts/troubleshooting_docs.py makes from
  the bad-input corpus.
- Every `fairgate …` command in a fenced shell block of README.md and docs/*.md uses only options that
  command has, and the README's Python example calls `run_audit` only with parameters it takes.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import shlex
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
REGENERATE_TROUBLESHOOTING = "python scripts/troubleshooting_docs.py --write"


def _script(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _without_code(text: str) -> str:
    """Markdown text with fenced blocks and inline code removed (links inside code are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _fenced(text: str, languages: tuple[str, ...]) -> list[str]:
    blocks = re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
    return [m.group(2) for m in blocks if m.group(1) in languages]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M).splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug, n = _slug(heading.group(1)), 1
            while slug in found:  # GitHub numbers repeated headings: x, x-1, x-2
                slug, n = f"{_slug(heading.group(1))}-{n}", n + 1
            found.add(slug)
    return found


def _links(page: Path) -> list[str]:
    text = _without_code(page.read_text(encoding="utf-8"))
    return [m.group(1) for m in re.finditer(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)]


# --- README -------------------------------------------------------------------------------------------


def test_readme_is_a_ten_minute_read_with_a_table_of_contents():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250, "README.md is over 250 lines: move the detail into docs/"
    contents = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"\]\(#([^)]+)\)", contents)
    assert len(listed) >= 6 and set(listed) <= _anchors(README), set(listed) - _anchors(README)


def test_readme_keeps_the_two_commands_and_the_makefile_has_them():
    text = README.read_text(encoding="utf-8")
    block = text.split("## Two commands", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "## Data and licences" in text and (ROOT / "demo" / "data" / "ATTRIBUTION.md").exists()


def test_every_docs_page_exists_and_is_linked_from_the_readme():
    linked = {(README.parent / link.split("#", 1)[0]).resolve() for link in _links(README)}
    pages = {page.resolve() for page in DOCS.glob("*.md")}
    assert len(pages) >= 10
    assert pages <= linked, sorted(p.name for p in pages - linked)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page):
    broken = []
    for link in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto:, data: …
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{link}: no heading '#{anchor}' in {target.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


# --- generated pages ----------------------------------------------------------------------------------


def test_cli_reference_matches_the_help_texts():
    cli_docs = _script("cli_docs")
    current = cli_docs.TARGET.read_text(encoding="utf-8") if cli_docs.TARGET.exists() else ""
    assert current == cli_docs.render(), (
        "docs/cli.md does not match `fairgate … --help`: regenerate it with "
        f"`{cli_docs.REGENERATE}` (or `make docs`) and commit the result"
    )


def test_cli_reference_does_not_depend_on_the_terminal(monkeypatch):
    cli_docs = _script("cli_docs")
    first = cli_docs.render()
    monkeypatch.setenv("COLUMNS", "37")
    monkeypatch.setenv("FAIRGATE_RUN_POLICY", "from-the-environment")
    assert cli_docs.render() == first
    assert "## fairgate run\n" in first and "## fairgate policy validate\n" in first


@pytest.mark.slow
def test_troubleshooting_matches_the_bad_input_corpus():
    from tests.bad_inputs.test_corpus import CASES

    missing = sorted({m for case in CASES for m in case.get("requires", []) if importlib.util.find_spec(m) is None})
    if missing:  # those cases cannot run here, so their rows would show only the expected fragments
        unavailable(f"{', '.join(missing)} not installed: the corpus cannot be run completely")
    docs = _script("troubleshooting_docs")
    current = docs.TARGET.read_text(encoding="utf-8")
    assert docs.BEGIN in current and docs.END in current
    assert docs.splice(current, docs.render_generated()) == current, (
        "docs/troubleshooting.md does not match tests/bad_inputs/cases.yaml and the messages the code prints: "
        f"regenerate it with `{docs.REGENERATE}` (or `make docs`) and commit the result"
    )


def test_troubleshooting_lists_every_failing_corpus_case():
    from tests.bad_inputs.test_corpus import CASES

    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    missing = [case["id"] for case in CASES if f"({case['id']})" not in text and f"`{case['id']}`" not in text]
    assert not missing, f"not in docs/troubleshooting.md (run `{REGENERATE_TROUBLESHOOTING}`): {missing}"
    assert "## Common problems" in text  # the hand-written part is kept


# --- examples in the README ---------------------------------------------------------------------------


def _commands(block: str) -> list[list[str]]:
    """Every `fairgate …` command in a shell block (continuations joined, comments, redirections dropped)."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        current: list[str] = []
        words = iter([*shlex.split(line, comments=True), "&&"])
        for word in words:
            if word in ("&&", "||", ";", "|"):
                if current and current[0] == "fairgate":
                    commands.append(current)
                current = []
            elif word in (">", ">>", "<", "2>"):
                next(words, None)  # the redirection's file
            elif not current and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", word):
                continue  # an environment assignment before the command
            else:
                current.append(word)
    return commands


def _unknown_options(words: list[str]) -> tuple[str, list[str]]:
    from audit.cli import cli

    command: click.Command = cli
    path = ["fairgate"]
    rest = words[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"`{' '.join(path)}` has no command {rest[0]!r}"
        command, path, rest = sub, [*path, rest[0]], rest[1:]
    known = {"-h", "--help"} | {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    used = [word.split("=", 1)[0] for word in rest if word.startswith("-") and word != "-"]
    return " ".join(path), [option for option in used if option not in known]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_fairgate_command_shown_uses_real_options(page):
    commands = [
        c
        for block in _fenced(page.read_text(encoding="utf-8"), ("sh", "bash", "console", ""))
        for c in _commands(block)
    ]
    if page == README:
        assert len(commands) >= 8
    problems = []
    for words in commands:
        path, unknown = _unknown_options(words)
        if unknown:
            problems.append(f"{' '.join(words)}\n  `{path}` has no option(s) {unknown}")
    assert not problems, "\n".join(problems)


def test_the_readme_python_example_calls_run_audit_with_real_parameters():
    from audit.pipeline import AuditResult, run_audit

    blocks = _fenced(README.read_text(encoding="utf-8"), ("python",))
    calls = [node for block in blocks for node in ast.walk(ast.parse(block)) if isinstance(node, ast.Call)]
    audits = [
        c
        for c in calls
        if isinstance(c.func, ast.Attribute | ast.Name)
        and getattr(c.func, "attr", getattr(c.func, "id", None)) == "run_audit"
    ]
    assert audits, "the README's notebook example no longer calls run_audit"
    parameters = inspect.signature(run_audit).parameters
    for call in audits:
        assert {k.arg for k in call.keywords} <= set(parameters), {k.arg for k in call.keywords} - set(parameters)
    methods = {
        c.func.attr
        for c in calls
        if isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name) and c.func.value.id == "result"
    }
    assert methods and all(hasattr(AuditResult, name) for name in methods), methods


def test_the_option_check_catches_a_misspelt_option():
    assert _unknown_options(["fairgate", "run", "--data", "d.csv", "--fail-on=warn", "--sensitiv", "sex"]) == (
        "fairgate run",
        ["--sensitiv"],
    )
    assert _unknown_options(["fairgate", "policy", "validate", "--as-of", "2024-01-01", "p.yaml"]) == (
        "fairgate policy validate",
        [],
    )
