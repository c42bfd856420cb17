from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    sales_region_managed_ids = fields.Many2many(
        "crm.sales.region",
        "crm_sales_region_manager_rel",
        "user_id",
        "region_id",
        string="Managed Sales Regions",
        help="Sales regions this user manages as regional manager, sub-regions "
        "included.",
    )

    def write(self, vals):
        res = super().write(vals)
        if "sales_region_managed_ids" in vals:
            self.env.registry.clear_cache()  # record rules read the managed regions
        return res
