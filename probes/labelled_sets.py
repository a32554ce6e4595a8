"""Generated labelled sets for the bundled scenarios' request classes (``data/classifier/sets/``).

fintech-rag's advisors ask *routine* questions (look one fact up in one document) and *complex*
ones (work a rule or a calculation across several). The sets are built from templates with a
seeded draw, in the scenario's shares (80 % / 20 %), and some of each class is phrased like the
other (a routine question quoting an amount; a complex one asked in a few words), as real
questions are. They show how ``tco classify`` works and what a keyword classifier gets wrong;
they are generated, not collected: measure on your own labelled questions before you decide.

``python -m probes.labelled_sets`` rewrites the bundled files; a test checks they are current.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from costmodel import paths

VERSION = "1"
PRODUCTS = [
    "the Core Savings account",
    "the Growth ISA",
    "the Premier brokerage account",
    "the Junior ISA",
    "the fixed-rate bond",
    "the pension drawdown plan",
    "the cash management account",
    "the SIPP",
]
POLICIES = [
    "the 2024 fee schedule",
    "the withdrawal policy",
    "the suitability handbook",
    "the KYC procedure",
    "the complaints policy",
    "the transfer rules",
    "the inducements policy",
    "the vulnerable-client guide",
]
CLIENTS = ["retail", "professional", "joint", "trust", "corporate", "non-resident"]
ACTIONS = [
    "change a client's address",
    "add a power of attorney",
    "close an account",
    "order a replacement card",
    "record a complaint",
    "update a risk profile",
    "set up a standing order",
    "request a statement",
]
AMOUNTS = ["$5,000", "$12,500", "$40,000", "$75,000", "$120,000", "$250,000"]

ROUTINE = [
    "What is the minimum opening deposit for {product}?",
    "Which form do I use to {action}?",
    "Is {product} available to {client} clients?",
    "What does {policy} say about annual statements?",
    "How many days does a client have to cancel {product}?",
    "Who signs off a request to {action}?",
    "What is the monthly fee on {product}?",
    "Where in {policy} is the cooling-off period defined?",
    # routine, but quoting an amount or a second document, as advisors do
    "Does {product} accept a single deposit of {amount}?",
    "Is the fee table in {policy} the same one {policy2} refers to?",
    "What is the interest rate on {product} for balances over {amount}?",
    "How much notice does {policy} require before a client closes {product}?",
]
COMPLEX = [
    "A {client} client holds {amount} in {product} and {amount2} in {product2}; how much can they withdraw "
    "this year without a penalty under {policy}?",
    "Compare the total fees of {product} and {product2} for a client investing {amount} over five years.",
    "If a client moves {amount} from {product} to {product2} mid-year, which rules in {policy} and {policy2} "
    "apply, and what is the tax effect?",
    "Calculate the charge on a {amount} transfer out of {product} under {policy}, including the exit fee.",
    "Which of {policy} and {policy2} takes precedence for a {client} client opening {product}, and why?",
    # complex, asked in a few words
    "Does the {policy} exemption still apply once {product} is switched to joint ownership?",
    "Can a {client} client hold {product} and {product2} at once under {policy}?",
]


def fintech_rag(n: int = 200, seed: int = 0) -> list[dict[str, str]]:
    """``n`` distinct labelled questions, 80 % routine and 20 % complex, in a seeded order."""
    rng = random.Random(f"fintech-rag:{VERSION}:{seed}")
    complex_n = round(n * 0.2)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        label = "complex" if len(out) < complex_n else "routine"
        template = rng.choice(COMPLEX if label == "complex" else ROUTINE)
        product, product2 = rng.sample(PRODUCTS, 2)
        policy, policy2 = rng.sample(POLICIES, 2)
        amount, amount2 = rng.sample(AMOUNTS, 2)
        prompt = template.format(
            product=product,
            product2=product2,
            policy=policy,
            policy2=policy2,
            client=rng.choice(CLIENTS),
            action=rng.choice(ACTIONS),
            amount=amount,
            amount2=amount2,
        )
        prompt = prompt[0].upper() + prompt[1:]
        if prompt not in seen:  # a question asked twice would count twice
            seen.add(prompt)
            out.append({"prompt": prompt, "class": label})
    rng.shuffle(out)
    return [{"id": f"fintech-{i:03d}", **item} for i, item in enumerate(out)]


SETS = {"fintech-rag": fintech_rag}


def set_path(name: str) -> Path:
    return paths.data_dir() / "classifier" / "sets" / f"{name}.jsonl"


def render(name: str) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in SETS[name]())


def main() -> None:
    for name in SETS:
        path = set_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(name), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
