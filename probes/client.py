"""The hot path: one streamed request over a lean asyncio Protocol, timed at byte arrival.

Why not the ``openai`` client here: it wraps each SSE event in several layers of httpx
streams, decoders and pydantic objects, and every hop is a coroutine switch that happens
*before* a timing loop can stamp the event. Under 64 concurrent streams those switches
queue behind each other and the client reports its own lag as server latency (see
``bench/probe_overhead.py``). This client stamps ``time.perf_counter()`` first thing in
``data_received``, the callback the event loop runs when the socket becomes readable, and
only then parses. The ``openai`` client still configures endpoints and makes the
non-streamed preflight and calibration calls (:mod:`probes.endpoint`).

Metric definitions follow vLLM's ``vllm/benchmarks/serve.py``; see the README.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from costmodel.io.redact import Redactor, hide_url_credentials
from costmodel.model.base import printable
from probes.wire import OversizedEvent, ResponseParser, SseEvent, WireError

ERROR_CHARS = 300  # of a server's error message on disk, after redaction
MAX_TOKEN_EVENTS = 65_536  # token events one response may carry at most (a record line stays under ~1 MB)


def max_events_for(max_tokens: int | None) -> int:
    """How many token events a response may carry before it is cut as oversized: twice what was
    asked for and some (a server may split a token over events), so a record stays bounded."""
    return MAX_TOKEN_EVENTS if not max_tokens else min(2 * max_tokens + 64, MAX_TOKEN_EVENTS)


ERROR_KEEP = 4096  # of it in memory until then: a secret is redacted whole before the cut

USER_AGENT = "llm-tco-probe/0.1"


@dataclass
class Record:
    """One request as measured: what the probe writes, one JSON line per request.

    Times are milliseconds; ``*_s`` fields are seconds since the run started.
    """

    run_id: str
    level: str
    request_id: int
    warmup: bool
    scheduled_s: float
    sent_s: float | None = None
    end_s: float | None = None
    schedule_lag_ms: float | None = None
    ttft_ms: float | None = None
    ttft_content_ms: float | None = None
    e2e_ms: float | None = None
    tpot_ms: float | None = None
    itl_ms: list[float] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_source: str | None = None
    token_events: int = 0
    status: int | None = None
    ok: bool = False
    error_kind: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    attempts: int = 1
    throttled: int = 0
    worker: int = 0  # the worker process that sent it

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass(frozen=True)
class Target:
    """Where requests go: parsed once from the base URL; the key stays in memory only."""

    host: str
    port: int
    tls: bool
    base_path: str
    api_key: str | None
    redact: Redactor = field(default_factory=Redactor)  # the key and the URL's credentials, in any spelling

    @classmethod
    def from_url(cls, base_url: str, api_key: str | None) -> Target:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"base URL must be http(s)://host[:port]/path, got {hide_url_credentials(base_url)!r}")
        port = u.port or (443 if u.scheme == "https" else 80)
        redact = Redactor.of([api_key], [base_url])
        return cls(u.hostname, port, u.scheme == "https", u.path.rstrip("/"), api_key, redact)

    def request_bytes(self, path: str, body: bytes) -> bytes:
        head = (
            f"POST {self.base_path}{path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"User-Agent: {USER_AGENT}\r\nContent-Type: application/json\r\n"
            f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n"
        )
        if self.api_key:
            head += f"Authorization: Bearer {self.api_key}\r\n"
        return (head + "\r\n").encode("latin-1") + body


class _Exchange:
    """The state of one request/response on a connection; fed from ``data_received``."""

    __slots__ = (
        "content_first",
        "deadline",
        "done",
        "error",
        "error_kind",
        "max_events",
        "parser",
        "sent",
        "text_parts",
        "token_times",
        "usage",
    )

    def __init__(self, want_text: bool, max_events: int = MAX_TOKEN_EVENTS):
        self.parser = ResponseParser()
        self.sent = 0.0
        self.token_times: list[float] = []
        self.content_first: float | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.usage: dict[str, Any] | None = None
        self.error_kind: str | None = None
        self.error: str | None = None
        self.text_parts: list[str] | None = [] if want_text else None  # kept only for tokenizer counts
        self.deadline = float("inf")  # perf_counter time by which the response must be complete
        self.max_events = max_events

    def finish(self, kind: str | None = None, message: str | None = None) -> None:
        if kind and not self.error_kind:
            self.error_kind, self.error = kind, message
        if not self.done.done():
            self.done.set_result(None)

    def on_data(self, t: float, data: bytes) -> None:
        if self.done.done():
            return
        if t > self.deadline:  # a flood of small events can keep the loop's own timer waiting
            self.finish("timeout", f"no complete response within {self.deadline - self.sent:g} s")
            return
        try:
            events = self.parser.feed(data)
        except OversizedEvent as e:
            self.finish("oversized_event", str(e))
            return
        except WireError as e:
            self.finish("malformed_http", str(e))
            return
        for ev in events:
            self.on_event(t, ev)
            if self.done.done():
                return
        if self.parser.complete:
            self.finish()

    def on_event(self, t: float, ev: SseEvent) -> None:
        data = ev.data
        if data == "[DONE]":  # completion is the end of the HTTP body, which follows
            return
        try:
            obj = json.loads(data)
        except ValueError:
            self.finish("malformed_sse", f"event is not JSON: {data[:ERROR_KEEP]!r}")
            return
        if ev.event == "error" or (isinstance(obj, dict) and obj.get("error")):
            err = obj.get("error") if isinstance(obj, dict) else obj
            self.finish("sse_error", json.dumps(err)[:ERROR_KEEP])
            return
        if not isinstance(obj, dict):
            self.finish("malformed_sse", f"event is not a JSON object: {data[:ERROR_KEEP]!r}")
            return
        usage = obj.get("usage")
        if usage:
            self.usage = usage
        token = content = False
        for choice in obj.get("choices") or ():
            delta = choice.get("delta")
            if delta is None:  # completions API
                text = choice.get("text")
                if text:
                    token = content = True
                    if self.text_parts is not None:
                        self.text_parts.append(text)
                continue
            text = delta.get("content")
            if text:
                token = content = True
                if self.text_parts is not None:
                    self.text_parts.append(text)
            if delta.get("reasoning_content") or delta.get("reasoning") or delta.get("tool_calls"):
                token = True
        if token:
            if len(self.token_times) >= self.max_events:  # a record holds one time per event: bounded
                self.finish("oversized_response", f"more than {self.max_events:,} token events in one response")
                return
            self.token_times.append(t)
            if content and self.content_first is None:
                self.content_first = t


class _Connection(asyncio.Protocol):
    """A keep-alive connection; the current exchange receives every byte, stamped on arrival."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        t = time.perf_counter()  # first, before any parsing
        if self.exchange is not None:
            self.exchange.on_data(t, data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ex = self.exchange
        if ex is None or ex.done.done():
            return
        ex.parser.finish()
        if ex.parser.complete and ex.parser.status is not None:
            ex.finish()
        elif ex.parser.status is None:
            ex.finish("connection_closed", "connection closed before a response")
        else:
            ex.finish("stream_cut", "connection closed mid-stream")


class StreamingClient:
    """Sends requests over pooled keep-alive connections and measures each one."""

    def __init__(
        self, target: Target, *, timeout_s: float = 120.0, connect_timeout_s: float = 10.0, want_text: bool = False
    ):
        self.target = target
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.want_text = want_text
        self._idle: list[_Connection] = []
        self._ssl = ssl.create_default_context() if target.tls else None

    async def _connect(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                _Connection,
                self.target.host,
                self.target.port,
                ssl=self._ssl,
                server_hostname=self.target.host if self._ssl else None,
            ),
            self.connect_timeout_s,
        )
        return conn

    def _release(self, conn: _Connection, reusable: bool) -> None:
        conn.exchange = None
        if reusable and not conn.closed:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()

    async def send(
        self, path: str, body: bytes, record: Record, t0: float, max_tokens: int | None = None
    ) -> _Exchange | None:
        """Send one request; fill ``record`` with what was measured. ``t0`` is the run's start;
        ``max_tokens`` (asked of the server) bounds how many token events one response may carry."""
        try:
            conn = await self._connect()
        except ConnectionRefusedError as e:
            record.error_kind, record.error = "connection_refused", printable(self.target.redact(str(e)))
        except TimeoutError:
            record.error_kind, record.error = "connect_timeout", f"no connection within {self.connect_timeout_s:g} s"
        except OSError as e:
            record.error_kind, record.error = "connection_error", printable(self.target.redact(str(e)))
        if record.error_kind:
            record.sent_s = record.end_s = time.perf_counter() - t0
            return None
        ex = _Exchange(self.want_text, max_events_for(max_tokens))
        conn.exchange = ex
        ex.sent = time.perf_counter()
        ex.deadline = ex.sent + self.timeout_s
        record.sent_s = ex.sent - t0
        record.schedule_lag_ms = (record.sent_s - record.scheduled_s) * 1e3
        assert conn.transport is not None  # an open connection has its transport
        conn.transport.write(self.target.request_bytes(path, body))
        try:
            await asyncio.wait_for(asyncio.shield(ex.done), self.timeout_s)
        except TimeoutError:
            ex.finish("timeout", f"no complete response within {self.timeout_s:g} s")
        except asyncio.CancelledError:
            self._release(conn, False)
            raise
        record.end_s = time.perf_counter() - t0
        clean = (
            ex.error_kind is None and ex.parser.complete and ex.parser.headers.get("connection", "").lower() != "close"
        )
        self._release(conn, clean)
        _fill(record, ex, self.target.redact)
        return ex

    async def aclose(self) -> None:
        for conn in self._idle:
            if conn.transport is not None:
                conn.transport.close()
        self._idle.clear()


