from odoo import models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "crm.sales.region.mixin"]

    # Fields that move an order's achievement between bonus statements
    _BONUS_FIELDS = {"state", "user_id", "date_order", "company_id"}

    def write(self, vals):
        bonus = self._BONUS_FIELDS & set(vals)
        if bonus:
            self._bonus_mark_dirty()
        res = super().write(vals)
        if bonus:
            self._bonus_mark_dirty()
        return res

    def _bonus_mark_dirty(self):
        self.env["crm.bonus.statement"]._mark_dirty(
            (order.user_id.id, order.company_id.id, order.date_order)
            for order in self
            if order.state == "sale"
        )
