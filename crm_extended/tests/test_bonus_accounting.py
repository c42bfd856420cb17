from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CrmBonusCase, CrmExtendedCase


class BonusAccountingCase(CrmBonusCase):
    """A company of its own with a chart of accounts, bonus journal and accounts,
    a sales region with an analytic account, and approved February 2025 statements
    whose figures are set by hand (the KPIs are the core's tests' business)."""

    bonus_company_name = "Bonus Accounting Co"
    bonus_surname = "Accrual"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.bonus_company
        cls.sales_manager_b = cls.bonus_sales_manager
        Account = cls.env["account.account"].with_company(cls.company_b)
        cls.expense = Account.create(
            {"name": "Bonus Expense", "code": "649900", "account_type": "expense"}
        )
        cls.payable = Account.create(
            {
                "name": "Bonus Payable",
                "code": "429900",
                "account_type": "liability_current",
                "reconcile": True,
            }
        )
        cls.journal = cls.env["account.journal"].create(
            {
                "name": "Bonuses",
                "code": "BON",
                "type": "general",
                "company_id": cls.company_b.id,
            }
        )
        cls.bank_journal = cls.env["account.journal"].search(
            [("company_id", "=", cls.company_b.id), ("type", "=", "bank")], limit=1
        )
        analytic_plan = cls.env["account.analytic.plan"].create({"name": "Regions"})
        cls.analytic = cls.env["account.analytic.account"].create(
            {
                "name": "North Sales",
                "plan_id": analytic_plan.id,
                "company_id": cls.company_b.id,
            }
        )
        cls.region = cls.env["crm.sales.region"].create(
            {
                "name": "North",
                "code": "BAN",
                "company_id": cls.company_b.id,
                "analytic_account_id": cls.analytic.id,
            }
        )
        cls.sub_region = cls.env["crm.sales.region"].create(
            {
                "name": "North Coast",
                "code": "BANC",
                "company_id": cls.company_b.id,
                "parent_id": cls.region.id,
            }
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "North Office",
                "company_id": cls.company_b.id,
                "sales_region_id": cls.sub_region.id,
                "member_ids": [Command.link(cls.ann.id)],
            }
        )
        cls.plan = cls._bonus_plan(cls.company_b.currency_id)
        cls.Statement = cls.env["crm.bonus.statement"]

    @classmethod
    def _bonus_plan(cls, currency, **vals):
        plan = cls.env["crm.bonus.plan"].create(
            {
                "name": f"Plan {currency.name}",
                "company_id": cls.company_b.id,
                "currency_id": currency.id,
                "date_start": date(2025, 1, 1),
                "kpi_ids": [
                    Command.create({"kpi_type": "confirmed_sales", "weight": 60}),
                    Command.create({"kpi_type": "visits_done", "weight": 40}),
                ],
                "level_ids": [
                    Command.create({"attainment": 100, "payout_factor": 100}),
                ],
                **vals,
            }
        )
        plan.action_approve()
        return plan

    @classmethod
    def _configure_company(cls):
        cls.company_b.write(
            {
                "crm_bonus_journal_id": cls.journal.id,
                "crm_bonus_expense_account_id": cls.expense.id,
                "crm_bonus_payable_account_id": cls.payable.id,
            }
        )

    @classmethod
    def _approved_statement(cls, user, payout, plan=None, achieved=None):
        """An approved statement of February 2025 with the given payout and KPI
        figures ({kpi_type: (target, achieved)})."""
        achieved = achieved or {"confirmed_sales": (1000, 1200), "visits_done": (10, 8)}
        targets = {kpi_type: figures[0] for kpi_type, figures in achieved.items()}
        target = cls._bonus_target(plan or cls.plan, user, targets)
        statement = cls.env["crm.bonus.statement"].create({"target_id": target.id})
        total = 0.0
        for kpi in statement.kpi_ids:
            tgt, done = achieved.get(kpi.kpi_type, (0, 0))
            attainment = done / tgt * 100 if tgt else 0
            total += attainment * kpi.weight / 100
            kpi.write(
                {
                    "target": tgt,
                    "achieved": done,
                    "attainment": attainment,
                    "weighted_attainment": attainment * kpi.weight / 100,
                }
            )
        statement.write(
            {
                "attainment": total,
                "payout_factor": payout / 10,
                "amount_payout": payout,
                "state": "approved",
            }
        )
        return statement


