"""Reading files the workbench is given, and explaining what is wrong with them.

Everything read is validated by a pydantic model of :mod:`costmodel.model`; any problem
becomes an :class:`InputError` that names the file, the field (dotted path; list items by
their ``name`` or ``id``) and the offending value, and reads as one line.
"""

from __future__ import annotations

import difflib
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

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


MAX_FILE_BYTES = 4 * 1024 * 1024  # scenarios and catalogs are kilobytes; a bigger file is not one of them
MAX_DEPTH = 50  # no file the workbench reads nests deeper
MAX_NODES = 200_000  # the bundled catalogs expand to a few thousand values; aliases may not multiply them


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of a regular file of at most :data:`MAX_FILE_BYTES`; every failure an :class:`InputError`
    (missing, a directory or device, a symlink loop, a name too long, unreadable, not UTF-8)."""
    p = Path(path)
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            raise InputError(str(p), "", MISSING, f"is a directory, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(str(p), "", MISSING, f"is not a regular file (a device or pipe?), not a {what}")
        if st.st_size > MAX_FILE_BYTES:
            raise InputError(str(p), "", MISSING, f"is {st.st_size:,} bytes; a {what} is at most {MAX_FILE_BYTES:,}")
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise InputError(str(p), "", MISSING, f"a {what} is at most {MAX_FILE_BYTES:,} bytes")
        return raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(str(p), "", MISSING, "file not found") from None
    except UnicodeDecodeError as e:
        raise InputError(str(p), "", MISSING, f"not UTF-8 text (byte {e.start})") from None
    except OSError as e:  # permission, symlink loop, name too long, I/O error
        raise InputError(str(p)[:200], "", MISSING, f"cannot read: {e.strerror or e}") from None


def _shape(node: Any) -> tuple[int, int]:
    """(nodes, depth) of parsed YAML *as expanded*: an alias repeats what it names, so a few lines
    can expand to billions of nodes ("billion laughs"). Each distinct node is visited once (aliases
    share their Python object), so this takes time in the file's size, not the expansion's."""
    memo: dict[int, tuple[int, int]] = {}
    open_: set[int] = set()  # being expanded: meeting one again is a cycle (an alias inside itself)
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        item, ready = stack.pop()
        if id(item) in memo:
            continue
        children = list(item.values()) if isinstance(item, dict) else item if isinstance(item, list) else []
        if not ready and children:
            if id(item) in open_:
                raise RecursionError("an alias that contains itself")
            open_.add(id(item))
            stack.append((item, True))
            for c in children:
                if id(c) in open_:
                    raise RecursionError("an alias that contains itself")
                if id(c) not in memo:
                    stack.append((c, False))
            continue
        open_.discard(id(item))
        sizes = [memo[id(c)] for c in children]
        memo[id(item)] = (1 + sum(s for s, _ in sizes), 1 + max((d for _, d in sizes), default=0))
    return memo[id(node)]


def check_shape(data: Any, file: str, field: str = "") -> None:
    """An :class:`InputError` for data nested too deep, expanding to too many values, or holding
    itself (YAML aliases), before anything walks it."""
    try:
        nodes, depth = _shape(data)
    except RecursionError as e:
        raise InputError(file, field, MISSING, f"cannot be read: {e} (YAML)") from None
    if depth > MAX_DEPTH:
        raise InputError(file, field, MISSING, f"nested more than {MAX_DEPTH} levels deep")
    if nodes > MAX_NODES:
        raise InputError(
            file, field, MISSING, f"expands to {nodes:,} values (YAML aliases); a file here holds at most {MAX_NODES:,}"
        )


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping, turning every failure into an :class:`InputError`."""
    p = Path(path)
    text = read_text(p, "YAML file")
    try:
        # libyaml's parser where built in: the same safe constructor, the catalog read in 10 ms
        # instead of 64, and deep nesting a YAMLError rather than a RecursionError
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(str(p), where, MISSING, f"malformed YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError) as e:  # a date such as 2026-13-45, a huge timestamp
        raise InputError(str(p), "", MISSING, f"malformed YAML value: {e}") from None
    except RecursionError:
        raise InputError(str(p), "", MISSING, f"nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise InputError(str(p), "", MISSING, f"expected a mapping at the top level, got {type(data).__name__}")
    check_shape(data, str(p))
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


def read_csv_models(path: Path, model: type[M]) -> list[M]:
    """Every row of the CSV file at ``path``, validated as ``model`` (empty cells are absent); a bad
    cell is an :class:`InputError` naming the line and field."""
    import csv

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
