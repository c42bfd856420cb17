from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    crm_visit_horizon_weeks = fields.Integer(
        related="company_id.crm_visit_horizon_weeks", readonly=False
    )
    crm_visit_max_per_day = fields.Integer(
        related="company_id.crm_visit_max_per_day", readonly=False
    )
    crm_contact_interval_days = fields.Integer(
        related="company_id.crm_contact_interval_days", readonly=False
    )
    crm_forecast_period_type = fields.Selection(
        related="company_id.crm_forecast_period_type", readonly=False
    )
    crm_forecast_lookback_months = fields.Integer(
        related="company_id.crm_forecast_lookback_months", readonly=False
    )
    crm_forecast_min_samples = fields.Integer(
        related="company_id.crm_forecast_min_samples", readonly=False
    )
    crm_forecast_accuracy_periods = fields.Integer(
        related="company_id.crm_forecast_accuracy_periods", readonly=False
    )
    crm_call_dialer_provider = fields.Selection(
        related="company_id.crm_call_dialer_provider", readonly=False
    )
    crm_bonus_journal_id = fields.Many2one(
        related="company_id.crm_bonus_journal_id", readonly=False
    )
    crm_bonus_expense_account_id = fields.Many2one(
        related="company_id.crm_bonus_expense_account_id", readonly=False
    )
    crm_bonus_payable_account_id = fields.Many2one(
        related="company_id.crm_bonus_payable_account_id", readonly=False
    )
    crm_sales_region_count = fields.Integer(
        string="Sales Regions", compute="_compute_crm_sales_region_count"
    )

    @api.depends("company_id")
    def _compute_crm_sales_region_count(self):
        counts = dict(
            self.env["crm.sales.region"]._read_group(
                [("company_id", "in", self.company_id.ids)], ["company_id"], ["__count"]
            )
        )
        for settings in self:
            settings.crm_sales_region_count = counts.get(settings.company_id, 0)
