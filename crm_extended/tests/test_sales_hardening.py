from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from .common import CrmExtendedCase


class SalesHardeningCase(CrmExtendedCase):
    """Two regions, North (managed by the regional manager, with a sub-region) and
    South (not theirs); customers of each salesperson in each; a telesales agent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = cls._user("telesales_agent", "crmx_hard_agent", "Tess Telesales")
        cls.north, cls.north_east, cls.south = cls._region_tree(
            manager=cls.regional_manager, sub_region=("North-East", "NE", cls.state_e)
        )
        # Sam's customer in the North, Sue's in the North and in the South
        cls.sam_north = cls._customer("Sam North", cls.state_n, user_id=cls.salesman.id)
        cls.sue_north = cls._customer(
            "Sue North", cls.state_n, user_id=cls.salesman_2.id
        )
        cls.sue_south = cls._customer(
            "Sue South", cls.state_s, user_id=cls.salesman_2.id
        )
        cls.nobody_north = cls._customer("Nobody North", cls.state_n)

    @classmethod
    def _call(cls, user, partner, **vals):
        return cls.env["crm.phonecall"].create(
            {
                "name": f"Call {partner.name}",
                "user_id": user.id,
                "partner_id": partner.id,
            }
            | vals
        )

    @classmethod
    def _visit(cls, user, partner, env_user=None, **vals):
        start = datetime(2026, 3, 2, 9, 0)
        Event = cls.env["calendar.event"]
        if env_user:
            Event = Event.with_user(env_user)
        return Event.create(
            {
                "name": f"Visit {partner.name}",
                "sfa_kind": "visit",
                "sfa_partner_id": partner.id,
                "user_id": user.id,
                "start": start,
                "stop": start + timedelta(hours=1),
            }
            | vals
        )


@tagged("post_install", "-at_install")
class TestPhonecallAccess(SalesHardeningCase):
    """1. Phone calls: own / all / region ladder, and who sets the salesperson, the
    outcome and the order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outcome = cls.env["crm.call.outcome"].search([], limit=1)
        cls.order = cls.env["sale.order"].create({"partner_id": cls.sam_north.id})
        cls.sam_call = cls._call(cls.salesman, cls.sam_north)
        cls.sue_north_call = cls._call(cls.salesman_2, cls.sue_north)
        cls.sue_south_call = cls._call(cls.salesman_2, cls.sue_south)

    def test_salesperson_reads_and_changes_only_own_calls(self):
        Call = self.env["crm.phonecall"].with_user(self.salesman)
        calls = self.sam_call | self.sue_north_call | self.sue_south_call
        self.assertEqual(Call.search([("id", "in", calls.ids)]), self.sam_call)
        self.sam_call.with_user(self.salesman).write({"description": "Call back"})
        with self.assertRefused(AccessError, ""):
            self.sue_north_call.with_user(self.salesman).write({"description": "Mine"})
        self.assertFalse(self.sue_north_call.description)

    def test_salesperson_logs_own_calls_only(self):
        Call = self.env["crm.phonecall"].with_user(self.salesman)
        call = Call.create({"name": "Logged", "partner_id": self.sam_north.id})
        self.assertEqual(call.user_id, self.salesman)
        Call.create({"name": "Mine", "user_id": self.salesman.id})
        with self.assertRefused(AccessError, "Only sales managers may give a call"):
            Call.create({"name": "For Sue", "user_id": self.salesman_2.id})
        with self.assertRefused(AccessError, "Only sales managers may give a call"):
            call.write({"user_id": self.salesman_2.id, "description": "Yours"})
        self.assertEqual(call.user_id, self.salesman)
        self.assertFalse(call.description, "nothing of the refused write is kept")
        # The same value is no change.
        call.write({"user_id": self.salesman.id})

    def test_sales_manager_reassigns_calls(self):
        self.sam_call.with_user(self.sales_manager).write(
            {"user_id": self.salesman_2.id}
        )
        self.assertEqual(self.sam_call.user_id, self.salesman_2)

    def test_outcome_and_order_only_through_actions(self):
        for user in (self.salesman, self.agent, self.regional_manager):
            Call = self.env["crm.phonecall"].with_user(user)
            with self.assertRefused(AccessError, "logged through the call list"):
                Call.create({"name": "Won", "call_outcome_id": self.outcome.id})
            with self.assertRefused(AccessError, "logged through the call list"):
                Call.create({"name": "Sold", "order_id": self.order.id})
        call = self.sam_call.with_user(self.salesman)
        with self.assertRefused(AccessError, "logged through the call list"):
            call.write({"call_outcome_id": self.outcome.id})
        with self.assertRefused(AccessError, "logged through the call list"):
            call.write({"order_id": self.order.id})
        with self.assertRefused(AccessError, "logged through the call list"):
            self.sam_call.with_user(self.sales_manager).write(
                {"order_id": self.order.id}
            )
        self.assertFalse(self.sam_call.call_outcome_id or self.sam_call.order_id)
        # The actions write them as superuser.
        self.sam_call.sudo().write(
            {"call_outcome_id": self.outcome.id, "order_id": self.order.id}
        )
        # A copy is a new call: neither the outcome nor the order comes along.
        copy = call.copy()
        self.assertFalse(copy.call_outcome_id or copy.order_id)
        self.assertEqual(copy.user_id, self.salesman)

    def test_regional_manager_changes_calls_of_their_regions(self):
        Call = self.env["crm.phonecall"].with_user(self.regional_manager)
        calls = self.sam_call | self.sue_north_call | self.sue_south_call
        self.assertEqual(
            Call.search([("id", "in", calls.ids)]),
            self.sam_call | self.sue_north_call,
        )
        self.sue_north_call.with_user(self.regional_manager).write(
            {"description": "Checked"}
        )
        with self.assertRefused(AccessError, ""):
            self.sue_south_call.with_user(self.regional_manager).write(
                {"description": "Checked"}
            )
        with self.assertRefused(AccessError, "Only sales managers may give a call"):
            self.sue_north_call.with_user(self.regional_manager).write(
                {"user_id": self.salesman.id}
            )

    def test_telesales_agent_sees_own_calls(self):
        call = self._call(self.agent, self.sue_south)
        Call = self.env["crm.phonecall"].with_user(self.agent)
        calls = call | self.sam_call | self.sue_south_call
        self.assertEqual(Call.search([("id", "in", calls.ids)]), call)

    def test_all_documents_and_managers_see_all_calls(self):
        all_docs = self._user("all_leads", "crmx_hard_all")
        calls = self.sam_call | self.sue_north_call | self.sue_south_call
        for user in (all_docs, self.sales_manager):
            Call = self.env["crm.phonecall"].with_user(user)
            self.assertEqual(Call.search([("id", "in", calls.ids)]), calls)

    def test_calls_of_another_company_are_hidden(self):
        other = self.env["res.company"].create({"name": "Crmx Other Co"})
        call = self._call(self.salesman, self.sam_north, company_id=other.id)
        Call = self.env["crm.phonecall"].with_user(self.salesman)
        self.assertFalse(Call.search([("id", "=", call.id)]))
        self.assertTrue(Call.search([("id", "=", self.sam_call.id)]))

    def test_employees_outside_sales_read_only_their_calls(self):
        """crm_phonecall lets every employee read calls: outside sales, only one's
        own (or unassigned ones) are found."""
        employee = self._user("employee", "crmx_hard_employee")
        own = self._call(employee, self.sam_north)
        Call = self.env["crm.phonecall"].with_user(employee)
        calls = own | self.sam_call | self.sue_north_call
        self.assertEqual(Call.search([("id", "in", calls.ids)]), own)

    def test_call_analysis_follows_the_calls(self):
        """The call analysis of crm_phonecall shows a salesperson their own calls,
        a regional manager those of their regions, managers all."""
        self.env.flush_all()
        Report = self.env["crm.phonecall.report"]
        calls = self.sam_call | self.sue_north_call | self.sue_south_call
        for user, expected in (
            (self.salesman, self.sam_call),
            (self.regional_manager, self.sam_call | self.sue_north_call),
            (self.sales_manager, calls),
        ):
            seen = Report.with_user(user).search([("id", "in", calls.ids)])
            self.assertEqual(set(seen.ids), set(expected.ids), user.name)

    def test_call_list_entry_only_through_actions(self):
        """Which entry a call belongs to feeds the telesales statistics: only the
        call list's actions set it."""
        call_list = self.env["crm.call.list"].create({"name": "Hardening list"})
        entry = self.env["crm.call.list.entry"].create(
            {"call_list_id": call_list.id, "partner_id": self.sam_north.id}
        )
        for user in (self.salesman, self.agent, self.sales_manager):
            Call = self.env["crm.phonecall"].with_user(user)
            with self.assertRefused(AccessError, "call list entry of a call"):
                Call.create({"name": "Listed", "call_list_entry_id": entry.id})
        with self.assertRefused(AccessError, "call list entry of a call"):
            self.sam_call.with_user(self.salesman).write(
                {"call_list_entry_id": entry.id}
            )
        self.assertFalse(self.sam_call.call_list_entry_id)

    def test_oca_buttons_on_own_calls(self):
        call = self.sam_call.with_user(self.salesman)
        wizard = (
            self.env["crm.phonecall2phonecall"]
            .with_user(self.salesman)
            .with_context(active_id=call.id, active_ids=call.ids)
            .create({"name": "Follow-up", "action": "log"})
        )
        wizard.action_schedule()
        follow_up = self.env["crm.phonecall"].search(
            [("name", "=", "Follow-up"), ("partner_id", "=", self.sam_north.id)]
        )
        self.assertEqual(follow_up.user_id, self.salesman)
        self.assertEqual(call.state, "done")
        action = call.action_button_convert2opportunity()
        self.assertEqual(call.opportunity_id.id, action["res_id"])
        self.assertEqual(call.opportunity_id.partner_id, self.sam_north)


