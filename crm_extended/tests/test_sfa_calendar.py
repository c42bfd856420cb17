from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from ..models import calendar_event as calendar_event_module
from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
class TestSfaCalendar(CrmExtendedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls._customer("Visited Corp", cls.state_n)
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "Visited deal",
                "type": "opportunity",
                "partner_id": cls.customer.id,
                "user_id": cls.salesman.id,
            }
        )
        cls.Event = cls.env["calendar.event"].with_user(cls.salesman)

    def _work(self, kind="visit", start=None, **vals):
        start = start or datetime(2026, 3, 2, 9, 0)
        return self.Event.create(
            {
                "name": f"{kind} at Visited Corp",
                "sfa_kind": kind,
                "sfa_partner_id": self.customer.id,
                "start": start,
                "stop": start + timedelta(hours=1),
                "user_id": self.salesman.id,
                **vals,
            }
        )

    def test_planned_then_done_with_outcome(self):
        visit = self._work(opportunity_id=self.lead.id)
        self.assertEqual(visit.sfa_state, "planned")
        self.assertEqual(visit.sales_region_id, self.customer.sales_region_id)
        with self.assertRaisesRegex(UserError, "outcome"):
            visit.action_sfa_done()
        self.assertEqual(visit.sfa_state, "planned")
        visit.action_sfa_done("Signed the order form")
        self.assertEqual(visit.sfa_state, "done")
        self.assertEqual(visit.sfa_outcome, "Signed the order form")
        self.assertTrue(visit.sfa_date_done)
        self.assertFalse(visit.phonecall_id, "only calls go to the call log")
        with self.assertRaisesRegex(UserError, "only planned or missed"):
            visit.action_sfa_done("again")

    def test_done_wizard_asks_the_outcome(self):
        visit = self._work()
        action = visit.action_open_sfa_done_wizard()
        wizard_form = Form(
            self.env[action["res_model"]]
            .with_user(self.salesman)
            .with_context(**action["context"])
        )
        wizard_form.outcome = "Demo went well"
        wizard_form.save().action_done()
        self.assertEqual(visit.sfa_state, "done")
        self.assertEqual(visit.sfa_outcome, "Demo went well")

    def test_done_call_is_logged(self):
        call = self._work("call", opportunity_id=self.lead.id, duration=0.5)
        call.action_sfa_done("Call back in May")
        phonecall = call.phonecall_id
        self.assertTrue(phonecall)
        self.assertEqual(phonecall.state, "done")
        self.assertEqual(phonecall.partner_id, self.customer)
        self.assertEqual(phonecall.opportunity_id, self.lead)
        self.assertEqual(phonecall.user_id, self.salesman)
        self.assertEqual(phonecall.description, "Call back in May")
        self.assertEqual(phonecall.duration, 30)

    def test_done_without_outcome_refused(self):
        visit = self._work()
        # Only the superuser writes the done state directly (see
        # test_sales_hardening): the constraint still holds for it.
        with self.assertRefused(ValidationError, "say its outcome"):
            visit.sudo().write({"sfa_state": "done"})
        self.assertEqual(visit.sfa_state, "planned")

    def test_work_needs_a_customer(self):
        with self.assertRefused(ValidationError, "needs a customer"):
            self._work(sfa_partner_id=False)

    def test_end_before_start_refused(self):
        start = datetime(2026, 3, 2, 9, 0)
        with self.assertRefused(ValidationError, "ending date"):
            self._work(start=start, stop=start - timedelta(hours=1))

    def test_customer_from_opportunity(self):
        event = self.Event.create(
            {
                "name": "From the deal",
                "sfa_kind": "meeting",
                "opportunity_id": self.lead.id,
                "start": datetime(2026, 3, 2, 9, 0),
                "stop": datetime(2026, 3, 2, 10, 0),
            }
        )
        self.assertEqual(event.sfa_partner_id, self.customer)

    def test_cancel_and_replan(self):
        visit = self._work()
        visit.action_sfa_cancel()
        self.assertEqual(visit.sfa_state, "cancelled")
        with self.assertRaises(UserError):
            visit.action_sfa_cancel()
        visit.action_sfa_replan()
        self.assertEqual(visit.sfa_state, "planned")

    def test_plain_events_are_not_customer_work(self):
        meeting = self.Event.create(
            {
                "name": "Team lunch",
                "start": datetime(2026, 3, 2, 12),
                "stop": datetime(2026, 3, 2, 13),
            }
        )
        self.assertFalse(meeting.sfa_state)
        with self.assertRaises(UserError):
            meeting.action_sfa_done("x")

    def test_cron_marks_missed(self):
        past = self._work(start=datetime(2026, 3, 2, 9, 0))
        running = self._work(start=datetime(2026, 3, 3, 9, 30))
        future = self._work(start=datetime(2026, 3, 5, 9, 0))
        done = self._work(start=datetime(2026, 3, 1, 9, 0))
        done.action_sfa_done("ok")
        with freeze_time("2026-03-03 10:00:00"):
            missed = self.env["calendar.event"]._cron_mark_missed()
        self.assertIn(past, missed)
        self.assertEqual(past.sfa_state, "missed")
        self.assertEqual(running.sfa_state, "planned", "its end has not passed yet")
        self.assertEqual(future.sfa_state, "planned")
        self.assertEqual(done.sfa_state, "done")
        # A missed visit can still be done afterwards, with its outcome.
        past.action_sfa_done("Visited a day late")
        self.assertEqual(past.sfa_state, "done")
        # Running the job again changes nothing.
        with freeze_time("2026-03-03 10:00:00"):
            again = self.env["calendar.event"]._cron_mark_missed()
        self.assertNotIn(past, again)

    def test_cron_batches_report_progress(self):
        events = self.env["calendar.event"].create(
            [
                {
                    "name": f"Old visit {i}",
                    "sfa_kind": "visit",
                    "sfa_partner_id": self.customer.id,
                    "start": datetime(2020, 1, 1, 9) + timedelta(days=i),
                    "stop": datetime(2020, 1, 1, 10) + timedelta(days=i),
                }
                for i in range(5)
            ]
        )
        cron = self.env.ref("crm_extended.calendar_event_cron_mark_missed")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        Event = self.env["calendar.event"].with_context(ir_cron_progress_id=progress.id)
        batch, calendar_event_module.MISSED_BATCH = (
            calendar_event_module.MISSED_BATCH,
            2,
        )
        try:
            Event._cron_mark_missed()
            self.assertEqual(progress.done, 2)
            self.assertGreaterEqual(progress.remaining, 3)
            while progress.remaining:
                Event._cron_mark_missed()
        finally:
            calendar_event_module.MISSED_BATCH = batch
        self.assertEqual(set(events.mapped("sfa_state")), {"missed"})

    def test_salesperson_plans_and_reads_own_work(self):
        visit = self._work()
        found = self.Event.search([("sfa_kind", "!=", False), ("id", "=", visit.id)])
        self.assertEqual(found, visit)
        self.assertEqual(visit.user_id, self.salesman)

    def test_regional_manager_sees_region_in_team_calendar(self):
        region = self._region(
            "North",
            "QX-N",
            state_ids=[Command.set(self.state_n.ids)],
            manager_ids=[Command.set(self.regional_manager.ids)],
        )
        visit = self._work()
        self.assertEqual(visit.sales_region_id, region)
        env = self.env(user=self.regional_manager)
        found = env["calendar.event"].search(
            [("sales_region_id", "child_of", region.id), ("sfa_kind", "!=", False)]
        )
        self.assertIn(visit.with_env(env), found)
        self.assertEqual(fields.Datetime.to_string(visit.start), "2026-03-02 09:00:00")

    def test_only_owner_and_managers_change_customer_work(self):
        visit = self._work()
        other = self.env["calendar.event"].with_user(self.salesman_2)
        self.assertEqual(other.search([("id", "=", visit.id)]), visit, "others see it")
        with self.assertRaisesRegex(AccessError, "customer work of Sam Sales"):
            visit.with_user(self.salesman_2).write({"name": "Moved"})
        with self.assertRaises(AccessError):
            visit.with_user(self.salesman_2).unlink()
        visit.with_user(self.sales_manager).write({"name": "Moved by the manager"})
        region = self._region(
            "North",
            "QX-N",
            state_ids=[Command.set(self.state_n.ids)],
            manager_ids=[Command.set(self.regional_manager.ids)],
        )
        self.assertEqual(visit.sales_region_id, region)
        visit.with_user(self.regional_manager).write({"name": "Moved by the region"})
        self.assertEqual(visit.name, "Moved by the region")
        # Plain events stay as Odoo has them.
        lunch = self.Event.create(
            {
                "name": "Lunch",
                "start": datetime(2026, 3, 2, 12),
                "stop": datetime(2026, 3, 2, 13),
            }
        )
        lunch.with_user(self.salesman_2).write({"name": "Lunch!"})

    def test_customer_work_on_the_partner(self):
        contact = self.Partner.create({"name": "Jo", "parent_id": self.customer.id})
        self._work()
        self._work("call")
        self.assertEqual(self.customer.sfa_event_count, 2)
        self.assertEqual(
            contact.sfa_event_count, 2, "a contact shows its company's work"
        )
        action = contact.action_open_sfa_events()
        self.assertEqual(action["domain"], [("sfa_partner_id", "=", self.customer.id)])

    def test_office_dashboard_counters(self):
        team = self.env["crm.team"].create(
            {"name": "Crmx office", "member_ids": [Command.set(self.salesman.ids)]}
        )
        today = fields.Date.today()
        now = datetime.combine(
            today - timedelta(days=today.weekday()), datetime.min.time()
        )
        now += timedelta(hours=10)  # Monday of this week, 10:00
        overdue = self._customer(
            "Overdue Corp",
            self.state_n,
            user_id=self.salesman.id,
            customer_rank=1,
            contact_interval_days=30,
        )
        old = now - timedelta(days=60)
        old_visit = self._work(start=old, sfa_partner_id=overdue.id)
        old_visit.action_sfa_done("Long ago")
        self.assertTrue(overdue.is_contact_overdue)
        done = self._work(start=now)
        self._work(start=now + timedelta(hours=2))
        done.action_sfa_done("Today")
        self.assertEqual(done.sfa_team_id, team, "the office of the salesperson")
        self.assertEqual(team.sfa_week_planned_count, 2)
        self.assertEqual(team.sfa_week_done_count, 1)
        self.assertEqual(team.contact_overdue_count, 1)
        action = team.action_open_overdue_contacts()
        self.assertIn(overdue, self.env["res.partner"].search(action["domain"]))
