from odoo import fields, models
from odoo.tools import SQL


class CrmWorkPlanReport(models.Model):
    """Planned against done customer work per salesperson and week, with the new
    opportunities, quotations and orders of the same week: one row per salesperson,
    company and week, aggregated in SQL over the whole history."""

    _name = "crm.work.plan.report"
    _description = "Work Plan Analysis"
    _auto = False
    _order = "date_week desc, user_id"
    _rec_name = "user_id"

    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date_week = fields.Date(string="Week", readonly=True)
    visits_planned = fields.Integer(readonly=True)
    visits_done = fields.Integer(readonly=True)
    calls_planned = fields.Integer(readonly=True)
    calls_done = fields.Integer(readonly=True)
    meetings_done = fields.Integer(string="Meetings and Demos Done", readonly=True)
    work_missed = fields.Integer(string="Missed", readonly=True)
    opportunities_new = fields.Integer(string="New Opportunities", readonly=True)
    quotations_new = fields.Integer(string="New Quotations", readonly=True)
    orders_confirmed = fields.Integer(readonly=True)

    _depends = {
        "calendar.event": ["user_id", "start", "sfa_kind", "sfa_state"],
        "crm.lead": ["user_id", "create_date", "type", "company_id"],
        "sale.order": ["user_id", "create_date", "date_order", "state", "company_id"],
        "res.users": ["company_id", "sale_team_id"],
        "crm.team": ["sales_region_id"],
    }

    def _work_query(self):
        """One row per source record: who, which week, and what it counts for."""
        return SQL(
            """
            SELECT e.user_id, NULL::int AS company_id,
                   date_trunc('week', e.start)::date AS date_week,
                   (e.sfa_kind = 'visit' AND e.sfa_state != 'cancelled')::int
                       AS visits_planned,
                   (e.sfa_kind = 'visit' AND e.sfa_state = 'done')::int AS visits_done,
                   (e.sfa_kind = 'call' AND e.sfa_state != 'cancelled')::int
                       AS calls_planned,
                   (e.sfa_kind = 'call' AND e.sfa_state = 'done')::int AS calls_done,
                   (e.sfa_kind IN ('meeting', 'demo') AND e.sfa_state = 'done')::int
                       AS meetings_done,
                   (e.sfa_state = 'missed')::int AS work_missed,
                   0 AS opportunities_new, 0 AS quotations_new, 0 AS orders_confirmed
              FROM calendar_event e
             WHERE e.sfa_kind IS NOT NULL AND e.active AND e.user_id IS NOT NULL
            UNION ALL
            SELECT l.user_id, l.company_id, date_trunc('week', l.create_date)::date,
                   0, 0, 0, 0, 0, 0, 1, 0, 0
              FROM crm_lead l
             WHERE l.type = 'opportunity' AND l.user_id IS NOT NULL
            UNION ALL
            SELECT o.user_id, o.company_id, date_trunc('week', o.create_date)::date,
                   0, 0, 0, 0, 0, 0, 0, 1, 0
              FROM sale_order o
             WHERE o.user_id IS NOT NULL
            UNION ALL
            SELECT o.user_id, o.company_id, date_trunc('week', o.date_order)::date,
                   0, 0, 0, 0, 0, 0, 0, 0, 1
              FROM sale_order o
             WHERE o.user_id IS NOT NULL AND o.state = 'sale'
            """
        )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT row_number() OVER (ORDER BY w.date_week, w.user_id, company.id)
                       AS id,
                   w.user_id, u.sale_team_id AS team_id, t.sales_region_id,
                   company.id AS company_id, w.date_week,
                   sum(w.visits_planned) AS visits_planned,
                   sum(w.visits_done) AS visits_done,
                   sum(w.calls_planned) AS calls_planned,
                   sum(w.calls_done) AS calls_done,
                   sum(w.meetings_done) AS meetings_done,
                   sum(w.work_missed) AS work_missed,
                   sum(w.opportunities_new) AS opportunities_new,
                   sum(w.quotations_new) AS quotations_new,
                   sum(w.orders_confirmed) AS orders_confirmed
              FROM (%(work)s) AS w
              JOIN res_users u ON u.id = w.user_id
              JOIN res_company company
                ON company.id = COALESCE(w.company_id, u.company_id)
         LEFT JOIN crm_team t ON t.id = u.sale_team_id
          GROUP BY w.user_id, u.sale_team_id, t.sales_region_id, company.id, w.date_week
            """,
            work=self._work_query(),
        )
