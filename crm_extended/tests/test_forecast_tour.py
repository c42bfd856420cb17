from datetime import date

from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.tests import tagged

from .common import CrmExtendedTourCase

# Names shared with static/tests/tours/crm_extended_forecast_tour.js.
TOUR_NAME = "crm_extended_forecast_tour"
REGION_NAME = "Tour Onyx"
OFFICE_NAME = "Onyx Office"
SELLER_NAME = "Olga Onyx"
ADJUSTED = 12500
NOTE = "Onyx signs the framework contract this month"


@tagged("post_install", "-at_install")
class TestForecastTour(CrmExtendedTourCase):
    """A sales manager reviews next month's forecast in the browser: expands a
    region, adjusts its office with a note and freezes the forecast. In a company of
    its own: Tour Land > Tour Onyx (Onyx Office: Olga, 10,000 in commit) and Tour
    Land > Tour Jade (Jade Office: Jack, 5,000 in commit)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env["res.company"].create({"name": "Tour Forecast Co"})
        cls.manager = cls._user(
            "sales_manager", "crmx_ft_manager", "Mona Forecast", company
        )
        olga = cls._user("salesperson", "crmx_ft_olga", SELLER_NAME, company)
        jack = cls._user("salesperson", "crmx_ft_jack", "Jack Jade", company)
        Region = cls.env["crm.sales.region"]
        land = Region.create({"name": "Tour Land", "code": "FT-L", **cls._in(company)})
        onyx, jade = Region.create(
            [
                {"name": name, "code": code, "parent_id": land.id, **cls._in(company)}
                for name, code in ((REGION_NAME, "FT-O"), ("Tour Jade", "FT-J"))
            ]
        )
        cls.office = cls.env["crm.team"].create(
            [
                {
                    "name": name,
                    "sales_region_id": region.id,
                    "member_ids": [Command.set(user.ids)],
                    **cls._in(company),
                }
                for name, region, user in (
                    (OFFICE_NAME, onyx, olga),
                    ("Jade Office", jade, jack),
                )
            ]
        )[0]
        month = date.today() + relativedelta(months=1, day=1)
        stage = cls.env["crm.stage"].create({"name": "FT Open", "sequence": 1})
        cls.env["crm.lead"].create(
            [
                {
                    "name": f"{user.name}'s deal",
                    "type": "opportunity",
                    "user_id": user.id,
                    "team_id": user.sale_team_id.id,
                    "stage_id": stage.id,
                    "expected_revenue": revenue,
                    "probability": 70,
                    "forecast_category": "commit",
                    "date_deadline": month + relativedelta(day=15),
                    **cls._in(company),
                }
                for user, revenue in ((olga, 10000), (jack, 5000))
            ]
        )
        cls.forecast = (
            cls.env["crm.forecast"]
            .with_user(cls.manager)
            .with_company(company)
            .create({"period_type": "month", "date_from": month, **cls._in(company)})
        )
        cls.forecast.action_compute()

    @staticmethod
    def _in(company):
        return {"company_id": company.id}

    def _line(self, level, **where):
        return self.forecast.line_ids.filtered(
            lambda line: line.level == level
            and all(line[name] == value for name, value in where.items())
        )

    def test_forecast_tour(self):
        office_line = self._line("team", team_id=self.office)
        self.assertEqual(office_line.amount_submitted, 10000)
        self.assertFalse(office_line.is_adjusted)
        self.assertEqual(self._line("company").amount_forecast, 15000)
        self.start_tour_strict(
            f"/odoo/action-crm_extended.crm_forecast_action/{self.forecast.id}",
            TOUR_NAME,
            login=self.manager.login,
        )

        # The browser wrote through the test cursor: read the database again.
        self.env.invalidate_all()
        self.assertEqual(self.forecast.state, "frozen")
        self.assertTrue(self.forecast.date_frozen)
        office_line = self._line("team", team_id=self.office)
        self.assertTrue(office_line.is_adjusted)
        self.assertEqual(office_line.amount_adjusted, ADJUSTED)
        self.assertEqual(office_line.adjustment_note, NOTE)
        self.assertEqual(office_line.amount_forecast, ADJUSTED)
        self.assertEqual(office_line.write_uid, self.manager)
        self.assertEqual(self._line("company").amount_forecast, ADJUSTED + 5000)
