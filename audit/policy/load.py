"""Read a policy (a shipped id or a YAML path) into a validated ``Policy``.

YAML is parsed with a loader that refuses aliases (no "billion laughs"), duplicate keys and
non-plain tags, and remembers the line of every key so that each error names file, line and key.

``extends:`` is resolved here, before validation: the extended file (a shipped id, or a path
relative to the extending file) is parsed the same way, recursively, and the extending file's keys
are merged over it (mappings key by key; ``rules``, ``representativeness``, ``data_requirements``
and ``score_rules`` by ``id``; every other list replaced whole). Every merged value remembers the
file and line it came from, so an error in an extended file names that file.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from audit.errors import PolicyError
from audit.inputs.held import POLICY
from audit.policy.context import AuditContext
from audit.policy.schema import Policy
from audit.util.resources import policies_dir
from audit.util.suggest import did_you_mean

_MAX_BYTES = 1 << 20


class _ContextFile(BaseModel):
    """A --context file, validated under the key ``context`` so errors name ``context.<key>``."""

    model_config = ConfigDict(extra="forbid")
    context: AuditContext


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")  # timestamp: waiver expiry
)
#: Lists merged entry by entry on ``id`` when a policy extends another.
MERGED_BY_ID = ("rules", "representativeness", "data_requirements", "score_rules")
_MAX_DEPTH = 16
#: Deepest nesting of mappings and lists a policy may have (real ones use about 6): deeper YAML is
#: refused while it is composed, before Python's recursion limit is anywhere near.
MAX_NESTING = 64
#: Longest integer a policy may hold, in digits (Python refuses to convert more than 4,300).
MAX_INT_DIGITS = 30

#: Where a value sits in the policy document: the keys and list indexes that lead to it.
Loc = tuple[object, ...]
Origins = dict[Loc, tuple[Path, int | None]]  # location in the document → (file, line; None: a policy dict)


@dataclass(frozen=True)
class Extended:
    """One file of the ``extends`` chain, for the evidence."""

    source: str  # as written in ``extends:`` (a shipped id or a path)
    path: str  # fairgate:policies/<name> for a shipped policy, else the path
    sha256: str


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    source: str  # shipped id or path as given
    path: Path
    sha256: str
    text: str
    extends: tuple[Extended, ...] = ()  # the chain, nearest first


def shipped_policies() -> dict[str, Path]:
    return {p.stem: p for p in sorted(policies_dir().glob("*.yaml"))}


def resolve_path(ref: str) -> Path:
    path = Path(ref)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise PolicyError(
                f"{ref}: no such policy file",
                hint="check the path, or name a shipped policy by its id (`fairgate policy list`)",
            )
        return path
    shipped = shipped_policies()
    if ref in shipped:
        return shipped[ref]
    raise PolicyError(
        f"{ref}: unknown policy id",
        hint=f"{did_you_mean(ref, shipped)}shipped policies: {', '.join(shipped)}; or pass a path to a .yaml file",
    )


def load_policy(ref: str) -> LoadedPolicy:
    path = resolve_path(ref)
    raw, text = _read(path)
    data, origins, chain = _resolve(path, raw, text, stack=())
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _as_policy_error(exc, path, origins) from None
    _check_waivers(policy, origins, path)
    return LoadedPolicy(policy, ref, path, hashlib.sha256(raw).hexdigest(), text, chain)


def load_context(path: Path) -> dict[str, Any]:
    """A ``--context`` YAML file (the context block's keys, or a mapping with ``context:`` alone), validated
    like a policy (unknown keys refused, errors naming file, line and key), as results.json records it."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(
            f"{path}: no such context file",
            hint="pass the YAML file describing the audit (docs/policies.md#audit-context)",
        )
    raw, text = _read(path)
    data, lines = _parse(text, path)
    if isinstance(data, dict) and list(data) == ["context"]:
        data = data["context"]
        lines = {loc[1:]: line for loc, line in lines.items() if loc[:1] == ("context",)}
    if not isinstance(data, dict):
        raise PolicyError(
            f"{path}: a context file must be a YAML mapping",
            hint="start with e.g. `system: {name: ResumeRank, version: '2.1'}` (docs/policies.md#audit-context)",
        )
    origins: Origins = {("context", *loc): (path, line) for loc, line in lines.items()}
    try:
        context = _ContextFile.model_validate({"context": data}).context
    except ValidationError as exc:
        raise _as_policy_error(exc, path, origins) from None
    return context.model_dump(mode="json", exclude_unset=True, exclude_none=True)


