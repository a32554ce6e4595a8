"""Reading the published-runs tables (``data/validation/serving_throughput.csv`` and
``serving_latency.csv``, ``serving_streams.csv``, ``serving_rates.csv``)."""

from __future__ import annotations

from pathlib import Path

from costmodel import paths
from costmodel.io.files import read_csv_models
from costmodel.model.validation import PublishedLatency, PublishedRate, PublishedRun, PublishedStreams


def published_runs(path: Path | None = None) -> list[PublishedRun]:
    """Every maximum-throughput row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return read_csv_models(path or paths.data_dir() / "validation" / "serving_throughput.csv", PublishedRun)


def published_latencies(path: Path | None = None) -> list[PublishedLatency]:
    """Every latency row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return read_csv_models(path or paths.data_dir() / "validation" / "serving_latency.csv", PublishedLatency)


def published_streams(path: Path | None = None) -> list[PublishedStreams]:
    """Every fixed-concurrency row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return read_csv_models(path or paths.data_dir() / "validation" / "serving_streams.csv", PublishedStreams)


def published_rates(path: Path | None = None) -> list[PublishedRate]:
    """Every fixed-rate row, validated; a bad cell is an :class:`InputError` naming the line and field."""
    return read_csv_models(path or paths.data_dir() / "validation" / "serving_rates.csv", PublishedRate)
