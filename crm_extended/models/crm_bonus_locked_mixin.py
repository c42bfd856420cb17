from odoo import api, models


class CrmBonusLockedMixin(models.AbstractModel):
    """Lines of a bonus plan or statement: created, changed or deleted only while
    their parent may change, as the parent's ``_check_lines_editable()`` says."""

    _name = "crm.bonus.locked.mixin"
    _description = "Bonus Lines Locked with Their Parent"

    # The field of the parent record (a plan or a statement)
    _locked_by = None

    def _locked_parents(self, vals_list=None):
        parents = self[self._locked_by]
        if vals_list is not None:
            comodel = self._fields[self._locked_by].comodel_name
            parents = self.env[comodel].browse(
                [
                    vals[self._locked_by]
                    for vals in vals_list
                    if vals.get(self._locked_by)
                ]
            )
        return parents

    @api.model_create_multi
    def create(self, vals_list):
        self._locked_parents(vals_list)._check_lines_editable()
        return super().create(vals_list)

    def write(self, vals):
        self._locked_parents()._check_lines_editable()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_locked(self):
        self._locked_parents()._check_lines_editable()
