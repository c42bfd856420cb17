from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..text import name_list

OUTCOME_ACTIONS = [
    ("interested", "Interested: create or update an opportunity"),
    ("not_interested", "Reached, not interested"),
    ("callback", "Call back at a given time"),
    ("retry", "Retry later (no answer, busy)"),
    ("wrong_number", "Wrong number"),
    ("do_not_call", "Do not call again"),
    ("order_taken", "Order taken"),
]
REACHED_ACTIONS = (
    "interested",
    "not_interested",
    "callback",
    "do_not_call",
    "order_taken",
)


class CrmCallOutcome(models.Model):
    _name = "crm.call.outcome"
    _description = "Call Outcome"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True, help="Short code, unique per company, used by integrations."
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Leave empty to share across companies."
    )
    action = fields.Selection(
        OUTCOME_ACTIONS,
        required=True,
        default="not_interested",
        help="What logging this outcome does to the call list entry.",
    )
    requires_note = fields.Boolean(
        string="Note Required", help="The agent must write a note with this outcome."
    )
    is_reached = fields.Boolean(
        string="Customer Reached",
        compute="_compute_is_reached",
        store=True,
        readonly=False,
        help="The call reached the customer (counts in the reach rate).",
    )
    color = fields.Integer()

    # Shared outcomes (no company) count as one company: NULLS NOT DISTINCT.
    _sql_constraints = [
        (
            "code_company_uniq",
            "unique nulls not distinct (code, company_id)",
            "The code of a call outcome is already used in this company.",
        )
    ]

    @api.depends("action")
    def _compute_is_reached(self):
        for outcome in self:
            outcome.is_reached = outcome.action in REACHED_ACTIONS

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.ondelete(at_uninstall=False)
    def _unlink_except_logged(self):
        # Counted as superuser: the calls and entries of every agent keep them.
        calls_su = self.env["crm.phonecall"].sudo()
        entries_su = self.env["crm.call.list.entry"].sudo()
        used = {
            outcome
            for [outcome] in calls_su.with_context(active_test=False)._read_group(
                [("call_outcome_id", "in", self.ids)], ["call_outcome_id"]
            )
        } | {
            outcome
            for [outcome] in entries_su._read_group(
                [("outcome_id", "in", self.ids)], ["outcome_id"]
            )
        }
        if used:
            outcomes = self.filtered(lambda outcome: outcome in used)
            raise UserError(
                _(
                    "Outcomes logged on calls cannot be deleted, archive them "
                    "instead: %(outcomes)s.",
                    outcomes=name_list(self.env, outcomes.mapped("name")),
                )
            )
