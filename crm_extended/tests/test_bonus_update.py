from datetime import date

import psycopg2
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import tagged

from .common import CrmBonusCase, CrmExtendedCase

# Ann's monthly targets
TARGETS = {"confirmed_sales": 1000, "invoiced_revenue": 1000, "paid_revenue": 1000}


@tagged("post_install", "-at_install")
class TestBonusUpdate(CrmBonusCase):
    """A company of its own without taxes, a salesperson with monthly targets for
    February and March 2025 on a plan of confirmed sales, invoiced and paid
    revenue; the update follows the sources, and changes after approval become
    adjustments of the next open statement. A second salesperson and a plan of new
    customers: a customer's first order moving from one to the other."""

    bonus_company_name = "Bonus Update Co"
    bonus_surname = "Update"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_u = cls.bonus_company
        cls.product = (
            cls.env["product.product"]
            .with_company(cls.company_u)
            .create({"name": "Widget", "list_price": 100, "taxes_id": False})
        )
        cls.customer = cls._customer("Update Customer")
        cls.plan = cls.env["crm.bonus.plan"].create(
            {
                "name": "Update Plan",
                "company_id": cls.company_u.id,
                "currency_id": cls.company_u.currency_id.id,
                "date_start": date(2025, 1, 1),
                "kpi_ids": [
                    Command.create({"kpi_type": "confirmed_sales", "weight": 40}),
                    Command.create({"kpi_type": "invoiced_revenue", "weight": 30}),
                    Command.create({"kpi_type": "paid_revenue", "weight": 30}),
                ],
                "level_ids": [
                    Command.create({"attainment": 100, "payout_factor": 100}),
                ],
                "cap": 200,
            }
        )
        cls.plan.action_approve()
        # New customers: Bob sells to the same customers as Ann
        cls.customer_contact = cls.Partner.create(
            {"name": "Update Contact", "parent_id": cls.customer.id}
        )
        cls.plan_new = cls.env["crm.bonus.plan"].create(
            {
                "name": "New Customers Plan",
                "company_id": cls.company_u.id,
                "currency_id": cls.company_u.currency_id.id,
                "date_start": date(2025, 1, 1),
                "kpi_ids": [
                    Command.create({"kpi_type": "new_customers", "weight": 100}),
                ],
                "level_ids": [
                    Command.create({"attainment": 100, "payout_factor": 100}),
                ],
            }
        )
        cls.plan_new.action_approve()
        cls.Statement = cls.env["crm.bonus.statement"]

    def _target(self, day):
        return self._bonus_target(self.plan, self.ann, TARGETS, day=day)

    def _statement(self, day):
        return self._bonus_statement(self.plan, self.ann, TARGETS, day=day)

    def _invoice(self, day, quantity=1, move_type="out_invoice"):
        move = (
            self.env["account.move"]
            .with_company(self.company_u)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": self.customer.id,
                    "invoice_user_id": self.ann.id,
                    "invoice_date": day,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "quantity": quantity,
                                "price_unit": 100,
                                "tax_ids": False,
                            }
                        )
                    ],
                }
            )
        )
        move.action_post()
        return move

    def _pay(self, move, day, amount=None):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=move.ids)
            .create({"amount": amount or move.amount_total, "payment_date": day})
            ._create_payments()
        )

    def _new_customer_statement(self, user, day):
        return self._bonus_statement(
            self.plan_new, user, {"new_customers": 1}, amount=100, day=day
        )

    def _confirmed_order(
        self, quantity, user=None, partner=None, when="2025-02-14 10:00"
    ):
        order = (
            self.env["sale.order"]
            .with_company(self.company_u)
            .create(
                {
                    "partner_id": (partner or self.customer).id,
                    "user_id": (user or self.ann).id,
                    "order_line": [
                        Command.create(
                            {"product_id": self.product.id, "product_uom_qty": quantity}
                        )
                    ],
                }
            )
        )
        with freeze_time(when):
            order.action_confirm()
        return order

    def _achieved(self, statement):
        statement.invalidate_recordset()
        return {kpi.kpi_type: round(kpi.achieved, 2) for kpi in statement.kpi_ids}

    def _update(self):
        self.env.invalidate_all()
        return self.Statement._update_statements()

    def test_update_follows_sources(self):
        feb = self._statement(date(2025, 2, 1))
        self.assertFalse(feb.to_recompute)
        invoice = self._invoice(date(2025, 2, 10), quantity=3)
        self.assertTrue(feb.to_recompute, "posting an invoice marks the statement")
        self.assertEqual(self._achieved(feb)["invoiced_revenue"], 0)
        self.assertEqual(self._update(), (1, 0))
        self.assertFalse(feb.to_recompute)
        self.assertEqual(self._achieved(feb)["invoiced_revenue"], 300)
        self._pay(invoice, date(2025, 2, 12), amount=150)
        self.assertTrue(feb.to_recompute, "a payment marks the statement")
        self._update()
        self.assertEqual(self._achieved(feb)["paid_revenue"], 150)
        order = self._confirmed_order(quantity=2)
        self._update()
        self.assertEqual(self._achieved(feb)["confirmed_sales"], 200)
        order._action_cancel()
        self.assertTrue(feb.to_recompute, "cancelling an order marks the statement")
        self._update()
        self.assertEqual(self._achieved(feb)["confirmed_sales"], 0)
        # Nothing marked: nothing to do
        self.assertEqual(self._update(), (0, 0))

    def test_order_lines_changed_after_confirmation(self):
        feb = self._statement(date(2025, 2, 1))
        order = self._confirmed_order(quantity=2)
        self._update()
        self.assertEqual(self._achieved(feb)["confirmed_sales"], 200)
        order.order_line.product_uom_qty = 5
        self.assertTrue(feb.to_recompute, "a changed quantity marks the statement")
        self._update()
        self.assertEqual(self._achieved(feb)["confirmed_sales"], 500)
        order.order_line = [
            Command.create({"product_id": self.product.id, "product_uom_qty": 1})
        ]
        self.assertTrue(feb.to_recompute, "an added line marks the statement")
        self._update()
        self.assertEqual(self._achieved(feb)["confirmed_sales"], 600)
        order.order_line[0].name = "Renamed"
        self.assertFalse(feb.to_recompute, "a new description counts nothing")

    def _new_customers(self, *statements):
        return [self._achieved(statement)["new_customers"] for statement in statements]

    def test_new_customer_follows_cancelled_first_order(self):
        """Ann's first order of a customer is cancelled: Bob's later order (on a
        contact of the customer, in March) becomes its first one, and Bob's March
        statement gets the new customer."""
        ann_feb = self._new_customer_statement(self.ann, date(2025, 2, 1))
        bob_mar = self._new_customer_statement(self.bob, date(2025, 3, 1))
        first = self._confirmed_order(1)
        self._confirmed_order(
            1, user=self.bob, partner=self.customer_contact, when="2025-03-10 10:00"
        )
        self._update()
        self.assertEqual(self._new_customers(ann_feb, bob_mar), [1, 0])
        first._action_cancel()
        self.assertTrue(ann_feb.to_recompute)
        self.assertTrue(bob_mar.to_recompute, "the customer's new first order's")
        self._update()
        self.assertEqual(self._new_customers(ann_feb, bob_mar), [0, 1])
        self.assertEqual(
            bob_mar.line_ids.partner_id, self.customer, "the commercial partner"
        )

    def test_new_customer_taken_by_earlier_order(self):
        """An order of Bob confirmed in February for a customer Ann won in March
        takes the new customer away from Ann's March statement."""
        bob_feb = self._new_customer_statement(self.bob, date(2025, 2, 1))
        ann_mar = self._new_customer_statement(self.ann, date(2025, 3, 1))
        self._confirmed_order(1, when="2025-03-10 10:00")
        self._update()
        self.assertEqual(self._new_customers(bob_feb, ann_mar), [0, 1])
        self._confirmed_order(1, user=self.bob)
        self.assertTrue(bob_feb.to_recompute)
        self.assertTrue(ann_mar.to_recompute, "the customer's former first order's")
        self._update()
        self.assertEqual(self._new_customers(bob_feb, ann_mar), [1, 0])

    def test_new_customer_follows_changed_customer(self):
        """Ann's first order of a customer moves to another customer: Bob's later
        order becomes the first customer's first one; Ann's order still wins her
        the other customer."""
        ann_feb = self._new_customer_statement(self.ann, date(2025, 2, 1))
        bob_mar = self._new_customer_statement(self.bob, date(2025, 3, 1))
        first = self._confirmed_order(1)
        self._confirmed_order(1, user=self.bob, when="2025-03-10 10:00")
        self._update()
        self.assertEqual(self._new_customers(ann_feb, bob_mar), [1, 0])
        first.partner_id = self._customer("Other Customer")
        self.assertTrue(bob_mar.to_recompute, "the first customer's new first order's")
        self._update()
        self.assertEqual(self._new_customers(ann_feb, bob_mar), [1, 1])

    def _mark_queries(self, count):
        """Cancelling the first orders of ``count`` customers marks the statements
        of the customers' next orders; the marking takes as many queries for any
        number of orders."""
        ann_feb = self._new_customer_statement(self.ann, date(2025, 2, 1))
        bob_mar = self._new_customer_statement(self.bob, date(2025, 3, 1))
        firsts = self.env["sale.order"]
        for i in range(count):
            customer = self._customer(f"Marked Customer {i}")
            firsts |= self._confirmed_order(1, partner=customer)
            self._confirmed_order(
                1, user=self.bob, partner=customer, when="2025-03-10 10:00"
            )
        self._update()
        self.assertEqual(self._new_customers(ann_feb, bob_mar), [count, 0])
        # Before the change: read the orders, mark, read their customers
        self.env.invalidate_all()
        with self.assertQueryCount(3):
            firsts._bonus_mark_dirty()
            customers = firsts._bonus_customers()
        self.assertEqual(len(customers), count)
        firsts.write({"state": "cancel"})
        self.assertTrue(bob_mar.to_recompute)
        self._update()
        self.assertEqual(self._new_customers(ann_feb, bob_mar), [0, count])
        # After it: read the orders, find the other first orders, mark
        self.env.invalidate_all()
        with self.assertQueryCount(3):
            firsts._bonus_mark_dirty(customers=customers)
        self.assertTrue(bob_mar.to_recompute)
        self.assertFalse(ann_feb.to_recompute)

    def test_mark_queries_one_order(self):
        self._mark_queries(1)

    def test_mark_queries_several_orders(self):
        # 4x the orders, the same number of queries
        self._mark_queries(4)

    def _history(self, count):
        """``count`` invoices of February, half paid."""
        for i in range(count):
            invoice = self._invoice(date(2025, 2, 1 + i % 20))
            if i % 2:
                self._pay(invoice, date(2025, 2, 21))

    def _update_after_payment_queries(self, count):
        feb = self._statement(date(2025, 2, 1))
        self._history(count)
        invoice = self._invoice(date(2025, 2, 25), quantity=2)
        self._update()
        self._pay(invoice, date(2025, 2, 26))
        self.assertTrue(feb.to_recompute)
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        # create next statements, pick and lock, statement compute (lock and clear,
        # the KPIs to count, 3 KPI inserts, adjustments, aggregate, 2 updates,
        # ORM reads)
        with self.assertQueryCount(24):
            self.Statement._update_statements()
        queries = self.env.cr.sql_log_count - before
        self.assertEqual(self._achieved(feb)["paid_revenue"], 100 * (count // 2) + 200)
        return queries

    def test_update_queries_small_history(self):
        self._update_after_payment_queries(2)

    def test_update_queries_large_history(self):
        # 5x the history, the same number of queries
        self._update_after_payment_queries(10)

    @freeze_time("2025-03-05 10:00")
    def test_credit_note_after_approval(self):
        feb = self._statement(date(2025, 2, 1))
        invoice = self._invoice(date(2025, 2, 10), quantity=5)
        self._update()
        feb.action_submit()
        feb.action_approve()
        before = self._achieved(feb)
        self.assertEqual(before["invoiced_revenue"], 500)
        # A credit note of February after approval, no March target yet: pending
        refund = self._invoice(date(2025, 2, 27), quantity=2, move_type="out_refund")
        self.assertTrue(feb.to_recompute)
        self._update()
        self.assertTrue(feb.to_recompute, "waits for the next statement")
        # March's target: its statement is created with the adjustment
        self._target(date(2025, 3, 1))
        self._update()
        mar = self.Statement.search(
            [("user_id", "=", self.ann.id), ("date_from", "=", date(2025, 3, 1))]
        )
        self.assertEqual(len(mar), 1)
        self.assertFalse(feb.to_recompute)
        adjustment = mar.line_ids.filtered("is_adjustment")
        self.assertEqual(len(adjustment), 1)
        self.assertEqual(adjustment.kpi_type, "invoiced_revenue")
        self.assertAlmostEqual(adjustment.amount, -200)
        self.assertEqual(adjustment.invoice_id, refund)
        self.assertEqual(adjustment.adjusted_statement_id, feb)
        self.assertEqual(self._achieved(mar)["invoiced_revenue"], -200)
        self.assertEqual(self._achieved(feb), before, "approved figures never change")
        # Recomputing adds no second adjustment
        mar.action_compute()
        self.Statement._mark_dirty([(self.ann.id, None, date(2025, 2, 27))])
        self._update()
        self.assertEqual(len(mar.line_ids.filtered("is_adjustment")), 1)
        self.assertEqual(self._achieved(mar)["invoiced_revenue"], -200)
        # A March invoice still counts normally beside the adjustment
        self._invoice(date(2025, 3, 3))
        self._update()
        self.assertEqual(self._achieved(mar)["invoiced_revenue"], -100)
        self.assertTrue(invoice)

    @freeze_time("2025-03-05 10:00")
    def test_unreconciled_payment_clawback(self):
        feb = self._statement(date(2025, 2, 1))
        mar = self._statement(date(2025, 3, 1))
        invoice = self._invoice(date(2025, 2, 10), quantity=4)
        payment = self._pay(invoice, date(2025, 2, 20))
        self._update()
        self.assertEqual(self._achieved(feb)["paid_revenue"], 400)
        feb.action_submit()
        feb.action_approve()
        payment.move_id.line_ids.remove_move_reconcile()
        self.assertTrue(feb.to_recompute)
        self._update()
        self.assertEqual(self._achieved(feb)["paid_revenue"], 400)
        clawback = mar.line_ids.filtered("is_adjustment")
        self.assertEqual(len(clawback), 1)
        self.assertEqual(clawback.kpi_type, "paid_revenue")
        self.assertAlmostEqual(clawback.amount, -400)
        self.assertEqual(clawback.invoice_id, invoice)
        self.assertEqual(clawback.payment_move_id, payment.move_id)
        self.assertEqual(clawback.adjusted_statement_id, feb)
        self.assertEqual(self._achieved(mar)["paid_revenue"], -400)
        # Paid again (in March): counted in March, the clawback stays
        self._pay(invoice, date(2025, 3, 4))
        self._update()
        self.assertEqual(self._achieved(mar)["paid_revenue"], 0)


@tagged("post_install", "-at_install")
class TestBonusUpdateConcurrency(CrmExtendedCase):
    """Two workers on committed data (cleaned up afterwards): the second one skips
    the statement the first one holds, and the figures after a retry equal one
    computation."""

    def test_two_workers(self):
        registry = self.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            user = env.ref("base.user_admin")
            today = fields.Date.today()
            plan = env["crm.bonus.plan"].create(
                {
                    "name": "Concurrency Plan",
                    "company_id": user.company_id.id,
                    "currency_id": user.company_id.currency_id.id,
                    "date_start": today.replace(day=1),
                    "kpi_ids": [
                        Command.create({"kpi_type": "calls_done", "weight": 100})
                    ],
                    "level_ids": [
                        Command.create({"attainment": 100, "payout_factor": 100})
                    ],
                }
            )
            plan.action_approve()
            target = env["crm.bonus.target"].create(
                {
                    "plan_id": plan.id,
                    "user_id": user.id,
                    "date_from": today.replace(day=1),
                    "amount_on_target": 100,
                    "line_ids": [
                        Command.create({"kpi_type": "calls_done", "target": 2})
                    ],
                }
            )
            statement = env["crm.bonus.statement"].create({"target_id": target.id})
            call = env["crm.phonecall"].create(
                {
                    "name": "Concurrent call",
                    "user_id": user.id,
                    "company_id": user.company_id.id,
                    "date": fields.Datetime.now(),
                    "state": "done",
                }
            )
            env.flush_all()
            ids = {"plan": plan.id, "statement": statement.id, "call": call.id}
            self.assertTrue(statement.to_recompute)
            cr.commit()  # pylint: disable=invalid-commit
        try:
            with registry.cursor() as cr_a, registry.cursor() as cr_b:
                env_a = api.Environment(cr_a, SUPERUSER_ID, {})
                env_b = api.Environment(cr_b, SUPERUSER_ID, {})
                Statement_a = env_a["crm.bonus.statement"]
                Statement_b = env_b["crm.bonus.statement"]
                # A computes and holds the row lock until it commits
                self.assertEqual(Statement_a._update_statements(), (1, 0))
                # B skips the locked statement (left marked, retried later)
                self.assertEqual(Statement_b._update_statements(), (0, 0))
                cr_b.rollback()
                # A worker computing it anyway waits for the lock (NOWAIT here)
                cr_b.execute("SET LOCAL lock_timeout = '200ms'")
                with self.assertRaises(psycopg2.errors.LockNotAvailable):
                    Statement_b._compute_statements(
                        Statement_b.browse(ids["statement"])
                    )
                cr_b.rollback()
                cr_a.commit()  # pylint: disable=invalid-commit
                # Then retries: replaces, never adds
                self.assertEqual(Statement_b._update_statements(), (0, 0))
                statement_b = Statement_b.browse(ids["statement"])
                Statement_b._compute_statements(statement_b)
                Statement_b._compute_statements(statement_b)
                cr_b.commit()  # pylint: disable=invalid-commit
                statement_b.invalidate_recordset()
                self.assertEqual(len(statement_b.line_ids), 1)
                self.assertEqual(statement_b.kpi_ids.achieved, 1)
                self.assertEqual(statement_b.attainment, 50)
                self.assertEqual(statement_b.amount_payout, 50)
        finally:
            with registry.cursor() as cr:
                cr.execute(
                    """
                    DELETE FROM mail_message
                     WHERE model = 'crm.bonus.statement' AND res_id = %(statement)s;
                    DELETE FROM crm_bonus_statement WHERE id = %(statement)s;
                    DELETE FROM crm_bonus_target WHERE plan_id = %(plan)s;
                    DELETE FROM crm_bonus_plan WHERE id = %(plan)s;
                    DELETE FROM crm_phonecall WHERE id = %(call)s;
                    """,
                    ids,
                )
