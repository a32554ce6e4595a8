"""Reading files the workbench is given, and explaining what is wrong with them.

Everything read is validated by a pydantic model of :mod:`costmodel.model`; any problem
becomes an :class:`InputError` that names the file, the field (dotted path; list items by
their ``name`` or ``id``) and the offending value, and reads as one line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

MISSING = object()
"""No value to show (a missing field, a whole section)."""


@dataclass
class InputError(Exception):
    """Bad input: which file, which field, which value, and what is wrong."""

    file: str
    field: str
    value: Any
    message: str

    def __str__(self) -> str:
        where = self.file if not self.field else f"{self.file}: {self.field}"
        shown = "" if self.value is MISSING else f" = {self.value!r}"
        return f"{where}{shown}: {self.message}"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping, turning every failure into an :class:`InputError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), "", MISSING, "file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(str(p), "", MISSING, f"cannot read: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(str(p), where, MISSING, f"malformed YAML: {problem}") from None
    if not isinstance(data, dict):
        raise InputError(str(p), "", MISSING, f"expected a mapping at the top level, got {type(data).__name__}")
    return data


def _field_path(loc: Iterable[Any], data: Any) -> str:
    """Dotted path for a pydantic error location; list items named by their ``name``/``id``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            label = (item.get("id") or item.get("name")) if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1]}[{label or key}]"] if parts else [f"[{key}]"]
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(str(key))
            node = node[key]
        elif isinstance(key, str) and key in {"api", "rented", "owned", "hybrid"} and isinstance(node, dict):
            continue  # discriminated-union tag, not a field
        else:
            parts.append(str(key))
            node = None
    return ".".join(parts)


def _lookup(data: Any, loc: Iterable[Any]) -> Any:
    node = data
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return node


def validate(model: type[BaseModel], data: dict[str, Any], file: str) -> Any:
    """Validate ``data`` against ``model``; the first error becomes an :class:`InputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        err = errors[0]
        loc = err["loc"]
        field = _field_path(loc, data)
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input", MISSING)
        if err["type"] == "extra_forbidden":
            parent = _lookup(data, loc[:-1])
            fields = _model_fields_at(model, loc[:-1], data)
            close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
            msg = "unknown field" + (f"; did you mean {close[0]!r}?" if close else "")
            value = parent.get(loc[-1]) if isinstance(parent, dict) else value
        elif err["type"] == "missing":
            value = MISSING
            parent_model = _submodel_at(model, loc[:-1], data)
            info = getattr(parent_model, "model_fields", {}).get(loc[-1])
            if info is not None and info.description:  # say what the field is, not only that it is missing
                msg = f"missing: {info.description}"
        if isinstance(value, dict | list):
            value = MISSING  # a whole section: the message says what is wrong
        more = f" (and {len(errors) - 1} more problem{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
        raise InputError(file, field, value, msg + more) from None


def _submodel_at(model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> type[BaseModel] | None:
    """The (sub)model class at ``loc`` (a union picked by ``kind``)."""
    annotation: Any = model
    node = data
    for key in loc:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
            continue
        fields = getattr(_submodel(annotation, node), "model_fields", {})
        if key in fields:  # else a union tag such as 'owned': stay on the same item
            annotation = fields[key].annotation
            node = node.get(key) if isinstance(node, dict) else None
    return _submodel(annotation, node)


def _model_fields_at(model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names of the (sub)model at ``loc``, for 'did you mean' hints."""
    return list(getattr(_submodel_at(model, loc, data), "model_fields", {}))


def _submodel(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class an annotation resolves to for this data (a union picked by ``kind``)."""
    stack, candidates = [annotation], []
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            candidates.append(a)
        else:
            stack.extend(get_args(a))
    if isinstance(node, dict) and "kind" in node:
        for c in candidates:
            kind = c.model_fields.get("kind")
            if kind is not None and get_args(kind.annotation) == (node["kind"],):
                return c
    return candidates[0] if len(candidates) == 1 else None
