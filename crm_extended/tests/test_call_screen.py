from datetime import datetime

from freezegun import freeze_time
from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_call_list import CallListCase

NOW = datetime(2030, 1, 7, 10, 0)
# A number written the way people type it, in E.164, and as the screens show it
TYPED = "+1 (734) 555 0147"
DIALED = "+17345550147"
SHOWN = "+1 734-555-0147"


@tagged("post_install", "-at_install")
class TestCallScreen(CallListCase):
    """The agent's screen: one Call button that dials, the number as people read
    it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls._customer("Screen Customer", phone=TYPED)
        # The first contact has no phone, the second one has, the third one answers
        # the number dialed (written otherwise).
        cls.nobody, cls.buyer, cls.switchboard = cls.Partner.create(
            [
                {"name": "Nora Nophone", "parent_id": cls.customer.id},
                {
                    "name": "Bert Buyer",
                    "parent_id": cls.customer.id,
                    "function": "Buyer",
                    "phone": "+1 312 555 0141",
                },
                {
                    "name": "Sally Switchboard",
                    "parent_id": cls.customer.id,
                    "function": "Receptionist",
                    "mobile": "+1-734-555-0147",
                },
            ]
        )
        cls.other_customer = cls._customer("Other Customer", phone="+1 312 555 0115")
        cls.other_company = cls.env["res.company"].create({"name": "Screen Other"})
        cls.call_list = cls._running_list(
            cls.customer | cls.other_customer, cls.agent_1
        )
        cls.entry, cls.other_entry = (
            cls.call_list.entry_ids.filtered(lambda e, p=p: e.partner_id == p)
            for p in (cls.customer, cls.other_customer)
        )

    @classmethod
    def _running_list(cls, partners, agent):
        call_list = cls.CallList.create(
            {
                "name": "Screen campaign",
                "filter_domain": repr([("id", "in", partners.ids)]),
                "agent_ids": [Command.set(agent.ids)],
                "call_hour_from": 0.0,
                "call_hour_to": 24.0,
            }
        )
        call_list.action_build()
        call_list.action_distribute()
        call_list.action_start()
        return call_list

    def _reserve(self, agent=None):
        agent = agent or self.agent_1
        entry = self.Entry.with_user(agent).reserve_next(agent)
        self.assertEqual(entry, self.entry.with_user(agent))
        return entry

    # 1. One Call button: it starts the call and dials ---------------------------

    @freeze_time(NOW)
    def test_call_starts_and_dials(self):
        entry = self._reserve()
        self.assertFalse(entry.has_open_call)
        action = entry.action_call()
        self.assertEqual(
            action,
            {
                "type": "ir.actions.client",
                "tag": "crm_extended_dial",
                "params": {
                    "url": f"tel:{DIALED}",
                    # The web client closes nothing and reloads the entry.
                    "next": {"type": "ir.actions.act_window_close"},
                },
            },
        )
        call = entry.phonecall_ids
        self.assertEqual(call.state, "open")
        self.assertEqual(call.date, NOW)
        self.assertEqual(call.user_id, self.agent_1)
        self.assertEqual(call.partner_phone, DIALED)
        self.assertEqual(entry.state, "in_progress")
        # The call runs: Log Outcome comes next.
        entry.invalidate_recordset(["has_open_call"])
        self.assertTrue(entry.has_open_call)
        # Another user reading the entry does not see their call running.
        self.assertFalse(entry.with_user(self.sales_manager).has_open_call)
        # Pressed again (a second click): the same call, dialed again.
        self.assertEqual(entry.action_call()["params"]["url"], f"tel:{DIALED}")
        self.assertEqual(entry.phonecall_ids, call)
        entry.action_log_outcome("NOT_INTERESTED")
        entry.invalidate_recordset(["has_open_call"])
        self.assertFalse(entry.has_open_call)
        self.assertEqual(call.state, "done")

    def test_call_refused_elsewhere(self):
        entry = self._reserve()
        for user, error in (
            (self.agent_2, UserError),
            (self.salesman, AccessError),
        ):
            with self.subTest(user=user.name), self.assertRefused(error, ""):
                entry.with_user(user).action_call()
        self.assertFalse(entry.sudo().phonecall_ids)
        self.assertNotIn("action_dial", dir(self.Entry), "one Call button")

    def test_call_needs_a_number(self):
        entry = self._reserve()
        self.entry.sudo().phone = False
        with self.assertRefused(UserError, "has no number to dial"):
            entry.action_call()
        self.assertFalse(entry.sudo().phonecall_ids)

    # 3. The number as people read it, dialed in E.164 ---------------------------

    def test_phone_shown_and_dialed(self):
        entry = self._reserve()
        self.assertEqual(entry.phone, DIALED)
        self.assertEqual(entry.phone_display, SHOWN)
        self.assertEqual(entry.phone_url, f"tel:{DIALED}")
        self.assertEqual(entry._dial_action()["url"], f"tel:{DIALED}")
        # The list, kanban and form show the readable number, never the raw one.
        views = entry.get_views([(False, "list"), (False, "kanban"), (False, "form")])
        for view_type, view in views["views"].items():
            arch = etree.fromstring(view["arch"])
            shown = [
                node.get("name")
                for node in arch.iter("field")
                if node.get("name") in ("phone", "phone_display")
                and node.get("invisible") not in ("1", "True")
            ]
            self.assertEqual(shown, ["phone_display"], view_type)
        self.assertEqual(
            entry.web_read({"phone_display": {}})[0]["phone_display"], SHOWN
        )

    def test_phone_changed_by_managers_only(self):
        entry = self.entry.with_user(self.sales_manager)
        entry.phone_display = "+1 312-555-0199"
        self.assertEqual(entry.phone, "+13125550199")
        self.assertEqual(entry.phone_display, "+1 312-555-0199")
        with self.assertRefused(UserError, "cannot be dialed"):
            entry.phone_display = "12"
        self.assertEqual(entry.phone, "+13125550199")
        as_agent = self.entry.with_user(self.agent_1)
        with self.assertRefused(AccessError, "cannot set"):
            as_agent.write({"phone_display": "+1 312-555-0100"})
        self.assertEqual(as_agent.phone, "+13125550199")

    def test_unreadable_number_shown_as_is(self):
        self.assertEqual(self.Entry._format_phone_display("+999 12"), "+999 12")
        self.assertFalse(self.Entry._format_phone_display(False))
