from odoo import fields, models

from .crm_bonus_plan import KPI_TYPES


class CrmBonusStatementKpi(models.Model):
    _name = "crm.bonus.statement.kpi"
    _description = "Bonus Statement KPI"
    _inherit = ["crm.bonus.locked.mixin"]
    _locked_by = "statement_id"
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
