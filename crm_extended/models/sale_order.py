from odoo import models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["crm.bonus.source.mixin", "sale.order", "crm.sales.region.mixin"]

    # Fields that move an order's achievement between bonus statements, or its
    # customer's new customer (first confirmed order) to another order
    _bonus_fields = {"state", "user_id", "date_order", "company_id", "partner_id"}

    # ------------------------------------------------------------
    # BONUS
    # ------------------------------------------------------------

    def _bonus_statement_keys(self):
        """The statements of the confirmed orders."""
        return [
            (order.user_id.id, order.company_id.id, order.date_order)
            for order in self
            if order.state == "sale"
        ]

    def _bonus_mark_before_write(self):
        self._bonus_mark_dirty()
        return self._bonus_customers()

    def _bonus_mark_after_write(self, before):
        self._bonus_mark_dirty(customers=before)

    def _bonus_customers(self):
        """The customers (commercial partner id, company id) of the confirmed
        orders."""
        return {
            (order.partner_id.commercial_partner_id.id, order.company_id.id)
            for order in self
            if order.state == "sale"
        }

    def _bonus_mark_dirty(self, customers=None):
        """Mark the statements of the confirmed orders. After a change to the
        orders, ``customers`` are their customers before it (``_bonus_customers``):
        the change may move the new customer of these customers, and of the
        orders' customers now, to another order, perhaps another salesperson's in
        another period. That order, before or after the change, is one of the
        orders (marked by the calls before and after it) or the first confirmed
        order of the others, which the change leaves as it is: one query finds
        those, and their statements are marked too."""
        rows = self._bonus_statement_keys()
        if customers is not None:
            customers = customers | self._bonus_customers()
            if customers:
                rows += self.env["crm.bonus.statement"]._first_confirmed_orders(
                    customers, self
                )
        self.env["crm.bonus.statement"]._mark_dirty(rows)
