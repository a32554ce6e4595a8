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


def test_pdf_without_a_browser_says_what_it_needs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    done = tco("report", str(FINTECH), "-o", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "printing to PDF needs chromium on PATH" in " ".join(done.stderr.split())
