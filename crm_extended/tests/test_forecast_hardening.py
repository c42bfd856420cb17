from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import CrmExtendedCase


@tagged("post_install", "-at_install")
@freeze_time("2025-03-10 12:00:00")
class TestForecastHardening(CrmExtendedCase):
    """March 2025: an office of Sam and Sue in a region Rita manages; Sam has
    an opportunity in commit, Sue one won on 5 March. The sales manager computes
    and freezes the forecast; every other role only reads (some of) it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.telesales = cls._user("telesales_agent", "crmx_fh_tele", "Tom Telesales")
        cls.accountant = cls._user("accountant", "crmx_fh_accountant", "Acc Forecast")
        cls.portal = cls._user("portal", "crmx_fh_portal", "Pat Portal")
        region = cls._region(
            "Hardened North",
            "FH-N",
            manager_ids=[Command.set(cls.regional_manager.ids)],
        )
        team = cls.env["crm.team"].create(
            {
                "name": "Hardened Office",
                "sales_region_id": region.id,
                "member_ids": [Command.set((cls.salesman | cls.salesman_2).ids)],
            }
        )
        stage = cls.env["crm.stage"].create({"name": "FH Open", "sequence": 1})
        won = cls.env["crm.stage"].create(
            {"name": "FH Won", "sequence": 90, "is_won": True}
        )
        leads = cls.env["crm.lead"].create(
            [
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": user.id,
                    "team_id": team.id,
                    "stage_id": stage.id,
                    "expected_revenue": revenue,
                    "probability": 60,
                    "forecast_category": "commit",
                    "date_deadline": date(2025, 3, 20),
                }
                for name, user, revenue in (
                    ("Hardened Deal", cls.salesman, 10000),
                    ("Hardened Win", cls.salesman_2, 3000),
                )
            ]
        )
        cls.won_lead = leads[1]
        cls.won_lead.stage_id = won
        cls.won_lead.date_closed = "2025-03-05 10:00:00"
        cls.forecast = (
            cls.env["crm.forecast"]
            .with_user(cls.sales_manager)
            .create({"period_type": "month", "date_from": "2025-03-01"})
        )
        cls.forecast.with_user(cls.sales_manager).action_freeze()
        cls.sam_line = cls.forecast.line_ids.filtered(
            lambda line: line.level == "user" and line.user_id == cls.salesman
        )
        cls.team_line = cls.forecast.line_ids.filtered(
            lambda line: line.level == "team" and line.team_id == team
        )
        # Who may read forecasts (some of their lines), not change them
        cls.other_roles = {
            "salesperson": cls.salesman,
            "telesales agent": cls.telesales,
            "regional manager": cls.regional_manager,
            "accountant": cls.accountant,
            "portal": cls.portal,
        }

    def _snapshot(self, records=None):
        """The forecast's row and lines as the database holds them."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT f.state, f.date_frozen, f.date_closed, f.write_uid,
                   ARRAY(SELECT ROW(l.id, l.amount_won_to_date, l.amount_commit,
                                    l.is_adjusted, l.amount_adjusted,
                                    l.amount_forecast, l.write_uid)::text
                           FROM crm_forecast_line l
                          WHERE l.forecast_id = f.id ORDER BY l.id)
              FROM crm_forecast f WHERE f.id = %s
            """,
            [self.forecast.id],
        )
        return self.env.cr.fetchall()

    def assertRefusedUntouched(self, records, method, *args):
        """Every role but the sales manager is refused ``method`` with an
        AccessError before anything is written (no savepoint rolls it back
        here, unlike Odoo's assertRaises)."""
        for role, user in self.other_roles.items():
            with self.subTest(role=role, method=method):
                before = self._snapshot()
                refused = False
                try:
                    getattr(records.with_user(user), method)(*args)
                except AccessError:
                    refused = True
                self.assertTrue(refused, f"the {role} may {method}")
                self.env.invalidate_all()
                self.assertEqual(self._snapshot(), before)

    def test_refresh_won_only_by_sales_managers(self):
        # Sue's second win, after the freeze: refreshing would change the figures
        win = self.won_lead.copy()
        win.stage_id = self.won_lead.stage_id
        win.date_closed = "2025-03-08 10:00:00"
        self.assertRefusedUntouched(self.forecast, "action_refresh_won")
        self.forecast.with_user(self.sales_manager).action_refresh_won()
        self.assertEqual(self.team_line.amount_won_to_date, 6000)

    def test_other_actions_only_by_sales_managers(self):
        draft = (
            self.env["crm.forecast"]
            .with_user(self.sales_manager)
            .create({"period_type": "month", "date_from": "2025-04-01"})
        )
        for method in ("action_compute", "action_freeze"):
            self.assertRefusedUntouched(draft, method)
        with freeze_time("2025-04-02"):
            self.assertRefusedUntouched(self.forecast, "action_close")
        self.assertRefusedUntouched(self.sam_line, "action_clear_adjustment")
        self.assertRefusedUntouched(
            self.sam_line,
            "write",
            {"amount_adjusted": 1, "adjustment_note": "mine"},
        )

    def test_state_only_through_actions(self):
        """A frozen forecast is a snapshot: a sales manager does not write it back
        to draft (to compute it again) nor close it without its actuals."""
        as_manager = self.forecast.with_user(self.sales_manager)
        for vals in (
            {"state": "draft"},
            {"state": "closed"},
            {"date_frozen": "2025-03-31 10:00:00"},
        ):
            with self.subTest(vals=vals), self.assertRefused(AccessError, "directly"):
                as_manager.write(vals)
        with self.assertRefused(AccessError, "directly"):
            self.env["crm.forecast"].with_user(self.sales_manager).create(
                {"date_from": "2025-05-01", "state": "closed"}
            )
        self.assertEqual(self.forecast.state, "frozen")

    def test_adjustment_bounds(self):
        as_manager = self.team_line.with_user(self.sales_manager)
        before = self._snapshot()
        for amount, shown in (
            (-1e18, r"-1,000,000,000,000,000,\d{3}\.00"),
            (-0.01, r"-0\.01"),
            (1e12 + 1, r"1,000,000,000,001\.00"),
        ):
            with (
                self.subTest(amount=amount),
                self.assertRefused(
                    ValidationError,
                    rf"{shown}.*is out of bounds: it is between .*0\.00 and "
                    r".*1,000,000,000,000\.00",
                ),
            ):
                as_manager.write({"amount_adjusted": amount, "adjustment_note": "x"})
        self.assertEqual(self._snapshot(), before)
        # the bounds themselves are sane figures
        as_manager.write({"amount_adjusted": 0, "adjustment_note": "lost it all"})
        self.assertEqual(self.team_line.amount_forecast, 0)
        as_manager.write({"amount_adjusted": 1e12, "adjustment_note": "a dream"})
        self.assertEqual(self.team_line.amount_forecast, 1e12)
