from datetime import date, datetime, timedelta

from odoo import Command
from odoo.tests import tagged

from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
class TestWorkPlan(CrmExtendedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls._customer("Planned Corp", cls.state_n)
        monday = datetime(2027, 3, 1, 9)  # a Monday

        def work(kind, day, user):
            return {
                "name": f"{kind} {day}",
                "sfa_kind": kind,
                "sfa_partner_id": cls.customer.id,
                "user_id": user.id,
                "start": monday + timedelta(days=day),
                "stop": monday + timedelta(days=day, hours=1),
            }

        events = cls.env["calendar.event"].create(
            [
                work("visit", 0, cls.salesman),
                work("visit", 1, cls.salesman),
                work("visit", 2, cls.salesman),
                work("call", 3, cls.salesman),
                work("call", 4, cls.salesman),
                work("visit", 7, cls.salesman),  # next week
                work("visit", 1, cls.salesman_2),
            ]
        )
        events[0].action_sfa_done("Met the buyer")
        events[3].action_sfa_done("Left a message")
        events[2].action_sfa_cancel()
        events[1].sfa_state = "missed"
        cls.product = cls.env["product.product"].create({"name": "Plan item"})
        order = cls.env["sale.order"].create(
            {
                "partner_id": cls.customer.id,
                "user_id": cls.salesman.id,
                "order_line": [Command.create({"product_id": cls.product.id})],
            }
        )
        order.action_confirm()
        lead = cls.env["crm.lead"].create(
            {"name": "New deal", "type": "opportunity", "user_id": cls.salesman.id}
        )
        # Creation dates are the week of 1 March 2027. Confirming stamped the
        # order's date with today's: write that first, or the flush below
        # would put it back over ours.
        cls.env.flush_all()
        cls.env.cr.execute(
            "UPDATE sale_order SET create_date = %s, date_order = %s WHERE id = %s",
            (monday, monday + timedelta(days=2), order.id),
        )
        cls.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s WHERE id = %s", (monday, lead.id)
        )
        cls.env.invalidate_all()

    def _row(self, user, week, env=None):
        env = env or self.env
        return env["crm.work.plan.report"].search(
            [("user_id", "=", user.id), ("date_week", "=", week)]
        )

    def test_planned_against_done(self):
        row = self._row(self.salesman, date(2027, 3, 1))
        self.assertEqual(len(row), 1)
        self.assertEqual(
            row.visits_planned, 2, "the cancelled visit is not planned work"
        )
        self.assertEqual(row.visits_done, 1)
        self.assertEqual(row.calls_planned, 2)
        self.assertEqual(row.calls_done, 1)
        self.assertEqual(row.work_missed, 1)
        self.assertEqual(row.opportunities_new, 1)
        self.assertEqual(row.quotations_new, 1)
        self.assertEqual(row.orders_confirmed, 1)
        next_week = self._row(self.salesman, date(2027, 3, 8))
        self.assertEqual(next_week.visits_planned, 1)
        self.assertEqual(next_week.visits_done, 0)

    def test_month_totals(self):
        groups = self.env["crm.work.plan.report"]._read_group(
            [("user_id", "=", self.salesman.id), ("date_week", ">=", date(2027, 3, 1))],
            ["date_week:month"],
            ["visits_planned:sum", "visits_done:sum"],
        )
        self.assertEqual(
            [(planned, done) for _month, planned, done in groups], [(3, 1)]
        )

    def test_salesperson_sees_own_plan(self):
        env = self.env(user=self.salesman)
        self.assertTrue(self._row(self.salesman, date(2027, 3, 1), env))
        self.assertFalse(self._row(self.salesman_2, date(2027, 3, 1), env))
        env = self.env(user=self.sales_manager)
        self.assertTrue(self._row(self.salesman_2, date(2027, 3, 1), env))
