"""The I/O edge: reading catalogs, scenarios and probe runs through :mod:`costmodel.model`,
with one-line errors naming file, field and value."""
