"""Helpers for the countersignature tests: external tools, and where a signature field sits on its page."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from tests.conftest import unavailable


def require_tool(name: str) -> str:
    """The path of a command-line tool: next to this Python first (a venv's scripts), then on PATH.

    Skips when it is missing; fails instead under FAIRGATE_REQUIRE_SHARED_DATA=1 (CI), where every
    tool the tests name must be installed (pdftoppm: Debian's poppler-utils; pyhanko: pyhanko-cli).
    """
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        where = "pdftoppm: apt-get install poppler-utils; pyhanko: pip install pyhanko-cli"
        reason = f"needs the {name!r} command ({where})"
        unavailable(reason)
    return found


def field_box(pdf: Path, name: str) -> tuple[int, tuple[float, float, float, float]]:
    """(1-based page number, /Rect in points) of the widget of signature field ``name``."""
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        for annot in page.get("/Annots") or ():
            widget = annot.get_object()
            if widget.get("/T") == name:
                x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
                return number, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    raise AssertionError(f"no signature field {name!r} in {pdf}")


def ink_in_field(pdf: Path, name: str, out_dir: Path, *, dpi: int = 80) -> int:
    """How many non-white pixels pdftoppm draws inside the field's box (its page rendered at ``dpi``)."""
    from PIL import Image

    pdftoppm = require_tool("pdftoppm")
    number, (x1, y1, x2, y2) = field_box(pdf, name)
    page_height = float(PdfReader(pdf).pages[number - 1].mediabox.height)
    scale = dpi / 72
    # a pixel inside the box on every side, so the table rule under the line is not counted
    x, y = round(x1 * scale) + 1, round((page_height - y2) * scale) + 1
    width, height = round((x2 - x1) * scale) - 2, round((y2 - y1) * scale) - 2
    stem = out_dir / f"{pdf.stem}-{name}"
    subprocess.run(
        [pdftoppm, "-r", str(dpi), "-gray", "-png", "-f", str(number), "-l", str(number), "-singlefile"]
        + ["-x", str(x), "-y", str(y), "-W", str(width), "-H", str(height), str(pdf), str(stem)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with Image.open(stem.with_suffix(".png")) as image:
        return sum(image.histogram()[:200])  # grey levels 0-199: ink, not paper or a pale watermark
