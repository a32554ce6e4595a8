"""Reading the published-runs tables (``data/validation/serving_throughput.csv`` and
``serving_latency.csv``, ``serving_streams.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from costmodel import paths
from costmodel.io.files import MISSING, InputError, read_text
from costmodel.model.validation import PublishedLatency, PublishedRun, PublishedStreams


def published_runs(path: Path | None = None) -> list[PublishedRun]:
    """Every maximum-throughput row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return _rows(path or paths.data_dir() / "validation" / "serving_throughput.csv", PublishedRun)


def published_latencies(path: Path | None = None) -> list[PublishedLatency]:
    """Every latency row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return _rows(path or paths.data_dir() / "validation" / "serving_latency.csv", PublishedLatency)


def published_streams(path: Path | None = None) -> list[PublishedStreams]:
    """Every fixed-concurrency row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return _rows(path or paths.data_dir() / "validation" / "serving_streams.csv", PublishedStreams)


def _rows(path: Path, model):
    text = read_text(path, "CSV file")
    rows = []
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(model.model_validate({k: (None if v == "" else v) for k, v in row.items()}))
        except ValidationError as e:
            err = e.errors()[0]
            raise InputError(
                str(path), f"line {line}, {'.'.join(map(str, err['loc']))}", err.get("input", MISSING), err["msg"]
            ) from None
    return rows
