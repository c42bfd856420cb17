from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CrmExtendedTourCase

# Names and numbers shared with static/tests/tours/crm_extended_agent_loop_tour.js
FIRST = "Tour Agent Amber"
FIRST_PHONE = "+32 470 55 67 01"
FIRST_DIALED = "+32470556701"
CONTACT = "Anna Amber"
CONTACT_FUNCTION = "Purchasing Manager"
LAST_NOTE = "Call back in January"
SECOND = "Tour Agent Beryl"
THIRD = "Tour Agent Coral"
NOTE = "Happy with their current supplier"


@tagged("post_install", "-at_install")
class TestTelesalesAgentTour(CrmExtendedTourCase):
    """The agent's loop in the browser: Next Call, what to know before speaking, Call
    (dialed in E.164), Log Outcome, Next Call on the next customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = cls._user(
            "telesales_agent",
            "crmx_loop_agent",
            "Lou Loop",
            password="crmx_loop_agent",
            tz="UTC",
        )
        Partner = cls.env["res.partner"]
        cls.first, cls.second, cls.third = Partner.create(
            [
                {"name": name, "is_company": True, "phone": f"+32 470 55 67 0{i}"}
                for i, name in enumerate((FIRST, SECOND, THIRD), start=1)
            ]
        )
        cls.contact = Partner.create(
            {
                "name": CONTACT,
                "parent_id": cls.first.id,
                "function": CONTACT_FUNCTION,
                "phone": FIRST_PHONE,
            }
        )
        # What the screen tells about the first customer
        cls.env["crm.lead"].create(
            {
                "name": "Amber's renewal",
                "type": "opportunity",
                "partner_id": cls.first.id,
                "user_id": cls.agent.id,
                "expected_revenue": 1200.0,
            }
        )
        cls.env["helpdesk.ticket"].create(
            {
                "name": "Amber's broken headset",
                "description": "x",
                "partner_id": cls.contact.id,
                "priority": "2",
                "stage_id": cls.env["helpdesk.ticket.stage"]
                .create({"name": "Tour Open"})
                .id,
            }
        )
        cls.outcome_callback = cls.env.ref("crm_extended.crm_call_outcome_callback")
        cls.outcome_not_interested = cls.env.ref(
            "crm_extended.crm_call_outcome_not_interested"
        )
        cls.last_call = cls.env["crm.phonecall"].create(
            {
                "name": "Earlier call",
                "partner_id": cls.first.id,
                "user_id": cls.agent.id,
                "date": fields.Datetime.now() - timedelta(days=1),
                "state": "done",
                "call_outcome_id": cls.outcome_callback.id,
                "description": LAST_NOTE,
            }
        )
        cls.call_list = cls._running_call_list(
            "Tour loop campaign", cls.first | cls.second | cls.third, cls.agent
        )
        entries = {e.partner_id: e for e in cls.call_list.entry_ids}
        cls.entry_1, cls.entry_2, cls.entry_3 = (
            entries[cls.first],
            entries[cls.second],
            entries[cls.third],
        )
        # The queue's order: the first customer, then the second one
        for entry, priority in (
            (cls.entry_1, "2"),
            (cls.entry_2, "1"),
            (cls.entry_3, "0"),
        ):
            entry.priority = priority

    def test_agent_loop_tour(self):
        self.assertEqual(self.call_list.entry_ids.agent_id, self.agent)
        self.assertEqual(set(self.call_list.entry_ids.mapped("state")), {"pending"})
        self.start_tour_strict(
            "/odoo", "crm_extended_agent_loop_tour", login=self.agent.login
        )
        self.env.invalidate_all()
        # The first call: logged once, with its outcome and note, done
        self.assertEqual(self.entry_1.state, "done")
        self.assertEqual(self.entry_1.outcome_id, self.outcome_not_interested)
        self.assertEqual(self.entry_1.attempt_count, 1)
        self.assertEqual(self.entry_1.note, NOTE)
        call = self.entry_1.phonecall_ids
        self.assertEqual(len(call), 1)
        self.assertEqual(call.state, "done")
        self.assertEqual(call.user_id, self.agent)
        self.assertEqual(call.call_outcome_id, self.outcome_not_interested)
        self.assertEqual(call.description, NOTE)
        self.assertEqual(call.partner_phone, FIRST_DIALED)
        # Next Call took the second customer: reserved, not called yet
        self.assertEqual(self.entry_2.state, "in_progress")
        self.assertEqual(self.entry_2.agent_id, self.agent)
        self.assertTrue(self.entry_2.date_reserved)
        self.assertFalse(self.entry_2.phonecall_ids)
        # The third one waits; the earlier call is as it was.
        self.assertEqual(self.entry_3.state, "pending")
        self.assertEqual(self.last_call.description, LAST_NOTE)
        self.assertFalse(self.last_call.call_list_entry_id)