#: How a policy given as a Python mapping (the Python API) is named in errors and in the evidence.
POLICY_DICT = Path(POLICY)


def load_policy_mapping(document: Mapping[str, Any]) -> LoadedPolicy:
    """A policy given as a mapping (``run_audit(policy={...})``), validated exactly like a policy file.

    The mapping is written out as YAML and read back through the same parser, ``extends:``
    resolution (paths relative to the working directory) and schema, so it meets the same errors;
    they name the key (``<policy dict>: rules.0.min_value: …``) instead of a file and line. Its
    sha256 (the evidence's provenance) is that of this YAML text, the same for the same mapping.
    """
    try:
        text = yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False)
    except yaml.YAMLError as exc:
        raise PolicyError(
            f"{POLICY_DICT}: holds a value a policy cannot contain ({str(exc).splitlines()[0]})",
            hint="use plain Python values (str, int, float, bool, None, date, lists and dicts of them), "
            "not NumPy numbers or other objects",
        ) from None
    raw = text.encode("utf-8")
    if len(raw) > _MAX_BYTES:
        raise PolicyError(f"{POLICY_DICT}: policy is larger than 1 MiB", hint="a policy is a short document")
    data, origins, chain = _resolve(POLICY_DICT, raw, text, stack=())
    # the lines of the YAML written here would mean nothing to the caller: errors name the key
    origins = {loc: (path, None if path == POLICY_DICT else line) for loc, (path, line) in origins.items()}
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _as_policy_error(exc, POLICY_DICT, origins) from None
    _check_waivers(policy, origins, POLICY_DICT)
    return LoadedPolicy(policy, str(POLICY_DICT), POLICY_DICT, hashlib.sha256(raw).hexdigest(), text, chain)


def _at(path: Path, line: int | None) -> str:
    """``file:line`` for an error; a policy dict has no lines."""
    return str(path) if path == POLICY_DICT else f"{path}:{line or '?'}"


def _read(path: Path) -> tuple[bytes, str]:
    raw = path.read_bytes()
    if len(raw) > _MAX_BYTES:
        raise PolicyError(
            f"{path}: policy file is larger than 1 MiB", hint="a policy is a short YAML file; is this the right file?"
        )
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{path}: policy is not UTF-8 text (byte {exc.start} cannot be decoded)",
            hint="a policy is a YAML text file saved as UTF-8; is this the right file?",
        ) from exc


def _where(origins: Origins, loc: Loc, fallback: Path) -> str:
    path, line = origins.get(loc, (fallback, None))
    return _at(path, line)


