"""Region re-assignment: a region starts claiming the state N partners live in.

crm_extended re-assigns them set-based in a constant number of queries; the SQL floor is
one UPDATE of exactly those partners; the ORM loop recomputes and writes each partner on
its own (timed on a sample, extrapolated).
"""

from harness import Operation, ensure_user

from odoo import Command
from odoo.tools import SQL

SIZES = {"S": 10_000, "M": 100_000, "L": 100_000}


def insert_partners(env, count, state, country):
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
    env.invalidate_all()
    return env["res.partner"].browse(ids) | template


def _assigned(env, partner_ids, region_id):
    env.cr.execute(
        "SELECT id FROM res_partner WHERE id = ANY(%s) AND sales_region_id = %s",
        (partner_ids, region_id),
    )
    return frozenset(row[0] for row in env.cr.fetchall())


class RegionReassignment(Operation):
    name = "region re-assignment"
    orm_sample = 1_000
    user_login = "bench_sales_manager"  # regions are configured by sales managers

    def prepare(self, env):
        ensure_user(env, self.user_login, "sales_team.group_sale_manager")
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
        partners = insert_partners(env, self.size, state_b, country)
        return {"region": region, "state": state_b, "partners": partners}

    def crm_extended(self, env, ctx):
        ctx["region"].with_env(env).write(
            {"state_ids": [Command.link(ctx["state"].id)]}
        )
        env.flush_all()
        return _assigned(env, ctx["partners"].ids, ctx["region"].id)

    def sql_floor(self, env, ctx):
        env.cr.execute(
            "INSERT INTO crm_sales_region_res_country_state_rel (region_id, state_id) "
            "VALUES (%s, %s)",
            (ctx["region"].id, ctx["state"].id),
        )
        env.cr.execute(
            """
            UPDATE res_partner SET sales_region_id = %s
             WHERE state_id = %s AND id = commercial_partner_id
               AND sales_region_manual IS NOT TRUE
            """,
            (ctx["region"].id, ctx["state"].id),
        )
        return _assigned(env, ctx["partners"].ids, ctx["region"].id)

    def orm_loop(self, env, ctx, sample):
        env.cr.execute(
            "INSERT INTO crm_sales_region_res_country_state_rel (region_id, state_id) "
            "VALUES (%s, %s)",
            (ctx["region"].id, ctx["state"].id),
        )
        env.invalidate_all()
        partners = ctx["partners"].with_env(env)[:sample] if sample else ctx["partners"]
        field = partners._fields["sales_region_id"]
        for partner in partners:
            env.add_to_compute(field, partner)
            partner._recompute_recordset(["sales_region_id"])
            partner.flush_recordset(["sales_region_id"])
        return _assigned(env, partners.ids, ctx["region"].id)

    def same_sample(self, full, partial):
        return partial <= full and bool(partial)


OPERATIONS = [RegionReassignment]
