"""Read a policy (a shipped id or a YAML path) into a validated ``Policy``.

YAML is parsed with a loader that refuses aliases (no "billion laughs"), duplicate keys and
non-plain tags, and remembers the line of every key so that each error names file, line and key.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from audit.errors import PolicyError
from audit.policy.schema import Policy
from audit.resources import policies_dir

_MAX_BYTES = 1 << 20
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null")
)


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    source: str  # shipped id or path as given
    path: Path
    sha256: str
    text: str


def shipped_policies() -> dict[str, Path]:
    return {p.stem: p for p in sorted(policies_dir().glob("*.yaml"))}


def resolve_path(ref: str) -> Path:
    path = Path(ref)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise PolicyError(f"{ref}: no such policy file")
        return path
    shipped = shipped_policies()
    if ref in shipped:
        return shipped[ref]
    raise PolicyError(
        f"{ref}: unknown policy id",
        hint=f"shipped policies: {', '.join(shipped)}; or pass a path to a .yaml file",
    )


def load_policy(ref: str) -> LoadedPolicy:
    path = resolve_path(ref)
    raw = path.read_bytes()
    if len(raw) > _MAX_BYTES:
        raise PolicyError(f"{path}: policy file is larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: policy is not UTF-8 text") from exc
    data, lines = _parse(text, path)
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: a policy must be a YAML mapping", hint="start with `fairgate: 1`")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise _as_policy_error(exc, path, lines) from None
    policy = _resolve_references(policy, path)
    return LoadedPolicy(policy, ref, path, hashlib.sha256(raw).hexdigest(), text)


def _resolve_references(policy: Policy, path: Path) -> Policy:
    """Read every ``csv:`` reference population into shares, so the evidence is self-contained."""
    checks = []
    for check in policy.representativeness:
        ref = check.reference
        if ref.csv is not None and ref.shares is None:
            ref = ref.model_copy(update={"shares": _reference_shares(ref.csv, ref.dimension or "", path)})
            check = check.model_copy(update={"reference": ref})
        checks.append(check)
    return policy.model_copy(update={"representativeness": checks})


def _reference_shares(ref: str, dimension: str, policy_path: Path) -> dict[str, float]:
    prefix = "fairgate:references/"
    csv_path = (policies_dir() / "references" / ref[len(prefix):]) if ref.startswith(prefix) else (
        policy_path.parent / ref)
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("dimension") == dimension]
        counts = {r["group"]: float(r["count"]) for r in rows}
    except FileNotFoundError:
        raise PolicyError(f"{policy_path}: reference population file {ref!r} not found") from None
    except (KeyError, ValueError, OSError, csv.Error) as exc:
        raise PolicyError(f"{policy_path}: reference population {ref!r} is not a CSV of dimension, group, count "
                          f"({exc})") from None
    if not counts:
        raise PolicyError(f"{policy_path}: reference population {ref!r} has no rows for dimension {dimension!r}")
    total = sum(counts.values())
    return {group: count / total for group, count in counts.items()}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: a policy never needs them, and they enable YAML bombs."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", mark)
        return super().compose_node(parent, index)


def _parse(text: str, path: Path) -> tuple[object, dict[tuple, int]]:
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise PolicyError(f"{path}: the policy file is empty")
        lines: dict[tuple, int] = {}
        return _build(loader, node, (), lines, path), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{path}{where}: not valid YAML ({problem})") from None
    finally:
        if loader is not None:
            loader.dispose()


def _build(
    loader: _StrictLoader, node: yaml.Node, loc: tuple, lines: dict[tuple, int], path: Path
) -> object:
    """Construct plain Python data from ``node``, recording the line of every key."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if node.tag not in _PLAIN_TAGS:
        raise PolicyError(f"{path}:{node.start_mark.line + 1}: YAML tag {node.tag!r} is not allowed in a policy")
    if isinstance(node, yaml.MappingNode):
        out: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, loc, {}, path)
            if not isinstance(key, str | int | float | bool):
                raise PolicyError(f"{path}:{key_node.start_mark.line + 1}: keys must be plain text")
            if key in out:
                raise PolicyError(f"{path}:{key_node.start_mark.line + 1}: key {key!r} appears twice")
            lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, (*loc, key), lines, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*loc, i), lines, path) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _as_policy_error(exc: ValidationError, path: Path, lines: dict[tuple, int]) -> PolicyError:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    line = None
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    key = ".".join(str(part) for part in loc) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    extra = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    hint = "run `fairgate policy schema` to see every allowed key" if first["type"] == "extra_forbidden" else None
    return PolicyError(f"{path}:{line or '?'}: {key}: {message}{extra}", hint=hint)
