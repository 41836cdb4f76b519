"""Size of the patrol app's shell: what a phone downloads before the app works offline.

    .venv/bin/python bench/app_shell_size.py [--per-file]

Asks the app itself (Flask's test client, nothing else running) for the service worker and every URL in its
shell list, as a browser that accepts gzip does, and prints the number of files and the bytes of the bodies
as served (text assets gzip, icons as they are) and uncompressed. Headers are not counted; the wire figures
of a first load on an emulated 2G link, headers included, come from bench/field_bench.py.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def measure() -> list[tuple[str, int, int]]:
    """(url, bytes served to a gzip-accepting browser, bytes uncompressed) for the worker and the shell."""
    from server import create_app
    from web.patrol_app.views import shell_urls

    scratch = Path(tempfile.mkdtemp(prefix="gp-shell-size-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{scratch / 'shell.db'}", "INSTANCE_PATH": str(scratch),
                      "SMS_BACKEND": "console", "REDIS_URL": None, "WORKERS_EMBEDDED_TIMER": False})
    client = app.test_client()
    with app.test_request_context():
        urls = ["/app/sw.js", *shell_urls()]
    rows = []
    for url in urls:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, (url, response.status_code)
        served = response.get_data()
        raw = gzip.decompress(served) if response.headers.get("Content-Encoding") == "gzip" else served
        rows.append((url, len(served), len(raw)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-file", action="store_true", help="one line per URL as well")
    args = parser.parse_args()
    rows = measure()
    if args.per_file:
        for url, served, raw in rows:
            print(f"{served:>7} {raw:>7}  {url}")
    icons = [r for r in rows if r[0].endswith(".png")]
    served, raw = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"shell: {len(rows)} files (service worker included), {served / 1024:.1f} KB as served (gzip), "
          f"{raw / 1024:.1f} KB uncompressed; without the PNG icons {(served - sum(r[1] for r in icons)) / 1024:.1f} "
          "KB as served")


if __name__ == "__main__":
    main()
