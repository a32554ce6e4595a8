"""Schemas of everything on disk (pydantic v2, ``extra="forbid"``, a description per field):
catalogs, scenarios, uncertainty distributions, endpoint files and the probe-run format."""
