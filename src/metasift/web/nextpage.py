"""Where a login returns to: the page the user asked for, when it is a page of this site.

``?next=`` comes from a link anyone can craft, so only a path on this site is followed: it
begins with one ``/`` and holds no backslash (browsers read ``/\\host`` as ``//host``), no
control character or space, and names no scheme or host. Anything else returns to ``/``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

HOME = "/"
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site, else ``/``.

    Args:
        value: the ``next`` the login form was given (untrusted).
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return HOME
    if "\\" in value or _CONTROL.search(value) or "%5c" in value.lower():
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    # /login itself would only show the form again.
    if parts.path in ("/login", "/logout"):
        return HOME
    return value


def login_url(path: str, query: str = "") -> str:
    """The login form, to return to ``path`` (with ``query``) once logged in."""
    target = path + (f"?{query}" if query else "")
    if safe_next(target) == HOME:
        return "/login"
    return "/login?next=" + quote(target, safe="")
