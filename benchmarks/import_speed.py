"""Import speed: metasift's PubMed readers side by side with Biopython's parsers.

Builds PubMed efetch XML files of 10k and 100k articles (the real articles of
tests/fixtures/formats/pubmed_xml repeated with new PMIDs), optionally a 2 GB one (--big),
and reads each with

* metasift's PubMed XML reader (records.formats.read_file) vs Bio.Entrez.parse (streaming);
* metasift's MEDLINE reader vs Bio.Medline.parse, on MEDLINE files built the same way from
  tests/fixtures/formats/medline;
* and, on the largest file of each format, ``metasift import FILE`` end to end (start-up,
  detection, checksum, reading and the SQLite store of a fresh project): the import rate a
  user sees. Its ratio is against the same Biopython parser, which stores nothing.

Every reader runs in its own subprocess, so that its peak resident memory (ru_maxrss) is its
own, ``--repeat`` times (default 3) interleaved with the peer's runs; the fastest run counts.
Prints records per CPU second (the machine is shared: CPU time is steadier than wall time;
wall-clock records/s are shown too), peak RSS and the metasift/Biopython ratio. Goal: >= 3x
Biopython's throughput, memory flat as the file grows.

    python benchmarks/import_speed.py                 # 10k and 100k articles
    python benchmarks/import_speed.py --big           # and a 2 GB file
    python benchmarks/import_speed.py --sizes 2000    # quick look
    python benchmarks/import_speed.py --no-import     # readers only
    python benchmarks/import_speed.py --repeat 1      # one run each
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XML_FIXTURES = ROOT / "tests" / "fixtures" / "formats" / "pubmed_xml"
MEDLINE_FIXTURES = ROOT / "tests" / "fixtures" / "formats" / "medline"
BIG_BYTES = 2 * 1024**3

# Bio.Entrez.parse streams only a document whose DTD makes the root a plain list; since 2017
# NLM's DTDs allow a DeleteCitation after the articles, which makes Biopython read the root
# as a dictionary and refuse to stream (biopython issue #1027: "use Entrez.read", which loads
# the whole file). The files therefore declare the 2015 DTD, whose root is a list; Biopython
# is given validate=False for the elements NLM added since. metasift ignores the DTD.
XML_HEADER = (
    b'<?xml version="1.0" ?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2015//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_150101.dtd">\n'
    b"<PubmedArticleSet>\n"
)
XML_FOOTER = b"</PubmedArticleSet>\n"
_ARTICLE = re.compile(rb"<PubmedArticle>.*?</PubmedArticle>", re.DOTALL)
_OWN_PMID = re.compile(rb"(<MedlineCitation[^>]*>\s*<PMID[^>]*>)\d+(</PMID>)")
_ID_PMID = re.compile(rb'(<ArticleId IdType="pubmed">)\d+(</ArticleId>)')
_MEDLINE_PMID = re.compile(rb"^PMID- *\d+", re.MULTILINE)


# -- building the files ------------------------------------------------------------------
def _xml_articles() -> list[bytes]:
    articles = []
    for path in sorted(XML_FIXTURES.rglob("*.xml")):
        articles.extend(m.group(0) for m in _ARTICLE.finditer(path.read_bytes()))
    return articles


def _medline_records() -> list[bytes]:
    records = []
    for path in sorted(MEDLINE_FIXTURES.rglob("*")):
        if path.is_file():
            text = path.read_bytes().replace(b"\r\n", b"\n")
            records.extend(
                b"PMID-" + chunk.strip(b"\n") + b"\n"
                for chunk in re.split(rb"^PMID-", text, flags=re.MULTILINE)[1:]
            )
    return records


def _renumbered(templates: list[bytes], count: int | None, size: int | None) -> Iterator[bytes]:
    """Templates repeated with fresh PMIDs, until ``count`` records or ``size`` bytes."""
    written = 0
    n = 0
    while (count is None or n < count) and (size is None or written < size):
        pmid = b"%d" % (40_000_000 + n)
        text = templates[n % len(templates)]
        if text.startswith(b"PMID-"):
            text = _MEDLINE_PMID.sub(b"PMID- " + pmid, text, count=1)
        else:
            text = _OWN_PMID.sub(rb"\g<1>" + pmid + rb"\g<2>", text, count=1)
            text = _ID_PMID.sub(rb"\g<1>" + pmid + rb"\g<2>", text, count=1)
        written += len(text) + 1
        n += 1
        yield text


def build_xml(path: Path, count: int | None = None, size: int | None = None) -> int:
    n = 0
    with path.open("wb") as out:
        out.write(XML_HEADER)
        for article in _renumbered(_xml_articles(), count, size):
            out.write(article + b"\n")
            n += 1
        out.write(XML_FOOTER)
    return n


def build_medline(path: Path, count: int) -> int:
    with path.open("wb") as out:
        for record in _renumbered(_medline_records(), count, None):
            out.write(record + b"\n")
    return count


# -- one measured run (in its own process) -----------------------------------------------
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _metasift_command() -> list[str]:
    script = Path(sys.executable).with_name("metasift")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from metasift.cli import main; main()"]


def run_import(path: Path) -> dict:
    """``metasift import`` of ``path`` into a fresh project, timed as the child process it is.

    The project is made first (``metasift init``, not timed); the import is the whole command
    as a user runs it: start-up, format detection, checksum, reading, the SQLite store.
    """
    project = Path(tempfile.mkdtemp(prefix="metasift-bench-project-"))
    command = _metasift_command()
    subprocess.run([*command, "init", str(project)], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [*command, "import", str(path), "--project", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"metasift import failed:\n{out.stdout}\n{out.stderr}")
    counts = re.search(r"read (\d+), imported (\d+), rejected (\d+)", out.stdout)
    if counts is None:
        raise SystemExit(f"unexpected output of metasift import:\n{out.stdout}")
    shutil.rmtree(project)
    return {
        "records": int(counts.group(2)),
        "rejected": int(counts.group(3)),
        "seconds": seconds,
        "cpu_seconds": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_start_mb": 0.0,
        # RUSAGE_CHILDREN's ru_maxrss is that of the largest child: the import.
        "rss_peak_mb": after.ru_maxrss / 1024,
    }


def run_one(reader: str, path: Path) -> dict:
    if reader == "metasift-import":
        return run_import(path)
    if reader == "metasift-xml" or reader == "metasift-medline":
        from metasift.records.formats import Rejection, read_file

        fmt = "pubmed-xml" if reader == "metasift-xml" else "medline"
        start_rss = _maxrss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        records = rejected = 0
        for item in read_file(path, fmt):
            if isinstance(item, Rejection):
                rejected += 1
            else:
                records += 1
    elif reader == "biopython-xml":
        from Bio import Entrez

        start_rss = _maxrss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        records = rejected = 0
        with path.open("rb") as handle:
            for _ in Entrez.parse(handle, validate=False):
                records += 1
    elif reader == "biopython-medline":
        from Bio import Medline

        start_rss = _maxrss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        records = rejected = 0
        with path.open(encoding="utf-8") as handle:
            for _ in Medline.parse(handle):
                records += 1
    else:
        raise SystemExit(f"unknown reader {reader}")
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "rejected": rejected,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "rss_start_mb": start_rss,
        "rss_peak_mb": _maxrss_mb(),
    }


def measure(reader: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--run", reader, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{reader} failed on {path}:\n{out.stderr}")
    return json.loads(out.stdout)


# -- the table -----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--big", action="store_true", help="also a 2 GB PubMed XML file")
    parser.add_argument("--workdir", type=Path, help="where to write the files (default: tmp)")
    parser.add_argument(
        "--no-import", action="store_true", help="skip the end-to-end 'metasift import' rows"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each reader per file; the fastest counts"
    )
    parser.add_argument("--run", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run[0], Path(args.run[1]))))
        return

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    console = Console(width=140)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="metasift-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Path, int, tuple[str, ...], str]] = []
    with console.status("building files"):
        for n in args.sizes:
            path = workdir / f"pubmed_{n}.xml"
            build_xml(path, count=n)
            jobs.append(("PubMed XML", path, n, ("metasift-xml",), "biopython-xml"))
        if args.big:
            path = workdir / "pubmed_2gb.xml"
            n = build_xml(path, size=BIG_BYTES)
            jobs.append(("PubMed XML", path, n, ("metasift-xml",), "biopython-xml"))
        for n in args.sizes:
            path = workdir / f"medline_{n}.txt"
            build_medline(path, n)
            jobs.append(("MEDLINE", path, n, ("metasift-medline",), "biopython-medline"))
    if not args.no_import:
        for fmt in ("PubMed XML", "MEDLINE"):
            largest = max((job for job in jobs if job[0] == fmt), key=lambda job: job[2])
            jobs[jobs.index(largest)] = (*largest[:3], (*largest[3], "metasift-import"), largest[4])

    table = Table(title="Import speed: metasift vs Biopython (each reader in its own process)")
    columns = (
        "format",
        "records",
        "file MB",
        "reader",
        "records/CPU s",
        "records/s (wall)",
        "peak RSS MB",
        "ratio (CPU)",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("format", "reader") else "right")
    labels = {"metasift-import": "metasift import (store)"}
    with Progress(console=console, transient=True) as progress:
        total = args.repeat * sum(len(job[3]) + 1 for job in jobs)
        task = progress.add_task("measuring", total=total)
        for fmt, path, n, ours, theirs in jobs:
            runs: dict[str, list[dict]] = {reader: [] for reader in (*ours, theirs)}
            for _ in range(args.repeat):
                for reader in runs:  # interleaved, so that a busy spell hits both sides
                    progress.update(task, description=f"{reader} on {path.name}")
                    run = measure(reader, path)
                    runs[reader].append(run)
                    progress.advance(task)
                    got = run["records"] + run["rejected"]
                    if got != n:
                        console.print(f"[red]{reader} read {got} of {n} records in {path.name}")
            results = {}
            for reader, done in runs.items():
                # The fastest run is the one least slowed by other work on the machine (as in
                # timeit); the peak memory is the largest of any run.
                results[reader] = {
                    **min(done, key=lambda run: run["cpu_seconds"]),
                    "rss_peak_mb": max(run["rss_peak_mb"] for run in done),
                }
            rate = {r: results[r]["records"] / results[r]["cpu_seconds"] for r in results}
            wall = {r: results[r]["records"] / results[r]["seconds"] for r in results}
            mb = path.stat().st_size / 1024**2
            for reader in (*ours, theirs):
                times = rate[reader] / rate[theirs]
                ratio = f"{times:.2f}x"
                ratio = "" if reader == theirs else ratio
                table.add_row(
                    fmt,
                    f"{n:,}",
                    f"{mb:,.0f}",
                    labels.get(reader, reader.split("-")[0]),
                    f"{rate[reader]:,.0f}",
                    f"{wall[reader]:,.0f}",
                    f"{results[reader]['rss_peak_mb']:,.0f}",
                    ratio,
                )
            table.add_section()
    console.print(table)
    console.print(f"files in {workdir}")


if __name__ == "__main__":
    main()
