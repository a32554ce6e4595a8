"""Where the project's files live: the one place every command asks.

``TCO_DATA_DIR`` points every command at another data folder (its own ``catalog/``,
``scenarios/``, ``schema/``, ``probes/`` and ``quality/``), for example a private copy with
negotiated prices. It is read when a path is asked for, not at import, so a test or a
notebook can set it late. Notebooks and rendered reports stay with the project.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The project checkout (the folder holding ``pyproject.toml``)."""

NOTEBOOKS = ROOT / "notebooks"
EXPLORE_NOTEBOOK = NOTEBOOKS / "1.01-explore-build-vs-buy.ipynb"
REPORT_NOTEBOOK = NOTEBOOKS / "reports" / "4.01-tco-report.ipynb"
REPORTS = ROOT / "reports"
"""Rendered reports (not committed)."""


def data_dir() -> Path:
    """The data folder: ``$TCO_DATA_DIR`` if set, else ``data/`` in the checkout."""
    configured = os.environ.get("TCO_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else ROOT / "data"


def catalog_dir() -> Path:
    return data_dir() / "catalog"


def scenarios_dir() -> Path:
    return data_dir() / "scenarios"


def schema_dir() -> Path:
    return data_dir() / "schema"


def probes_dir() -> Path:
    return data_dir() / "probes"


def resolve(path: str | Path) -> Path:
    """A path from a file or the command line: absolute as given; relative to the current
    folder if something is there, else to the data folder's parent (so ``data/probes/x``
    in a bundled scenario works from any folder)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return data_dir().parent / p


def classifier_dir() -> Path:
    """Where ``tco classify`` writes its runs by default."""
    return data_dir() / "classifier"


def quality_dir() -> Path:
    return data_dir() / "quality"


def cache_dir() -> Path:
    """Files the workbench keeps for itself outside the checkout (JupyterLab's checkpoints):
    ``$XDG_CACHE_HOME/llm-tco-workbench``, by default ``~/.cache/llm-tco-workbench``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llm-tco-workbench"
