"""Incremental parsing of a streamed HTTP/1.1 response carrying server-sent events.

Pure and synchronous: feed bytes as they arrive, get back the SSE events they completed.
Handles the response head, ``Transfer-Encoding: chunked``, ``Content-Length`` and
close-delimited bodies, and SSE framing (``data:``/``event:`` lines, blank-line delimited,
CRLF or LF). The timing client in :mod:`probes.client` stamps each ``feed`` call before
parsing, so parsing cost never shifts a timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class WireError(Exception):
    """The bytes on the wire are not valid HTTP/1.1 or SSE."""


class OversizedEvent(WireError):
    """One server-sent event grew past :attr:`ResponseParser.MAX_EVENT` bytes without ending."""


@dataclass
class SseEvent:
    """One server-sent event: its ``event`` name (default ``message``) and joined ``data`` lines."""

    data: str
    event: str = "message"


@dataclass
class ResponseParser:
    """State machine over one HTTP response. ``feed`` returns the SSE events it completed."""

    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)  # non-SSE body (errors), capped
    complete: bool = False
    _buf: bytearray = field(default_factory=bytearray)
    _sse: bytearray = field(default_factory=bytearray)
    _chunked: bool = False
    _remaining: int | None = None  # Content-Length left, or current chunk left
    _is_sse: bool = False
    _head_done: bool = False
    _scan: int = 0  # where the search for the next event's end resumes in ``_sse``
    scanned: int = 0  # bytes the event search has examined: stays within twice the bytes received
    _cr: bool = False  # the last payload ended in a CR that may start a CRLF

    MAX_BODY = 64 * 1024
    MAX_CHUNK_LINE = 4096  # a chunk size is a few hex digits and maybe an extension
    MAX_EVENT = 4 * 1024 * 1024  # no token chunk comes near it; an endless line must not grow without bound

    def feed(self, data: bytes) -> list[SseEvent]:
        self._buf += data
        if not self._head_done and not self._parse_head():
            return []
        return self._parse_body()

    def _parse_head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > 65536:
                raise WireError("response head larger than 64 KiB")
            return False
        head = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[: end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise WireError(f"bad status line: {lines[0][:80]!r}")
        self.status, self.reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                self.headers[name.strip().lower()] = value.strip()
        if self.status in (100, 103):  # informational: a real head follows
            self.status, self.headers = None, {}
            return self._parse_head()
        self._head_done = True
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if not self._chunked and "content-length" in self.headers:
            self._remaining = int(self.headers["content-length"])
        self._is_sse = self.headers.get("content-type", "").startswith("text/event-stream")
        return True

    def _parse_body(self) -> list[SseEvent]:
        payload = bytearray()
        if self._chunked:
            while not self.complete:
                if self._remaining is None:  # expecting a chunk-size line
                    end = self._buf.find(b"\r\n")
                    if end < 0:
                        if len(self._buf) > self.MAX_CHUNK_LINE:
                            raise WireError(f"a chunk-size line longer than {self.MAX_CHUNK_LINE} bytes")
                        break
                    size_text = bytes(self._buf[:end]).split(b";")[0].strip()
                    try:
                        size = int(size_text, 16)
                    except ValueError:
                        raise WireError(f"bad chunk size {size_text[:20]!r}") from None
                    del self._buf[: end + 2]
                    if size == 0:
                        self.complete = True  # trailers ignored
                        break
                    self._remaining = size
                if self._remaining:
                    take = min(self._remaining, len(self._buf))
                    payload += self._buf[:take]
                    del self._buf[:take]
                    self._remaining -= take
                    if self._remaining:
                        break  # the rest of this chunk is still on its way
                if len(self._buf) < 2:
                    break
                if self._buf[:2] != b"\r\n":
                    raise WireError("chunk not followed by CRLF")
                del self._buf[:2]
                self._remaining = None
        elif self._remaining is not None:
            take = min(self._remaining, len(self._buf))
            payload += self._buf[:take]
            del self._buf[:take]
            self._remaining -= take
            self.complete = self._remaining == 0
        else:  # close-delimited
            payload += self._buf
            self._buf.clear()
        if not self._is_sse:
            room = self.MAX_BODY - len(self.body)
            if room > 0:
                self.body += payload[:room]
            return []
        self._append_sse(payload)
        return self._split_events()

    def _append_sse(self, payload: bytes | bytearray) -> None:
        """Add body bytes to the SSE buffer with CRLF (and lone CR) made LF, touching only the new bytes."""
        if not payload:
            return
        data = bytes(payload)
        if self._cr:  # a CR ended the last payload: it was a line end; drop this LF if it completes a CRLF
            self._cr = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            self._cr = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self._sse += data

    def _split_events(self) -> list[SseEvent]:
        """Cut complete events off the SSE buffer. Each byte is searched once: the scan resumes
        where it stopped (one byte back, for a "\\n\\n" split across reads), so parsing stays linear
        in the bytes received however an event is split."""
        events = []
        buf = self._sse
        start = 0
        while True:
            begin = max(self._scan - 1, start)
            end = buf.find(b"\n\n", begin)
            self.scanned += (len(buf) if end < 0 else end + 2) - begin
            if end < 0:
                self._scan = len(buf)
                break
            block = bytes(buf[start:end])
            start = end + 2
            self._scan = start
            data_lines, name = [], "message"
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    data_lines.append(line[6:] if line[5:6] == b" " else line[5:])
                elif line.startswith(b"event:"):
                    name = line[6:].strip().decode("utf-8", "replace")
                # comments (":keep-alive"), id: and retry: carry no tokens
            if data_lines:
                events.append(SseEvent(b"\n".join(data_lines).decode("utf-8", "replace"), name))
        if start:
            del buf[:start]
            self._scan -= start
        if len(buf) > self.MAX_EVENT:
            raise OversizedEvent(f"an event grew past {self.MAX_EVENT // 1024 // 1024} MiB without ending")
        return events

    def finish(self) -> list[SseEvent]:
        """The connection closed: flush a close-delimited body's last event."""
        if self._head_done and not self._chunked and self._remaining is None:
            self.complete = True
            if self._is_sse and self._sse.strip():
                self._sse += b"\n\n"
                return self._split_events()
        return []
