"""Fill a database with the crm_extended benchmark dataset.

``make dataset SIZE=S`` or ``benchmarks/generate.py --size tiny|S|M|L [--db DB]
[--seed 42] [--today YYYY-MM-DD]``. Creates the database (crm_extended, no demo
data) when it is missing. Refuses a database that already holds a generated dataset:
drop it to start again. Sizes and what is made: crm_extended/populate/bulk.py.
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ROOT, ensure_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--db", default=os.environ.get("BENCH_DB", "crm_extended_bench")
    )
    parser.add_argument("--size", default="S", choices=["tiny", "S", "M", "L"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        help="last day of the two years of history (default: today); with the seed, "
        "makes the dataset identical from one day to the next",
    )
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(
        ["-c", str(ROOT / ".dev" / "odoo.conf"), "-d", args.db]
    )
    ensure_database(args.db)
    registry = odoo.modules.registry.Registry(args.db)
    from odoo.addons.crm_extended.populate import bulk

    start = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        try:
            stages = bulk.generate(env, args.size, seed=args.seed, today=args.today)
        except bulk.DatasetError as error:
            sys.exit(f"refused: {error}")
        cr.commit()  # pylint: disable=invalid-commit
    print(f"dataset {args.size} (seed {args.seed}) in {args.db}:")
    for name, count, seconds in stages:
        print(f"  {name:45} {count:>10,}  {seconds:8.1f} s")
    print(f"  {'total':45} {'':>10}  {time.perf_counter() - start:8.1f} s")


if __name__ == "__main__":
    main()