def _resolve(
    path: Path, raw: bytes, text: str, *, stack: tuple[Path, ...]
) -> tuple[dict[str, Any], Origins, tuple[Extended, ...]]:
    """Parse ``path`` and, recursively, what it extends: (merged data, origins, chain of extended files)."""
    data, lines = _parse(text, path)
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: a policy must be a YAML mapping", hint="start with `fairgate: 1`")
    origins: Origins = {loc: (path, line) for loc, line in lines.items()}
    _inline_references(data, path, origins)
    parent_ref = data.get("extends")
    if parent_ref is None:
        if data.get("remove"):
            raise PolicyError(
                f"{_where(origins, ('remove',), path)}: remove: only a policy that extends another can remove rules",
                hint="add `extends: <policy id or file>`",
            )
        return data, origins, ()
    where = _where(origins, ("extends",), path)
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise PolicyError(
            f"{where}: extends: must be a shipped policy id or a path to a .yaml file",
            hint="e.g. `extends: four-fifths` or `extends: ../base.yaml`",
        )
    if "id" not in data:
        raise PolicyError(
            f"{path}: id: a policy that extends another needs its own id", hint="add `id: <your-policy-id>`"
        )
    parent = _parent_path(parent_ref, path, where)
    key = parent.resolve()
    chain_files = (*stack, path.resolve())
    if key in chain_files:
        cycle = [*chain_files[chain_files.index(key) :], key]
        raise PolicyError(
            f"{where}: extends: cycle: {' → '.join(str(p) for p in cycle)}",
            hint="a policy cannot extend itself, directly or through others",
        )
    if len(chain_files) > _MAX_DEPTH:
        raise PolicyError(
            f"{where}: extends: more than {_MAX_DEPTH} levels of extends",
            hint="extend the policy you need directly rather than through a long chain",
        )
    parent_raw, parent_text = _read(parent)
    base, base_origins, base_chain = _resolve(parent, parent_raw, parent_text, stack=chain_files)
    shipped = parent.resolve().parent == policies_dir().resolve()
    entry = Extended(
        parent_ref,
        f"fairgate:policies/{parent.name}" if shipped else str(parent),
        hashlib.sha256(parent_raw).hexdigest(),
    )
    merged, merged_origins = merge(base, base_origins, data, origins)
    merged["extends"] = None  # resolved: the chain is recorded beside the document
    merged["remove"] = []
    return merged, merged_origins, (entry, *base_chain)


def _parent_path(ref: str, child: Path, where: str) -> Path:
    candidate = Path(ref)
    if candidate.suffix.lower() in (".yaml", ".yml") or "/" in ref or "\\" in ref:
        path = candidate if candidate.is_absolute() else child.parent / candidate
        if not path.is_file():
            raise PolicyError(
                f"{where}: extends: no such policy file {ref!r} (relative to {child.parent})",
                hint="a path in extends: is relative to the file that names it",
            )
        return path
    shipped = shipped_policies()
    if ref in shipped:
        return shipped[ref]
    raise PolicyError(
        f"{where}: extends: unknown policy id {ref!r}",
        hint=f"{did_you_mean(ref, shipped)}shipped policies: {', '.join(shipped)}; or a path relative to this file",
    )


