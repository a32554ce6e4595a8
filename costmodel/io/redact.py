"""The one redaction of everything the workbench writes or prints: run files, reports, workbooks,
stderr.

A secret (an API key from the environment, a URL's user or password) can come back from a server
in many spellings: as is, JSON-escaped (``\\/`` for ``/``, ``\\u00xx`` for any character),
URL-encoded (``%2F``), inside a Basic-auth header (base64), or mixed. :class:`Redactor` matches
all of them with one pattern per secret (each character in any of its spellings) and replaces the
whole match with ``***``. It redacts *before* anything is cut to length (:meth:`Redactor.cut`), so
a secret that straddles a cut leaves none of its characters behind. Credentials in any URL
(``scheme://user:password@host``) are hidden whoever wrote them (:func:`hide_url_credentials`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_SECRET = 4  # shorter strings (a user name "me") would mask ordinary text; they are not keys
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://)([^/\s@'\"<>]+)@")


def hide_url_credentials(text: str) -> str:
    """Every ``scheme://userinfo@`` in ``text`` as ``scheme://***@``.

    >>> hide_url_credentials("bad port in 'http://TOKEN@host:x/v1' and https://u:p@h/v1")
    "bad port in 'http://***@host:x/v1' and https://***@h/v1"
    """
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)


def _spellings(ch: str) -> list[str]:
    """Regex alternatives for one character as text a server sends may spell it."""
    code = ord(ch)
    out = [re.escape(ch)]
    if code < 0x10000:
        out.append(rf"\\u{code:04x}")  # JSON \u escape (case-insensitive match)
    if ch in '/"\\':
        out.append(re.escape("\\" + ch))  # JSON's \/, \", \\
    out.append("".join(re.escape(f"%{b:02x}") for b in ch.encode()))  # URL-encoded
    if ch == " ":
        out.append(r"\+")  # form encoding
    return out


def _pattern(secret: str) -> str:
    return "".join(f"(?:{'|'.join(_spellings(c))})" for c in secret)


@dataclass(frozen=True)
class Redactor:
    """Redacts ``secrets`` (and every URL's credentials) in every spelling.

    >>> r = Redactor(("sk-a/b€9",))
    >>> r('{"error": "bad key sk-a\\\\/b\\\\u20ac9"} %s' % "sk-a%2Fb€9")
    '{"error": "bad key ***"} ***'
    >>> r.cut("x" * 8 + "sk-a/b€9 and more", 10)
    'xxxxxxxx**'
    """

    secrets: tuple[str, ...] = ()
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        forms: set[str] = set()
        for s in self.secrets:
            if s and len(s) >= MIN_SECRET:
                forms.add(_pattern(s))
                forms.add(re.escape(base64.b64encode(s.encode()).decode().rstrip("=")))
                forms.add(re.escape(base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")))
        if forms:
            ordered = sorted(forms, key=len, reverse=True)
            object.__setattr__(self, "_regex", re.compile("|".join(ordered), re.IGNORECASE))

    @classmethod
    def of(cls, secrets: Iterable[str | None] = (), urls: Iterable[str] = ()) -> Redactor:
        """The secrets given, and each URL's user, password and ``user:password`` (Basic auth)."""
        found = [s for s in secrets if s]
        for url in urls:
            parts = urlsplit(url)
            user = unquote(parts.username) if parts.username else None
            password = unquote(parts.password) if parts.password else None
            found += [x for x in (user, password) if x]
            if user or password:
                found.append(f"{user or ''}:{password or ''}")
        return cls(tuple(dict.fromkeys(found)))

    def __call__(self, text: str) -> str:
        """``text`` with every secret, in any spelling, and every URL's credentials as ``***``."""
        if self._regex is not None:
            text = self._regex.sub(MASK, text)
        return hide_url_credentials(text)

    def cut(self, text: str, limit: int) -> str:
        """Redact, then cut to ``limit`` characters: no part of a secret survives the cut."""
        return self(text)[:limit]
