from datetime import date, datetime

from odoo import Command
from odoo.exceptions import AccessError, MissingError
from odoo.tests import tagged

from .common import CrmBonusCase


@tagged("post_install", "-at_install")
class TestCustomerHistory(CrmBonusCase):
    """One customer's history as each role sees it: only what the role may read in
    the source documents, no invoice amounts without accounting rights, nothing of
    another company."""

    bonus_company_name = "History Co"
    bonus_surname = "History"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.bonus_company
        cls.north, __, cls.south = cls._region_tree(code="QH")
        cls.seller = cls._bonus_user("salesperson,accountant", "Ivy")
        cls.seller_plain = cls._bonus_user("salesperson", "Pat")
        cls.agent = cls._bonus_user("telesales_agent", "Tom")
        cls.regional = cls._bonus_user("regional_manager", "Reg")
        cls.north.manager_ids = [Command.set(cls.regional.ids)]

        cls.customer = cls._customer(
            "History Customer",
            cls.state_n,
            user_id=cls.seller_plain.id,
            company_id=False,
        )
        cls.contact = cls.Partner.create(
            {"name": "Hanna Contact", "parent_id": cls.customer.id}
        )
        cls.stranger = cls._customer("History Stranger", cls.state_s)

        cls.call = cls.env["crm.phonecall"].create(
            {
                "name": "Call about the offer",
                "partner_id": cls.contact.id,
                "user_id": cls.agent.id,
                "date": datetime(2025, 3, 1, 9, 0),
                "company_id": company.id,
            }
        )
        cls.visit = cls.env["calendar.event"].create(
            {
                "name": "Visit at the plant",
                "start": datetime(2025, 3, 2, 10, 0),
                "stop": datetime(2025, 3, 2, 11, 0),
                "user_id": cls.seller_plain.id,
                "sfa_kind": "visit",
                "sfa_partner_id": cls.customer.id,
            }
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "History deal",
                "type": "opportunity",
                "partner_id": cls.contact.id,
                "user_id": cls.seller_plain.id,
                "company_id": company.id,
            }
        )
        cls.email = cls.lead.message_post(
            body="<p>Please send the price list</p>",
            subject="Price list",
            message_type="email",
            subtype_xmlid="mail.mt_comment",
        )
        cls.note = cls.customer.message_post(
            body="<p>Prefers calls in the morning</p>",
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

        cls.product = cls.env["product.product"].create(
            {"name": "History Widget", "list_price": 100.0, "taxes_id": False}
        )
        Order = cls.env["sale.order"].with_company(company)

        def order(user, partner, quantity, day):
            return Order.create(
                {
                    "partner_id": partner.id,
                    "user_id": user.id,
                    "date_order": day,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": cls.product.id,
                                "product_uom_qty": quantity,
                                "price_unit": 100.0,
                                "tax_id": False,
                            }
                        )
                    ],
                }
            )

        cls.quotation = order(cls.seller_plain, cls.contact, 2, datetime(2025, 3, 3))
        cls.order = order(cls.seller_plain, cls.customer, 3, datetime(2025, 3, 4))
        cls.order.action_confirm()
        # Another salesperson's quotation to the same customer
        cls.quotation_other = order(cls.seller, cls.customer, 1, datetime(2025, 3, 5))
        cls.stranger_order = order(
            cls.seller_plain, cls.stranger, 1, datetime(2025, 3, 5)
        )

        cls.invoice = (
            cls.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": cls.customer.id,
                    "invoice_user_id": cls.seller_plain.id,
                    "invoice_date": date(2025, 3, 6),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": cls.product.id,
                                "quantity": 3,
                                "price_unit": 100.0,
                                "tax_ids": False,
                            }
                        )
                    ],
                }
            )
        )
        cls.invoice.action_post()
        cls.payment = (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=cls.invoice.ids)
            .create({"amount": 120.0, "payment_date": date(2025, 3, 7)})
            ._create_payments()
        )
        cls.ticket = cls.env["helpdesk.ticket"].create(
            {
                "name": "Broken widget",
                "description": "<p>It broke</p>",
                "partner_id": cls.contact.id,
                "user_id": cls.seller_plain.id,
                "company_id": company.id,
            }
        )

        # The same customer in another company: never in this company's history
        cls.other_company = cls.env["res.company"].create({"name": "History Other"})
        cls.other_user = cls._user(
            "salesperson", "crmx_history_other", "Oz Other", company=cls.other_company
        )
        cls.other_order = (
            cls.env["sale.order"]
            .with_company(cls.other_company)
            .create(
                {
                    "partner_id": cls.customer.id,
                    "user_id": cls.other_user.id,
                    "company_id": cls.other_company.id,
                }
            )
        )

    def _history(self, user, domain=None):
        """{(res_model, res_id): row} of the customer's history as ``user``."""
        self.env.invalidate_all()
        rows = (
            self.env["crm.customer.interaction"]
            .with_user(user)
            .with_context(allowed_company_ids=user.company_id.ids)
            .search([("partner_id", "=", self.customer.id), *(domain or [])])
        )
        return {(row.res_model, row.res_id): row for row in rows}

    def _key(self, record):
        return (record._name, record.id)

    # ------------------------------------------------------------------

    def test_history_of_the_whole_customer(self):
        """The superuser's history holds every kind, from the customer and its
        contacts, with the customer as the commercial entity; nothing of another
        customer."""
        rows = self.env["crm.customer.interaction"].search(
            [("partner_id", "=", self.customer.id)]
        )
        by_source = {(row.res_model, row.res_id): row for row in rows}
        expected = {
            self._key(self.call): "call",
            self._key(self.visit): "visit",
            ("mail.message", self.email.id): "email",
            ("mail.message", self.note.id): "note",
            self._key(self.quotation): "quotation",
            self._key(self.order): "order",
            self._key(self.quotation_other): "quotation",
            self._key(self.invoice): "invoice",
            self._key(self.payment): "payment",
            self._key(self.ticket): "ticket",
            self._key(self.other_order): "quotation",
        }
        self.assertEqual({k: r.kind for k, r in by_source.items()}, expected)
        self.assertEqual(set(rows.partner_id), {self.customer})
        self.assertEqual(len(set(rows.ids)), len(rows), "row ids are unique")
        order_row = by_source[self._key(self.order)]
        self.assertEqual(order_row.amount, 300.0)
        self.assertEqual(order_row.currency_id, self.order.currency_id)
        self.assertEqual(order_row.state, "confirmed")
        self.assertEqual(order_row.user_id, self.seller_plain)
        self.assertEqual(by_source[self._key(self.invoice)].amount, 300.0)
        self.assertEqual(by_source[self._key(self.payment)].amount, 120.0)
        self.assertEqual(by_source[self._key(self.call)].contact_id, self.contact)
        self.assertEqual(by_source[("mail.message", self.email.id)].name, "Price list")
        self.assertIn(
            "Prefers calls in the morning",
            by_source[("mail.message", self.note.id)].name,
        )
        # Newest first
        dates = [row.date for row in rows if row.date]
        self.assertEqual(dates, sorted(dates, reverse=True))
        self.assertFalse(
            self.env["crm.customer.interaction"]
            .search(
                [
                    ("res_model", "=", "sale.order"),
                    ("res_id", "=", self.stranger_order.id),
                ]
            )
            .filtered(lambda row: row.partner_id == self.customer)
        )

    def test_salesperson_with_invoicing_rights(self):
        """A salesperson who invoices sees the invoices and payments with their
        amounts, and only the documents of the company."""
        history = self._history(self.seller)
        self.assertEqual(history[self._key(self.invoice)].amount, 300.0)
        self.assertEqual(history[self._key(self.payment)].amount, 120.0)
        self.assertIn(self._key(self.quotation_other), history)
        self.assertNotIn(self._key(self.other_order), history)
        # Another salesperson's call is not theirs to read
        self.assertNotIn(self._key(self.call), history)

    def test_salesperson_without_invoicing_rights(self):
        """No invoice amount and no payment for a salesperson without accounting
        rights; their own documents are there, others' quotations are not."""
        history = self._history(self.seller_plain)
        for key in (self._key(self.quotation), self._key(self.order)):
            self.assertIn(key, history)
        self.assertIn(self._key(self.visit), history)
        self.assertIn(("mail.message", self.email.id), history)
        self.assertIn(("mail.message", self.note.id), history)
        self.assertNotIn(self._key(self.quotation_other), history)
        self.assertNotIn(self._key(self.call), history)
        self.assertNotIn(self._key(self.other_order), history)
        self.assertNotIn(self._key(self.payment), history)
        invoices = [row for row in history.values() if row.kind == "invoice"]
        self.assertTrue(
            all(not row.amount for row in invoices), "no invoice amount is shown"
        )
        # The same, grouped: the amounts do not add up behind their back
        self.env.invalidate_all()
        groups = (
            self.env["crm.customer.interaction"]
            .with_user(self.seller_plain)
            ._read_group(
                [("partner_id", "=", self.customer.id), ("kind", "=", "invoice")],
                [],
                ["amount:sum"],
            )
        )
        self.assertFalse(groups[0][0])
        self.assertEqual(
            self.customer.with_user(self.seller_plain).interaction_count, len(history)
        )

    def test_telesales_agent(self):
        """An agent sees their own call, not the salespeople's quotations."""
        history = self._history(self.agent)
        self.assertIn(self._key(self.call), history)
        self.assertEqual(history[self._key(self.call)].kind, "call")
        self.assertNotIn(self._key(self.quotation), history)
        self.assertNotIn(self._key(self.quotation_other), history)
        self.assertNotIn(self._key(self.payment), history)

    def test_regional_manager(self):
        """A regional manager sees the calls of the customers of their region,
        whoever their salesperson, not another company's documents."""
        history = self._history(self.regional)
        for record in (self.call, self.visit):
            self.assertIn(self._key(record), history)
        for record in (self.other_order, self.payment):
            self.assertNotIn(self._key(record), history)

    def test_history_is_what_the_sources_show(self):
        """For every role, the documents of the history are exactly those of the
        customer that the role finds in the source models."""
        sources = {
            "crm.phonecall": "partner_id",
            "calendar.event": "sfa_partner_id",
            "sale.order": "partner_id",
            "account.move": "partner_id",
            "account.payment": "partner_id",
            "helpdesk.ticket": "partner_id",
        }
        for user in (
            self.seller,
            self.seller_plain,
            self.agent,
            self.regional,
            self.other_user,
        ):
            history = {key for key in self._history(user) if key[0] != "mail.message"}
            expected = set()
            for model, fname in sources.items():
                Model = (
                    self.env[model]
                    .with_user(user)
                    .with_context(allowed_company_ids=user.company_id.ids)
                )
                if not Model.has_access("read"):
                    continue
                domain = [(fname, "child_of", self.customer.id)]
                if model == "account.move":
                    domain.append(("move_type", "in", ("out_invoice", "out_refund")))
                records = Model.search(domain)
                if model == "calendar.event":
                    # Events have no company: the history keeps those of
                    # organizers of the user's companies
                    records = records.filtered(
                        lambda e, u=user: e.user_id.company_id in u.company_ids
                    )
                expected |= {(model, rec.id) for rec in records}
            self.assertEqual(history, expected, user.name)
            self.assertTrue(history, user.name)

    def test_other_company_user(self):
        """A user of the other company sees that company's order of the customer
        and no document of this company. The note on the customer stays: the
        customer is shared by both companies and its chatter with it."""
        history = self._history(self.other_user)
        self.assertEqual(
            set(history),
            {self._key(self.other_order), ("mail.message", self.note.id)},
        )

    def test_filters_by_kind_and_period(self):
        rows = self.env["crm.customer.interaction"].search(
            [
                ("partner_id", "=", self.customer.id),
                ("kind", "in", ("quotation", "ticket")),
                ("date", ">=", "2025-03-03"),
                ("date", "<", "2025-03-06"),
            ]
        )
        history = {(row.res_model, row.res_id) for row in rows}
        self.assertEqual(
            history,
            {self._key(self.quotation), self._key(self.quotation_other)},
        )

    def test_open_source(self):
        """The link opens the source document; an email opens its opportunity; a
        row whose source the user may not read cannot be opened."""
        Interaction = self.env["crm.customer.interaction"]
        history = self._history(self.seller_plain)
        action = history[self._key(self.order)].action_open_source()
        self.assertEqual((action["res_model"], action["res_id"]), self._key(self.order))
        action = history[("mail.message", self.email.id)].action_open_source()
        self.assertEqual((action["res_model"], action["res_id"]), self._key(self.lead))
        # The superuser's row of another salesperson's quotation, opened by Pat
        row = Interaction.search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "=", self.quotation_other.id),
            ]
        )
        self.assertEqual(len(row), 1)
        self.env.invalidate_all()
        refused = None
        try:
            row.with_user(self.seller_plain).action_open_source()
        except (AccessError, MissingError) as error:
            refused = error
        self.assertTrue(refused, "another salesperson's quotation is not opened")

    def test_partner_button(self):
        """The partner's History button: the counter as the user reads it, from a
        contact too, and the action on the commercial entity."""
        self.env.invalidate_all()
        seller_count = self.contact.with_user(self.seller).interaction_count
        self.env.invalidate_all()
        plain_count = self.contact.with_user(self.seller_plain).interaction_count
        self.assertEqual(seller_count, len(self._history(self.seller)))
        self.assertEqual(plain_count, len(self._history(self.seller_plain)))
        self.assertNotEqual(seller_count, plain_count)
        action = self.contact.with_user(self.seller_plain).action_view_interactions()
        self.assertEqual(action["res_model"], "crm.customer.interaction")
        self.assertEqual(action["domain"], [("partner_id", "in", self.customer.ids)])
