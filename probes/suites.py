"""Bundled quality suites, generated from a seed (no benchmark text is copied): the failure modes
the local-versus-cloud debate names.

* ``grounded-qa``: questions over a generated policy document; some cannot be answered from it,
  and a confident answer there is a hallucination (``abstain`` items);
* ``reasoning``: multi-step arithmetic, dates and fee rules applied to a document ("complex logic");
* ``extraction``: fill a JSON object from a customer note.

Every suite has short and long contexts (long ones bury the facts among distractor clauses) and
tags items ``easy`` (short, one step) or ``hard`` (long, or several steps), the classes a
scenario's ``request_classes`` use. The same seed gives the same items on any machine.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable

from costmodel.model.quality import QualityItem

VERSION = "1"
ABSTAIN = "NOT IN DOCUMENT"
SYSTEM = (
    "Answer from the document only. Reply with the answer alone, no explanation. "
    f"If the document does not contain the answer, reply exactly: {ABSTAIN}"
)
NAMES = (
    "Avery Chen",
    "Bianca Rossi",
    "Carlos Mendes",
    "Dana Okafor",
    "Elif Demir",
    "Farah Haddad",
    "Goran Petrov",
    "Hana Sato",
    "Ines Duarte",
    "Jonas Berg",
)
PRODUCTS = ("Everyday", "Premier", "Business Plus", "Student", "Saver", "Private")
CURRENCIES = ("USD", "EUR", "GBP", "CHF")
FILLER = (
    "Staff must record the customer's consent before any change to contact details.",
    "Branch opening hours are published on the intranet and may vary on public holidays.",
    "Complaints are acknowledged within two business days and resolved within fifteen.",
    "Marketing material must carry the current risk warning in the footer.",
    "Cards are dispatched to the registered address only.",
    "Statements are archived for seven years in line with retention policy.",
    "Exceptions to this policy require a written note on the customer file.",
    "Service levels are reviewed each quarter by the operations committee.",
)


def _document(facts: list[str], rng: random.Random, long: bool) -> str:
    """The facts, alone (short) or shuffled among distractor clauses (long, ~40 sentences)."""
    lines = list(facts)
    if long:
        lines += [rng.choice(FILLER) for _ in range(36)]
        rng.shuffle(lines)
    return "\n".join(f"{i + 1}. {line}" for i, line in enumerate(lines))


def _item(
    suite: str,
    index: int,
    facts: list[str],
    question: str,
    rng: random.Random,
    hard: bool,
    answer: str,
    match: str,
    max_tokens: int,
    tolerance: float = 0.0,
) -> QualityItem:
    """One item: its facts made into a document (long and cluttered when hard) and asked about."""
    return QualityItem(
        id=f"{suite}-{index}",
        messages=_messages(_document(facts, rng, hard), question),
        answer=answer,
        match=match,
        tolerance=tolerance,
        item_class="hard" if hard else "easy",
        suite=suite,
        max_tokens=max_tokens,
    )


def _messages(document: str, question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Document:\n{document}\n\nQuestion: {question}"},
    ]


def grounded_qa(rng: random.Random, index: int) -> QualityItem:
    product, fee, limit = rng.choice(PRODUCTS), rng.randrange(5, 60), rng.randrange(2, 50) * 1000
    approver = rng.choice(("a branch manager", "the compliance desk", "two authorised signatories"))
    facts = [
        f"The {product} account charges a monthly fee of {fee} dollars.",
        f"Wire transfers above {limit:,} dollars need approval by {approver}.",
        f"The {product} account pays no interest on balances under 1,000 dollars.",
    ]
    long = index % 2 == 1
    kind = rng.randrange(3)
    if kind == 0:
        question, answer, match = f"What is the monthly fee of the {product} account, in dollars?", str(fee), "number"
    elif kind == 1:
        question, answer, match = f"Who must approve a wire transfer above {limit:,} dollars?", approver, "contains"
    else:  # the document does not say: the model must abstain
        question = rng.choice(
            (
                f"What is the fee for replacing a lost {product} card?",
                "How many free ATM withdrawals does the account include each month?",
                "What is the overdraft interest rate?",
            )
        )
        answer, match = ABSTAIN, "abstain"
    return _item("grounded-qa", index, facts, question, rng, long, answer, match, max_tokens=48)


def reasoning(rng: random.Random, index: int) -> QualityItem:
    hard = index % 2 == 1
    kind = rng.randrange(3)
    if kind == 0:  # a fee rule: a percentage between a floor and a cap, waived above a balance
        pct, floor, cap = rng.choice((0.5, 1, 1.5, 2)), rng.randrange(3, 10), rng.randrange(40, 90)
        amount = rng.randrange(100, 9000)
        facts = [f"A transfer fee is {pct}% of the amount, at least {floor} dollars and at most {cap} dollars."]
        fee = min(max(amount * pct / 100, floor), cap)
        question = f"What fee is charged on a transfer of {amount:,} dollars? Give the number of dollars."
        if hard:
            balance, waive = rng.randrange(5, 60) * 1000, rng.randrange(10, 40) * 1000
            facts.append(f"The fee is halved when the account balance is at least {waive:,} dollars.")
            question = (
                f"An account with a balance of {balance:,} dollars makes two transfers of {amount:,} dollars "
                "each. What is the total fee in dollars?"
            )
            fee = 2 * fee * (0.5 if balance >= waive else 1.0)
        answer, tolerance = f"{fee:.2f}", 0.01
    elif kind == 1:  # dates: days between, or a due date's day of the month
        start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(0, 300))
        days = rng.randrange(10, 90)
        facts = [f"The statement date is {start.isoformat()}.", f"Payment is due {days} days after the statement date."]
        due = start + dt.timedelta(days=days)
        if hard:
            grace = rng.randrange(3, 15)
            facts.append(f"A grace period of {grace} days follows the due date; after it a late fee applies.")
            question = "On which day of the month does the late fee first apply? Give the day number."
            answer = str((due + dt.timedelta(days=grace + 1)).day)
        else:
            question = "On which day of the month is payment due? Give the day number."
            answer = str(due.day)
        tolerance = 0.0
    else:  # compound interest over months
        balance, rate, months = rng.randrange(1, 50) * 1000, rng.choice((0.5, 1.0, 1.25)), rng.randrange(2, 4)
        facts = [f"The account holds {balance:,} dollars.", f"Interest of {rate}% is added at the end of each month."]
        if hard:
            withdrawal = rng.randrange(1, 5) * 100
            facts.append(f"{withdrawal} dollars are withdrawn at the start of each month, before interest.")
            value = float(balance)
            for _ in range(months):
                value = (value - withdrawal) * (1 + rate / 100)
        else:
            value = balance * (1 + rate / 100) ** months
        question = f"What is the balance after {months} months, in dollars?"
        answer, tolerance = f"{value:.2f}", 0.01
    return _item("reasoning", index, facts, question, rng, hard, answer, "number", max_tokens=64, tolerance=tolerance)


def extraction(rng: random.Random, index: int) -> QualityItem:
    long = index % 2 == 1
    record = {
        "name": rng.choice(NAMES),
        "account_id": f"AC-{rng.randrange(10**6, 10**7)}",
        "balance": round(rng.uniform(10, 90000), 2),
        "currency": rng.choice(CURRENCIES),
    }
    facts = [
        f"Customer {record['name']} holds account {record['account_id']}.",
        f"The current balance is {record['balance']:,.2f} {record['currency']}.",
    ]
    if long:  # a second customer, mentioned in passing: the model must pick the right one
        other = rng.choice([n for n in NAMES if n != record["name"]])
        facts.append(f"{other} was referred by this customer and holds account AC-{rng.randrange(10**6, 10**7)}.")
    question = (
        "Return a JSON object with the fields name, account_id, balance (a number) and currency for the "
        "customer the note is about. Reply with the JSON only."
    )
    return _item("extraction", index, facts, question, rng, long, json.dumps(record), "json", max_tokens=128)


SUITES: dict[str, Callable[[random.Random, int], QualityItem]] = {
    "grounded-qa": grounded_qa,
    "reasoning": reasoning,
    "extraction": extraction,
}


def generate(suite: str, n: int, seed: int) -> list[QualityItem]:
    """``n`` items of a bundled suite: the same seed, the same items."""
    make = SUITES[suite]
    rng = random.Random(f"{suite}:{VERSION}:{seed}")
    return [make(rng, i) for i in range(n)]