def merge(
    base: dict[str, Any], base_origins: Origins, over: dict[str, Any], over_origins: Origins
) -> tuple[dict[str, Any], Origins]:
    """``over`` merged over ``base``; mappings key by key, the id-keyed lists by id, other values replaced."""
    out_origins: Origins = {}
    removed = set(over.get("remove") or [])
    unknown = removed - {e.get("id") for k in MERGED_BY_ID for e in base.get(k) or [] if isinstance(e, dict)}
    if unknown:
        raise PolicyError(
            f"{_where(over_origins, ('remove',), Path('?'))}: remove: no rule with id "
            f"{sorted(unknown)[0]!r} in the extended policy",
            hint="`fairgate policy show <extended policy>` lists its rule ids",
        )

    def copy(value: object, src: Origins, src_loc: Loc, dst_loc: Loc) -> object:
        n = len(src_loc)
        for loc, origin in src.items():
            if loc[:n] == src_loc:
                out_origins[dst_loc + loc[n:]] = origin
        return value

    def walk(b: object, o: object, b_loc: Loc, o_loc: Loc, dst: Loc) -> object:
        if isinstance(b, dict) and isinstance(o, dict):
            out_origins[dst] = over_origins.get(o_loc) or base_origins.get(b_loc, (Path("?"), 0))
            result: dict[object, object] = {}
            for k, v in b.items():
                if k not in o:
                    result[k] = copy(v, base_origins, (*b_loc, k), (*dst, k))
            for k, v in o.items():
                if k in b and dst == () and k in MERGED_BY_ID and isinstance(v, list) and isinstance(b[k], list):
                    result[k] = by_id(b[k], v, (*b_loc, k), (*o_loc, k), (*dst, k))
                elif k in b:
                    result[k] = walk(b[k], v, (*b_loc, k), (*o_loc, k), (*dst, k))
                else:
                    result[k] = copy(v, over_origins, (*o_loc, k), (*dst, k))
            return result
        return copy(o, over_origins, o_loc, dst)

    def by_id(b: list[object], o: list[object], b_loc: Loc, o_loc: Loc, dst: Loc) -> list[object]:
        out_origins[dst] = over_origins.get(o_loc, (Path("?"), 0))
        items: list[object] = []
        index: dict[object, int] = {}
        for i, entry in enumerate(b):
            if isinstance(entry, dict) and entry.get("id") in removed:
                continue
            if isinstance(entry, dict) and "id" in entry:
                index[entry["id"]] = len(items)
            items.append(copy(entry, base_origins, (*b_loc, i), (*dst, len(items))))
        for j, entry in enumerate(o):
            target = index.get(entry.get("id")) if isinstance(entry, dict) else None
            if target is not None and isinstance(entry, dict):
                src = next(i for i, e in enumerate(b) if isinstance(e, dict) and e.get("id") == entry["id"])
                items[target] = walk(b[src], entry, (*b_loc, src), (*o_loc, j), (*dst, target))
            else:
                items.append(copy(entry, over_origins, (*o_loc, j), (*dst, len(items))))
        return items

    merged = walk(base, over, (), (), ())
    assert isinstance(merged, dict)
    return merged, out_origins


def _inline_references(data: dict[str, Any], path: Path, origins: Origins) -> None:
    """Read every ``csv:`` reference population into shares (relative to the file that names it),
    so the evidence is self-contained and an extending policy in another folder still finds it."""
    for i, check in enumerate(data.get("representativeness") or []):
        ref = check.get("reference") if isinstance(check, dict) else None
        if not isinstance(ref, dict) or ref.get("csv") is None or ref.get("shares") is not None:
            continue
        if not isinstance(ref["csv"], str) or not isinstance(ref.get("dimension"), str):
            continue  # validation reports the type error with its line
        ref["shares"] = _reference_shares(ref["csv"], ref["dimension"], path)
        origins[("representativeness", i, "reference", "shares")] = origins.get(
            ("representativeness", i, "reference", "csv"), (path, 0)
        )


def waiver_line(loaded: LoadedPolicy, index: int) -> str:
    """``file:line`` of waiver ``index``'s ``expires`` (re-read: LoadedPolicy keeps no line table)."""
    raw, text = _read(loaded.path)
    _, origins, _ = _resolve(loaded.path, raw, text, stack=())
    loc = ("waivers", index, "expires")
    return _where(origins, loc if loc in origins else ("waivers", index), loaded.path)


def _check_waivers(policy: Policy, origins: Origins, path: Path) -> None:
    """A waiver must name a rule of the policy: a typo would otherwise silently waive nothing."""
    ids = policy.all_ids()
    for i, waiver in enumerate(policy.waivers):
        if waiver.rule not in ids:
            raise PolicyError(
                f"{_where(origins, ('waivers', i, 'rule'), path)}: waivers.{i}.rule: no rule with id {waiver.rule!r}",
                hint=f"rule ids in this policy: {', '.join(ids)}",
            )


