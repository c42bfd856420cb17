from datetime import date, datetime

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
@freeze_time("2028-01-05 10:00:00")
class TestPlanMyWeek(CrmExtendedCase):
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
