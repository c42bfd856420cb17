from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import CrmBonusCase


class BonusEstimateCase(CrmBonusCase):
    """A company of its own without taxes; a monthly plan of 100 % confirmed
    sales with a threshold of 50 % and the curve 50 % → 40 %, 100 % → 100 %.
    Ann's February target is 1,000 of sales for 500 on target; she confirmed 600
    in February: attainment 60 %, factor 40 + 60 × 10 / 50 = 52 %, payout 260.
    Bob has no target."""

    bonus_company_name = "Bonus Estimate Co"
    bonus_surname = "Estimate"
    bonus_chart = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_e = cls.bonus_company
        cls.product = (
            cls.env["product.product"]
            .with_company(cls.company_e)
            .create({"name": "Gadget", "list_price": 100, "taxes_id": False})
        )
        cls._confirmed_order(cls.ann, "Estimate Customer", 6)
        cls.plan = cls.env["crm.bonus.plan"].create(
            {
                "name": "Estimate Plan",
                "company_id": cls.company_e.id,
                "currency_id": cls.company_e.currency_id.id,
                "date_start": date(2025, 1, 1),
                "threshold": 50,
                "cap": 200,
                "kpi_ids": [
                    Command.create({"kpi_type": "confirmed_sales", "weight": 100})
                ],
                "level_ids": [
                    Command.create(
                        {"sequence": 1, "attainment": 50, "payout_factor": 40}
                    ),
                    Command.create(
                        {"sequence": 2, "attainment": 100, "payout_factor": 100}
                    ),
                ],
            }
        )
        cls.plan.action_approve()
        cls.statement = cls._bonus_statement(
            cls.plan, cls.ann, {"confirmed_sales": 1000}, amount=500
        )

    @classmethod
    def _confirmed_order(cls, user, customer, quantity):
        """A confirmed order of ``user`` to a new customer: ``quantity`` × 100."""
        order = (
            cls.env["sale.order"]
            .with_company(cls.company_e)
            .create(
                {
                    "partner_id": cls._customer(customer).id,
                    "user_id": user.id,
                    "company_id": cls.company_e.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": cls.product.id,
                                "product_uom_qty": quantity,
                                "price_unit": 100,
                                "tax_id": False,
                            }
                        )
                    ],
                }
            )
        )
        order.action_confirm()
        return order

    def _leads(self, user, revenues):
        return (
            self.env["crm.lead"]
            .with_company(self.company_e)
            .create(
                [
                    {
                        "name": f"Deal {index}",
                        "type": "opportunity",
                        "user_id": user.id,
                        "company_id": self.company_e.id,
                        "expected_revenue": revenue,
                    }
                    for index, revenue in enumerate(revenues)
                ]
            )
        )


