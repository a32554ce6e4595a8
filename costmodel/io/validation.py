"""Reading the published-runs table (``data/validation/serving_throughput.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from costmodel import paths
from costmodel.io.files import MISSING, InputError, read_text
from costmodel.model.validation import PublishedRun


def published_runs(path: Path | None = None) -> list[PublishedRun]:
    """Every row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    path = path or paths.data_dir() / "validation" / "serving_throughput.csv"
    text = read_text(path, "CSV file")
    rows = []
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(PublishedRun.model_validate({k: (None if v == "" else v) for k, v in row.items()}))
        except ValidationError as e:
            err = e.errors()[0]
            raise InputError(
                str(path), f"line {line}, {'.'.join(map(str, err['loc']))}", err.get("input", MISSING), err["msg"]
            ) from None
    return rows
