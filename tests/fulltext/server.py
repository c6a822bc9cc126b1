"""Europe PMC, the PMC OA service, Unpaywall and a publisher's server on 127.0.0.1.

Each answers in its service's real format: Europe PMC's ``resultType=core`` JSON envelope and
JATS XML from ``/{PMCID}/fullTextXML``; the ``<OA>`` document of ``oa.fcgi``; Unpaywall's v2
JSON (and its JSON 404). Files are served with ``Content-Length`` and honour ``Range``.
Faults are queued per path and served before the normal answer: a status with headers (429
with Retry-After), a redirect, or a body cut short after some bytes (the connection closes
before ``Content-Length`` is reached). Every request is logged with its query and headers.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import quoteattr


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut: int | None = None  # send only this many bytes of the body, then close
    drip: float = 0.0  # seconds between 1 kB pieces of the body


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Article:
    """What the fake services know of one article."""

    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    in_epmc: bool = False
    licence: str | None = None
    epmc_pdf: str | None = None  # a PDF link Europe PMC lists (a path on this server)
    oa_pdf: str | None = None  # the PDF link of the PMC OA service
    oa_error: str | None = None  # the PMC OA service's error code instead
    unpaywall: list[str] = field(default_factory=list)  # url_for_pdf of each OA location
    title: str = "An article"


class FullTextServices:
    def __init__(self) -> None:
        self.articles: list[Article] = []
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.faults: dict[str, list[Answer]] = {}
        self.redirects: dict[str, str] = {}  # path -> path it moved to (302)
        self.tmp = tempfile.TemporaryDirectory()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # URLs the environment points the clients at
    @property
    def env(self) -> dict[str, str]:
        return {
            "METASIFT_EUROPEPMC_URL": f"{self.base}/europepmc/webservices/rest/",
            "METASIFT_PMC_OA_URL": f"{self.base}/pmc/utils/oa/",
            "METASIFT_UNPAYWALL_URL": f"{self.base}/unpaywall/",
        }

    def url(self, path: str) -> str:
        """``path`` on this server; an absolute URL (another host) as it is."""
        return path if path.startswith("http") else f"{self.base}{path}"

    def start(self) -> FullTextServices:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.tmp.cleanup()

    def fault(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self.faults.setdefault(path, []).extend(answers)

    def requests(self, prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(prefix)]

    # --- the services ------------------------------------------------------------------------

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.seen.append(Seen(path, params, headers))
            queued = self.faults.get(path)
            if queued:
                return queued.pop(0)
        if path == "/europepmc/webservices/rest/search":
            return self._epmc_search(params)
        if path.startswith("/europepmc/webservices/rest/") and path.endswith("/fullTextXML"):
            pmcid = path.split("/")[-2]
            return (
                self._file(f"/jats/{pmcid}", headers)
                if f"/jats/{pmcid}" in self.files
                else Answer(404, b"")
            )
        if path == "/pmc/utils/oa/oa.fcgi":
            return self._oa(params.get("id", ""))
        if path.startswith("/unpaywall/v2/"):
            return self._unpaywall(path[len("/unpaywall/v2/") :])
        if path in self.redirects:
            return Answer(302, b"", {"Location": self.url(self.redirects[path])})
        if path in self.files:
            return self._file(path, headers)
        return Answer(404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"})

    def _find(self, **key: str) -> Article | None:
        for a in self.articles:
            if all(getattr(a, k) == v for k, v in key.items()):
                return a
        return None

    def _epmc_search(self, params: dict[str, str]) -> Answer:
        query = params.get("query", "")
        if query.startswith("PMCID:"):
            found = self._find(pmcid=query[6:])
        elif query.startswith("EXT_ID:"):
            found = self._find(pmid=query[7:].split()[0])
        elif query.startswith("DOI:"):
            found = self._find(doi=query[4:].strip('"'))
        else:
            found = None
        results = []
        if found is not None:
            links = []
            if found.epmc_pdf:
                links.append(
                    {
                        "availability": "Open access",
                        "availabilityCode": "OA",
                        "documentStyle": "pdf",
                        "site": "Europe_PMC",
                        "url": self.url(found.epmc_pdf),
                    }
                )
            result = {
                "id": found.pmid or found.pmcid,
                "source": "MED" if found.pmid else "PMC",
                "pmid": found.pmid,
                "pmcid": found.pmcid,
                "doi": found.doi,
                "title": found.title,
                "authorString": "Author A.",
                "pubYear": "2008",
                "isOpenAccess": "Y" if found.in_epmc else "N",
                "inEPMC": "Y" if found.in_epmc else "N",
                "inPMC": "Y" if found.pmcid else "N",
                "hasPDF": "Y" if found.epmc_pdf else "N",
                "fullTextUrlList": {"fullTextUrl": links},
            }
            if found.licence:
                result["license"] = found.licence
            results.append({k: v for k, v in result.items() if v is not None})
        envelope = {
            "version": "6.9",
            "hitCount": len(results),
            "nextCursorMark": "AoIIP4AAACgxODQwNTM1OQ==",
            "request": {
                "queryString": query,
                "resultType": "core",
                "cursorMark": "*",
                "pageSize": 1,
                "sort": "",
                "synonym": False,
            },
            "resultList": {"result": results},
        }
        return _json(envelope)

    def _oa(self, pmcid: str) -> Answer:
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<OA><responseDate>2026-12-07 07:00:00'
            f"</responseDate><request id={quoteattr(pmcid)}>{self.base}/pmc/utils/oa/oa.fcgi"
            f"?id={pmcid}</request>"
        )
        found = self._find(pmcid=pmcid)
        if found is None or found.oa_error or not found.oa_pdf:
            code = (found.oa_error if found else None) or "idDoesNotExist"
            body = (
                f"{head}<error code=\"{code}\">identifier '{pmcid}' is not Open Access</error></OA>"
            )
        else:
            licence = f' license="{found.licence}"' if found.licence else ""
            body = (
                f'{head}<records returned-count="1" total-count="1"><record id="{pmcid}" '
                f'citation="BMC Oral Health. 2008; 8:11"{licence} retracted="no">'
                f'<link format="tgz" updated="2013-03-17 13:14:31" '
                f'href="ftp://ftp.ncbi.nlm.nih.gov/pub/pmc/oa_package/8e/71/{pmcid}.tar.gz" />'
                f'<link format="pdf" updated="2013-03-17 13:14:31" '
                f'href="{self.url(found.oa_pdf)}" />'
                "</record></records></OA>"
            )
        return Answer(200, body.encode(), {"Content-Type": "text/xml; charset=UTF-8"})

    def _unpaywall(self, doi: str) -> Answer:
        found = self._find(doi=doi)
        if found is None:
            return _json(
                {
                    "HTTP_status_code": 404,
                    "error": True,
                    "message": f"'{doi}' is an invalid doi. See https://doi.org/{doi}",
                },
                404,
            )
        locations = [
            {
                "url": self.url(pdf),
                "url_for_pdf": self.url(pdf),
                "url_for_landing_page": self.url("/landing"),
                "license": "cc-by",
                "host_type": "publisher",
                "version": "publishedVersion",
                "evidence": "open (via page says license)",
                "is_best": i == 0,
            }
            for i, pdf in enumerate(found.unpaywall)
        ]
        return _json(
            {
                "doi": doi,
                "doi_url": f"https://doi.org/{doi}",
                "is_oa": bool(locations),
                "oa_status": "gold" if locations else "closed",
                "best_oa_location": locations[0] if locations else None,
                "oa_locations": locations,
                "title": found.title,
                "genre": "journal-article",
                "year": 2020,
            }
        )

    def _file(self, path: str, headers: dict[str, str]) -> Answer:
        body, kind = self.files[path]
        wanted = headers.get("range", "")
        if wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[6:-1])
            if start >= len(body):
                return Answer(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            return Answer(
                206,
                body[start:],
                {
                    "Content-Type": kind,
                    "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}",
                },
            )
        return Answer(200, body, {"Content-Type": kind, "Accept-Ranges": "bytes"})


def _json(data: object, status: int = 200) -> Answer:
    return Answer(
        status, json.dumps(data).encode(), {"Content-Type": "application/json;charset=UTF-8"}
    )


def _handler(services: FullTextServices) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query))
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = services.answer(parts.path, params, headers)
            self.send_response(answer.status)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            body = answer.body if answer.cut is None else answer.body[: answer.cut]
            step = 1000 if answer.drip else len(body) or 1
            try:
                for start in range(0, len(body), step):
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    time.sleep(answer.drip)
            except OSError:
                pass  # the client gave up
            self.close_connection = True

    return Handler
