from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
class TestRegionalManagerRules(CrmExtendedCase):
    """Rita manages North (and so North-West below it); South is someone else's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north, cls.north_west, cls.south = cls._region_tree(
            manager=cls.regional_manager
        )
        cls.customer_nw = cls._customer("NW Corp", cls.state_w)
        cls.customer_s = cls._customer("S Corp", cls.state_s)
        cls.product = cls.env["product.product"].create(
            {"name": "Gadget", "list_price": 5}
        )

        def documents(customer, owner):
            lead = cls.env["crm.lead"].create(
                {
                    "name": f"Deal {customer.name}",
                    "partner_id": customer.id,
                    "user_id": owner.id,
                }
            )
            order = cls.env["sale.order"].create(
                {
                    "partner_id": customer.id,
                    "user_id": owner.id,
                    "order_line": [Command.create({"product_id": cls.product.id})],
                }
            )
            invoice = cls.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_user_id": owner.id,
                    "invoice_line_ids": [
                        Command.create({"product_id": cls.product.id, "price_unit": 5})
                    ],
                }
            )
            invoice.action_post()
            ticket = cls.env["helpdesk.ticket"].create(
                {
                    "name": f"Issue {customer.name}",
                    "description": "x",
                    "partner_id": customer.id,
                }
            )
            return lead, order, invoice, ticket

        # Both sets belong to other salespeople: only the region can open them to Rita.
        cls.docs_nw = documents(cls.customer_nw, cls.salesman)
        cls.docs_s = documents(cls.customer_s, cls.salesman_2)
        cls.own_lead = cls.env["crm.lead"].create(
            {
                "name": "Rita's own deal",
                "partner_id": cls.customer_s.id,
                "user_id": cls.regional_manager.id,
            }
        )

    def test_documents_carry_the_region(self):
        for doc in self.docs_nw:
            self.assertEqual(doc.sales_region_id, self.north_west, doc._name)
        for doc in self.docs_s:
            self.assertEqual(doc.sales_region_id, self.south, doc._name)

    def test_regional_manager_reads_own_regions(self):
        env = self.env(user=self.regional_manager)
        for doc in self.docs_nw:
            records = env[doc._name].search([("id", "=", doc.id)])
            self.assertEqual(records, doc.with_env(env), doc._name)
            records.read(["sales_region_id", "partner_id"])
        # Invoice lines too, so that the invoice form opens.
        invoice = self.docs_nw[2].with_env(env)
        self.assertTrue(invoice.invoice_line_ids.read(["price_unit"]))

    def test_regional_manager_refused_other_regions(self):
        env = self.env(user=self.regional_manager)
        for doc in self.docs_s:
            self.assertFalse(env[doc._name].search([("id", "=", doc.id)]), doc._name)
            with self.assertRaises(AccessError, msg=doc._name):
                doc.with_env(env).read(["name"])

    def test_regional_manager_keeps_own_records(self):
        env = self.env(user=self.regional_manager)
        self.assertEqual(
            env["crm.lead"].search([("id", "=", self.own_lead.id)]), self.own_lead
        )

    def test_regional_manager_writes_leads_orders_tickets_not_invoices(self):
        env = self.env(user=self.regional_manager)
        lead, order, invoice, ticket = (doc.with_env(env) for doc in self.docs_nw)
        lead.write({"priority": "2"})
        order.write({"client_order_ref": "REF-1"})
        ticket.write({"priority": "2"})
        self.assertEqual(self.docs_nw[0].priority, "2")
        with self.assertRaises(AccessError):
            invoice.write({"ref": "changed"})

    def test_managed_regions_change_takes_effect(self):
        env = self.env(user=self.regional_manager)
        lead_s = self.docs_s[0]
        self.assertFalse(env["crm.lead"].search([("id", "=", lead_s.id)]))
        self.south.manager_ids = [Command.link(self.regional_manager.id)]
        self.assertEqual(env["crm.lead"].search([("id", "=", lead_s.id)]), lead_s)
        self.regional_manager.sales_region_managed_ids = [Command.unlink(self.south.id)]
        self.assertFalse(env["crm.lead"].search([("id", "=", lead_s.id)]))

    def test_salesman_rules_unchanged(self):
        env = self.env(user=self.salesman_2)
        lead_nw = self.docs_nw[0]
        self.assertFalse(env["crm.lead"].search([("id", "=", lead_nw.id)]))
        self.assertEqual(
            env["crm.lead"].search([("id", "=", self.docs_s[0].id)]), self.docs_s[0]
        )

    def test_partners_readable_by_every_internal_user(self):
        for user in (self.salesman, self.regional_manager):
            env = self.env(user=user)
            partners = env["res.partner"].search(
                [("id", "in", (self.customer_nw | self.customer_s).ids)]
            )
            self.assertEqual(len(partners), 2)
            partners.read(["sales_region_id"])
            self.assertEqual(partners.sales_region_id.mapped("code"), ["QX-NW", "QX-S"])

    def test_regions_managed_by_sales_manager_only(self):
        env = self.env(user=self.salesman)
        self.assertTrue(env["crm.sales.region"].search([("id", "=", self.north.id)]))
        with self.assertRaises(AccessError):
            env["crm.sales.region"].create({"name": "Mine", "code": "MINE"})
        with self.assertRaises(AccessError):
            self.north.with_env(env).name = "Renamed"
        env = self.env(user=self.sales_manager)
        region = env["crm.sales.region"].create({"name": "Managed", "code": "MGD"})
        self.assertEqual(region.create_uid, self.sales_manager)

    def test_portal_sees_nothing_of_regions(self):
        portal = self._user("portal", "crmx_portal")
        with self.assertRaises(AccessError):
            self.env["crm.sales.region"].with_user(portal).search([])


@tagged("post_install", "-at_install")
class TestGroups(CrmExtendedCase):
    def test_group_chain(self):
        telesales = self.env.ref("crm_extended.group_telesales_agent")
        regional = self.env.ref("crm_extended.group_regional_manager")
        bonus = self.env.ref("crm_extended.group_bonus_manager")
        salesman = self.env.ref("sales_team.group_sale_salesman")
        manager = self.env.ref("sales_team.group_sale_manager")
        self.assertIn(salesman, telesales.trans_implied_ids)
        self.assertIn(salesman, regional.trans_implied_ids)
        self.assertIn(manager, bonus.trans_implied_ids)
        self.assertEqual(
            telesales.category_id,
            self.env.ref("crm_extended.module_category_crm_extended"),
        )
        user = self._user("telesales_agent", "crmx_tele")
        self.assertTrue(user.has_group("sales_team.group_sale_salesman"))
        self.assertFalse(user.has_group("sales_team.group_sale_manager"))
