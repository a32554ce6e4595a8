r"""A loopback server that speaks OpenAI's streaming protocol with known timings and faults.

For tests and benchmarks only. ``POST {prefix}/v1/chat/completions`` and
``{prefix}/v1/completions`` stream ``max_tokens`` tokens (``ignore_eos`` semantics): the
first after ``--ttft-ms``, the rest every ``--itl-ms``, on an absolute schedule so sleeps
do not drift. A role-only chunk and a keep-alive comment come first (they must not count
as the first token). The path prefix picks a fault:

========================  ===========================================================
``/v1/...``               normal stream
``/f/http429/v1/...``     HTTP 429 with ``Retry-After: 1``
``/f/http429-odd/v1/...`` 429 for odd-numbered requests, a normal stream otherwise
``/f/http500/v1/...``     HTTP 500
``/f/hang/v1/...``        accept and never answer (client timeout)
``/f/echo-key/v1/...``    HTTP 401 whose body echoes the key in every spelling (raw across
                          the client's 300-character cut, ``\/``, ``\u00xx``, ``%2F``, base64)
``/f/cut:K/v1/...``       close the connection abruptly after K tokens
``/f/sse_error:K/v1/...`` an SSE ``error`` event after K tokens
``/f/malformed:K/v1/...`` a ``data:`` line that is not JSON after K tokens
``/f/reasoning:K/v1/...`` the first K tokens in ``delta.reasoning_content``
``/f/endless/v1/...``     one ``data:`` line that never ends (16 KiB a write, 1 ms apart)
``/f/flood/v1/...``       small token events, as fast as the socket takes them, for ever
``/f/chunkline/v1/...``   a chunk-size line that never ends (16 KiB of hex digits a write)
``/f/escape/v1/...``      tokens carrying a terminal escape (``ESC[2J``) for even-numbered requests,
                          an HTTP 400 whose plain-text body holds one for odd-numbered ones
``/f/oracle/v1/...``      (with ``--oracle FILE.jsonl``) answers each item of a quality set:
                          correctly with the probability ``--oracle-accuracy`` gives its class
                          (``easy=0.9,hard=0.6``), decided per item from ``--oracle-seed``
``/f/models-X/v1/models`` a ``/models`` reply that is not a model list: X is ``empty``
                          (``{}``), ``null`` (``{"data": null}``), ``list`` (``[]``),
                          ``html`` or ``text``
========================  ===========================================================

The server bills like a provider: a request's prompt tokens when it arrives and each token
it writes; ``/stats`` reports ``billed_prompt_tokens`` and ``billed_completion_tokens`` (the
budget guard's test holds the probe's spend against them).

``--ttft-per-inflight-ms`` adds that much TTFT per request in flight (a server that slows
under load, for the SLO search). ``GET /stats?reset=1`` returns the server's own view
(JSON: count, median TTFT and ITL in ms, measured from request arrival to each token's
write) and resets it; ``GET /health`` answers 200.
Run: ``python -m probes.faultserver --port 8100 --ttft-ms 50 --itl-ms 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import statistics
import time
from typing import Any
from urllib.parse import quote

from probes.client import run_async

_OK_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(obj: Any) -> bytes:
    return _chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


class FaultServer:
    def __init__(
        self,
        ttft_ms: float = 50.0,
        itl_ms: float = 10.0,
        ttft_per_inflight_ms: float = 0.0,
        keepalive: bool = True,
        oracle: dict[str, Any] | None = None,
    ):
        self.oracle = oracle or {}  # last user message -> (item, correct?)
        self.keepalive = keepalive
        self.ttft = ttft_ms / 1e3
        self.itl = itl_ms / 1e3
        self.ttft_per_inflight = ttft_per_inflight_ms / 1e3
        self.inflight = 0
        self.counter = 0
        self.ttfts: list[float] = []
        self.itls: list[float] = []
        self.billed_prompt = 0
        self.billed_completion = 0
        self.auth = ""  # the Authorization header of the request being answered (echo-key)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                arrival = time.perf_counter()
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                self.auth = headers.get("authorization", "")
                if not await self.route(method, path, body, arrival, writer):
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, path: str, body: bytes, arrival: float, w: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close."""
        if method == "GET":
            if path.startswith("/stats"):
                stats = {
                    "count": len(self.ttfts),
                    "ttft_median_ms": statistics.median(self.ttfts) * 1e3 if self.ttfts else None,
                    "itl_median_ms": statistics.median(self.itls) * 1e3 if self.itls else None,
                    "billed_prompt_tokens": self.billed_prompt,
                    "billed_completion_tokens": self.billed_completion,
                }
                if "reset=1" in path:
                    self.ttfts, self.itls = [], []
                    self.billed_prompt = self.billed_completion = 0
                return await self.json_response(w, 200, stats)
            odd = path.split("/")[2] if path.startswith("/f/models-") else None
            if odd is not None and path.endswith("/models"):
                return await self.odd_models(w, odd.removeprefix("models-"))
            if path.endswith("/models"):
                return await self.json_response(
                    w, 200, {"object": "list", "data": [{"id": "fault-model", "object": "model", "owned_by": "probes"}]}
                )
            return await self.json_response(w, 200, {"status": "ok"})
        fault, param = "none", 0
        if path.startswith("/f/"):
            spec = path.split("/")[2]
            fault, _, p = spec.partition(":")
            param = int(p or 0)
        self.counter += 1
        req = json.loads(body or b"{}")
        if fault == "http429" or (fault == "http429-odd" and self.counter % 2 == 1):
            return await self.json_response(
                w, 429, {"error": {"message": "rate limited", "type": "rate_limit"}}, extra=b"Retry-After: 1\r\n"
            )
        if fault == "http500":
            return await self.json_response(w, 500, {"error": {"message": "internal error"}})
        if fault == "escape" and self.counter % 2 == 1:
            payload = b"bad request \x1b[2J\x07 from a hostile server"
            w.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )
            await w.drain()
            return True
        if fault == "echo-key":
            payload = self.echo_key(self.auth).encode()
            w.write(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )
            await w.drain()
            return True
        if fault == "hang":
            await asyncio.sleep(3600)
            return False
        if fault == "oracle":
            req = {**req, "_reply": self.oracle_reply(req)}
        if not req.get("stream"):
            return await self.complete(req, path, w)
        return await self.stream(req, path, fault, param, arrival, w)

    @staticmethod
    def echo_key(auth: str) -> str:
        """A careless provider's 401: the key it was sent, first straddling the client's 300-character
        cut, then JSON-escaped with ``\\/``, every character as ``\\u00xx``, URL-encoded, and the
        whole header in base64 as a Basic-auth echo would show it."""
        key = auth.removeprefix("Bearer ").strip()
        forms = [
            json.dumps(key)[1:-1].replace("/", "\\/"),
            "".join(f"\\u{ord(c):04x}" for c in key),
            quote(key, safe=""),
            base64.b64encode(key.encode()).decode(),
        ]
        return "x" * 285 + key + " invalid; also seen as " + " | ".join(forms)

    def oracle_reply(self, req: dict) -> str:
        """The reply to a quality item: right or wrong as the item's draw says; unknown prompts: unknown."""
        messages = req.get("messages") or [{"role": "user", "content": req.get("prompt", "")}]
        found = self.oracle.get(str(messages[-1].get("content", "")))
        if found is None:
            return "unknown"
        item, right = found
        if item["match"] == "abstain":
            return "NOT IN DOCUMENT" if right else "It is 12 dollars."
        if item["match"] == "number":
            return item["answer"] if right else str(float(item["answer"]) + 1000 + item.get("tolerance", 0))
        if item["match"] == "json":
            return item["answer"] if right else "{}"
        return item["answer"] if right else "unknown"

    async def complete(self, req: dict, path: str, w: asyncio.StreamWriter) -> bool:
        """A non-streamed answer (the probe's calibration calls use one)."""
        n = int(req.get("max_tokens") or 16)
        prompt_tokens = len(json.dumps(req.get("messages") or req.get("prompt") or "").split())
        text = req["_reply"] if "_reply" in req else "".join(f" t{i}" for i in range(n))
        if "_reply" in req:
            n = len(text.split(" "))
        if path.endswith("/chat/completions"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
        else:
            choice = {"index": 0, "text": text, "finish_reason": "length"}
        return await self.json_response(
            w,
            200,
            {
                "id": f"cmpl-{self.counter}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": req.get("model", "fault-model"),
                "choices": [choice],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n},
            },
        )

    async def odd_models(self, w: asyncio.StreamWriter, kind: str) -> bool:
        """A /models reply a client must survive: not a model list."""
        if kind in ("html", "text"):
            body = b"<html><body>gateway</body></html>" if kind == "html" else b"models: fault-model"
            ctype = b"text/html" if kind == "html" else b"text/plain"
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (ctype, len(body), body))
            await w.drain()
            return True
        return await self.json_response(w, 200, {"empty": {}, "null": {"data": None}, "list": []}[kind])

    async def json_response(self, w: asyncio.StreamWriter, status: int, obj: Any, extra: bytes = b"") -> bool:
        payload = json.dumps(obj).encode()
        reason = {200: b"OK", 429: b"Too Many Requests", 500: b"Internal Server Error"}.get(status, b"")
        w.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, reason, len(payload), extra, payload)
        )
        await w.drain()
        return True

    async def stream(
        self, req: dict, path: str, fault: str, param: int, arrival: float, w: asyncio.StreamWriter
    ) -> bool:
        chat = path.endswith("/chat/completions")
        n = int(req.get("max_tokens") or req.get("max_completion_tokens") or 16)
        usage_wanted = bool((req.get("stream_options") or {}).get("include_usage"))
        model = req.get("model", "fault-model")
        base = {
            "id": f"cmpl-{self.counter}",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": model,
        }
        self.inflight += 1
        try:
            return await self._stream(req, chat, n, usage_wanted, base, fault, param, arrival, w)
        finally:
            self.inflight -= 1

    async def _stream(
        self,
        req: dict,
        chat: bool,
        n: int,
        usage_wanted: bool,
        base: dict,
        fault: str,
        param: int,
        arrival: float,
        w: asyncio.StreamWriter,
    ) -> bool:
        ttft = self.ttft + self.ttft_per_inflight * self.inflight  # a server that slows under load
        prompt_tokens = len(json.dumps(req.get("messages") or req.get("prompt") or "").split())
        self.billed_prompt += prompt_tokens
        words = req["_reply"].split(" ") if "_reply" in req else None
        if words is not None:
            n = min(n, len(words))
        w.write(_OK_HEAD)
        if fault == "flood":  # small token events, as fast as the socket takes them, for ever
            event = _event({**base, "choices": [{"index": 0, "delta": {"content": "x"}}]})
            while True:
                w.write(event * 256)
                await w.drain()
        if fault == "chunkline":  # a chunk-size line that never ends
            while True:
                w.write(b"f" * 16384)
                await w.drain()
                await asyncio.sleep(0.001)
        if fault == "endless":  # a data line that never ends
            w.write(_chunk(b'data: {"x": "'))
            while True:
                w.write(_chunk(b"y" * 16384))
                await w.drain()
                await asyncio.sleep(0.001)
        if chat:  # role-only chunk: carries no token
            w.write(_event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}))
        if self.keepalive:
            w.write(_chunk(b": keep-alive\n\n"))
        await w.drain()
        previous = None
        for i in range(n):
            due = arrival + ttft + i * self.itl
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if fault == "cut" and i == param:
                w.transport.abort()
                return False
            if fault == "sse_error" and i == param:
                w.write(_chunk(b'event: error\ndata: {"error": {"message": "engine failed", "code": 500}}\n\n'))
                break
            if fault == "malformed" and i == param:
                w.write(_chunk(b"data: {this is not json\n\n"))
                break
            text = f" t{i}" if words is None else (words[i] if i == 0 else " " + words[i])
            if fault == "escape":
                text += "\x1b[2J"
            if chat:
                key = "reasoning_content" if fault == "reasoning" and i < param else "content"
                choice = {"index": 0, "delta": {key: text}, "finish_reason": "length" if i == n - 1 else None}
            else:
                choice = {"index": 0, "text": text, "finish_reason": "length" if i == n - 1 else None}
            w.write(_event({**base, "choices": [choice]}))
            self.billed_completion += 1
            now = time.perf_counter()
            if previous is None:
                self.ttfts.append(now - arrival)
            else:
                self.itls.append(now - previous)
            previous = now
        if usage_wanted:
            w.write(
                _event(
                    {
                        **base,
                        "choices": [],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": n,
                            "total_tokens": prompt_tokens + n,
                        },
                    }
                )
            )
        w.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await w.drain()
        return True


