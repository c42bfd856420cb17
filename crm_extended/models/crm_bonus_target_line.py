from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .crm_bonus_plan import KPI_TYPES


class CrmBonusTargetLine(models.Model):
    _name = "crm.bonus.target.line"
    _description = "Bonus Target per KPI"
    _order = "target_id, id"

    target_id = fields.Many2one(
        "crm.bonus.target",
        string="Bonus Target",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="target_id.company_id", store=True)
    user_id = fields.Many2one(related="target_id.user_id", store=True)
    kpi_type = fields.Selection(KPI_TYPES, string="KPI", required=True)
    target = fields.Float(
        digits="Product Price",
        help="An amount in the plan's currency for sales, revenue and margin; a "
        "number of customers, visits or calls for the others.",
    )

    _sql_constraints = [
        (
            "kpi_type_uniq",
            "unique(target_id, kpi_type)",
            "A target is set once per KPI.",
        ),
    ]

    @api.constrains("target")
    def _check_target(self):
        for line in self:
            if line.target < 0:
                raise ValidationError(
                    _(
                        "The target of %(kpi)s cannot be negative (%(target)s).",
                        kpi=dict(KPI_TYPES)[line.kpi_type],
                        target=line.target,
                    )
                )
