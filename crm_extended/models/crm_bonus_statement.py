from collections import Counter

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.sql import index_exists

from ..roles import check_role

STATEMENT_STATES = [
    ("draft", "Draft"),
    ("to_approve", "To Approve"),
    ("approved", "Approved"),
    ("posted", "Posted"),
    ("paid", "Paid"),
    ("cancelled", "Cancelled"),
]
# States whose figures may still be computed again
OPEN_STATES = ("draft", "to_approve")
# States of a statement whose accrual is in the books
ACCOUNTED_STATES = ("posted", "paid")


class CrmBonusStatement(models.Model):
    _name = "crm.bonus.statement"
    _description = "Bonus Statement"
    _inherit = ["mail.thread", "crm.protected.fields.mixin"]
    _order = "date_from desc, user_id, id desc"
    _check_company_auto = True

    # Set by the actions (once they checked the caller's right) and by the
    # computation, never directly: not even by a bonus manager, who would approve
    # figures of their own making, nor post without an accountant.
    _protected_fields = dict.fromkeys(
        (
            "state",
            "amount_on_target",
            "attainment",
            "payout_factor",
            "amount_payout",
            "date_computed",
            "date_approved",
            "approved_by_id",
            "move_id",
            "to_recompute",
        ),
        "",
    )

    # Fields an approved, posted, paid or cancelled statement keeps as they are
    _FROZEN = {
        "target_id",
        "kpi_ids",
        "line_ids",
        "amount_on_target",
        "attainment",
        "payout_factor",
        "amount_payout",
        "date_computed",
    }

    name = fields.Char(related="target_id.name", store=True)
    target_id = fields.Many2one(
        "crm.bonus.target",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    user_id = fields.Many2one(
        related="target_id.user_id", string="Salesperson", store=True, index=True
    )
    plan_id = fields.Many2one(related="target_id.plan_id", store=True, index=True)
    company_id = fields.Many2one(
        related="target_id.company_id", store=True, index=True, precompute=True
    )
    currency_id = fields.Many2one(related="plan_id.currency_id", store=True)
    date_from = fields.Date(related="target_id.date_from", store=True)
    date_to = fields.Date(related="target_id.date_to", store=True)
    state = fields.Selection(
        STATEMENT_STATES,
        default="draft",
        required=True,
        tracking=True,
        copy=False,
        index=True,
    )
    kpi_ids = fields.One2many("crm.bonus.statement.kpi", "statement_id", string="KPIs")
    line_ids = fields.One2many(
        "crm.bonus.statement.line", "statement_id", string="Source Lines"
    )
    amount_on_target = fields.Monetary(
        string="On-Target Bonus",
        readonly=True,
        help="The target's on-target bonus when the statement was last computed.",
    )
    attainment = fields.Float(
        string="Attainment (%)",
        readonly=True,
        aggregator="avg",
        help="Sum of the KPIs' attainments weighted by the plan.",
    )
    payout_factor = fields.Float(
        string="Payout Factor (%)", readonly=True, aggregator="avg"
    )
    amount_payout = fields.Monetary(string="Payout", readonly=True, tracking=True)
    move_id = fields.Many2one(
        "account.move",
        string="Accrual Entry",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    date_computed = fields.Datetime(string="Computed On", readonly=True, copy=False)
    date_approved = fields.Datetime(string="Approved On", readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    # Source documents, for the smart buttons
    order_count = fields.Integer(compute="_compute_source_counts")
    invoice_count = fields.Integer(compute="_compute_source_counts")
    payment_count = fields.Integer(compute="_compute_source_counts")
    event_count = fields.Integer(compute="_compute_source_counts")
    phonecall_count = fields.Integer(compute="_compute_source_counts")
    # Accounting: the accrual entry's payable line is reconciled
    is_paid = fields.Boolean(
        compute="_compute_is_paid",
        string="Paid",
        help="The payable line of the accrual entry is fully reconciled.",
    )
    # Automatic updates: a source document changed since the last computation
    to_recompute = fields.Boolean(
        string="To Update",
        readonly=True,
        copy=False,
        index=True,
        help="A source document changed since the statement was computed: the "
        "next automatic update computes it again (or, once approved, carries the "
        "difference into the next open statement).",
    )

    # One statement per target, cancelled ones aside: the unique index made by
    # init() (two requests creating one at once both pass the check in Python).
    _sql_constraints = [
        (
            "one_per_target",
            "",
            "A bonus target has one bonus statement, cancelled ones aside: cancel "
            "it before making a new one.",
        ),
    ]

    @api.depends("line_ids")
    def _compute_source_counts(self):
        counts = {
            statement: (orders, invoices, payments, events, calls)
            for statement, orders, invoices, payments, events, calls in self.env[
                "crm.bonus.statement.line"
            ]._read_group(
                [("statement_id", "in", self.ids)],
                ["statement_id"],
                [
                    "order_id:count_distinct",
                    "invoice_id:count_distinct",
                    "payment_move_id:count_distinct",
                    "event_id:count_distinct",
                    "phonecall_id:count_distinct",
                ],
            )
        }
        for statement in self:
            (
                statement.order_count,
                statement.invoice_count,
                statement.payment_count,
                statement.event_count,
                statement.phonecall_count,
            ) = counts.get(statement, (0, 0, 0, 0, 0))

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------

    def init(self):
        res = super().init()
        if not index_exists(self.env.cr, "crm_bonus_statement_one_per_target"):
            self.env.cr.execute(
                """
                CREATE UNIQUE INDEX crm_bonus_statement_one_per_target
                    ON crm_bonus_statement (target_id)
                 WHERE state != 'cancelled'
                """
            )
        return res

    def _check_one_per_target(self, target_ids):
        """Before statements of ``target_ids`` are created or ``self`` reopened,
        refuse the targets that would have two statements not cancelled, with
        their name (the unique index refuses them too, without it)."""
        counts = Counter(target_id for target_id in target_ids if target_id)
        taken = self.env["crm.bonus.target"].browse(
            [target_id for target_id, count in counts.items() if count > 1]
        )
        if counts:
            taken |= self.search(
                [
                    ("target_id", "in", list(counts)),
                    ("state", "!=", "cancelled"),
                    ("id", "not in", self.ids),
                ],
                limit=1,
            ).target_id
        if taken:
            raise ValidationError(
                _(
                    "%(target)s already has a bonus statement: cancel it before "
                    "making a new one.",
                    target=taken[0].name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_one_per_target(
            [
                vals.get("target_id")
                for vals in vals_list
                if vals.get("state", "draft") != "cancelled"
            ]
        )
        statements = super().create(vals_list)
        # A KPI line per KPI of the plan, with its weight and the target's target
        kpi_vals = []
        for statement in statements:
            targets = {
                line.kpi_type: line.target for line in statement.target_id.line_ids
            }
            statement.sudo().amount_on_target = statement.target_id.amount_on_target
            kpi_vals += [
                {
                    "statement_id": statement.id,
                    "plan_kpi_id": kpi.id,
                    "kpi_type": kpi.kpi_type,
                    "weight": kpi.weight,
                    "target": targets.get(kpi.kpi_type, 0.0),
                }
                for kpi in statement.plan_id.kpi_ids
            ]
        # Figures of the computation only: nobody creates or changes them by hand
        self.env["crm.bonus.statement.kpi"].sudo().create(kpi_vals)
        return statements

    def write(self, vals):
        if self._FROZEN & set(vals):
            self._check_open()
        if "target_id" in vals or "state" in vals:
            # statements moved to another target, or cancelled ones reopened
            moved = self.filtered(
                lambda s: vals.get("state", s.state) != "cancelled"
                and ("target_id" in vals or s.state == "cancelled")
            )
            if moved:
                moved._check_one_per_target(
                    [vals.get("target_id") or s.target_id.id for s in moved]
                )
        return super().write(vals)

    def _check_lines_editable(self):
        self._check_open()

    def _check_open(self):
        closed = self.filtered(lambda s: s.state not in OPEN_STATES)
        if closed:
            raise UserError(
                _(
                    "The bonus statement %(name)s is %(state)s: its figures never "
                    "change any more.",
                    name=closed[0].name,
                    state=dict(STATEMENT_STATES)[closed[0].state],
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_approved(self):
        closed = self.filtered(lambda s: s.state not in ("draft", "cancelled"))
        if closed:
            raise UserError(
                _(
                    "Only draft or cancelled bonus statements can be deleted: "
                    "%(name)s is not.",
                    name=closed[0].name,
                )
            )

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _check_bonus_manager(self):
        """The caller manages bonuses and may change these statements: checked by
        every action that computes or moves them, before anything is done."""
        check_role(
            self.env,
            "crm_extended.group_bonus_manager",
            _(
                "Only bonus managers compute, submit, approve, reset and cancel "
                "bonus statements."
            ),
        )
        self.check_access("write")

    def _check_state(self, states, action):
        for statement in self:
            if statement.state not in states:
                raise UserError(
                    _(
                        "The bonus statement %(name)s is %(state)s: it cannot be "
                        "%(action)s.",
                        name=statement.name,
                        state=dict(STATEMENT_STATES)[statement.state],
                        action=action,
                    )
                )

    def action_compute(self):
        self._check_bonus_manager()
        self._check_state(OPEN_STATES, _("computed again"))
        self._compute_statements(self)
        return True

    def action_submit(self):
        self._check_bonus_manager()
        self._check_state(("draft",), _("submitted"))
        self._compute_statements(self)
        self.sudo().write({"state": "to_approve"})
        return True

    def action_approve(self):
        self._check_bonus_manager()
        self._check_state(("to_approve",), _("approved"))
        self.sudo().write(
            {
                "state": "approved",
                "date_approved": fields.Datetime.now(),
                "approved_by_id": self.env.user.id,
            }
        )
        return True

    def action_reset_draft(self):
        """Back to draft from to approve (refused) or cancelled."""
        self._check_bonus_manager()
        self._check_state(("to_approve", "cancelled"), _("reset to draft"))
        self.sudo().write({"state": "draft"})
        return True

    def action_cancel(self):
        """Cancel statements: bonus managers cancel draft, to approve and approved
        ones; accountants cancel posted ones, whose accrual entries they reverse.
        Both rights are checked before anything is done."""
        accounted = self.filtered(lambda s: s.state in ACCOUNTED_STATES)
        others = self - accounted
        if accounted:
            accounted._check_bonus_accountant()
        if others:
            others._check_bonus_manager()
            others._check_state(("draft", "to_approve", "approved"), _("cancelled"))
        if accounted:
            accounted._cancel_accounted()
        if others:
            others.sudo().write({"state": "cancelled"})
        return True

    def _action_open_sources(self, model, field, name):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "list,form",
            "domain": [("id", "in", self.line_ids[field].ids)],
            "context": {"create": False},
        }

    def action_open_orders(self):
        return self._action_open_sources("sale.order", "order_id", _("Orders"))

    def action_open_invoices(self):
        return self._action_open_sources("account.move", "invoice_id", _("Invoices"))

    def action_open_payments(self):
        return self._action_open_sources(
            "account.move", "payment_move_id", _("Payments")
        )

    def action_open_events(self):
        return self._action_open_sources(
            "calendar.event", "event_id", _("Visits and Calls")
        )

    def action_open_phonecalls(self):
        return self._action_open_sources("crm.phonecall", "phonecall_id", _("Calls"))

    def action_open_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_bonus_statement_line_action"
        )
        action["domain"] = [("statement_id", "=", self.id)]
        action["context"] = {"search_default_group_kpi": 1}
        return action
