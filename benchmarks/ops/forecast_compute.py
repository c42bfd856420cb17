"""Forecast computation: the forecast of one quarter over the whole dataset.

The quarter is the one whose open opportunities are the most numerous (the running one
in a generated dataset). crm_extended creates the ``crm.forecast`` of that quarter and
computes it (``action_compute``) as a sales manager: a constant number of queries,
whatever the number of opportunities. The SQL floor is one hand-written GROUP BY giving
the same figures per salesperson, historical win rates included (written on its own,
not taken from crm_extended). The ORM loop goes team by team: it reads the team's
opportunities closed in the lookback window to count its win rates, then, for each
salesperson of the team, searches their opportunities of the quarter and sums them in
Python (timed on a sample of teams at M and L, extrapolated by the number of
opportunities read).

The answer: per salesperson with opportunities in the quarter, the pipeline, best case,
commit, weighted and historical figures, rounded to cents. The three answers may differ
by one cent where a float sum (the ORM loop) and a numeric one round a half cent apart.

The forecast is computed as of one moment fixed in ``prepare`` (crm_extended reads the
clock, patched for the run): with a clock that moves, opportunities closed a year ago to
the minute leave the win-rate window between two runs.
"""

from unittest.mock import patch

from dateutil.relativedelta import relativedelta
from harness import Operation, ensure_user

from odoo import fields
from odoo.tools import SQL

from odoo.addons.crm_extended.models.crm_forecast import period_bounds

# The leads of the dataset of each size (crm_extended/populate/bulk.py)
SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
# Teams the ORM loop is timed on (None: all of them)
ORM_SAMPLES = {"S": None, "M": 4, "L": 2}
LOGIN = "bench_sales_manager"
PERIOD_TYPE = "quarter"
FIGURES = ("pipeline", "best_case", "commit", "weighted", "historical")


def _answer(rows):
    """``{user id: (pipeline, best case, commit, weighted, historical)}`` in cents."""
    return {
        row[0]: tuple(round(float(value or 0.0), 2) for value in row[1:])
        for row in rows
    }


def _open_domain(ctx):
    """The open opportunities of the quarter, the won and omitted ones left to the
    loop itself."""
    return [
        ("type", "=", "opportunity"),
        ("company_id", "=", ctx["company"].id),
        ("date_deadline", ">=", ctx["date_from"]),
        ("date_deadline", "<=", ctx["date_to"]),
    ]


class _LoopWinRates:
    """The win rates of the ORM loop: a team's counted from its closed
    opportunities read record by record, the first time they are needed."""

    def __init__(self, env, ctx):
        self.env = env
        self.ctx = ctx
        self.stages = env["crm.stage"].search([])
        self.teams = {}  # team id (0: the company): (closed count, {stage id: rate})

    def of_team(self, team_id):
        if team_id not in self.teams:
            ctx = self.ctx
            domain = [
                ("type", "=", "opportunity"),
                ("company_id", "=", ctx["company"].id),
                ("date_closed", ">=", ctx["since"]),
                ("date_closed", "<", ctx["now"]),
            ]
            if team_id:
                domain.append(("team_id", "=", team_id))
            leads = self.env["crm.lead"].with_context(active_test=False).search(domain)
            History = self.env["crm.lead.stage.history"]
            closed = []  # (won, ids of the stages a lost opportunity reached)
            for lead in leads:
                won = lead.active and lead.stage_id.is_won
                if lead.active and not won:
                    continue  # still open
                reached = set()
                if not won:
                    # The stages it entered; before a history begun at install,
                    # every stage up to the one it was in then
                    for line in History.search([("lead_id", "=", lead.id)]):
                        reached.add(line.stage_to_id.id)
                        if line.is_backfill:
                            reached.update(
                                stage.id
                                for stage in self.stages
                                if stage.sequence <= line.stage_to_id.sequence
                            )
                closed.append((won, reached))
            wins = sum(1 for won, _reached in closed if won)
            by_stage = {}
            for stage in self.stages:
                reached = wins + sum(
                    1 for won, stages in closed if not won and stage.id in stages
                )
                by_stage[stage.id] = wins / reached if reached else None
            self.teams[team_id] = (len(closed), by_stage)
        return self.teams[team_id]

    def rate(self, opportunity):
        rate = None
        if opportunity.team_id:
            count, by_stage = self.of_team(opportunity.team_id.id)
            if count >= self.ctx["min_samples"]:
                rate = by_stage.get(opportunity.stage_id.id)
        if rate is None:
            rate = self.of_team(0)[1].get(opportunity.stage_id.id)
        if rate is None:
            rate = (opportunity.probability or 0.0) / 100
        return rate


