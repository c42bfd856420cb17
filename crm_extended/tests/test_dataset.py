from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged

from odoo.addons.crm_extended.populate import bulk, checks

TABLES = {
    "res.partner": "partners",
    "crm.lead": "leads",
    "sale.order": "orders",
    "helpdesk.ticket": "tickets",
    "crm.phonecall": "calls",
    "calendar.event": "visits",
}


@tagged("post_install", "-at_install")
class TestDataset(TransactionCase):
    """The benchmark dataset generator at its tiny size, checked through the ORM.

    Customers live in a country of the test's own, so that the test also runs on a
    database with demo data (whose regions claim US states).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.country, cls.states = cls._country("Genland", "QG")
        cls.before = cls._counts()
        cls.stages = bulk.generate(cls.env, "tiny", seed=7, country=cls.country)
        cls.after = cls._counts()

    @classmethod
    def _country(cls, name, code):
        country = cls.env["res.country"].create({"name": name, "code": code})
        states = cls.env["res.country.state"].create(
            [
                {
                    "name": f"{name} {n}",
                    "code": f"{code[1]}{n}",
                    "country_id": country.id,
                }
                for n in range(8)
            ]
        )
        return country, states

    def _fingerprint(self, country):
        """What the generator made for a country, without ids nor sequence names.

        Probabilities of open leads are left out: lead scoring learns from every lead
        of the database, the first dataset's included.
        """
        partners = self.env["res.partner"].search(
            [("country_id", "=", country.id)], order="id"
        )
        Lead = self.env["crm.lead"].with_context(active_test=False)
        leads = Lead.search([("partner_id", "in", partners.ids)], order="id")
        orders = self.env["sale.order"].search(
            [("partner_id", "in", partners.ids)], order="id"
        )
        return (
            [
                (p.name, p.email, p.state_id.name[-1], p.sales_region_id.name)
                for p in partners
            ],
            [
                (
                    lead.name,
                    lead.user_id.name,
                    lead.expected_revenue,
                    lead.stage_id.name,
                    lead.active,
                    lead.create_date,
                    lead.forecast_category,
                )
                for lead in leads
            ],
            [
                (
                    order.partner_id.name,
                    order.user_id.name,
                    order.amount_total,
                    order.date_order,
                    order.invoice_ids.mapped("payment_state"),
                )
                for order in orders
            ],
        )

    @classmethod
    def _counts(cls):
        Model = cls.env.registry
        return {
            model: bulk.table_count(cls.env, Model[model]._table) for model in TABLES
        }

    def _added(self, model):
        return self.after[model] - self.before[model]

    def test_counts(self):
        sizes = bulk.SIZES["tiny"]
        for model, key in TABLES.items():
            # The ORM-made templates come on top of the cloned records.
            self.assertGreaterEqual(self._added(model), sizes[key], model)
            self.assertLessEqual(self._added(model), sizes[key] + 30, model)
        invoices = self.env["account.move"].search(
            [
                ("move_type", "=", "out_invoice"),
                ("partner_id.country_id", "=", self.country.id),
            ]
        )
        self.assertGreater(len(invoices), sizes["orders"] // 2)
        paid = invoices.filtered(lambda m: m.payment_state in ("paid", "in_payment"))
        self.assertGreater(len(paid), len(invoices) // 2, "most invoices are paid")
        self.assertEqual(set(invoices.mapped("state")), {"posted"})

    def test_records_valid(self):
        partners = self.env["res.partner"].search(
            [("country_id", "=", self.country.id)]
        )
        self.assertEqual(
            checks.check(self.env, sample=500, partner_ids=partners.ids), []
        )

    def test_regions_and_offices(self):
        root = self.env["crm.sales.region"].search([("code", "=", "GEN-QG")])
        self.assertEqual(len(root), 1)
        self.assertEqual(len(root.child_ids), 4)
        self.assertEqual(
            root.child_ids.state_ids, self.states, "every state is claimed once"
        )
        teams = self.env["crm.team"].search([("sales_region_id", "child_of", root.id)])
        self.assertEqual(len(teams), 12)
        partners = self.env["res.partner"].search(
            [("country_id", "=", self.country.id), ("is_company", "=", True)]
        )
        self.assertGreaterEqual(len(partners), bulk.SIZES["tiny"]["partners"])
        self.assertFalse(partners.filtered(lambda p: not p.sales_region_id))
        self.assertTrue(
            all(p.sales_region_id.parent_id == root for p in partners),
            "customers take the sub-region claiming their state",
        )

    def test_leads(self):
        Lead = self.env["crm.lead"].with_context(active_test=False)
        leads = Lead.search([("partner_id.country_id", "=", self.country.id)])
        lost = leads.filtered(lambda lead: not lead.active)
        won = leads.filtered(lambda lead: lead.stage_id.is_won)
        self.assertTrue(lost and won)
        self.assertGreater(len(lost), len(won), "most leads are lost")
        for lead in lost:
            self.assertEqual(lead.probability, 0)
            self.assertTrue(lead.lost_reason_id)
            self.assertTrue(lead.date_closed)
        for lead in won:
            self.assertEqual(lead.probability, 100)
            self.assertEqual(lead.prorated_revenue, lead.expected_revenue)
        for lead in leads:
            self.assertEqual(lead.sales_region_id, lead.team_id.sales_region_id)
            self.assertEqual(lead.city, lead.partner_id.city)

    def test_forecast_categories(self):
        """Won and lost opportunities have their stage's forecast category; some
        open ones were moved by their salesperson, never below their stage's
        category except to omit them."""
        Lead = self.env["crm.lead"].with_context(active_test=False)
        leads = Lead.search([("partner_id.country_id", "=", self.country.id)])
        rank = bulk.FORECAST_RANK
        closed = leads.filtered(lambda lead: not lead.active or lead.stage_id.is_won)
        for lead in closed:
            self.assertEqual(
                lead.forecast_category, lead.stage_id.forecast_category or "pipeline"
            )
        chosen = self.env["crm.lead"]
        for lead in leads - closed:
            default = lead.stage_id.forecast_category or "pipeline"
            if lead.forecast_category != default:
                chosen |= lead
                self.assertTrue(
                    lead.forecast_category == "omitted"
                    or rank[lead.forecast_category] > rank[default]
                )
        self.assertTrue(chosen, "salespeople set the category of some")
        self.assertLess(len(chosen), len(leads - closed) / 2, "most keep the stage's")

    def test_orders_and_names(self):
        orders = self.env["sale.order"].search(
            [("partner_id.country_id", "=", self.country.id)]
        )
        self.assertEqual(len(set(orders.mapped("name"))), len(orders))
        for order in orders.filtered("invoice_ids"):
            self.assertEqual(order.invoice_ids.invoice_origin, order.name)
            self.assertEqual(order.invoice_ids.partner_id, order.partner_id)
            self.assertEqual(order.invoice_status, "invoiced")
            self.assertEqual(order.invoice_ids.amount_total, order.amount_total)
        sequence = self.env["ir.sequence"].search([("code", "=", "sale.order")])
        self.assertNotIn(
            sequence.get_next_char(sequence.number_next_actual),
            orders.mapped("name"),
            "the order sequence continues after the generated orders",
        )

    def test_refuses_twice(self):
        with self.assertRaises(bulk.DatasetError):
            bulk.generate(self.env, "tiny", country=self.country)

    def test_repeatable(self):
        """Same seed, same data (another country, as the first one is claimed)."""
        self.maxDiff = None
        root = self.env["crm.sales.region"].search([("code", "=", "GEN-QG")])
        root.code = "DONE-QG"  # lets the generator run a second time
        country, _states = self._country("Genland Bis", "QH")
        bulk.generate(self.env, "tiny", seed=7, country=country)
        self.env.invalidate_all()
        self.assertEqual(self._fingerprint(country), self._fingerprint(self.country))

    def test_customer_work(self):
        """Visits are customer work: done in the past with an outcome, planned ahead,
        a few missed or cancelled; held calls and done work count as contacts."""
        events = self.env["calendar.event"].search(
            [("sfa_partner_id.country_id", "=", self.country.id)]
        )
        self.assertGreaterEqual(len(events), bulk.SIZES["tiny"]["visits"])
        self.assertEqual(
            set(events.mapped("sfa_kind")) - {"visit", "meeting", "demo"}, set()
        )
        now = fields.Datetime.now()
        done = events.filtered(lambda e: e.sfa_state == "done")
        self.assertTrue(done, "most past visits are done")
        for event in done:
            self.assertTrue(event.sfa_outcome and event.sfa_date_done)
            self.assertLess(event.start, now)
        for event in events:
            self.assertEqual(
                event.sfa_partner_id, event.sfa_partner_id.commercial_partner_id
            )
            self.assertEqual(
                event.sales_region_id, event.sfa_partner_id.sales_region_id
            )
            self.assertIn(event.sfa_partner_id, event.partner_ids)
            self.assertEqual(event.sfa_team_id, event.user_id.sale_team_id)
            if event.sfa_state == "planned":
                self.assertGreaterEqual(event.start.date(), fields.Date.today())
            if event.start.date() >= fields.Date.today():
                self.assertIn(event.sfa_state, ("planned", "cancelled"))
            if event.sfa_state != "done":
                self.assertFalse(event.sfa_outcome)
        calls = self.env["crm.phonecall"].search(
            [("partner_id.country_id", "=", self.country.id)]
        )
        held = calls.filtered(lambda c: c.state == "done")
        self.assertTrue(held and len(held) < len(calls))
        self.assertFalse(held.filtered(lambda c: not c.date_closed))

    def test_contact_cadence(self):
        partners = self.env["res.partner"].search(
            [("country_id", "=", self.country.id), ("is_company", "=", True)]
        )
        customers = partners.filtered(lambda p: p.customer_rank > 0)
        self.assertTrue(customers and customers != partners, "some are prospects")
        self.assertFalse(customers.filtered(lambda p: p.contact_interval_days <= 0))
        self.assertFalse((partners - customers).filtered("date_next_contact"))
        overdue = customers.filtered("is_contact_overdue")
        self.assertTrue(overdue, "some customers are overdue")
        self.assertLess(len(overdue), len(customers) / 2, "most are not")
        key = customers.filtered(
            lambda p: "Key Account" in p.category_id.mapped("name")
        )
        self.assertEqual(len(key), bulk.SIZES["tiny"]["key_accounts"])
        self.assertLess(
            max(key.mapped("contact_interval_days")),
            min((customers - key).mapped("contact_interval_days")),
            "key accounts are contacted more often",
        )
        for partner in customers.filtered("date_last_contact"):
            start = partner.date_last_contact
            self.assertEqual(
                partner.date_next_contact,
                start.date() + timedelta(days=partner.contact_interval_days),
            )
        self.assertTrue(customers.filtered("date_last_contact"))
        # The contacts of the key accounts: their routine visits, done ones
        # counting as contacts.
        last_visits = {
            partner: max(
                partner.sfa_contact_event_ids.filtered(
                    lambda e: e.sfa_state == "done"
                ).mapped("start"),
                default=False,
            )
            for partner in key
        }
        for partner, last_visit in last_visits.items():
            if last_visit:
                self.assertGreaterEqual(partner.date_last_contact, last_visit)
