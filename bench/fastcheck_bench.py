"""Cost of validating one pushed record: the sync fast path (sync/fastcheck.py) against marshmallow.

Issue 8 made the fast path refuse what the schema refuses (NaN, infinities, huge numbers, odd date forms,
unstorable text in checkpoints); this shows what that costs per record. In-process, no database:

    .venv/bin/python bench/fastcheck_bench.py [--records 20000]
"""
from __future__ import annotations

import argparse
import timeit

PATROL = {"area_id": 5, "started_at": "2026-11-20T01:00:00+00:00", "ended_at": "2026-11-20T01:30:00+00:00",
          "checkpoints": [{"lat": 22.5, "lng": 113.9, "at": "2026-11-20T01:05:00Z"}] * 3, "outcome": "all_clear",
          "problem_count": 0, "notes": "正常"}
SITE = {"area_id": 5, "address": "映月路1号", "latitude": 22.5, "longitude": 113.9,
        "last_inspected_at": "2026-11-20T01:00:00+00:00"}
INCIDENT = {"category_id": 1, "area_id": 5, "description": "工地扬尘", "handling_class": "immediate",
            "latitude": 22.5, "longitude": 113.9, "reported_at": "2026-11-20T01:00:00+08:00"}

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    args = parser.parse_args()
    from sync.fastcheck import fast_load
    from sync.schemas import FIELD_SCHEMAS
    for name, document in (("patrols", PATROL), ("sites", SITE), ("incidents", INCIDENT)):
        schema = FIELD_SCHEMAS[name]
        assert fast_load(schema, document) == schema.load(document)
        fast = min(timeit.repeat(lambda: fast_load(schema, document), number=args.records, repeat=3)) / args.records
        slow = min(timeit.repeat(lambda: schema.load(document), number=args.records // 10, repeat=3)) / (
            args.records // 10)
        print(f"{name:10s} fast path {fast * 1e6:6.1f} µs/record   marshmallow {slow * 1e6:6.1f} µs/record   "
              f"({slow / fast:.1f}x)")


if __name__ == "__main__":
    main()
