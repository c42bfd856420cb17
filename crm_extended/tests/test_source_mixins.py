"""The models that feed bonus statements (crm.bonus.source.mixin) and the contact
cadence (crm.contact.source.mixin) declare what matters; the mixins' hooks wrap each
model's whole create and write, the contact closing after the bonus marking, as the
models' own overrides did. What they mark and close is tested with the bonus updates
(test_bonus_update) and the contact cadence (test_contact_cadence)."""

from odoo.models import is_definition_class
from odoo.tests import TransactionCase, tagged

BONUS_SOURCES = {
    "account.move",
    "account.partial.reconcile",
    "calendar.event",
    "crm.phonecall",
    "sale.order",
    "sale.order.line",
}
CONTACT_SOURCES = {"calendar.event", "crm.phonecall"}
ADDON = "odoo.addons.crm_extended."


@tagged("post_install", "-at_install")
class TestSourceMixins(TransactionCase):
    def _sources(self, mixin):
        return {
            name
            for name in self.env.registry.descendants([mixin], "_inherit")
            if not self.env[name]._abstract
        }

    def _mro_position(self, model, mixin):
        """The position of ``mixin`` in the MRO of ``model``, checked to come right
        after the add-on's classes of the model (listed first in their _inherit): its
        hooks wrap the model's whole create/write, as the add-on's overrides do."""
        mro = type(self.env[model]).mro()
        position = mro.index(type(self.env[mixin]))
        classes = [cls for cls in mro[:position] if is_definition_class(cls)]
        ours = [cls.__module__.startswith(ADDON) for cls in classes]
        self.assertIn(True, ours, model)
        self.assertNotIn(False, ours[ours.index(True) :], f"{mixin} first in {model}")
        return position

    def test_bonus_sources(self):
        self.assertEqual(self._sources("crm.bonus.source.mixin"), BONUS_SOURCES)
        Mixin = type(self.env["crm.bonus.source.mixin"])
        for name in BONUS_SOURCES:
            model = self.env[name]
            self._mro_position(name, "crm.bonus.source.mixin")
            if isinstance(model._bonus_create, tuple):
                self.assertIn(model._bonus_create[0], model._fields, name)
            if model._bonus_parent:
                parent = model._fields[model._bonus_parent].comodel_name
                self.assertIn(parent, BONUS_SOURCES, name)
            else:
                self.assertIsNot(
                    type(model)._bonus_statement_keys,
                    Mixin._bonus_statement_keys,
                    f"{name} gives its statements' keys",
                )

    def test_contact_sources(self):
        self.assertEqual(self._sources("crm.contact.source.mixin"), CONTACT_SOURCES)
        Mixin = type(self.env["crm.contact.source.mixin"])
        for name in CONTACT_SOURCES:
            model = self.env[name]
            contact = self._mro_position(name, "crm.contact.source.mixin")
            bonus = self._mro_position(name, "crm.bonus.source.mixin")
            self.assertLess(contact, bonus, f"{name}: contacts closed after marking")
            self.assertLessEqual(set(model._contact_fields), set(model._fields), name)
            self.assertIn(model._contact_create[0], model._fields, name)
            self.assertIsNot(
                type(model)._contact_feedbacks, Mixin._contact_feedbacks, name
            )