@tagged("post_install", "-at_install")
class TestBonusAccounting(BonusAccountingCase):
    def _payable_line(self, statement):
        return statement.move_id.line_ids.filtered(
            lambda line: line.account_id == self.payable
        )

    def _pay(self, statement, amount, day=date(2025, 3, 10)):
        """A bank entry paying ``amount`` of the bonus, reconciled with the
        accrual's payable line."""
        bank_account = self.bank_journal.default_account_id
        payment = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": self.bank_journal.id,
                "date": day,
                "line_ids": [
                    Command.create(
                        {
                            "account_id": self.payable.id,
                            "partner_id": statement.user_id.partner_id.id,
                            "balance": amount,
                        }
                    ),
                    Command.create({"account_id": bank_account.id, "balance": -amount}),
                ],
            }
        )
        payment.action_post()
        line = payment.line_ids.filtered(lambda ln: ln.account_id == self.payable)
        (line | self._payable_line(statement)).reconcile()
        return payment

    def test_post_accrual(self):
        self._configure_company()
        statement = self._approved_statement(self.ann, 750)
        statement.with_user(self.accountant).action_post()
        self.assertEqual(statement.state, "posted")
        move = statement.move_id
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.move_type, "entry")
        self.assertEqual(move.journal_id, self.journal)
        self.assertEqual(move.ref, statement.name)
        self.assertEqual(move.date, date(2025, 2, 28))
        self.assertRecordValues(
            move.line_ids.sorted("balance"),
            [
                {
                    "account_id": self.payable.id,
                    "balance": -750,
                    "amount_currency": -750,
                    "partner_id": self.ann.partner_id.id,
                    "analytic_distribution": False,
                },
                {
                    "account_id": self.expense.id,
                    "balance": 750,
                    "amount_currency": 750,
                    "partner_id": self.ann.partner_id.id,
                    # Ann's office is in North Coast, whose parent North has one
                    "analytic_distribution": {str(self.analytic.id): 100},
                },
            ],
        )
        # a second click, by the accountant or as superuser, changes nothing (the
        # bonus manager approves, accountants post: test_bonus_hardening)
        statement.with_user(self.accountant).action_post()
        statement.action_post()
        self.assertEqual(statement.move_id, move)
        self.assertEqual(
            self.env["account.move"].search_count([("ref", "=", statement.name)]), 1
        )
        # the plan's own accounts win over the company's
        other_expense = self.expense.copy({"code": "649901"})
        plan = self._bonus_plan(
            self.company_b.currency_id, expense_account_id=other_expense.id
        )
        bob_statement = self._approved_statement(self.bob, 100, plan=plan)
        bob_statement.with_user(self.accountant).action_post()
        self.assertEqual(
            bob_statement.move_id.line_ids.filtered("debit").account_id, other_expense
        )
        # Bob has no sales region: no analytic distribution
        self.assertFalse(
            bob_statement.move_id.line_ids.filtered("debit").analytic_distribution
        )

    def test_post_in_plan_currency(self):
        self._configure_company()
        foreign = self.env["res.currency"].create(
            {"name": "BXC", "symbol": "¤", "rounding": 0.01}
        )
        self.env["res.currency.rate"].create(
            {
                "currency_id": foreign.id,
                "name": date(2025, 1, 1),
                "rate": 2.0,
                "company_id": self.company_b.id,
            }
        )
        plan = self._bonus_plan(foreign)
        statement = self._approved_statement(self.ann, 500, plan=plan)
        statement.action_post()
        expense_line = statement.move_id.line_ids.filtered("debit")
        self.assertEqual(expense_line.currency_id, foreign)
        self.assertEqual(expense_line.amount_currency, 500)
        # 500 at 2 BXC per unit of the company's currency
        self.assertEqual(expense_line.balance, 250)

    def test_post_refused(self):
        statement = self._approved_statement(self.ann, 750)
        moves_before = self.env["account.move"].search_count([])
        # nothing configured
        with self.assertRaisesRegex(
            UserError, "has no bonus journal, bonus expense account"
        ):
            statement.with_user(self.accountant).action_post()
        self.company_b.crm_bonus_journal_id = self.journal
        with self.assertRaisesRegex(UserError, "bonus expense account"):
            statement.action_post()
        self.assertEqual(statement.state, "approved")
        self.assertFalse(statement.move_id)
        self.assertEqual(self.env["account.move"].search_count([]), moves_before)
        # a payable account must be reconcilable
        with self.assertRaisesRegex(ValidationError, "reconciliation"):
            self.plan.payable_account_id = self.expense
        # only approved statements are posted
        self._configure_company()
        draft = self._approved_statement(self.bob, 100)
        draft.state = "draft"
        with self.assertRaisesRegex(UserError, "cannot be posted"):
            draft.action_post()
        # only accountants and bonus managers post
        with self.assertRaisesRegex(AccessError, "Only accountants"):
            statement.with_user(self.sales_manager_b).action_post()
        with self.assertRaisesRegex(AccessError, "Only accountants"):
            statement.with_user(self.ann).action_post()
        self.assertEqual(self.env["account.move"].search_count([]), moves_before)

    def test_zero_payout(self):
        statement = self._approved_statement(self.ann, 0)
        # no accounts needed: nothing is booked
        statement.with_user(self.accountant).action_post()
        self.assertEqual(statement.state, "posted")
        self.assertFalse(statement.move_id)
        self.assertIn("without an accrual entry", statement.message_ids[0].body)
        statement.with_user(self.accountant).action_cancel()
        self.assertEqual(statement.state, "cancelled")

    def test_cancel_reverses(self):
        self._configure_company()
        statement = self._approved_statement(self.ann, 750)
        statement.action_post()
        move = statement.move_id
        with freeze_time("2025-03-15"):
            statement.with_user(self.accountant).action_cancel()
        self.assertEqual(statement.state, "cancelled")
        reversal = move.reversal_move_ids
        self.assertEqual(len(reversal), 1)
        self.assertEqual(reversal.state, "posted")
        self.assertEqual(reversal.date, date(2025, 3, 15))
        self.assertEqual(reversal.line_ids.filtered("credit").account_id, self.expense)
        # the payable is settled by the reversal, which is no payment
        self.assertTrue(self._payable_line(statement).reconciled)
        self.assertEqual(statement.state, "cancelled")
        # the accountant cannot cancel an approved statement (bonus managers do)
        other = self._approved_statement(self.bob, 100)
        with self.assertRaises(AccessError):
            other.with_user(self.accountant).action_cancel()

    def test_paid_when_reconciled(self):
        self._configure_company()
        statement = self._approved_statement(self.ann, 750)
        statement.action_post()
        payment = self._pay(statement, 300)
        self.assertEqual(statement.state, "posted")
        self.assertFalse(statement.is_paid)
        # partly paid: cannot be cancelled either
        with self.assertRaisesRegex(UserError, "is paid"):
            statement.action_cancel()
        self._pay(statement, 450)
        self.assertTrue(statement.is_paid)
        self.assertEqual(statement.state, "paid")
        with self.assertRaisesRegex(UserError, "is paid"):
            statement.with_user(self.accountant).action_cancel()
        self.assertEqual(statement.state, "paid")
        # unreconciling a payment makes it posted again
        payment.line_ids.remove_move_reconcile()
        self.assertEqual(statement.state, "posted")

    def test_accountant_access(self):
        self._configure_company()
        statement = self._approved_statement(self.ann, 750)
        as_accountant = statement.with_user(self.accountant)
        self.assertEqual(
            self.Statement.with_user(self.accountant).search(
                [("state", "=", "approved")]
            ),
            statement,
        )
        with self.assertRaises(AccessError):
            as_accountant.write({"state": "draft"})
        with self.assertRaises(UserError):
            as_accountant.kpi_ids.write({"achieved": 1})
        with self.assertRaises(AccessError):
            as_accountant.action_approve()
        as_accountant.action_post()
        self.assertEqual(statement.state, "posted")
        self.assertEqual(statement.amount_payout, 750)
        menu = self.env.ref("crm_extended.crm_bonus_statement_menu_to_post")
        self.assertIn(self.env.ref("account.group_account_invoice"), menu.groups_id)