@tagged("post_install", "-at_install")
class TestSfaDoneProtected(SalesHardeningCase):
    """2. Customer work is done, with its outcome, only through its action."""

    def test_salesperson_cannot_create_done_work(self):
        with self.assertRefused(AccessError, "only with its Mark Done button"):
            self._visit(
                self.salesman,
                self.sam_north,
                env_user=self.salesman,
                sfa_state="done",
                sfa_outcome="Signed",
            )
        with self.assertRefused(AccessError, "only with its Mark Done button"):
            self._visit(
                self.salesman,
                self.sam_north,
                env_user=self.salesman,
                sfa_outcome="Will sign",
            )
        self.assertFalse(
            self.env["calendar.event"].search(
                [("sfa_partner_id", "=", self.sam_north.id)]
            )
        )

    def test_done_state_and_outcome_not_written_directly(self):
        visit = self._visit(self.salesman, self.sam_north, env_user=self.salesman)
        for user in (self.salesman, self.regional_manager, self.sales_manager):
            with self.assertRefused(AccessError, "only with its Mark Done button"):
                visit.with_user(user).write(
                    {"sfa_state": "done", "sfa_outcome": "Signed"}
                )
            with self.assertRefused(AccessError, "only with its Mark Done button"):
                visit.with_user(user).write({"sfa_date_done": datetime(2026, 3, 2)})
        self.assertEqual(visit.sfa_state, "planned")
        # Planned, cancelled and missed stay the calendar's and the actions'.
        visit.with_user(self.salesman).write({"sfa_state": "cancelled"})
        visit.with_user(self.salesman).action_sfa_replan()
        visit.with_user(self.salesman).action_sfa_done("Signed")
        self.assertEqual(visit.sfa_state, "done")
        with self.assertRefused(AccessError, "only with its Mark Done button"):
            visit.with_user(self.salesman).write({"sfa_outcome": "Signed twice"})
        with self.assertRefused(AccessError, "only with its Mark Done button"):
            visit.with_user(self.salesman).write({"sfa_state": "planned"})
        self.assertEqual(visit.sfa_outcome, "Signed")

    def test_done_work_stays_where_and_when_it_was_done(self):
        """Done work counts for bonuses and contacts in its period, for its
        salesperson and customer: only a sales manager corrects them."""
        visit = self._visit(self.salesman, self.sam_north, env_user=self.salesman)
        visit.with_user(self.salesman).write({"start": datetime(2026, 3, 3, 9, 0)})
        visit.with_user(self.salesman).action_sfa_done("Signed")
        moved = datetime(2026, 4, 1, 9, 0)
        for vals in (
            {"start": moved, "stop": moved + timedelta(hours=1)},
            {"user_id": self.salesman_2.id},
            {"sfa_partner_id": self.sue_north.id},
        ):
            with self.assertRefused(AccessError, "a sales manager corrects"):
                visit.with_user(self.salesman).write(vals)
        self.assertEqual(visit.start, datetime(2026, 3, 3, 9, 0))
        self.assertEqual(visit.user_id, self.salesman)
        visit.with_user(self.salesman).write({"description": "Notes after"})
        visit.with_user(self.sales_manager).write(
            {"start": moved, "stop": moved + timedelta(hours=1)}
        )
        self.assertEqual(visit.start, moved)

    def test_done_meeting_does_not_become_a_visit(self):
        meeting = self._visit(
            self.salesman, self.sam_north, env_user=self.salesman, sfa_kind="meeting"
        )
        meeting.with_user(self.salesman).write({"sfa_kind": "demo"})
        meeting.with_user(self.salesman).action_sfa_done("Met")
        with self.assertRefused(AccessError, "only with its Mark Done button"):
            meeting.with_user(self.salesman).write({"sfa_kind": "visit"})
        self.assertEqual(meeting.sfa_kind, "demo")

    def test_managers_mark_done_through_the_action(self):
        north_call = self._visit(self.salesman_2, self.sue_north, sfa_kind="call")
        south_visit = self._visit(self.salesman_2, self.sue_south)
        north_call.with_user(self.regional_manager).action_sfa_done("Reached")
        self.assertEqual(north_call.sfa_state, "done")
        self.assertEqual(north_call.phonecall_id.user_id, self.salesman_2)
        with self.assertRefused(AccessError, "customer work of Sue Sales"):
            south_visit.with_user(self.regional_manager).action_sfa_done("Reached")
        with self.assertRefused(AccessError, "customer work of Sue Sales"):
            south_visit.with_user(self.salesman).action_sfa_done("Reached")
        self.assertEqual(south_visit.sfa_state, "planned")
        south_visit.with_user(self.sales_manager).action_sfa_done("Reached")
        self.assertEqual(south_visit.sfa_state, "done")

    def test_done_wizard_checks_the_work(self):
        south_visit = self._visit(self.salesman_2, self.sue_south)
        wizard = (
            self.env["crm.sfa.done.wizard"]
            .with_user(self.salesman)
            .create({"event_ids": [Command.set(south_visit.ids)], "outcome": "Signed"})
        )
        with self.assertRefused(AccessError, "customer work of Sue Sales"):
            wizard.action_done()
        self.assertEqual(south_visit.sfa_state, "planned")

    def test_planning_work_for_someone_else(self):
        with self.assertRefused(AccessError, "customer work of Sue Sales"):
            self._visit(self.salesman_2, self.sue_south, env_user=self.salesman)
        self._visit(self.salesman_2, self.sue_north, env_user=self.regional_manager)
        with self.assertRefused(AccessError, "customer work of Sue Sales"):
            self._visit(self.salesman_2, self.sue_south, env_user=self.regional_manager)
        self._visit(self.salesman_2, self.sue_south, env_user=self.sales_manager)


