"""Where open-access full texts are found: Europe PMC, the PMC OA service and Unpaywall.

Each look-up asks one service about one record and answers a :class:`Lookup`: the copies it
offers (:class:`Candidate`, each with the media type it promises and its licence), or why it
has none. Only the services' documented answers are read:

* Europe PMC REST ``search`` with ``resultType=core`` (by PMCID, PMID or DOI): ``pmcid``,
  ``inEPMC``/``isOpenAccess``, ``license`` and ``fullTextUrlList``; the JATS XML of a PMC
  article is then ``/{PMCID}/fullTextXML``;
* the PMC OA web service ``oa.fcgi?id=PMCID``: an ``<OA>`` document whose ``<record>`` has a
  ``license`` and ``<link format="pdf" href=...>`` (NCBI's ``ftp://`` links are read over
  https, which NCBI serves at the same paths), or an ``<error code=...>``;
* Unpaywall ``/v2/{doi}?email=...``: ``is_oa``, ``best_oa_location`` and ``oa_locations`` with
  ``url_for_pdf`` and ``license``. A location with only a landing page offers no copy.

The e-mail goes to Unpaywall only (it asks for one) and only under the rule of
:mod:`metasift.search.config`: the service's own https host, or a URL the user set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lxml import etree

from metasift.errors import SearchError, SearchHTTPError
from metasift.records.model import Record
from metasift.search.http import HttpClient

PDF = "application/pdf"
JATS = "application/jats+xml"
EUROPEPMC, PMC_OA, UNPAYWALL = "europepmc", "pmc_oa", "unpaywall"
SOURCE_NAMES = {
    EUROPEPMC: "Europe PMC",
    PMC_OA: "PMC OA",
    UNPAYWALL: "Unpaywall",
    "upload": "attached",
}


@dataclass(frozen=True)
class Candidate:
    """A copy a service offers: its URL, the media type promised, its licence.

    ``url`` is relative to the service's base URL when ``own`` (the service serves it), else
    absolute (a publisher's or repository's server).
    """

    source: str
    url: str
    media_type: str
    licence: str | None = None
    own: bool = False


@dataclass
class Lookup:
    """One service's answer for one record: copies offered, or why none (``detail``).

    ``failed`` says the service could not be asked (after retries): the record is looked up
    again on the next fetch, instead of counting as not found.
    """

    source: str
    candidates: list[Candidate] = field(default_factory=list)
    detail: str = ""
    failed: bool = False
    url: str | None = None
    pmcid: str | None = None


def _europepmc_query(record: Record) -> str | None:
    if record.pmcid:
        return f"PMCID:{record.pmcid}"
    if record.pmid:
        return f"EXT_ID:{record.pmid} AND SRC:MED"
    if record.doi:
        return f'DOI:"{record.doi}"'
    return None


def lookup_europepmc(http: HttpClient, record: Record) -> Lookup:
    """Europe PMC's full texts of ``record``: its PMC JATS XML, then the PDFs it lists.

    Args:
        http: the Europe PMC client (base URL .../webservices/rest/).
        record: the record (PMCID, PMID or DOI).
    """
    query = _europepmc_query(record)
    if query is None:
        return Lookup(EUROPEPMC, detail="no PMCID, PMID or DOI to look up")
    params = {"query": query, "resultType": "core", "format": "json", "pageSize": 1}
    shown = http.shown_url("search", params)
    try:
        data = http.get_json("search", params, what=f"Europe PMC look-up of {query}")
    except SearchError as exc:
        return Lookup(EUROPEPMC, detail=str(exc), failed=True, url=shown)
    results = (data.get("resultList") or {}).get("result") or []
    if not results or not isinstance(results[0], dict):
        return Lookup(EUROPEPMC, detail="not in Europe PMC", url=shown)
    result: dict[str, Any] = results[0]
    pmcid = result.get("pmcid") or record.pmcid
    licence = result.get("license")
    found = Lookup(EUROPEPMC, url=shown, pmcid=pmcid)
    open_access = "Y" in (result.get("inEPMC"), result.get("isOpenAccess"))
    if pmcid and open_access:
        found.candidates.append(
            Candidate(EUROPEPMC, f"{quote(pmcid)}/fullTextXML", JATS, licence, own=True)
        )
    links = ((result.get("fullTextUrlList") or {}).get("fullTextUrl")) or []
    for link in links if isinstance(links, list) else [links]:
        if not isinstance(link, dict) or not str(link.get("url", "")).startswith("http"):
            continue
        if link.get("documentStyle") == "pdf" and link.get("availabilityCode") in ("OA", "F"):
            found.candidates.append(Candidate(EUROPEPMC, link["url"], PDF, licence))
    if not found.candidates:
        found.detail = "in Europe PMC, without an open-access full text"
    return found


def lookup_pmc_oa(http: HttpClient, pmcid: str | None) -> Lookup:
    """The PDF the PMC OA service offers for ``pmcid``.

    Args:
        http: the PMC OA client (base URL .../pmc/utils/oa/).
        pmcid: the article's PMCID (found by Europe PMC when the record had none).
    """
    if not pmcid:
        return Lookup(PMC_OA, detail="no PMCID")
    params = {"id": pmcid}
    shown = http.shown_url("oa.fcgi", params)
    try:
        response = http.get("oa.fcgi", params, what=f"PMC OA look-up of {pmcid}")
    except SearchError as exc:
        return Lookup(PMC_OA, detail=str(exc), failed=True, url=shown)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(response.content, parser)
    except etree.XMLSyntaxError as exc:
        return Lookup(PMC_OA, detail=f"PMC OA sent malformed XML ({exc})", failed=True, url=shown)
    error = root.find("error")
    if error is not None:
        code = error.get("code") or "error"
        return Lookup(PMC_OA, detail=f"{code}: {(error.text or '').strip()}", url=shown)
    found = Lookup(PMC_OA, url=shown, pmcid=pmcid)
    for rec in root.iter("record"):
        for link in rec.iter("link"):
            href = link.get("href") or ""
            if href.startswith("ftp://"):
                href = "https://" + href[len("ftp://") :]
            if link.get("format") == "pdf" and href.startswith("http"):
                found.candidates.append(Candidate(PMC_OA, href, PDF, rec.get("license")))
    if not found.candidates:
        found.detail = "no PDF in the PMC open-access subset (a package only, or none)"
    return found


def lookup_unpaywall(http: HttpClient, doi: str | None, email: str | None) -> Lookup:
    """The open-access PDFs Unpaywall knows for ``doi``, the best location first.

    Args:
        http: the Unpaywall client (base URL https://api.unpaywall.org/).
        doi: the record's DOI.
        email: the contact e-mail Unpaywall requires.
    """
    if not doi:
        return Lookup(UNPAYWALL, detail="no DOI")
    if not email:
        # Not a "no": the record is looked up again once an e-mail is set.
        return Lookup(UNPAYWALL, detail="not asked (no contact e-mail set)", failed=True)
    path = f"v2/{quote(doi, safe='/')}"
    params = {"email": email}
    shown = http.shown_url(path, params)
    try:
        data = http.get_json(path, params, what=f"Unpaywall look-up of {doi}")
    except SearchHTTPError as exc:
        if exc.status == 404:
            return Lookup(UNPAYWALL, detail="Unpaywall does not know this DOI", url=shown)
        return Lookup(UNPAYWALL, detail=str(exc), failed=True, url=shown)
    except SearchError as exc:
        return Lookup(UNPAYWALL, detail=str(exc), failed=True, url=shown)
    found = Lookup(UNPAYWALL, url=shown)
    locations = [data.get("best_oa_location"), *(data.get("oa_locations") or [])]
    seen: set[str] = set()
    for loc in locations:
        if not isinstance(loc, dict):
            continue
        url = str(loc.get("url_for_pdf") or "")
        if url.startswith("http") and url not in seen:
            seen.add(url)
            found.candidates.append(Candidate(UNPAYWALL, url, PDF, loc.get("license")))
    if not found.candidates:
        found.detail = (
            "no open-access copy" if not data.get("is_oa") else "open access, but no PDF link"
        )
    return found
