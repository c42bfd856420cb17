from odoo import api, models


class AccountPartialReconcile(models.Model):
    _name = "account.partial.reconcile"
    _inherit = ["crm.bonus.source.mixin", "account.partial.reconcile"]

    # Paid revenue: a reconciliation marks the statements it pays into when it is made
    # (and when it is undone: see unlink)
    _bonus_create = True

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        partials._update_bonus_statements()
        return partials

    def unlink(self):
        # Marked first, before the moves are read below: the marking reads them
        # reconciliation by reconciliation, in the queries it always took.
        self._bonus_mark_dirty()
        moves = (self.debit_move_id | self.credit_move_id).move_id
        res = super().unlink()
        self.env["crm.bonus.statement"]._update_paid_state(moves)
        return res

    def _update_bonus_statements(self):
        """Bonus statements whose accrual entry is reconciled here become paid
        when their payable line is fully reconciled."""
        moves = (self.debit_move_id | self.credit_move_id).move_id
        self.env["crm.bonus.statement"]._update_paid_state(moves)

    def _bonus_statement_keys(self):
        """Paid revenue: the statements of the customer invoices' salespeople at
        the reconciliation's date."""
        return [
            (move.invoice_user_id.id, move.company_id.id, partial.max_date)
            for partial in self
            for move in (partial.debit_move_id | partial.credit_move_id).move_id
            if move.is_sale_document()
        ]
