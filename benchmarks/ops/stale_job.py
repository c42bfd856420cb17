"""Stale-opportunity job: every open opportunity of the dataset whose stage allows 30
days without activity and on which nothing happened for longer goes stale; its owner
gets one activity, the managers a digest.

crm_extended runs ``crm.lead._cron_stale_opportunities()`` batch after batch (as the
cron runner would, here in one transaction): one query finds a batch of newly stale
opportunities, one ``create`` makes their activities; then the digests. The SQL floor
is one INSERT ... SELECT of the activities and one UPDATE marking the opportunities
told (no digest). The ORM loop reads ``is_stale`` of each opportunity, looks for its
activity and schedules one (timed on a sample, extrapolated). The answer: the set of
(opportunity, owner) pairs with an open stale activity.
"""

from harness import Operation

from odoo import fields

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
ACTIVITY_TYPE = "crm_extended.mail_activity_type_stale_opportunity"
STALE_AFTER_DAYS = 30


def _activities(env, activity_type):
    env.flush_all()
    env.cr.execute(
        """
        SELECT res_id, user_id FROM mail_activity
         WHERE res_model = 'crm.lead' AND activity_type_id = %s AND active
        """,
        (activity_type.id,),
    )
    return frozenset(env.cr.fetchall())


class StaleJob(Operation):
    name = "stale opportunity job"
    orm_sample = 500

    def prepare(self, env):
        activity_type = env.ref(ACTIVITY_TYPE)
        env.cr.execute(
            "UPDATE crm_stage SET stale_after_days = %s WHERE is_won IS NOT TRUE",
            (STALE_AFTER_DAYS,),
        )
        # Every other opportunity entered its stage 40 days ago, the rest today
        env.cr.execute(
            """
            UPDATE crm_lead
               SET stale_notice = NULL,
                   date_last_stage_update = now() at time zone 'UTC'
                       - (id % 2) * interval '40 days',
                   create_date = LEAST(create_date, now() at time zone 'UTC'
                       - (id % 2) * interval '40 days')
            """
        )
        env.cr.execute(
            "DELETE FROM mail_activity WHERE activity_type_id = %s",
            (activity_type.id,),
        )
        env.invalidate_all()
        env.cr.execute("ANALYZE crm_lead, crm_stage, mail_activity")
        leads = env["crm.lead"].search([("is_stale", "=", True)])
        print(f"  {len(leads):,} stale opportunities")
        return {"activity_type": activity_type, "stale": leads}

    def crm_extended(self, env, ctx):
        Lead = env["crm.lead"]
        while True:
            Lead._cron_stale_opportunities()
            if not Lead.search_count(
                [("stale_notice", "=", False), ("is_stale", "=", True)], limit=1
            ):
                break
        return _activities(env, ctx["activity_type"])

    def sql_floor(self, env, ctx):
        now = fields.Datetime.now()
        env.cr.execute(
            """
            WITH stale AS (
                SELECT l.id, l.user_id
                  FROM crm_lead l JOIN crm_stage s ON s.id = l.stage_id
                 WHERE l.active AND l.type = 'opportunity' AND s.is_won IS NOT TRUE
                   AND s.stale_after_days > 0 AND l.stale_notice IS NULL
                   AND GREATEST(l.date_last_activity, l.date_last_stage_update,
                                l.create_date)
                       < %(now)s::timestamp - make_interval(days => s.stale_after_days)
            ), told AS (
                UPDATE crm_lead SET stale_notice = 'new'
                 WHERE id IN (SELECT id FROM stale)
            )
            INSERT INTO mail_activity (
                res_model_id, res_model, res_id, activity_type_id, summary, user_id,
                date_deadline, active, automated,
                create_uid, create_date, write_uid, write_date)
            SELECT %(model)s, 'crm.lead', stale.id, %(type)s, 'Stale opportunity',
                   stale.user_id, %(now)s::date, TRUE, FALSE,
                   1, now() at time zone 'UTC', 1, now() at time zone 'UTC'
              FROM stale JOIN res_users u ON u.id = stale.user_id AND u.active
            """,
            {
                "model": env["ir.model"]._get_id("crm.lead"),
                "type": ctx["activity_type"].id,
                "now": now,
            },
        )
        return _activities(env, ctx["activity_type"])

    def orm_loop(self, env, ctx, sample):
        Lead = env["crm.lead"].with_context(mail_activity_quick_update=True)
        leads = Lead.search([("type", "=", "opportunity")], order="id")
        leads = leads[:sample] if sample else leads
        activity_type = ctx["activity_type"]
        Activity = env["mail.activity"]
        for lead in leads:
            if not (lead.is_stale and lead.user_id.active):
                continue
            if Activity.search_count(
                [
                    ("res_model", "=", "crm.lead"),
                    ("res_id", "=", lead.id),
                    ("activity_type_id", "=", activity_type.id),
                ]
            ):
                continue
            lead.activity_schedule(ACTIVITY_TYPE, user_id=lead.user_id.id)
        return _activities(env, activity_type)

    def orm_factor(self, ctx, sample):
        return self.size / sample

    def same_sample(self, full, partial):
        return partial <= full


OPERATIONS = [StaleJob]