@tagged("post_install", "-at_install")
@freeze_time("2025-02-15 12:00")
class TestBonusEstimate(BonusEstimateCase):
    def test_statement(self):
        self.assertEqual(self.statement.state, "draft")
        self.assertAlmostEqual(self.statement.attainment, 60.0)
        self.assertAlmostEqual(self.statement.payout_factor, 52.0)
        self.assertEqual(self.statement.amount_payout, 260.0)

    def test_lead_estimate(self):
        lead = self._leads(self.ann, [200])
        # 800 / 1,000 = 80 %: factor 40 + 60 × 30 / 50 = 76 %, payout 380; + 120
        self.assertEqual(lead.with_user(self.ann).bonus_estimate, 120.0)
        self.assertEqual(
            lead.with_user(self.ann).bonus_estimate_currency_id,
            self.company_e.currency_id,
        )
        self.assertEqual(lead.with_user(self.bonus_manager).bonus_estimate, 120.0)
        # Another salesperson does not see Ann's bonus
        self.assertEqual(lead.with_user(self.bob).bonus_estimate, 0.0)

    def test_lead_estimate_cases(self):
        big, below, bob_lead = self._leads(self.ann, [2000, -700]) | self._leads(
            self.bob, [200]
        )
        # 2,600 / 1,000 = 260 %: past the last level on its slope, capped at 200 %
        self.assertEqual(big.with_user(self.ann).bonus_estimate, 1000.0 - 260.0)
        # A negative expected revenue never lowers the estimate below nothing
        self.assertEqual(below.with_user(self.ann).bonus_estimate, 0.0)
        # No statement for Bob
        self.assertEqual(bob_lead.with_user(self.bob).bonus_estimate, 0.0)
        self.assertEqual(bob_lead.bonus_estimate, 0.0)
        # Won, lost or a lead: no effect any more
        won_stage = self.env["crm.stage"].create({"name": "Won", "is_won": True})
        lead = self._leads(self.ann, [200])
        lead.stage_id = won_stage
        self.assertEqual(lead.with_user(self.ann).bonus_estimate, 0.0)
        lead = self._leads(self.ann, [200])
        lead.action_archive()
        self.assertEqual(lead.with_user(self.ann).bonus_estimate, 0.0)

    def test_lead_estimate_closed_statement(self):
        lead = self._leads(self.ann, [200])
        self.statement.action_submit()
        self.assertEqual(lead.with_user(self.ann).bonus_estimate, 120.0)
        self.statement.with_user(self.bonus_manager).action_approve()
        lead.invalidate_recordset()
        self.assertEqual(lead.with_user(self.ann).bonus_estimate, 0.0)

    def test_user_estimate(self):
        users = self.ann | self.bob
        self.assertEqual(self.ann.with_user(self.ann).bonus_estimate, 260.0)
        self.assertEqual(
            self.ann.with_user(self.ann).bonus_estimate_currency_id,
            self.company_e.currency_id,
        )
        self.assertEqual(self.bob.with_user(self.bob).bonus_estimate, 0.0)
        # Only bonus managers see the others' estimates
        self.assertEqual(self.ann.with_user(self.bob).bonus_estimate, 0.0)
        self.assertEqual(
            users.with_user(self.bonus_manager).mapped("bonus_estimate"), [260.0, 0.0]
        )
        # Readable by the user on their preferences
        self.assertEqual(
            self.ann.with_user(self.ann).read(["bonus_estimate"])[0]["bonus_estimate"],
            260.0,
        )
        with freeze_time("2025-03-15 12:00"):
            self.ann.invalidate_recordset()
            self.assertEqual(self.ann.with_user(self.ann).bonus_estimate, 0.0)

    def _estimate_queries(self, count):
        leads = self._leads(self.ann, [100] * (count - 1)) | self._leads(
            self.bob, [100]
        )
        leads = leads.with_user(self.bonus_manager)
        self.env.flush_all()
        self.env.invalidate_all()
        # Caches of the user's groups and record rules warmed once
        leads[:1].mapped("bonus_estimate")
        self.env.invalidate_all()
        with self.assertQueryCount(13):
            estimates = leads.mapped("bonus_estimate")
        # 700 / 1,000 = 70 %: factor 64 %, payout 320; + 60 each
        self.assertEqual(estimates, [60.0] * (count - 1) + [0.0])

    def test_estimate_queries_2_leads(self):
        self._estimate_queries(2)

    def test_estimate_queries_10_leads(self):
        self._estimate_queries(10)


