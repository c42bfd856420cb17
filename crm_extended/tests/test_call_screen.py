from datetime import date, datetime, timedelta

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
    """The agent's screen: one Call button that dials, the number as people read it,
    and what the agent knows before speaking, for each role that reads entries."""

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
        cls.call_list = cls._running_call_list(
            "Screen campaign", cls.customer | cls.other_customer, cls.agent_1
        )
        cls.entry, cls.other_entry = (
            cls.call_list.entry_ids.filtered(lambda e, p=p: e.partner_id == p)
            for p in (cls.customer, cls.other_customer)
        )

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

    # 2. What the agent knows before speaking ------------------------------------

    def test_contact_person(self):
        entry = self.entry.with_user(self.agent_1)
        # The contact answering the number dialed
        self.assertEqual(entry.contact_id, self.switchboard)
        self.assertEqual(entry.contact_name, "Sally Switchboard")
        self.assertEqual(entry.contact_function, "Receptionist")
        self.assertEqual(entry.contact_phone_display, SHOWN)
        # Else the first one with a phone
        self.switchboard.mobile = False
        entry.invalidate_recordset(["contact_id", "contact_name"])
        self.assertEqual(entry.contact_id, self.buyer)
        self.assertEqual(entry.contact_phone_display, "+1 312-555-0141")
        # Else the first one
        self.buyer.phone = False
        entry.invalidate_recordset(["contact_id", "contact_phone_display"])
        self.assertEqual(entry.contact_id, self.nobody)
        self.assertFalse(entry.contact_phone_display)
        # A customer without contacts: none
        self.assertFalse(self.other_entry.contact_id)
        self.assertFalse(self.other_entry.contact_function)
        # A person called: that person
        person = self.Partner.create(
            {"name": "Pia Person", "function": "Owner", "phone": "+1 616 555 0134"}
        )
        call_list = self._running_call_list("Screen campaign", person, self.agent_2)
        entry = call_list.entry_ids.with_user(self.agent_2)
        self.assertEqual(entry.contact_id, person)
        self.assertEqual(entry.contact_function, "Owner")
        self.assertEqual(entry.contact_phone_display, "+1 616-555-0134")

    def _opportunities(self):
        Lead = self.env["crm.lead"]
        won_stage = self.env["crm.stage"].create({"name": "Screen Won", "is_won": True})
        values = [
            ("Agent's deal", self.agent_1, self.customer, 1000.0),
            ("Unassigned deal", False, self.buyer, 500.0),
            ("Colleague's deal", self.salesman, self.customer, 2500.0),
        ]
        counted = Lead.create(
            [
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": user and user.id,
                    "partner_id": partner.id,
                    "expected_revenue": revenue,
                }
                for name, user, partner, revenue in values
            ]
        )
        Lead.create(
            [
                {
                    "name": "Won deal",
                    "type": "opportunity",
                    "partner_id": self.customer.id,
                    "user_id": self.agent_1.id,
                    "stage_id": won_stage.id,
                    "expected_revenue": 7000.0,
                },
                {
                    "name": "A lead, not an opportunity",
                    "type": "lead",
                    "partner_id": self.customer.id,
                    "user_id": self.agent_1.id,
                    "expected_revenue": 9000.0,
                },
                {
                    "name": "Another company's deal",
                    "type": "opportunity",
                    "partner_id": self.customer.id,
                    "company_id": self.other_company.id,
                    "expected_revenue": 8000.0,
                },
                {
                    "name": "Another customer's deal",
                    "type": "opportunity",
                    "partner_id": self.other_customer.id,
                    "user_id": self.agent_1.id,
                    "expected_revenue": 6000.0,
                },
            ]
        )
        return counted

    def test_open_opportunities_per_role(self):
        agents_deal, unassigned, colleagues = self._opportunities()
        for user, expected in (
            # An agent counts and opens what they may read: theirs and unassigned.
            (self.agent_1, agents_deal | unassigned),
            (self.sales_manager, agents_deal | unassigned | colleagues),
        ):
            with self.subTest(user=user.name):
                entry = self.entry.with_user(user)
                self.assertEqual(entry.opportunity_count, len(expected))
                self.assertEqual(
                    entry.opportunity_amount, sum(expected.mapped("expected_revenue"))
                )
                action = entry.action_open_opportunities()
                self.assertEqual(action["res_model"], "crm.lead")
                opened = self.env["crm.lead"].with_user(user).search(action["domain"])
                self.assertEqual(opened, expected)
                self.assertEqual(opened, entry.partner_opportunity_ids)
        self.assertEqual(self.other_entry.opportunity_count, 1)
        # Another agent opens nothing of an entry they may not read.
        with self.assertRefused(AccessError, ""):
            self.entry.with_user(self.agent_2).action_open_opportunities()

    def _ticket(self, partner, priority, stage, company=None):
        return self.env["helpdesk.ticket"].create(
            {
                "name": f"Screen issue {priority}",
                "description": "x",
                "partner_id": partner.id,
                "priority": priority,
                "stage_id": stage.id,
                "company_id": (company or self.company).id,
            }
        )

    def test_open_tickets_per_role(self):
        Stage = self.env["helpdesk.ticket.stage"]
        open_stage = Stage.create({"name": "Screen Open"})
        closed_stage = Stage.create({"name": "Screen Closed", "closed": True})
        self._ticket(self.customer, "0", open_stage)
        self._ticket(self.buyer, "2", open_stage)
        self._ticket(self.customer, "3", closed_stage)
        self._ticket(self.other_customer, "3", open_stage)
        self._ticket(self.customer, "3", open_stage, company=self.other_company)
        # Agents read no ticket of the customer; the screen shows them the count
        # and the highest priority only, as to sales managers.
        self.assertFalse(
            self.env["helpdesk.ticket"]
            .with_user(self.agent_1)
            .search([("commercial_partner_id", "=", self.customer.id)])
        )
        for user in (self.agent_1, self.sales_manager):
            with self.subTest(user=user.name):
                entry = self.entry.with_user(user)
                self.assertEqual(entry.ticket_count, 2)
                self.assertEqual(entry.ticket_priority, "2")
        self.assertEqual(self.other_entry.ticket_count, 1)
        self.assertEqual(self.other_entry.ticket_priority, "3")
        # No open ticket: nothing to say.
        self.env["helpdesk.ticket"].search(
            [("commercial_partner_id", "=", self.other_customer.id)]
        ).stage_id = closed_stage
        self.other_entry.invalidate_recordset(["ticket_count", "ticket_priority"])
        self.assertEqual(self.other_entry.ticket_count, 0)
        self.assertFalse(self.other_entry.ticket_priority)

    def test_last_call_per_role(self):
        yesterday, today = NOW - timedelta(days=1), NOW - timedelta(hours=1)
        values = {"partner_id": self.customer.id, "state": "done"}
        self.env["crm.phonecall"].create(
            [
                {
                    **values,
                    "name": "Agent's call",
                    "user_id": self.agent_1.id,
                    "date": yesterday,
                    "call_outcome_id": self.outcome["callback"].id,
                    "description": "Call back after the holidays",
                },
                {
                    **values,
                    "name": "Colleague's call",
                    "user_id": self.agent_2.id,
                    "partner_id": self.buyer.id,
                    "date": today,
                    "call_outcome_id": self.outcome["interested"].id,
                    "description": "Wants a discount",
                },
                {
                    **values,
                    "name": "Call running",
                    "user_id": self.agent_1.id,
                    "date": NOW,
                    "state": "open",
                },
            ]
        )
        for user, when, outcome, note in (
            # An agent reads their own calls only.
            (self.agent_1, yesterday, "callback", "Call back after the holidays"),
            (self.sales_manager, today, "interested", "Wants a discount"),
        ):
            with self.subTest(user=user.name):
                entry = self.entry.with_user(user)
                self.assertEqual(entry.last_call_date, when)
                self.assertEqual(entry.last_call_outcome_id, self.outcome[outcome])
                self.assertEqual(entry.last_call_note, note)
        self.assertFalse(self.other_entry.last_call_date)
        self.assertFalse(self.other_entry.last_call_outcome_id)

    @freeze_time(date(2030, 1, 7))
    def test_overdue_amount_per_role(self):
        product = self.env["product.product"].create({"name": "Screen Widget"})
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.buyer.id,
                "invoice_date": date(2029, 12, 1),
                "invoice_date_due": date(2030, 1, 1),
                "invoice_line_ids": [
                    Command.create({"product_id": product.id, "price_unit": 120})
                ],
            }
        )
        invoice.action_post()
        # The banner: the same figure for the agent, who reads no invoice, and the
        # manager.
        for user in (self.agent_1, self.sales_manager):
            with self.subTest(user=user.name):
                entry = self.entry.with_user(user)
                self.assertTrue(entry.has_overdue_invoices)
                self.assertEqual(entry.overdue_amount, invoice.amount_total)
        self.assertFalse(self.other_entry.has_overdue_invoices)

    def test_briefing_queries(self):
        """The counters of a page of entries: one query each, whatever its size."""
        customers = self._callable(6, start=30)
        call_list = self._running_call_list("Screen campaign", customers, self.agent_1)
        entries = call_list.entry_ids.with_user(self.agent_1)
        self.assertEqual(len(entries), 6)
        self.env["crm.lead"].create(
            [
                {
                    "name": f"Deal {partner.name}",
                    "type": "opportunity",
                    "partner_id": partner.id,
                    "user_id": self.agent_1.id,
                }
                for partner in customers
            ]
        )
        fnames = ("ticket_count", "opportunity_count", "has_open_call")
        # The record rules and the customers read once
        entries.mapped("company_id")
        entries.mapped("partner_id.commercial_partner_id.name")
        for fname in fnames:
            entries.mapped(fname)
        for fname in fnames:
            entries.invalidate_recordset([fname])
            with self.subTest(field=fname), self.assertQueryCount(1):
                entries.mapped(fname)
        self.assertEqual(entries.mapped("opportunity_count"), [1] * 6)
