"""How availability grows with the booked set: `python -m bench.growth` prints, for 1,000 to 50,000
booked lines on the synthetic publisher, the first answer of a fresh process (solving every
cluster), the warm p95, the first answer after a hold, and the process's resident memory.

GROWTH_LINES=1000,5000 picks the sizes. Timings are wall clock and CPU: on a shared machine the
CPU figures are the steadier ones.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.inventory import _synthetic_publisher, availability_fresh_process

SIZES = [int(n) for n in os.environ.get("GROWTH_LINES", "1000,5000,20000,50000").split(",")]


def main() -> None:
    print(
        f"{'booked lines':>12} {'first answer':>16} {'warm p95':>18} {'after a hold':>13} {'resident':>9} {'peak':>8}"
    )
    with tempfile.TemporaryDirectory(prefix="flightdeck-growth-") as tmp:
        for lines in SIZES:
            url = f"sqlite:///{Path(tmp) / f'growth-{lines}.sqlite'}"
            today, *_ = _synthetic_publisher(url, lines=lines)
            r = availability_fresh_process(url, today, queries=50, holds=3)
            print(
                f"{lines:>12,} {r['cold_s']:>6.1f} s ({r['cold_cpu_s']:.1f} CPU) "
                f"{r['warm_p95_ms']:>6.0f} ms ({r['warm_cpu_p95_ms']:.0f} CPU) {r['after_hold_ms']:>10.0f} ms "
                f"{r['rss_mb']:>6.0f} MB {r['peak_mb']:>5.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
