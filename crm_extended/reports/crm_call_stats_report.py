from odoo import fields, models
from odoo.tools import SQL

# The rates of the report: (numerator, denominator, factor). A rate of a group of
# rows is the rate of its sums, not the average of the rows' rates.
RATES = {
    "reach_rate": ("reached_count", "call_count", 100.0),
    "calls_per_contact": ("call_count", "contact_count", 1.0),
    "conversion_rate": ("order_count", "contact_count", 100.0),
    "duration_avg": ("duration_total", "call_count", 1.0),
}


class CrmCallStatsReport(models.Model):
    """Telesales statistics: one row per call list, agent, customer region and day.

    Every figure is a count or a sum, so that any grouping adds up: a customer is
    counted as called on the day of its first call and as reached (a contact) on the
    day of its first call that reached it, by the agent who made that call; an order
    counts on the day of the call that took it (else of the order). The rates are
    computed from the sums of the group (see ``_read_group_select``), never averaged
    over rows.
    """

    _name = "crm.call.stats.report"
    _description = "Telesales Statistics"
    _auto = False
    _order = "date desc, call_list_id, agent_id"
    _rec_name = "call_list_id"

    call_list_id = fields.Many2one("crm.call.list", readonly=True)
    agent_id = fields.Many2one("res.users", readonly=True)
    sales_region_id = fields.Many2one(
        "crm.sales.region", string="Customer Region", readonly=True
    )
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    date = fields.Date(
        string="Day",
        readonly=True,
        help="Day of the calls in the agent's timezone (UTC without one).",
    )

    # Counts and sums
    call_count = fields.Integer(string="Calls", readonly=True)
    reached_count = fields.Integer(
        string="Calls Reaching",
        readonly=True,
        help="Calls whose outcome says the customer was reached.",
    )
    called_count = fields.Integer(
        string="Customers Called",
        readonly=True,
        help="Entries called at least once (counted on their first call).",
    )
    contact_count = fields.Integer(
        string="Customers Reached",
        readonly=True,
        help="Entries contacted: reached at least once (counted on the first call "
        "that reached them).",
    )
    order_count = fields.Integer(
        string="Orders Taken",
        readonly=True,
        help="Entries with an order (not cancelled) or a call logged as order taken.",
    )
    order_confirmed_count = fields.Integer(string="Confirmed Orders", readonly=True)
    amount_revenue = fields.Monetary(
        string="Confirmed Revenue",
        readonly=True,
        help="Untaxed amount of the confirmed orders taken, in the company currency.",
    )
    duration_total = fields.Float(
        string="Call Time (min)", readonly=True, digits=(16, 2)
    )

    # Rates: aggregated as the rate of the sums of the group
    reach_rate = fields.Float(
        string="Reach Rate (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Calls reaching the customer / calls. Over a group: its calls reaching "
        "divided by its calls.",
    )
    calls_per_contact = fields.Float(
        string="Calls per Contact",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Calls made per customer reached: calls / customers reached (0 while "
        "nobody is reached). Over a group: the ratio of its sums.",
    )
    conversion_rate = fields.Float(
        string="Conversion (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Orders taken / customers reached. Over a group: the ratio of its sums.",
    )
    duration_avg = fields.Float(
        string="Average Call (min)",
        readonly=True,
        aggregator="avg",
        digits=(16, 2),
        help="Call time / calls. Over a group: the ratio of its sums.",
    )

    _depends = {
        "crm.phonecall": [
            "call_list_entry_id",
            "call_list_id",
            "call_outcome_id",
            "user_id",
            "date",
            "duration",
            "state",
            "active",
        ],
        "crm.call.outcome": ["is_reached", "action"],
        "crm.call.list.entry": [
            "call_list_id",
            "agent_id",
            "sales_region_id",
            "order_id",
            "date_last_attempt",
        ],
        "crm.call.list": ["company_id"],
        "sale.order": ["state", "amount_untaxed", "currency_rate", "date_order"],
        "res.company": ["currency_id"],
        "res.users": ["partner_id"],
        "res.partner": ["tz"],
    }

    @property
    def _table_query(self):
        return SQL(
            "%s %s %s %s",
            self._with(),
            self._select(),
            self._from(),
            self._group_by(),
        )

    def _with(self):
        """The agents' timezones, those PostgreSQL knows (an unknown name would
        fail the whole report): a call's day is the agent's."""
        return SQL(
            """
            WITH agent_tz AS (
                SELECT u.id AS user_id, n.name AS tz
                  FROM res_users u
                  JOIN res_partner p ON p.id = u.partner_id
                  JOIN pg_timezone_names n ON n.name = p.tz
            )
            """
        )

    def _local_day(self, column):
        """The agent's day of the UTC datetime ``column``, the agent's timezone
        joined as ``z`` (from ``agent_tz``)."""
        return SQL(
            "(%s AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(z.tz, 'UTC'))::date", column
        )

    def _select(self):
        rates = SQL(", ").join(
            SQL(
                "COALESCE(%s * sum(s.%s) / NULLIF(sum(s.%s), 0), 0) AS %s",
                factor,
                SQL.identifier(numerator),
                SQL.identifier(denominator),
                SQL.identifier(fname),
            )
            for fname, (numerator, denominator, factor) in RATES.items()
        )
        return SQL(
            """
            SELECT row_number() OVER (ORDER BY s.date, s.call_list_id, s.agent_id,
                                                s.sales_region_id) AS id,
                   s.call_list_id, s.agent_id, s.sales_region_id, s.date,
                   l.company_id, company.currency_id,
                   sum(s.call_count) AS call_count,
                   sum(s.reached_count) AS reached_count,
                   sum(s.called_count) AS called_count,
                   sum(s.contact_count) AS contact_count,
                   sum(s.order_count) AS order_count,
                   sum(s.order_confirmed_count) AS order_confirmed_count,
                   sum(s.amount_revenue) AS amount_revenue,
                   sum(s.duration_total) AS duration_total,
                   %s
            """,
            rates,
        )

    def _calls_query(self):
        """One row per logged call: whether it reached the customer, and whether it
        is the entry's first call and its first call reaching the customer."""
        return SQL(
            """
            SELECT c.call_list_id, c.user_id AS agent_id, e.sales_region_id,
                   %(day)s AS date,
                   1 AS call_count,
                   COALESCE(o.is_reached, FALSE)::int AS reached_count,
                   (row_number() OVER (PARTITION BY c.call_list_entry_id
                                       ORDER BY c.date, c.id) = 1)::int
                       AS called_count,
                   (COALESCE(o.is_reached, FALSE)
                    AND row_number() OVER (
                        PARTITION BY c.call_list_entry_id, COALESCE(o.is_reached, FALSE)
                        ORDER BY c.date, c.id) = 1)::int AS contact_count,
                   0 AS order_count, 0 AS order_confirmed_count,
                   0.0 AS amount_revenue,
                   COALESCE(c.duration, 0.0) AS duration_total
              FROM crm_phonecall c
              JOIN crm_call_list_entry e ON e.id = c.call_list_entry_id
         LEFT JOIN crm_call_outcome o ON o.id = c.call_outcome_id
         LEFT JOIN agent_tz z ON z.user_id = c.user_id
             WHERE c.state = 'done' AND c.active AND c.date IS NOT NULL
            """,
            day=self._local_day(SQL("c.date")),
        )

    def _orders_query(self):
        """One row per entry that took an order: its order (not cancelled) or its
        first call logged as order taken, by whom and when the order was taken."""
        return SQL(
            """
            SELECT e.call_list_id,
                   COALESCE(t.user_id, e.agent_id, so.user_id) AS agent_id,
                   e.sales_region_id,
                   %(day)s AS date,
                   0, 0, 0, 0,
                   1 AS order_count,
                   (so.state = 'sale')::int AS order_confirmed_count,
                   CASE WHEN so.state = 'sale'
                        THEN so.amount_untaxed
                             / COALESCE(NULLIF(so.currency_rate, 0), 1.0)
                        ELSE 0.0
                   END AS amount_revenue,
                   0.0
              FROM crm_call_list_entry e
         LEFT JOIN sale_order so ON so.id = e.order_id AND so.state != 'cancel'
         LEFT JOIN (
                SELECT DISTINCT ON (c.call_list_entry_id)
                       c.call_list_entry_id, c.user_id, c.date
                  FROM crm_phonecall c
                  JOIN crm_call_outcome o ON o.id = c.call_outcome_id
                 WHERE o.action = 'order_taken' AND c.state = 'done' AND c.active
              ORDER BY c.call_list_entry_id, c.date, c.id
                   ) t ON t.call_list_entry_id = e.id
         LEFT JOIN agent_tz z
                ON z.user_id = COALESCE(t.user_id, e.agent_id, so.user_id)
             WHERE so.id IS NOT NULL OR t.call_list_entry_id IS NOT NULL
            """,
            day=self._local_day(
                SQL(
                    "COALESCE(t.date, so.date_order, e.date_last_attempt, e.write_date)"
                )
            ),
        )

    def _from(self):
        return SQL(
            """
            FROM (%s UNION ALL %s) AS s
            JOIN crm_call_list l ON l.id = s.call_list_id
            JOIN res_company company ON company.id = l.company_id
            """,
            self._calls_query(),
            self._orders_query(),
        )

    def _group_by(self):
        return SQL(
            """
            GROUP BY s.call_list_id, s.agent_id, s.sales_region_id, s.date,
                     l.company_id, company.currency_id
            """
        )

    def _read_group_select(self, aggregate_spec, query):
        """A rate of a group is the rate of the group's sums: calls reaching over
        calls, not the average of the rows' reach rates."""
        fname, __, func = aggregate_spec.partition(":")
        if fname in RATES and func == "avg":
            numerator, denominator, factor = RATES[fname]
            return SQL(
                "COALESCE(%s * SUM(%s) / NULLIF(SUM(%s), 0), 0)",
                factor,
                self._field_to_sql(self._table, numerator, query),
                self._field_to_sql(self._table, denominator, query),
            )
        return super()._read_group_select(aggregate_spec, query)
