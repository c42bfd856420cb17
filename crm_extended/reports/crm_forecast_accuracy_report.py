from odoo import api, fields, models
from odoo.tools import SQL, float_round

from ..models.crm_forecast import FORECAST_METHODS

# Two figures closer than this count as equal when the best method is chosen
ACCURACY_DIGITS = 6


class CrmForecastAccuracyReport(models.Model):
    """How accurate each forecasting method was: one row per line of a closed
    forecast and method, with the method's forecast (including what was already won
    when the forecast was frozen), the actual, and the absolute and signed
    percentage errors. Averaged, they are the MAPE and the bias."""

    _name = "crm.forecast.accuracy.report"
    _description = "Forecast Accuracy Analysis"
    _auto = False
    _order = "date_from desc, level, line_id, id"
    _rec_name = "line_id"

    forecast_id = fields.Many2one(
        "crm.forecast", string="Sales Forecast", readonly=True
    )
    line_id = fields.Many2one(
        "crm.forecast.line", string="Forecast Line", readonly=True
    )
    date_from = fields.Date(string="Period Start", readonly=True)
    period_type = fields.Selection(
        [("month", "Month"), ("quarter", "Quarter")], readonly=True
    )
    level = fields.Selection(
        [
            ("user", "Salesperson"),
            ("team", "Sales Team"),
            ("region", "Sales Region"),
            ("company", "Company"),
        ],
        readonly=True,
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    sales_region_id = fields.Many2one("crm.sales.region", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    method = fields.Selection(FORECAST_METHODS, readonly=True)
    amount_forecast = fields.Monetary(
        string="Forecast",
        readonly=True,
        help="The method's forecast of the period: its figure of the open "
        "opportunities plus what was already won when the forecast was frozen.",
    )
    amount_actual = fields.Monetary(
        string="Actual", readonly=True, help="Won in the period."
    )
    error = fields.Monetary(readonly=True, help="Forecast − actual.")
    abs_error = fields.Monetary(string="Absolute Error", readonly=True)
    ape = fields.Float(
        string="APE (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Absolute percentage error: |forecast − actual| / actual. Averaged, it is "
        "the MAPE (mean absolute percentage error). When nothing was won (actual 0), "
        "it is 0 % if the forecast was 0 too, else 100 %.",
    )
    spe = fields.Float(
        string="Signed Error (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Signed percentage error: (forecast − actual) / actual. Averaged, it is "
        "the bias: above 0 the method forecasts too much, below 0 too little. When "
        "nothing was won (actual 0), it is 0 % if the forecast was 0 too, else "
        "+100 % (−100 % for a negative forecast).",
    )

    _depends = {
        "crm.forecast.line": [
            "forecast_id",
            "company_id",
            "period_type",
            "date_from",
            "state",
            "level",
            "user_id",
            "team_id",
            "sales_region_id",
            "amount_pipeline",
            "amount_best_case",
            "amount_commit",
            "amount_weighted",
            "amount_historical",
            "amount_forecast",
            "amount_won_frozen",
            "amount_actual",
        ],
        "res.company": ["currency_id"],
    }

    @property
    def _table_query(self):
        return SQL("%s %s %s", self._select(), self._from(), self._where())

    def _methods(self):
        """One row per method: its rank (for the row id), key and forecast of the
        line, won when frozen included."""
        return SQL(", ").join(
            SQL(
                "(%s, %s, COALESCE(line.%s, 0) + COALESCE(line.amount_won_frozen, 0))",
                rank,
                method,
                SQL.identifier(f"amount_{method}"),
            )
            for rank, (method, __) in enumerate(FORECAST_METHODS, start=1)
        )

    def _select(self):
        return SQL(
            """
            SELECT line.id * %(factor)s + m.rank AS id,
                   line.forecast_id, line.id AS line_id, line.date_from,
                   line.period_type, line.level, line.user_id, line.team_id,
                   line.sales_region_id, line.company_id, company.currency_id,
                   m.method::varchar AS method,
                   m.amount_forecast,
                   COALESCE(line.amount_actual, 0) AS amount_actual,
                   m.amount_forecast - COALESCE(line.amount_actual, 0) AS error,
                   abs(m.amount_forecast - COALESCE(line.amount_actual, 0))
                       AS abs_error,
                   CASE WHEN COALESCE(line.amount_actual, 0) = 0
                        THEN CASE WHEN m.amount_forecast = 0 THEN 0 ELSE 100 END
                        ELSE abs(m.amount_forecast - line.amount_actual) * 100.0
                             / NULLIF(abs(line.amount_actual), 0)
                   END AS ape,
                   CASE WHEN COALESCE(line.amount_actual, 0) = 0
                        THEN sign(m.amount_forecast) * 100
                        ELSE (m.amount_forecast - line.amount_actual) * 100.0
                             / NULLIF(abs(line.amount_actual), 0)
                   END AS spe
            """,
            factor=len(FORECAST_METHODS) + 1,
        )

    def _from(self):
        return SQL(
            """
            FROM crm_forecast_line line
            JOIN res_company company ON company.id = line.company_id
            CROSS JOIN LATERAL (VALUES %s) AS m(rank, method, amount_forecast)
            """,
            self._methods(),
        )

    def _where(self):
        return SQL("WHERE line.state = 'closed'")

    # ------------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------------

    @api.model
    def _scope_domain(self, line):
        """The rows of the scope of the forecast line ``line`` in every period: the
        same level and salesperson, team, region or company."""
        field = {
            "user": "user_id",
            "team": "team_id",
            "region": "sales_region_id",
            "company": "company_id",
        }[line.level]
        return [
            ("level", "=", line.level),
            (field, "=", line[field].id),
            ("company_id", "=", line.company_id.id),
        ]

    @api.model
    def _accuracy_summary(self, domain, periods=None, groupby=None):
        """MAPE and bias of every method over the last ``periods`` closed periods
        (default: the company's setting) of the rows matching ``domain`` — typically
        one scope: a salesperson's, a team's or a region's lines — and the most
        accurate method: the lowest MAPE, then the lowest absolute bias, then the
        first in the order of ``FORECAST_METHODS``.

        Returns ``{method: {"mape", "bias", "count"}, ..., "best_method": method,
        "periods": [period starts, latest first]}``; with ``groupby`` (a field of the
        report), such a summary per value of that field. One grouped read.
        """
        if periods is None:
            periods = self.env.company.crm_forecast_accuracy_periods
        keys = [groupby] if groupby else []
        groups = self._read_group(
            domain,
            [*keys, "date_from:day", "period_type", "method"],
            ["ape:sum", "spe:sum", "__count"],
        )
        by_scope = {}
        for *key, date_from, period_type, method, ape, spe, count in groups:
            scope = by_scope.setdefault(key[0] if key else None, {})
            scope.setdefault((date_from, period_type), []).append(
                (method, ape, spe, count)
            )
        summaries = {
            scope: self._summarize(by_period, periods)
            for scope, by_period in by_scope.items()
        }
        if groupby:
            return summaries
        return summaries.get(None) or self._summarize({}, periods)

    @api.model
    def _summarize(self, by_period, periods):
        """Sums of the last ``periods`` periods of one scope → its summary."""
        last = sorted(by_period, key=lambda period: period[0], reverse=True)[:periods]
        totals = {}
        for period in last:
            for method, ape, spe, count in by_period[period]:
                total = totals.setdefault(method, [0.0, 0.0, 0])
                total[0] += ape or 0.0
                total[1] += spe or 0.0
                total[2] += count
        summary = {
            method: {
                "mape": ape / count,
                "bias": spe / count,
                "count": count,
            }
            for method, (ape, spe, count) in totals.items()
            if count
        }
        summary["best_method"] = self._best_method(summary)
        summary["periods"] = [date_from for date_from, __ in last]
        return summary

    @api.model
    def _best_method(self, summary):
        """The method of ``summary`` with the lowest MAPE, then the lowest absolute
        bias, then the first of ``FORECAST_METHODS``; False without figures."""
        ranked = [
            (
                float_round(summary[method]["mape"], ACCURACY_DIGITS),
                float_round(abs(summary[method]["bias"]), ACCURACY_DIGITS),
                rank,
                method,
            )
            for rank, (method, __) in enumerate(FORECAST_METHODS)
            if method in summary
        ]
        return min(ranked)[-1] if ranked else False
