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
    # The stage that last set the category: only moving to another stage resets a
    # category the salesperson chose, not a recomputation landing on the same stage
    # (as a change of salesperson or team does).
    forecast_category_stage_id = fields.Many2one(
        "crm.stage",
        compute="_compute_forecast_category",
        store=True,
        readonly=True,
    )

    def _auto_init(self):
        # A million existing opportunities start in the pipeline category in one
        # UPDATE, not through the ORM's recomputation of a new stored field.
        if not column_exists(self.env.cr, "crm_lead", "forecast_category"):
            create_column(self.env.cr, "crm_lead", "forecast_category", "varchar")
            create_column(self.env.cr, "crm_lead", "forecast_category_stage_id", "int4")
            self.env.cr.execute(
                """UPDATE crm_lead
                      SET forecast_category = 'pipeline',
                          forecast_category_stage_id = stage_id"""
            )
        return super()._auto_init()

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        # A category given at creation protects its computation, the stage that goes
        # with it included: record that stage, or the next recomputation would take
        # the category for the stage's.
        given = leads.filtered(
            lambda lead: lead.stage_id
            and lead.stage_id != lead.forecast_category_stage_id
        )
        for stage, stage_leads in given.grouped("stage_id").items():
            stage_leads.forecast_category_stage_id = stage
        return leads

    @api.depends("stage_id")
    def _compute_forecast_category(self):
        for lead in self:
            if (
                lead.forecast_category
                and lead.stage_id == lead.forecast_category_stage_id
            ):
                continue
            lead.forecast_category_stage_id = lead.stage_id
            lead.forecast_category = lead.stage_id.forecast_category or "pipeline"
