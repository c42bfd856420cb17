from odoo import api, models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        partials._bonus_mark_dirty()
        return partials

    def unlink(self):
        self._bonus_mark_dirty()
        return super().unlink()

    def _bonus_mark_dirty(self):
        """Paid revenue: the statements of the customer invoices' salespeople at
        the reconciliation's date."""
        self.env["crm.bonus.statement"]._mark_dirty(
            (move.invoice_user_id.id, move.company_id.id, partial.max_date)
            for partial in self
            for move in (partial.debit_move_id | partial.credit_move_id).move_id
            if move.is_sale_document()
        )
