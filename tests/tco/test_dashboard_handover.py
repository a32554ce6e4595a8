"""The explorer's hand-over buttons in-process: the report of the state on screen (as ``tco report``
renders a file, offered as download links), and comparing the state with the scenario file."""

from __future__ import annotations

import base64
import re

import pytest

pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def ex():
    from tco.dashboard import explorer

    e = explorer("fintech-rag").explorer
    e.widgets["volume"].value = 5e6
    return e


def test_the_report_of_the_state_on_screen(ex):
    ex.report()
    html = ex.widgets["report"].value
    link = re.search(r"class='tco-report-html' download='([^']+)' href='data:text/html;base64,([^']+)'", html)
    assert link, html[:300]
    assert link.group(1) == "fintech-rag-what-if.html"
    page = base64.b64decode(link.group(2)).decode()
    assert "5,000,000" in page and "2,000,000" not in page  # the report is of this state, not of the file
    assert ("tco-report-pdf" in html) or ("no PDF: chromium is not installed here" in html)


def test_compare_with_the_file(ex):
    ex.pin_file()
    compared = ex.widgets["compare"].value
    assert "1 input changed" in compared and "workload.requests_per_month" in compared
    ex.unpin()
    assert ex.widgets["compare"].value == ""
