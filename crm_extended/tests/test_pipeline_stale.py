from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CrmExtendedCase

T0 = datetime(2026, 3, 2, 9, 0)


class CrmStaleCase(CrmExtendedCase):
    """Stages with a stale delay and opportunities created on 2026-03-02 09:00."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Stage = cls.env["crm.stage"]
        cls.Lead = cls.env["crm.lead"]
        cls.stage_qualify = cls.Stage.create(
            {"name": "Stale Qualify", "sequence": 901, "stale_after_days": 10}
        )
        cls.stage_propose = cls.Stage.create(
            {"name": "Stale Propose", "sequence": 902, "stale_after_days": 5}
        )
        cls.stage_never = cls.Stage.create(
            {"name": "Stale Never", "sequence": 903, "stale_after_days": 0}
        )
        cls.stage_won = cls.Stage.create(
            {
                "name": "Stale Won",
                "sequence": 904,
                "is_won": True,
                "stale_after_days": 3,
            }
        )
        cls.customer = cls._customer("Stale Corp", cls.state_n)

    @classmethod
    def _opportunity(cls, name, stage, user=None, **vals):
        lead = cls.Lead.create(
            {
                "name": name,
                "type": "opportunity",
                "stage_id": stage.id,
                "partner_id": cls.customer.id,
                "user_id": (user or cls.salesman).id,
                **vals,
            }
        )
        # Created and put in its stage at T0 (the ORM dates both by the
        # transaction, which the frozen clock does not move)
        lead.flush_recordset()
        cls.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s, date_last_stage_update = %s "
            "WHERE id = %s",
            (T0, T0, lead.id),
        )
        lead.invalidate_recordset()
        return lead

    def _stale_ids(self, leads):
        return set(
            self.Lead.search([("id", "in", leads.ids), ("is_stale", "=", True)]).ids
        )


@tagged("post_install", "-at_install")
class TestStaleDetection(CrmStaleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lead = cls._opportunity("Quiet deal", cls.stage_qualify)
        cls.lead_never = cls._opportunity("Patient deal", cls.stage_never)
        cls.lead_won = cls._opportunity("Won deal", cls.stage_won)
        cls.lead_lead = cls._opportunity("Just a lead", cls.stage_qualify, type="lead")
        cls.lead_lost = cls._opportunity("Lost deal", cls.stage_qualify)
        cls.lead_lost.action_set_lost()
        cls.all_leads = (
            cls.lead + cls.lead_never + cls.lead_won + cls.lead_lead + cls.lead_lost
        )

    def test_stale_after_the_stage_delay(self):
        with freeze_time(T0 + timedelta(days=9, hours=23, minutes=59)):
            self.all_leads.invalidate_recordset(["is_stale", "days_in_stage"])
            self.assertFalse(self.lead.is_stale)
            self.assertEqual(self.lead.days_in_stage, 10, "calendar days")
            self.assertEqual(self._stale_ids(self.all_leads), set())
        with freeze_time(T0 + timedelta(days=10, hours=1)):
            self.all_leads.invalidate_recordset(["is_stale", "days_in_stage"])
            self.assertTrue(self.lead.is_stale)
            self.assertEqual(self.lead.days_in_stage, 10)
            # Never-stale stage, won stage, leads and lost ones stay out
            self.assertEqual(
                [lead.is_stale for lead in self.all_leads],
                [True, False, False, False, False],
            )
            self.assertEqual(self._stale_ids(self.all_leads), {self.lead.id})
            not_stale = self.Lead.with_context(active_test=False).search(
                [("id", "in", self.all_leads.ids), ("is_stale", "!=", True)]
            )
            self.assertEqual(set(not_stale.ids), set((self.all_leads - self.lead).ids))

    def test_each_activity_resets_the_clock(self):
        later = T0 + timedelta(days=8)
        lead = self.lead
        with freeze_time(later):
            lead.message_post(body="Called the buyer", message_type="comment")
        self.assertEqual(lead.date_last_activity, later)
        with freeze_time(T0 + timedelta(days=11)):
            lead.invalidate_recordset(["is_stale"])
            self.assertFalse(lead.is_stale)
            self.assertEqual(self._stale_ids(lead), set())
        with freeze_time(later + timedelta(days=10, minutes=1)):
            self.assertEqual(self._stale_ids(lead), {lead.id})

    def test_calls_work_and_activities_count(self):
        lead = self.lead
        day_call = T0 + timedelta(days=3)
        self.env["crm.phonecall"].create(
            [
                {
                    "name": "Held call",
                    "opportunity_id": lead.id,
                    "partner_id": self.customer.id,
                    "date": day_call,
                    "state": "done",
                },
                {
                    "name": "Planned call",
                    "opportunity_id": lead.id,
                    "date": T0 + timedelta(days=30),
                    "state": "open",
                },
            ]
        )
        self.assertEqual(lead.date_last_activity, day_call)

        day_visit = T0 + timedelta(days=5)
        visit = self.env["calendar.event"].create(
            {
                "name": "Visit",
                "sfa_kind": "visit",
                "sfa_partner_id": self.customer.id,
                "opportunity_id": lead.id,
                "start": day_visit,
                "stop": day_visit + timedelta(hours=1),
                "user_id": self.salesman.id,
            }
        )
        self.assertEqual(lead.date_last_activity, day_call, "planned work is not")
        visit.action_sfa_done("Met the buyer")
        self.assertEqual(lead.date_last_activity, day_visit)

        day_done = T0 + timedelta(days=6)
        with freeze_time(day_done):
            activity = lead.activity_schedule(
                "mail.mail_activity_data_todo", user_id=self.salesman.id
            )
            activity.action_feedback(feedback="Sent the brochure")
        self.assertEqual(lead.date_last_activity, day_done)

        # Tracked changes and notifications are not activity
        with freeze_time(T0 + timedelta(days=7)):
            lead.with_context(tracking_disable=False).user_id = self.salesman_2
            lead.message_post(body="System says hi", message_type="notification")
        self.assertEqual(lead.date_last_activity, day_done)

    def test_a_stage_move_resets_the_clock(self):
        # The move is dated by the transaction (core's cr.now()), not the clock
        self.lead.stage_id = self.stage_propose
        entered = self.lead.date_last_stage_update
        self.assertGreater(entered, T0 + timedelta(days=12))
        with freeze_time(entered + timedelta(days=4)):
            self.lead.invalidate_recordset(["is_stale", "days_in_stage"])
            self.assertFalse(self.lead.is_stale)
            self.assertEqual(self.lead.days_in_stage, 4)
            self.assertEqual(self._stale_ids(self.lead), set())
        with freeze_time(entered + timedelta(days=5, hours=1)):
            self.lead.invalidate_recordset(["is_stale"])
            self.assertTrue(self.lead.is_stale)
            self.assertEqual(self._stale_ids(self.lead), {self.lead.id})

    def test_fields_only_the_system_sets(self):
        lead = self.lead.with_user(self.salesman)
        for vals in ({"date_last_activity": T0}, {"stale_notice": "new"}):
            with self.assertRaisesRegex(AccessError, "system keeps"):
                lead.write(vals)
            with self.assertRaisesRegex(AccessError, "system keeps"):
                self.Lead.with_user(self.salesman).create({"name": "x", **vals})
        self.assertFalse(self.lead.stale_notice)

    def test_bad_input(self):
        with self.assertRaisesRegex(UserError, "Stale only as set"):
            self.Lead.search([("is_stale", ">", 1)])
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.stage_never.stale_after_days = -1


@tagged("post_install", "-at_install")
class TestStaleJob(CrmStaleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north, cls.north_west, cls.south = cls._region_tree(cls.regional_manager)
        cls.customer_s = cls._customer("Southern Stale Corp", cls.state_s)
        cls.lead_n = cls._opportunity("North deal", cls.stage_qualify)
        cls.lead_orphan = cls._opportunity(
            "Ownerless deal", cls.stage_qualify, user_id=False
        )
        cls.lead_s = cls._opportunity(
            "South deal",
            cls.stage_qualify,
            user=cls.salesman_2,
            partner_id=cls.customer_s.id,
        )
        cls.lead_fresh = cls._opportunity("Fresh deal", cls.stage_qualify)
        cls.lead_fresh.message_post(body="Just called", message_type="comment")
        cls.leads = cls.lead_n + cls.lead_orphan + cls.lead_s + cls.lead_fresh
        cls.activity_type = cls.env.ref(
            "crm_extended.mail_activity_type_stale_opportunity"
        )
        cls.now = cls.lead_fresh.date_last_activity + timedelta(days=1)

    def _activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "crm.lead"),
                ("res_id", "in", self.leads.ids),
                ("activity_type_id", "=", self.activity_type.id),
            ]
        )

    def _digests(self, user):
        return self.env["mail.mail"].search(
            [
                ("recipient_ids", "in", user.partner_id.ids),
                ("subject", "like", "Stale opportunities"),
            ]
        )

    def test_setup(self):
        self.assertEqual(self.lead_n.sales_region_id, self.north)
        self.assertEqual(self.lead_s.sales_region_id, self.south)
        self.assertFalse(self.lead_orphan.user_id)

    def test_activities_once_digests_per_scope(self):
        with freeze_time(self.now):
            self.env["crm.lead"]._cron_stale_opportunities()
        activities = self._activities()
        self.assertEqual(
            {(a.res_id, a.user_id.id) for a in activities},
            {(self.lead_n.id, self.salesman.id), (self.lead_s.id, self.salesman_2.id)},
        )
        self.assertEqual(
            self.leads.mapped("stale_notice"), ["digest", "digest", "digest", False]
        )
        regional = self._digests(self.regional_manager)
        self.assertEqual(len(regional), 1)
        self.assertIn("North deal", regional.body_html)
        self.assertIn("Ownerless deal", regional.body_html)
        self.assertNotIn("South deal", regional.body_html)
        self.assertNotIn("Fresh deal", regional.body_html)
        manager = self._digests(self.sales_manager)
        self.assertEqual(len(manager), 1)
        for name in ("North deal", "Ownerless deal", "South deal"):
            self.assertIn(name, manager.body_html)
        self.assertFalse(self._digests(self.salesman), "salespeople get no digest")

        # Run again on the same stale set: nothing new
        with freeze_time(self.now + timedelta(hours=1)):
            self.env["crm.lead"]._cron_stale_opportunities()
        self.assertEqual(self._activities(), activities)
        self.assertEqual(self._digests(self.regional_manager), regional)
        self.assertEqual(self._digests(self.sales_manager), manager)

    def test_stale_again_after_activity(self):
        Lead = self.env["crm.lead"]
        with freeze_time(self.now):
            Lead._cron_stale_opportunities()
        activities = self._activities()
        # The South deal gets a call: no longer stale, told about again when it
        # goes stale again, its owner's activity still open is not duplicated
        with freeze_time(self.now + timedelta(days=1)):
            self.lead_s.message_post(body="Called", message_type="comment")
            Lead._cron_stale_opportunities()
        self.assertFalse(self.lead_s.stale_notice)
        self.assertEqual(len(self._digests(self.sales_manager)), 1)
        with freeze_time(self.now + timedelta(days=12)):
            Lead._cron_stale_opportunities()
        self.assertEqual(self.lead_s.stale_notice, "digest")
        south = self._activities().filtered(lambda a: a.res_id == self.lead_s.id)
        self.assertEqual(
            south, activities.filtered(lambda a: a.res_id == self.lead_s.id)
        )
        self.assertEqual(len(south), 1)
        self.assertEqual(len(self._digests(self.sales_manager)), 2)
        # North: the Fresh deal went stale meanwhile, the South deal is not his
        regional = self._digests(self.regional_manager).sorted("id")
        self.assertEqual(len(regional), 2)
        self.assertIn("Fresh deal", regional[-1].body_html)
        self.assertNotIn("South deal", regional[-1].body_html)

    def test_batches(self):
        Lead = self.env["crm.lead"]
        with freeze_time(self.now):
            self.assertEqual(Lead._cron_stale_opportunities(batch_size=2), 2)
            self.assertFalse(self._digests(self.sales_manager), "not before the end")
            Lead._cron_stale_opportunities(batch_size=2)
        self.assertEqual(len(self._activities()), 2)
        self.assertEqual(len(self._digests(self.sales_manager)), 1)
        self.assertEqual(
            self.leads.mapped("stale_notice"), ["digest", "digest", "digest", False]
        )

    def test_pipeline_health(self):
        self.lead_n.expected_revenue = 1000
        self.lead_s.expected_revenue = 300
        self.lead_fresh.expected_revenue = 50
        Report = self.env["crm.pipeline.health.report"]
        with freeze_time(self.now):
            rows = Report.search([("stage_id", "=", self.stage_qualify.id)])
            by_user = {
                row.user_id: (
                    row.stale_count,
                    row.healthy_count,
                    row.stale_revenue,
                    row.healthy_revenue,
                )
                for row in rows
            }
            self.assertEqual(by_user[self.salesman], (1, 1, 1000, 50))
            self.assertEqual(by_user[self.salesman_2], (1, 0, 300, 0))
            regional_rows = Report.with_user(self.regional_manager).search(
                [("stage_id", "=", self.stage_qualify.id)]
            )
            self.assertEqual(set(regional_rows.mapped("sales_region_id")), {self.north})
            self.assertEqual(sum(regional_rows.mapped("stale_count")), 2)
            own = Report.with_user(self.salesman_2).search([])
            self.assertEqual(own.user_id, self.salesman_2)
