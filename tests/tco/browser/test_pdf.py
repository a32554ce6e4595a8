"""``tco report --pdf``: the report printed by headless chromium, with a section on what changed
since an earlier version (``--compare-with``)."""

from __future__ import annotations

import pypdf

from costmodel.io.scenario import load
from costmodel.uncertainty import evaluate_with_uncertainty
from tests.conftest import FINTECH, tco


def test_pdf_report_has_its_pages_recommendation_and_changes(chromium, tmp_path):
    newer = tmp_path / "fintech-rag-v2.yaml"
    newer.write_text(
        FINTECH.read_text(encoding="utf-8").replace("monthly_growth: 0.04", "monthly_growth: 0.06"), encoding="utf-8"
    )
    pdf, html = tmp_path / "report.pdf", tmp_path / "report.html"
    done = tco(
        "report",
        str(newer),
        "-o",
        str(html),
        "--pdf",
        str(pdf),
        "--compare-with",
        str(FINTECH),
        "--draws",
        "2000",
        timeout=400,
    )
    assert done.returncode == 0, done.stderr
    reader = pypdf.PdfReader(pdf)
    assert 8 <= len(reader.pages) <= 60, len(reader.pages)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    ev = evaluate_with_uncertainty(*load(newer), draws=0)
    assert f"Recommendation: {ev.option(ev.recommendation.option).label}." in text
    assert "Changes since" in text and "workload.monthly_growth" in text
    assert "output tokens/s per GPU" in text  # a figure drawn before printing (its axis title)
    # A4, a running header (the scenario's title and the date) and page numbers on every page
    sc, _ = load(newer)
    pages = len(reader.pages)
    for n, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842), (n, width, height)  # A4 in points
        words = " ".join(page.extract_text().split())
        assert f"page {n} of {pages}" in words and sc.title[:30] in words, (n, words[:200])
    # every table prints every column: each header of the HTML's tables is in the PDF's text
    printed = _squeezed(" ".join(page.extract_text() for page in reader.pages))
    headers = _table_headers(html.read_text(encoding="utf-8"))
    assert len(headers) > 20
    missing = [h for h in headers if _squeezed(h) not in printed]
    assert not missing, f"table headers cut off in the PDF: {missing}"


def _squeezed(text: str) -> str:
    """Text as compared across HTML and PDF: ligatures undone (NFKC), whitespace and line breaks
    gone (a wrapped header cell, a kerned word)."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", text).split())


def _table_headers(html: str) -> list[str]:
    """The distinct texts of every table header cell (``th``) in an HTML page."""
    from html.parser import HTMLParser

    class Headers(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.text, self.found = False, "", []

        def handle_starttag(self, tag, attrs) -> None:
            if tag == "th":
                self.inside, self.text = True, ""

        def handle_endtag(self, tag) -> None:
            if tag == "th":
                self.inside = False
                if self.text.strip():
                    self.found.append(" ".join(self.text.split()))

        def handle_data(self, data) -> None:
            if self.inside:
                self.text += data

    parser = Headers()
    parser.feed(html)
    return list(dict.fromkeys(parser.found))


def test_pdf_without_a_browser_says_what_it_needs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    done = tco("report", str(FINTECH), "-o", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "printing to PDF needs chromium on PATH" in " ".join(done.stderr.split())
