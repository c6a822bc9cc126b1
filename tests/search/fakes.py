"""A real HTTP server on 127.0.0.1 standing in for E-utilities, Europe PMC and OpenAlex.

Each fake answers in its service's real format: esearch/efetch XML shaped as NCBI returns it
(PubmedArticle elements modelled on tests/fixtures/formats/pubmed_xml), Europe PMC's
``resultType=core`` JSON envelope with cursorMark paging, OpenAlex's works page with
``meta.next_cursor``. Faults (429 bursts, 5xx, dropped connections, malformed pages, slow or
hanging answers) are injected per request, and every request is logged with its arrival time
so tests can measure rates on the server side.
"""

# The PubmedArticle template keeps efetch's one-element-per-line layout, long lines included.
# ruff: noqa: E501

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

# --------------------------------------------------------------------------------------------
# Requests and faults


@dataclass
class Seen:
    at: float
    method: str
    path: str
    params: dict[str, str]


@dataclass
class Fault:
    """What to do instead of answering: kind is status, drop, malformed, sleep or hang."""

    kind: str
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Rule:
    match: Callable[[str, dict[str, str]], bool]
    faults: list[Fault]


class Service:
    prefix = ""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def fail(self, match: Callable[[str, dict[str, str]], bool], *faults: Fault) -> list[Fault]:
        """Answer the next requests matching ``match(path, params)`` with ``faults`` in turn."""
        with self._lock:
            self._rules.append(_Rule(match, list(faults)))
        return list(faults)

    def take_fault(self, path: str, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.faults and rule.match(path, params):
                    return rule.faults.pop(0)
        return None

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# PubMed E-utilities

EFETCH_LIMIT = 10_000
_ESEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
_EFETCH_HEAD = (
    '<?xml version="1.0" ?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    "<PubmedArticleSet>\n"
)
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass
class Article:
    pmid: str
    published: date
    xml: bytes
    doi: str | None = None
    # When PubMed added the record (its Entrez date, ``edat``); the publication date if None.
    entered: date | None = None


def synthetic_article(pmid: int, published: date) -> Article:
    """A PubmedArticle in efetch's layout (MedlineCitation + PubmedData), made up but valid."""
    doi = f"10.5555/ms.{pmid}"
    month = _MONTHS[published.month - 1]
    xml = f"""<PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM" IndexingMethod="Automated">
        <PMID Version="1">{pmid}</PMID>
        <DateCompleted><Year>{published.year}</Year><Month>12</Month><Day>01</Day></DateCompleted>
        <Article PubModel="Print-Electronic">
            <Journal>
                <ISSN IssnType="Electronic">1234-5678</ISSN>
                <JournalIssue CitedMedium="Internet">
                    <Volume>{pmid % 40 + 1}</Volume>
                    <Issue>{pmid % 12 + 1}</Issue>
                    <PubDate><Year>{published.year}</Year><Month>{month}</Month><Day>{published.day:02d}</Day></PubDate>
                </JournalIssue>
                <Title>Journal of Stem Cell &amp; Skin Research</Title>
                <ISOAbbreviation>J Stem Cell Skin Res</ISOAbbreviation>
            </Journal>
            <ArticleTitle>Adipose-derived stem cell exosomes in model {pmid} of <i>psoriasis</i>.</ArticleTitle>
            <Pagination><StartPage>{pmid % 900 + 1}</StartPage><MedlinePgn>{pmid % 900 + 1}-{pmid % 900 + 9}</MedlinePgn></Pagination>
            <ELocationID EIdType="doi" ValidYN="Y">{doi}</ELocationID>
            <Abstract>
                <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Study {pmid} background.</AbstractText>
                <AbstractText Label="RESULTS" NlmCategory="RESULTS">Lesions improved (p &lt; 0.05).</AbstractText>
            </Abstract>
            <AuthorList CompleteYN="Y">
                <Author ValidYN="Y"><LastName>M\u00fcller</LastName><ForeName>Anna</ForeName><Initials>A</Initials></Author>
                <Author ValidYN="Y"><LastName>Author{pmid}</LastName><ForeName>B</ForeName><Initials>B</Initials></Author>
            </AuthorList>
            <Language>eng</Language>
            <PublicationTypeList>
                <PublicationType UI="D016428">Journal Article</PublicationType>
            </PublicationTypeList>
        </Article>
        <MedlineJournalInfo>
            <Country>England</Country>
            <MedlineTA>J Stem Cell Skin Res</MedlineTA>
            <NlmUniqueID>101000000</NlmUniqueID>
            <ISSNLinking>1234-5678</ISSNLinking>
        </MedlineJournalInfo>
    </MedlineCitation>
    <PubmedData>
        <History>
            <PubMedPubDate PubStatus="pubmed"><Year>{published.year}</Year><Month>{published.month}</Month><Day>{published.day}</Day></PubMedPubDate>
        </History>
        <PublicationStatus>ppublish</PublicationStatus>
        <ArticleIdList>
            <ArticleId IdType="pubmed">{pmid}</ArticleId>
            <ArticleId IdType="doi">{doi}</ArticleId>
        </ArticleIdList>
    </PubmedData>
</PubmedArticle>
"""
    return Article(str(pmid), published, xml.encode("utf-8"), doi)


def synthetic_corpus(
    n: int,
    first_pmid: int = 30_000_000,
    start: date = date(2001, 1, 1),
    end: date = date(2012, 12, 31),
) -> list[Article]:
    """``n`` articles with publication dates spread evenly over [start, end]."""
    span = (end - start).days
    return [
        synthetic_article(first_pmid + i, start + timedelta(days=(i * span) // max(n - 1, 1)))
        for i in range(n)
    ]


def real_articles(path: str) -> list[Article]:
    """The PubmedArticle elements of a real efetch file, as served."""
    root = etree.parse(path).getroot()
    out = []
    for element in root.findall("PubmedArticle"):
        pmid = element.findtext("MedlineCitation/PMID")
        year = element.findtext(".//JournalIssue/PubDate/Year") or "2019"
        out.append(Article(pmid, date(int(year), 1, 1), etree.tostring(element)))
    return out


def _pdate(text: str) -> date:
    parts = [int(p) for p in text.split("/")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


class FakePubMed(Service):
    prefix = "/entrez/eutils/"

    def __init__(self) -> None:
        super().__init__()
        self.corpora: dict[str, list[Article]] = {}
        self.history: dict[str, dict[str, list[Article]]] = {}

    def page(self, articles: list[Article]) -> bytes:
        return _EFETCH_HEAD.encode() + b"".join(a.xml for a in articles) + b"</PubmedArticleSet>\n"

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        if path == "esearch.fcgi":
            return self._esearch(params)
        if path == "efetch.fcgi":
            return self._efetch(params)
        return 404, "text/plain", b"unknown E-utility"

    def _esearch(self, params: dict[str, str]) -> tuple[int, str, bytes]:
        term = params.get("term", "")
        retstart = int(params.get("retstart", "0"))
        retmax = int(params.get("retmax", "20"))
        if retstart > 9998:
            body = (
                f"{_ESEARCH_HEAD}<eSearchResult><ERROR>Search Backend failed: Exception:\n"
                "'retstart' cannot be larger than 9998. For PubMed, ESearch can only retrieve "
                "the first 9,999 records matching the query.</ERROR></eSearchResult>"
            )
            return 200, "text/xml", body.encode()
        found = list(self.corpora.get(term, []))
        if "mindate" in params or "maxdate" in params:
            low = _pdate(params.get("mindate", "1000"))
            high = _pdate(params.get("maxdate", "3000"))
            if params.get("datetype") == "edat":
                found = [a for a in found if low <= (a.entered or a.published) <= high]
            else:
                found = [a for a in found if low <= a.published <= high]
        if term not in self.corpora:
            body = (
                f"{_ESEARCH_HEAD}<eSearchResult><Count>0</Count><RetMax>0</RetMax>"
                "<RetStart>0</RetStart><IdList/><TranslationSet/>"
                f"<QueryTranslation>{escape(term)}</QueryTranslation><ErrorList>"
                f"<PhraseNotFound>{escape(term)}</PhraseNotFound></ErrorList><WarningList>"
                "<OutputMessage>No items found.</OutputMessage></WarningList></eSearchResult>"
            )
            return 200, "text/xml", body.encode()
        webenv = "MCID_" + uuid.uuid4().hex
        self.history[webenv] = {"1": found}
        ids = "".join(f"<Id>{a.pmid}</Id>" for a in found[retstart : retstart + retmax])
        body = (
            f"{_ESEARCH_HEAD}<eSearchResult><Count>{len(found)}</Count>"
            f"<RetMax>{min(retmax, len(found))}</RetMax><RetStart>{retstart}</RetStart>"
            f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv><IdList>{ids}</IdList>"
            f"<TranslationSet/><QueryTranslation>{escape(term)}</QueryTranslation>"
            "</eSearchResult>"
        )
        return 200, "text/xml", body.encode()

    def _efetch(self, params: dict[str, str]) -> tuple[int, str, bytes]:
        webenv = params.get("WebEnv") or params.get("webenv", "")  # E-utilities take either
        found = self.history.get(webenv, {}).get(params.get("query_key", ""))
        if found is None:
            body = (
                '<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n\t<ERROR>Unable to '
                "obtain query #1</ERROR>\n</eFetchResult>\n"
            )
            return 400, "text/xml", body.encode()
        retstart = int(params.get("retstart", "0"))
        retmax = int(params.get("retmax", "20"))
        if retstart + retmax > EFETCH_LIMIT:
            body = (
                '<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n\t<ERROR>Search '
                "Backend failed: retstart beyond the 10,000 records the history server "
                "serves</ERROR>\n</eFetchResult>\n"
            )
            return 400, "text/xml", body.encode()
        return 200, "text/xml", self.page(found[retstart : retstart + retmax])


# --------------------------------------------------------------------------------------------
# Europe PMC


def _cursor(offset: int) -> str:
    return "AoJ" + base64.b64encode(str(offset).encode()).decode()


def _offset(cursor: str) -> int:
    return 0 if cursor == "*" else int(base64.b64decode(cursor[3:]).decode())


def europepmc_result(i: int) -> dict[str, Any]:
    """A core result as Europe PMC returns it (a MEDLINE record, or a preprint every 50th)."""
    pmid = str(35_000_000 + i)
    if i % 50 == 49:
        return {
            "id": f"PPR{700000 + i}",
            "source": "PPR",
            "doi": f"10.1101/2024.01.{i:05d}",
            "title": f"Preprint {i}: adipose stem cells in atopic dermatitis",
            "authorString": "Kowalska A, Nowak B.",
            "authorList": {
                "author": [
                    {
                        "fullName": "Kowalska A",
                        "firstName": "Anna",
                        "lastName": "Kowalska",
                        "initials": "A",
                    },
                    {
                        "fullName": "Nowak B",
                        "firstName": "Bartosz",
                        "lastName": "Nowak",
                        "initials": "B",
                    },
                ]
            },
            "pubYear": "2024",
            "abstractText": f"<h4>Background</h4>Preprint {i} abstract.",
            "language": "eng",
            "pubModel": "Undetermined",
            "pubTypeList": {"pubType": ["Preprint"]},
            "bookOrReportDetails": {"publisher": "bioRxiv", "yearOfPublication": 2024},
            "isOpenAccess": "N",
            "inEPMC": "N",
            "inPMC": "N",
            "hasPDF": "N",
            "citedByCount": 0,
            "firstPublicationDate": "2024-01-15",
        }
    return {
        "id": pmid,
        "source": "MED",
        "pmid": pmid,
        "pmcid": f"PMC{9000000 + i}",
        "doi": f"10.5555/epmc.{i}",
        "title": f"Exosomes from adipose-derived stem cells in psoriasis, cohort {i}.",
        "authorString": "Smith J, M\u00fcller A.",
        "authorList": {
            "author": [
                {
                    "fullName": "Smith J",
                    "firstName": "John",
                    "lastName": "Smith",
                    "initials": "J",
                    "authorAffiliationDetailsList": {
                        "authorAffiliation": [
                            {"affiliation": "Dept of Dermatology, Example University."}
                        ]
                    },
                },
                {
                    "fullName": "M\u00fcller A",
                    "firstName": "Anna",
                    "lastName": "M\u00fcller",
                    "initials": "A",
                },
            ]
        },
        "journalInfo": {
            "issue": str(i % 12 + 1),
            "volume": str(i % 30 + 1),
            "journalIssueId": 3000000 + i,
            "dateOfPublication": "2021 Mar",
            "monthOfPublication": 3,
            "yearOfPublication": 2021,
            "printPublicationDate": "2021-03-01",
            "journal": {
                "title": "Journal of Dermatological Science",
                "medlineAbbreviation": "J Dermatol Sci",
                "isoabbreviation": "J Dermatol Sci",
                "nlmid": "9011485",
                "issn": "0923-1811",
                "essn": "1873-569X",
            },
        },
        "pubYear": "2021",
        "pageInfo": f"{i % 300 + 1}-{i % 300 + 8}",
        "abstractText": f"Adipose-derived stem cell exosomes reduced <i>IL-17</i> in study {i}.",
        "language": "eng",
        "pubModel": "Print-Electronic",
        "pubTypeList": {"pubType": ["research-article", "Journal Article"]},
        "keywordList": {"keyword": ["Psoriasis", "Exosomes"]},
        "meshHeadingList": {
            "meshHeading": [
                {
                    "majorTopic_YN": "Y",
                    "descriptorName": "Psoriasis",
                    "meshQualifierList": {
                        "meshQualifier": [
                            {"abbreviation": "TH", "qualifierName": "therapy", "majorTopic_YN": "N"}
                        ]
                    },
                },
                {"majorTopic_YN": "N", "descriptorName": "Humans"},
            ]
        },
        "isOpenAccess": "N",
        "inEPMC": "N",
        "inPMC": "N",
        "hasPDF": "N",
        "hasBook": "N",
        "citedByCount": i % 17,
        "hasReferences": "Y",
        "firstIndexDate": "2021-02-10",
        "firstPublicationDate": "2021-02-09",
    }


class FakeEuropePmc(Service):
    prefix = "/europepmc/webservices/rest/"

    def __init__(self) -> None:
        super().__init__()
        self.corpora: dict[str, list[dict[str, Any]]] = {}
        # Records the index counts but no longer serves (hitCount drifts from what pages hold).
        self.extra_hits = 0

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        if path != "search":
            return 404, "text/plain", b"not found"
        size = int(params.get("pageSize", "25"))
        if not 1 <= size <= 1000:
            body = {
                "errCode": 404,
                "errMsg": "Invalid page size provided. Valid size is between 1 and 1000",
            }
            return 200, "application/json", json.dumps(body).encode()
        found = self.corpora.get(params.get("query", ""), [])
        cursor = params.get("cursorMark", "*")
        start = _offset(cursor)
        chunk = found[start : start + size]
        if params.get("resultType") == "idlist":
            chunk = [
                {
                    "id": r["id"],
                    "source": r["source"],
                    **({"pmid": r["pmid"]} if "pmid" in r else {}),
                }
                for r in chunk
            ]
        body: dict[str, Any] = {"version": "6.9", "hitCount": len(found) + self.extra_hits}
        if len(found) > 1:
            body["nextCursorMark"] = _cursor(start + len(chunk)) if chunk else cursor
        body["request"] = {
            "queryString": params.get("query", ""),
            "resultType": params.get("resultType", "lite"),
            "cursorMark": cursor,
            "pageSize": size,
            "sort": "",
            "synonym": False,
        }
        body["resultList"] = {"result": chunk}
        return 200, "application/json;charset=UTF-8", json.dumps(body).encode()


# --------------------------------------------------------------------------------------------
# OpenAlex


class FakeOpenAlex(Service):
    prefix = "/openalex/"

    def __init__(self) -> None:
        super().__init__()
        self.corpora: dict[str, list[dict[str, Any]]] = {}

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        if path != "works":
            return 404, "application/json", b'{"error": "not found"}'
        size = int(params.get("per-page", "25"))
        if not 1 <= size <= 200:
            body = {
                "error": "Invalid query parameters error.",
                "message": "per-page parameter must be between 1 and 200",
            }
            return 400, "application/json", json.dumps(body).encode()
        found = self.corpora.get(params.get("search", ""), [])
        filters = dict(
            part.split(":", 1) for part in params.get("filter", "").split(",") if ":" in part
        )
        if "from_created_date" in filters or "to_created_date" in filters:
            low = filters.get("from_created_date", "0000-00-00")
            high = filters.get("to_created_date", "9999-99-99")
            found = [w for w in found if low <= w.get("created_date", "")[:10] <= high]
        cursor = params.get("cursor")
        start = _offset(cursor) if cursor else 0
        chunk = found[start : start + size]
        if params.get("select") == "id":
            chunk = [{"id": w["id"]} for w in chunk]
        following = _cursor(start + len(chunk)) if chunk and cursor else None
        body = {
            "meta": {
                "count": len(found),
                "db_response_time_ms": 31,
                "page": None,
                "per_page": size,
                "next_cursor": following,
                "groups_count": None,
            },
            "results": chunk,
            "group_by": [],
        }
        return 200, "application/json", json.dumps(body).encode()


# --------------------------------------------------------------------------------------------
# The server


class FakeServices:
    def __init__(self) -> None:
        self.pubmed = FakePubMed()
        self.europepmc = FakeEuropePmc()
        self.openalex = FakeOpenAlex()
        self.services: list[Service] = [self.pubmed, self.europepmc, self.openalex]
        handler = type("Handler", (_Handler,), {"services": self.services})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, kind: str) -> str:
        service = {"pubmed": self.pubmed, "europepmc": self.europepmc, "openalex": self.openalex}
        return f"http://127.0.0.1:{self.port}{service[kind].prefix}"

    def environ(self) -> dict[str, str]:
        return {
            "METASIFT_PUBMED_URL": self.url("pubmed"),
            "METASIFT_EUROPEPMC_URL": self.url("europepmc"),
            "METASIFT_OPENALEX_URL": self.url("openalex"),
        }

    def start(self) -> FakeServices:
        self.thread.start()
        return self

    def stop(self) -> None:
        for service in self.services:
            for rule in service._rules:
                for fault in rule.faults:
                    fault.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    services: list[Service]
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            params.update(
                parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
            )
        service = next((s for s in self.services if parts.path.startswith(s.prefix)), None)
        if service is None:
            self._send(404, "text/plain", b"no such service")
            return
        path = parts.path[len(service.prefix) :]
        with service._lock:
            service.requests.append(Seen(time.monotonic(), method, path, params))
        fault = service.take_fault(path, params)
        if fault is not None and fault.kind == "status":
            self._send(
                fault.status, "application/json", fault.body or b'{"error":"fault"}', fault.headers
            )
            return
        if fault is not None and fault.kind == "hang":
            fault.reached.set()
            fault.release.wait(60)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "sleep":
            time.sleep(fault.seconds)
        status, ctype, body = service.handle(method, path, params)
        if fault is not None and fault.kind == "drop":
            # Announce the whole page, send half of it, and cut the connection.
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "malformed":
            body = body[: len(body) // 2]
        self._send(status, ctype, body)

    def _send(self, status: int, ctype: str, body: bytes, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most requests that arrived within any ``window`` seconds (half-open)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


# --------------------------------------------------------------------------------------------
# Places nothing answers


# A host under the reserved .invalid TLD (RFC 6761): no resolver gives it an address.
UNRESOLVABLE = "eutils.metasift-test.invalid"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