def _loop_add(figures, opportunity, rates):
    """Add an opportunity to its salesperson's figures, as the ORM loop does."""
    if opportunity.stage_id.is_won:
        return
    category = opportunity.forecast_category or "pipeline"
    if category == "omitted":
        return
    amount = opportunity.expected_revenue or 0.0
    sums = figures.setdefault(opportunity.user_id.id, [0.0] * len(FIGURES))
    sums[0] += amount
    if category in ("best_case", "commit"):
        sums[1] += amount
    if category == "commit":
        sums[2] += amount
    sums[3] += amount * (opportunity.probability or 0.0) / 100
    sums[4] += amount * rates.rate(opportunity)


class ForecastCompute(Operation):
    name = "forecast computation"
    user_login = LOGIN  # forecasts are computed by sales managers

    def __init__(self, size_name, size):
        super().__init__(size_name, size)
        self.orm_sample = ORM_SAMPLES[size_name]

    def prepare(self, env):
        ensure_user(env, LOGIN, "sales_team.group_sale_manager")
        company = env.company
        now = fields.Datetime.now().replace(microsecond=0)
        # The quarter holding the most open opportunities.
        env.cr.execute(
            SQL(
                """
                SELECT date_trunc('month', l.date_deadline)::date, count(*)
                  FROM crm_lead l
                  LEFT JOIN crm_stage s ON s.id = l.stage_id
                 WHERE l.active AND l.type = 'opportunity' AND l.company_id = %s
                   AND l.user_id IS NOT NULL AND l.date_deadline IS NOT NULL
                   AND NOT COALESCE(s.is_won, FALSE)
                 GROUP BY 1
                """,
                company.id,
            )
        )
        quarters = {}
        for month, count in env.cr.fetchall():
            start = period_bounds(company, PERIOD_TYPE, month)[0]
            quarters[start] = quarters.get(start, 0) + count
        if not quarters:
            raise RuntimeError(
                "No open opportunity: fill the database first "
                "(benchmarks/generate.py --size ...)."
            )
        date_from = max(quarters, key=lambda start: (quarters[start], start))
        date_to = period_bounds(company, PERIOD_TYPE, date_from)[1]
        # A forecast of the same quarter would refuse the new one (rolled back).
        env.cr.execute(
            SQL(
                """
                DELETE FROM crm_forecast
                 WHERE company_id = %s AND period_type = %s
                   AND date_from <= %s AND date_to >= %s
                """,
                company.id,
                PERIOD_TYPE,
                date_to,
                date_from,
            )
        )
        since = now - relativedelta(months=company.crm_forecast_lookback_months)
        ctx = {
            "company": company,
            "now": now,
            "since": since,
            "date_from": date_from,
            "date_to": date_to,
            "min_samples": company.crm_forecast_min_samples,
        }
        ctx["teams"], ctx["work"] = self._orm_work(env, ctx)
        ctx["opportunities"] = quarters[date_from]
        return ctx

    def _orm_work(self, env, ctx):
        """The teams the ORM loop goes through, and the opportunities it reads for
        each: the team's closed in the win-rate window, its members' of the quarter
        (None: those left after the teams, read only by the full loop)."""
        teams = env["crm.team"].search(
            [("company_id", "in", [ctx["company"].id, False])], order="id"
        )
        env.cr.execute(
            SQL(
                """
                SELECT team_id, count(*) FROM crm_lead
                 WHERE type = 'opportunity' AND company_id = %s
                   AND date_closed >= %s AND date_closed < %s
                 GROUP BY team_id
                """,
                ctx["company"].id,
                ctx["since"],
                ctx["now"],
            )
        )
        closed = dict(env.cr.fetchall())
        env.cr.execute(
            SQL(
                """
                SELECT m.crm_team_id, count(*)
                  FROM crm_lead l
                  JOIN (SELECT DISTINCT ON (user_id) user_id, crm_team_id
                          FROM crm_team_member WHERE active
                         ORDER BY user_id, crm_team_id) m ON m.user_id = l.user_id
                 WHERE l.active AND l.type = 'opportunity' AND l.company_id = %s
                   AND l.date_deadline BETWEEN %s AND %s
                 GROUP BY m.crm_team_id
                """,
                ctx["company"].id,
                ctx["date_from"],
                ctx["date_to"],
            )
        )
        opened = dict(env.cr.fetchall())
        work = {
            team.id: closed.get(team.id, 0) + opened.get(team.id, 0) for team in teams
        }
        work[None] = sum(closed.values()) + sum(opened.values()) - sum(work.values())
        # The teams with opportunities first: the sample is taken among them.
        return sorted(teams.ids, key=lambda team_id: not work[team_id]), work

    def orm_factor(self, ctx, sample):
        sampled = sum(ctx["work"][team_id] for team_id in ctx["teams"][:sample])
        return sum(ctx["work"].values()) / sampled

    def crm_extended(self, env, ctx):
        with patch.object(fields.Datetime, "now", lambda: ctx["now"]):
            forecast = env["crm.forecast"].create(
                {
                    "company_id": ctx["company"].id,
                    "period_type": PERIOD_TYPE,
                    "date_from": ctx["date_from"],
                }
            )
            forecast.action_compute()
        env.flush_all()
        env.cr.execute(
            SQL(
                """
                SELECT user_id, amount_pipeline, amount_best_case, amount_commit,
                       amount_weighted, amount_historical
                  FROM crm_forecast_line
                 WHERE forecast_id = %s AND level = 'user' AND opportunity_count > 0
                """,
                forecast.id,
            )
        )
        return _answer(env.cr.fetchall())

    def sql_floor(self, env, ctx):
        # No JIT compilation: PostgreSQL overestimates the query (crm_stage is never
        # analyzed) and compiles it for longer than it runs; a floor is the best
        # hand-written SQL.
        env.cr.execute("SET LOCAL jit = off")
        # Win rate of a stage in a scope (a team, or the whole company): the closed
        # opportunities won, over those won or lost having reached that stage: a
        # lost one reached the stages its history entered, and, where the history
        # began at install, every stage up to the one it was in then. A team with
        # fewer closed opportunities than the minimum, or without any that reached
        # the stage, takes the company's rate; without either, the opportunity's
        # own probability.
        env.cr.execute(
            SQL(
                """
                WITH closed AS (
                    SELECT l.id, l.team_id,
                           l.active AND COALESCE(s.is_won, FALSE) AS won
                      FROM crm_lead l
                      LEFT JOIN crm_stage s ON s.id = l.stage_id
                     WHERE l.type = 'opportunity' AND l.company_id = %(company)s
                       AND l.date_closed >= %(since)s AND l.date_closed < %(now)s
                       AND (NOT l.active OR s.is_won)
                ),
                reached AS (
                    SELECT DISTINCT c.id, c.team_id, st.id AS stage_id
                      FROM closed c
                      JOIN crm_lead_stage_history h ON h.lead_id = c.id
                      JOIN crm_stage hs ON hs.id = h.stage_to_id
                      JOIN crm_stage st ON st.id = hs.id
                           OR (h.is_backfill AND st.sequence <= hs.sequence)
                     WHERE NOT c.won
                ),
                scopes AS (
                    SELECT GROUPING(team_id) = 1 AS company_wide, team_id,
                           count(*) AS closed, count(*) FILTER (WHERE won) AS wins
                      FROM closed
                     GROUP BY GROUPING SETS ((team_id), ())
                ),
                lost AS (
                    SELECT GROUPING(team_id) = 1 AS company_wide, team_id,
                           stage_id, count(*) AS n
                      FROM reached
                     GROUP BY GROUPING SETS ((team_id, stage_id), (stage_id))
                ),
                rates AS (
                    SELECT sc.company_wide, sc.team_id, st.id AS stage_id,
                           sc.closed,
                           sc.wins::numeric
                           / NULLIF(sc.wins + COALESCE(lo.n, 0), 0) AS rate
                      FROM scopes sc CROSS JOIN crm_stage st
                      LEFT JOIN lost lo ON lo.company_wide = sc.company_wide
                           AND lo.team_id IS NOT DISTINCT FROM sc.team_id
                           AND lo.stage_id = st.id
                )
                SELECT l.user_id,
                       sum(COALESCE(l.expected_revenue, 0)),
                       sum(COALESCE(l.expected_revenue, 0)) FILTER (
                           WHERE l.forecast_category IN ('best_case', 'commit')),
                       sum(COALESCE(l.expected_revenue, 0)) FILTER (
                           WHERE l.forecast_category = 'commit'),
                       sum(COALESCE(l.expected_revenue, 0)
                           * COALESCE(l.probability, 0)::numeric / 100),
                       sum(COALESCE(l.expected_revenue, 0) * COALESCE(
                           CASE WHEN team.closed >= %(min_samples)s THEN team.rate END,
                           company.rate,
                           COALESCE(l.probability, 0)::numeric / 100))
                  FROM crm_lead l
                  LEFT JOIN crm_stage s ON s.id = l.stage_id
                  LEFT JOIN rates team ON NOT team.company_wide
                        AND team.team_id = l.team_id AND team.stage_id = l.stage_id
                  LEFT JOIN rates company ON company.company_wide
                        AND company.stage_id = l.stage_id
                 WHERE l.active AND l.type = 'opportunity'
                   AND l.company_id = %(company)s AND l.user_id IS NOT NULL
                   AND NOT COALESCE(s.is_won, FALSE)
                   AND l.date_deadline BETWEEN %(date_from)s AND %(date_to)s
                   AND COALESCE(l.forecast_category, 'pipeline') != 'omitted'
                 GROUP BY l.user_id
                """,
                company=ctx["company"].id,
                since=ctx["since"],
                now=ctx["now"],
                min_samples=ctx["min_samples"],
                date_from=ctx["date_from"],
                date_to=ctx["date_to"],
            )
        )
        return _answer(env.cr.fetchall())

    def orm_loop(self, env, ctx, sample):
        Lead = env["crm.lead"]
        rates = _LoopWinRates(env, ctx)
        figures = {}
        teams = env["crm.team"].browse(
            ctx["teams"][:sample] if sample else ctx["teams"]
        )
        seen = set()
        for team in teams:
            rates.of_team(team.id)
            for user in team.member_ids:
                if user.id in seen:
                    continue
                seen.add(user.id)
                for opportunity in Lead.search(
                    _open_domain(ctx) + [("user_id", "=", user.id)]
                ):
                    _loop_add(figures, opportunity, rates)
        if not sample:
            # Salespeople outside the teams
            for opportunity in Lead.search(
                _open_domain(ctx)
                + [("user_id", "!=", False), ("user_id", "not in", list(seen))]
            ):
                _loop_add(figures, opportunity, rates)
        return _answer((user_id, *sums) for user_id, sums in figures.items())

    def same(self, a, b):
        return (
            bool(a)
            and a.keys() == b.keys()
            and all(
                abs(x - y) <= 0.011
                for user_id in a
                for x, y in zip(a[user_id], b[user_id], strict=True)
            )
        )

    def same_sample(self, full, partial):
        return (
            bool(partial)
            and partial.keys() <= full.keys()
            and self.same({k: full[k] for k in partial}, partial)
        )


OPERATIONS = [ForecastCompute]
