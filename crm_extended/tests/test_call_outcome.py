from psycopg2 import IntegrityError

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
class TestCallOutcome(CrmExtendedCase):
    def test_seeded_outcomes(self):
        Outcome = self.env["crm.call.outcome"]
        actions = set(Outcome.search([]).mapped("action"))
        self.assertLessEqual(
            {
                "interested",
                "callback",
                "retry",
                "wrong_number",
                "do_not_call",
                "order_taken",
            },
            actions,
        )
        no_answer = self.env.ref("crm_extended.crm_call_outcome_no_answer")
        self.assertEqual(no_answer.action, "retry")
        self.assertFalse(no_answer.is_reached)
        self.assertTrue(
            self.env.ref("crm_extended.crm_call_outcome_interested").is_reached
        )

    @mute_logger("odoo.sql_db")
    def test_code_unique_per_company(self):
        Outcome = self.env["crm.call.outcome"]
        with self.assertRefused(IntegrityError, "code_company_uniq"):
            Outcome.create({"name": "Again", "code": "BUSY", "action": "retry"})
        # Another company may use the code for its own outcome.
        company = self.env["res.company"].create({"name": "Other Co"})
        own = Outcome.create(
            {
                "name": "Busy",
                "code": "BUSY",
                "action": "retry",
                "company_id": company.id,
            }
        )
        self.assertEqual(own.company_id, company)
        with self.assertRefused(IntegrityError, "code_company_uniq"):
            Outcome.create(
                {
                    "name": "Busy 2",
                    "code": "BUSY",
                    "action": "retry",
                    "company_id": company.id,
                }
            )

    def test_agent_and_partner_fields(self):
        region = self._region("North", "QX-N")
        self.salesman.write(
            {"call_capacity": 80, "call_region_ids": [(6, 0, region.ids)]}
        )
        self.assertEqual(self.salesman.call_capacity, 80)
        self.assertEqual(self.salesman.call_region_ids, region)
        self.assertEqual(self.salesman_2.call_capacity, 60)
        customer = self._customer("Quiet Corp")
        self.assertFalse(customer.call_do_not_call)
        customer.call_do_not_call = True
        self.assertTrue(customer.call_do_not_call)
