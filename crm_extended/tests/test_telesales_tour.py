from odoo.tests import tagged

from .common import CrmExtendedTourCase

# Names shared with static/tests/tours/crm_extended_telesales_tour.js.
CUSTOMER = "Tour Telesales Garnet"
PRODUCT = "Tour Telesales Headset"
# The customer's number, as the agent's screen shows it
PHONE = "+32 470 55 66 00"
# The product's price: the tour saves the quotation once its line shows it
PRICE = 25.0


@tagged("post_install", "-at_install")
class TestTelesalesTour(CrmExtendedTourCase):
    """An agent takes the next call of their queue, takes the order on the phone,
    adds a product and confirms the quotation: the call ends as "order taken"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = cls._user(
            "telesales_agent",
            "crmx_tour_agent",
            "Tina Telesales",
            password="crmx_tour_agent",
            tz="UTC",
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": CUSTOMER, "is_company": True, "phone": PHONE}
        )
        cls.product = cls.env["product.product"].create(
            {"name": PRODUCT, "list_price": PRICE, "sale_ok": True}
        )
        cls.call_list = cls._running_call_list("Tour campaign", cls.customer, cls.agent)
        cls.entry = cls.call_list.entry_ids

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
        self.assertEqual(order.order_line.price_unit, PRICE)
        self.assertEqual(self.entry.phonecall_ids.order_id, order)
        self.assertEqual(self.entry.phonecall_ids.user_id, self.agent)
