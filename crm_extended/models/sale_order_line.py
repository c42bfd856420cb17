from odoo import models


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["crm.bonus.source.mixin", "sale.order.line"]

    # A line counts in its order's statements: creating or deleting lines, and a
    # change to these fields, change what a confirmed order counts in them.
    _bonus_parent = "order_id"
    _bonus_create = True
    _bonus_fields = {
        "product_id",
        "product_uom_qty",
        "product_uom",
        "price_unit",
        "discount",
        "tax_id",
        "purchase_price",
    }
