from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CrmCallOutcomeWizard(models.TransientModel):
    _name = "crm.call.outcome.wizard"
    _description = "Log the Outcome of a Call"

    entry_id = fields.Many2one(
        "crm.call.list.entry", string="Call", required=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(related="entry_id.partner_id")
    company_id = fields.Many2one(related="entry_id.company_id")
    outcome_id = fields.Many2one(
        "crm.call.outcome",
        domain="[('company_id', 'in', [False, company_id])]",
    )
    outcome_action = fields.Selection(related="outcome_id.action")
    requires_note = fields.Boolean(related="outcome_id.requires_note")
    note = fields.Text(help="What the customer said.")
    callback_at = fields.Datetime(string="Call Back On")

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # Only for an entry the user is calling (the wizard shows its customer).
        for wizard in wizards:
            wizard.entry_id._check_telesales_access()
            wizard.entry_id._check_callable()
        return wizards

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        context = self.env.context
        if (
            "entry_id" in fields_list
            and not res.get("entry_id")
            and context.get("active_model") == "crm.call.list.entry"
        ):
            res["entry_id"] = context.get("active_id")
        return res

    def action_log(self):
        """Log the outcome on the entry; in auto-dial mode the next call follows."""
        self.ensure_one()
        if not self.outcome_id:
            raise UserError(_("Choose the outcome of the call."))
        self.entry_id.action_log_outcome(
            self.outcome_id, note=self.note, callback_at=self.callback_at
        )
        return self.entry_id._action_after_outcome() or {
            "type": "ir.actions.act_window_close"
        }
