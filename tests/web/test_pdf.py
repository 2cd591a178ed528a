"""HTML to an A4 PDF in Japanese (WeasyPrint with the system's Noto CJK fonts)."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from app.web.pdf import html_to_pdf

DOCUMENT = """<!doctype html><html lang="ja"><head><style>
@page { size: A4; margin: 20mm; }
html { font-family: "Noto Sans CJK JP", sans-serif; }
</style></head><body><h1>令和4年度 事業報告</h1><p>髙橋 ㈱サンプル ①</p>
<img src="{chart}" alt=""></body></html>"""


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_a4_pdf_with_japanese_text_and_embedded_charts(tmp_path: Path):
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text y="9">図</text></svg>'
    )
    chart = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    pdf = html_to_pdf(DOCUMENT.replace("{chart}", chart))
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    assert "令和4年度 事業報告" in text.stdout and "髙橋" in text.stdout and "図" in text.stdout
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "(A4)" in info.stdout
