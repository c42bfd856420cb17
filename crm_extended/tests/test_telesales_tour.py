from odoo import Command
from odoo.tests import tagged

from .common import CrmExtendedTourCase

# Names shared with static/tests/tours/crm_extended_telesales_tour.js.
CUSTOMER = "Tour Telesales Garnet"
PRODUCT = "Tour Telesales Headset"
# The customer's number, as the agent's screen shows it
PHONE = "+32 470 55 66 00"


@tagged("post_install", "-at_install")
class TestTelesalesTour(CrmExtendedTourCase):
    """An agent takes the next call of their queue, takes the order on the phone,
    adds a product and confirms the quotation: the call ends as "order taken"."""

    def setUp(self):
        super().setUp()
        self.agent = self._user(
            "telesales_agent",
            "crmx_tour_agent",
            "Tina Telesales",
            password="crmx_tour_agent",
            tz="UTC",
        )
        self.customer = self.env["res.partner"].create(
            {"name": CUSTOMER, "is_company": True, "phone": PHONE}
        )
        self.product = self.env["product.product"].create(
            {"name": PRODUCT, "list_price": 25.0, "sale_ok": True}
        )
        self.call_list = self.env["crm.call.list"].create(
            {
                "name": "Tour campaign",
                "filter_domain": repr([("id", "=", self.customer.id)]),
                "agent_ids": [Command.set(self.agent.ids)],
                "call_hour_from": 0.0,
                "call_hour_to": 24.0,
            }
        )
        self.call_list.action_build()
        self.call_list.action_distribute()
        self.call_list.action_start()
        self.entry = self.call_list.entry_ids

    def test_telesales_tour(self):
        self.assertEqual(self.entry.partner_id, self.customer)
        self.assertEqual(self.entry.agent_id, self.agent)
        self.start_tour_strict(
            "/odoo", "crm_extended_telesales_tour", login=self.agent.login
        )
        self.env.invalidate_all()
        self.assertEqual(self.entry.state, "done")
        self.assertEqual(
            self.entry.outcome_id,
            self.env.ref("crm_extended.crm_call_outcome_order_taken"),
        )
        order = self.entry.order_id
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.partner_id, self.customer)
        self.assertEqual(order.user_id, self.agent)
        self.assertEqual(order.order_line.product_id, self.product)
        self.assertEqual(self.entry.phonecall_ids.order_id, order)
        self.assertEqual(self.entry.phonecall_ids.user_id, self.agent)