@tagged("post_install", "-at_install")
class TestCustomerRegionGuard(SalesHardeningCase):
    """3. Region and do-not-call of others' customers: managers only."""

    def test_salesperson_on_others_customers(self):
        for customer in (self.sue_north, self.nobody_north):
            partner = customer.with_user(self.salesman)
            with self.assertRefused(AccessError, "only its salesperson"):
                partner.write({"sales_region_id": self.south.id})
            with self.assertRefused(AccessError, "only its salesperson"):
                partner.write({"call_do_not_call": True})
            with self.assertRefused(AccessError, "only its salesperson"):
                partner.write({"sales_region_manual": True})
            self.assertEqual(customer.sales_region_id, self.north)
            self.assertFalse(customer.call_do_not_call)
        # A contact is its company's customer.
        contact = self.Partner.create({"name": "Jo", "parent_id": self.sue_north.id})
        with self.assertRefused(AccessError, "only its salesperson"):
            contact.with_user(self.salesman).write({"call_do_not_call": True})

    def test_salesperson_on_own_customers_telesales_on_none(self):
        own = self.sam_north.with_user(self.salesman)
        own.write({"call_do_not_call": True, "sales_region_id": self.south.id})
        self.assertTrue(self.sam_north.call_do_not_call)
        self.assertEqual(self.sam_north.sales_region_id, self.south)
        contact = self.Partner.create({"name": "Al", "parent_id": self.sam_north.id})
        contact.with_user(self.salesman).write({"call_do_not_call": True})
        with self.assertRefused(AccessError, "only its salesperson"):
            self.sue_south.with_user(self.agent).write({"call_do_not_call": True})

    def test_address_change_keeps_the_automatic_region(self):
        with Form(self.sue_north.with_user(self.salesman)) as form:
            form.state_id = self.state_s
        self.assertEqual(self.sue_north.sales_region_id, self.south)
        # Writing back the current region is no change.
        self.nobody_north.with_user(self.salesman).write(
            {"sales_region_id": self.north.id, "call_do_not_call": False}
        )

    def test_regional_manager_inside_and_outside_their_regions(self):
        partner = self.sue_north.with_user(self.regional_manager)
        partner.write({"sales_region_id": self.north_east.id})
        self.assertEqual(self.sue_north.sales_region_id, self.north_east)
        partner.write({"call_do_not_call": True})
        self.assertTrue(self.sue_north.call_do_not_call)
        with self.assertRefused(AccessError, "only its salesperson"):
            partner.write({"sales_region_id": self.south.id})
        with self.assertRefused(AccessError, "only its salesperson"):
            self.sue_south.with_user(self.regional_manager).write(
                {"sales_region_id": self.north.id}
            )
        with self.assertRefused(AccessError, "only its salesperson"):
            self.sue_south.with_user(self.regional_manager).write(
                {"call_do_not_call": True}
            )
        self.assertEqual(self.sue_south.sales_region_id, self.south)
        self.assertFalse(self.sue_south.call_do_not_call)

    def test_sales_manager_moves_any_customer_without_work_per_record(self):
        partners = self.sue_north | self.sue_south | self.nobody_north
        Partner = partners.with_user(self.sales_manager)
        vals = {"sales_region_id": self.north_east.id}
        Partner._check_customer_guarded_fields([vals])  # groups read once
        with self.assertQueryCount(0):
            Partner._check_customer_guarded_fields([vals])
        Partner.write(vals | {"call_do_not_call": True})
        self.assertEqual(partners.sales_region_id, self.north_east)

    def test_salesperson_check_is_set_based(self):
        counts = []
        for size in (1, 3, 30):  # the first one warms the caches up
            partners = self.Partner.create(
                [
                    {
                        "name": f"Nobody's {size} {i}",
                        "is_company": True,
                        "state_id": self.state_n.id,
                        "country_id": self.country.id,
                    }
                    for i in range(size)
                ]
            )
            self.env.flush_all()
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            with self.assertRefused(AccessError, "only its salesperson"):
                partners.with_user(self.salesman)._check_customer_guarded_fields(
                    [{"sales_region_id": self.south.id}]
                )
            counts.append(self.cr.sql_log_count - start)
        self.assertEqual(counts[1], counts[2], "as many queries for 3 as for 30")

    def test_creation(self):
        Partner = self.Partner.with_user(self.salesman)
        own = Partner.create(
            {
                "name": "My New Co",
                "is_company": True,
                "user_id": self.salesman.id,
                "state_id": self.state_n.id,
                "sales_region_id": self.south.id,
                "call_do_not_call": True,
            }
        )
        self.assertEqual(own.sales_region_id, self.south)
        # A new customer through the form: its address gives its region.
        with Form(Partner) as form:
            form.name = "Form Co"
            form.state_id = self.state_n
        self.assertEqual(form.record.sales_region_id, self.north, "its address's")
        self.assertFalse(form.record.sales_region_manual)
        with self.assertRefused(AccessError, "only its salesperson"):
            Partner.create(
                {
                    "name": "Sue's New Co",
                    "user_id": self.salesman_2.id,
                    "state_id": self.state_n.id,
                    "sales_region_id": self.south.id,
                }
            )
        with self.assertRefused(AccessError, "only its salesperson"):
            Partner.create(
                {
                    "name": "Sue's contact",
                    "parent_id": self.sue_north.id,
                    "call_do_not_call": True,
                }
            )
        self.Partner.with_user(self.regional_manager).create(
            {
                "name": "Regional Co",
                "state_id": self.state_n.id,
                "sales_region_id": self.north_east.id,
            }
        )


