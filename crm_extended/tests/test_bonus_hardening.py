from datetime import date

from psycopg2 import errors

from odoo.exceptions import ValidationError
from odoo.service.model import _as_validation_error
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CrmExtendedCase


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