def load_oracle(path: str, accuracy: str, seed: int) -> dict[str, Any]:
    """Quality items by their last user message, each with its draw: answered right or not."""
    import random

    p_of = {k: float(v) for k, _, v in (part.partition("=") for part in accuracy.split(",") if part)}
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            item = json.loads(line)
            messages = item.get("messages") or [{"role": "user", "content": item.get("prompt", "")}]
            p = p_of.get(item.get("class", "all"), p_of.get("all", 1.0))
            out[messages[-1]["content"]] = (item, random.Random(f"{seed}:{item['id']}").random() < p)
    return out


async def serve(
    host: str,
    port: int,
    ttft_ms: float,
    itl_ms: float,
    ttft_per_inflight_ms: float = 0.0,
    keepalive: bool = True,
    oracle: dict[str, Any] | None = None,
) -> None:
    server = FaultServer(ttft_ms, itl_ms, ttft_per_inflight_ms, keepalive, oracle)
    srv = await asyncio.start_server(server.handle, host, port, backlog=1024)
    async with srv:
        await srv.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8100)
    ap.add_argument("--ttft-ms", type=float, default=50.0)
    ap.add_argument("--itl-ms", type=float, default=10.0)
    ap.add_argument(
        "--ttft-per-inflight-ms",
        type=float,
        default=0.0,
        help="extra TTFT per request in flight, to mimic a server that slows under load",
    )
    ap.add_argument(
        "--no-keepalive",
        action="store_true",
        help="omit the SSE keep-alive comment (vLLM's benchmark client cannot parse one that arrives in its own read)",
    )
    ap.add_argument("--oracle", help="a quality set (JSONL) the /f/oracle/ path answers")
    ap.add_argument(
        "--oracle-accuracy", default="all=1", help="chance of a right answer per class, e.g. easy=0.9,hard=0.6"
    )
    ap.add_argument("--oracle-seed", type=int, default=0)
    args = ap.parse_args()
    oracle = load_oracle(args.oracle, args.oracle_accuracy, args.oracle_seed) if args.oracle else None
    print(f"fault server on http://{args.host}:{args.port} (TTFT {args.ttft_ms} ms, ITL {args.itl_ms} ms)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        run_async(
            serve(
                args.host,
                args.port,
                args.ttft_ms,
                args.itl_ms,
                args.ttft_per_inflight_ms,
                not args.no_keepalive,
                oracle,
            )
        )


if __name__ == "__main__":
    main()
