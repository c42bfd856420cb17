"""crm_extended benchmarks: ``make bench SIZE=S|M|L``.

Runs every operation of ``benchmarks/ops/`` (see ``harness.py``) on the benchmark
database, prints one table and writes it as JSON under ``benchmarks/results/`` (ignored
by git). Fails when an operation's crm_extended, SQL floor and ORM loop answers differ.
"""

import argparse
import hashlib
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
# The add-on's code the benchmark database was last installed or updated with.
HASH_PARAM = "crm_extended.bench_code_hash"


def _addon_hash():
    digest = hashlib.sha256()
    for path in sorted((ROOT / "crm_extended").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".xml", ".csv", ".js"}:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_database(db):
    """Make sure ``db`` has the current crm_extended: created (no demo data) when
    missing, updated when the add-on's code changed since the last time."""
    import odoo

    with odoo.sql_db.db_connect("postgres").cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        exists = bool(cr.fetchone())
    code = _addon_hash()
    if exists:
        with odoo.sql_db.db_connect(db).cursor() as cr:
            cr.execute(
                "SELECT value FROM ir_config_parameter WHERE key = %s", [HASH_PARAM]
            )
            row = cr.fetchone()
        if row and row[0] == code:
            return
    action = ["-u", "crm_extended"] if exists else ["-i", "crm_extended"]
    print(
        f"{'updating' if exists else 'creating'} the database {db} "
        "(crm_extended, no demo data)",
        flush=True,
    )
    subprocess.run(
        [
            ROOT / "dev" / "odoo",
            "-d",
            db,
            *action,
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ],
        check=True,
    )
    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute(
            """
            INSERT INTO ir_config_parameter (key, value, create_date, write_date)
            VALUES (%s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """,
            [HASH_PARAM, code],
        )


def operations(only=None):
    import ops

    for info in pkgutil.iter_modules(ops.__path__):
        if only and info.name != only:
            continue
        module = importlib.import_module(f"ops.{info.name}")
        for operation in getattr(module, "OPERATIONS", []):
            yield module, operation


def _cell_time(timing):
    text = f"{timing['median']:.3f}"
    return text + "*" if timing["extrapolated"] else text


def print_table(rows):
    header = [
        "operation",
        "size",
        "user",
        "ours median s",
        "ours cold s",
        "queries",
        "peak MB",
        "SQL floor s",
        "ORM loop s",
        "ORM queries",
        "ours/floor",
        "ORM/ours",
        "same",
    ]
    lines = [header]
    for row in rows:
        ours, floor, orm = row["crm_extended"], row["sql_floor"], row["orm_loop"]
        lines.append(
            [
                row["operation"],
                f"{row['size']:,}",
                row["user"],
                f"{ours['median']:.3f}",
                f"{ours['cold']:.3f}",
                str(ours["queries"]),
                f"{ours['peak_mb']:.1f}" if ours["peak_mb"] is not None else "-",
                f"{floor['median']:.3f}",
                _cell_time(orm),
                str(orm["queries"]),
                f"{ours['median'] / floor['median']:.1f}x" if floor["median"] else "-",
                f"{orm['median'] / ours['median']:.0f}x" if ours["median"] else "-",
                "yes" if row["same_result"] else "NO",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=True)
            )
        )
        if i == 0:
            print("  ".join("-" * width for width in widths))
    print("* extrapolated from a sample")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--db", default=os.environ.get("BENCH_DB", "crm_extended_bench")
    )
    parser.add_argument("--size", default="S", choices=["S", "M", "L"])
    parser.add_argument("--runs", type=int, default=5, help="warm runs (median)")
    parser.add_argument("--only", help="run only the operations of this ops module")
    args = parser.parse_args()

    from harness import run_operation

    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(
        ["-c", str(ROOT / ".dev" / "odoo.conf"), "-d", args.db]
    )
    ensure_database(args.db)
    registry = odoo.modules.registry.Registry(args.db)
    rows = []
    for module, operation_class in operations(args.only):
        size = module.SIZES[args.size]
        print(f"running {operation_class.name} ({size:,})", flush=True)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            rows.append(run_operation(env, operation_class(args.size, size), args.runs))
            cr.rollback()  # benchmarks leave the database as they found it
    print()
    print_table(rows)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {"size": args.size, "runs": args.runs, "rows": rows}
    for path in (
        out / f"bench-{args.size}-{stamp}.json",
        out / f"latest-{args.size}.json",
    ):
        path.write_text(json.dumps(payload, indent=2))
    print(f"\nwritten benchmarks/results/bench-{args.size}-{stamp}.json")
    if not all(row["same_result"] for row in rows):
        sys.exit("FAILED: crm_extended, the SQL floor and the ORM loop disagree")


if __name__ == "__main__":
    main()
