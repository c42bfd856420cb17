from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CrmSfaDoneWizard(models.TransientModel):
    _name = "crm.sfa.done.wizard"
    _description = "Mark Customer Work Done"

    event_ids = fields.Many2many(
        "calendar.event", string="Customer Work", readonly=True
    )
    outcome = fields.Text(
        required=True, help="What came out of the visit, call or meeting."
    )

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if self.env.context.get("active_model") == "calendar.event":
            res["event_ids"] = [
                fields.Command.set(self.env.context.get("active_ids", []))
            ]
        return res

    def action_done(self):
        self.ensure_one()
        if not self.event_ids:
            raise UserError(_("Choose the visits, calls or meetings to mark done."))
        self.event_ids.action_sfa_done(self.outcome)
        return {"type": "ir.actions.act_window_close"}
