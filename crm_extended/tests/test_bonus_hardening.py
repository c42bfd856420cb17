from datetime import date

from freezegun import freeze_time
from psycopg2 import errors

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import _as_validation_error
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CrmExtendedCase
from .test_bonus_accounting import BonusAccountingCase
from .test_bonus_estimate import BonusEstimateCase


class BonusRolesCase(BonusAccountingCase):
    """The bonus accounting world with every role in its company: a salesperson
    (Ann), a telesales agent, a regional manager, a sales manager who is no bonus
    manager, an accountant, a portal user, a bonus manager, and a bonus manager
    who is also an accountant. Ann has a confirmed order in February 2025, so a
    computation of her statement writes source lines."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_b
        cls.telesales = cls._user(
            "telesales_agent", "crmx_bh_tele", "Tom Telesales", company=company
        )
        cls.regional = cls._user(
            "regional_manager", "crmx_bh_regional", "Rita Regional", company=company
        )
        cls.portal = cls._user(
            "portal", "crmx_bh_portal", "Pat Portal", company=company
        )
        cls.bonus_accountant = cls._user(
            "bonus_manager,accountant",
            "crmx_bh_bonus_acc",
            "Bea Books",
            company=company,
        )
        product = (
            cls.env["product.product"]
            .with_company(cls.company_b)
            .create({"name": "Hardened Widget", "list_price": 100, "taxes_id": False})
        )
        order = (
            cls.env["sale.order"]
            .with_company(cls.company_b)
            .create(
                {
                    "partner_id": cls._customer("Hardened Customer").id,
                    "user_id": cls.ann.id,
                    "company_id": cls.company_b.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "product_uom_qty": 3,
                                "tax_id": False,
                            }
                        )
                    ],
                }
            )
        )
        with freeze_time("2025-02-10 10:00"):
            order.action_confirm()
        # Who may do nothing to bonus statements but read some
        cls.no_bonus_roles = {
            "salesperson": cls.ann,
            "telesales agent": cls.telesales,
            "regional manager": cls.regional,
            "sales manager": cls.sales_manager_b,
            "accountant": cls.accountant,
            "portal": cls.portal,
        }

    def _statement(self, user, state):
        """A February 2025 statement of ``user`` in ``state``, computed."""
        statement = self._approved_statement(user, 500)
        statement.state = "draft"
        self.Statement._compute_statements(statement)
        if state in ("posted", "paid"):
            statement.state = "approved"
            statement.action_post()
        else:
            statement.state = state
        return statement

    def _own_statements(self, state):
        """{role: the statement the role tries}: its own for the roles who have
        bonuses (the statements they can read), Ann's for the others."""
        statements = {}
        for role, user in self.no_bonus_roles.items():
            if user.has_group("sales_team.group_sale_salesman"):
                statements[role] = self._statement(user, state)
            else:
                statements[role] = statements.get("salesperson") or self._statement(
                    self.ann, state
                )
        return statements

    def _snapshot(self, statements):
        """The statements' rows and source lines as the database holds them."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT s.id, s.state, s.amount_payout, s.write_uid, s.move_id,
                   s.date_approved,
                   ARRAY(SELECT l.id FROM crm_bonus_statement_line l
                          WHERE l.statement_id = s.id ORDER BY l.id),
                   ARRAY(SELECT k.write_uid FROM crm_bonus_statement_kpi k
                          WHERE k.statement_id = s.id ORDER BY k.id)
              FROM crm_bonus_statement s
             WHERE s.id = ANY(%s)
             ORDER BY s.id
            """,
            [statements.ids],
        )
        return self.env.cr.fetchall()

    def assertAccessErrorUntouched(self, records, method, *args, snapshot=None):
        """``records.method(*args)`` is refused with an AccessError and has changed
        nothing before the refusal. No savepoint rolls it back (as Odoo's
        assertRaises does): what ran before the check would show."""
        snapshot = snapshot or self._snapshot
        before = snapshot(records)
        refused = False
        try:
            getattr(records, method)(*args)
        except AccessError:
            refused = True
        self.assertTrue(refused, f"{records.env.user.name} may {method} {records}")
        self.env.invalidate_all()
        self.assertEqual(snapshot(records), before)

    def assertRefusedUntouched(self, statements_by_role, method, *args):
        """Each role's call of ``method`` on its statement is refused before
        anything is done."""
        for role, statement in statements_by_role.items():
            user = self.no_bonus_roles.get(role) or self.bonus_manager
            with self.subTest(role=role, method=method):
                self.assertAccessErrorUntouched(
                    statement.with_user(user), method, *args
                )


