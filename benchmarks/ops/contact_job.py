"""Contact follow-up job: N customers are overdue, each salesperson gets one follow-up.

crm_extended runs ``res.partner._cron_contact_followups()`` batch after batch (as the
cron runner would, here in one transaction) in a bounded number of queries per batch;
the SQL floor is one INSERT ... SELECT of the activities; the ORM loop checks each
customer and schedules its activity on its own (timed on a sample, extrapolated). The
answer: the set of (partner, user) pairs with an open follow-up.
"""

from harness import Operation, ensure_user

from odoo import fields

from ops.region_reassign import insert_partners

SIZES = {"S": 10_000, "M": 100_000, "L": 100_000}
ACTIVITY_TYPE = "crm_extended.mail_activity_type_contact_due"


def _followups(env, activity_type, partner_ids):
    env.flush_all()
    env.cr.execute(
        """
        SELECT res_id, user_id FROM mail_activity
         WHERE res_model = 'res.partner' AND activity_type_id = %s AND active
           AND res_id = ANY(%s)
        """,
        (activity_type.id, partner_ids),
    )
    return frozenset(env.cr.fetchall())


class ContactJob(Operation):
    name = "contact follow-up job"
    orm_sample = 500

    def prepare(self, env):
        salesman = ensure_user(env, "bench_salesman", "sales_team.group_sale_salesman")
        country = env["res.country"].create({"name": "Contactland", "code": "QC"})
        state = env["res.country.state"].create(
            {"name": "Contact State", "code": "CS", "country_id": country.id}
        )
        partners = insert_partners(env, self.size, state, country)
        today = fields.Date.context_today(env["res.partner"])
        # Customers of the salesperson, last contacted 40 days ago, every 30 days.
        env.cr.execute(
            """
            UPDATE res_partner
               SET customer_rank = 1, user_id = %s, contact_interval_days = 30,
                   contact_interval_manual = FALSE,
                   date_last_contact = %s::date - 40,
                   date_next_contact = %s::date - 10
             WHERE id = ANY(%s)
            """,
            (salesman.id, today, today, partners.ids),
        )
        env.invalidate_all()
        # Planner statistics that know about the rows just inserted.
        env.cr.execute("ANALYZE res_partner, mail_activity")
        return {
            "partners": partners,
            "activity_type": env.ref(ACTIVITY_TYPE),
            "salesman": salesman,
            "today": today,
        }

    def crm_extended(self, env, ctx):
        Partner = env["res.partner"]
        while Partner._cron_contact_followups():
            pass
        return _followups(env, ctx["activity_type"], ctx["partners"].ids)

    def sql_floor(self, env, ctx):
        env.cr.execute(
            """
            INSERT INTO mail_activity (
                res_model_id, res_model, res_id, activity_type_id, summary, user_id,
                date_deadline, active, automated,
                create_uid, create_date, write_uid, write_date)
            SELECT %(model)s, 'res.partner', p.id, %(type)s, 'Customer contact due',
                   p.user_id, p.date_next_contact, TRUE, FALSE,
                   1, now() at time zone 'UTC', 1, now() at time zone 'UTC'
              FROM res_partner p
             WHERE p.active AND p.id = p.commercial_partner_id AND p.customer_rank > 0
               AND p.user_id IS NOT NULL AND p.date_next_contact < %(today)s
               AND NOT EXISTS (
                   SELECT 1 FROM mail_activity a
                    WHERE a.res_model = 'res.partner' AND a.res_id = p.id
                      AND a.activity_type_id = %(type)s AND a.active)
            """,
            {
                "model": env["ir.model"]._get_id("res.partner"),
                "type": ctx["activity_type"].id,
                "today": ctx["today"],
            },
        )
        return _followups(env, ctx["activity_type"], ctx["partners"].ids)

    def orm_loop(self, env, ctx, sample):
        partners = (
            ctx["partners"].with_env(env).with_context(mail_activity_quick_update=True)
        )
        partners = partners[:sample] if sample else partners
        activity_type = ctx["activity_type"]
        Activity = env["mail.activity"]
        for partner in partners:
            if not (partner.is_contact_overdue and partner.user_id):
                continue
            if Activity.search_count(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "=", partner.id),
                    ("activity_type_id", "=", activity_type.id),
                ]
            ):
                continue
            partner.activity_schedule(
                ACTIVITY_TYPE,
                date_deadline=partner.date_next_contact,
                user_id=partner.user_id.id,
            )
        return _followups(env, activity_type, partners.ids)

    def same_sample(self, full, partial):
        return bool(partial) and partial <= full


OPERATIONS = [ContactJob]