def _fill(record: Record, ex: _Exchange, redact: Redactor) -> None:
    """Derive the metrics of ``record`` from a finished exchange."""
    p = ex.parser
    record.status = p.status
    if ex.error_kind is None and p.status is not None and p.status != 200:
        kind = "http_429" if p.status == 429 else ("http_5xx" if p.status >= 500 else "http_4xx")
        ex.error_kind, ex.error = kind, f"HTTP {p.status}: {bytes(p.body[:ERROR_KEEP]).decode('utf-8', 'replace')}"
        ra = p.headers.get("retry-after")
        if ra:
            with contextlib.suppress(ValueError):
                record.retry_after_s = float(ra)
    if ex.error_kind is None and not ex.token_times:
        ex.error_kind, ex.error = "no_tokens", "stream ended without a generated token"
    record.error_kind = ex.error_kind
    record.error = None if ex.error is None else printable(redact.cut(ex.error, ERROR_CHARS))
    times = ex.token_times
    record.token_events = len(times)
    if times:
        record.ttft_ms = (times[0] - ex.sent) * 1e3
        record.e2e_ms = (times[-1] - ex.sent) * 1e3
        record.itl_ms = [round((b - a) * 1e3, 4) for a, b in itertools.pairwise(times)]
    if ex.content_first is not None:
        record.ttft_content_ms = (ex.content_first - ex.sent) * 1e3
    if ex.usage:
        record.input_tokens = ex.usage.get("prompt_tokens")
        record.output_tokens = ex.usage.get("completion_tokens")
        record.token_source = "usage"
    elif times:
        record.output_tokens = len(times)
        record.token_source = "chunks"
    out = record.output_tokens
    if record.ttft_ms is not None and record.e2e_ms is not None and out and out > 1:
        record.tpot_ms = (record.e2e_ms - record.ttft_ms) / (out - 1)
    record.ok = record.error_kind is None


def streamed_body(api_style: str, model: str, max_tokens: int, messages: list[dict[str, Any]], text: str) -> dict:
    """The body of one streamed OpenAI-compatible request at temperature 0 with usage in its last
    chunk: ``messages`` for the chat API, ``text`` for the completions API."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
    }
    if api_style == "chat":
        body["messages"] = messages
    else:
        body["prompt"] = text
    return body


def run_async(coro):
    """Run a coroutine on uvloop when it is installed (lower per-event overhead), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
