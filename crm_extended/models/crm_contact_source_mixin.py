from odoo import api, models


class CrmContactSourceMixin(models.AbstractModel):
    """Work that is a contact with a customer (a visit or call done, a phone call
    held): once it is logged, the customer's follow-ups that its new last contact
    makes no longer due are closed at once (``res.partner._contact_logged``), not at
    the next run of the daily job. The contact cadence itself is in
    ``res_partner_contact.py``.

    A model lists this mixin first in its ``_inherit``, so that its hooks wrap the
    model's whole ``create`` and ``write``, and declares:

    - ``_contact_fields``: the fields that move the last contact of the records'
      customers: a write touching one closes the follow-ups after it;
    - ``_contact_create``: ``(field, value)``: creating a record with this value (work
      created done) closes the follow-ups too;
    - ``_contact_feedbacks()``: what each customer's follow-ups note on closing.
    """

    _name = "crm.contact.source.mixin"
    _description = "Contact with a Customer"

    _contact_fields = frozenset()
    _contact_create = None

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if self._contact_create:
            fname, value = self._contact_create
            if any(vals.get(fname) == value for vals in vals_list):
                records._contact_close_followups()
        return records

    def write(self, vals):
        res = super().write(vals)
        if self._contact_fields & set(vals):
            self._contact_close_followups()
        return res

    # ------------------------------------------------------------
    # CONTACT CADENCE
    # ------------------------------------------------------------

    def _contact_feedbacks(self):
        """Hook: {commercial partner id: what was logged} for the records that are
        contacts, the latest of each customer winning; empty when none is."""
        return {}

    def _contact_close_followups(self):
        """Close the follow-ups of the records' customers that are no longer due,
        each noting its customer's feedback."""
        feedbacks = self._contact_feedbacks()
        if feedbacks:
            self.env["res.partner"]._contact_logged(feedbacks)
