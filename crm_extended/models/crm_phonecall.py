from odoo import fields, models


class CrmPhonecall(models.Model):
    _inherit = "crm.phonecall"

    call_list_entry_id = fields.Many2one(
        "crm.call.list.entry",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    call_list_id = fields.Many2one(
        related="call_list_entry_id.call_list_id", store=True, index="btree_not_null"
    )
    call_outcome_id = fields.Many2one(
        "crm.call.outcome", string="Outcome", ondelete="restrict", readonly=True
    )
    order_id = fields.Many2one(
        "sale.order",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The order taken during the call.",
    )
