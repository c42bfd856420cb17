from odoo import api, fields, models
from odoo.tools.sql import column_exists, create_column

from .crm_stage import FORECAST_CATEGORIES


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "crm.sales.region.mixin"]

    forecast_category = fields.Selection(
        FORECAST_CATEGORIES,
        compute="_compute_forecast_category",
        store=True,
        readonly=False,
        tracking=True,
        help="Where the opportunity counts in the sales forecast: pipeline, best case "
        "(likely), commit (the salesperson commits to it) or omitted. Set by its "
        "stage; the salesperson can change it. Won and lost opportunities count as "
        "won or lost, whatever their category.",
    )

    def _auto_init(self):
        # A million existing opportunities start in the pipeline category in one
        # UPDATE, not through the ORM's recomputation of a new stored field.
        if not column_exists(self.env.cr, "crm_lead", "forecast_category"):
            create_column(self.env.cr, "crm_lead", "forecast_category", "varchar")
            self.env.cr.execute("UPDATE crm_lead SET forecast_category = 'pipeline'")
        return super()._auto_init()

    @api.depends("stage_id")
    def _compute_forecast_category(self):
        for lead in self:
            lead.forecast_category = lead.stage_id.forecast_category or "pipeline"
