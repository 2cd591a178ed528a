"""HTML to PDF with WeasyPrint, for printable pages in Japanese (A4 by the page's own CSS).

WeasyPrint is imported on first use (it takes about two seconds), so the app starts without
paying for it. Text is set in Noto Sans CJK JP (Debian's fonts-noto-cjk, which
``infra/scripts/ensure-system-packages.sh`` installs), found through fontconfig.

Nothing is fetched from the network: the document may use ``data:`` URIs and files under
``base_url`` if one is given (a ``file://`` folder), and any other URL fails the resource
(WeasyPrint then leaves it out) — user-written text can never make the server fetch a URL.
"""

from __future__ import annotations

from typing import Any

# A base stylesheet every PDF starts from: A4, Japanese font, page numbers in the footer.
BASE_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-right { content: counter(page) " / " counter(pages);
                        font-size: 8pt; color: #555; } }
html { font-family: "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 9.5pt;
       line-height: 1.5; color: #111; }
"""


class PdfResourceRefused(ValueError):
    """A resource the PDF renderer may not fetch."""


def _fetcher_for(base_url: str | None) -> Any:
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            local = bool(base_url and base_url.startswith("file://") and url.startswith(base_url))
            if not (url.startswith("data:") or local):
                raise PdfResourceRefused(f"not fetched for a PDF: {url[:80]}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols={"data", "file"}, allow_redirects=False)


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    """Render ``html`` to PDF bytes (A4 unless the HTML's own ``@page`` says otherwise)."""
    import logging

    from weasyprint import CSS, HTML

    # A refused resource is logged by WeasyPrint as an error; it is expected here.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    document = HTML(string=html, base_url=base_url, url_fetcher=_fetcher_for(base_url))
    pdf: bytes = document.write_pdf(stylesheets=[CSS(string=BASE_CSS)])
    return pdf
