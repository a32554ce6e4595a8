"""The one escaping of text that reaches HTML: report and claims markdown, report tables, the
dashboard's summary.

Every value that comes from an input (a scenario title, an option label, a probe run's model
name, a source) goes through :func:`text` (HTML) or :func:`md` (markdown rendered to HTML), so a
``<script>`` in a file stays text in a report people mail to finance.
"""

from __future__ import annotations

import html
import re

# markdown's own syntax and raw HTML: a value must not open a link, an image, emphasis, code, a
# heading or a tag. CommonMark renders a backslash-escaped punctuation character as itself.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~<>&])")


def text(value: object) -> str:
    """Plain text for an HTML page: ``<``, ``>``, ``&`` and quotes as entities.

    >>> text('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def md(value: object) -> str:
    r"""A value inside markdown: every character of markdown's syntax or of HTML backslash-escaped,
    so it renders as the same text and never as markup.

    >>> print(md("<img src=x onerror=alert(1)> [a](javascript:x) *b* & it's"))
    \<img src=x onerror=alert\(1\)\> \[a\]\(javascript:x\) \*b\* \& it's
    """
    return _MARKDOWN.sub(r"\\\1", str(value))
