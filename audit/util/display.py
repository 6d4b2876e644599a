"""One display form for text that comes from data (group values, column names, file names).

A group value can hold anything a CSV cell can: ESC and BEL (a terminal would act on them — an
OSC 52 sequence writes the user's clipboard), U+FFFE (not allowed in XML, so an SVG chart or a
JUnit file breaks), a right-to-left override or zero-width characters (a name displayed spoofed in a
signed report: "Whi\u202eetihw" reads as something else). Every printer — terminal, Markdown,
JUnit, HTML/PDF and its SVG charts, the notebook view, error messages — shows such characters
as visible escapes: ``\\x1b`` for C0/C1 control characters, ``<U+202E>`` for format, separator,
private-use, surrogate and unassigned code points. ``results.json`` keeps the exact value.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters shown as themselves although str.isprintable() says no.
_KEPT = {" "}
_MULTILINE_KEPT = {" ", "\n", "\t"}
_SUSPECT = re.compile(r"[^\x20-\x7e]")  # fast path: plain printable ASCII needs no work


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every character a reader could not see (or that a terminal, an XML parser or
    a bidi algorithm would act on) replaced by a visible escape. Idempotent. ``multiline`` keeps
    newlines and tabs (for a block such as the policy's YAML)."""
    if not _SUSPECT.search(text):
        return text
    kept = _MULTILINE_KEPT if multiline else _KEPT
    return "".join(ch if ch in kept or (ch.isprintable() and not _invisible(ch)) else _escape(ch) for ch in text)


def _invisible(ch: str) -> bool:
    """Printable by Python's rules but shown as nothing or as a plain space: spoofing material."""
    category = unicodedata.category(ch)
    return category in ("Cf", "Zs", "Zl", "Zp", "Co", "Cn", "Cs") or ch in "\u115f\u1160\u3164\uffa0"
