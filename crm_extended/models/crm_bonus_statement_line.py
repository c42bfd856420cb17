from odoo import api, fields, models

from .crm_bonus_plan import KPI_TYPES


class CrmBonusStatementLine(models.Model):
    """What a statement's achievement is made of: one row per source document
    (an order, an invoice, a payment's reconciliation, a visit, a call). Written by
    the statement's computation in SQL."""

    _name = "crm.bonus.statement.line"
    _description = "Bonus Statement Source Line"
    _inherit = ["crm.bonus.locked.mixin"]
    _locked_by = "statement_id"
    _order = "statement_id, kpi_type, date, id"
    # Written in bulk by the computation, never by hand: no author or dates (and
    # two foreign keys fewer to check on each of the many rows written)
    _log_access = False

    statement_id = fields.Many2one(
        "crm.bonus.statement",
        string="Bonus Statement",
        required=True,
        ondelete="cascade",
        index=True,
    )
    statement_kpi_id = fields.Many2one(
        "crm.bonus.statement.kpi",
        string="Statement KPI",
        ondelete="cascade",
        index=True,
    )
    kpi_type = fields.Selection(KPI_TYPES, string="KPI", required=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    user_id = fields.Many2one("res.users", string="Salesperson", index=True)
    company_currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date()
    amount = fields.Float(
        digits="Product Price",
        help="In the company's currency for sales, revenue and margin; 1 per "
        "customer, visit or call for the others.",
    )
    partner_id = fields.Many2one("res.partner", string="Customer")
    order_id = fields.Many2one("sale.order", ondelete="set null")
    invoice_id = fields.Many2one("account.move", ondelete="set null")
    partial_id = fields.Many2one(
        "account.partial.reconcile", string="Reconciliation", ondelete="set null"
    )
    payment_move_id = fields.Many2one(
        "account.move", string="Payment", ondelete="set null"
    )
    event_id = fields.Many2one(
        "calendar.event", string="Visit or Call", ondelete="set null"
    )
    phonecall_id = fields.Many2one(
        "crm.phonecall", string="Logged Call", ondelete="set null"
    )
    is_adjustment = fields.Boolean(
        readonly=True,
        help="A change, after its approval, to the sources of an earlier statement: "
        "the difference between what it counted and what they count now.",
    )
    adjusted_statement_id = fields.Many2one(
        "crm.bonus.statement",
        readonly=True,
        ondelete="cascade",
        index="btree_not_null",
        help="The approved statement this adjustment corrects.",
    )
    res_model = fields.Char(
        string="Source Model", compute="_compute_source", help="The source document."
    )
    res_id = fields.Many2oneReference(
        string="Source ID", model_field="res_model", compute="_compute_source"
    )

    @api.depends(
        "order_id", "invoice_id", "payment_move_id", "event_id", "phonecall_id"
    )
    def _compute_source(self):
        for line in self:
            for field in (
                "payment_move_id",
                "invoice_id",
                "order_id",
                "event_id",
                "phonecall_id",
            ):
                if line[field]:
                    line.res_model = line[field]._name
                    line.res_id = line[field].id
                    break
            else:
                line.res_model = False
                line.res_id = False

    def action_open_source(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
