"""The columnar cache: decoding a capture once into Parquet rows, re-used by later runs.

For every capture under the data folder (found by content), the first load (parse the source,
write the cache) against the second (read the cache), in this run; the ratio is the speedup a
sweep or a second backtest gets. JSON out.

    python bench/cache.py [DATA_DIR]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from agenthft.market.cache import EventCache
from agenthft.market.sources import event_formats, groups, load_events

DATA = Path(__file__).resolve().parents[1] / "../shared/data"


def main() -> int:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    files = [p for p in sorted(data.rglob("*")) if p.is_file()]
    found = []
    for p in files:
        try:
            found += groups([p])
        except Exception:  # not a format the row readers take
            continue
    # Binance files of one market decode together, chained: regroup by what `groups` says
    by_fmt: dict[str, list[Path]] = {}
    for fmt, g in found:
        by_fmt.setdefault(fmt, []).extend(g)
    readable = set(event_formats())
    todo = [(f, g) for fmt, files_ in by_fmt.items() if fmt in readable for f, g in groups(files_)]
    rows_out = []
    first_total = second_total = 0.0
    with tempfile.TemporaryDirectory() as d:
        for fmt, g in todo:
            cache = EventCache(d)
            t0 = time.perf_counter()
            ev = load_events(g, cache=cache)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            load_events(g, cache=cache)
            second = time.perf_counter() - t0
            first_total += first
            second_total += second
            rows_out.append(
                {
                    "format": fmt,
                    "files": [p.name for p in g],
                    "rows": len(ev),
                    "first_s": round(first, 4),
                    "second_s": round(second, 4),
                    "speedup": round(first / second, 2) if second else None,
                }
            )
    print(
        json.dumps(
            {
                "bench": "cache",
                "captures": rows_out,
                "first_s": round(first_total, 3),
                "second_s": round(second_total, 3),
                "speedup": round(first_total / second_total, 2) if second_total else None,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
