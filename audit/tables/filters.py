"""Row filters: ``where:`` in the policy (and ``--where``), stated in the evidence and applied the same way
by every engine.

A filter is a list of clauses, all of which a row must meet (AND). Each clause compares one column
with literals, in a small grammar parsed here — never Python ``eval``, never SQL text from the user:

    days_b_screening_arrest between -30 and 30
    is_recid != -1
    c_charge_degree != 'O'
    score_text not in ('N/A', '')
    "prior count" >= 1          (a column name with spaces, in double quotes)
    decile_score is not null

Operators: ``= == != <> < <= > >=``, ``[not] between A and B``, ``[not] in (A, B, …)``,
``is [not] null``. Literals: numbers, 'text' (a quote doubled inside: 'it''s'), ``true``/``false``.
Missing values follow SQL: a comparison with a missing value is not met (the row is removed), except
``is null``. The clauses are applied to the frame each engine returns (rows, or rows grouped with a
count), so every engine keeps exactly the same rows; the tests check the semantics against DuckDB SQL
and Spark column expressions built from the same parsed clauses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Comparison operators, as written → canonical.
_COMPARE = {"=": "==", "==": "==", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<text>'(?:[^']|'')*')
      | (?P<quoted>"(?:[^"]|"")+")
      | (?P<op><=|>=|<>|!=|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.X,
)
_KEYWORDS = {"between", "and", "not", "in", "is", "null", "true", "false"}


class FilterError(ValueError):
    """A clause that cannot be parsed or applied; the message names the clause."""


@dataclass(frozen=True)
class Clause:
    """One condition: ``column op values`` (``op`` one of ==, !=, <, <=, >, >=, between, not between,
    in, not in, is null, is not null)."""

    text: str
    column: str
    op: str
    values: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"clause": self.text, "column": self.column, "op": self.op, "values": list(self.values)}


def parse_clause(text: str) -> Clause:
    """Parse one clause; a :class:`FilterError` names it and what is wrong."""
    tokens = _tokens(text)
    if not tokens:
        raise FilterError(f"where clause {text!r}: empty")
    kind, column = tokens[0]
    if kind not in ("word", "quoted") or (kind == "word" and column.lower() in _KEYWORDS):
        raise FilterError(f"where clause {text!r}: must start with a column name")
    if kind == "quoted":
        column = column[1:-1].replace('""', '"')
    rest = tokens[1:]
    words = [v.lower() if k == "word" else None for k, v in rest]
    try:
        if rest and rest[0][0] == "op":
            if len(rest) != 2:
                raise FilterError(f"where clause {text!r}: expected one value after {rest[0][1]}")
            return Clause(text, column, _COMPARE[rest[0][1]], (_literal(rest[1], text),))
        negated = bool(words) and words[0] == "not"
        body, bwords = (rest[1:], words[1:]) if negated else (rest, words)
        if bwords[:1] == ["between"]:
            if len(body) != 4 or bwords[2] != "and":
                raise FilterError(f"where clause {text!r}: write 'between A and B'")
            low, high = _literal(body[1], text), _literal(body[3], text)
            return Clause(text, column, "not between" if negated else "between", (low, high))
        if bwords[:1] == ["in"]:
            values = _list(body[1:], text)
            return Clause(text, column, "not in" if negated else "in", values)
        if not negated and words[:1] == ["is"]:
            if words[1:] == ["null"]:
                return Clause(text, column, "is null")
            if words[1:] == ["not", "null"]:
                return Clause(text, column, "is not null")
    except IndexError:
        pass
    raise FilterError(
        f"where clause {text!r}: not understood; write COLUMN OP VALUE (OP one of = != < <= > >=), "
        "COLUMN [not] between A and B, COLUMN [not] in (A, B), or COLUMN is [not] null"
    )


def parse_filter(clauses: Sequence[str]) -> tuple[Clause, ...]:
    return tuple(parse_clause(c) for c in clauses)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, at = [], 0
    stripped = text.rstrip()
    while at < len(stripped):
        match = _TOKEN.match(stripped, at)
        if match is None or match.end() == at:
            raise FilterError(f"where clause {text!r}: unexpected {stripped[at:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        at = match.end()
    return out


def _literal(token: tuple[str, str], text: str) -> Any:
    kind, value = token
    if kind == "number":
        number = float(value)
        if not math.isfinite(number):
            raise FilterError(f"where clause {text!r}: {value} is not a finite number")
        return int(value) if re.fullmatch(r"[-+]?\d+", value) else number
    if kind == "text":
        return value[1:-1].replace("''", "'")
    if kind == "word" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FilterError(f"where clause {text!r}: {value!r} is not a value (quote text: 'like this')")


def _list(tokens: list[tuple[str, str]], text: str) -> tuple[Any, ...]:
    if len(tokens) < 3 or tokens[0] != ("punct", "(") or tokens[-1] != ("punct", ")"):
        raise FilterError(f"where clause {text!r}: write 'in (A, B, …)'")
    inner = tokens[1:-1]
    values = [_literal(t, text) for t in inner[0::2]]
    if any(t != ("punct", ",") for t in inner[1::2]):
        raise FilterError(f"where clause {text!r}: separate the values with commas")
    return tuple(values)


# --- evaluation ------------------------------------------------------------------------------------


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_types(clause: Clause, *, numeric_column: bool, boolean_column: bool = False) -> None:
    """A number compared with a text column (or text with a numeric one) is an error, not a silent
    'no row matches'."""
    for value in clause.values:
        if isinstance(value, bool):
            if not boolean_column:
                raise FilterError(f"where clause {clause.text!r}: column {clause.column!r} is not true/false")
        elif _numeric(value) and not numeric_column:
            raise FilterError(
                f"where clause {clause.text!r}: column {clause.column!r} holds text; quote the value ('{value}')"
            )
        elif isinstance(value, str) and numeric_column:
            raise FilterError(
                f"where clause {clause.text!r}: column {clause.column!r} holds numbers; "
                f"compare it with a number, not {value!r}"
            )


def pandas_mask(clause: Clause, column: Any) -> Any:
    """The rows of a pandas Series that meet ``clause`` (SQL semantics for missing values)."""
    import numpy as np
    import pandas as pd

    series = pd.Series(column)
    present = series.notna().to_numpy()
    if clause.op == "is null":
        return ~present
    if clause.op == "is not null":
        return present
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    check_types(clause, numeric_column=numeric, boolean_column=pd.api.types.is_bool_dtype(series))
    values = series.to_numpy()
    with np.errstate(invalid="ignore"):
        if clause.op in ("between", "not between"):
            low, high = clause.values
            inside = np.zeros(len(series), dtype=bool)
            inside[present] = (values[present] >= low) & (values[present] <= high)
            met = inside if clause.op == "between" else ~inside
        elif clause.op in ("in", "not in"):
            member = series.isin(list(clause.values)).to_numpy()
            met = member if clause.op == "in" else ~member
        else:
            (value,) = clause.values
            met = np.zeros(len(series), dtype=bool)
            compare = {
                "==": np.equal,
                "!=": np.not_equal,
                "<": np.less,
                "<=": np.less_equal,
                ">": np.greater,
                ">=": np.greater_equal,
            }[clause.op]
            met[present] = compare(values[present], value)
    return met & present
