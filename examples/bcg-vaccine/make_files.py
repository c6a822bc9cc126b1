"""Build this example's records and simulated extraction and risk-of-bias files from the data
set (data/dat_bcg.csv, metadat's dat.bcg as exported from R), so that every value in them can
be traced to a column of the data set.

    python examples/bcg-vaccine/make_files.py

Writes records.jsonl (one record per trial: author(s) and year, the only bibliographic fields
the data set has), data/extraction.csv (the extraction template's columns, keyed by the
record's source id) and data/rob.csv (RoB 2 signalling answers for the randomisation domain,
from the allocation column).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "data" / "dat_bcg.csv"

# Allocation (dat.bcg's ``alloc``) -> RoB 2 domain 1 signalling answers. 1.1: random
# allocation is a random sequence, alternate or systematic allocation is not. 1.2: with
# alternate or systematic allocation those enrolling can foresee the next assignment, so it was
# not concealed; for random allocation the data set says nothing of concealment (NI). 1.3: the data set has
# no baseline characteristics (NI).
ANSWERS = {
    "random": {"1.1": "Y", "1.2": "NI", "1.3": "NI"},
    "alternate": {"1.1": "N", "1.2": "N", "1.3": "NI"},
    "systematic": {"1.1": "N", "1.2": "N", "1.3": "NI"},
}
DESIGN = {"random": "randomised trial", "alternate": "quasi-randomised trial"}
DESIGN["systematic"] = DESIGN["alternate"]


def authors(text: str) -> list[str]:
    """dat.bcg's author column as a list: "Ferguson & Simes" -> two authors, "et al" dropped;
    "TPT Madras" (Tuberculosis Prevention Trial, Madras) is a group author."""
    text = text.removesuffix(" et al")
    return [name.strip() for name in text.split("&")]


def source_id(row: dict[str, str]) -> str:
    return f"dat.bcg trial {row['trial']}"


def main() -> None:
    with DATA.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with (HERE / "records.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            record = {
                "source_id": source_id(row),
                "authors": authors(row["author"]),
                "year": int(row["year"]),
                "eligible": True,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    columns = ["study_id", "arm", "outcome", "timepoint", "design", "allocation", "latitude"]
    columns += ["n", "events"]
    with (HERE / "data" / "extraction.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        for row in rows:
            sid = source_id(row)
            writer.writerow(
                {
                    "study_id": sid,
                    "design": DESIGN[row["alloc"]],
                    "allocation": row["alloc"],
                    "latitude": row["ablat"],
                }
            )
            for arm, pos, neg in (("BCG", "tpos", "tneg"), ("control", "cpos", "cneg")):
                total = int(row[pos]) + int(row[neg])
                writer.writerow(
                    {
                        "study_id": sid,
                        "arm": arm,
                        "outcome": "tb_cases",
                        "n": total,
                        "events": row[pos],
                    }
                )
    with (HERE / "data" / "rob.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, ["study_id", "tool", "domain", "answers", "support"])
        writer.writeheader()
        for row in rows:
            answers = ANSWERS[row["alloc"]]
            writer.writerow(
                {
                    "study_id": source_id(row),
                    "tool": "rob2",
                    "domain": "D1",
                    "answers": "; ".join(f"{q}={a}" for q, a in answers.items()),
                    "support": f"dat.bcg: allocation {row['alloc']}",
                }
            )


if __name__ == "__main__":
    main()
