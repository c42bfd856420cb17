from datetime import date

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import Command
from odoo.tests import freeze_time, tagged
from odoo.tools.safe_eval import safe_eval

from .common import CrmExtendedCase

JAN, MAR, APR = date(2020, 1, 1), date(2020, 3, 1), date(2020, 4, 1)


@tagged("post_install", "-at_install")
class TestForecastAccuracy(CrmExtendedCase):
    """Two closed months, January and March 2020, and a running April.

    Sam (team North, region North) forecasts January right: one commit deal of
    8,000, won. In March he has 20,000 open (10,000 commit at 50 %, 6,000 best case
    at 20 %, 4,000 pipeline at 10 %), 2,000 already won when the forecast is frozen
    and a manager's adjustment of his 11,000 commit; he wins the commit deal and
    2,000 not forecast: 14,000. Sue (team South) has 5,000 in the March pipeline at
    40 % and loses it: nothing won. Zed (team South) has nothing at all.

    The March win rate: one won and one lost opportunity closed in the month before
    the freeze (the lookback is set to one month), the lost one in the open stage:
    every open opportunity counts for half its amount.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.crm_forecast_lookback_months = 1
        cls.company.crm_forecast_accuracy_periods = 6
        cls.zed = cls._user("salesperson", "crmx_zed", "Zed Zero")
        cls.region_n = cls._region(
            "Accuracy North",
            "ACN",
            manager_ids=[Command.link(cls.regional_manager.id)],
        )
        cls.region_s = cls._region("Accuracy South", "ACS")
        cls.team_n, cls.team_s = cls.env["crm.team"].create(
            [
                {
                    "name": "Accuracy North Office",
                    "company_id": cls.company.id,
                    "sales_region_id": cls.region_n.id,
                    "member_ids": [Command.link(cls.salesman.id)],
                },
                {
                    "name": "Accuracy South Office",
                    "company_id": cls.company.id,
                    "sales_region_id": cls.region_s.id,
                    "member_ids": [
                        Command.link(cls.salesman_2.id),
                        Command.link(cls.zed.id),
                    ],
                },
            ]
        )
        cls.stage_open, cls.stage_won = cls.env["crm.stage"].create(
            [
                {"name": "Accuracy Open", "sequence": 901},
                {"name": "Accuracy Won", "sequence": 902, "is_won": True},
            ]
        )
        cls.customer = cls._customer("Forecast Corp", cls.state_n)

        def deal(name, user, amount, probability, category, deadline):
            return {
                "name": name,
                "type": "opportunity",
                "partner_id": cls.customer.id,
                "user_id": user.id,
                "team_id": (cls.team_n if user == cls.salesman else cls.team_s).id,
                "company_id": cls.company.id,
                "stage_id": cls.stage_open.id,
                "expected_revenue": amount,
                "probability": probability,
                "forecast_category": category,
                "date_deadline": deadline,
            }

        Lead = cls.env["crm.lead"]
        with freeze_time("2019-12-15 09:00:00"):
            (
                cls.deal_f,
                cls.deal_w0,
                cls.deal_l0,
                cls.deal_a,
                cls.deal_b,
                cls.deal_c,
                cls.deal_d,
                cls.deal_e,
                cls.deal_g,
                cls.deal_h,
            ) = Lead.create(
                [
                    deal("F", cls.salesman, 8000, 50, "commit", "2020-01-20"),
                    deal("W0", cls.salesman, 2000, 50, "commit", "2020-03-05"),
                    deal("L0", cls.salesman, 1000, 10, "pipeline", "2020-03-10"),
                    deal("A", cls.salesman, 10000, 50, "commit", "2020-03-25"),
                    deal("B", cls.salesman, 6000, 20, "best_case", "2020-03-12"),
                    deal("C", cls.salesman, 4000, 10, "pipeline", "2020-03-28"),
                    deal("D", cls.salesman, 2000, 30, "commit", "2020-04-10"),
                    deal("E", cls.salesman_2, 5000, 40, "pipeline", "2020-03-25"),
                    deal("G", cls.salesman, 5000, 60, "commit", "2020-04-20"),
                    deal("H", cls.salesman, 1500, 60, "commit", "2020-04-25"),
                ]
            )
        Forecast = cls.env["crm.forecast"].with_user(cls.sales_manager)

        # January: forecast right on the nose
        with freeze_time("2020-01-01 10:00:00"):
            cls.forecast_jan = Forecast.create(
                {"period_type": "month", "date_from": JAN}
            )
            cls.forecast_jan.action_freeze()
        with freeze_time("2020-01-10 12:00:00"):
            cls._win(cls.deal_f)
        with freeze_time("2020-02-01 10:00:00"):
            cls.forecast_jan.action_close()

        # March
        with freeze_time("2020-03-01 08:00:00"):
            cls._win(cls.deal_w0)
        with freeze_time("2020-03-01 09:00:00"):
            cls.deal_l0.action_set_lost()
        with freeze_time("2020-03-01 10:00:00"):
            cls.forecast_mar = Forecast.create(
                {"period_type": "month", "date_from": MAR}
            )
            cls.forecast_mar.action_compute()
            cls._line(cls.forecast_mar, "user", cls.salesman).write(
                {"amount_adjusted": 11000, "adjustment_note": "A is a sure thing"}
            )
            cls.forecast_mar.action_freeze()
        with freeze_time("2020-03-15 12:00:00"):
            cls._win(cls.deal_a)
        with freeze_time("2020-03-18 12:00:00"):
            (cls.deal_c | cls.deal_e).action_set_lost()
        with freeze_time("2020-03-20 12:00:00"):
            cls._win(cls.deal_d)

        # April runs: 6,500 committed, 1,500 of it won by the 10th
        with freeze_time("2020-04-01 10:00:00"):
            cls.forecast_mar.action_close()
            cls.forecast_apr = Forecast.create(
                {"period_type": "month", "date_from": APR}
            )
            cls.forecast_apr.action_freeze()
        with freeze_time("2020-04-10 09:00:00"):
            cls._win(cls.deal_h)
        with freeze_time("2020-04-10 12:00:00"):
            cls.forecast_apr.action_refresh_won()

        cls.Report = cls.env["crm.forecast.accuracy.report"]
        cls.closed = [("forecast_id", "in", (cls.forecast_jan | cls.forecast_mar).ids)]

    @classmethod
    def _win(cls, lead):
        lead.write({"stage_id": cls.stage_won.id, "probability": 100})

    @classmethod
    def _line(cls, forecast, level, who):
        field = {"user": "user_id", "team": "team_id", "region": "sales_region_id"}
        line = forecast.line_ids.filtered(
            lambda line: line.level == level and line[field[level]] == who
        )
        line.ensure_one()
        return line

    def _rows(self, forecast, level, who, env=None):
        Report = self.Report.with_env(env) if env else self.Report
        field = {"user": "user_id", "team": "team_id", "region": "sales_region_id"}
        rows = Report.search(
            [
                ("forecast_id", "=", forecast.id),
                ("level", "=", level),
                (field[level], "=", who.id),
            ]
        )
        return {row.method: row for row in rows}

    def assertRow(self, row, forecast, actual, ape, spe):
        self.assertAlmostEqual(row.amount_forecast, forecast, places=2)
        self.assertAlmostEqual(row.amount_actual, actual, places=2)
        self.assertAlmostEqual(row.error, forecast - actual, places=2)
        self.assertAlmostEqual(row.abs_error, abs(forecast - actual), places=2)
        self.assertAlmostEqual(row.ape, ape, places=4, msg=row.method)
        self.assertAlmostEqual(row.spe, spe, places=4, msg=row.method)

    def assertSummary(self, summary, expected):
        for method, (mape, bias) in expected.items():
            self.assertAlmostEqual(summary[method]["mape"], mape, places=4, msg=method)
            self.assertAlmostEqual(summary[method]["bias"], bias, places=4, msg=method)

    # ------------------------------------------------------------------

    def test_forecast_lines(self):
        """The core's figures the report starts from."""
        line = self._line(self.forecast_mar, "user", self.salesman)
        self.assertEqual(line.state, "closed")
        self.assertRecordValues(
            line,
            [
                {
                    "amount_pipeline": 20000,
                    "amount_best_case": 16000,
                    "amount_commit": 10000,
                    "amount_weighted": 6600,
                    "amount_historical": 10000,
                    "amount_forecast": 11000,
                    "amount_won_frozen": 2000,
                    "amount_actual": 14000,
                    "error_forecast": -1000,
                }
            ],
        )

    def test_ape_per_method(self):
        sam_jan = self._rows(self.forecast_jan, "user", self.salesman)
        self.assertEqual(len(sam_jan), 6)
        self.assertRow(sam_jan["pipeline"], 8000, 8000, 0, 0)
        self.assertRow(sam_jan["commit"], 8000, 8000, 0, 0)
        self.assertRow(sam_jan["weighted"], 4000, 8000, 50, -50)
        self.assertRow(sam_jan["historical"], 4000, 8000, 50, -50)
        self.assertRow(sam_jan["forecast"], 8000, 8000, 0, 0)

        sam_mar = self._rows(self.forecast_mar, "user", self.salesman)
        self.assertRow(sam_mar["pipeline"], 22000, 14000, 800 / 14, 800 / 14)
        self.assertRow(sam_mar["best_case"], 18000, 14000, 400 / 14, 400 / 14)
        self.assertRow(sam_mar["commit"], 12000, 14000, 200 / 14, -200 / 14)
        self.assertRow(sam_mar["weighted"], 8600, 14000, 540 / 14, -540 / 14)
        self.assertRow(sam_mar["historical"], 12000, 14000, 200 / 14, -200 / 14)
        self.assertRow(sam_mar["forecast"], 13000, 14000, 100 / 14, -100 / 14)

        # The team rolls up its salespeople's adjusted forecasts
        team_mar = self._rows(self.forecast_mar, "team", self.team_n)
        self.assertRow(team_mar["forecast"], 13000, 14000, 100 / 14, -100 / 14)
        region_mar = self._rows(self.forecast_mar, "region", self.region_n)
        self.assertRow(region_mar["pipeline"], 22000, 14000, 800 / 14, 800 / 14)

    def test_zero_actual(self):
        """Nothing won: 0 % when nothing was forecast either, else 100 %."""
        sue = self._rows(self.forecast_mar, "user", self.salesman_2)
        self.assertRow(sue["pipeline"], 5000, 0, 100, 100)
        self.assertRow(sue["weighted"], 2000, 0, 100, 100)
        self.assertRow(sue["historical"], 2500, 0, 100, 100)
        self.assertRow(sue["best_case"], 0, 0, 0, 0)
        self.assertRow(sue["commit"], 0, 0, 0, 0)
        self.assertRow(sue["forecast"], 0, 0, 0, 0)
        zed = self._rows(self.forecast_mar, "user", self.zed)
        self.assertEqual(len(zed), 6)
        for row in zed.values():
            self.assertRow(row, 0, 0, 0, 0)

    def test_summary_last_periods(self):
        sam = [("level", "=", "user"), ("user_id", "=", self.salesman.id)]
        summary = self.Report._accuracy_summary(self.closed + sam)
        self.assertEqual(summary["periods"], [MAR, JAN])
        self.assertEqual(summary["pipeline"]["count"], 2)
        self.assertSummary(
            summary,
            {
                "pipeline": (400 / 14, 400 / 14),
                "best_case": (200 / 14, 200 / 14),
                "commit": (100 / 14, -100 / 14),
                "weighted": ((50 + 540 / 14) / 2, -(50 + 540 / 14) / 2),
                "historical": ((50 + 200 / 14) / 2, -(50 + 200 / 14) / 2),
                "forecast": (50 / 14, -50 / 14),
            },
        )
        self.assertEqual(summary["best_method"], "forecast")

        # The company's setting, or the number given: the last period only
        self.company.crm_forecast_accuracy_periods = 1
        for summary in (
            self.Report._accuracy_summary(self.closed + sam),
            self.Report._accuracy_summary(self.closed + sam, periods=1),
        ):
            self.assertEqual(summary["periods"], [MAR])
            self.assertSummary(
                summary,
                {"pipeline": (800 / 14, 800 / 14), "weighted": (540 / 14, -540 / 14)},
            )
            self.assertEqual(summary["best_method"], "forecast")

    def test_summary_of_a_line_scope(self):
        """The scope of a line of the running forecast, over the closed ones."""
        Report = self.Report.with_user(self.regional_manager)
        for level, who in (
            ("user", self.salesman),
            ("team", self.team_n),
            ("region", self.region_n),
        ):
            line = self._line(self.forecast_apr, level, who)
            summary = Report._accuracy_summary(Report._scope_domain(line))
            self.assertEqual(summary["periods"], [MAR, JAN], level)
            self.assertEqual(summary["best_method"], "forecast", level)
            self.assertAlmostEqual(summary["forecast"]["mape"], 50 / 14, places=4)

    def test_summary_per_scope(self):
        summaries = self.Report._accuracy_summary(
            self.closed + [("level", "=", "team")], groupby="team_id"
        )
        north, south = summaries[self.team_n], summaries[self.team_s]
        self.assertEqual(north["best_method"], "forecast")
        self.assertAlmostEqual(north["forecast"]["mape"], 50 / 14, places=4)
        # South: best case, commit and the manager's forecast all were exact (0 for
        # 0); best case comes first
        self.assertSummary(
            south,
            {"pipeline": (50, 50), "best_case": (0, 0), "forecast": (0, 0)},
        )
        self.assertEqual(south["best_method"], "best_case")

    def test_best_method_ties(self):
        best = self.Report._best_method
        self.assertEqual(
            best(
                {
                    "pipeline": {"mape": 10.0, "bias": 10.0},
                    "commit": {"mape": 10.0, "bias": -2.0},
                    "weighted": {"mape": 10.0000000001, "bias": 1.0},
                    "forecast": {"mape": 12.0, "bias": 0.0},
                }
            ),
            "weighted",
            "Equal MAPE: the lowest absolute bias wins",
        )
        self.assertEqual(
            best(
                {
                    "forecast": {"mape": 5.0, "bias": -1.0},
                    "commit": {"mape": 5.0, "bias": 1.0},
                }
            ),
            "commit",
            "Equal MAPE and absolute bias: the first method wins",
        )
        self.assertFalse(best({}))
        empty = self.Report._accuracy_summary([("id", "=", 0)])
        self.assertFalse(empty["best_method"])
        self.assertEqual(empty["periods"], [])

    def test_salesman_sees_own_rows(self):
        rows = self.Report.with_user(self.salesman).search(self.closed)
        self.assertEqual(len(rows), 12)
        self.assertEqual(set(rows.mapped("level")), {"user"})
        self.assertEqual(rows.user_id, self.salesman)
        mine = self.Report.with_user(self.salesman_2).search(
            self.closed + [("level", "=", "team")]
        )
        self.assertFalse(mine)

    def test_regional_manager_sees_managed_regions(self):
        rows = self.Report.with_user(self.regional_manager).search(self.closed)
        # Sam, his office and the region, in two months, six methods
        self.assertEqual(len(rows), 3 * 2 * 6)
        self.assertEqual(rows.sales_region_id, self.region_n)
        self.assertEqual(set(rows.mapped("level")), {"user", "team", "region"})
        self.assertNotIn(self.salesman_2, rows.user_id)

    def test_pivot_as_sales_manager(self):
        Report = self.Report.with_user(self.sales_manager)
        sam = [("level", "=", "user"), ("user_id", "=", self.salesman.id)]
        groups = Report.read_group(
            self.closed + sam,
            ["ape", "spe", "amount_forecast", "amount_actual"],
            ["method", "date_from:month"],
            lazy=False,
        )
        self.assertEqual(len(groups), 12)
        groups = {
            group["method"]: group
            for group in Report.read_group(
                self.closed + sam, ["ape", "spe", "abs_error"], ["method"]
            )
        }
        # MAPE and bias: averages
        self.assertAlmostEqual(groups["weighted"]["ape"], (50 + 540 / 14) / 2, 4)
        self.assertAlmostEqual(groups["weighted"]["spe"], -(50 + 540 / 14) / 2, 4)
        self.assertAlmostEqual(groups["weighted"]["abs_error"], 4000 + 5400, 2)
        # The whole company: every level readable
        levels = Report.read_group(self.closed, ["ape"], ["level"])
        self.assertEqual(
            {group["level"] for group in levels}, {"user", "team", "region", "company"}
        )

    def _dashboard(self, teams):
        self.env.invalidate_all()
        with freeze_time("2020-04-10 13:00:00"):
            return [
                (
                    team.forecast_amount_current,
                    team.forecast_won_current,
                    team.forecast_best_method,
                    round(team.forecast_best_mape, 2),
                )
                for team in teams
            ]

    def test_team_dashboard(self):
        teams = (self.team_n | self.team_s).with_user(self.sales_manager)
        self.assertEqual(
            self._dashboard(teams),
            [
                (6500, 1500, "forecast", round(50 / 14, 2)),
                (0, 0, "best_case", 0),
            ],
        )
        self.company.crm_forecast_accuracy_periods = 1
        self.assertEqual(
            self._dashboard(teams)[0][2:], ("forecast", round(100 / 14, 2))
        )
        # The regional manager sees the figures of her region's offices only; a
        # salesperson sees no office figures
        self.assertEqual(
            self._dashboard(
                (self.team_n | self.team_s).with_user(self.regional_manager)
            ),
            [(6500, 1500, "forecast", round(100 / 14, 2)), (0, 0, False, 0)],
        )
        self.assertEqual(
            self._dashboard(self.team_n.with_user(self.salesman)),
            [(0, 0, False, 0)],
        )
        action = self.team_n.action_open_forecast_accuracy()
        self.assertEqual(
            self.Report.search(action["domain"] + self.closed).line_id,
            self._line(self.forecast_jan, "team", self.team_n)
            | self._line(self.forecast_mar, "team", self.team_n),
        )

    def test_team_dashboard_queries(self):
        """One grouped read per figure family, whatever the number of offices."""
        teams = self.team_n | self.team_s
        self.env.invalidate_all()
        # The two grouped reads; the offices, their company and currency, the
        # user's time zone
        with freeze_time("2020-04-10 13:00:00"), self.assertQueryCount(6):
            teams._compute_forecast_dashboard()

    def test_views(self):
        Report = self.Report.with_user(self.salesman)
        views = Report.get_views(
            [(False, "pivot"), (False, "graph"), (False, "list"), (False, "search")]
        )["views"]
        search = etree.fromstring(views["search"]["arch"])
        with freeze_time("2020-04-10 13:00:00"):
            last_3 = safe_eval(
                search.xpath("//filter[@name='last_3_months']")[0].get("domain"),
                {"context_today": date.today, "relativedelta": relativedelta},
            )
        self.assertEqual(last_3, [("date_from", ">=", "2020-01-01")])
        self.assertEqual(
            Report.search(
                self.closed
                + safe_eval(
                    search.xpath("//filter[@name='mine']")[0].get("domain"),
                    {"uid": self.salesman.id},
                )
            ).user_id,
            self.salesman,
        )
        kanban = self.env.ref("crm.crm_team_view_kanban_dashboard")
        arch = self.team_n.with_user(self.sales_manager).get_views(
            [(kanban.id, "kanban")]
        )["views"]["kanban"]["arch"]
        self.assertIn("forecast_best_method", arch)
