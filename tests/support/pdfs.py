"""Small real PDFs for upload tests, made with pypdf."""

from __future__ import annotations

import io

from pypdf import PdfWriter


def pdf_with_pages(pages: int = 1, *, title: str = "Countersigned insertion order") -> bytes:
    """A PDF that opens, with `pages` blank A4 pages (none when 0)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
