from odoo import api, fields, models


class CrmBonusPlanLevel(models.Model):
    _name = "crm.bonus.plan.level"
    _description = "Bonus Payout Level"
    _inherit = ["crm.bonus.locked.mixin"]
    _locked_by = "plan_id"
    _order = "plan_id, sequence, attainment, id"

    plan_id = fields.Many2one(
        "crm.bonus.plan", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="plan_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    attainment = fields.Float(
        string="Attainment (%)", required=True, help="Weighted attainment of the KPIs."
    )
    payout_factor = fields.Float(
        string="Payout (%)",
        required=True,
        help="Share of the on-target bonus paid at this attainment.",
    )

    _sql_constraints = [
        (
            "values_positive",
            "CHECK(attainment >= 0 AND payout_factor >= 0)",
            "Payout levels are positive percentages.",
        ),
    ]

    @api.constrains("sequence", "attainment", "payout_factor")
    def _check_plan_curve(self):
        """A level changed on its own: its plan's curve, cap and threshold are
        checked again, as when the plan's levels are written."""
        self.plan_id._check_levels()
