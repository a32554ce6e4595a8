"""The budget guard shared by ``tco probe`` and ``tco quality``: the bill never passes the limit.

Before a request is sent, its worst case (its prompt at one token per byte, then at the most
tokens per byte the server has billed plus 10 %, and every output token it may get, at the
price) is held against the limit; spent plus held never passes it, so the bill stays under the
limit at any concurrency or rate. A request that fits only once others settle waits for them; one
that does not fit with nothing in flight ends the run. A request cut short counts its worst case
(it may have been billed for tokens never received); one without usage counts its prompt's bound.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Budget:
    usd_per_m_input: float | None = None
    usd_per_m_output: float | None = None
    max_cost_usd: float | None = None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0  # the worst case of the requests in flight
    _tokens_per_byte: float | None = None  # the most prompt tokens per prompt byte the server has billed
    _settled: asyncio.Event = field(default_factory=asyncio.Event)  # a request released its hold

    @property
    def priced(self) -> bool:
        return self.usd_per_m_input is not None and self.usd_per_m_output is not None

    def prompt_tokens_bound(self, prompt_bytes: int) -> float:
        """At most how many prompt tokens a prompt of this many bytes is billed."""
        seen = 1.0 if self._tokens_per_byte is None else min(1.0, 1.1 * self._tokens_per_byte)
        return prompt_bytes * seen + 32  # + the chat template

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        """USD billed for these tokens; 0 for an endpoint without prices."""
        if self.usd_per_m_input is None or self.usd_per_m_output is None:
            return 0.0
        return (input_tokens * self.usd_per_m_input + output_tokens * self.usd_per_m_output) / 1e6

    def hold_now(self, prompt_bytes: int, max_tokens: int) -> float | None:
        """Hold a request's worst case if it fits now, without waiting (for the calibration requests
        sent before the run, one at a time); the amount held, or None when it does not fit."""
        if self.max_cost_usd is None or not self.priced:
            return 0.0
        worst = self.cost(self.prompt_tokens_bound(prompt_bytes), max_tokens)
        if self.spent_usd + self.reserved_usd + worst > self.max_cost_usd:
            return None
        self.reserved_usd += worst
        return worst

    async def reserve(self, prompt_bytes: int, max_tokens: int, stopping: bool = False) -> float | None:
        """Hold a request's worst case; the amount held (0 without a limit), or None when it cannot
        fit even with nothing in flight (or the run is ``stopping``): send nothing, stop."""
        if self.max_cost_usd is None or not self.priced:
            return 0.0
        while True:
            held = self.hold_now(prompt_bytes, max_tokens)
            if held is not None:
                return held
            if self.reserved_usd <= 1e-15 or stopping:
                return None
            self._settled.clear()
            await self._settled.wait()

    def settle(
        self, held: float, prompt_bytes: int, input_tokens: int | None, output_tokens: int | None, interrupted: bool
    ) -> None:
        """Release a request's hold and count what it cost."""
        if not self.priced:
            return
        self.reserved_usd -= held
        self._settled.set()
        if input_tokens and prompt_bytes:
            ratio = input_tokens / prompt_bytes
            self._tokens_per_byte = ratio if self._tokens_per_byte is None else max(self._tokens_per_byte, ratio)
        if interrupted:
            self.spent_usd += held or self.cost(self.prompt_tokens_bound(prompt_bytes), 0)
            return
        inputs = input_tokens if input_tokens is not None else self.prompt_tokens_bound(prompt_bytes)
        self.spent_usd += self.cost(inputs, output_tokens or 0)
