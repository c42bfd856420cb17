from datetime import date, datetime
from fractions import Fraction

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from .common import CrmExtendedCase


def money(value):
    return float(round(Fraction(value), 2))


@tagged("post_install", "-at_install")
class TestForecast(CrmExtendedCase):
    """A company of its own (no other opportunity counts), one region with one
    office of two salespeople, a second office that only has history, and four
    stages of our own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_f = cls.env["res.company"].create(
            {"name": "Forecast Co", "crm_forecast_min_samples": 5}
        )
        company = cls.company_f
        cls.seller_a = cls._user("salesperson", "crmx_fc_a", "Ann Forecast", company)
        cls.seller_b = cls._user("salesperson", "crmx_fc_b", "Bob Forecast", company)
        cls.manager = cls._user(
            "sales_manager", "crmx_fc_manager", "Meg Forecast", company
        )
        cls.regional = cls._user(
            "regional_manager", "crmx_fc_regional", "Reg Forecast", company
        )
        cls.region = cls._region(
            "Forecast North",
            "FCN",
            company_id=cls.company_f.id,
            manager_ids=[(6, 0, cls.regional.ids)],
        )
        cls.other_region = cls._region(
            "Forecast South", "FCS", company_id=cls.company_f.id
        )
        Team = cls.env["crm.team"]
        cls.team = Team.create(
            {
                "name": "North Office",
                "company_id": cls.company_f.id,
                "sales_region_id": cls.region.id,
                "member_ids": [(6, 0, (cls.seller_a | cls.seller_b).ids)],
            }
        )
        cls.team_2 = Team.create(
            {
                "name": "South Office",
                "company_id": cls.company_f.id,
                "sales_region_id": cls.other_region.id,
            }
        )
        Stage = cls.env["crm.stage"]
        cls.s1, cls.s2, cls.s3, cls.won = Stage.create(
            [
                {"name": "FC Qualify", "sequence": 1001},
                {
                    "name": "FC Propose",
                    "sequence": 1002,
                    "forecast_category": "best_case",
                },
                {"name": "FC Negotiate", "sequence": 1003},
                {"name": "FC Won", "sequence": 1004, "is_won": True},
            ]
        )
        Lead = cls.env["crm.lead"].with_company(cls.company_f)
        cls.Lead = Lead

        # History, closed in June 2026. North: 3 won, 2 lost in Qualify, 1 lost in
        # Propose. South: 1 won, 3 lost in Negotiate.
        history = []
        for team, stage, won, count in (
            (cls.team, cls.s1, True, 3),
            (cls.team, cls.s1, False, 2),
            (cls.team, cls.s2, False, 1),
            (cls.team_2, cls.s1, True, 1),
            (cls.team_2, cls.s3, False, 3),
        ):
            for __ in range(count):
                history.append((team, stage, won))
        leads = Lead.create(
            [
                {
                    "name": f"History {i}",
                    "type": "opportunity",
                    "company_id": cls.company_f.id,
                    "team_id": team.id,
                    "user_id": cls.seller_a.id,
                    "stage_id": stage.id,
                    "expected_revenue": 100,
                }
                for i, (team, stage, __) in enumerate(history)
            ]
        )
        won_leads = leads.filtered(lambda lead: history[leads.ids.index(lead.id)][2])
        won_leads.write({"stage_id": cls.won.id})
        (leads - won_leads).action_set_lost()
        leads.flush_recordset()
        cls.env.cr.execute(
            "UPDATE crm_lead SET date_closed = %s WHERE id = ANY(%s)",
            (datetime(2026, 6, 15, 12), leads.ids),
        )

        # January 2027's open opportunities
        def opportunity(name, user, stage, revenue, probability, deadline, **vals):
            return {
                "name": name,
                "type": "opportunity",
                "company_id": cls.company_f.id,
                "team_id": cls.team.id,
                "user_id": user.id,
                "stage_id": stage.id,
                "expected_revenue": revenue,
                "probability": probability,
                "date_deadline": deadline,
                **vals,
            }

        jan, feb = date(2027, 1, 20), date(2027, 2, 10)
        cls.o1, cls.o2, cls.o3, cls.o4, cls.o5, cls.o6 = Lead.create(
            [
                opportunity("O1", cls.seller_a, cls.s1, 1000, 10, jan),
                opportunity("O2", cls.seller_a, cls.s2, 2000, 50, jan),
                opportunity(
                    "O3",
                    cls.seller_a,
                    cls.s3,
                    4000,
                    80,
                    jan,
                    forecast_category="commit",
                ),
                opportunity(
                    "O4",
                    cls.seller_a,
                    cls.s1,
                    500,
                    30,
                    jan,
                    forecast_category="omitted",
                ),
                opportunity("O5", cls.seller_a, cls.s2, 3000, 50, feb),
                opportunity(
                    "O6",
                    cls.seller_b,
                    cls.s3,
                    10000,
                    60,
                    jan,
                    forecast_category="commit",
                ),
            ]
        )
        # Won on 5 January by Ann, booked on the South office: it does not change the
        # North office's win rates.
        cls.w1 = Lead.create(
            opportunity("W1", cls.seller_a, cls.s1, 700, 10, jan, team_id=cls.team_2.id)
        )
        cls.w1.stage_id = cls.won
        cls.w1.flush_recordset()
        cls.env.cr.execute(
            "UPDATE crm_lead SET date_closed = %s WHERE id = %s",
            (datetime(2027, 1, 5, 10), cls.w1.id),
        )
        cls.env.invalidate_all()

    def _forecast(self, user=None, **vals):
        Forecast = self.env["crm.forecast"].with_user(user or self.manager)
        return Forecast.with_company(self.company_f).create(
            {"company_id": self.company_f.id, "date_from": date(2027, 1, 1), **vals}
        )

    @staticmethod
    def _line(forecast, level, record=None):
        field = {"user": "user_id", "team": "team_id", "region": "sales_region_id"}
        return forecast.line_ids.filtered(
            lambda line: line.level == level
            and (level == "company" or line[field[level]] == record)
        )

    # Amounts -----------------------------------------------------------

    @freeze_time("2027-01-10 09:00:00")
    def test_amounts_by_hand(self):
        forecast = self._forecast()
        self.assertEqual(
            (forecast.date_from, forecast.date_to),
            (date(2027, 1, 1), date(2027, 1, 31)),
        )
        forecast.action_compute()
        ann = self._line(forecast, "user", self.seller_a)
        bob = self._line(forecast, "user", self.seller_b)
        self.assertEqual(len(ann), 1)
        # Omitted O4 and February's O5 do not count.
        self.assertEqual(ann.opportunity_count, 3)
        self.assertEqual(ann.amount_pipeline, 7000)
        self.assertEqual(ann.amount_best_case, 6000)
        self.assertEqual(ann.amount_commit, 4000)
        self.assertEqual(ann.amount_weighted, 100 + 1000 + 3200)
        # North's own win rates (6 closed ≥ 5), a lost opportunity counting in the
        # stages it entered only (the one lost in Propose was created there):
        # Qualify 3/5, Propose 3/4, Negotiate 3/3.
        self.assertEqual(ann.amount_historical, 600 + 1500 + 4000)
        self.assertEqual(ann.amount_won_to_date, 700)
        self.assertEqual(ann.team_id, self.team)
        self.assertEqual(ann.sales_region_id, self.region)
        self.assertEqual(
            (bob.amount_pipeline, bob.amount_commit, bob.amount_weighted),
            (10000, 10000, 6000),
        )
        self.assertEqual(bob.amount_historical, 10000)
        self.assertEqual(bob.amount_won_to_date, 0)

    @freeze_time("2027-01-10 09:00:00")
    def test_company_win_rate_when_team_has_few_samples(self):
        self.company_f.crm_forecast_min_samples = 10
        forecast = self._forecast()
        forecast.action_compute()
        # Company: 5 won (with W1), lost 2 in Qualify, 1 in Propose, 3 in
        # Negotiate, each created in the stage it was lost in
        rate_s1, rate_s2, rate_s3 = Fraction(5, 7), Fraction(5, 6), Fraction(5, 8)
        ann = self._line(forecast, "user", self.seller_a)
        self.assertEqual(
            ann.amount_historical,
            money(1000 * rate_s1 + 2000 * rate_s2 + 4000 * rate_s3),
        )
        self.assertEqual(
            self._line(forecast, "user", self.seller_b).amount_historical,
            money(10000 * rate_s3),
        )

    def test_win_rate_follows_the_stages_passed(self):
        """A lost opportunity counts in every stage it entered; one whose history
        began at install, in the stages up to the one it was in then."""
        with freeze_time("2026-06-01 09:00:00"):
            walked = self.Lead.create(
                {
                    "name": "Walked and lost",
                    "type": "opportunity",
                    "company_id": self.company_f.id,
                    "team_id": self.team.id,
                    "user_id": self.seller_a.id,
                    "stage_id": self.s1.id,
                }
            )
            walked.stage_id = self.s2
            walked.stage_id = self.s3
            walked.action_set_lost()
        with freeze_time("2027-01-10 09:00:00"):
            forecast = self._forecast()
            forecast.action_compute()
            # North: 3 won; lost: 2 in Qualify, 1 in Propose, 1 through all three
            # → Qualify 3/6, Propose 3/5, Negotiate 3/4
            ann = self._line(forecast, "user", self.seller_a)
            self.assertEqual(ann.amount_historical, 500 + 1200 + 3000)
            # The one lost in Propose with a history begun at install: assumed to
            # have passed Qualify too → Qualify 3/7
            lost_in_propose = self.Lead.with_context(active_test=False).search(
                [
                    ("company_id", "=", self.company_f.id),
                    ("team_id", "=", self.team.id),
                    ("stage_id", "=", self.s2.id),
                    ("active", "=", False),
                ]
            )
            self.assertEqual(len(lost_in_propose), 1)
            self.env.cr.execute(
                "UPDATE crm_lead_stage_history SET is_backfill = TRUE "
                "WHERE lead_id = %s",
                [lost_in_propose.id],
            )
            forecast.action_compute()
            self.assertEqual(
                ann.amount_historical, money(1000 * Fraction(3, 7) + 1200 + 3000)
            )

    @freeze_time("2027-01-04 09:00:00")
    def test_no_history_uses_probability(self):
        # Nothing closed in the last three months (W1 closes tomorrow)
        self.company_f.crm_forecast_lookback_months = 3
        forecast = self._forecast()
        forecast.action_compute()
        ann = self._line(forecast, "user", self.seller_a)
        self.assertEqual(ann.amount_historical, 4300)
        self.assertEqual(ann.amount_historical, ann.amount_weighted)
        self.assertEqual(ann.amount_won_to_date, 0)

    @freeze_time("2027-01-10 09:00:00")
    def test_rollup_and_adjustments(self):
        forecast = self._forecast()
        forecast.action_compute()
        ann = self._line(forecast, "user", self.seller_a)
        team = self._line(forecast, "team", self.team)
        region = self._line(forecast, "region", self.region)
        company = self._line(forecast, "company")
        self.assertEqual(ann.parent_id, team)
        self.assertEqual(team.parent_id, region)
        self.assertEqual(region.parent_id, company)
        for line in (team, region, company):
            self.assertEqual(line.amount_pipeline, 17000)
            self.assertEqual(line.amount_weighted, 10300)
            self.assertEqual(line.amount_forecast, 14000)
        self.assertFalse(self._line(forecast, "region", self.other_region))
        self.assertEqual(forecast.amount_forecast, 14000)

        with self.assertRefused(ValidationError, "note is mandatory"):
            ann.with_user(self.manager).amount_adjusted = 5000
        ann.with_user(self.manager).write(
            {"amount_adjusted": 5000, "adjustment_note": "O1 will close too"}
        )
        self.assertTrue(ann.is_adjusted)
        self.assertEqual((ann.amount_submitted, ann.amount_forecast), (4000, 5000))
        self.assertEqual((team.amount_submitted, team.amount_forecast), (15000, 15000))
        team.with_user(self.manager).write(
            {"amount_adjusted": 12000, "adjustment_note": "Bob is optimistic"}
        )
        # The team's adjustment is kept beside the sum below it
        self.assertEqual((team.amount_submitted, team.amount_forecast), (15000, 12000))
        self.assertEqual(company.amount_forecast, 12000)

        # Recomputing a draft keeps the adjustments
        self.o2.forecast_category = "commit"
        forecast.action_compute()
        ann = self._line(forecast, "user", self.seller_a)
        team = self._line(forecast, "team", self.team)
        self.assertEqual((ann.amount_commit, ann.amount_forecast), (6000, 5000))
        self.assertEqual(ann.adjustment_note, "O1 will close too")
        self.assertEqual((team.amount_submitted, team.amount_forecast), (15000, 12000))

        ann.with_user(self.manager).action_clear_adjustment()

        self.assertEqual(ann.amount_forecast, 6000)
        self.assertEqual(team.amount_submitted, 16000)

    @freeze_time("2027-01-10 09:00:00")
    def test_recompute_keeps_lines_and_history(self):
        forecast = self._forecast()
        forecast.action_compute()
        lines = forecast.line_ids
        ann = self._line(forecast, "user", self.seller_a)
        bob = self._line(forecast, "user", self.seller_b)
        bob.with_user(self.manager).with_context(tracking_disable=False).write(
            {"amount_adjusted": 8000, "adjustment_note": "Half of O6"}
        )
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking is written before commit
        tracked = bob.message_ids
        self.assertTrue(tracked)
        # Bob's opportunity goes to Ann; a third salesperson appears
        self.o6.user_id = self.seller_a
        forecast.action_freeze()
        self.assertEqual(forecast.line_ids, lines, "the same lines, updated")
        self.assertEqual(ann.amount_pipeline, 17000)
        self.assertEqual(ann.amount_commit, 14000)
        # Bob still has his office's line: his adjustment stays, on zero figures
        self.assertEqual((bob.amount_commit, bob.amount_forecast), (0, 8000))
        self.assertEqual(bob.message_ids, tracked)
        team = self._line(forecast, "team", self.team)
        self.assertEqual((team.amount_submitted, team.amount_forecast), (22000, 22000))

    # Freeze, close, jobs -----------------------------------------------

    def test_freeze_close_and_errors(self):
        with freeze_time("2027-01-10 09:00:00"):
            forecast = self._forecast()
            forecast.action_freeze()
            self.assertEqual(forecast.state, "frozen")
            ann = self._line(forecast, "user", self.seller_a)
            self.assertEqual(ann.amount_won_frozen, 700)
            with self.assertRefused(UserError, "only adjust"):
                ann.with_user(self.manager).write({"amount_commit": 1})
            with self.assertRefused(UserError, "draft forecast can be computed"):
                forecast.action_compute()
            with self.assertRefused(UserError, "cannot be deleted"):
                forecast.unlink()
            with self.assertRefused(UserError, "cannot change"):
                forecast.date_from = date(2027, 2, 1)
            with self.assertRefused(UserError, "once its period has ended"):
                forecast.action_close()
            # Adjusting a frozen forecast is allowed
            ann.with_user(self.manager).write(
                {"amount_adjusted": 4500, "adjustment_note": "Safer"}
            )
        with freeze_time("2027-01-20 09:00:00"):
            self.o3.stage_id = self.won
        with freeze_time("2027-01-25 09:00:00"):
            # What the opportunities do afterwards does not touch the snapshot
            self.o6.expected_revenue = 1
            forecast.action_refresh_won()
            self.assertEqual(ann.amount_won_to_date, 4700)
            self.assertEqual(ann.amount_commit, 4000)
            self.assertEqual(
                self._line(forecast, "user", self.seller_b).amount_commit, 10000
            )
        with freeze_time("2027-02-02 09:00:00"):
            forecast.action_close()
        self.assertEqual(forecast.state, "closed")
        bob = self._line(forecast, "user", self.seller_b)
        self.assertEqual(ann.amount_actual, 4700)
        # Each method's forecast is what was won when frozen plus its open amount
        self.assertEqual(ann.error_commit, 4000 + 700 - 4700)
        self.assertEqual(ann.error_pipeline, 7000 + 700 - 4700)
        self.assertEqual(ann.error_weighted, 4300 + 700 - 4700)
        self.assertEqual(ann.error_forecast, 4500 + 700 - 4700)
        self.assertEqual((bob.amount_actual, bob.error_commit), (0, 10000))
        company = self._line(forecast, "company")
        self.assertEqual(company.amount_actual, 4700)
        self.assertEqual(forecast.amount_actual, 4700)
        with self.assertRefused(UserError, "closed forecast cannot be adjusted"):
            ann.with_user(self.manager).write(
                {"amount_adjusted": 1, "adjustment_note": "late"}
            )

    def test_scheduled_job_twice_changes_nothing(self):
        self.company_f.crm_forecast_period_type = "month"
        Forecast = self.env["crm.forecast"]
        domain = [("company_id", "=", self.company_f.id)]

        def snapshot():
            forecasts = Forecast.search(domain)
            return sorted(
                (f.date_from, f.state, f.date_frozen, f.date_closed)
                + tuple(
                    sorted(
                        (line.level, line.name, line.amount_commit, line.amount_actual)
                        for line in f.line_ids
                    )
                )
                for f in forecasts
            )

        with freeze_time("2027-01-02 06:00:00"):
            Forecast._cron_forecasts()
            january = Forecast.search(domain)
            self.assertEqual(len(january), 1)
            self.assertEqual(
                (january.date_from, january.state), (date(2027, 1, 1), "frozen")
            )
            first = snapshot()
            Forecast._cron_forecasts()
            self.assertEqual(snapshot(), first)
        with freeze_time("2027-02-01 06:00:00"):
            Forecast._cron_forecasts()
            first = snapshot()
            Forecast._cron_forecasts()
            self.assertEqual(snapshot(), first)
        self.assertEqual(january.state, "closed")
        self.assertEqual(Forecast.search(domain).mapped("state"), ["frozen", "closed"])

    # Bad input ---------------------------------------------------------

    def test_bad_input(self):
        forecast = self._forecast(date_from=date(2027, 1, 17))
        self.assertEqual(forecast.date_from, date(2027, 1, 1), "moved to the start")
        with self.assertRefused(ValidationError, "already has the forecast"):
            self._forecast(date_from=date(2027, 1, 31))
        # A quarter is another scope; its start follows the fiscal year
        self.company_f.write({"fiscalyear_last_month": "3", "fiscalyear_last_day": 31})
        quarter = self._forecast(period_type="quarter", date_from=date(2027, 3, 3))
        self.assertEqual(
            (quarter.date_from, quarter.date_to), (date(2027, 1, 1), date(2027, 3, 31))
        )
        self.company_f.write({"fiscalyear_last_month": "2", "fiscalyear_last_day": 28})
        with self.assertRefused(ValidationError, "already has the forecast"):
            self._forecast(period_type="quarter", date_from=date(2027, 3, 3))
        with self.assertRefused(ValidationError, "must be at least 1"):
            self.company_f.crm_forecast_lookback_months = 0
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.o1.probability = 150
            self.o1.flush_recordset()

    # Access ------------------------------------------------------------

    @freeze_time("2027-01-10 09:00:00")
    def test_access_per_role(self):
        forecast = self._forecast()
        forecast.action_compute()
        Line = self.env["crm.forecast.line"]
        domain = [("forecast_id", "=", forecast.id)]
        ann_lines = Line.with_user(self.seller_a).search(domain)
        self.assertEqual(ann_lines.mapped("user_id"), self.seller_a)
        self.assertEqual(ann_lines.mapped("level"), ["user"])
        with self.assertRaises(AccessError):
            forecast.with_user(self.seller_a).action_compute()
        with self.assertRaises(AccessError):
            ann_lines.with_user(self.seller_a).write(
                {"amount_adjusted": 1, "adjustment_note": "mine"}
            )
        with self.assertRaises(AccessError):
            forecast.with_user(self.seller_a).action_freeze()
        regional_lines = Line.with_user(self.regional).search(domain)
        self.assertEqual(
            set(regional_lines.mapped("level")), {"user", "team", "region"}
        )
        self.assertEqual(regional_lines.sales_region_id, self.region)
        with self.assertRaises(AccessError):
            regional_lines[:1].with_user(self.regional).write(
                {"amount_adjusted": 1, "adjustment_note": "mine"}
            )
        self.assertEqual(
            Line.with_user(self.manager).search_count(domain), len(forecast.line_ids)
        )
        # Another company's users see nothing of it
        self.assertFalse(Line.with_user(self.salesman).search(domain))

    @freeze_time("2027-01-10 09:00:00")
    def test_compute_query_count_is_constant(self):
        forecast = self._forecast()
        forecast.action_compute()
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(__system__=16) as __:
            forecast.action_compute()
        # Ten times the opportunities and another salesperson: the same queries
        seller_c = self._user("salesperson", "crmx_fc_c", company=self.company_f)
        self.team.member_ids |= seller_c
        self.Lead.create(
            [
                {
                    "name": f"More {i}",
                    "type": "opportunity",
                    "company_id": self.company_f.id,
                    "team_id": self.team.id,
                    "user_id": seller_c.id,
                    "stage_id": self.s2.id,
                    "expected_revenue": 100,
                    "date_deadline": date(2027, 1, 15),
                }
                for i in range(60)
            ]
        )
        forecast.action_compute()  # warm the caches the new user cleared
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(__system__=16):
            forecast.action_compute()
        self.assertEqual(self._line(forecast, "user", seller_c).amount_pipeline, 6000)

    def test_category_follows_stage_changes_only(self):
        lead = self.o3  # created in Negotiate as commit
        self.assertEqual(lead.forecast_category, "commit")
        lead.user_id = self.seller_b
        lead.team_id = self.team_2
        self.assertEqual(lead.forecast_category, "commit", "same stage, same choice")
        lead.stage_id = self.s2
        self.assertEqual(lead.forecast_category, "best_case", "the new stage's")
        lead.forecast_category = "omitted"
        lead.stage_id = self.s2
        self.assertEqual(lead.forecast_category, "omitted")
        fresh = self.Lead.create(
            {"name": "Fresh", "type": "opportunity", "stage_id": self.s2.id}
        )
        self.assertEqual(fresh.forecast_category, "best_case")