def _reference_shares(ref: str, dimension: str, policy_path: Path) -> dict[str, float]:
    prefix = "fairgate:references/"
    csv_path = (
        (policies_dir() / "references" / ref[len(prefix) :]) if ref.startswith(prefix) else (policy_path.parent / ref)
    )
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("dimension") == dimension]
        counts = {r["group"]: float(r["count"]) for r in rows}
    except FileNotFoundError:
        raise PolicyError(
            f"{policy_path}: reference population file {ref!r} not found",
            hint="a csv: path is relative to the policy file; shipped ones are fairgate:references/<name>.csv",
        ) from None
    except (KeyError, ValueError, OSError, csv.Error) as exc:
        raise PolicyError(
            f"{policy_path}: reference population {ref!r} is not a CSV of dimension, group, count ({exc})",
            hint="the CSV needs a header `dimension,group,count` and numeric counts",
        ) from None
    if not counts:
        raise PolicyError(
            f"{policy_path}: reference population {ref!r} has no rows for dimension {dimension!r}",
            hint="`dimension:` must match a value of the CSV's dimension column",
        )
    total = sum(counts.values())
    return {group: count / total for group, count in counts.items()}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (a policy never needs them, and they enable YAML bombs) and
    nesting deeper than MAX_NESTING (composing is recursive: 20,000 levels would exhaust the stack)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", self._next_mark())
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"mappings and lists nested more than {MAX_NESTING} levels deep", self._next_mark()
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> yaml.error.Mark | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
        # this pure-Python loader makes yaml.error.Mark marks (the stubs also allow libyaml's C marks)
        mark = event.start_mark
        return mark if isinstance(mark, yaml.error.Mark) else None