@tagged("post_install", "-at_install")
class TestBonusAccountingConcurrency(CrmExtendedCase):
    """Two transactions: the data is committed by a cursor of its own (the test's
    transaction is invisible to others) and removed at the end."""

    def test_locked_statement_is_not_posted_twice(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = self.env(cr=cr, su=True)
            user = env.ref("base.user_admin")
            plan = env["crm.bonus.plan"].create(
                {
                    "name": "Lock plan",
                    "company_id": user.company_id.id,
                    "currency_id": user.company_id.currency_id.id,
                    "date_start": date(2099, 1, 1),
                }
            )
            target = env["crm.bonus.target"].create(
                {
                    "plan_id": plan.id,
                    "user_id": user.id,
                    "date_from": date(2099, 1, 1),
                    "amount_on_target": 100,
                }
            )
            statement = env["crm.bonus.statement"].create({"target_id": target.id})
            statement.write({"amount_payout": 100})
            statement.write({"state": "approved"})
            ids = (plan.id, target.id, statement.id)
        try:
            with registry.cursor() as worker:
                with registry.cursor() as holder:
                    # another worker is posting the statement: it holds the row
                    holder.execute(
                        "SELECT id FROM crm_bonus_statement WHERE id = %s FOR UPDATE",
                        [ids[2]],
                    )
                    env = self.env(cr=worker, su=True)
                    statement = env["crm.bonus.statement"].browse(ids[2])
                    with self.assertRaisesRegex(UserError, "right now"):
                        statement.action_post()
                    self.assertEqual(statement.state, "approved")
                    self.assertFalse(statement.move_id)
                    worker.rollback()
                    # the other worker posts it (here: only the state) and commits
                    # when its cursor closes
                    holder.execute(
                        "UPDATE crm_bonus_statement SET state = 'posted' WHERE id = %s",
                        [ids[2]],
                    )
                # the retry finds it posted and adds nothing
                env = self.env(cr=worker, su=True)
                statement = env["crm.bonus.statement"].browse(ids[2])
                statement.action_post()
                self.assertEqual(statement.state, "posted")
                self.assertFalse(
                    env["account.move"].search_count([("ref", "=", statement.name)])
                )
                worker.rollback()
        finally:
            with registry.cursor() as cr:
                cr.execute(
                    "DELETE FROM mail_message WHERE model = 'crm.bonus.statement' "
                    "AND res_id = %s;"
                    "DELETE FROM mail_message WHERE model = 'crm.bonus.plan' "
                    "AND res_id = %s;"
                    "DELETE FROM crm_bonus_statement WHERE id = %s;"
                    "DELETE FROM crm_bonus_target WHERE id = %s;"
                    "DELETE FROM crm_bonus_plan WHERE id = %s",
                    [ids[2], ids[0], ids[2], ids[1], ids[0]],
                )
