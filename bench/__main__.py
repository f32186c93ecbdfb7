"""Run every benchmark: `python -m bench` (what `make bench` calls).

Each figure prints as `BENCH <name> <value> <unit> target=<target>`, then a table of all of them.
The benchmarks run against temporary databases (SQLite, or a PostgreSQL server they start and stop),
never against instance/ or DATABASE_URL; `http` also starts gunicorn and Locust on loopback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench import finance, http, inventory, pages, proposals, workflow
from bench.result import Result

SUITES = {
    "pages": pages.run,
    "inventory": inventory.run,
    "proposals": proposals.run,
    "finance": finance.run,
    "workflow": workflow.run,
    "http": http.run,
}


def main() -> int:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="flightdeck-bench-") as tmp:
        chosen = os.environ.get("BENCH", "").split(",") if os.environ.get("BENCH") else list(SUITES)
        for name in chosen:
            for result in SUITES[name](Path(tmp)):
                print(result.line(), flush=True)
                results.append(result)
    print()
    print(f"{'benchmark':32} {'value':>10} {'unit':8} {'target':>10}  {'verdict':7}  scale")
    for r in results:
        verdict = "ok" if r.met else "MISSED"
        print(f"{r.name:32} {r.value:>10.1f} {r.unit:8} {r.target_text:>10}  {verdict:7}  {r.scale}")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
