"""The dashboard's state as something to hand over: a share link (the controls in the URL's query
string), a scenario YAML that loads back to the same numbers, the ``tco evaluate --set`` line that
gives the same change, the workbook for the state, and the comparison of two states.

Pure functions over :class:`tco.dashboard.Controls` and :class:`tco.dashboard.WhatIf`; the widgets
in :mod:`tco.dashboard` only wire them to buttons and links.
"""

from __future__ import annotations

import base64
import dataclasses
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import yaml

from costmodel.diff import ScenarioDiff, changed_inputs, diff, value_text
from costmodel.io.files import InputError
from costmodel.model.scenario import Scenario
from costmodel.text import usd
from tco.markup import text

if TYPE_CHECKING:
    from tco.state import Controls, WhatIf

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def query(scenario: str, controls: Controls) -> str:
    """The share link's query string: the scenario and every control that differs from "as in the
    scenario" (``None``, multipliers of 1)."""
    default = type(controls)()
    pairs = [("scenario", scenario)]
    for f in dataclasses.fields(controls):
        v = getattr(controls, f.name)
        if v != getattr(default, f.name):
            pairs.append((f.name, repr(v) if isinstance(v, float) else str(v)))  # repr: the exact float
    return urlencode(pairs)


def from_query(qs: str, controls_type: type[Controls]) -> tuple[str | None, Controls]:
    """The scenario and controls (of ``controls_type``) a share link carries; a field that is not a control, or a value
    that is not a number where one is needed, is an InputError naming it."""
    kinds = {f.name: f.type for f in dataclasses.fields(controls_type)}
    scenario: str | None = None
    values: dict[str, Any] = {}
    for key, raw in parse_qsl(qs, keep_blank_values=True):
        if key == "scenario":
            scenario = raw
            continue
        if key not in kinds:
            raise InputError("share link", key, raw, f"not a control; known: scenario, {', '.join(kinds)}")
        kind = str(kinds[key])
        try:
            values[key] = (
                int(raw) if kind.startswith("int") else float(raw) if kind.startswith("float") else raw or None
            )
        except ValueError:
            raise InputError("share link", key, raw, f"not a number ({kind})") from None
    return scenario, controls_type(**values)


def scenario_yaml(w: WhatIf) -> str:
    """The what-if scenario as YAML: the controls and price multipliers written into its fields, so
    ``tco evaluate`` on it gives the dashboard's numbers."""
    data = w.scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    head = f"# {w.scenario.title or w.scenario.name}: saved from the dashboard\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def set_line(file: Path, original: Scenario, w: WhatIf) -> str:
    """``tco evaluate FILE --set ...``: the what-if state as overrides of the scenario file."""
    sets = [
        f"--set {shlex.quote(f'{p}={_yaml_value(new)}')}"
        for p, (_, new) in changed_inputs(original, w.scenario).items()
    ]
    return " ".join(["tco evaluate", shlex.quote(str(file)), *sets])


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.17g}"
    if isinstance(value, str | int):
        return str(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()


def data_link(label: str, payload: bytes, filename: str, mime: str, css: str) -> str:
    """A download link that works offline: the file in a data: URL."""
    b64 = base64.b64encode(payload).decode("ascii")
    return f"<a class='{css}' download='{text(filename)}' href='data:{mime};base64,{b64}'>{text(label)}</a>"


def workbook_bytes(w: WhatIf) -> bytes:
    """The audit workbook of the what-if state."""
    from tco.workbook import write_workbook

    with tempfile.TemporaryDirectory() as d:
        path = write_workbook(w.evaluation, w.catalog, Path(d) / "tco.xlsx", w.doc)
        return path.read_bytes()


def comparison(pinned: WhatIf, now: WhatIf) -> ScenarioDiff:
    """Two states compared as ``tco diff`` compares two files: NPVs, recommendations, the inputs that
    differ and which of them moved the decision."""
    return diff(pinned.scenario, now.scenario, pinned.catalog, now.catalog)


def comparison_html(d: ScenarioDiff) -> str:
    """The comparison side by side: NPV of cost pinned and now, and the diff in words."""
    rows = "".join(
        f"<tr><td>{text(name)}</td><td class='num'>{usd(None if old is None else -old)}</td>"
        f"<td class='num'>{usd(None if new is None else -new)}</td></tr>"
        for name, old, new in d.npv_table()
    )
    changes = "".join(
        f"<li>{text(c.path)}: {text(value_text(c.old))} → {text(value_text(c.new))}</li>" for c in d.changes
    )
    said = " ".join(text(s) for s in d.sentences())
    return (
        "<div class='tco-compare'><table class='tco-compare-table'><tr><th>option</th><th>NPV of cost, pinned</th>"
        f"<th>NPV of cost, now</th></tr>{rows}</table>"
        f"<p class='tco-compare-said'>{said}</p><ul>{changes}</ul></div>"
    )
