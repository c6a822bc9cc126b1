"""Agreement of metasift's synthesis stage with R's metafor, section by section.

    python benchmarks/metafor_agreement.py

Reads tests/synthesis/reference/metafor.json (written by benchmarks/metafor_reference.R) and
prints, per section, how many statistics were compared, the largest relative difference (over
values with |metafor| > 1e-10) and the largest absolute difference. No R needed.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.synthesis import metafor_cases as mc  # noqa: E402


def main() -> None:
    ref = mc.reference()
    table = Table(
        "section",
        "cases",
        "statistics",
        "max rel. diff",
        "max abs. diff",
        "worst",
        "seconds",
        title=f"metasift vs metafor {ref['metafor_version']} ({ref['control']})",
    )
    total, worst_rel = 0, 0.0
    for section in mc.SECTIONS:
        start = time.perf_counter()
        n, max_rel, max_abs, where = 0, 0.0, 0.0, ""
        for case in ref[section]:
            for path, exp, act, _ in mc.compare(section, case):
                n += 1
                if not (isinstance(exp, float) and isinstance(act, float)):
                    continue
                if math.isnan(exp) and math.isnan(act):
                    continue
                gap = abs(exp - act)
                max_abs = max(max_abs, gap)
                if abs(exp) > 1e-10 and gap / abs(exp) > max_rel:
                    max_rel, where = gap / abs(exp), path
        seconds = time.perf_counter() - start
        total += n
        worst_rel = max(worst_rel, max_rel)
        table.add_row(
            section,
            str(len(ref[section])),
            str(n),
            f"{max_rel:.2e}",
            f"{max_abs:.2e}",
            where,
            f"{seconds:.1f}",
        )
    table.add_row("all", "", str(total), f"{worst_rel:.2e}", "", "", "")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
