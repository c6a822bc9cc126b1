"""Inline HTML that exports leave in titles and abstracts (<p>, <i>, <sup>, MathML).

Only tags of these elements are dropped: a generic "anything in angle brackets" rule would also
eat text such as "<cells>" or "a <b and c> d".
"""

from __future__ import annotations

import re

_HTML = re.compile(
    r"</?(?:p|i|b|u|em|strong|sup|sub|br|hr|span|div|a|small|big|tt|scp|inf|"
    r"mml:[a-z]+|math|ol|ul|li|h[1-6]|jats:[a-z-]+)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def strip_html(text: str | None) -> str | None:
    """``text`` without inline HTML/MathML tags; None stays None."""
    if text is None or "<" not in text:
        return text
    return _HTML.sub("", text)
