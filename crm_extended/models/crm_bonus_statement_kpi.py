from odoo import api, fields, models

from .crm_bonus_plan import KPI_TYPES


class CrmBonusStatementKpi(models.Model):
    _name = "crm.bonus.statement.kpi"
    _description = "Bonus Statement KPI"
    _order = "statement_id, id"

    statement_id = fields.Many2one(
        "crm.bonus.statement",
        string="Bonus Statement",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="statement_id.company_id", store=True)
    user_id = fields.Many2one(related="statement_id.user_id", store=True)
    currency_id = fields.Many2one(related="statement_id.currency_id")
    state = fields.Selection(related="statement_id.state")
    plan_kpi_id = fields.Many2one(
        "crm.bonus.plan.kpi", string="Plan KPI", ondelete="set null", readonly=True
    )
    kpi_type = fields.Selection(KPI_TYPES, string="KPI", required=True, readonly=True)
    weight = fields.Float(string="Weight (%)", readonly=True)
    target = fields.Float(digits="Product Price", readonly=True)
    achieved = fields.Float(
        digits="Product Price",
        readonly=True,
        help="In the plan's currency for sales, revenue and margin; a number of "
        "customers, visits or calls for the others.",
    )
    attainment = fields.Float(
        string="Attainment (%)",
        readonly=True,
        aggregator="avg",
        help="Achieved / target; 0 when the target is 0.",
    )
    weighted_attainment = fields.Float(string="Weighted (%)", readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        self.env["crm.bonus.statement"].browse(
            [vals["statement_id"] for vals in vals_list if vals.get("statement_id")]
        )._check_open()
        return super().create(vals_list)

    def write(self, vals):
        self.statement_id._check_open()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed(self):
        self.statement_id._check_open()
