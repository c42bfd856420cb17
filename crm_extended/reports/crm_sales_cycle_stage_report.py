from odoo import fields, models
from odoo.tools import SQL


class CrmSalesCycleStageReport(models.Model):
    """Days per stage: one row per stage, month of entry, team and region, with the
    average and the median of the days its leads spent in the stage (stays that
    ended only). A median is not additive: the pivot cannot merge the medians of
    several rows into one, so the median is shown per row, in the list and the
    graph grouped by these same keys; the average, weighted by the stays, merges."""

    _name = "crm.sales.cycle.stage.report"
    _description = "Days per Stage Analysis"
    _auto = False
    _order = "date_month desc, stage_id, id"
    _rec_name = "stage_id"

    stage_id = fields.Many2one("crm.stage", readonly=True)
    date_month = fields.Date(string="Month Entered", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    stay_count = fields.Integer(string="Stays", readonly=True)
    days_total = fields.Float(string="Total Days", readonly=True, digits=(16, 2))
    days_average = fields.Float(
        string="Average Days",
        readonly=True,
        aggregator=None,
        digits=(16, 2),
        help="Average of the row's stays. Summed over rows it means nothing: group "
        "and divide Total Days by Stays instead.",
    )
    days_median = fields.Float(
        string="Median Days",
        readonly=True,
        aggregator=None,
        digits=(16, 2),
        help="Median of the row's stays. Medians of several rows cannot be merged.",
    )

    _depends = {
        "crm.lead.stage.history": [
            "stage_to_id",
            "date_in",
            "date_out",
            "days",
            "team_id",
            "sales_region_id",
            "company_id",
        ],
    }

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT min(h.id) AS id, h.stage_to_id AS stage_id,
                   date_trunc('month', h.date_in)::date AS date_month,
                   h.team_id, h.sales_region_id, h.company_id,
                   count(*) AS stay_count,
                   sum(h.days) AS days_total,
                   round(avg(h.days)::numeric, 2) AS days_average,
                   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY h.days)
                         ::numeric, 2) AS days_median
              FROM crm_lead_stage_history h
             WHERE h.date_out IS NOT NULL AND h.stage_to_id IS NOT NULL
             GROUP BY h.stage_to_id, date_trunc('month', h.date_in),
                      h.team_id, h.sales_region_id, h.company_id
            """
        )
