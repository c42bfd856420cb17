from odoo import api, models
from odoo.tools import SQL

CUSTOMER_MOVE_TYPES = ("out_invoice", "out_refund", "out_receipt")


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["crm.bonus.source.mixin", "account.move", "crm.sales.region.mixin"]

    # Fields that move an invoice's revenue between bonus statements
    _bonus_fields = {"state", "invoice_user_id", "invoice_date", "company_id"}

    @api.depends("move_type", "state")
    def _compute_sales_region_id(self):
        # Only customer documents carry a region; a posted one keeps the region it was
        # posted with, so that posted figures never move between regions silently.
        customer = self.filtered(lambda m: m.move_type in CUSTOMER_MOVE_TYPES)
        (self - customer).sales_region_id = False
        open_moves = customer.filtered(
            lambda m: m.state != "posted" or not m.sales_region_id
        )
        return super(AccountMove, open_moves)._compute_sales_region_id()

    def _sales_region_sync_where(self):
        return SQL(
            "d.move_type IN %s AND (d.state != 'posted' OR d.sales_region_id IS NULL)",
            CUSTOMER_MOVE_TYPES,
        )

    # ------------------------------------------------------------
    # BONUS
    # ------------------------------------------------------------

    def _bonus_statement_keys(self):
        return [
            (move.invoice_user_id.id, move.company_id.id, move.invoice_date)
            for move in self
            if move.state == "posted"
            and move.move_type in ("out_invoice", "out_refund")
        ]