@tagged("post_install", "-at_install")
class TestPlanWeekForOthers(SalesHardeningCase):
    """4. Planning another salesperson's week: sales and regional managers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north_office = cls.env["crm.team"].create(
            {
                "name": "North Office",
                "sales_region_id": cls.north_east.id,
                "member_ids": [Command.set(cls.salesman_2.ids)],
            }
        )
        cls.south_office = cls.env["crm.team"].create(
            {
                "name": "South Office",
                "sales_region_id": cls.south.id,
                "member_ids": [Command.set(cls.salesman.ids)],
            }
        )

    def _book(self, planner, salesperson, customer):
        wizard = (
            self.env["crm.plan.week.wizard"]
            .with_user(planner)
            .create({"user_id": salesperson.id})
        )
        start = datetime.combine(wizard.week_start, datetime.min.time())
        start += timedelta(hours=9)
        wizard.line_ids = [
            Command.create(
                {
                    "partner_id": customer.id,
                    "start": start,
                    "stop": start + timedelta(hours=1),
                }
            )
        ]
        wizard.action_confirm()
        return self.env["calendar.event"].search(
            [("sfa_partner_id", "=", customer.id), ("user_id", "=", salesperson.id)]
        )

    def test_salesperson_plans_only_own_week(self):
        self.assertTrue(self._book(self.salesman, self.salesman, self.sam_north))
        Wizard = self.env["crm.plan.week.wizard"].with_user(self.salesman)
        with self.assertRefused(AccessError, "plan the week of Sue Sales"):
            Wizard.create({"user_id": self.salesman_2.id})
        wizard = Wizard.create({})
        with self.assertRefused(AccessError, "plan the week of Sue Sales"):
            wizard.write({"user_id": self.salesman_2.id})
        self.assertEqual(wizard.user_id, self.salesman)

    def test_regional_manager_plans_the_weeks_of_their_offices(self):
        # Sue's office is in a sub-region of theirs; her customer in the South too.
        events = self._book(self.regional_manager, self.salesman_2, self.sue_south)
        self.assertEqual(events.sfa_state, "planned")
        with self.assertRefused(AccessError, "plan the week of Sam Sales"):
            self.env["crm.plan.week.wizard"].with_user(self.regional_manager).create(
                {"user_id": self.salesman.id}
            )

    def test_sales_manager_plans_anyones_week(self):
        self.assertTrue(self._book(self.sales_manager, self.salesman, self.sue_south))
