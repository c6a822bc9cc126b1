"""Inline HTML that exports leave in titles and abstracts: the rule lives in normalize."""

from __future__ import annotations

from metasift.records.normalize import strip_html

__all__ = ["strip_html"]
