"""OpenAlex works search: ``search=`` with filters, cursor paging, the ``mailto`` polite pool.

Each work is mapped by the OpenAlex reader's :func:`record_from_work` (abstract rebuilt from
``abstract_inverted_index``), so a work reads the same from a live search and from a file.
The protocol's ``filters`` are OpenAlex filters (``{"type": "article"}`` becomes
``filter=type:article``); ``date_from``/``date_to`` become ``from_publication_date`` and
``to_publication_date``; an update's window becomes ``from_created_date`` and
``to_created_date``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from metasift.errors import SearchError
from metasift.records.formats.base import Rejection
from metasift.records.model import Record
from metasift.search.base import Page, Plan, SearchSpec, identity_key
from metasift.search.config import Credentials, SearchSettings, service_client
from metasift.search.reach import Reachability

# OpenAlex allows 10 requests/s; stay at that ceiling, never above.
RATE = 10.0


def _record(work: Any) -> Record | Rejection:
    from metasift.records.formats.openalex import record_from_work

    if not isinstance(work, dict):
        return Rejection(0, "an OpenAlex work must be a JSON object")
    return record_from_work(work)


def filter_string(spec: SearchSpec) -> str | None:
    parts = [f"{key}:{value}" for key, value in spec.filters.items()]
    start, end = spec.date_range()
    if start:
        parts.append(f"from_publication_date:{start.isoformat()}")
    if end:
        parts.append(f"to_publication_date:{end.isoformat()}")
    # An update: the works OpenAlex created in the window (its own date of adding a work).
    start, end = spec.added_range()
    if start:
        parts.append(f"from_created_date:{start.isoformat()}")
    if end:
        parts.append(f"to_created_date:{end.isoformat()}")
    return ",".join(parts) or None


class OpenAlexClient:
    kind = "openalex"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        settings: SearchSettings,
        *,
        sleep: Callable[[float], None] | None = None,
        reachability: Reachability | None = None,
    ) -> None:
        self.credentials = credentials
        self.per_page = min(settings.openalex_page, 200)
        self.http = service_client(
            base_url, "OpenAlex", RATE, credentials, settings, sleep, reachability
        )

    def close(self) -> None:
        self.http.close()

    def _params(self, spec: SearchSpec) -> dict[str, Any]:
        return {"search": spec.query, "filter": filter_string(spec)}

    def _get(self, params: dict[str, Any], what: str) -> dict[str, Any]:
        identified = {
            **params,
            "mailto": self.credentials.email,
            "api_key": self.credentials.openalex_api_key,
        }
        data = self.http.get_json("works", identified, what=what)
        if not isinstance(data.get("results"), list):
            raise SearchError(f"{what}: expected an OpenAlex works page with 'results'.")
        return data

    def plan(self, spec: SearchSpec) -> Plan:
        params = self._params(spec)
        data = self._get({**params, "per-page": 1, "select": "id"}, "OpenAlex count")
        reported = int((data.get("meta") or {}).get("count") or 0)
        shown = {k: v for k, v in params.items() if k != "search" and v is not None}
        state = {"cursor": "*", "page": 0, "fetched": 0}
        return Plan(reported=reported, state=state, query_sent=spec.query, params=shown)

    def next_page(self, spec: SearchSpec, state: dict[str, Any]) -> Page:
        state = dict(state)
        if state.get("cursor") is None:
            return Page([], state, True, "OpenAlex (end of results)")
        first = state["fetched"] + 1
        label = f"OpenAlex page {state['page'] + 1} (from record {first:,})"
        params = {**self._params(spec), "per-page": self.per_page, "cursor": state["cursor"]}
        data = self._get(params, label)
        results = data["results"]
        items = []
        for i, work in enumerate(results):
            item = _record(work)
            items.append((identity_key(item, f"pos:{state['fetched'] + i}"), item))
        following = (data.get("meta") or {}).get("next_cursor")
        done = len(results) < self.per_page or not following
        state.update(
            cursor=None if done else following,
            page=state["page"] + 1,
            fetched=state["fetched"] + len(results),
        )
        return Page(items, state, done, label)
