"""Prompts for probing: synthetic ones of a target token length, or a user's JSONL dataset.

Synthetic prompts start with a per-request nonce, so no prefix cache can serve one
request's prompt from another's and flatter the result. Their length is calibrated
against the server's own token count (two non-streamed requests, see
:func:`calibrate_words`), so no tokenizer is needed for a cloud API.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Common short English words: about one token each in most BPE vocabularies.
WORDS = [
    "time",
    "year",
    "people",
    "way",
    "day",
    "man",
    "thing",
    "woman",
    "life",
    "child",
    "world",
    "school",
    "state",
    "family",
    "student",
    "group",
    "country",
    "problem",
    "hand",
    "part",
    "place",
    "case",
    "week",
    "company",
    "system",
    "program",
    "question",
    "work",
    "government",
    "number",
    "night",
    "point",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "community",
    "name",
    "president",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
]


@dataclass(frozen=True)
class Prompt:
    """One request's prompt and the output length asked for."""

    text: str | None
    messages: list[dict] | None
    output_tokens: int


def nonce(rng: random.Random) -> str:
    """A fixed-width random tag: the same token cost in calibration as in the run."""
    return f"{rng.getrandbits(64):016x}"


def synthetic_text(words: int, rng: random.Random) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(max(0, words)))
    return f"[{nonce(rng)}] {body}"


def calibrate_words(count_tokens: Callable[[str], int | None], target_tokens: int, seed: int = 0) -> int:
    """Words needed for ``target_tokens`` prompt tokens, from two measured points.

    Fits ``tokens = a + b x words`` (``a`` is the chat template and nonce) through the
    server's counts for two prompt sizes. Falls back to one word per token if the server
    reports no usage.
    """
    rng = random.Random(seed)
    n1, n2 = 32, 256
    t1 = count_tokens(synthetic_text(n1, rng))
    t2 = count_tokens(synthetic_text(n2, rng)) if t1 else None
    if not t1 or not t2 or t2 <= t1:
        return target_tokens
    b = (t2 - t1) / (n2 - n1)
    a = t1 - b * n1
    return max(1, round((target_tokens - a) / b))


def synthetic(count: int, words: int, output_tokens: int, seed: int, chat: bool, run_id: str) -> list[Prompt]:
    """``count`` prompts of ``words`` words, each opening with its own random nonce."""
    rng = random.Random(f"{run_id}-{seed}")  # a new run never repeats an old run's nonces
    out = []
    for _ in range(count):
        text = synthetic_text(words, rng)
        out.append(Prompt(None if chat else text, [{"role": "user", "content": text}] if chat else None, output_tokens))
    return out


def from_jsonl(path: Path, count: int, default_output_tokens: int, chat: bool) -> list[Prompt]:
    """Prompts from a JSONL file: ``{"prompt": ...}`` or ``{"messages": [...]}``, optional ``output_tokens``.

    Lines are reused in order when ``count`` exceeds the file. Raises ``ValueError`` naming
    the file and line of a bad record.
    """
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise ValueError(f"{path}: line {n}: not JSON") from None
            if not isinstance(obj, dict) or not ("prompt" in obj or "messages" in obj):
                raise ValueError(f"{path}: line {n}: needs a 'prompt' or 'messages' field")
            out = int(obj.get("output_tokens", default_output_tokens))
            if "messages" in obj:
                msgs = obj["messages"]
                text = "\n".join(str(m.get("content", "")) for m in msgs)
            else:
                text, msgs = str(obj["prompt"]), [{"role": "user", "content": str(obj["prompt"])}]
            rows.append(Prompt(None if chat else text, msgs if chat else None, out))
    if not rows:
        raise ValueError(f"{path}: no prompts")
    return [rows[i % len(rows)] for i in range(count)]
