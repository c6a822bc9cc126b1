"""A PubMed search of N records, metasift against Biopython's Bio.Entrez, side by side.

    python benchmarks/search_pubmed.py [--records 5000] [--batch 500]

Both clients talk to the same local E-utilities server (tests/search/fakes.py, esearch and
efetch XML as NCBI serves them) with an API key, so both pace themselves at NCBI's 10
requests/s. Biopython esearches on the history server, efetches the batches and parses them
with ``Entrez.read``; metasift does the same and also stores every batch, resumably, and
imports the records into a project store (SQLite). Wall time includes the pacing; CPU time
is the processing alone. Needs the peer: ``pip install biopython``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metasift.search import SearchSpec, run_search  # noqa: E402
from metasift.search.config import Credentials, SearchSettings  # noqa: E402
from metasift.store import create_db_engine, migrate  # noqa: E402
from metasift.store.records import count_records  # noqa: E402
from tests.search.fakes import FakeServices, synthetic_corpus  # noqa: E402

QUERY = '("adipose-derived stem cell*"[tiab] OR ADSC[tiab]) AND psoriasis[mh]'
NCBI = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


def timed(run) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    n = run()
    return time.perf_counter() - wall, time.process_time() - cpu, n


def metasift_run(server: FakeServices, batch: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{tmp}/store.sqlite")
        migrate(engine)
        spec = SearchSpec(
            source="PubMed", kind="pubmed", query=QUERY, base_url=server.url("pubmed")
        )
        run_search(
            engine,
            spec,
            credentials=Credentials(email="bench@example.org", ncbi_api_key="bench-key"),
            settings=SearchSettings(pubmed_batch=batch),
        )
        n = count_records(engine)
        engine.dispose()
        return n


def biopython_run(server: FakeServices, batch: int) -> int:
    from Bio import Entrez

    local = server.url("pubmed")

    def urlopen(request, *args, **kwargs):  # Bio.Entrez has the NCBI address built in
        request.full_url = request.full_url.replace(NCBI, local)
        return urllib.request.urlopen(request, *args, **kwargs)

    Entrez.urlopen = urlopen
    Entrez.email, Entrez.api_key, Entrez.tool = "bench@example.org", "bench-key", "benchmark"
    found = Entrez.read(Entrez.esearch(db="pubmed", term=QUERY, usehistory="y", retmax=0))
    count, n = int(found["Count"]), 0
    for start in range(0, count, batch):
        handle = Entrez.efetch(
            db="pubmed",
            retmode="xml",
            retstart=start,
            retmax=batch,
            webenv=found["WebEnv"],
            query_key=found["QueryKey"],
        )
        n += len(Entrez.read(handle)["PubmedArticle"])
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    if args.records > 10_000:
        parser.error("keep --records at 10,000 or less: Bio.Entrez does not split larger searches")
    server = FakeServices().start()
    server.pubmed.corpora[QUERY] = synthetic_corpus(args.records)
    rows = []
    try:
        rows.append(("metasift", *timed(lambda: metasift_run(server, args.batch))))
        try:
            import Bio  # noqa: F401
        except ImportError:
            print("peer not installed: pip install biopython", file=sys.stderr)
        else:
            rows.append(("Biopython Bio.Entrez", *timed(lambda: biopython_run(server, args.batch))))
    finally:
        server.stop()
    table = Table(title=f"PubMed search of {args.records:,} records, batches of {args.batch}")
    for column in ("client", "records", "wall s", "records/s", "CPU s", "CPU ms/record"):
        table.add_column(column, justify="left" if column == "client" else "right")
    for name, wall, cpu, n in rows:
        table.add_row(
            name,
            f"{n:,}",
            f"{wall:.2f}",
            f"{n / wall:,.0f}",
            f"{cpu:.2f}",
            f"{1000 * cpu / max(n, 1):.2f}",
        )
    if len(rows) == 2:
        (_, w1, c1, _), (_, w2, c2, _) = rows
        table.add_row("ratio metasift / peer", "", f"{w1 / w2:.2f}", "", f"{c1 / c2:.2f}", "")
    Console().print(table)
    print("metasift's times include storing each batch and importing into the project store.")


if __name__ == "__main__":
    main()
