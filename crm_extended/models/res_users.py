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
    # Telesales
    call_capacity = fields.Integer(
        string="Calls per Day",
        default=60,
        help="How many calls this telesales agent makes in a day; call lists "
        "distributed by capacity give each agent a share in proportion.",
    )
    call_region_ids = fields.Many2many(
        "crm.sales.region",
        "crm_call_region_user_rel",
        "user_id",
        "region_id",
        string="Served Regions",
        help="Sales regions whose customers this telesales agent calls when a call "
        "list is distributed by region (sub-regions included).",
    )

    call_auto_dial = fields.Boolean(
        string="Auto-dial",
        help="Once the outcome of a call is logged, the next call of the queue "
        "opens and is dialed.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["call_auto_dial"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["call_auto_dial"]

    def write(self, vals):
        res = super().write(vals)
        if "sales_region_managed_ids" in vals:
            self.env.registry.clear_cache()  # record rules read the managed regions
        return res
