"""Scoring (and de-duplicating) records at PubMed scale on Dask: time, memory per worker,
scaling with workers, throughput per core against the single-process path.

Records: the real titles, abstracts and MeSH headings of the 19 labelled collections in
../shared/data (five SYNERGY sets, Cohen 2006, Kitchenham 2010), repeated with new ids up to
each size (--sizes, default 1M), written once as Parquet shards of --shard-rows records.
The model: the default screening model trained on one finished review (SYNERGY
Donners_2021, every record decided), frozen as ``metasift score`` freezes a project's.

For each size:
- single process: :func:`score_shards` without a client, in a fresh process of its own
  (its peak RSS is the single-process memory), on every shard or, with --single-shards K, on
  the first K (at 10M records the whole would take the single process hours; its rate per
  CPU second, measured just before the Dask runs under the same load, is the reference);
- Dask: a local cluster of W worker processes (one thread each) for each W in --workers,
  started afresh, scoring every shard; peak RSS is read from each worker at the end.
Throughput per core is given two ways: records per wall second divided by min(W, cores), and
records per CPU second (user + system time of the scoring processes: the single process, or
every worker while scoring), which stays fair when other work shares the machine's cores (the
load average at the end of each run is printed). The issue's goals are memory per worker flat
as records grow, and throughput per core within 20% of the single-process path.
With --dedup N, ``dedup FILE... --scheduler`` is timed the same way on N unique records plus
a copy of each (every record once duplicated), in shards of half --shard-rows records. The
unique records are the base corpus and, beyond its size, copies of it made distinct works:
copy k spells every title word, author surname, DOI and PMID with a suffix of its own, so no
two copies share a title word or an identifier (journals, years and pages stay, as in a real
database). The Dask client runs in a process of its own, so its peak memory is the client's
alone; CPU seconds are the single process's, or the client's plus every worker's during the
run (fair when other work shares the cores); --dedup-only skips the scoring runs.

What two shared cores can and cannot show: up to 2 workers, scaling is real (if the machine is
otherwise idle: the load average is printed); 3 and 4 workers on 2 cores only show the cost
of oversubscription (more processes, memory and scheduling for the same cores), not the
speed-up of 4 real cores. Memory per worker is a property of the batch size, and is what the
sizes show. Nothing here measures a network: workers are on one machine and read one disk.

Extrapolation to 37M records on N machines (printed at the end from the best measured
throughput per core): time = 37M / (throughput per core x cores per machine x N), assuming
(1) scoring is embarrassingly parallel (true: one task per shard, no shuffle), so throughput
grows with cores until storage bandwidth limits it; (2) each machine reads its shards at
the measured per-core rate (shared storage must deliver about throughput x shard bytes per
record, printed); (3) the scheduler's per-task overhead (milliseconds) is negligible against
tasks of seconds (740 shards of 50,000 records); (4) workers' memory stays at the measured
per-worker peak, since it depends on the batch, not on the number of records.

    .venv/bin/python benchmarks/scale_dask.py --sizes 1000000 --workers 1 2 3 4
    .venv/bin/python benchmarks/scale_dask.py --dedup-only --dedup 100000 --workers 1 2

The runs made and their figures are in README.md, "At PubMed scale, on Dask".
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

from _screening_data import collections, load
from rich.console import Console
from rich.table import Table

from metasift.records.model import Record
from metasift.records.shards import ROWS_PER_SHARD, shard_rows, write_shards
from metasift.scale import dask_client
from metasift.screening.model_file import save_model
from metasift.screening.models import get_model
from metasift.screening.scoring import train_project_model
from metasift.screening.shards import score_shards

console = Console(width=160)
PUBMED = 37_000_000


def base_records() -> list[Record]:
    """Every record of the 19 collections (title, abstract, MeSH headings)."""
    records: list[Record] = []
    for collection in collections():
        for r in load(collection)[0]:
            records.append(
                Record(
                    title=r.title,
                    abstract=r.abstract,
                    mesh_terms=r.mesh_terms,
                    doi=r.doi,
                    pmid=r.pmid,
                    year=r.year,
                    authors=r.authors,
                    journal=r.journal,
                    volume=r.volume,
                    pages=r.pages,
                )
            )
    return records


def project_model_file(folder: Path) -> Path:
    donners = next(c for c in collections() if c.name == "Donners_2021")
    records, labels = load(donners)
    model = train_project_model(
        records, {i: int(y) for i, y in enumerate(labels)}, get_model("default"), seed=0
    )
    return save_model(model, folder / "model.pkl")


def write_corpus(base: list[Record], n: int, folder: Path, rows: int) -> list[Path]:
    """``n`` records, the base corpus repeated with new ids, as shards."""
    items = ((f"r{i:09d}", base[i % len(base)]) for i in range(n))
    return write_shards(items, folder, rows)


def _usage() -> tuple[float, float]:
    """(peak RSS in MB, CPU seconds) of this process so far.

    The peak is the kernel's VmHWM: ``ru_maxrss`` would not do, since Linux carries it over
    an exec, so a process spawned from this one would report at least this one's peak.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return peak, usage.ru_utime + usage.ru_stime


