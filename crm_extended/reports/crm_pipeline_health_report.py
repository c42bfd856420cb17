from odoo import fields, models
from odoo.tools import SQL


class CrmPipelineHealthReport(models.Model):
    """Open opportunities, stale against healthy, in count and expected revenue:
    one row per salesperson, sales team (office), sales region, stage and company,
    aggregated in SQL with the rule of ``crm.lead.is_stale``."""

    _name = "crm.pipeline.health.report"
    _description = "Pipeline Health Analysis"
    _auto = False
    _order = "user_id, stage_id"
    _rec_name = "user_id"

    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    opportunity_count = fields.Integer(string="Open Opportunities", readonly=True)
    stale_count = fields.Integer(string="Stale", readonly=True)
    healthy_count = fields.Integer(string="Healthy", readonly=True)
    expected_revenue = fields.Monetary(
        string="Open Value", currency_field="currency_id", readonly=True
    )
    stale_revenue = fields.Monetary(
        string="Stale Value", currency_field="currency_id", readonly=True
    )
    healthy_revenue = fields.Monetary(
        string="Healthy Value", currency_field="currency_id", readonly=True
    )

    _depends = {
        "crm.lead": [
            "active",
            "type",
            "user_id",
            "team_id",
            "sales_region_id",
            "stage_id",
            "company_id",
            "expected_revenue",
            "date_last_activity",
            "date_last_stage_update",
        ],
        "crm.stage": ["is_won", "stale_after_days"],
        "res.company": ["currency_id"],
    }

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT row_number() OVER (ORDER BY h.user_id, h.team_id,
                                      h.sales_region_id, h.stage_id, h.company_id)
                       AS id,
                   h.*, company.currency_id,
                   h.opportunity_count - h.stale_count AS healthy_count,
                   h.expected_revenue - h.stale_revenue AS healthy_revenue
              FROM (SELECT l.user_id, l.team_id, l.sales_region_id, l.stage_id,
                           l.company_id,
                           count(*) AS opportunity_count,
                           count(*) FILTER (WHERE %(stale)s) AS stale_count,
                           COALESCE(sum(l.expected_revenue), 0) AS expected_revenue,
                           COALESCE(sum(l.expected_revenue) FILTER (WHERE %(stale)s),
                                    0) AS stale_revenue
                      FROM crm_lead l
                      JOIN crm_stage s ON s.id = l.stage_id
                     WHERE l.active AND l.type = 'opportunity'
                       AND s.is_won IS NOT TRUE
                     GROUP BY l.user_id, l.team_id, l.sales_region_id, l.stage_id,
                              l.company_id) AS h
         LEFT JOIN res_company company ON company.id = h.company_id
            """,
            stale=self.env["crm.lead"]._stale_sql(fields.Datetime.now()),
        )
