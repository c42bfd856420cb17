from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..roles import check_role

# Forecasting methods, in the order reports show them: field amount_<key>
FORECAST_METHODS = [
    ("pipeline", "Pipeline"),
    ("best_case", "Best Case"),
    ("commit", "Commit"),
    ("weighted", "Weighted"),
    ("historical", "Historical"),
    ("forecast", "Forecast"),
]


# The figures a computation sets on a line, and a rollup line sums
LINE_FIGURES = (
    "opportunity_count",
    "amount_pipeline",
    "amount_best_case",
    "amount_commit",
    "amount_weighted",
    "amount_historical",
    "amount_won_to_date",
)


def period_bounds(company, period_type, day):
    """First and last day of the ``period_type`` period of ``company`` holding
    ``day``. Quarters follow the company's fiscal year."""
    month_start = day.replace(day=1)
    if period_type == "month":
        return month_start, month_start + relativedelta(months=1, days=-1)
    first_month = int(company.fiscalyear_last_month or 12) % 12 + 1
    offset = (day.month - first_month) % 3
    start = month_start - relativedelta(months=offset)
    return start, start + relativedelta(months=3, days=-1)


class CrmForecast(models.Model):
    _name = "crm.forecast"
    _description = "Sales Forecast"
    _inherit = ["mail.thread", "crm.protected.fields.mixin"]
    _order = "date_from desc, period_type, company_id, id desc"
    _check_company_auto = True

    # Set by the actions only: a frozen forecast is a snapshot, not a state a
    # manager writes back to draft
    _protected_fields = dict.fromkeys(
        ("state", "date_computed", "date_frozen", "date_closed"), ""
    )

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    period_type = fields.Selection(
        [("month", "Month"), ("quarter", "Quarter")],
        required=True,
        default=lambda self: self.env.company.crm_forecast_period_type,
    )
    date_from = fields.Date(
        string="Period Start",
        required=True,
        default=lambda self: fields.Date.context_today(self),
        help="Any day of the period: it is moved to the period's first day.",
    )
    date_to = fields.Date(
        string="Period End", compute="_compute_date_to", store=True, index=True
    )
    state = fields.Selection(
        [("draft", "Draft"), ("frozen", "Frozen"), ("closed", "Closed")],
        string="Status",
        default="draft",
        required=True,
        tracking=True,
        copy=False,
    )
    date_computed = fields.Datetime(string="Computed On", readonly=True, copy=False)
    date_frozen = fields.Datetime(string="Frozen On", readonly=True, copy=False)
    date_closed = fields.Datetime(string="Closed On", readonly=True, copy=False)
    line_ids = fields.One2many("crm.forecast.line", "forecast_id", string="Lines")
    line_count = fields.Integer(string="Salespeople", compute="_compute_totals")
    # The company line's figures, labelled as on the lines
    amount_pipeline = fields.Monetary(string="Pipeline", compute="_compute_totals")
    amount_best_case = fields.Monetary(string="Best Case", compute="_compute_totals")
    amount_commit = fields.Monetary(string="Commit", compute="_compute_totals")
    amount_weighted = fields.Monetary(string="Weighted", compute="_compute_totals")
    amount_historical = fields.Monetary(string="Historical", compute="_compute_totals")
    amount_forecast = fields.Monetary(string="Forecast", compute="_compute_totals")
    amount_won_to_date = fields.Monetary(
        string="Won to Date", compute="_compute_totals"
    )
    amount_actual = fields.Monetary(string="Actual", compute="_compute_totals")

    @api.depends("period_type", "date_from", "company_id")
    def _compute_name(self):
        for forecast in self:
            if not forecast.date_from:
                forecast.name = False
            elif forecast.period_type == "quarter":
                forecast.name = _(
                    "%(start)s – %(end)s",
                    start=format_date(self.env, forecast.date_from, date_format="MMM"),
                    end=format_date(self.env, forecast.date_to, date_format="MMM yyyy"),
                )
            else:
                forecast.name = format_date(
                    self.env, forecast.date_from, date_format="MMMM yyyy"
                )

    @api.depends("period_type", "date_from", "company_id")
    def _compute_date_to(self):
        for forecast in self:
            if forecast.date_from and forecast.period_type:
                forecast.date_to = period_bounds(
                    forecast.company_id, forecast.period_type, forecast.date_from
                )[1]
            else:
                forecast.date_to = False

    @api.depends("line_ids")
    def _compute_totals(self):
        totals = {
            forecast: line
            for forecast, line in self.env["crm.forecast.line"]._read_group(
                [("forecast_id", "in", self.ids), ("level", "=", "company")],
                ["forecast_id"],
                ["id:recordset"],
            )
        }
        counts = dict(
            self.env["crm.forecast.line"]._read_group(
                [("forecast_id", "in", self.ids), ("level", "=", "user")],
                ["forecast_id"],
                ["__count"],
            )
        )
        for forecast in self:
            line = totals.get(forecast, self.env["crm.forecast.line"])[:1]
            forecast.line_count = counts.get(forecast, 0)
            for fname in (
                "amount_pipeline",
                "amount_best_case",
                "amount_commit",
                "amount_weighted",
                "amount_historical",
                "amount_forecast",
                "amount_won_to_date",
                "amount_actual",
            ):
                forecast[fname] = line[fname]

    @api.constrains("company_id", "period_type", "date_from")
    def _check_overlap(self):
        for forecast in self:
            overlapping = self.search(
                [
                    ("id", "!=", forecast.id),
                    ("company_id", "=", forecast.company_id.id),
                    ("period_type", "=", forecast.period_type),
                    ("date_from", "<=", forecast.date_to),
                    ("date_to", ">=", forecast.date_from),
                ],
                limit=1,
            )
            if overlapping:
                raise ValidationError(
                    _(
                        "%(company)s already has the forecast %(other)s for this "
                        "period.",
                        company=forecast.company_id.name,
                        other=overlapping.name,
                    )
                )

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_date_from(vals)
        return super().create(vals_list)

    def write(self, vals):
        if {"company_id", "period_type", "date_from"} & set(vals) and any(
            forecast.state != "draft" for forecast in self
        ):
            raise UserError(
                _("The period of a frozen or closed forecast cannot change.")
            )
        if "date_from" in vals or "period_type" in vals:
            for forecast in self:
                forecast_vals = dict(vals)
                forecast_vals.setdefault("period_type", forecast.period_type)
                forecast_vals.setdefault("company_id", forecast.company_id.id)
                self._normalize_date_from(forecast_vals)
                super(CrmForecast, forecast).write(forecast_vals)
            return True
        res = super().write(vals)
        if "state" in vals and self:
            self.env.cr.execute(
                SQL(
                    "UPDATE crm_forecast_line SET state = %s WHERE forecast_id IN %s",
                    vals["state"],
                    tuple(self.ids),
                )
            )
            self.env["crm.forecast.line"].invalidate_model(["state"])
        return res

    def _normalize_date_from(self, vals):
        if not vals.get("date_from"):
            return
        company = (
            self.env["res.company"].browse(vals["company_id"])
            if vals.get("company_id")
            else self.env.company
        )
        period_type = vals.get("period_type") or company.crm_forecast_period_type
        vals["date_from"] = period_bounds(
            company, period_type, fields.Date.to_date(vals["date_from"])
        )[0]

    @api.ondelete(at_uninstall=False)
    def _unlink_except_frozen(self):
        if any(forecast.state != "draft" for forecast in self):
            raise UserError(_("Frozen and closed forecasts cannot be deleted."))

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _check_manager(self):
        """The caller is a sales manager who may change these forecasts: checked
        by every action before anything is done."""
        check_role(
            self.env,
            "sales_team.group_sale_manager",
            _("Only sales managers compute, freeze, refresh and close forecasts."),
        )
        self.check_access("write")

    def action_compute(self):
        """(Re)compute draft forecasts from the opportunities as they stand."""
        self._check_manager()
        if any(forecast.state != "draft" for forecast in self):
            raise UserError(_("Only a draft forecast can be computed again."))
        for forecast in self:
            forecast._compute_lines()
        return True

    def action_freeze(self):
        """Compute and freeze: the figures become a snapshot."""
        self._check_manager()
        if any(forecast.state != "draft" for forecast in self):
            raise UserError(_("Only a draft forecast can be frozen."))
        for forecast in self:
            forecast._compute_lines()
            forecast._update_won(frozen=True)
        self.sudo().write({"state": "frozen", "date_frozen": fields.Datetime.now()})
        return True

    def action_close(self):
        """Fill the actuals of a frozen forecast whose period has ended."""
        self._check_manager()
        today = fields.Date.context_today(self)
        for forecast in self:
            if forecast.state != "frozen":
                raise UserError(
                    _(
                        "Only a frozen forecast can be closed: %(name)s is not.",
                        name=forecast.name,
                    )
                )
            if forecast.date_to >= today:
                raise UserError(
                    _(
                        "The forecast %(name)s can be closed once its period has "
                        "ended, after %(end)s.",
                        name=forecast.name,
                        end=format_date(self.env, forecast.date_to),
                    )
                )
        for forecast in self:
            forecast._update_won(actual=True)
        self.sudo().write({"state": "closed", "date_closed": fields.Datetime.now()})
        return True

    def action_refresh_won(self):
        """Refresh what was won so far in the period (the only figure of a frozen
        forecast that moves)."""
        self._check_manager()
        for forecast in self.filtered(lambda f: f.state != "closed"):
            forecast._update_won()
        return True

    def action_open_lines(self):
        """The forecast's lines as a plain list (to export), the salespeople's
        first."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_forecast_line_action"
        )
        action["domain"] = [("forecast_id", "=", self.id)]
        action["context"] = {"search_default_level_user": 1}
        action["display_name"] = self.name
        view_types = ["list", "pivot", "graph", "form"]
        action["view_mode"] = ",".join(view_types)
        action["views"] = sorted(
            action["views"], key=lambda view: view_types.index(view[1])
        )
        return action

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    def _period_bounds_utc(self, until=None):
        """Datetime bounds of the period for ``date_closed`` (UTC, end exclusive),
        cut at ``until`` when given."""
        start = datetime.combine(self.date_from, time.min)
        end = datetime.combine(self.date_to + timedelta(days=1), time.min)
        if until:
            end = min(end, until)
        return start, end

    def _win_rate_sql(self, now):
        """Per scope (a team id, or 0 for the company) and stage: the share of the
        opportunities closed in the lookback window that reached the stage and were
        won, and the scope's number of closed opportunities.

        A won opportunity counts in every stage. A lost one counts in the stages it
        really entered, from its stage history (``crm.lead.stage.history``); only
        where that history began at install, with the stage it was in then, is it
        assumed to have gone through that stage and the stages before it (by
        sequence), as nothing is known of its earlier stages.

        The closed opportunities are counted per team and outcome, the lost ones per
        team and stage they passed (a few dozen rows, not one per opportunity), and
        the losses are joined to the stages, not summed in a subquery per scope and
        stage: PostgreSQL estimates such a subquery at millions (a tiny
        ``crm_stage`` is never analyzed: 500 rows assumed), and then spends seconds
        JIT-compiling a query that runs in milliseconds.
        """
        company = self.company_id
        since = now - relativedelta(months=company.crm_forecast_lookback_months)
        # The stages as literal arrays: the planner, which assumes 500 rows in the
        # never-analyzed crm_stage, estimated their self-join at millions of rows
        # and JIT-compiled a query running in milliseconds
        stages = self.env["crm.stage"].sudo().search_fetch([], ["sequence"])
        return SQL(
            """
            closed_leads AS (
                SELECT l.id, l.team_id,
                       (l.active AND COALESCE(s.is_won, FALSE)) AS won
                  FROM crm_lead l
                  LEFT JOIN crm_stage s ON s.id = l.stage_id
                 WHERE l.type = 'opportunity'
                   AND l.company_id = %(company)s
                   AND l.date_closed >= %(since)s AND l.date_closed < %(now)s
                   AND (NOT l.active OR COALESCE(s.is_won, FALSE))
            ),
            closed AS (
                SELECT team_id, won, count(*) AS n
                  FROM closed_leads GROUP BY 1, 2
            ),
            passed AS (
                SELECT h.lead_id, h.stage_to_id AS stage_id
                  FROM closed_leads c
                  JOIN crm_lead_stage_history h ON h.lead_id = c.id
                 WHERE NOT c.won AND NOT h.is_backfill
                   AND h.stage_to_id IS NOT NULL
                 UNION
                SELECT h.lead_id, st.id
                  FROM closed_leads c
                  JOIN crm_lead_stage_history h ON h.lead_id = c.id
                  JOIN unnest(%(stage_ids)s::int[], %(stage_seqs)s::int[])
                       AS hs(id, seq) ON hs.id = h.stage_to_id
                  JOIN unnest(%(stage_ids)s::int[], %(stage_seqs)s::int[])
                       AS st(id, seq) ON st.seq <= hs.seq
                 WHERE NOT c.won AND h.is_backfill
            ),
            lost AS (
                SELECT c.team_id, p.stage_id, count(*) AS n
                  FROM passed p
                  JOIN closed_leads c ON c.id = p.lead_id
                 GROUP BY 1, 2
            ),
            scoped AS (
                SELECT team_id AS scope, won, n FROM closed
                 WHERE team_id IS NOT NULL
                 UNION ALL
                SELECT 0, won, n FROM closed
            ),
            samples AS (
                SELECT scope, sum(n) AS n,
                       COALESCE(sum(n) FILTER (WHERE won), 0) AS wins
                  FROM scoped GROUP BY scope
            ),
            lost_at AS (
                SELECT scope, stage_id, sum(n) AS n
                  FROM (
                      SELECT team_id AS scope, stage_id, n FROM lost
                       WHERE team_id IS NOT NULL
                       UNION ALL
                      SELECT 0, stage_id, n FROM lost
                  ) AS lost_scoped
                 GROUP BY scope, stage_id
            ),
            rates AS (
                SELECT sa.scope, st.id AS stage_id, sa.n,
                       sa.wins::numeric
                       / NULLIF(sa.wins + COALESCE(lo.n, 0), 0) AS rate
                  FROM samples sa
                  CROSS JOIN crm_stage st
                  LEFT JOIN lost_at lo
                         ON lo.scope = sa.scope AND lo.stage_id = st.id
            )
            """,
            company=company.id,
            since=since,
            now=now,
            stage_ids=stages.ids,
            stage_seqs=[stage.sequence or 0 for stage in stages],
        )

    def _compute_lines(self):
        """Replace the lines of a draft forecast by freshly computed ones, keeping
        the adjustments managers made. A constant number of queries."""
        self.ensure_one()
        self.env.flush_all()
        now = fields.Datetime.now()
        company = self.company_id
        # New lines are inserted beside the old ones (ids above ``last_id``), then
        # merged into them: a line keeps its id, adjustment and tracked history.
        self.env.cr.execute(
            SQL(
                """
                UPDATE crm_forecast_line SET parent_id = NULL
                 WHERE forecast_id = %s AND parent_id IS NOT NULL;
                SELECT COALESCE(max(id), 0) FROM crm_forecast_line;
                """,
                self.id,
            )
        )
        last_id = self.env.cr.fetchone()[0]
        start, end = self._period_bounds_utc(until=now)
        self.env.cr.execute(
            SQL(
                """
                WITH %(rates)s,
                opportunities AS (
                    SELECT l.user_id, l.forecast_category AS category,
                           COALESCE(l.expected_revenue, 0) AS amount,
                           COALESCE(l.probability, 0)::numeric AS probability,
                           COALESCE(team_rate.rate, company_rate.rate,
                                    COALESCE(l.probability, 0)::numeric / 100)
                               AS rate
                      FROM crm_lead l
                      LEFT JOIN crm_stage s ON s.id = l.stage_id
                      LEFT JOIN rates team_rate
                             ON team_rate.scope = l.team_id
                            AND team_rate.stage_id = l.stage_id
                            AND team_rate.n >= %(min_samples)s
                      LEFT JOIN rates company_rate
                             ON company_rate.scope = 0
                            AND company_rate.stage_id = l.stage_id
                     WHERE l.active AND l.type = 'opportunity'
                       AND l.company_id = %(company)s
                       AND l.user_id IS NOT NULL
                       AND NOT COALESCE(s.is_won, FALSE)
                       AND l.date_deadline BETWEEN %(date_from)s AND %(date_to)s
                       AND COALESCE(l.forecast_category, 'pipeline') != 'omitted'
                ),
                per_user AS (
                    SELECT user_id, count(*) AS n,
                           sum(amount) AS pipeline,
                           sum(amount) FILTER (
                               WHERE category IN ('best_case', 'commit')
                           ) AS best_case,
                           sum(amount) FILTER (WHERE category = 'commit') AS commit,
                           sum(amount * probability / 100.0) AS weighted,
                           sum(amount * rate) AS historical
                      FROM opportunities GROUP BY user_id
                ),
                won AS (
                    SELECT l.user_id, sum(COALESCE(l.expected_revenue, 0)) AS amount
                      FROM crm_lead l
                      JOIN crm_stage s ON s.id = l.stage_id AND s.is_won
                     WHERE l.active AND l.type = 'opportunity'
                       AND l.company_id = %(company)s
                       AND l.user_id IS NOT NULL
                       AND l.date_closed >= %(start)s AND l.date_closed < %(end)s
                     GROUP BY l.user_id
                ),
                people AS (
                    SELECT user_id FROM per_user
                     UNION
                    SELECT user_id FROM won
                     UNION
                    SELECT m.user_id
                      FROM crm_team_member m
                      JOIN crm_team t ON t.id = m.crm_team_id AND t.active
                      JOIN res_users u ON u.id = m.user_id AND u.active
                      JOIN res_company_users_rel cu
                        ON cu.user_id = u.id AND cu.cid = %(company)s
                     WHERE m.active
                       AND (t.company_id = %(company)s OR t.company_id IS NULL)
                )
                SELECT %(forecast)s, %(company)s, %(period_type)s, %(date_from)s,
                       %(date_to)s, 'draft', 'user', p.user_id, t.id,
                       t.sales_region_id, COALESCE(pu.n, 0),
                       round(COALESCE(pu.pipeline, 0), %(digits)s),
                       round(COALESCE(pu.best_case, 0), %(digits)s),
                       round(COALESCE(pu.commit, 0), %(digits)s),
                       round(COALESCE(pu.weighted, 0), %(digits)s),
                       round(COALESCE(pu.historical, 0), %(digits)s),
                       round(COALESCE(w.amount, 0), %(digits)s),
                       round(COALESCE(pu.commit, 0), %(digits)s),
                       round(COALESCE(pu.commit, 0), %(digits)s), FALSE,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM people p
                  JOIN res_users u ON u.id = p.user_id
                  LEFT JOIN crm_team t
                         ON t.id = u.sale_team_id
                        AND (t.company_id = %(company)s OR t.company_id IS NULL)
                  LEFT JOIN per_user pu ON pu.user_id = p.user_id
                  LEFT JOIN won w ON w.user_id = p.user_id
                """,
                rates=self._win_rate_sql(now),
                min_samples=company.crm_forecast_min_samples,
                company=company.id,
                forecast=self.id,
                period_type=self.period_type,
                date_from=self.date_from,
                date_to=self.date_to,
                start=start,
                end=end,
                digits=company.currency_id.decimal_places,
                uid=self.env.uid,
                now=now,
            )
        )
        # Selected, then inserted: PostgreSQL scans the opportunities with parallel
        # workers for a SELECT, never for an INSERT ... SELECT.
        rows = self.env.cr.fetchall()
        if rows:
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO crm_forecast_line (
                        forecast_id, company_id, period_type, date_from, date_to,
                        state, level, user_id, team_id, sales_region_id,
                        opportunity_count, amount_pipeline, amount_best_case,
                        amount_commit, amount_weighted, amount_historical,
                        amount_won_to_date, amount_submitted, amount_forecast,
                        is_adjusted, create_uid, create_date, write_uid, write_date)
                    VALUES %s
                    """,
                    SQL(", ").join(SQL("%s", row) for row in rows),
                )
            )
        self._merge_lines(last_id, ["user"], now)
        self._insert_rollup_lines(last_id, now)
        self.env.cr.execute(
            SQL(
                "UPDATE crm_forecast SET date_computed = %s WHERE id = %s",
                now,
                self.id,
            )
        )
        self.env.invalidate_all()
        self._rollup_forecast()

    def _merge_lines(self, last_id, levels, now):
        """Merge the lines just inserted (ids above ``last_id``) of ``levels`` into the
        lines the forecast had: a line of the same salesperson, team, region or
        company takes the new figures and keeps its id; a new one stays; an old one
        nobody has any more is deleted, unless a manager adjusted it: it then stays
        with zero figures, so that no adjustment is ever lost."""
        figures = (
            "team_id",
            "sales_region_id",
            *LINE_FIGURES,
        )
        zero = SQL(", ").join(
            SQL("%s = 0", SQL.identifier(name)) for name in LINE_FIGURES
        )
        self.env.cr.execute(
            SQL(
                """
                WITH pairs AS (
                    SELECT old.id AS old_id, new.id AS new_id
                      FROM crm_forecast_line new
                      JOIN crm_forecast_line old
                        ON old.forecast_id = new.forecast_id
                       AND old.level = new.level
                       AND old.id <= %(last_id)s
                       AND CASE new.level
                           WHEN 'user' THEN old.user_id = new.user_id
                           WHEN 'team' THEN old.team_id = new.team_id
                           WHEN 'region' THEN old.sales_region_id = new.sales_region_id
                           ELSE TRUE
                           END
                     WHERE new.forecast_id = %(forecast)s
                       AND new.id > %(last_id)s
                       AND new.level IN %(levels)s
                ),
                updated AS (
                    UPDATE crm_forecast_line old
                       SET %(assign)s, write_uid = %(uid)s, write_date = %(now)s
                      FROM pairs JOIN crm_forecast_line new ON new.id = pairs.new_id
                     WHERE old.id = pairs.old_id
                 RETURNING old.id
                ),
                merged AS (
                    DELETE FROM crm_forecast_line
                     WHERE id IN (SELECT new_id FROM pairs)
                 RETURNING id
                ),
                kept AS (
                    UPDATE crm_forecast_line
                       SET %(zero)s, write_uid = %(uid)s, write_date = %(now)s
                     WHERE forecast_id = %(forecast)s AND id <= %(last_id)s
                       AND level IN %(levels)s AND is_adjusted
                       AND id NOT IN (SELECT old_id FROM pairs)
                 RETURNING id
                ),
                gone AS (
                    DELETE FROM crm_forecast_line
                     WHERE forecast_id = %(forecast)s AND id <= %(last_id)s
                       AND level IN %(levels)s AND NOT is_adjusted
                       AND id NOT IN (SELECT old_id FROM pairs)
                 RETURNING id
                )
                SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM merged),
                       (SELECT count(*) FROM kept), (SELECT count(*) FROM gone)
                """,
                last_id=last_id,
                forecast=self.id,
                levels=tuple(levels),
                assign=SQL(", ").join(
                    SQL("%s = new.%s", SQL.identifier(name), SQL.identifier(name))
                    for name in figures
                ),
                zero=zero,
                uid=self.env.uid,
                now=now,
            )
        )

    def _insert_rollup_lines(self, last_id, now):
        """Team, region (with every parent) and company lines summing the user lines,
        linked by ``parent_id``: user → team → region → parent regions → company."""
        amounts = LINE_FIGURES
        columns = SQL(", ").join(SQL.identifier(name) for name in amounts)
        sums = SQL(", ").join(
            SQL("sum(ul.%s)", SQL.identifier(name)) for name in amounts
        )
        common = {
            "forecast": self.id,
            "company": self.company_id.id,
            "period_type": self.period_type,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "uid": self.env.uid,
            "now": now,
        }
        head = SQL(
            """
            INSERT INTO crm_forecast_line (
                forecast_id, company_id, period_type, date_from, date_to, state,
                level, team_id, sales_region_id, is_adjusted,
                create_uid, create_date, write_uid, write_date, %(columns)s)
            """,
            columns=columns,
        )
        values = SQL(
            "%(forecast)s, %(company)s, %(period_type)s, %(date_from)s, %(date_to)s, "
            "'draft'",
            **{k: common[k] for k in common if k not in ("uid", "now")},
        )
        stamp = SQL("FALSE, %(uid)s, %(now)s, %(uid)s, %(now)s", **common)
        self.env.cr.execute(
            SQL(
                """
                %(head)s
                SELECT %(values)s, 'team', ul.team_id, ul.sales_region_id, %(stamp)s,
                       %(sums)s
                  FROM crm_forecast_line ul
                 WHERE ul.forecast_id = %(forecast)s AND ul.level = 'user'
                   AND ul.team_id IS NOT NULL
                 GROUP BY ul.team_id, ul.sales_region_id;
                %(head)s
                SELECT %(values)s, 'region', NULL, r.id, %(stamp)s, %(sums)s
                  FROM crm_forecast_line ul
                  JOIN crm_sales_region lr ON lr.id = ul.sales_region_id
                  JOIN crm_sales_region r
                    ON starts_with(lr.parent_path, r.parent_path)
                 WHERE ul.forecast_id = %(forecast)s AND ul.level = 'user'
                 GROUP BY r.id;
                %(head)s
                SELECT %(values)s, 'company', NULL, NULL, %(stamp)s,
                       COALESCE(sum(ul.opportunity_count), 0),
                       COALESCE(sum(ul.amount_pipeline), 0),
                       COALESCE(sum(ul.amount_best_case), 0),
                       COALESCE(sum(ul.amount_commit), 0),
                       COALESCE(sum(ul.amount_weighted), 0),
                       COALESCE(sum(ul.amount_historical), 0),
                       COALESCE(sum(ul.amount_won_to_date), 0)
                  FROM crm_forecast_line ul
                 WHERE ul.forecast_id = %(forecast)s AND ul.level = 'user';
                """,
                head=head,
                values=values,
                stamp=stamp,
                sums=sums,
                forecast=self.id,
            )
        )
        self._merge_lines(last_id, ["team", "region", "company"], now)
        # Parents: a line's next level up that exists in this forecast
        self.env.cr.execute(
            SQL(
                """
                WITH company_line AS (
                    SELECT id FROM crm_forecast_line
                     WHERE forecast_id = %(forecast)s AND level = 'company'
                ),
                links AS (
                    SELECT child.id,
                           CASE child.level
                           WHEN 'user' THEN COALESCE(team.id, region.id)
                           WHEN 'team' THEN region.id
                           WHEN 'region' THEN parent_region.id
                           END AS parent_id
                      FROM crm_forecast_line child
                      LEFT JOIN crm_forecast_line team
                             ON child.level = 'user'
                            AND team.forecast_id = child.forecast_id
                            AND team.level = 'team' AND team.team_id = child.team_id
                      LEFT JOIN crm_forecast_line region
                             ON child.level IN ('user', 'team')
                            AND region.forecast_id = child.forecast_id
                            AND region.level = 'region'
                            AND region.sales_region_id = child.sales_region_id
                      LEFT JOIN crm_sales_region r
                             ON child.level = 'region'
                            AND r.id = child.sales_region_id
                      LEFT JOIN crm_forecast_line parent_region
                             ON parent_region.forecast_id = child.forecast_id
                            AND parent_region.level = 'region'
                            AND parent_region.sales_region_id = r.parent_id
                     WHERE child.forecast_id = %(forecast)s
                       AND child.level != 'company'
                )
                UPDATE crm_forecast_line line
                   SET parent_id = COALESCE(links.parent_id, company_line.id)
                  FROM links, company_line
                 WHERE line.id = links.id
                """,
                forecast=self.id,
            )
        )

    def _rollup_forecast(self):
        """Each line's forecast figure: the manager's adjustment when there is one,
        else what was submitted — the commit of a salesperson, the sum of the figures
        just below for a team, region or company. Done bottom-up in memory over the
        forecast's lines (a few hundred), written back in one query."""
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, parent_id, level, amount_commit, is_adjusted,
                       amount_adjusted
                  FROM crm_forecast_line WHERE forecast_id = %s
                """,
                self.id,
            )
        )
        rows = self.env.cr.fetchall()
        children = {}
        for line_id, parent_id, *__ in rows:
            children.setdefault(parent_id, []).append(line_id)
        info = {row[0]: row for row in rows}
        submitted, forecast = {}, {}

        def visit(line_id):
            __, __, level, commit, is_adjusted, adjusted = info[line_id]
            kids = children.get(line_id, [])
            for kid in kids:
                visit(kid)
            submitted[line_id] = (
                commit if level == "user" else sum(forecast[kid] for kid in kids)
            )
            forecast[line_id] = adjusted if is_adjusted else submitted[line_id]

        for root in children.get(None, []):
            visit(root)
        if not rows:
            return
        self.env.cr.execute(
            SQL(
                """
                UPDATE crm_forecast_line line
                   SET amount_submitted = v.submitted, amount_forecast = v.forecast
                  FROM (VALUES %s) AS v(id, submitted, forecast)
                 WHERE line.id = v.id
                """,
                SQL(", ").join(
                    SQL("(%s, %s::numeric, %s::numeric)", i, submitted[i], forecast[i])
                    for i in submitted
                ),
            )
        )
        self.env["crm.forecast.line"].invalidate_model(
            ["amount_submitted", "amount_forecast"]
        )

    def _update_won(self, frozen=False, actual=False):
        """Won so far in the period on every line (the rollups are sums); with
        ``frozen``, also record it as won when frozen; with ``actual``, the whole
        period is won: the actual, and each method's error."""
        self.ensure_one()
        self.env.flush_all()
        now = fields.Datetime.now()
        start, end = self._period_bounds_utc(until=None if actual else now)
        targets = [SQL("amount_won_to_date = COALESCE(w.amount, 0)")]
        if frozen:
            targets.append(SQL("amount_won_frozen = COALESCE(w.amount, 0)"))
        if actual:
            targets.append(SQL("amount_actual = COALESCE(w.amount, 0)"))
            targets.extend(
                SQL(
                    "%s = line.%s + line.amount_won_frozen - COALESCE(w.amount, 0)",
                    SQL.identifier(f"error_{method}"),
                    SQL.identifier(f"amount_{method}"),
                )
                for method, __ in FORECAST_METHODS
            )
        self.env.cr.execute(
            SQL(
                """
                WITH RECURSIVE won_user AS (
                    SELECT l.user_id, sum(COALESCE(l.expected_revenue, 0)) AS amount
                      FROM crm_lead l
                      JOIN crm_stage s ON s.id = l.stage_id AND s.is_won
                     WHERE l.active AND l.type = 'opportunity'
                       AND l.company_id = %(company)s AND l.user_id IS NOT NULL
                       AND l.date_closed >= %(start)s AND l.date_closed < %(end)s
                     GROUP BY l.user_id
                ),
                user_lines AS (
                    SELECT ul.id, ul.parent_id, w.amount
                      FROM crm_forecast_line ul
                      LEFT JOIN won_user w ON w.user_id = ul.user_id
                     WHERE ul.forecast_id = %(forecast)s AND ul.level = 'user'
                ),
                tree AS (
                    SELECT id AS line_id, id AS user_line_id FROM user_lines
                     UNION ALL
                    SELECT line.parent_id, tree.user_line_id
                      FROM tree JOIN crm_forecast_line line ON line.id = tree.line_id
                     WHERE line.parent_id IS NOT NULL
                ),
                w AS (
                    SELECT tree.line_id, sum(user_lines.amount) AS amount
                      FROM tree JOIN user_lines ON user_lines.id = tree.user_line_id
                     GROUP BY tree.line_id
                )
                UPDATE crm_forecast_line line
                   SET %(targets)s
                  FROM crm_forecast_line l2
                  LEFT JOIN w ON w.line_id = l2.id
                 WHERE line.id = l2.id AND l2.forecast_id = %(forecast)s
                """,
                company=self.company_id.id,
                start=start,
                end=end,
                forecast=self.id,
                targets=SQL(", ").join(targets),
            )
        )
        self.env["crm.forecast.line"].invalidate_model()

    # ------------------------------------------------------------------
    # SCHEDULED JOBS
    # ------------------------------------------------------------------

    @api.model
    def _cron_forecasts(self):
        """For every company: freeze the forecast of the running period (creating
        it when missing), refresh what it has won so far, and close the frozen
        forecasts whose period has ended. Running it again changes nothing more."""
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].search([])
        for company in companies:
            period_type = company.crm_forecast_period_type
            date_from = period_bounds(company, period_type, today)[0]
            forecast = self.search(
                [
                    ("company_id", "=", company.id),
                    ("period_type", "=", period_type),
                    ("date_from", "=", date_from),
                ],
                limit=1,
            )
            if not forecast:
                forecast = self.create(
                    {
                        "company_id": company.id,
                        "period_type": period_type,
                        "date_from": date_from,
                    }
                )
            if forecast.state == "draft":
                forecast.action_freeze()
            elif forecast.state == "frozen":
                forecast.action_refresh_won()
        self.search([("state", "=", "frozen"), ("date_to", "<", today)]).action_close()