@tagged("post_install", "-at_install")
@freeze_time("2025-02-15 12:00")
class TestBonusEstimateDashboard(BonusEstimateCase):
    """The sales team dashboard. Carl's plan pays in BXC, 2 BXC for a unit of the
    company's currency: his February target is 1,000 BXC of sales for 500 BXC on
    target; he confirmed 300 (600 BXC) in February: attainment 60 %, payout 260 BXC,
    130 in the company's currency. North has Ann, Carl and Bob; South has Ann; West
    has Bob."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("sales_team.membership_multi", True)
        cls.carl = cls._bonus_user("salesperson", "Carl")
        cls.sales_manager_e = cls.bonus_sales_manager
        cls.foreign = cls.env["res.currency"].create(
            {"name": "BXC", "symbol": "¤", "rounding": 0.01}
        )
        cls.env["res.currency.rate"].create(
            {
                "currency_id": cls.foreign.id,
                "name": date(2025, 1, 1),
                "rate": 2.0,
                "company_id": cls.company_e.id,
            }
        )
        cls._confirmed_order(cls.carl, "Carl Customer", 3)
        plan = cls.plan.copy(
            {"name": "Estimate Plan BXC", "currency_id": cls.foreign.id}
        )
        plan.action_approve()
        cls.statement_carl = cls._bonus_statement(
            plan, cls.carl, {"confirmed_sales": 1000}, amount=500
        )
        cls.north, cls.south, cls.west = cls.env["crm.team"].create(
            [
                {
                    "name": name,
                    "company_id": cls.company_e.id,
                    "member_ids": [Command.set(users.ids)],
                }
                for name, users in (
                    ("North", cls.ann | cls.carl | cls.bob),
                    ("South", cls.ann),
                    ("West", cls.bob),
                )
            ]
        )
        cls.teams = cls.north | cls.south | cls.west

    def test_statement_foreign_currency(self):
        self.assertEqual(self.statement_carl.currency_id, self.foreign)
        self.assertAlmostEqual(self.statement_carl.attainment, 60.0)
        self.assertEqual(self.statement_carl.amount_payout, 260.0)

    def test_dashboard_salesperson(self):
        teams = self.teams.with_user(self.ann)
        self.assertEqual(teams.mapped("has_bonus_estimate"), [True, True, False])
        self.assertEqual(teams.mapped("bonus_estimate"), [260.0, 260.0, 0.0])
        self.assertEqual(teams.mapped("bonus_estimate_attainment"), [60.0, 60.0, 0.0])
        self.assertEqual(teams.bonus_estimate_currency_id, self.company_e.currency_id)
        # Carl's own estimate in his plan's currency
        north = self.north.with_user(self.carl)
        self.assertEqual(north.bonus_estimate, 260.0)
        self.assertEqual(north.bonus_estimate_currency_id, self.foreign)
        # A click opens the statement
        action = teams[0].action_open_bonus_estimate()
        self.assertEqual(action["res_model"], "crm.bonus.statement")
        self.assertEqual(action["res_id"], self.statement.id)
        self.assertEqual(action["views"], [(False, "form")])
        # An approved statement is no estimate any more
        self.statement.action_submit()
        self.statement.with_user(self.bonus_manager).action_approve()
        self.env.invalidate_all()
        self.assertEqual(teams.mapped("has_bonus_estimate"), [False, False, False])
        self.assertEqual(teams.mapped("bonus_estimate"), [0.0, 0.0, 0.0])

    def test_dashboard_no_statement(self):
        teams = self.teams.with_user(self.bob)
        self.assertEqual(teams.mapped("has_bonus_estimate"), [False, False, False])
        self.assertEqual(teams.mapped("bonus_estimate"), [0.0, 0.0, 0.0])
        self.assertEqual(teams.mapped("bonus_estimate_attainment"), [0.0, 0.0, 0.0])
        # The click falls back to the user's statements
        action = teams[0].action_open_bonus_estimate()
        self.assertEqual(action["res_model"], "crm.bonus.statement")
        self.assertFalse(action.get("res_id"))
        # Next month: no current statement for Ann either
        with freeze_time("2025-03-15 12:00"):
            self.env.invalidate_all()
            self.assertFalse(self.north.with_user(self.ann).has_bonus_estimate)
            north = self.north.with_user(self.bonus_manager)
            self.assertEqual(north.bonus_estimate_team_count, 0)
            self.assertEqual(north.bonus_estimate_team, 0.0)

    def test_dashboard_bonus_manager(self):
        teams = self.teams.with_user(self.bonus_manager)
        # North: Ann's 260 and Carl's 260 BXC = 130; Bob has no statement
        self.assertEqual(teams.mapped("bonus_estimate_team"), [390.0, 260.0, 0.0])
        self.assertEqual(teams.mapped("bonus_estimate_team_count"), [2, 1, 0])
        self.assertEqual(
            teams.bonus_estimate_team_currency_id, self.company_e.currency_id
        )
        # The bonus manager is no member: no estimate of their own
        self.assertEqual(teams.mapped("has_bonus_estimate"), [False, False, False])
        # A click opens the members' current statements
        action = teams[0].action_open_bonus_estimate_team()
        self.assertEqual(action["res_model"], "crm.bonus.statement")
        self.assertEqual(
            self.env["crm.bonus.statement"].search(action["domain"]),
            self.statement | self.statement_carl,
        )
        self.assertIn("North", action["name"])

    def test_dashboard_access(self):
        kanban = self.env.ref("sales_team.crm_team_view_kanban_dashboard")
        team_fields = ["bonus_estimate_team", "bonus_estimate_team_count"]
        for user in (self.sales_manager_e, self.ann, self.bob):
            teams = self.teams.with_user(user)
            # No team total for an ordinary sales manager or a salesperson
            with self.assertRaises(AccessError):
                teams.read(team_fields)
            self.assertEqual(teams.mapped("bonus_estimate_team"), [0.0, 0.0, 0.0])
            self.assertEqual(teams.mapped("bonus_estimate_team_count"), [0, 0, 0])
            with self.assertRaises(AccessError):
                teams[0].action_open_bonus_estimate_team()
            arch = teams.get_views([(kanban.id, "kanban")])["views"]["kanban"]["arch"]
            self.assertIn("bonus_estimate_attainment", arch)
            self.assertNotIn("bonus_estimate_team", arch)
        arch = self.teams.with_user(self.bonus_manager).get_views(
            [(kanban.id, "kanban")]
        )["views"]["kanban"]["arch"]
        self.assertIn("bonus_estimate_team", arch)
        # A salesperson never sees another's amount: only their own, or nothing
        self.assertEqual(
            self.north.with_user(self.bob).read(["bonus_estimate"])[0][
                "bonus_estimate"
            ],
            0.0,
        )
        self.assertEqual(self.north.with_user(self.sales_manager_e).bonus_estimate, 0.0)
        self.assertEqual(self.north.with_user(self.carl).bonus_estimate, 260.0)
        action = self.north.with_user(self.bob).action_open_bonus_estimate()
        self.assertFalse(action.get("res_id"))

    def _dashboard_queries(self, teams):
        fields = [
            "has_bonus_estimate",
            "bonus_estimate",
            "bonus_estimate_currency_id",
            "bonus_estimate_attainment",
            "bonus_estimate_team",
            "bonus_estimate_team_currency_id",
            "bonus_estimate_team_count",
        ]
        # Ann is a bonus manager too here: both her estimate and the team totals
        self.ann.groups_id += self.env.ref("crm_extended.group_bonus_manager")
        teams = teams.with_user(self.ann)
        self.env.flush_all()
        self.env.invalidate_all()
        # Caches of the user's groups and record rules warmed once
        teams[:1].read(fields)
        self.env.invalidate_all()
        # The offices, their members and companies, the user's statement and the
        # members' (each a search and a read), the currencies and their rates
        with self.assertQueryCount(13):
            values = teams.read(fields)
        return values

    def test_dashboard_queries_1_team(self):
        values = self._dashboard_queries(self.north)
        self.assertEqual(values[0]["bonus_estimate_team"], 390.0)

    def test_dashboard_queries_3_teams(self):
        values = self._dashboard_queries(self.teams)
        self.assertEqual(
            [v["bonus_estimate_team"] for v in values], [390.0, 260.0, 0.0]
        )
        self.assertEqual([v["bonus_estimate"] for v in values], [260.0, 260.0, 0.0])

    def test_my_teams_dashboard(self):
        """A salesperson opens My Teams: their teams' dashboard loads whole (every
        field of the kanban view, under their access rights), with their estimate."""
        action = self.env.ref("crm_extended.crm_team_action_my_teams")
        for user, names, estimates in (
            (self.ann, ["North", "South"], [260.0, 260.0]),
            (self.bob, ["North", "West"], [0.0, 0.0]),
        ):
            Team = self.env["crm.team"].with_user(user)
            views = Team.get_views([(action.view_id.id, "kanban")])
            domain = safe_eval(action.domain, {"uid": user.id})
            specification = dict.fromkeys(views["models"]["crm.team"]["fields"], {})
            records = Team.web_search_read(
                domain + [("id", "in", self.teams.ids)], specification
            )["records"]
            self.assertEqual(sorted(r["name"] for r in records), names)
            self.assertEqual(
                [r["bonus_estimate"] for r in sorted(records, key=lambda r: r["name"])],
                estimates,
            )