def _single(model_file: Path, shards: list[Path], out: Path) -> tuple[float, float, float]:
    _, cpu_before = _usage()
    start = time.perf_counter()
    score_shards(model_file, shards, out)
    seconds = time.perf_counter() - start
    peak, cpu = _usage()
    return seconds, peak, cpu - cpu_before


def single_process(model_file: Path, shards: list[Path], out: Path) -> tuple[float, float, float]:
    """(seconds, peak MB, CPU seconds) of the single-process path, in a fresh process."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_single, model_file, shards, out).result()


def on_dask(
    model_file: Path, shards: list[Path], out: Path, workers: int
) -> tuple[float, list[float], float]:
    """(seconds, peak MB of each worker, the workers' CPU seconds while scoring) on a fresh
    local cluster of ``workers`` processes."""
    with dask_client(n_workers=workers) as client:
        client.wait_for_workers(workers)
        before = sum(cpu for _, cpu in client.run(_usage).values())
        start = time.perf_counter()
        score_shards(model_file, shards, out, client)
        seconds = time.perf_counter() - start
        after = client.run(_usage).values()
    return seconds, sorted(p for p, _ in after), sum(c for _, c in after) - before


def _suffix(k: int) -> str:
    letters = ""
    while k:
        k, r = divmod(k, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
    return "q" + letters


def unique_records(base: list[Record], n: int) -> list[Record]:
    """``n`` distinct works: the base corpus, then copies of it with their own words and ids."""
    out = []
    for i in range(n):
        k, j = divmod(i, len(base))
        record = base[j]
        if k:
            tag = _suffix(k)
            record = replace(
                record,
                title=" ".join(w + tag for w in (record.title or "").split()),
                authors=[a.replace(",", tag + ",", 1) for a in record.authors],
                doi=f"{record.doi}.{tag}" if record.doi else None,
                pmid=f"{record.pmid}{k:03d}" if record.pmid else None,
            )
        out.append(record)
    return out


def _client_dedup(address: str, shards: list[Path]) -> tuple[list, int, float, float, float, float]:
    """``dedup_files_distributed`` as a client of the cluster at ``address``: (rows, unique,
    seconds, this process's peak MB once connected and at the end, its CPU seconds)."""
    from metasift.dedup.distributed import dedup_files_distributed

    with dask_client(address) as client:
        before, cpu_before = _usage()
        start = time.perf_counter()
        rows, kept = dedup_files_distributed(shards, client)
        seconds = time.perf_counter() - start
    peak, cpu = _usage()
    return rows, kept, seconds, before, peak, cpu - cpu_before


def _single_dedup(shards: list[Path]) -> tuple[list, int, float, float, float]:
    from metasift.dedup.standalone import dedup_files

    _, cpu_before = _usage()
    start = time.perf_counter()
    rows, result = dedup_files(shards)
    seconds = time.perf_counter() - start
    peak, cpu = _usage()
    return rows, result.n_records - result.duplicates_removed, seconds, peak, cpu - cpu_before


def dedup_bench(base: list[Record], n: int, folder: Path, workers: list[int], rows: int) -> None:
    unique = unique_records(base, n)
    items = ((f"d{i:09d}", unique[i % len(unique)]) for i in range(2 * len(unique)))
    shards = write_shards(items, folder / "dedup", rows)
    table = Table(
        "path",
        "records",
        "seconds",
        "records/s",
        "CPU s",
        "peak MB per worker (idle)",
        "peak MB of the client (connected)",
        "unique",
        "load avg",
        title=f"dedup of {2 * len(unique):,} records ({len(unique):,} unique), "
        f"{len(shards)} shards",
    )
    spawn = get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        expected, kept, seconds, peak, cpu = pool.submit(_single_dedup, shards).result()
    table.add_row(
        "one process",
        f"{len(expected):,}",
        f"{seconds:.1f}",
        f"{len(expected) / seconds:,.0f}",
        f"{cpu:.1f}",
        "-",
        f"{peak:,.0f}",
        f"{kept:,}",
        f"{os.getloadavg()[0]:.1f}",
    )
    for w in workers:
        with dask_client(n_workers=w) as client:
            client.wait_for_workers(w)
            idle = client.run(_usage)
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                found, kept, seconds, connected, client_peak, cpu = pool.submit(
                    _client_dedup, client.scheduler.address, shards
                ).result()
            after = client.run(_usage)
            peaks = sorted((p, idle[w][0]) for w, (p, _) in after.items())
            cpu += sum(c - idle[w][1] for w, (_, c) in after.items())
        same = "same" if found == expected else "DIFFERENT"
        table.add_row(
            f"Dask, {w} worker(s) ({same})",
            f"{len(found):,}",
            f"{seconds:.1f}",
            f"{len(found) / seconds:,.0f}",
            f"{cpu:.1f}",
            ", ".join(f"{p:,.0f} ({i:,.0f})" for p, i in peaks),
            f"{client_peak:,.0f} ({connected:,.0f})",
            f"{kept:,}",
            f"{os.getloadavg()[0]:.1f}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--shard-rows", type=int, default=ROWS_PER_SHARD)
    parser.add_argument("--dedup", type=int, default=0, help="unique records for dedup (0: no)")
    parser.add_argument("--dedup-only", action="store_true", help="skip the scoring runs")
    parser.add_argument("--no-single", action="store_true", help="skip the single process")
    parser.add_argument(
        "--single-shards",
        type=int,
        default=0,
        help="the single process scores only the first K shards (0: all), a same-time "
        "reference for sizes that would take it hours",
    )
    parser.add_argument("--scratch", type=Path, default=None, help="folder for the shards")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    folder = Path(tempfile.mkdtemp(prefix="metasift-scale-", dir=args.scratch))
    try:
        base = base_records()
        sizes = [] if args.dedup_only else args.sizes
        model_file = project_model_file(folder) if sizes else None
        console.print(
            f"{len(base):,} base records; {cores} cores; load average before: "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )
        best = 0.0
        shard_bytes = 0.0
        for n in sizes:
            results = Table(
                "records",
                "path",
                "wall s",
                "records/s",
                "per core (wall)",
                "CPU s",
                "per CPU-s",
                "vs one process (CPU)",
                "peak MB per worker",
                "load avg",
                title=f"metasift score: the default model on {n:,} records in shards",
            )
            shards = write_corpus(base, n, folder / f"shards-{n}", args.shard_rows)
            shard_bytes = sum(p.stat().st_size for p in shards) / n
            single_cpu_rate = None
            if not args.no_single:
                some = shards[: args.single_shards or len(shards)]
                m = sum(shard_rows(s) for s in some)
                seconds, peak, cpu = single_process(model_file, some, folder / "out-single")
                single_cpu_rate = m / cpu
                best = max(best, single_cpu_rate)
                results.add_row(
                    f"{m:,}",
                    "one process",
                    f"{seconds:.1f}",
                    f"{m / seconds:,.0f}",
                    f"{m / seconds:,.0f}",
                    f"{cpu:.1f}",
                    f"{single_cpu_rate:,.0f}",
                    "1.00",
                    f"{peak:,.0f}",
                    f"{os.getloadavg()[0]:.1f}",
                )
            for w in args.workers:
                out = folder / f"out-{w}"
                seconds, peaks, cpu = on_dask(model_file, shards, out, w)
                rate = n / seconds
                cpu_rate = n / cpu
                best = max(best, cpu_rate)
                ratio = f"{cpu_rate / single_cpu_rate:.2f}" if single_cpu_rate else "-"
                results.add_row(
                    f"{n:,}",
                    f"Dask, {w} worker(s)",
                    f"{seconds:.1f}",
                    f"{rate:,.0f}",
                    f"{rate / min(w, cores):,.0f}",
                    f"{cpu:.1f}",
                    f"{cpu_rate:,.0f}",
                    ratio,
                    ", ".join(f"{p:,.0f}" for p in peaks),
                    f"{os.getloadavg()[0]:.1f}",
                )
                shutil.rmtree(out, ignore_errors=True)
            console.print(results)
            shutil.rmtree(folder / f"shards-{n}", ignore_errors=True)
        if best:
            lines = [
                f"Extrapolation to {PUBMED:,} records at {best:,.0f} records per CPU-second "
                f"(the best measured; a dedicated core), shards of {shard_bytes:,.0f} bytes a "
                "record:"
            ]
            for machines, per in ((1, 2), (10, 2), (10, 16), (50, 16)):
                hours = PUBMED / (best * per * machines) / 3600
                mb_s = best * per * machines * shard_bytes / 2**20
                lines.append(
                    f"  {machines} machine(s) x {per} cores: {hours:.2f} h, "
                    f"reading {mb_s:,.0f} MB/s of shards"
                )
            console.print("\n".join(lines))
        if args.dedup:
            workers = [w for w in args.workers if w <= cores]
            dedup_bench(base, args.dedup, folder, workers, args.shard_rows // 2)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