@tagged("post_install", "-at_install")
class TestBonusStatementRights(BonusRolesCase):
    def test_compute_only_by_bonus_managers(self):
        statements = self._own_statements("draft")
        self.assertRefusedUntouched(statements, "action_compute")
        statement = statements["salesperson"]
        statement.with_user(self.bonus_manager).action_compute()
        self.assertTrue(statement.line_ids)
        self.assertEqual(statement.write_uid, self.bonus_manager)

    def test_submit_only_by_bonus_managers(self):
        statements = self._own_statements("draft")
        self.assertRefusedUntouched(statements, "action_submit")
        statement = statements["salesperson"]
        statement.with_user(self.bonus_manager).action_submit()
        self.assertEqual(statement.state, "to_approve")

    def test_approve_only_by_bonus_managers(self):
        statements = self._own_statements("to_approve")
        self.assertRefusedUntouched(statements, "action_approve")
        statement = statements["salesperson"]
        statement.with_user(self.bonus_manager).action_approve()
        self.assertEqual(statement.state, "approved")
        self.assertEqual(statement.approved_by_id, self.bonus_manager)

    def test_reset_draft_only_by_bonus_managers(self):
        statements = self._own_statements("to_approve")
        self.assertRefusedUntouched(statements, "action_reset_draft")
        statement = statements["salesperson"]
        statement.with_user(self.bonus_manager).action_reset_draft()
        self.assertEqual(statement.state, "draft")

    def test_cancel_draft_only_by_bonus_managers(self):
        statements = self._own_statements("draft")
        self.assertRefusedUntouched(statements, "action_cancel")
        statement = statements["salesperson"]
        statement.with_user(self.bonus_manager).action_cancel()
        self.assertEqual(statement.state, "cancelled")

    def test_cancel_approved_only_by_bonus_managers(self):
        statements = self._own_statements("approved")
        self.assertRefusedUntouched(statements, "action_cancel")
        statement = statements["salesperson"]
        statement.with_user(self.bonus_manager).action_cancel()
        self.assertEqual(statement.state, "cancelled")

    def test_post_only_by_accountants(self):
        """Segregation of duties: the bonus manager approves, an accountant posts;
        a bonus manager who is also an accountant may post."""
        self._configure_company()
        statements = self._own_statements("approved")
        statements.pop("accountant")
        statements["bonus manager"] = statements["salesperson"]
        with self.assertRaisesRegex(AccessError, "Only accountants"):
            statements["salesperson"].with_user(self.bonus_manager).action_post()
        self.assertRefusedUntouched(statements, "action_post")
        statement = statements["salesperson"]
        statement.with_user(self.accountant).action_post()
        self.assertEqual(statement.state, "posted")
        self.assertEqual(statement.move_id.state, "posted")
        self.assertEqual(statement.move_id.create_uid, self.accountant)
        other = statements["telesales agent"]
        other.with_user(self.bonus_accountant).action_post()
        self.assertEqual(other.state, "posted")

    def test_reverse_only_by_accountants(self):
        self._configure_company()
        statements = self._own_statements("posted")
        statements.pop("accountant")
        statements["bonus manager"] = statements["salesperson"]
        self.assertRefusedUntouched(statements, "action_cancel")
        statement = statements["salesperson"]
        move = statement.move_id
        statement.with_user(self.accountant).action_cancel()
        self.assertEqual(statement.state, "cancelled")
        self.assertEqual(move.reversal_move_ids.state, "posted")
        other = statements["telesales agent"]
        other.with_user(self.bonus_accountant).action_cancel()
        self.assertEqual(other.state, "cancelled")

    def test_mixed_cancel_needs_both_rights(self):
        """Cancelling a posted and an approved statement at once takes an
        accountant and a bonus manager: either alone is refused before the
        reversal."""
        self._configure_company()
        posted = self._statement(self.ann, "posted")
        approved = self._statement(self.telesales, "approved")
        both = posted | approved
        for user in (self.accountant, self.bonus_manager):
            with self.subTest(user=user.name):
                self.assertAccessErrorUntouched(both.with_user(user), "action_cancel")
                self.assertFalse(posted.move_id.reversal_move_ids)
        both.with_user(self.bonus_accountant).action_cancel()
        self.assertEqual(both.mapped("state"), ["cancelled", "cancelled"])

    def test_protected_fields(self):
        """A bonus manager changes a statement through its actions only: no state,
        payout, approval or entry written directly, no figures or sources of their
        own making."""
        statement = self._statement(self.ann, "to_approve")
        as_manager = statement.with_user(self.bonus_manager)
        for vals in (
            {"state": "approved"},
            {"state": "posted"},
            {"amount_payout": 1e6},
            {"payout_factor": 500},
            {"approved_by_id": self.ann.id},
            {"to_recompute": False},
        ):
            with self.subTest(vals=vals), self.assertRefused(AccessError, "directly"):
                as_manager.write(vals)
        target = self.env["crm.bonus.target"].create(
            {
                "plan_id": self.plan.id,
                "user_id": self.bob.id,
                "date_from": date(2025, 3, 1),
                "amount_on_target": 700,
            }
        )
        with self.assertRefused(AccessError, "directly"):
            self.Statement.with_user(self.bonus_manager).create(
                {"target_id": target.id, "state": "approved", "amount_payout": 1e6}
            )
        with self.assertRefused(AccessError, ""):
            as_manager.kpi_ids[:1].write({"achieved": 1e6})
        with self.assertRefused(AccessError, ""):
            self.env["crm.bonus.statement.line"].with_user(self.bonus_manager).create(
                {
                    "statement_id": statement.id,
                    "statement_kpi_id": statement.kpi_ids[0].id,
                    "kpi_type": statement.kpi_ids[0].kpi_type,
                    "company_id": self.company_b.id,
                    "user_id": self.ann.id,
                    "amount": 1e6,
                    "is_adjustment": True,
                }
            )
        with self.assertRefused(AccessError, ""):
            as_manager.line_ids[:1].unlink()
        self.assertEqual(statement.state, "to_approve")
        # a statement made by a bonus manager gets its figures all the same
        made = self.Statement.with_user(self.bonus_manager).create(
            {"target_id": target.id}
        )
        self.assertEqual(made.amount_on_target, 700)
        self.assertEqual(len(made.kpi_ids), 2)


