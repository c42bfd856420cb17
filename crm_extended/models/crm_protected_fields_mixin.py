from odoo import _, api, models
from odoo.exceptions import AccessError

from ..roles import has_role


class CrmProtectedFieldsMixin(models.AbstractModel):
    """Fields a role changes only through the model's actions.

    Over JSON-RPC any user may call ``create`` and ``write`` with every field their
    access rights allow, whatever the views show. A model inheriting this mixin
    lists in ``_protected_fields`` the fields that feed workflows, statistics or
    bonuses; creating or writing one directly is refused to every user outside the
    groups named for it. The model's actions check the caller's right first, then
    write those fields as superuser (``sudo()``), which the guard lets through.

    ``_protected_fields``: ``{field name: groups}``, the groups being a
    comma-separated list of XML ids of groups that may set the field directly, or
    ``""`` when only the actions may. A model refines the rule per record and value
    in ``_protected_field_allowed()``.
    """

    _name = "crm.protected.fields.mixin"
    _description = "Fields Changed Only Through Actions"

    _protected_fields = {}

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._check_protected_fields(vals, creating=True)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._check_protected_fields(vals)
        return super().write(vals)

    def _protected_field_allowed(self, fname, value, creating):
        """Hook: whether the current user may set ``fname`` to ``value`` on
        ``self`` (on create: an empty recordset) though the field is protected.
        By default, never."""
        return False

    def _protected_value_unchanged(self, fname, value):
        """Whether writing ``value`` to ``fname`` leaves every record of ``self`` as it
        is (a form or an import sending back the current value)."""
        if not self:
            return False
        field = self._fields[fname]
        for record in self:
            new = field.convert_to_record(
                field.convert_to_cache(value, record, validate=False), record
            )
            if record[fname] != new:
                return False
        return True

    def _protected_fields_error(self, fnames):
        """The error refusing the direct change of ``fnames``; a model names who may
        change them in its own words."""
        descriptions = ", ".join(
            self._fields[fname]._description_string(self.env) for fname in fnames
        )
        return AccessError(
            _(
                "You cannot set %(fields)s of %(model)s directly: use the "
                "actions of the screen.",
                fields=descriptions,
                model=self._description,
            )
        )

    def _check_protected_fields(self, vals, creating=False):
        refused = []
        for fname, value in vals.items():
            groups = self._protected_fields.get(fname)
            if groups is None:
                continue
            if groups and has_role(self.env, *groups.split(",")):
                continue
            if self._protected_field_allowed(fname, value, creating):
                continue
            refused.append(fname)
        if refused:
            raise self._protected_fields_error(refused)
