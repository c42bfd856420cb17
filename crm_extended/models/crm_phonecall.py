from datetime import datetime

from odoo import _, fields, models
from odoo.exceptions import AccessError

from ..text import name_list

# What the telesales actions log of a call made from a call list: the telesales
# statistics count it, so only sales managers correct it.
TELESALES_LOGGED_FIELDS = ("state", "date", "duration", "partner_id", "active")


class CrmPhonecall(models.Model):
    _name = "crm.phonecall"
    _inherit = [
        "crm.contact.source.mixin",
        "crm.bonus.source.mixin",
        "crm.phonecall",
        "crm.protected.fields.mixin",
    ]

    # Who made the call, its outcome, the order taken and the call list entry called
    # feed bonuses and telesales statistics: a salesperson logs their own calls,
    # sales managers reassign them, and only the telesales actions log an outcome,
    # an order or an entry's call (as superuser). The status, date, duration,
    # customer and archiving of a call of a call list are the actions' too (sales
    # managers correct them); those of other calls, their salesperson's.
    _protected_fields = {
        "user_id": "sales_team.group_sale_manager",
        "call_outcome_id": "",
        "order_id": "",
        "call_list_entry_id": "",
        **dict.fromkeys(TELESALES_LOGGED_FIELDS, "sales_team.group_sale_manager"),
    }
    # Fields that move held calls between bonus statements; a call created held
    # counts at once
    _bonus_fields = {"state", "date", "user_id", "active", "company_id"}
    _bonus_create = ("state", "done")
    # Fields that move the last contact of the customer of a held call; a call created
    # held is a contact at once
    _contact_fields = {"state", "date", "partner_id", "active"}
    _contact_create = ("state", "done")

    # A customer's calls are read at every logged call (their last contact)
    partner_id = fields.Many2one(index="btree_not_null")
    call_list_entry_id = fields.Many2one(
        "crm.call.list.entry",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
    )
    call_list_id = fields.Many2one(
        related="call_list_entry_id.call_list_id",
        store=True,
        index="btree_not_null",
        precompute=True,
    )
    call_outcome_id = fields.Many2one(
        "crm.call.outcome",
        string="Outcome",
        ondelete="restrict",
        readonly=True,
        copy=False,
    )
    order_id = fields.Many2one(
        "sale.order",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The order taken during the call.",
    )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    def _protected_field_allowed(self, fname, value, creating):
        if (creating and not value) or self._protected_value_unchanged(fname, value):
            return True
        if fname in TELESALES_LOGGED_FIELDS:
            # A call of a call list is the telesales actions' record; the others
            # are their salesperson's.
            return creating or not self._telesales_calls()
        if fname == "user_id" and creating:
            # A salesperson logs their own calls (or calls nobody holds yet).
            return not value or value == self.env.uid
        return super()._protected_field_allowed(fname, value, creating)

    def _telesales_calls(self):
        """The calls of ``self`` made from a call list, read as superuser (their
        entry may be another agent's)."""
        return self.sudo().filtered("call_list_entry_id").sudo(False)

    def _protected_fields_error(self, fnames):
        if set(fnames) <= set(TELESALES_LOGGED_FIELDS):
            return AccessError(
                _(
                    "Calls logged through a call list keep the status, date, "
                    "duration and contact their call list gave them: the telesales "
                    "statistics count them. A sales manager corrects them: "
                    "%(calls)s.",
                    calls=name_list(self.env, self._telesales_calls().mapped("name")),
                )
            )
        if "user_id" in fnames:
            return AccessError(
                _(
                    "Only sales managers may give a call to another salesperson: a "
                    "salesperson logs and keeps their own calls."
                )
            )
        return AccessError(
            _(
                "The outcome, the order and the call list entry of a call are logged "
                "through the call list's actions (call, log the outcome, take the "
                "order), never set directly."
            )
        )

    # ------------------------------------------------------------
    # BONUS
    # ------------------------------------------------------------

    def _bonus_statement_keys(self):
        return [
            (call.user_id.id, call.company_id.id, call.date and call.date.date())
            for call in self
            if call.state == "done"
        ]

    # ------------------------------------------------------------
    # CONTACT CADENCE
    # ------------------------------------------------------------

    def _contact_feedbacks(self):
        """A held call is a contact: its customer's follow-ups note the call (the
        latest of its customer here)."""
        held = self.filtered(lambda c: c.state == "done" and c.active and c.partner_id)
        if not held:
            return {}
        feedbacks = {}
        for call in held.sorted(lambda c: c.date or datetime.min):
            feedbacks[call.partner_id.commercial_partner_id.id] = _(
                "Call held: %(name)s", name=call.name
            )
        return feedbacks