def _parse(text: str, path: Path) -> tuple[object, dict[Loc, int]]:
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise PolicyError(
                f"{path}: the policy file is empty",
                hint="start from a shipped policy: `fairgate policy show four-fifths > policy.yaml`",
            )
        lines: dict[Loc, int] = {}
        return _build(loader, node, (), lines, path), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{path}{where}: not valid YAML ({problem})", hint=_yaml_hint(problem)) from None
    except RecursionError:  # a safety net: the depth limit above should stop any nesting first
        raise PolicyError(
            f"{path}: not valid YAML (nested too deeply)",
            hint=f"a policy nests mappings and lists at most {MAX_NESTING} levels deep",
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _build(loader: _StrictLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: Path) -> object:
    """Construct plain Python data from ``node``, recording the line of every key."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if node.tag not in _PLAIN_TAGS:
        raise PolicyError(
            f"{path}:{node.start_mark.line + 1}: YAML tag {node.tag!r} is not allowed in a policy",
            hint="write plain values (text, numbers, true/false, lists, mappings) without !tags",
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, loc, {}, path)
            if not isinstance(key, str | int | float | bool):
                raise PolicyError(
                    f"{path}:{key_node.start_mark.line + 1}: keys must be plain text",
                    hint="write each key as a word followed by a colon, e.g. `min_value: 0.8`",
                )
            if key in out:
                first = lines.get((*loc, key))
                raise PolicyError(
                    f"{path}:{key_node.start_mark.line + 1}: key {key!r} appears twice"
                    + (f" (first on line {first})" if first else ""),
                    hint="keep one of them: YAML would silently use only the last",
                )
            lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, (*loc, key), lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*loc, i), lines, path) for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:int":
        digits = sum(c.isdigit() for c in node.value)
        if digits > MAX_INT_DIGITS:
            key = ".".join(str(part) for part in loc) or "(top level)"
            raise PolicyError(
                f"{path}:{node.start_mark.line + 1}: {key}: a number with {digits} digits is too large for a policy",
                hint=f"write a number of at most {MAX_INT_DIGITS} digits (bounds are fractions such "
                "as 0.8; counts are whole numbers such as 30)",
            )
    return loader.construct_object(node, deep=True)


def _yaml_hint(problem: str) -> str:
    """What to do about a YAML syntax error, as far as the problem says."""
    if "\\t" in problem or "\t" in problem:
        return "indent with spaces: YAML does not allow tabs for indentation"
    if "aliases" in problem:
        return "write the repeated value out in full (anchors and aliases, & and *, are not allowed in a policy)"
    if "nested more than" in problem:
        return f"a policy nests mappings and lists at most {MAX_NESTING} levels deep"
    return "check the indentation and quoting at that line (a YAML linter shows the exact spot)"


#: At most this many problems are listed in the one error line (the rest are counted).
_MAX_PROBLEMS = 10
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "none"})


def _as_policy_error(exc: ValidationError, path: Path, origins: Origins) -> PolicyError:
    """Every problem pydantic found, in one line: unknown keys first (a misspelt key also makes the
    intended one "missing", so it is the mistake the others follow from), then the rest by line."""
    from audit.policy.schema import DATA_CHECKS

    problems: dict[Loc, dict[str, Any]] = {}  # key location → {where, line, messages, unknown}
    for order, error in enumerate(exc.errors()):
        raw = error["loc"]
        # a data requirement's location carries its `check` kind after the index, a union its member
        # types ('float', "literal['median']") after the key: neither is a key the user wrote
        loc = tuple(
            p
            for i, p in enumerate(raw)
            if not (p in DATA_CHECKS and i > 0 and isinstance(raw[i - 1], int))
            and not (isinstance(p, str) and i > 0 and (p in _UNION_TAGS or "[" in p))
        )
        where, line = path, None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in origins:
                where, line = origins[loc[:cut]]
                break
        message = _plain_message(error)
        entry = problems.setdefault(
            loc,
            {
                "where": where,
                "line": line,
                "messages": [],
                "order": order,
                "unknown": error["type"] == "extra_forbidden",
                "type": error["type"],
            },
        )
        if message not in entry["messages"]:
            entry["messages"].append(message)
    ranked = sorted(
        problems.items(), key=lambda item: (not item[1]["unknown"], item[1]["line"] or 1 << 30, item[1]["order"])
    )
    every = tuple(
        f"{_at(entry['where'], entry['line'])}: {'.'.join(str(p) for p in loc) or '(top level)'}: "
        + entry["messages"][0]
        + "".join(" or " + m.removeprefix("Input should be ") for m in entry["messages"][1:])
        for loc, entry in ranked
    )
    parts = list(every[:_MAX_PROBLEMS])
    # listed one per line (`policy validate`), each misspelt key says what it was probably meant to be
    listed = tuple(
        line + (f" (did you mean {hint!r}?)" if entry["unknown"] and (hint := _suggest(loc)) else "")
        for line, (loc, entry) in zip(every, ranked, strict=True)
    )
    more = len(ranked) - _MAX_PROBLEMS
    text = "; also ".join(parts) + (f"; and {more} more problem(s)" if more > 0 else "")
    unknown = [loc for loc, entry in ranked if entry["unknown"]]
    if unknown:
        suggestion = _suggest(unknown[0])
        hint = (f"did you mean {suggestion!r}? " if suggestion else "") + (
            "`fairgate policy schema` lists every allowed key"
        )
    elif ranked[0][1]["type"] == "finite_number":
        hint = "write a finite number such as 0.8, or leave the bound out"
    else:
        hint = "see docs/policies.md or `fairgate policy schema`"
    return PolicyError(text, hint=hint, problems=listed)


def _plain_message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required, but missing"
    if error["type"] == "finite_number":
        return "must be a finite number (not .nan or .inf)"
    return str(error["msg"]).removeprefix("Value error, ")


def _suggest(loc: Loc) -> str | None:
    """The allowed key closest to the unknown one at ``loc`` (a typo's likely intent), if any is close."""
    import difflib
    import typing

    from pydantic import BaseModel

    def models_in(annotation: object) -> list[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for arg in typing.get_args(annotation) for m in models_in(arg)]

    models: list[type[BaseModel]] = [Policy]
    for part in loc[:-1]:
        if isinstance(part, str):
            models = [
                m
                for model in models
                if part in model.model_fields
                for m in models_in(model.model_fields[part].annotation)
            ]
    allowed = {name for model in models for name in model.model_fields}
    close = difflib.get_close_matches(str(loc[-1]), sorted(allowed), n=1, cutoff=0.75)
    return close[0] if close else None