@tagged("post_install", "-at_install")
class TestBonusPlanTargetRights(BonusRolesCase):
    def _snapshot_plans(self, records=None):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id, state, date_end, replaced_by_id, replaces_id, write_uid
              FROM crm_bonus_plan WHERE company_id = %s ORDER BY id
            """,
            [self.company_b.id],
        )
        return self.env.cr.fetchall()

    def _snapshot_targets(self, records=None):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT t.id, (SELECT array_agg(s.id ORDER BY s.id)
                            FROM crm_bonus_statement s WHERE s.target_id = t.id)
              FROM crm_bonus_target t WHERE t.company_id = %s ORDER BY t.id
            """,
            [self.company_b.id],
        )
        return self.env.cr.fetchall()

    def _assert_refused(self, records, method, snapshot, *args):
        for role, user in self.no_bonus_roles.items():
            with self.subTest(role=role, method=method):
                self.assertAccessErrorUntouched(
                    records.with_user(user), method, *args, snapshot=snapshot
                )

    def _draft_plan(self, **vals):
        return self.env["crm.bonus.plan"].create(
            {
                "name": "Draft Plan",
                "company_id": self.company_b.id,
                "date_start": date(2025, 1, 1),
                "kpi_ids": [
                    Command.create({"kpi_type": "confirmed_sales", "weight": 100})
                ],
                "level_ids": [
                    Command.create({"attainment": 100, "payout_factor": 100}),
                ],
                **vals,
            }
        )

    def test_plan_actions_only_by_bonus_managers(self):
        draft = self._draft_plan()
        self._assert_refused(draft, "action_approve", self._snapshot_plans)
        self._assert_refused(
            self.plan, "action_replace", self._snapshot_plans, date(2025, 6, 1)
        )
        with freeze_time("2025-05-10"):
            self._assert_refused(self.plan, "action_open_replace", self._snapshot_plans)
        draft.with_user(self.bonus_manager).action_approve()
        self.assertEqual(draft.state, "approved")
        new = self.plan.with_user(self.bonus_manager).action_replace("2025-06-01")
        self.assertEqual(new.replaces_id, self.plan)
        self.assertEqual(self.plan.replaced_by_id, new)
        self.assertEqual(self.plan.date_end, date(2025, 5, 31))

    def test_plan_protected_fields(self):
        """A draft plan is approved through its checks only: weights that do not
        sum to 100 are not approved by writing the state."""
        draft = self._draft_plan()
        draft.kpi_ids.weight = 50
        as_manager = draft.with_user(self.bonus_manager)
        for vals in (
            {"state": "approved"},
            {"approved_by_id": self.ann.id},
            {"replaced_by_id": self.plan.id},
        ):
            with self.subTest(vals=vals), self.assertRefused(AccessError, "directly"):
                as_manager.write(vals)
        with self.assertRefused(ValidationError, "sum to 50"):
            as_manager.action_approve()
        self.assertEqual(draft.state, "draft")

    def test_target_actions_only_by_bonus_managers(self):
        fresh = self.env["crm.bonus.target"].create(
            {
                "plan_id": self.plan.id,
                "user_id": self.ann.id,
                "date_from": date(2025, 3, 1),
            }
        )
        self._assert_refused(fresh, "action_generate_next", self._snapshot_targets)
        self._assert_refused(fresh, "action_create_statements", self._snapshot_targets)
        fresh.with_user(self.bonus_manager).action_create_statements()
        self.assertEqual(self.Statement.search_count([("target_id", "=", fresh.id)]), 1)
        action = fresh.with_user(self.bonus_manager).action_generate_next()
        self.assertEqual(
            self.env["crm.bonus.target"].search(action["domain"]).date_from,
            date(2025, 4, 1),
        )


