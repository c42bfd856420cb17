from odoo import api, fields, models


class CrmBonusPlanLevel(models.Model):
    _name = "crm.bonus.plan.level"
    _description = "Bonus Payout Level"
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

    @api.model_create_multi
    def create(self, vals_list):
        self.env["crm.bonus.plan"].browse(
            [vals["plan_id"] for vals in vals_list if vals.get("plan_id")]
        )._check_draft()
        return super().create(vals_list)

    def write(self, vals):
        self.plan_id._check_draft()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_approved(self):
        self.plan_id._check_draft()
