"""The incremental HTTP/SSE parser, fed every way the bytes can be split."""

from __future__ import annotations

import pytest

from probes.wire import OversizedEvent, ResponseParser, WireError

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


STREAM = (
    HEAD
    + chunk(b': keep-alive\n\ndata: {"a":1}\n\n')
    + chunk(b'data: {"b"')
    + chunk(b":2}\r\n\r\n")
    + chunk(b"event: error\ndata: line1\ndata: line2\n\n")
    + chunk(b"data: [DONE]\n\n")
    + b"0\r\n\r\n"
)


def parse_all(data: bytes, step: int):
    p = ResponseParser()
    events = []
    for i in range(0, len(data), step):
        events += p.feed(data[i : i + step])
    return p, events


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 10_000])
def test_any_split_gives_the_same_events(step):
    p, events = parse_all(STREAM, step)
    assert p.status == 200 and p.complete
    assert [(e.event, e.data) for e in events] == [
        ("message", '{"a":1}'),
        ("message", '{"b":2}'),
        ("error", "line1\nline2"),
        ("message", "[DONE]"),
    ]


def test_error_body_with_content_length():
    body = b'{"error": "slow down"}'
    raw = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    p, events = parse_all(raw, 5)
    assert (p.status, p.headers["retry-after"], bytes(p.body), p.complete, events) == (429, "3", body, True, [])


def test_close_delimited_stream_flushes_last_event():
    p = ResponseParser()
    p.feed(b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {"x":1}')
    assert [e.data for e in p.finish()] == ['{"x":1}'] and p.complete


def test_garbage_is_a_wire_error():
    with pytest.raises(WireError):
        ResponseParser().feed(b"SMTP ready\r\n\r\n")
    with pytest.raises(WireError):
        ResponseParser().feed(HEAD + b"zz\r\n")


@pytest.mark.parametrize("piece", [1, 7, 4096, 65536])
def test_parsing_is_linear_in_the_bytes_received(piece):
    """However an event is split (down to a byte a read), the search for event ends examines each
    byte at most twice: no rescans of a growing buffer."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    events = b"".join(b'data: {"x": "' + b"y" * 5000 + b'"}\r\n\r\n' for _ in range(20))
    p = ResponseParser()
    p.feed(head)
    got = []
    for i in range(0, len(events), piece):
        got += p.feed(events[i : i + piece])
    assert len(got) == 20
    assert p.scanned <= 2 * len(events)


def test_an_event_past_the_cap_is_oversized():
    p = ResponseParser()
    p.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ")
    with pytest.raises(OversizedEvent):
        for _ in range(ResponseParser.MAX_EVENT // 65536 + 2):
            p.feed(b"z" * 65536)
    assert p.scanned <= 2 * (ResponseParser.MAX_EVENT + 2 * 65536)


def test_lone_cr_and_split_crlf_end_lines():
    p = ResponseParser()
    p.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
    got = p.feed(b"data: a\r") + p.feed(b"\n\r") + p.feed(b"\ndata: b\r\r")
    assert [e.data for e in got] == ["a", "b"]
