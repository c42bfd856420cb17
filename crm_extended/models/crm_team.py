from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class CrmTeam(models.Model):
    _inherit = "crm.team"

    sales_region_id = fields.Many2one(
        "crm.sales.region",
        index=True,
        tracking=True,
        help="The region this office belongs to. Its leads, orders and invoices take "
        "this region.",
    )

    @api.constrains("sales_region_id", "company_id")
    def _check_sales_region_company(self):
        for team in self:
            region = team.sales_region_id
            if region and team.company_id and region.company_id != team.company_id:
                raise ValidationError(
                    _(
                        "The office %(team)s belongs to %(company)s; the sales region "
                        "%(region)s belongs to %(region_company)s.",
                        team=team.display_name,
                        company=team.company_id.display_name,
                        region=region.display_name,
                        region_company=region.company_id.display_name,
                    )
                )
