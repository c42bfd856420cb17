from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .crm_bonus_plan import KPI_TYPES, MONEY_KPIS


class CrmBonusPlanKpi(models.Model):
    _name = "crm.bonus.plan.kpi"
    _description = "Bonus Plan KPI"
    _inherit = ["crm.bonus.locked.mixin"]
    _locked_by = "plan_id"
    _order = "plan_id, sequence, id"
    _check_company_auto = True

    plan_id = fields.Many2one(
        "crm.bonus.plan", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="plan_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    kpi_type = fields.Selection(KPI_TYPES, string="KPI", required=True)
    weight = fields.Float(string="Weight (%)", required=True)
    product_ids = fields.Many2many(
        "product.product",
        "crm_bonus_plan_kpi_product_rel",
        "kpi_id",
        "product_id",
        string="Products",
        check_company=True,
        help="Sales, revenue and margin of these products only (with the categories: "
        "of either).",
    )
    product_categ_ids = fields.Many2many(
        "product.category",
        "crm_bonus_plan_kpi_categ_rel",
        "kpi_id",
        "categ_id",
        string="Product Categories",
        help="Sales, revenue and margin of products in these categories or their "
        "sub-categories only.",
    )

    _sql_constraints = [
        (
            "kpi_type_uniq",
            "unique(plan_id, kpi_type)",
            "A bonus plan weighs each KPI once.",
        ),
        (
            "weight_range",
            "CHECK(weight > 0 AND weight <= 100)",
            "A KPI weight is a percentage above 0 and at most 100.",
        ),
    ]

    @api.constrains("kpi_type", "product_ids", "product_categ_ids")
    def _check_filters(self):
        for kpi in self:
            if kpi.kpi_type not in MONEY_KPIS and (
                kpi.product_ids or kpi.product_categ_ids
            ):
                raise ValidationError(
                    _(
                        "Product filters apply to sales, revenue and margin, not to "
                        "%(kpi)s.",
                        kpi=dict(KPI_TYPES)[kpi.kpi_type],
                    )
                )
