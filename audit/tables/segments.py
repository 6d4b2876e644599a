"""Split a count table whose last features are segment columns into one table per segment value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audit.tables.groups import GroupTable, level_sort_key


def split_segments(table: GroupTable, segment_by: Sequence[str]) -> list[tuple[dict[str, str], GroupTable]]:
    """``(segment, table of the other features within it)`` per segment present, in level order.

    ``table`` counts the finest groups of the sensitive features *and* ``segment_by``; each segment's table
    is the rows of its level, so the segments' tables sum to ``table.marginal(sensitive)``.
    """
    keep = [i for i, f in enumerate(table.features) if f not in segment_by]
    cut = [table.features.index(f) for f in segment_by]
    parts: dict[tuple[str, ...], list[int]] = {}
    for g, key in enumerate(table.keys):
        parts.setdefault(tuple(key[i] for i in cut), []).append(g)
    out = []
    for segment in sorted(parts, key=level_sort_key):
        rows = parts[segment]
        sub = GroupTable(
            tuple(table.features[i] for i in keep),
            tuple(tuple(table.keys[g][i] for i in keep) for g in rows),
            np.stack([table.counts[g] for g in rows]),
            table.has_label,
        )
        out.append((dict(zip(segment_by, segment, strict=True)), sub.marginal(sub.features)))
    return out
