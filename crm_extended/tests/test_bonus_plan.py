from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CrmExtendedCase


class BonusCase(CrmExtendedCase):
    """A company of its own with a bonus manager and an approved monthly plan."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Bonus Co"})
        cls.bonus_manager = cls._user(
            "bonus_manager", "crmx_bonus_manager", "Bea Bonus", company=cls.company_b
        )
        cls.Plan = cls.env["crm.bonus.plan"].with_company(cls.company_b)

    @classmethod
    def _plan(cls, kpis=None, levels=None, **vals):
        kpis = kpis or [("confirmed_sales", 60), ("visits_done", 40)]
        levels = levels or [(50, 25), (100, 100), (150, 200)]
        return cls.Plan.create(
            {
                "name": "Field Sales",
                "company_id": cls.company_b.id,
                "currency_id": cls.company_b.currency_id.id,
                "period_type": "month",
                "date_start": date(2025, 1, 1),
                "threshold": 50,
                "cap": 180,
                "kpi_ids": [
                    Command.create({"kpi_type": kpi_type, "weight": weight})
                    for kpi_type, weight in kpis
                ],
                "level_ids": [
                    Command.create(
                        {"sequence": i, "attainment": att, "payout_factor": pay}
                    )
                    for i, (att, pay) in enumerate(levels)
                ],
                **vals,
            }
        )


@tagged("post_install", "-at_install")
class TestBonusPlan(BonusCase):
    def test_payout_curve(self):
        plan = self._plan()
        factor = plan._payout_factor
        # below the threshold nothing, at and between levels linear
        self.assertEqual(factor(0), 0)
        self.assertEqual(factor(49.99), 0)
        self.assertEqual(factor(50), 25)
        self.assertEqual(factor(75), 62.5)
        self.assertEqual(factor(100), 100)
        self.assertEqual(factor(125), 150)
        # accelerator above 100 %, then the cap
        self.assertEqual(factor(140), 180)
        self.assertEqual(factor(150), 180)
        self.assertEqual(factor(300), 180)

    def test_payout_curve_no_threshold(self):
        plan = self._plan(levels=[(100, 100)], threshold=0, cap=120)
        self.assertEqual(plan._payout_factor(40), 40)
        self.assertEqual(plan._payout_factor(110), 110)
        self.assertEqual(plan._payout_factor(130), 120)

    def test_bad_input(self):
        Plan = self.Plan
        count = Plan.search_count([])
        with self.assertRefused(ValidationError, "sum to 90"):
            self._plan(kpis=[("confirmed_sales", 60), ("visits_done", 30)])
        with self.assertRefused(ValidationError, "out of order"):
            self._plan(levels=[(100, 100), (50, 25)])
        with self.assertRefused(ValidationError, "out of order"):
            self._plan(levels=[(50, 25), (50, 60)])
        with self.assertRefused(ValidationError, "needs a currency"):
            self._plan(currency_id=False)
        with self.assertRefused(ValidationError, "Product filters"):
            product = self.env["product.product"].create({"name": "Widget"})
            self._plan(
                kpis=[("confirmed_sales", 50), ("visits_done", 50)],
            ).kpi_ids[1].product_ids = product
        with self.assertRefused(ValidationError, "ends before it starts"):
            self._plan(date_end=date(2024, 12, 31))
        self.assertEqual(Plan.search_count([]), count)
        self.assertFalse(self.env["crm.bonus.plan.kpi"].search([("weight", "=", 30)]))

    def test_approved_plan_is_immutable(self):
        plan = self._plan()
        with self.assertRefused(AccessError, "Only bonus managers"):
            plan.with_user(self.sales_manager).action_approve()
        plan.with_user(self.bonus_manager).action_approve()
        self.assertEqual(plan.state, "approved")
        with self.assertRefused(UserError, "is approved and cannot be changed"):
            plan.cap = 300
        with self.assertRefused(UserError, "is approved and cannot be changed"):
            plan.kpi_ids[0].weight = 50
        with self.assertRefused(UserError, "is approved and cannot be changed"):
            plan.level_ids[0].unlink()
        with self.assertRefused(UserError, "is approved and cannot be changed"):
            plan.write({"level_ids": [Command.create({"attainment": 200})]})
        with self.assertRefused(UserError, "cannot be deleted"):
            plan.unlink()
        self.assertEqual(plan.cap, 180)
        self.assertEqual(len(plan.level_ids), 3)

    def test_replace(self):
        plan = self._plan()
        with self.assertRefused(UserError, "still a draft"):
            plan.action_replace(date(2025, 4, 1))
        plan.action_approve()
        with self.assertRefused(UserError, "replaced from a day after its start"):
            plan.action_replace(date(2025, 1, 1))
        new_plan = plan.with_user(self.bonus_manager).action_replace(date(2025, 4, 1))
        self.assertEqual(plan.date_end, date(2025, 3, 31))
        self.assertEqual(plan.replaced_by_id, new_plan)
        self.assertEqual(new_plan.state, "draft")
        self.assertEqual(new_plan.date_start, date(2025, 4, 1))
        self.assertFalse(new_plan.date_end)
        self.assertEqual(new_plan.replaces_id, plan)
        self.assertEqual(
            new_plan.kpi_ids.mapped("weight"), plan.kpi_ids.mapped("weight")
        )
        self.assertEqual(len(new_plan.level_ids), 3)
        new_plan.cap = 250
        self.assertEqual(plan.cap, 180)
        with self.assertRefused(UserError, "already replaced"):
            plan.action_replace(date(2025, 5, 1))

    @freeze_time("2025-02-10")
    def test_replace_from_next_period(self):
        plan = self._plan()
        plan.action_approve()
        action = plan.action_open_replace()
        new_plan = self.Plan.browse(action["res_id"])
        self.assertEqual(new_plan.date_start, date(2025, 3, 1))
        self.assertEqual(plan.date_end, date(2025, 2, 28))

    def test_access(self):
        plan = self._plan()
        with self.assertRefused(AccessError, ""):
            plan.with_user(self.salesman).write({"cap": 10})
        with self.assertRefused(AccessError, ""):
            self.Plan.with_user(self.sales_manager).create({"name": "X"})
        # a user of another company does not see it
        self.assertFalse(
            self.env["crm.bonus.plan"]
            .with_user(self.sales_manager)
            .search([("id", "=", plan.id)])
        )


@tagged("post_install", "-at_install")
class TestBonusTarget(BonusCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = cls._plan()
        cls.plan.action_approve()
        cls.seller_a = cls._user(
            "salesperson", "crmx_bt_a", "Ann Target", company=cls.company_b
        )
        cls.seller_b = cls._user(
            "salesperson", "crmx_bt_b", "Bob Target", company=cls.company_b
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Target Office",
                "company_id": cls.company_b.id,
                "member_ids": [Command.set((cls.seller_a | cls.seller_b).ids)],
            }
        )
        cls.Target = cls.env["crm.bonus.target"].with_company(cls.company_b)

    def _target(self, user, day=date(2025, 2, 14), sales=10000, **vals):
        return self.Target.create(
            {
                "plan_id": self.plan.id,
                "user_id": user.id,
                "date_from": day,
                "amount_on_target": 1000,
                "line_ids": [
                    Command.create({"kpi_type": "confirmed_sales", "target": sales})
                ],
                **vals,
            }
        )

    def test_period_and_lines(self):
        target = self._target(self.seller_a)
        self.assertEqual(target.date_from, date(2025, 2, 1))
        self.assertEqual(target.date_to, date(2025, 2, 28))
        # every KPI of the plan gets a target line (0 until set)
        self.assertEqual(
            {line.kpi_type: line.target for line in target.line_ids},
            {"confirmed_sales": 10000, "visits_done": 0},
        )

    def test_bad_input(self):
        self._target(self.seller_a)
        with self.assertRefused(ValidationError, "cannot overlap"):
            self._target(self.seller_a, day=date(2025, 2, 1))
        with self.assertRefused(ValidationError, "cannot be negative"):
            self._target(self.seller_b, sales=-5)
        with self.assertRefused(ValidationError, "outside the validity"):
            self._target(self.seller_b, day=date(2024, 12, 1))
        self.assertEqual(
            self.Target.search_count([("user_id", "=", self.seller_b.id)]), 0
        )
        self.assertEqual(
            self.Target.search_count([("user_id", "=", self.seller_a.id)]), 1
        )

    def test_team_split(self):
        targets = self.Target.create(
            {
                "plan_id": self.plan.id,
                "team_id": self.team.id,
                "date_from": date(2025, 3, 1),
                "amount_on_target": 3000,
                "line_ids": [
                    Command.create({"kpi_type": "confirmed_sales", "target": 50000}),
                    Command.create({"kpi_type": "visits_done", "target": 40}),
                ],
            }
        )
        self.assertEqual(targets.user_id, self.seller_a | self.seller_b)
        for target in targets:
            self.assertEqual(target.team_id, self.team)
            self.assertEqual(target.amount_on_target, 1500)
            self.assertEqual(
                {line.kpi_type: line.target for line in target.line_ids},
                {"confirmed_sales": 25000, "visits_done": 20},
            )

    def test_generate_next(self):
        targets = self._target(self.seller_a) | self._target(
            self.seller_b, day=date(2025, 3, 1)
        )
        # Bob already has March: only Ann's is created
        action = targets[0].action_generate_next()
        new = self.Target.search(action["domain"])
        self.assertEqual(new.user_id, self.seller_a)
        self.assertEqual(new.date_from, date(2025, 3, 1))
        self.assertEqual(new.amount_on_target, 1000)
        self.assertEqual(
            new.line_ids.filtered(
                lambda line: line.kpi_type == "confirmed_sales"
            ).target,
            10000,
        )
        # after a replacement, April's targets follow the new plan
        new_plan = self.plan.action_replace(date(2025, 4, 1))
        new_plan.action_approve()
        action = targets[1].action_generate_next()
        april = self.Target.search(action["domain"])
        self.assertEqual(april.plan_id, new_plan)
        self.assertEqual(april.date_from, date(2025, 4, 1))

    def test_access(self):
        own = self._target(self.seller_a)
        other = self._target(self.seller_b)
        Target = self.env["crm.bonus.target"].with_user(self.seller_a)
        self.assertEqual(Target.search([]), own)
        with self.assertRefused(AccessError, ""):
            other.with_user(self.seller_a).read(["amount_on_target"])
        with self.assertRefused(AccessError, ""):
            own.with_user(self.seller_a).amount_on_target = 5000
        manager_targets = self.env["crm.bonus.target"].with_user(self.bonus_manager)
        self.assertEqual(manager_targets.search([]), own | other)
