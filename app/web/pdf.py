"""HTML → A4 PDF with WeasyPrint, for reports and documents in Japanese.

WeasyPrint is imported on first use: it takes about two seconds to import and only the PDF
exports need it. Japanese text needs a CJK font on the machine (Debian: ``fonts-noto-cjk``,
see ``infra/scripts/ensure-system-packages.sh``); the page size and margins come from the
document's own ``@page`` rules.
"""

from __future__ import annotations


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    """Render ``html`` (a whole document) to PDF bytes. ``base_url`` resolves relative links
    (images, style sheets) in the document."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, base_url=base_url).write_pdf()
    return pdf
