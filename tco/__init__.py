"""Faces of the workbench: the ``tco`` CLI, the report (HTML and Excel), the dashboard and its
figures, and the JSON output. They read :mod:`costmodel` and :mod:`probes`; nothing below
imports them."""
