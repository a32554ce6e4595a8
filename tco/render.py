"""Rendering a notebook to one offline HTML file, and HTML to PDF; checking output paths first.

``execute_to_html`` runs a notebook under papermill (a real python3 kernel) and converts it with
nbconvert (no code, no URL to the network); ``print_pdf`` prints it with headless chromium.
``writable`` checks an output path before any work starts, so a long render is never lost to a
path that cannot be written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from costmodel import paths
from costmodel.io.files import InputError
from costmodel.text import MISSING


def writable(path: Path, option: str) -> Path:
    """``path`` resolved against the caller's directory, checked to be a file this process can
    write (its folder is created); an :class:`InputError` naming the option otherwise."""
    target = Path(path).expanduser().resolve()
    if target.is_dir():
        raise InputError(option, "", str(path), "is a directory; give a file name")
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(option, "", str(path), f"cannot create its folder: {e.strerror}") from None
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InputError(option, "", str(path), "is not writable")
    return target


def ipc_kernel_manager(folder: Path):
    """A kernel manager on local IPC sockets in ``folder``, a folder of this render's own.

    IPC: the kernel is only ever reached from this machine, and ipykernel then has no reason to
    warn that TCP traffic is unencrypted. Its own folder: jupyter_client otherwise names the
    sockets ``kernel-ipc-1`` to ``-5`` in the working directory, so two renders started at once
    (two reports, or tests on two workers) bind the same sockets and one reads the other's
    messages ("Invalid Signature")."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IpcKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:  # for IPC the "ip" is the sockets' path prefix
            return str(folder / "kernel")

    return IpcKernelManager


_EXTERNAL = re.compile(
    r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>|<link[^>]*\bhref=[\"']https?://[^>]*>", re.I
)


def offline_html(html: str) -> str:
    """Drop script and stylesheet tags that point at the network (require.js, MathJax CDN)."""
    return _EXTERNAL.sub("", html)


PRINT_WIDTH_PX = 700  # A4's printable width (210 mm less 2 x 12 mm margins) at 96 px per inch


def print_stylesheet(title: str, day: str) -> str:
    """How the report prints (a browser's Print, or ``--pdf``): A4 with page numbers and a running
    header of the title and date; every table printed whole (cells wrap instead of scrolling);
    figures within the page and without their toolbar; no heading left alone at a page's foot."""

    def quoted(text: str) -> str:  # a CSS string: quotes, backslashes and "<" (no </style>) escaped
        one_line = " ".join(text.split())[:150]
        return '"' + one_line.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ") + '"'

    small = "font: 8pt sans-serif; color: #555"
    return f"""<style media="print">
@page {{
  size: A4;
  margin: 16mm 12mm 14mm 12mm;
  @top-left {{ content: {quoted(title)}; {small}; }}
  @top-right {{ content: {quoted(day)}; {small}; }}
  @bottom-right {{ content: "page " counter(page) " of " counter(pages); {small}; }}
}}
body, .jp-Notebook, .jp-Cell, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output,
.jp-RenderedHTMLCommon, .jp-RenderedHTML {{ overflow: visible !important; max-width: 100% !important; }}
.jp-Notebook {{ padding: 0 !important; }}
table {{ width: 100% !important; table-layout: auto !important; font-size: 7pt !important; }}
th, td {{ white-space: normal !important; overflow-wrap: anywhere; padding: 2px 3px !important; }}
thead {{ display: table-header-group; }}
tr, .js-plotly-plot, .plotly-graph-div {{ break-inside: avoid; }}
.modebar, .modebar-container {{ display: none !important; }}
.js-plotly-plot, .plotly-graph-div {{ max-width: {PRINT_WIDTH_PX}px !important; }}
h1, h2, h3, h4 {{ break-after: avoid; }}
</style>"""


def execute_to_html(notebook: Path, parameters: dict[str, Any], title: str, out_html: Path, progress=print) -> float:
    """Run ``notebook`` with papermill (a real python3 kernel, ``parameters`` injected) and write it
    with nbconvert as one offline HTML file without code cells (with :func:`print_stylesheet`);
    returns the execution seconds."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    t0 = time.perf_counter()
    progress(f"executing {notebook.name} (papermill, kernel python3) ...")
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / "executed.ipynb"
        try:
            _execute(papermill, notebook, executed, parameters, sockets=Path(tmp))
        except papermill.PapermillExecutionError as e:
            raise RenderError(f"{notebook.name} failed in cell {e.exec_count}: {e.ename}: {e.evalue}") from None
        seconds = time.perf_counter() - t0
        progress("rendering self-contained HTML (nbconvert, no code cells) ...")
        nb = nbformat.read(executed, as_version=4)
        exporter = HTMLExporter(
            template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
        )
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    out_html.parent.mkdir(parents=True, exist_ok=True)
    printed = print_stylesheet(title, date.today().isoformat())
    out_html.write_text(offline_html(body).replace("</head>", printed + "\n</head>", 1), encoding="utf-8")
    return seconds


class RenderError(RuntimeError):
    """A notebook that failed while rendering: one line naming the cell and the error."""


def _execute(papermill, notebook: Path, executed: Path, parameters: dict[str, Any], sockets: Path) -> None:
    papermill.execute_notebook(
        str(notebook),
        str(executed),
        kernel_name="python3",
        cwd=str(paths.ROOT),
        progress_bar=False,
        log_output=False,
        kernel_manager_class=ipc_kernel_manager(sockets),
        parameters=parameters,
    )


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str:
    """The chromium that prints the PDF; an :class:`InputError` saying how to get one if none is on PATH."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise InputError(
        "--pdf",
        "",
        MISSING,
        "printing to PDF needs chromium on PATH (Debian: sudo apt-get install chromium); the HTML report needs nothing",
    )


def print_pdf(browser: str, html: Path, pdf: Path, timeout: float = 180) -> None:
    """Print the offline HTML report to PDF with headless chromium (A4 by its print stylesheet,
    figures drawn first at the page's width)."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",  # the report's own running header and page numbers (print_stylesheet)
            f"--window-size={PRINT_WIDTH_PX},1000",  # figures drawn at the page's width, not the window's
            "--virtual-time-budget=20000",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise RuntimeError(f"chromium could not print {html} to PDF (exit {done.returncode}): {done.stderr[-500:]}")