@tagged("post_install", "-at_install")
class TestBonusBadInput(BonusRolesCase):
    def _plan_vals(self, levels, **vals):
        return {
            "name": "Bad Plan",
            "company_id": self.company_b.id,
            "date_start": date(2025, 1, 1),
            "kpi_ids": [Command.create({"kpi_type": "confirmed_sales", "weight": 100})],
            "level_ids": [
                Command.create({"sequence": i, "attainment": att, "payout_factor": pay})
                for i, (att, pay) in enumerate(levels)
            ],
            **vals,
        }

    def test_replace_with_a_bad_date(self):
        as_manager = self.plan.with_user(self.bonus_manager)
        for value in ("not-a-date", "2025-13-45", False, 42, ["2025-06-01"]):
            with (
                self.subTest(value=value),
                self.assertRefused(UserError, "is not a date"),
            ):
                as_manager.action_replace(value)
        self.assertFalse(self.plan.replaced_by_id)
        self.assertFalse(self.plan.date_end)

    def test_cap_below_payout_at_target(self):
        Plan = self.env["crm.bonus.plan"].with_user(self.bonus_manager)
        count = Plan.search_count([])
        with self.assertRefused(
            ValidationError,
            r"cap of the bonus plan Bad Plan, 500\.00 %, is below its payout at "
            r"100 % attainment, 800\.00 %",
        ):
            Plan.create(self._plan_vals([(50, 100), (100, 800)], cap=500))
        # between levels: the curve at 100 % (50 → 20, 150 → 220: 120)
        with self.assertRefused(ValidationError, r"120\.00 %"):
            Plan.create(self._plan_vals([(50, 20), (150, 220)], cap=110))
        self.assertEqual(Plan.search_count([]), count)
        plan = Plan.create(self._plan_vals([(100, 100), (150, 200)], cap=150))
        # a later change of the cap or of one level alone
        with self.assertRefused(ValidationError, r"80\.00 %, is below"):
            plan.cap = 80
        with self.assertRefused(ValidationError, r"is below its payout"):
            plan.level_ids[0].payout_factor = 160
        self.assertEqual(plan.cap, 150)
        self.assertEqual(plan.level_ids[0].payout_factor, 100)

    def test_threshold_above_every_level(self):
        Plan = self.env["crm.bonus.plan"].with_user(self.bonus_manager)
        count = Plan.search_count([])
        with self.assertRefused(
            ValidationError,
            r"threshold of the bonus plan Bad Plan, 180\.00 %, is above its highest "
            r"payout level, 150\.00 %",
        ):
            Plan.create(self._plan_vals([(100, 100), (150, 200)], threshold=180))
        self.assertEqual(Plan.search_count([]), count)
        plan = Plan.create(self._plan_vals([(100, 100), (150, 200)], threshold=150))
        with self.assertRefused(ValidationError, "above its highest payout level"):
            plan.level_ids[1].attainment = 120
        self.assertEqual(plan.level_ids[1].attainment, 150)

    def test_target_salesperson_is_internal(self):
        Target = self.env["crm.bonus.target"].with_user(self.bonus_manager)
        other_company = self.env["res.company"].create({"name": "Other Bonus Co"})
        stranger = self._user("salesperson", "crmx_bh_stranger", company=other_company)
        count = Target.search_count([])
        with self.assertRefused(ValidationError, "Pat Portal is a portal user"):
            Target.create(
                {
                    "plan_id": self.plan.id,
                    "user_id": self.portal.id,
                    "date_from": date(2025, 3, 1),
                }
            )
        with self.assertRefused(ValidationError, "does not work for"):
            Target.create(
                {
                    "plan_id": self.plan.id,
                    "user_id": stranger.id,
                    "date_from": date(2025, 3, 1),
                }
            )
        target = Target.create(
            {"plan_id": self.plan.id, "user_id": self.ann.id, "date_from": "2025-03-01"}
        )
        with self.assertRefused(ValidationError, "is a portal user"):
            target.user_id = self.portal
        self.assertEqual(Target.search_count([]), count + 1)
        self.assertEqual(target.user_id, self.ann)

    def test_target_of_an_approved_statement_is_fixed(self):
        """An approved statement is never moved to another salesperson, plan or
        period through its target."""
        statement = self._approved_statement(self.ann, 500)
        as_manager = statement.target_id.with_user(self.bonus_manager)
        for vals in (
            {"user_id": self.bob.id},
            {"date_from": date(2025, 3, 1)},
            {"plan_id": self._bonus_plan(self.company_b.currency_id).id},
        ):
            with (
                self.subTest(vals=vals),
                self.assertRefused(UserError, "is Approved: the salesperson"),
            ):
                as_manager.write(vals)
        self.assertEqual(
            (statement.user_id, statement.date_from), (self.ann, date(2025, 2, 1))
        )
        # its on-target bonus may change: the approved payout does not
        as_manager.amount_on_target = 2000
        self.assertEqual(statement.amount_payout, 500)
        # an open statement follows its target
        statement.state = "draft"
        as_manager.user_id = self.bob
        self.assertEqual(statement.user_id, self.bob)


