from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CrmExtendedTourCase

# Names shared with static/tests/tours/crm_extended_plan_week_tour.js.
CUSTOMER = "Tour Overdue Quartz"
OTHER = "Tour Overdue Onyx"
OUTCOME = "Met the buyer, quotation next week"


@tagged("post_install", "-at_install")
class TestPlanWeekTour(CrmExtendedTourCase):
    """A salesperson books due customers from Plan My Week, marks one visit done, and
    that customer leaves the overdue contacts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls._user(
            "salesperson,base.group_partner_manager", "crmx_tour_sales", "Tess Tour"
        )
        Partner = cls.env["res.partner"]
        cls.customer, cls.other = Partner.create(
            [
                {
                    "name": name,
                    "is_company": True,
                    "customer_rank": 1,
                    "user_id": cls.salesman.id,
                    "contact_interval_days": 30,
                }
                for name in (CUSTOMER, OTHER)
            ]
        )
        # Both were last visited two months ago: overdue by a month.
        start = fields.Datetime.now() - timedelta(days=60)
        visits = cls.env["calendar.event"].create(
            [
                {
                    "name": f"Visit {partner.name}",
                    "sfa_kind": "visit",
                    "sfa_partner_id": partner.id,
                    "user_id": cls.salesman.id,
                    "start": start,
                    "stop": start + timedelta(hours=1),
                }
                for partner in (cls.customer, cls.other)
            ]
        )
        visits.action_sfa_done("Last visit")

    def test_plan_week_tour(self):
        self.assertTrue(self.customer.is_contact_overdue)
        self.assertTrue(self.other.is_contact_overdue)
        self.start_tour_strict(
            "/odoo", "crm_extended_plan_week_tour", login=self.salesman.login
        )
        self.env.invalidate_all()
        done = self.env["calendar.event"].search(
            [
                ("sfa_partner_id", "=", self.customer.id),
                ("sfa_state", "=", "done"),
                ("sfa_outcome", "=", OUTCOME),
            ]
        )
        self.assertEqual(len(done), 1)
        self.assertEqual(done.user_id, self.salesman)
        self.assertFalse(self.customer.is_contact_overdue)
        self.assertTrue(self.other.is_contact_overdue)
        booked = self.env["calendar.event"].search(
            [("sfa_partner_id", "=", self.other.id), ("sfa_state", "=", "planned")]
        )
        self.assertEqual(
            len(booked), 1, "the other customer was booked, not visited yet"
        )
