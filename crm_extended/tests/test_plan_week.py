from datetime import date, datetime

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import CrmExtendedCase


class PlanWeekCase(CrmExtendedCase):
    """Sam has three customers due (Due A, B, C) and a fresh one; office hours 9-12 and
    13-17 on weekdays (UTC); a meeting on Monday 10 January 2028, 9-10."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman.tz = "UTC"
        cls.company.resource_calendar_id = cls.env["resource.calendar"].create(
            {
                "name": "Crmx office hours",
                "tz": "UTC",
                "attendance_ids": [
                    Command.create(
                        {
                            "name": f"{day} {period}",
                            "dayofweek": str(day),
                            "hour_from": hour_from,
                            "hour_to": hour_to,
                            "day_period": period,
                        }
                    )
                    for day in range(5)
                    for period, hour_from, hour_to in (
                        ("morning", 9, 12),
                        ("afternoon", 13, 17),
                    )
                ],
            }
        )
        cls.due = cls.Partner.browse()
        for name in ("Due A", "Due B", "Due C"):
            cls.due |= cls._customer(
                name,
                cls.state_n,
                user_id=cls.salesman.id,
                customer_rank=1,
                contact_interval_days=1,
            )
        cls.not_due = cls._customer(
            "Fresh Corp",
            cls.state_n,
            user_id=cls.salesman.id,
            customer_rank=1,
            contact_interval_days=90,
        )
        visit = cls.env["calendar.event"].create(
            {
                "name": "Last visit",
                "sfa_kind": "visit",
                "sfa_partner_id": cls.not_due.id,
                "user_id": cls.salesman.id,
                "start": datetime(2028, 1, 4, 9),
                "stop": datetime(2028, 1, 4, 10),
            }
        )
        visit.action_sfa_done("All good, see you in spring")
        cls.env["calendar.event"].create(
            {
                "name": "Team meeting",
                "user_id": cls.salesman.id,
                "partner_ids": [Command.set(cls.salesman.partner_id.ids)],
                "start": datetime(2028, 1, 10, 9),
                "stop": datetime(2028, 1, 10, 10),
            }
        )

    def _wizard(self):
        form = Form(self.env["crm.plan.week.wizard"].with_user(self.salesman))
        form.duration = 1.0
        return form.save()


@tagged("post_install", "-at_install")
@freeze_time("2028-01-05 10:00:00")
class TestPlanMyWeek(PlanWeekCase):
    def test_proposals_fill_free_working_time(self):
        wizard = self._wizard()
        self.assertEqual(wizard.week_start, date(2028, 1, 10))
        wizard.action_propose()
        lines = wizard.line_ids.sorted("start")
        self.assertEqual(lines.partner_id, self.due)
        self.assertNotIn(self.not_due, lines.partner_id)
        self.assertEqual(
            lines.mapped("start"),
            [
                datetime(2028, 1, 10, 10),
                datetime(2028, 1, 10, 11),
                datetime(2028, 1, 10, 13),
            ],
            "after the meeting, around the lunch break",
        )
        self.assertFalse(wizard.proposal_message, "every customer due was proposed")

    def test_book_then_nothing_left_to_propose(self):
        wizard = self._wizard()
        wizard.action_propose()
        wizard.line_ids.sorted("start")[-1].selected = False
        wizard.action_confirm()
        events = self.env["calendar.event"].search(
            [("sfa_partner_id", "in", self.due.ids)]
        )
        self.assertEqual(len(events), 2)
        self.assertEqual(set(events.mapped("sfa_state")), {"planned"})
        self.assertEqual(events.user_id, self.salesman)
        again = self._wizard()
        again.action_propose()
        self.assertEqual(again.line_ids.partner_id, self.due - events.sfa_partner_id)

    def test_nothing_chosen(self):
        wizard = self._wizard()
        wizard.action_propose()
        wizard.line_ids.selected = False
        with self.assertRaisesRegex(UserError, "at least one"):
            wizard.action_confirm()


@tagged("post_install", "-at_install")
@freeze_time("2028-01-05 10:00:00")
class TestPlanMyWeekNothingProposed(PlanWeekCase):
    """When Propose Customers Due leaves customers out, or proposes none, the wizard
    says why and what to do."""

    def _holiday(self, date_from, date_to):
        """Public holidays (no resource) on the company's working schedule."""
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Crmx holidays",
                "calendar_id": self.company.resource_calendar_id.id,
                "date_from": date_from,
                "date_to": date_to,
            }
        )

    def _propose(self, **values):
        wizard = self._wizard()
        wizard.write(values)
        wizard.action_propose()
        return wizard

    def test_no_customer_due(self):
        """Visited yesterday, every 30 days: due on 3 February, not this week."""
        for customer in self.due:
            visit = self.env["calendar.event"].create(
                {
                    "name": "Visit",
                    "sfa_kind": "visit",
                    "sfa_partner_id": customer.id,
                    "user_id": self.salesman.id,
                    "start": datetime(2028, 1, 4, 13),
                    "stop": datetime(2028, 1, 4, 14),
                }
            )
            visit.action_sfa_done("Fine")
        self.due.contact_interval_days = 30
        self.assertEqual(set(self.due.mapped("date_next_contact")), {date(2028, 2, 3)})
        wizard = self._propose()
        self.assertFalse(wizard.line_ids)
        self.assertIn("No customer of Sam Sales", wizard.proposal_message)
        self.assertIn("01/16/2028", wizard.proposal_message, "the week's Sunday")
        self.assertIn("set contact intervals", wizard.proposal_message)
        # The week of 31 January finds them due
        wizard.week_start = date(2028, 1, 31)
        wizard.action_propose()
        self.assertEqual(wizard.line_ids.partner_id, self.due)
        self.assertFalse(wizard.proposal_message)

    def test_every_customer_due_already_planned(self):
        self._propose().action_confirm()
        wizard = self._propose()
        self.assertFalse(wizard.line_ids)
        self.assertIn("already has a visit or call planned", wizard.proposal_message)
        for customer in self.due:
            self.assertIn(customer.name, wizard.proposal_message)

    def test_week_over(self):
        wizard = self._propose(week_start=date(2027, 12, 27))
        self.assertFalse(wizard.line_ids)
        self.assertIn("The week of 12/27/2027 is over", wizard.proposal_message)

    def test_no_working_hours(self):
        self._holiday(datetime(2028, 1, 10), datetime(2028, 1, 15))
        wizard = self._propose()
        self.assertFalse(wizard.line_ids)
        self.assertIn("Sam Sales has no working hours left", wizard.proposal_message)
        self.assertIn("Crmx office hours", wizard.proposal_message)

    def test_no_working_schedule(self):
        """Without a schedule the office hours are 9 to 17 on weekdays: none is
        left on the Saturday of the week."""
        self.company.resource_calendar_id = False
        with freeze_time("2028-01-08 10:00:00"):
            wizard = self._propose(week_start=date(2028, 1, 3))
        self.assertFalse(wizard.line_ids)
        self.assertIn("without a working schedule", wizard.proposal_message)

    def test_no_free_slot(self):
        wizard = self._propose(duration=5.0)
        self.assertFalse(wizard.line_ids)
        self.assertIn("No free slot of 05:00", wizard.proposal_message)
        self.assertIn("shorter duration", wizard.proposal_message)

    def test_some_customers_left_out(self):
        """Only Monday afternoon is free for a visit of four hours: one customer
        fits, the wizard names the two others."""
        self._holiday(datetime(2028, 1, 11), datetime(2028, 1, 15))
        wizard = self._propose(duration=4.0)
        self.assertEqual(len(wizard.line_ids), 1)
        self.assertEqual(wizard.line_ids.start, datetime(2028, 1, 10, 13))
        left = self.due - wizard.line_ids.partner_id
        self.assertEqual(len(left), 2)
        self.assertIn("did not fit", wizard.proposal_message)
        for customer in left:
            self.assertIn(customer.name, wizard.proposal_message)
        self.assertNotIn(wizard.line_ids.partner_id.name, wizard.proposal_message)
        # Proposing again with room for all clears the message
        wizard.duration = 1.0
        wizard.action_propose()
        self.assertEqual(len(wizard.line_ids), 3)
        self.assertFalse(wizard.proposal_message)
