from odoo import api, models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        partials._update_bonus_statements()
        return partials

    def unlink(self):
        moves = (self.debit_move_id | self.credit_move_id).move_id
        res = super().unlink()
        self.env["crm.bonus.statement"]._update_paid_state(moves)
        return res

    def _update_bonus_statements(self):
        """Bonus statements whose accrual entry is reconciled here become paid
        when their payable line is fully reconciled."""
        moves = (self.debit_move_id | self.credit_move_id).move_id
        self.env["crm.bonus.statement"]._update_paid_state(moves)