@tagged("post_install", "-at_install")
@freeze_time("2025-02-15 12:00")
class TestBonusEstimateCompanies(BonusEstimateCase):
    """Ann's February statement (payout 260) is in the estimate company; a second
    company knows nothing of it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_2 = cls.env["res.company"].create({"name": "Estimate Co 2"})
        cls.ann.company_ids |= cls.company_2
        cls.bonus_manager_2 = cls._user(
            "bonus_manager", "crmx_bh_bonus_2", company=cls.company_2
        )

    def test_estimate_in_current_companies_only(self):
        def estimate(user, companies):
            env = self.env(user=user, context={"allowed_company_ids": companies.ids})
            return env["res.users"].browse(self.ann.id).bonus_estimate

        self.assertEqual(estimate(self.ann, self.company_e), 260)
        self.assertEqual(estimate(self.ann, self.company_2 | self.company_e), 260)
        # working in the other company, her estimate is not there
        self.assertEqual(estimate(self.ann, self.company_2), 0)
        # the other company's bonus manager does not see it
        self.assertEqual(estimate(self.bonus_manager_2, self.company_2), 0)
        self.assertEqual(estimate(self.bonus_manager, self.company_e), 260)


@tagged("post_install", "-at_install")
class TestBonusStatementConcurrency(CrmExtendedCase):
    """Two transactions: the data is committed by a cursor of its own (the test's
    transaction is invisible to others) and removed at the end."""

    def test_one_statement_per_target_under_concurrency(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = self.env(cr=cr)
            user = env.ref("base.user_admin")
            plan = env["crm.bonus.plan"].create(
                {
                    "name": "Race plan",
                    "company_id": user.company_id.id,
                    "currency_id": user.company_id.currency_id.id,
                    "date_start": date(2098, 1, 1),
                }
            )
            target = env["crm.bonus.target"].create(
                {"plan_id": plan.id, "user_id": user.id, "date_from": "2098-01-01"}
            )
            ids = (plan.id, target.id)
        try:
            with registry.cursor() as cr_a, registry.cursor() as cr_b:
                Statement_a = self.env(cr=cr_a)["crm.bonus.statement"]
                Statement_b = self.env(cr=cr_b)["crm.bonus.statement"]
                # Both requests have looked: neither sees a statement yet
                domain = [("target_id", "=", ids[1])]
                self.assertFalse(Statement_a.search(domain))
                self.assertFalse(Statement_b.search(domain))
                Statement_a.create({"target_id": ids[1]})
                cr_a.commit()
                # B passes the check in Python (its snapshot predates A's
                # statement); the database refuses the second statement
                with (
                    self.assertRaises(errors.UniqueViolation) as caught,
                    mute_logger("odoo.sql_db"),
                ):
                    Statement_b.create({"target_id": ids[1]})
                    Statement_b.env.flush_all()
                cr_b.rollback()
                # as a request, the user reads why
                error = _as_validation_error(Statement_b.env, caught.exception)
                self.assertIn("one bonus statement", error.args[0])
            with registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM crm_bonus_statement WHERE target_id = %s",
                    [ids[1]],
                )
                self.assertEqual(cr.fetchone()[0], 1)
        finally:
            with registry.cursor() as cr:
                cr.execute(
                    "DELETE FROM mail_message WHERE model = 'crm.bonus.statement' "
                    "AND res_id IN (SELECT id FROM crm_bonus_statement "
                    "WHERE target_id = %s);"
                    "DELETE FROM mail_message WHERE model IN "
                    "('crm.bonus.plan', 'crm.bonus.target') AND res_id IN (%s, %s);"
                    "DELETE FROM crm_bonus_statement WHERE target_id = %s;"
                    "DELETE FROM crm_bonus_target WHERE id = %s;"
                    "DELETE FROM crm_bonus_plan WHERE id = %s",
                    [ids[1], ids[0], ids[1], ids[1], ids[1], ids[0]],
                )

    def test_clear_message_in_one_transaction(self):
        user = self.env.ref("base.user_admin")
        plan = self.env["crm.bonus.plan"].create(
            {"name": "One plan", "date_start": date(2098, 1, 1)}
        )
        target = self.env["crm.bonus.target"].create(
            {"plan_id": plan.id, "user_id": user.id, "date_from": "2098-01-01"}
        )
        Statement = self.env["crm.bonus.statement"]
        first = Statement.create({"target_id": target.id})
        with self.assertRefused(ValidationError, "already has a bonus statement"):
            Statement.create({"target_id": target.id})
        with self.assertRefused(ValidationError, "already has a bonus statement"):
            Statement.create([{"target_id": target.id}] * 2)
        first.action_cancel()
        second = Statement.create({"target_id": target.id})
        # the cancelled one is not reopened while the second stands
        with self.assertRefused(ValidationError, "already has a bonus statement"):
            first.action_reset_draft()
        self.assertEqual(first.state, "cancelled")
        self.assertEqual(second.state, "draft")
