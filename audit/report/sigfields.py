"""Empty, visible signature fields at the report's countersignature lines (reviewer, approver).

WeasyPrint cannot make signature fields, so the sign-off template marks each reserved line with a
box whose id is ``fairgate-signature-<role>`` and this module, run as WeasyPrint's ``finisher``
(after layout, before the file is written), adds an unsigned signature field ``Fairgate-<role>-1``
exactly over that box: the box's rectangle comes from WeasyPrint's layout (``Page.anchors``).

Why here, in the first and only revision of the file, and not as an update before the author
signs: the author's signature then covers the fields, so filling one later is pyHanko's
``FORM_FILLING`` — the one kind of change ``fairgate verify`` accepts after a signature — whoever
fills it (``fairgate sign``, Acrobat, pyHanko's CLI); and an unsigned report keeps one revision (an
update in a draft reads as "a signature was removed"). Drafts get no fields (the template marks
the lines only in a report being signed).

PDF/A-3b asks every widget annotation to be printable and to have a normal appearance: each field
has ``/F 4`` and an empty appearance stream. The names follow ``audit.signing.sign``'s
``Fairgate-<role>-<n>`` convention, from which ``verify`` reads a signature's role.
"""

from __future__ import annotations

from typing import Any

from audit.report.html.view import SIGNATURE_ANCHOR_PREFIX

#: CSS pixels (what WeasyPrint lays out in) to PDF points.
_PX_TO_PT = 0.75
#: Widget annotation flags: Print (PDF/A requires it on every annotation that is shown).
_PRINT = 4


def reserved_field_name(role: str) -> str:
    """The signature field a role's sign-off line holds."""
    return f"Fairgate-{role}-1"


def reserve_signature_fields(document: Any, pdf: Any) -> None:
    """WeasyPrint ``finisher``: an empty signature field over every ``fairgate-signature-*`` box."""
    import pydyf

    fields = []
    kids = pdf.pages["Kids"]
    page_numbers = [kids[i] for i in range(0, len(kids), 3)]  # Kids is written as "n 0 R" triples
    for index, page in enumerate(document.pages):
        for anchor, (x1, y1, x2, y2) in sorted(page.anchors.items()):
            if not anchor.startswith(SIGNATURE_ANCHOR_PREFIX):
                continue
            pdf_page = pdf.objects[page_numbers[index]]
            height = page.height * _PX_TO_PT  # PDF y grows upwards from the page's bottom edge
            rect = [x1 * _PX_TO_PT, height - y2 * _PX_TO_PT, x2 * _PX_TO_PT, height - y1 * _PX_TO_PT]
            width, tall = rect[2] - rect[0], rect[3] - rect[1]
            appearance = pydyf.Stream(
                extra={"Type": "/XObject", "Subtype": "/Form", "BBox": pydyf.Array([0, 0, width, tall])}
            )
            pdf.add_object(appearance)
            field = pydyf.Dictionary(
                {
                    "Type": "/Annot",
                    "Subtype": "/Widget",
                    "FT": "/Sig",
                    "T": pydyf.String(reserved_field_name(anchor[len(SIGNATURE_ANCHOR_PREFIX) :])),
                    "Rect": pydyf.Array(rect),
                    "F": _PRINT,
                    "P": pdf_page.reference,
                    "AP": pydyf.Dictionary({"N": appearance.reference}),
                }
            )
            pdf.add_object(field)
            pdf_page.setdefault("Annots", pydyf.Array()).append(field.reference)
            fields.append(field.reference)
    if fields:
        form = pdf.catalog.setdefault("AcroForm", pydyf.Dictionary({"Fields": pydyf.Array()}))
        form.setdefault("Fields", pydyf.Array()).extend(fields)
