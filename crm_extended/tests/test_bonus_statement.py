from datetime import date, datetime

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CrmBonusCase

# KPI weights of the plan: every KPI at once
WEIGHTS = {
    "confirmed_sales": 30,
    "invoiced_revenue": 20,
    "paid_revenue": 20,
    "margin": 10,
    "new_customers": 10,
    "visits_done": 5,
    "calls_done": 5,
}


@tagged("post_install", "-at_install")
class TestBonusStatement(CrmBonusCase):
    """A company of its own with a chart of accounts, a 10 % tax and two
    salespeople; February 2025 is the period. Ann's documents:

    - orders: January's (old customer), two confirmed in February (old customer
      200; new customer 100 + 2 × 50), a quotation and a cancelled order;
    - invoices: January 300 paid in February, February 200 paid half, February 50
      unpaid, a February credit note of 100;
    - a visit done, a visit planned, a calendar call done (logged in the call log:
      counted once), a logged call held, a logged call open.
    """

    bonus_company_name = "Bonus Statement Co"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_s = cls.bonus_company
        cls.sales_manager_s = cls.bonus_sales_manager
        cls.tax = cls.env["account.tax"].create(
            {
                "name": "Bonus VAT 10",
                "amount": 10,
                "type_tax_use": "sale",
                "company_id": cls.company_s.id,
            }
        )
        Category = cls.env["product.category"]
        cls.categ_a = Category.create({"name": "Machines"})
        cls.categ_b = Category.create({"name": "Parts", "parent_id": cls.categ_a.id})
        cls.categ_c = Category.create({"name": "Services"})
        Product = cls.env["product.product"].with_company(cls.company_s)
        cls.machine, cls.part, cls.service = Product.create(
            [
                {
                    "name": name,
                    "list_price": list_price,
                    "standard_price": standard_price,
                    "categ_id": categ.id,
                    "taxes_id": [Command.set(cls.tax.ids)],
                }
                for name, list_price, standard_price, categ in (
                    ("Machine", 100, 60, cls.categ_a),
                    ("Part", 50, 10, cls.categ_b),
                    ("Service", 80, 0, cls.categ_c),
                )
            ]
        )
        cls.old_customer = cls._customer("Old Customer")
        cls.new_customer = cls._customer("New Customer")
        cls.bob_customer = cls._customer("Bob's Customer")

        def order(user, customer, lines, when, confirm=True):
            order = (
                cls.env["sale.order"]
                .with_company(cls.company_s)
                .create(
                    {
                        "partner_id": customer.id,
                        "user_id": user.id,
                        "company_id": cls.company_s.id,
                        "order_line": [
                            Command.create({"product_id": p.id, "product_uom_qty": q})
                            for p, q in lines
                        ],
                    }
                )
            )
            if confirm:
                with freeze_time(when):
                    order.action_confirm()
            return order

        cls.order_jan = order(
            cls.ann, cls.old_customer, [(cls.machine, 1)], "2025-01-20 10:00"
        )
        cls.order_old = order(
            cls.ann, cls.old_customer, [(cls.machine, 2)], "2025-02-10 10:00"
        )
        cls.order_new = order(
            cls.ann,
            cls.new_customer,
            [(cls.machine, 1), (cls.part, 2)],
            "2025-02-11 10:00",
        )
        cls.quotation = order(
            cls.ann, cls.new_customer, [(cls.machine, 10)], None, confirm=False
        )
        cls.order_cancelled = order(
            cls.ann, cls.new_customer, [(cls.machine, 5)], "2025-02-12 10:00"
        )
        cls.order_cancelled._action_cancel()
        cls.order_march = order(
            cls.ann, cls.new_customer, [(cls.machine, 3)], "2025-03-02 10:00"
        )
        cls.order_bob = order(
            cls.bob, cls.bob_customer, [(cls.part, 1)], "2025-02-14 10:00"
        )

        def invoice(user, customer, lines, day, move_type="out_invoice"):
            move = (
                cls.env["account.move"]
                .with_company(cls.company_s)
                .create(
                    {
                        "move_type": move_type,
                        "partner_id": customer.id,
                        "invoice_user_id": user.id,
                        "invoice_date": day,
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "product_id": p.id,
                                    "quantity": q,
                                    "price_unit": p.list_price,
                                    "tax_ids": [Command.set(cls.tax.ids)],
                                }
                            )
                            for p, q in lines
                        ],
                    }
                )
            )
            move.action_post()
            return move

        cls.invoice_jan = invoice(
            cls.ann, cls.old_customer, [(cls.machine, 3)], date(2025, 1, 30)
        )
        cls.invoice_half = invoice(
            cls.ann, cls.old_customer, [(cls.machine, 2)], date(2025, 2, 12)
        )
        cls.invoice_unpaid = invoice(
            cls.ann, cls.new_customer, [(cls.part, 1)], date(2025, 2, 15)
        )
        cls.refund = invoice(
            cls.ann,
            cls.old_customer,
            [(cls.machine, 1)],
            date(2025, 2, 20),
            move_type="out_refund",
        )
        cls.invoice_bob = invoice(
            cls.bob, cls.bob_customer, [(cls.part, 1)], date(2025, 2, 14)
        )

        def pay(move, amount, day):
            return (
                cls.env["account.payment.register"]
                .with_context(active_model="account.move", active_ids=move.ids)
                .create({"amount": amount, "payment_date": day})
                ._create_payments()
            )

        cls.payment_jan = pay(cls.invoice_jan, 330, date(2025, 2, 5))
        cls.payment_half = pay(cls.invoice_half, 110, date(2025, 2, 20))
        cls.payment_march = pay(cls.invoice_unpaid, 55, date(2025, 3, 3))

        Event = cls.env["calendar.event"]

        def work(kind, day, done=True, user=None):
            event = Event.create(
                {
                    "name": f"{kind} {day}",
                    "start": day,
                    "stop": day.replace(hour=day.hour + 1),
                    "user_id": (user or cls.ann).id,
                    "sfa_kind": kind,
                    "sfa_partner_id": cls.old_customer.id,
                }
            )
            if done:
                event.action_sfa_done("Went well")
            return event

        cls.visit_done = work("visit", datetime(2025, 2, 11, 9))
        cls.visit_planned = work("visit", datetime(2025, 2, 12, 9), done=False)
        cls.visit_jan = work("visit", datetime(2025, 1, 28, 9))
        cls.call_event = work("call", datetime(2025, 2, 13, 9))
        Call = cls.env["crm.phonecall"]
        cls.call_held, cls.call_open = Call.create(
            [
                {
                    "name": "Held",
                    "user_id": cls.ann.id,
                    "partner_id": cls.old_customer.id,
                    "date": datetime(2025, 2, 14, 9),
                    "state": "done",
                },
                {
                    "name": "Open",
                    "user_id": cls.ann.id,
                    "partner_id": cls.old_customer.id,
                    "date": datetime(2025, 2, 14, 10),
                    "state": "open",
                },
            ]
        )

        cls.plan = cls._plan(WEIGHTS)
        cls.Target = cls.env["crm.bonus.target"]
        cls.Statement = cls.env["crm.bonus.statement"]

    @classmethod
    def _plan(cls, weights, filters=None):
        filters = filters or {}
        plan = cls.env["crm.bonus.plan"].create(
            {
                "name": "All KPIs",
                "company_id": cls.company_s.id,
                "currency_id": cls.company_s.currency_id.id,
                "date_start": date(2025, 1, 1),
                "threshold": 50,
                "cap": 180,
                "kpi_ids": [
                    Command.create(
                        {"kpi_type": kpi_type, "weight": weight}
                        | filters.get(kpi_type, {})
                    )
                    for kpi_type, weight in weights.items()
                ],
                "level_ids": [
                    Command.create({"attainment": 50, "payout_factor": 25}),
                    Command.create({"attainment": 100, "payout_factor": 100}),
                    Command.create({"attainment": 150, "payout_factor": 200}),
                ],
            }
        )
        plan.action_approve()
        return plan

    def _statement(self, user, targets, plan=None, amount=1000, day=date(2025, 2, 1)):
        return self._bonus_statement(plan or self.plan, user, targets, amount, day)

    def _achieved(self, statement):
        return {kpi.kpi_type: round(kpi.achieved, 2) for kpi in statement.kpi_ids}

    def test_each_kpi(self):
        statement = self._statement(
            self.ann,
            {
                "confirmed_sales": 400,
                "invoiced_revenue": 300,
                "paid_revenue": 200,
                "margin": 400,
                "new_customers": 2,
                "visits_done": 1,
                "calls_done": 4,
            },
        )
        self.assertEqual(
            self._achieved(statement),
            {
                # 2 machines + 1 machine and 2 parts; not January, March, the
                # quotation or the cancelled order
                "confirmed_sales": 400,
                # 200 + 50 - 100 (credit note); not January's invoice
                "invoiced_revenue": 150,
                # January's invoice paid in full in February (300 untaxed of 330)
                # and half of February's (110 of 220: 100 untaxed)
                "paid_revenue": 400,
                # 200 - 2 × 60 and 100 - 60 + 100 - 2 × 10
                "margin": 200,
                # the new customer's first order; the old one ordered in January
                "new_customers": 1,
                "visits_done": 1,
                # the calendar call (its logged call not again) and the held call
                "calls_done": 2,
            },
        )
        attainments = {kpi.kpi_type: kpi.attainment for kpi in statement.kpi_ids}
        self.assertEqual(attainments["confirmed_sales"], 100)
        self.assertEqual(attainments["paid_revenue"], 200)
        self.assertEqual(attainments["calls_done"], 50)
        # 30 + 10 + 40 + 5 + 5 + 5 + 2.5
        self.assertAlmostEqual(statement.attainment, 97.5)
        # between the levels 50 → 25 and 100 → 100
        self.assertAlmostEqual(statement.payout_factor, 96.25)
        self.assertEqual(statement.amount_payout, 962.5)
        self.assertEqual(statement.amount_on_target, 1000)

        # every figure has its sources
        lines = statement.line_ids
        by_kpi = {
            kpi_type: lines.filtered(lambda line, k=kpi_type: line.kpi_type == k)
            for kpi_type in WEIGHTS
        }
        self.assertEqual(
            by_kpi["confirmed_sales"].order_id, self.order_old | self.order_new
        )
        self.assertEqual(
            by_kpi["invoiced_revenue"].invoice_id,
            self.invoice_half | self.invoice_unpaid | self.refund,
        )
        paid = by_kpi["paid_revenue"]
        self.assertEqual(paid.invoice_id, self.invoice_jan | self.invoice_half)
        self.assertEqual(
            paid.payment_move_id, (self.payment_jan | self.payment_half).move_id
        )
        self.assertEqual(len(paid.partial_id), 2)
        self.assertEqual(
            paid.filtered(lambda line: line.invoice_id == self.invoice_half).amount,
            100,
        )
        self.assertEqual(by_kpi["new_customers"].partner_id, self.new_customer)
        self.assertEqual(by_kpi["new_customers"].order_id, self.order_new)
        self.assertEqual(by_kpi["visits_done"].event_id, self.visit_done)
        calls = by_kpi["calls_done"]
        self.assertEqual(calls.event_id, self.call_event)
        self.assertEqual(
            calls.phonecall_id, self.call_event.phonecall_id | self.call_held
        )
        self.assertEqual(
            {line.res_model for line in lines},
            {"sale.order", "account.move", "calendar.event", "crm.phonecall"},
        )
        self.assertEqual(
            (
                statement.order_count,
                statement.invoice_count,
                statement.payment_count,
                statement.event_count,
                statement.phonecall_count,
            ),
            (2, 4, 2, 2, 2),
        )
        # Bob's statement sees only Bob's documents
        bob_statement = self._statement(self.bob, {"confirmed_sales": 100})
        achieved = self._achieved(bob_statement)
        self.assertEqual(achieved["confirmed_sales"], 50)
        self.assertEqual(achieved["invoiced_revenue"], 50)
        self.assertEqual(achieved["new_customers"], 1)
        self.assertEqual(achieved["visits_done"], 0)

    def test_salesperson_days(self):
        """Periods are the salesperson's days: for Bob in Tokyo (UTC+9), an order
        confirmed on 28 February at 20:00 UTC is March's, a visit on 31 January at
        16:00 UTC is February's, and their source lines carry Tokyo's dates."""
        self.bob.tz = "Asia/Tokyo"
        order = (
            self.env["sale.order"]
            .with_company(self.company_s)
            .create(
                {
                    "partner_id": self.bob_customer.id,
                    "user_id": self.bob.id,
                    "company_id": self.company_s.id,
                    "order_line": [
                        Command.create(
                            {"product_id": self.part.id, "product_uom_qty": 4}
                        )
                    ],
                }
            )
        )
        with freeze_time("2025-02-28 20:00"):
            order.action_confirm()
        visit = self.env["calendar.event"].create(
            {
                "name": "Tokyo visit",
                "start": datetime(2025, 1, 31, 16),
                "stop": datetime(2025, 1, 31, 17),
                "user_id": self.bob.id,
                "sfa_kind": "visit",
                "sfa_partner_id": self.bob_customer.id,
            }
        )
        visit.action_sfa_done("Went well")
        plan = self._plan({"confirmed_sales": 50, "visits_done": 50})
        targets = {"confirmed_sales": 100, "visits_done": 1}
        feb = self._statement(self.bob, targets, plan=plan)
        march = self._statement(self.bob, targets, plan=plan, day=date(2025, 3, 1))
        (feb | march).action_compute()
        # February: the order of 14 February and the visit, not the late order
        self.assertEqual(
            self._achieved(feb),
            {"confirmed_sales": self.order_bob.amount_untaxed, "visits_done": 1},
        )
        self.assertEqual(
            self._achieved(march),
            {"confirmed_sales": order.amount_untaxed, "visits_done": 0},
        )
        self.assertEqual(
            march.line_ids.filtered("order_id").mapped("date"), [date(2025, 3, 1)]
        )
        self.assertEqual(
            feb.line_ids.filtered("event_id").mapped("date"), [date(2025, 2, 1)]
        )
        # Cancelling the late order marks the March statement, whose UTC day it
        # is not
        (feb | march).write({"to_recompute": False})
        order._action_cancel()
        self.assertTrue(march.to_recompute)

    def test_recompute_is_idempotent(self):
        statement = self._statement(self.ann, {"confirmed_sales": 400})
        lines = len(statement.line_ids)
        statement.action_compute()
        statement.action_compute()
        self.assertEqual(len(statement.line_ids), lines)
        self.assertEqual(self._achieved(statement)["confirmed_sales"], 400)
        # a newly confirmed order counts at the next computation
        new_order = self.order_old.copy()
        with freeze_time("2025-02-25 10:00"):
            new_order.action_confirm()
        statement.action_compute()
        self.assertEqual(self._achieved(statement)["confirmed_sales"], 600)

    def test_partial_payments_pro_rata(self):
        statement = self._statement(self.ann, {"paid_revenue": 1000})
        paid = statement.line_ids.filtered(lambda line: line.kpi_type == "paid_revenue")
        self.assertEqual(sorted(paid.mapped("amount")), [100, 300])
        # the other half of February's invoice in two payments of a quarter
        (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=self.invoice_half.ids)
            .create({"amount": 55, "payment_date": date(2025, 2, 26)})
            ._create_payments()
        )
        statement.action_compute()
        self.assertEqual(self._achieved(statement)["paid_revenue"], 450)
        # paid back a credit note: the cash goes out, revenue goes down
        (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=self.refund.ids)
            .create({"amount": 110, "payment_date": date(2025, 2, 27)})
            ._create_payments()
        )
        statement.action_compute()
        self.assertEqual(self._achieved(statement)["paid_revenue"], 350)

    def test_product_filters(self):
        plan = self._plan(
            {"confirmed_sales": 50, "invoiced_revenue": 30, "margin": 20},
            filters={
                # Parts is below Machines: the category filter takes sub-categories
                "confirmed_sales": {
                    "product_categ_ids": [Command.set(self.categ_b.ids)]
                },
                "invoiced_revenue": {"product_ids": [Command.set(self.machine.ids)]},
                "margin": {
                    "product_ids": [Command.set(self.part.ids)],
                    "product_categ_ids": [Command.set(self.categ_c.ids)],
                },
            },
        )
        statement = self._statement(self.ann, {"confirmed_sales": 100}, plan=plan)
        self.assertEqual(
            self._achieved(statement),
            {"confirmed_sales": 100, "invoiced_revenue": 100, "margin": 80},
        )
        plan_root = self._plan(
            {"confirmed_sales": 100},
            filters={
                "confirmed_sales": {
                    "product_categ_ids": [Command.set(self.categ_a.ids)]
                }
            },
        )
        statement = self._statement(self.bob, {"confirmed_sales": 100}, plan=plan_root)
        self.assertEqual(self._achieved(statement), {"confirmed_sales": 50})

    def test_payout_below_threshold_and_cap(self):
        low = self._statement(self.ann, {"confirmed_sales": 10000}, amount=500)
        self.assertLess(low.attainment, 50)
        self.assertEqual(low.amount_payout, 0)
        high = self._statement(
            self.bob,
            {kpi_type: 1 for kpi_type in WEIGHTS},
            amount=500,
        )
        self.assertEqual(high.payout_factor, 180)
        self.assertEqual(high.amount_payout, 900)

    def test_target_zero(self):
        statement = self._statement(self.ann, {})
        self.assertTrue(all(kpi.target == 0 for kpi in statement.kpi_ids))
        self.assertTrue(all(kpi.attainment == 0 for kpi in statement.kpi_ids))
        self.assertEqual(self._achieved(statement)["confirmed_sales"], 400)
        self.assertEqual(statement.amount_payout, 0)

    def test_workflow_and_immutability(self):
        statement = self._statement(self.ann, {"confirmed_sales": 400})
        with self.assertRefused(UserError, "cannot be approved"):
            statement.with_user(self.bonus_manager).action_approve()
        statement.with_user(self.bonus_manager).action_submit()
        self.assertEqual(statement.state, "to_approve")
        with self.assertRefused(AccessError, "Only bonus managers"):
            statement.with_user(self.sales_manager_s).action_approve()
        statement.with_user(self.bonus_manager).action_approve()
        self.assertEqual(statement.state, "approved")
        self.assertEqual(statement.approved_by_id, self.bonus_manager)
        payout = statement.amount_payout
        # new sources change nothing on an approved statement
        new_order = self.order_old.copy()
        with freeze_time("2025-02-25 10:00"):
            new_order.action_confirm()
        with self.assertRefused(UserError, "cannot be computed again"):
            statement.action_compute()
        with self.assertRefused(UserError, "never change"):
            self.Statement._compute_statements(statement)
        with self.assertRefused(UserError, "never change"):
            statement.amount_payout = 1
        with self.assertRefused(UserError, "never change"):
            statement.kpi_ids[0].achieved = 1
        with self.assertRefused(UserError, "never change"):
            statement.line_ids[0].unlink()
        with self.assertRefused(UserError, "Only draft or cancelled"):
            statement.unlink()
        self.assertEqual(statement.amount_payout, payout)
        self.assertEqual(self._achieved(statement)["confirmed_sales"], 400)
        statement.action_cancel()
        self.assertEqual(statement.state, "cancelled")
        # a cancelled statement makes room for a new one
        action = statement.target_id.action_create_statements()
        new = self.Statement.search(action["domain"]) - statement
        self.assertEqual(new.state, "draft")
        self.assertEqual(self._achieved(new)["confirmed_sales"], 600)

    def test_access(self):
        own = self._statement(self.ann, {"confirmed_sales": 400})
        other = self._statement(self.bob, {"confirmed_sales": 100})
        both = own | other
        Statement = self.env["crm.bonus.statement"]
        self.assertEqual(Statement.with_user(self.ann).search([]), own)
        self.assertEqual(
            self.env["crm.bonus.statement.line"].with_user(self.ann).search([]),
            own.line_ids,
        )
        with self.assertRefused(AccessError, ""):
            other.with_user(self.ann).read(["amount_payout"])
        with self.assertRefused(AccessError, ""):
            own.with_user(self.ann).action_submit()
        with self.assertRefused(AccessError, ""):
            own.with_user(self.ann).write({"state": "approved"})
        # a sales manager who is no bonus manager sees only their own (none)
        self.assertFalse(Statement.with_user(self.sales_manager_s).search([]))
        # accountants read them all, change none
        self.assertEqual(Statement.with_user(self.accountant).search([]), both)
        own.with_user(self.accountant).read(["amount_payout", "kpi_ids", "line_ids"])
        with self.assertRefused(AccessError, ""):
            own.with_user(self.accountant).write({"state": "approved"})
        with self.assertRefused(AccessError, ""):
            own.with_user(self.accountant).action_approve()
        self.assertEqual(Statement.with_user(self.bonus_manager).search([]), both)
        # users of another company see nothing
        self.assertFalse(
            self.env(user=self.salesman, context={})["crm.bonus.statement"].search([])
        )

    def test_constant_queries(self):
        sellers = [
            self._user("salesperson", f"crmx_bs_q{i}", company=self.company_s)
            for i in range(12)
        ]
        targets = self.Target.create(
            [
                {
                    "plan_id": self.plan.id,
                    "user_id": seller.id,
                    "date_from": date(2025, 2, 1),
                    "amount_on_target": 100,
                }
                for seller in sellers
            ]
        )
        statements = self.Statement.create(
            [{"target_id": target.id} for target in targets]
        )
        compute = self.Statement._compute_statements
        compute(statements)
        counts = []
        for batch in (statements[:2], statements[2:]):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            # lock and clear, the KPIs to count, 7 KPI inserts, aggregate,
            # 2 updates, ORM reads, closed statements to adjust and clearing the
            # update marks
            with self.assertQueryCount(24):
                compute(batch)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[0], counts[1])
