"""'Did you mean …?': the valid names closest to a mistyped one (stdlib ``difflib``).

Matching ignores case and the difference between ``_``, ``-``, ``.`` and spaces, so ``Race-Ethnicity``
finds ``race_ethnicity``; a name that differs only in case is always offered.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[\s_\-.]+")


def _key(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().casefold())


def closest(word: str, candidates: Iterable[object], *, limit: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``limit`` candidates closest to ``word``, best first (none when nothing is close)."""
    names = [str(c) for c in candidates]
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(_key(name), name)
    exact = by_key.get(_key(word))
    if exact is not None and exact != word:
        return [exact]
    target = _key(word)
    keys = difflib.get_close_matches(target, list(by_key), n=limit, cutoff=cutoff)
    if keys:  # only those about as close as the best: one clear typo gets one suggestion
        best = difflib.SequenceMatcher(None, target, keys[0]).ratio()
        keys = [k for k in keys if difflib.SequenceMatcher(None, target, k).ratio() >= best - 0.05]
    return [by_key[k] for k in keys if by_key[k] != word]


def did_you_mean(word: str, candidates: Iterable[object]) -> str:
    """``"did you mean 'race_ethnicity'? "`` (or ``"… 'a' or 'b'? "``), or ``""`` when nothing is close."""
    found = closest(word, candidates)
    if not found:
        return ""
    return "did you mean " + " or ".join(repr(f) for f in found) + "? "


def columns_hint(
    missing: Iterable[str], header: Iterable[object], *, lead: str = "the data has", shown: int = 20
) -> str:
    """The hint for missing columns: the closest existing names first, then the first ``shown`` columns."""
    names = [str(h) for h in header]
    first = next(iter(missing), "")
    listed = ", ".join(names[:shown]) + (" …" if len(names) > shown else "")
    return f"{did_you_mean(first, names)}{lead}: {listed}"
