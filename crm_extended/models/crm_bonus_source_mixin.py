from odoo import api, models


class CrmBonusSourceMixin(models.AbstractModel):
    """A document that bonus statements count (an order, an invoice, a payment, a held
    call, done customer work): its changes mark the statements counting it to compute
    again (``crm.bonus.statement._mark_dirty``, one UPDATE per change), which the
    automatic update then does.

    A model lists this mixin first in its ``_inherit``, so that its hooks wrap the
    model's whole ``create``, ``write`` and ``unlink``, and declares:

    - ``_bonus_fields``: the fields whose change moves a record between statements. A
      write touching one marks the statements of the records before it (those they
      leave) and after it (those they join).
    - ``_bonus_create``: whether a creation marks the statements of the new records:
      ``True``, or ``(field, value)``: when one is created with this value (work
      created done).
    - ``_bonus_statement_keys()``: the rows (salesperson id, company id or ``None`` for
      any company, day) of the statements counting the records.

    Records counted in their parent's statements (order lines in their order's) name
    the parent's field in ``_bonus_parent`` instead of giving keys: their creation,
    their deletion and a write touching ``_bonus_fields`` mark the statements of the
    parents after it (a change to a line leaves its order where it is).
    """

    _name = "crm.bonus.source.mixin"
    _description = "Source of Bonus Statements"

    _bonus_fields = frozenset()
    _bonus_create = False
    _bonus_parent = None

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if self._bonus_created(vals_list):
            records._bonus_sources()._bonus_mark_dirty()
        return records

    def write(self, vals):
        if self._bonus_parent:
            res = super().write(vals)
            if self._bonus_fields & set(vals):
                self._bonus_sources()._bonus_mark_dirty()
            return res
        if not self._bonus_fields & set(vals):
            return super().write(vals)
        before = self._bonus_mark_before_write()
        res = super().write(vals)
        self._bonus_mark_after_write(before)
        return res

    def unlink(self):
        if not self._bonus_parent:
            return super().unlink()
        parents = self._bonus_sources()
        res = super().unlink()
        parents.exists()._bonus_mark_dirty()
        return res

    # ------------------------------------------------------------
    # BONUS
    # ------------------------------------------------------------

    def _bonus_statement_keys(self):
        """Hook: the rows (salesperson id, company id or ``None`` for any company,
        day) of the bonus statements counting these records."""
        return []

    def _bonus_created(self, vals_list):
        """Whether creating records of ``vals_list`` marks their statements (see
        ``_bonus_create``)."""
        if isinstance(self._bonus_create, tuple):
            fname, value = self._bonus_create
            return any(vals.get(fname) == value for vals in vals_list)
        return self._bonus_create

    def _bonus_sources(self):
        """The records whose statements a change to these marks: themselves, or
        their parents (``_bonus_parent``)."""
        return self[self._bonus_parent] if self._bonus_parent else self

    def _bonus_mark_dirty(self):
        """Mark the statements counting these records, in one UPDATE."""
        self.env["crm.bonus.statement"]._mark_dirty(self._bonus_statement_keys())

    def _bonus_mark_before_write(self):
        """Before a write of ``_bonus_fields``: mark the statements the records leave.
        Returns what ``_bonus_mark_after_write`` needs to know of the records as they
        were."""
        self._bonus_mark_dirty()

    def _bonus_mark_after_write(self, before):
        """After a write of ``_bonus_fields``: mark the statements the records join;
        ``before`` is what ``_bonus_mark_before_write`` returned."""
        self._bonus_mark_dirty()
