from datetime import datetime, time, timedelta

import pytz

from odoo import api, models
from odoo.tools import SQL

from .crm_bonus_plan import KPI_TYPES, MONEY_KPIS

# The columns each achievement query returns, in this order, for the statement lines
LINE_COLUMNS = (
    "statement_id",
    "statement_kpi_id",
    "date",
    "amount",
    "order_id",
    "invoice_id",
    "partial_id",
    "payment_move_id",
    "event_id",
    "phonecall_id",
    "partner_id",
    "user_id",
    "company_id",
)


def _utc_midnight(day, tz_name):
    """The start of ``day`` in the timezone ``tz_name`` (UTC when empty or
    unknown), as a naive UTC datetime like Odoo stores them."""
    try:
        tz = pytz.timezone(tz_name or "UTC")
    except pytz.UnknownTimeZoneError:
        tz = pytz.utc
    start = tz.localize(datetime.combine(day, time.min))
    return start.astimezone(pytz.utc).replace(tzinfo=None)


class CrmBonusStatement(models.Model):
    _inherit = "crm.bonus.statement"

    # ------------------------------------------------------------------
    # KPI COMPUTATION
    # ------------------------------------------------------------------

    @api.model
    def _compute_statements(self, statements):
        """Compute the achievements, attainments and payouts of open ``statements``
        at once: one SQL query per KPI type over all of them writes the source lines
        (multi-row inserts), one aggregates them, two update the figures. The number
        of queries does not depend on the number of statements."""
        statements = statements.exists()
        if not statements:
            return
        statements._check_open()
        self.env.flush_all()
        cr = self.env.cr
        ids = tuple(statements.ids)
        # Two workers computing the same statements wait for each other: the second
        # replaces the first one's lines, never adds to them.
        cr.execute(
            SQL(
                """
                SELECT id FROM crm_bonus_statement WHERE id IN %(ids)s
                   FOR NO KEY UPDATE;
                DELETE FROM crm_bonus_statement_line
                 WHERE statement_id IN %(ids)s AND is_adjustment IS NOT TRUE;
                """,
                ids=ids,
            )
        )
        scope = self._fetch_scope(ids)
        kpi_types = set(scope)
        for kpi_type, _label in KPI_TYPES:
            self._insert_lines(scope, kpi_type)
        self._insert_adjustments(statements, kpi_types)
        cr.execute(
            SQL(
                """
                SELECT k.id, COALESCE(sum(l.amount), 0)
                  FROM crm_bonus_statement_kpi k
                  LEFT JOIN crm_bonus_statement_line l ON l.statement_kpi_id = k.id
                 WHERE k.statement_id IN %s
                 GROUP BY k.id
                """,
                ids,
            )
        )
        achieved = dict(cr.fetchall())
        self.env["crm.bonus.statement.line"].invalidate_model()
        self._write_figures(statements, achieved)

    def _write_figures(self, statements, achieved):
        """Attainments and payouts from the achieved amounts (in the company
        currency for money KPIs: converted to the plan's currency at the period's
        last day). A KPI with a target of 0 has an attainment of 0."""
        kpi_rows, statement_rows = [], []
        for statement in statements:
            company = statement.company_id
            targets = {
                line.kpi_type: line.target for line in statement.target_id.line_ids
            }
            total = 0.0
            for kpi in statement.kpi_ids:
                amount = float(achieved.get(kpi.id, 0.0))
                if kpi.kpi_type in MONEY_KPIS:
                    amount = company.currency_id._convert(
                        amount,
                        statement.currency_id,
                        company,
                        statement.date_to,
                        round=False,
                    )
                target = targets.get(kpi.kpi_type, 0.0)
                attainment = amount / target * 100 if target else 0.0
                weighted = attainment * kpi.weight / 100
                total += weighted
                kpi_rows.append((kpi.id, target, amount, attainment, weighted))
            factor = statement.plan_id._payout_factor(total)
            on_target = statement.target_id.amount_on_target
            payout = statement.currency_id.round(on_target * factor / 100)
            statement_rows.append((statement.id, on_target, total, factor, payout))
        cr = self.env.cr
        if kpi_rows:
            cr.execute(
                SQL(
                    """
                    UPDATE crm_bonus_statement_kpi k
                       SET target = v.target, achieved = v.achieved,
                           attainment = v.attainment,
                           weighted_attainment = v.weighted,
                           write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                      FROM unnest(%(ids)s::int[], %(targets)s::float8[],
                                  %(achieved)s::float8[], %(attainments)s::float8[],
                                  %(weighted)s::float8[])
                           AS v(id, target, achieved, attainment, weighted)
                     WHERE k.id = v.id
                    """,
                    uid=self.env.uid,
                    **dict(
                        zip(
                            ("ids", "targets", "achieved", "attainments", "weighted"),
                            map(list, zip(*kpi_rows, strict=True)),
                            strict=True,
                        )
                    ),
                )
            )
        cr.execute(
            SQL(
                """
                UPDATE crm_bonus_statement s
                   SET amount_on_target = v.on_target, attainment = v.attainment,
                       payout_factor = v.factor, amount_payout = v.payout,
                       date_computed = now() AT TIME ZONE 'UTC',
                       write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                  FROM unnest(%(ids)s::int[], %(on_target)s::numeric[],
                              %(attainment)s::float8[], %(factor)s::float8[],
                              %(payout)s::numeric[])
                       AS v(id, on_target, attainment, factor, payout)
                 WHERE s.id = v.id
                """,
                uid=self.env.uid,
                **dict(
                    zip(
                        ("ids", "on_target", "attainment", "factor", "payout"),
                        map(list, zip(*statement_rows, strict=True)),
                        strict=True,
                    )
                ),
            )
        )
        statements.invalidate_recordset()
        self.env["crm.bonus.statement.kpi"].invalidate_model()

    def _fetch_scope(self, ids):
        """{KPI type: rows} of the statements ``ids``: per statement KPI, what the
        achievement queries need (statement, KPI line, salesperson, company,
        period, plan KPI, whether it has a product filter, and the period's
        bounds in UTC for datetime sources). One query.

        Days are the salesperson's (their timezone, UTC without one): an order
        confirmed at 23:30 UTC on the last day of a month counts in the next
        month for a salesperson in Brussels, as their calendar shows it."""
        self.env.cr.execute(
            SQL(
                """
                SELECT k.kpi_type, s.id, k.id, s.user_id, s.company_id, s.date_from,
                       s.date_to, k.plan_kpi_id,
                       EXISTS (SELECT 1 FROM crm_bonus_plan_kpi_product_rel r
                                WHERE r.kpi_id = k.plan_kpi_id)
                       OR EXISTS (SELECT 1 FROM crm_bonus_plan_kpi_categ_rel r
                                   WHERE r.kpi_id = k.plan_kpi_id),
                       p.tz
                  FROM crm_bonus_statement s
                  JOIN crm_bonus_statement_kpi k ON k.statement_id = s.id
                  JOIN res_users u ON u.id = s.user_id
                  JOIN res_partner p ON p.id = u.partner_id
                 WHERE s.id IN %s
                """,
                tuple(ids),
            )
        )
        scope = {}
        for kpi_type, *row, tz_name in self.env.cr.fetchall():
            date_from, date_to = row[4], row[5]
            row += [
                _utc_midnight(date_from, tz_name),
                _utc_midnight(date_to + timedelta(days=1), tz_name),
            ]
            scope.setdefault(kpi_type, []).append(row)
        return scope

    def _insert_lines(self, scope, kpi_type, table="crm_bonus_statement_line"):
        """Write the source lines of one KPI type for the statement KPIs ``scope``
        (rows of ``_fetch_scope``) into ``table`` (a table with the same columns).

        The scope comes as literal arrays rather than from the statement tables:
        statements made in the same transaction are not in the planner's
        statistics yet, and a scope estimated at one row has it rescan the
        period's documents once per statement (200 statements: 100 times slower).
        """
        rows = scope.get(kpi_type)
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        bounds = {
            "users": sorted(set(columns[2])),
            "companies": sorted(set(columns[3])),
            "date_from": min(columns[4]),
            "date_to": max(columns[5]),
            "dt_from": min(columns[8]),
            "dt_to": max(columns[9]),
        }
        self.env.cr.execute(
            SQL(
                """
                WITH scope AS (
                    -- the period's start in UTC less its start in the
                    -- salesperson's timezone: a source's day is theirs
                    SELECT v.*, v.dt_from - v.date_from::timestamp AS utc_offset
                      FROM unnest(%(statements)s::int[], %(kpis)s::int[],
                                  %(users)s::int[], %(companies)s::int[],
                                  %(froms)s::date[], %(tos)s::date[],
                                  %(plan_kpis)s::int[], %(filtered)s::bool[],
                                  %(dt_froms)s::timestamp[], %(dt_tos)s::timestamp[])
                           AS v(statement_id, statement_kpi_id, user_id,
                                company_id, date_from, date_to, plan_kpi_id,
                                filtered, dt_from, dt_to)
                ),
                found AS (%(query)s)
                INSERT INTO %(table)s (%(columns)s, kpi_type)
                SELECT %(found_columns)s, %(kpi_type)s FROM found f
                """,
                statements=list(columns[0]),
                kpis=list(columns[1]),
                users=list(columns[2]),
                companies=list(columns[3]),
                froms=list(columns[4]),
                tos=list(columns[5]),
                plan_kpis=list(columns[6]),
                filtered=list(columns[7]),
                dt_froms=list(columns[8]),
                dt_tos=list(columns[9]),
                kpi_type=kpi_type,
                query=self._sql_achievement(kpi_type, bounds),
                table=SQL.identifier(table),
                columns=SQL(", ").join(SQL.identifier(col) for col in LINE_COLUMNS),
                found_columns=SQL(", ").join(
                    SQL.identifier("f", col) for col in LINE_COLUMNS
                ),
            )
        )

    # ------------------------------------------------------------------
    # KPI QUERIES
    # ------------------------------------------------------------------

    def _sql_achievement(self, kpi_type, bounds):
        """The achievement query of ``kpi_type`` for the scope ``bounds`` (see
        ``_insert_lines``): rows of ``LINE_COLUMNS``. One query method per KPI type
        of ``KPI_TYPES``; a type without one is an error, not an empty result."""
        queries = {
            "confirmed_sales": self._sql_confirmed_sales,
            "invoiced_revenue": self._sql_invoiced_revenue,
            "paid_revenue": self._sql_paid_revenue,
            "margin": self._sql_margin,
            "new_customers": self._sql_new_customers,
            "visits_done": self._sql_visits_done,
            "calls_done": self._sql_calls_done,
        }
        if kpi_type not in queries:
            raise ValueError(f"No achievement query for the KPI type {kpi_type!r}")
        return queries[kpi_type](bounds)

    def _sql_in_bounds(
        self, bounds, alias, date, user="user_id", company="company_id", day=False
    ):
        """The documents ``alias`` of the scope's salespeople (and companies) dated
        (``date``: a datetime column, or a date column if ``day``) within the
        scope's overall period: constants the planner estimates from its
        statistics, before it joins the documents with the scope."""
        column = SQL.identifier(alias, date)
        condition = SQL(
            "%s = ANY(%s) AND %s >= %s AND %s < %s",
            SQL.identifier(alias, user),
            bounds["users"],
            column,
            bounds["date_from"] if day else bounds["dt_from"],
            column,
            bounds["date_to"] + timedelta(days=1) if day else bounds["dt_to"],
        )
        if company:
            condition = SQL(
                "%s AND %s = ANY(%s)",
                condition,
                SQL.identifier(alias, company),
                bounds["companies"],
            )
        return condition

    def _sql_local_day(self, alias, column):
        """The salesperson's day of the datetime ``alias.column`` (see
        ``_fetch_scope``), within the period of the scope row ``sc``."""
        return SQL(
            "LEAST(GREATEST((%s - sc.utc_offset)::date, sc.date_from), sc.date_to)",
            SQL.identifier(alias, column),
        )

    def _sql_product_filter(self, product_alias="pp", template_alias="pt"):
        """The KPI has no product filter, or the product is one of its products or
        in one of its categories (or below)."""
        return SQL(
            """
            (NOT sc.filtered
             OR EXISTS (SELECT 1 FROM crm_bonus_plan_kpi_product_rel r
                         WHERE r.kpi_id = sc.plan_kpi_id
                           AND r.product_id = %(product)s)
             OR EXISTS (SELECT 1 FROM crm_bonus_plan_kpi_categ_rel r
                          JOIN product_category fc ON fc.id = r.categ_id
                          JOIN product_category lc ON lc.id = %(categ)s
                         WHERE r.kpi_id = sc.plan_kpi_id
                           AND lc.parent_path LIKE fc.parent_path || %(any)s))
            """,
            product=SQL.identifier(product_alias, "id"),
            any="%",
            categ=SQL.identifier(template_alias, "categ_id"),
        )

    def _sql_confirmed_sales(self, bounds):
        """Untaxed amount of the confirmed orders of the period (order date), in the
        company's currency, one line per order."""
        return self._sql_order_lines(
            bounds,
            SQL("sol.price_subtotal / COALESCE(NULLIF(so.currency_rate, 0), 1)"),
        )

    def _sql_margin(self, bounds):
        """Margin of the confirmed orders of the period, in the company's currency:
        with sale_margin installed its cost on the line (purchase_price), otherwise
        the product's cost (standard price in the order's company) times the
        quantity in the product's unit."""
        if "purchase_price" in self.env["sale.order.line"]._fields:
            margin = SQL(
                "(sol.price_subtotal - sol.purchase_price * sol.product_uom_qty)"
                " / COALESCE(NULLIF(so.currency_rate, 0), 1)"
            )
        else:
            margin = SQL(
                """
                sol.price_subtotal / COALESCE(NULLIF(so.currency_rate, 0), 1)
                - COALESCE((pp.standard_price ->> so.company_id::text)::numeric, 0)
                  * sol.product_uom_qty / COALESCE(NULLIF(lu.factor, 0), 1)
                  * COALESCE(pu.factor, 1)
                """
            )
        return self._sql_order_lines(bounds, margin)

    def _sql_order_lines(self, bounds, amount):
        """The sum of ``amount`` (an expression of the order ``so``, its line
        ``sol``, the line's product ``pp``/``pt`` and units ``lu``/``pu``) over the
        lines of the confirmed orders of the period, one line per order."""
        return SQL(
            """
            SELECT sc.statement_id, sc.statement_kpi_id,
                   %(order_day)s AS date,
                   sum(%(amount)s) AS amount,
                   so.id AS order_id, NULL::int AS invoice_id, NULL::int AS partial_id,
                   NULL::int AS payment_move_id, NULL::int AS event_id,
                   NULL::int AS phonecall_id, so.partner_id, sc.user_id,
                   sc.company_id
              FROM scope sc
              JOIN sale_order so
                ON so.user_id = sc.user_id AND so.company_id = sc.company_id
               AND so.state = 'sale'
               AND so.date_order >= sc.dt_from AND so.date_order < sc.dt_to
               AND %(orders)s
              JOIN sale_order_line sol
                ON sol.order_id = so.id AND sol.display_type IS NULL
              LEFT JOIN product_product pp ON pp.id = sol.product_id
              LEFT JOIN product_template pt ON pt.id = pp.product_tmpl_id
              LEFT JOIN uom_uom lu ON lu.id = sol.product_uom
              LEFT JOIN uom_uom pu ON pu.id = pt.uom_id
             WHERE %(filter)s
             GROUP BY sc.statement_id, sc.statement_kpi_id, sc.user_id, sc.company_id,
                      sc.utc_offset, sc.date_from, sc.date_to, so.id
            """,
            amount=amount,
            orders=self._sql_in_bounds(bounds, "so", "date_order"),
            order_day=self._sql_local_day("so", "date_order"),
            filter=self._sql_product_filter(),
        )

    def _sql_invoiced_revenue(self, bounds):
        """Untaxed revenue of the posted customer invoices of the period (invoice
        date) less their credit notes, in the company's currency, one line per
        invoice or credit note."""
        return SQL(
            """
            SELECT sc.statement_id, sc.statement_kpi_id, m.invoice_date AS date,
                   sum(-aml.balance) AS amount,
                   NULL::int AS order_id, m.id AS invoice_id, NULL::int AS partial_id,
                   NULL::int AS payment_move_id, NULL::int AS event_id,
                   NULL::int AS phonecall_id, m.commercial_partner_id AS partner_id,
                   sc.user_id, sc.company_id
              FROM scope sc
              JOIN account_move m
                ON m.invoice_user_id = sc.user_id AND m.company_id = sc.company_id
               AND m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')
               AND m.invoice_date BETWEEN sc.date_from AND sc.date_to
               AND %(invoices)s
              JOIN account_move_line aml
                ON aml.move_id = m.id AND aml.display_type = 'product'
              LEFT JOIN product_product pp ON pp.id = aml.product_id
              LEFT JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE %(filter)s
             GROUP BY sc.statement_id, sc.statement_kpi_id, sc.user_id, sc.company_id,
                      m.id
            """,
            invoices=self._sql_in_bounds(
                bounds, "m", "invoice_date", user="invoice_user_id", day=True
            ),
            filter=self._sql_product_filter(),
        )

    def _sql_paid_revenue(self, bounds):
        """Cash basis: each payment reconciled with a customer invoice (or credit
        note) in the period (the partial reconciliation's date) counts for the
        invoice's untaxed share: partial amount / invoice total × untaxed revenue.
        Reconciling an invoice with a credit note is no payment. One line per
        partial reconciliation."""
        return SQL(
            """
            WITH paid AS (
                SELECT p.id AS partial_id, p.max_date, p.amount,
                       rl.move_id AS invoice_id, ol.move_id AS payment_move_id
                  FROM account_partial_reconcile p
                 CROSS JOIN LATERAL (VALUES (p.debit_move_id, p.credit_move_id),
                                            (p.credit_move_id, p.debit_move_id))
                       AS side(line_id, other_id)
                  JOIN account_move_line rl ON rl.id = side.line_id
                  JOIN account_account ra
                    ON ra.id = rl.account_id AND ra.account_type = 'asset_receivable'
                  JOIN account_move_line ol ON ol.id = side.other_id
                 WHERE p.max_date BETWEEN %(date_from)s AND %(date_to)s
            )
            SELECT sc.statement_id, sc.statement_kpi_id, paid.max_date AS date,
                   paid.amount / NULLIF(abs(m.amount_total_signed), 0) * base.untaxed
                       AS amount,
                   NULL::int AS order_id, m.id AS invoice_id, paid.partial_id,
                   paid.payment_move_id, NULL::int AS event_id,
                   NULL::int AS phonecall_id, m.commercial_partner_id AS partner_id,
                   sc.user_id, sc.company_id
              FROM paid
              JOIN account_move m
                ON m.id = paid.invoice_id AND m.state = 'posted'
               AND m.move_type IN ('out_invoice', 'out_refund')
               AND m.invoice_user_id = ANY(%(users)s)
               AND m.company_id = ANY(%(companies)s)
              JOIN account_move om
                ON om.id = paid.payment_move_id
               AND om.move_type NOT IN ('out_invoice', 'out_refund')
              JOIN scope sc
                ON sc.user_id = m.invoice_user_id AND sc.company_id = m.company_id
               AND paid.max_date BETWEEN sc.date_from AND sc.date_to
             CROSS JOIN LATERAL (
                SELECT sum(-aml.balance) AS untaxed
                  FROM account_move_line aml
                  LEFT JOIN product_product pp ON pp.id = aml.product_id
                  LEFT JOIN product_template pt ON pt.id = pp.product_tmpl_id
                 WHERE aml.move_id = m.id AND aml.display_type = 'product'
                   AND %(filter)s
             ) base
             WHERE base.untaxed IS NOT NULL AND m.amount_total_signed != 0
            """,
            filter=self._sql_product_filter(),
            **bounds,
        )

    def _sql_new_customers(self, bounds):
        """Customers (commercial partners) whose first confirmed order in the
        company falls in the period and is the salesperson's: one line each, on
        that order."""
        return SQL(
            """
            WITH candidates AS (
                SELECT DISTINCT rp.commercial_partner_id AS partner_id
                  FROM scope sc
                  JOIN sale_order so
                    ON so.user_id = sc.user_id AND so.company_id = sc.company_id
                   AND so.state = 'sale'
                   AND so.date_order >= sc.dt_from AND so.date_order < sc.dt_to
                   AND %(orders)s
                  JOIN res_partner rp ON rp.id = so.partner_id
            ),
            firsts AS (
                SELECT DISTINCT ON (rp.commercial_partner_id, so.company_id)
                       rp.commercial_partner_id AS partner_id, so.id AS order_id,
                       so.user_id, so.company_id, so.date_order
                  FROM sale_order so
                  JOIN res_partner rp ON rp.id = so.partner_id
                 WHERE so.state = 'sale'
                   AND rp.commercial_partner_id IN (SELECT partner_id FROM candidates)
                 ORDER BY rp.commercial_partner_id, so.company_id, so.date_order, so.id
            )
            SELECT sc.statement_id, sc.statement_kpi_id,
                   %(first_day)s AS date,
                   1 AS amount, f.order_id, NULL::int AS invoice_id,
                   NULL::int AS partial_id, NULL::int AS payment_move_id,
                   NULL::int AS event_id, NULL::int AS phonecall_id, f.partner_id,
                   sc.user_id, sc.company_id
              FROM firsts f
              JOIN scope sc
                ON sc.user_id = f.user_id AND sc.company_id = f.company_id
               AND f.date_order >= sc.dt_from AND f.date_order < sc.dt_to
            """,
            orders=self._sql_in_bounds(bounds, "so", "date_order"),
            first_day=self._sql_local_day("f", "date_order"),
        )

    def _sql_visits_done(self, bounds):
        """Visits done whose start falls in the period, one line each."""
        return SQL(
            """
            SELECT sc.statement_id, sc.statement_kpi_id,
                   %(event_day)s AS date,
                   1 AS amount, NULL::int AS order_id, NULL::int AS invoice_id,
                   NULL::int AS partial_id, NULL::int AS payment_move_id,
                   e.id AS event_id, NULL::int AS phonecall_id,
                   e.sfa_partner_id AS partner_id, sc.user_id, sc.company_id
              FROM scope sc
              JOIN calendar_event e
                ON e.user_id = sc.user_id AND e.active
               AND e.sfa_kind = 'visit' AND e.sfa_state = 'done'
               AND e.start >= sc.dt_from AND e.start < sc.dt_to
               AND %(events)s
            """,
            events=self._sql_in_bounds(bounds, "e", "start", company=None),
            event_day=self._sql_local_day("e", "start"),
        )

    def _sql_calls_done(self, bounds):
        """Calls done: calendar calls done (start in the period) and held calls of
        the call log (date in the period); a logged call linked to a calendar call
        done counts once, with the calendar call."""
        return SQL(
            """
            SELECT sc.statement_id, sc.statement_kpi_id,
                   %(event_day)s AS date,
                   1 AS amount, NULL::int AS order_id, NULL::int AS invoice_id,
                   NULL::int AS partial_id, NULL::int AS payment_move_id,
                   e.id AS event_id, e.phonecall_id,
                   e.sfa_partner_id AS partner_id, sc.user_id, sc.company_id
              FROM scope sc
              JOIN calendar_event e
                ON e.user_id = sc.user_id AND e.active
               AND e.sfa_kind = 'call' AND e.sfa_state = 'done'
               AND e.start >= sc.dt_from AND e.start < sc.dt_to
               AND %(events)s
             UNION ALL
            SELECT sc.statement_id, sc.statement_kpi_id,
                   %(call_day)s,
                   1, NULL, NULL, NULL, NULL, NULL, pc.id, pc.partner_id, sc.user_id,
                   sc.company_id
              FROM scope sc
              JOIN crm_phonecall pc
                ON pc.user_id = sc.user_id AND pc.active AND pc.state = 'done'
               AND COALESCE(pc.company_id, sc.company_id) = sc.company_id
               AND pc.date >= sc.dt_from AND pc.date < sc.dt_to
               AND %(calls)s
             WHERE NOT EXISTS (
                SELECT 1 FROM calendar_event e
                 WHERE e.phonecall_id = pc.id AND e.active
                   AND e.sfa_kind = 'call' AND e.sfa_state = 'done'
             )
            """,
            events=self._sql_in_bounds(bounds, "e", "start", company=None),
            calls=self._sql_in_bounds(bounds, "pc", "date", company=None),
            event_day=self._sql_local_day("e", "start"),
            call_day=self._sql_local_day("pc", "date"),
        )
