from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    crm_sales_region_count = fields.Integer(
        string="Sales Regions", compute="_compute_crm_sales_region_count"
    )

    def _compute_crm_sales_region_count(self):
        count = self.env["crm.sales.region"].search_count(
            [("company_id", "=", self.env.company.id)]
        )
        for settings in self:
            settings.crm_sales_region_count = count
