"""Region re-assignment: a region starts claiming a state that N partners live in.

crm_extended re-assigns them set-based (a constant number of queries); the baseline does
the same work per record through the ORM (one recomputation and one write per partner),
timed on a sample and extrapolated to N.
"""

import time

from odoo import Command
from odoo.tools import SQL

NAME = "region re-assignment"
SIZES = {"S": 100_000, "M": 100_000, "L": 100_000}
ORM_SAMPLE = 2_000


def _insert_partners(env, count, state, country):
    """Bulk-insert ``count`` company partners living in ``state``.

    Every column is copied from one partner made by the ORM, so that the rows are as
    Odoo would store them.
    """
    template = env["res.partner"].create(
        {
            "name": "Bench Corp 0",
            "is_company": True,
            "state_id": state.id,
            "country_id": country.id,
        }
    )
    env.flush_all()
    env.cr.execute(
        """
        SELECT column_name FROM information_schema.columns
         WHERE table_name = 'res_partner' AND column_name NOT IN
               ('id', 'name', 'complete_name', 'commercial_partner_id')
        """
    )
    columns = SQL(", ").join(SQL.identifier(row[0]) for row in env.cr.fetchall())
    env.cr.execute(
        SQL(
            """
            INSERT INTO res_partner (name, complete_name, %(columns)s)
            SELECT 'Bench Corp ' || n, 'Bench Corp ' || n, %(columns)s
              FROM res_partner, generate_series(1, %(count)s) AS n
             WHERE res_partner.id = %(template)s
            RETURNING id
            """,
            columns=columns,
            count=count,
            template=template.id,
        )
    )
    ids = [row[0] for row in env.cr.fetchall()]
    env.cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", (ids,)
    )
    return env["res.partner"].browse(ids)


def _measure(env, func):
    env.flush_all()
    queries = env.cr.sql_log_count
    start = time.perf_counter()
    func()
    env.flush_all()
    return time.perf_counter() - start, env.cr.sql_log_count - queries


def run(env, args):
    count = SIZES.get(args.size, 100_000)
    country = env["res.country"].create({"name": "Benchland", "code": "QB"})
    state_a, state_b = env["res.country.state"].create(
        [
            {"name": f"Bench {c}", "code": c, "country_id": country.id}
            for c in ("BA", "BB")
        ]
    )
    region = env["crm.sales.region"].create(
        {"name": "Bench", "code": "BENCH", "state_ids": [Command.set(state_a.ids)]}
    )
    partners = _insert_partners(env, count, state_b, country)
    env.invalidate_all()

    # crm_extended: one write on the region
    env.cr.execute("SAVEPOINT bench")
    elapsed, queries = _measure(
        env, lambda: region.write({"state_ids": [Command.link(state_b.id)]})
    )
    env.invalidate_all()
    env.cr.execute(
        "SELECT count(*) FROM res_partner WHERE id = ANY(%s) AND sales_region_id = %s",
        (partners.ids, region.id),
    )
    assigned = env.cr.fetchone()[0]
    env.cr.execute("ROLLBACK TO SAVEPOINT bench")
    env.invalidate_all()

    # Baseline: the region claims the state without the set-based path, then every
    # partner is recomputed and written on its own through the ORM.
    sample = partners[:ORM_SAMPLE]
    field = env["res.partner"]._fields["sales_region_id"]
    env.cr.execute(
        "INSERT INTO crm_sales_region_res_country_state_rel (region_id, state_id) "
        "VALUES (%s, %s)",
        (region.id, state_b.id),
    )
    env.invalidate_all()

    def per_record():
        for partner in sample:
            env.add_to_compute(field, partner)
            partner._recompute_recordset(["sales_region_id"])
            partner.flush_recordset(["sales_region_id"])

    orm_time, orm_queries = _measure(env, per_record)
    same = assigned == count and all(p.sales_region_id == region for p in sample)
    factor = count / len(sample)
    return [
        {
            "operation": f"{NAME} ({count:,} partners)",
            "size": count,
            "time": elapsed,
            "queries": queries,
            "baseline": "ORM per record",
            "baseline_time": orm_time * factor,
            "baseline_queries": round(orm_queries * factor),
            "baseline_extrapolated": True,
            "baseline_sample": len(sample),
            "same_result": same,
        }
    ]
