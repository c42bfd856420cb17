"""Check a generated dataset through the ORM.

``benchmarks/check_dataset.py [--db DB] [--sample 200]``: recomputes the stored
computed fields of a random sample of records and compares them with what is stored,
checks moves are balanced, residuals match the reconciliations, names are unique.
Exits non-zero with the list of mismatches.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--db", default=os.environ.get("BENCH_DB", "crm_extended_bench")
    )
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(
        ["-c", str(ROOT / ".dev" / "odoo.conf"), "-d", args.db]
    )
    registry = odoo.modules.registry.Registry(args.db)
    from odoo.addons.crm_extended.populate import checks

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        problems = checks.check(env, sample=args.sample, seed=args.seed)
        cr.rollback()
    if problems:
        print("\n".join(problems))
        sys.exit(f"{len(problems)} mismatches")
    print(f"dataset in {args.db}: no mismatch (sample of {args.sample} per model)")


if __name__ == "__main__":
    main()
