from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..models import crm_visit_schedule as schedule_module
from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
class TestVisitSchedule(CrmExtendedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls._customer("Key Account Corp", cls.state_n)
        cls.salesman.tz = "UTC"
        cls.Schedule = cls.env["crm.visit.schedule"]

    def _schedule(self, **vals):
        return self.Schedule.create(
            {
                "partner_id": self.customer.id,
                "user_id": self.salesman.id,
                "interval_type": "weeks",
                "interval": 1,
                "weekday": "0",
                "hour": 9.5,
                "duration": 1.0,
                "date_start": date(2028, 1, 1),
                **vals,
            }
        )

    def test_name_says_the_rhythm_as_people_say_it(self):
        schedule = self._schedule(weekday="0")
        self.assertEqual(schedule.name, "Visit Key Account Corp every Monday")
        schedule.interval = 2
        self.assertEqual(
            schedule.name, "Visit Key Account Corp every 2 weeks on Monday"
        )
        schedule.write({"interval_type": "per_month", "interval": 1, "weekday": "4"})
        self.assertEqual(schedule.name, "Visit Key Account Corp once a month on Friday")
        schedule.interval = 2
        self.assertEqual(
            schedule.name, "Visit Key Account Corp twice a month on Friday"
        )
        schedule.write({"interval": 3, "sfa_kind": "call"})
        self.assertEqual(
            schedule.name, "Call Key Account Corp 3 times a month on Friday"
        )

    # Occurrences --------------------------------------------------------

    def test_every_two_weeks_across_month_end(self):
        schedule = self._schedule(interval=2, weekday="2", date_start=date(2027, 1, 20))
        days = schedule._occurrences(date(2027, 1, 1), date(2027, 3, 10))
        self.assertEqual(
            days,
            [date(2027, 1, 20), date(2027, 2, 3), date(2027, 2, 17), date(2027, 3, 3)],
        )
        # Starting the window mid-way keeps the same rhythm.
        days = schedule._occurrences(date(2027, 2, 4), date(2027, 3, 10))
        self.assertEqual(days, [date(2027, 2, 17), date(2027, 3, 3)])

    def test_times_a_month_in_a_leap_february(self):
        schedule = self._schedule(interval_type="per_month", interval=2, weekday="1")
        # February 2028 has 29 days and five Tuesdays (1, 8, 15, 22, 29).
        days = schedule._occurrences(date(2028, 2, 1), date(2028, 2, 29))
        self.assertEqual(days, [date(2028, 2, 1), date(2028, 2, 15)])
        schedule.interval = 5
        days = schedule._occurrences(date(2028, 2, 1), date(2028, 2, 29))
        self.assertEqual(len(days), 5)
        self.assertEqual(days[-1], date(2028, 2, 29))
        # Four Tuesdays in February 2027: five a month means every one of them.
        schedule.date_start = date(2027, 1, 1)
        days = schedule._occurrences(date(2027, 2, 1), date(2027, 2, 28))
        self.assertEqual(days, [date(2027, 2, d) for d in (2, 9, 16, 23)])

    def test_times_a_month_across_the_year_end(self):
        schedule = self._schedule(
            interval_type="per_month",
            interval=1,
            weekday="4",
            date_start=date(2027, 12, 1),
        )
        days = schedule._occurrences(date(2027, 12, 1), date(2028, 2, 29))
        self.assertEqual(days, [date(2027, 12, 3), date(2028, 1, 7), date(2028, 2, 4)])

    def test_end_date_is_respected(self):
        schedule = self._schedule(date_end=date(2028, 1, 17))
        days = schedule._occurrences(date(2028, 1, 1), date(2028, 3, 1))
        self.assertEqual(days, [date(2028, 1, 3), date(2028, 1, 10), date(2028, 1, 17)])

    # Planning ------------------------------------------------------------

    @freeze_time("2028-01-05 08:00:00")
    def test_plan_visits_without_duplicates(self):
        schedule = self._schedule()
        events = schedule._plan_visits()
        # 4 weeks ahead of Wednesday 5 January: the Mondays 10, 17, 24, 31 January.
        self.assertEqual(
            sorted(events.mapped("sfa_occurrence_date")),
            [date(2028, 1, d) for d in (10, 17, 24, 31)],
        )
        first = events.sorted("start")[0]
        self.assertEqual(first.start, datetime(2028, 1, 10, 9, 30))
        self.assertEqual(first.stop, datetime(2028, 1, 10, 10, 30))
        self.assertEqual(first.sfa_kind, "visit")
        self.assertEqual(first.sfa_state, "planned")
        self.assertEqual(first.sfa_partner_id, self.customer)
        self.assertEqual(first.user_id, self.salesman)
        # Moved or cancelled visits are not planned again; nothing is duplicated.
        first.write(
            {"start": datetime(2028, 1, 11, 14), "stop": datetime(2028, 1, 11, 15)}
        )
        events[1].action_sfa_cancel()
        self.assertFalse(schedule._plan_visits())
        self.assertEqual(schedule.event_count, 4)

    @freeze_time("2028-01-05 08:00:00")
    def test_full_days_are_skipped(self):
        self.env.company.crm_visit_max_per_day = 2
        other = self._customer("Other Corp", self.state_n)
        self.env["calendar.event"].create(
            [
                {
                    "name": f"Busy {i}",
                    "sfa_kind": "call",
                    "sfa_partner_id": other.id,
                    "user_id": self.salesman.id,
                    "start": datetime(2028, 1, 17, 13 + i),
                    "stop": datetime(2028, 1, 17, 14 + i),
                }
                for i in range(2)
            ]
        )
        events = self._schedule()._plan_visits()
        self.assertNotIn(date(2028, 1, 17), events.mapped("sfa_occurrence_date"))
        self.assertEqual(len(events), 3)

    @freeze_time("2028-01-05 08:00:00")
    def test_cron_plans_in_batches_and_resumes(self):
        customers = [self._customer(f"KA {i}", self.state_n) for i in range(3)]
        schedules = self.Schedule.create(
            [
                {
                    "partner_id": customer.id,
                    "user_id": self.salesman.id,
                    "weekday": str(i),
                    "date_start": date(2028, 1, 1),
                }
                for i, customer in enumerate(customers)
            ]
        )
        cron = self.env.ref("crm_extended.crm_visit_schedule_cron_plan")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        Schedule = self.Schedule.with_context(ir_cron_progress_id=progress.id)
        self.env["ir.config_parameter"].sudo().set_param(
            "crm_extended.visit_plan_last_id", schedules[0].id - 1
        )
        batch, schedule_module.PLAN_BATCH = schedule_module.PLAN_BATCH, 2
        try:
            first = Schedule._cron_plan_visits()
            self.assertEqual(first, schedules[:2])
            self.assertEqual(progress.remaining, 1)
            second = Schedule._cron_plan_visits()
            self.assertEqual(second, schedules[2])
        finally:
            schedule_module.PLAN_BATCH = batch
        self.assertEqual(progress.remaining, 0)
        # Mondays and Tuesdays: four in the 4 weeks ahead; Wednesdays: today and four.
        self.assertEqual(schedules.mapped("event_count"), [4, 4, 5])
        # Another full run plans nothing new.
        self.Schedule._cron_plan_visits()
        self.assertEqual(schedules.mapped("event_count"), [4, 4, 5])

    # Bad input and access ------------------------------------------------

    def test_bad_input(self):
        with self.assertRefused(ValidationError, "1 or more"):
            self._schedule(interval=0)
        with self.assertRefused(ValidationError, "needs a salesperson"):
            self._schedule(user_id=False)
        with self.assertRefused(ValidationError, "end before it starts"):
            self._schedule(date_end=date(2027, 12, 1))
        with self.assertRefused(ValidationError, "5 visits or fewer"):
            self._schedule(interval_type="per_month", interval=6)
        self.assertFalse(self.Schedule.search([("partner_id", "=", self.customer.id)]))

    def test_salesperson_sees_own_schedules_only(self):
        mine = self._schedule()
        theirs = self._schedule(user_id=self.salesman_2.id)
        env = self.env(user=self.salesman)
        found = env["crm.visit.schedule"].search([("id", "in", (mine | theirs).ids)])
        self.assertEqual(found, mine)
        with self.assertRaises(AccessError):
            theirs.with_env(env).write({"interval": 2})
        created = env["crm.visit.schedule"].create(
            {"partner_id": self.customer.id, "date_start": date(2028, 1, 1)}
        )
        self.assertEqual(created.user_id, self.salesman)

    def test_regional_manager_sees_region_schedules(self):
        self._region(
            "North",
            "QX-N",
            state_ids=[Command.set(self.state_n.ids)],
            manager_ids=[Command.set(self.regional_manager.ids)],
        )
        elsewhere = self._customer("Southern Corp", self.state_s)
        north = self._schedule()
        south = self._schedule(partner_id=elsewhere.id)
        env = self.env(user=self.regional_manager)
        found = env["crm.visit.schedule"].search([("id", "in", (north | south).ids)])
        self.assertEqual(found, north)

    def test_name(self):
        schedule = self._schedule(interval=3, weekday="4")
        self.assertIn("Key Account Corp", schedule.name)
        self.assertIn("Friday", schedule.name)
        self.assertTrue(schedule.name.startswith("Visit"))
        self.assertEqual(
            self._schedule(
                date_start=date(2028, 1, 1) + timedelta(days=1)
            ).sales_region_id,
            self.customer.sales_region_id,
        )
