"""Benchmarks of crm_extended: ``make bench`` (or ``.venv/bin/python
benchmarks/run.py``).

Each benchmark module here exposes ``NAME`` and ``run(env, args) -> list[dict]``; a row
has the operation, its size, the crm_extended time and query count, and the baseline it
is measured against in the same run. Rows are printed as a table and written as JSON
under ``benchmarks/results/`` (ignored by git).
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ["bench_region_reassign"]


def ensure_database(db):
    """Create the benchmark database with crm_extended (no demo data) when missing."""
    import odoo

    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        if cr.fetchone():
            return
    print(
        f"creating the benchmark database {db} (crm_extended, no demo data)", flush=True
    )
    subprocess.run(
        [
            ROOT / "dev" / "odoo",
            "-d",
            db,
            "-i",
            "crm_extended",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ],
        check=True,
    )


def print_table(rows):
    columns = [
        "operation",
        "size",
        "crm_extended s",
        "queries",
        "baseline",
        "baseline s",
        "baseline queries",
        "ratio",
    ]
    lines = [columns]
    for row in rows:
        lines.append(
            [
                row["operation"],
                f"{row['size']:,}",
                f"{row['time']:.3f}",
                str(row["queries"]),
                row["baseline"]
                + (" (extrapolated)" if row.get("baseline_extrapolated") else ""),
                f"{row['baseline_time']:.3f}",
                str(row["baseline_queries"]),
                f"{row['baseline_time'] / row['time']:.0f}x" if row["time"] else "-",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    for i, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=True)
            )
        )
        if i == 0:
            print("  ".join("-" * width for width in widths))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--db", default=os.environ.get("BENCH_DB", "crm_extended_bench")
    )
    parser.add_argument("--size", default="S", help="S, M or L (see each benchmark)")
    parser.add_argument("--only", help="run only this benchmark module")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(
        ["-c", str(ROOT / ".dev" / "odoo.conf"), "-d", args.db]
    )
    ensure_database(args.db)
    registry = odoo.modules.registry.Registry(args.db)
    rows = []
    for name in BENCHMARKS:
        if args.only and name != args.only:
            continue
        module = importlib.import_module(name)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            rows += module.run(env, args)
            cr.rollback()  # benchmarks leave the database as they found it
    print_table(rows)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-{args.size}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(rows, indent=2))
    print(f"\nwritten {path.relative_to(ROOT)}")
    if any(not row.get("same_result", True) for row in rows):
        sys.exit("a benchmark's crm_extended and baseline results differ")


if __name__ == "__main__":
    main()
