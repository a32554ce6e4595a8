"""Errors a measuring run raises to its command (which prints them as one line)."""

from __future__ import annotations


class ProbeWriteError(RuntimeError):
    """The run folder could not be written (a full disk, a file size limit)."""
