"""Reading labelled sets and classifier runs (``data/classifier/<run-id>/``) through the one format of
:mod:`costmodel.model.classifier_run`; ``tco classify`` writes with these functions and the cost
model reads a run's confusion matrix with :func:`measured_confusion`.

A classifier's answer is read as the request class it names first (whole words, any case); an
answer naming none (an error, an empty or off-topic reply) counts as the run's fallback class,
the route a router takes when its classifier says nothing useful.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from costmodel.io.probe_run import validated, write_atomic
from costmodel.io.quality import ITEMS, QualityRunError, read_items
from costmodel.model.classifier_run import FORMAT, INFO, ClassifierRunInfo, LabelledItem
from costmodel.model.quality import ItemRecord, wilson_interval
from costmodel.model.scenario import MeasuredConfusion


def read_labelled_set(path: Path) -> tuple[list[LabelledItem], str, list[str]]:
    """Every item of a JSONL labelled set (``{"id", "prompt", "class"}`` a line), its sha256, and
    its classes in order of first appearance (at least two)."""
    from costmodel.io.files import MISSING, InputError

    items, digest = read_items(path, LabelledItem, "labelled set (JSONL)")
    classes = list(dict.fromkeys(it.item_class for it in items))
    if len(classes) < 2:
        raise InputError(str(path), "class", classes[0], "a labelled set needs at least two classes")
    if not all(re.search(r"\w", c) for c in classes):
        raise InputError(str(path), "class", MISSING, "a class name needs a letter or digit")
    return items, digest, classes


def predicted_class(reply: str | None, classes: list[str], fallback: str) -> str:
    """The class a reply names first (whole words, any case; at one position the longest name
    wins), else ``fallback``.

    >>> predicted_class("Answer: Complex.", ["routine", "complex"], "routine")
    'complex'
    >>> predicted_class("I cannot tell", ["routine", "complex"], "complex")
    'complex'
    """
    if not reply:
        return fallback
    best: tuple[int, int, str] | None = None
    for c in classes:
        m = re.search(rf"(?<!\w){re.escape(c)}(?!\w)", reply, re.IGNORECASE)
        if m and (best is None or (m.start(), -len(c)) < (best[0], best[1])):
            best = (m.start(), -len(c), c)
    return fallback if best is None else best[2]


def write_info(run_dir: Path, info: ClassifierRunInfo) -> None:
    write_atomic(run_dir / INFO, info.model_dump_json(indent=2) + "\n")


def read_info(run_dir: Path) -> ClassifierRunInfo:
    path = run_dir / INFO
    if not path.is_file():
        raise QualityRunError(f"{path}: no such file (is {run_dir} a tco classify run?)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QualityRunError(f"{path}: cannot read it: {e}") from None
    if isinstance(data, dict) and data.get("format") != FORMAT:
        raise QualityRunError(f"{path}: format {data.get('format')!r} is not {FORMAT!r}")
    return validated(path, data, ClassifierRunInfo, QualityRunError)


def read_records(run_dir: Path) -> list[ItemRecord]:
    """The items a run finished (a torn last line, from a kill, is left out)."""
    path = run_dir / ITEMS
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(ItemRecord.model_validate_json(line))
        except ValueError as e:
            if number == len(lines):
                break  # the line being written when the process died
            raise QualityRunError(f"{path}: line {number}: {e}") from None
    return out


def confusion_counts(info: ClassifierRunInfo, records: list[ItemRecord]) -> dict[str, dict[str, int]]:
    """True class -> predicted class -> items (interrupted items left out: they were never answered)."""
    counts = {t: dict.fromkeys(info.classes, 0) for t in info.classes}
    for r in records:
        if r.error_kind == "interrupted" or r.item_class not in counts:
            continue
        counts[r.item_class][predicted_class(r.answer, info.classes, info.fallback)] += 1
    return counts


def measured_confusion(run_dir: Path) -> MeasuredConfusion:
    """A run's confusion matrix (shares per true class), its accuracy with the 95 % Wilson interval,
    and its source; a run that did not finish is marked so in ``caveat``."""
    info = read_info(run_dir)
    counts = confusion_counts(info, read_records(run_dir))
    n = {t: sum(row.values()) for t, row in counts.items()}
    empty = [t for t, k in n.items() if k == 0]
    if empty:
        raise QualityRunError(f"{run_dir / ITEMS}: no finished item of class {', '.join(empty)}")
    right = sum(counts[t][t] for t in counts)
    total = sum(n.values())
    low, high = wilson_interval(right, total)
    assert low is not None and high is not None  # total > 0
    return MeasuredConfusion(
        rows={t: {p: k / n[t] for p, k in row.items()} for t, row in counts.items()},
        n=n,
        accuracy=right / total,
        ci_low=low,
        ci_high=high,
        source=f"tco classify run {info.run_id}: {info.classifier} on {info.labelled_set} "
        f"({total:,} items; unanswered count as {info.fallback})",
        as_of=(info.ended or info.started).date(),
        caveat=None if info.status == "complete" else f"from a run that ended {info.status}",
    )
