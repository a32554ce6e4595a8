"""The JSON Schemas of every file the workbench reads: committed, current, and documented."""

from __future__ import annotations

import json

import pytest

from tco.export import schemas as json_schemas
from tests.conftest import ROOT


def test_committed_schemas_are_current():
    for name, schema in json_schemas().items():
        committed = json.loads((ROOT / "data" / "schema" / name).read_text())
        assert committed == schema, f"data/schema/{name} is stale: run tco schema"


def _properties(schema: dict, defs: dict, seen: set[str]):
    yield from schema.get("properties", {}).items()
    for key, sub in defs.items():
        if key not in seen:
            seen.add(key)
            yield from _properties(sub, {}, seen)


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_every_schema_field_has_a_description(name):
    schema = json_schemas()[name]
    missing = [
        field for field, prop in _properties(schema, schema.get("$defs", {}), set()) if not prop.get("description")
    ]
    assert not missing, f"{name}: fields without description: {missing}"
