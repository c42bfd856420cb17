from odoo import api, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    # Fields that change what a confirmed order counts in a bonus statement
    _BONUS_FIELDS = {
        "product_id",
        "product_uom_qty",
        "product_uom",
        "price_unit",
        "discount",
        "tax_id",
        "purchase_price",
    }

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.order_id._bonus_mark_dirty()
        return lines

    def write(self, vals):
        res = super().write(vals)
        if self._BONUS_FIELDS & set(vals):
            self.order_id._bonus_mark_dirty()
        return res

    def unlink(self):
        orders = self.order_id
        res = super().unlink()
        orders.exists()._bonus_mark_dirty()
        return res
