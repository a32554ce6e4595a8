"""JSON of what has no document model yet: ``tco diff --json``. ``tco evaluate --json`` and ``tco capacity
--json`` print the evaluation document (``costmodel.document``)."""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(x: Any) -> Any:
    """JSON has no NaN or infinity: an unknown number is null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def schemas() -> dict[str, dict[str, Any]]:
    """Every JSON Schema ``tco schema`` writes: the workbench's files and outputs, and the claims' text."""
    from claims.base import ClaimsFile
    from costmodel.io.schemas import json_schemas

    return {**json_schemas(), "claims.schema.json": ClaimsFile.model_json_schema()}


def dumps(doc: dict[str, Any]) -> str:
    """Strict JSON text (raises on NaN rather than writing it)."""
    return json.dumps(doc, indent=2, default=str, allow_nan=False) + "\n"


def diff_json(d) -> dict[str, Any]:
    """``tco diff --json``: the changes (each with its effect alone), NPVs and recommendations."""
    return _finite(
        {
            "changes": [
                {
                    "path": c.path,
                    "old": c.old,
                    "new": c.new,
                    "source": c.source,
                    "npv_moves_alone": c.npv_moves,
                    "recommendation_alone": c.recommendation,
                }
                for c in d.changes
            ],
            "npv": [
                {"option": n, "old": a, "new": b, "change": None if a is None or b is None else b - a}
                for n, a, b in d.npv_table()
            ],
            "recommendation": {"old": d.old.recommendation.option, "new": d.new.recommendation.option},
            "moved_most": None if d.moved_most is None else d.moved_most.path,
            "movers": [
                {
                    "path": m.path,
                    "shapley_share": m.share,
                    "recommendation_alone": m.alone,
                    "flips_at": m.flips_at,
                    "flips_with_others": m.flips_with_others,
                }
                for m in d.movers
            ],
            "attribution_note": d.attribution_note,
            "sentences": d.sentences(),
        }
    )
